"""Compile every component and pipeline into YAML, with each component's image set.

Each component names its own image, `<registry>/keel-<component>:<tag>` (see components.images).
Compiling with another registry or tag rewrites exactly those image references in the compiled
IR, so the YAML runs the images `make images` built and pushed, and nothing else changes; a task
given `[RUN_IMAGES]` (register_model, for lineage) then receives the list of the run's images.
Alert settings (pipelines.alerting.Alerts) given here wrap a pipeline with those channels.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from kfp import compiler, dsl

import components
from components.common import io
from components.images import DEFAULT_REGISTRY, RUN_IMAGES, __version__

if TYPE_CHECKING:
    from pipelines.alerting import Alerts

# Pipeline name -> "module:function"; imported only when compiled or run.
PIPELINES: dict[str, str] = {
    "training": "pipelines.training:training",
    "batch_scoring": "pipelines.batch_scoring:batch_scoring",
    "managed_batch_scoring": "pipelines.managed_batch_scoring:managed_batch_scoring",
}


# kfp.local cannot run a task whose argument is Vertex's schedule-time placeholder, so pipelines
# pass this stand-in (which runs locally as "no schedule time") and compiling swaps in the real one.
SCHEDULE_TIME = "keel:schedule-time"
_RUNTIME_PLACEHOLDERS = {SCHEDULE_TIME: dsl.PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER}


def load(name: str):
    """A component (by its name in `components`) or a pipeline (by its name in PIPELINES); `-` and
    `_` are interchangeable (`batch-scoring` is `batch_scoring`)."""
    name = name.replace("-", "_")
    if name in PIPELINES:
        module, function = PIPELINES[name].split(":")
        return getattr(importlib.import_module(module), function)
    if name in components.__all__:
        return getattr(components, name)
    known = ", ".join(sorted([*PIPELINES, *components.__all__]))
    raise KeyError(f"no pipeline or component named {name!r}; known: {known}")


def retarget_images(document: dict, registry: str, tag: str) -> int:
    """Point every keel image in a compiled IR document at `registry`/`tag`; returns how many."""
    changed = 0
    for executor in document.get("deploymentSpec", {}).get("executors", {}).values():
        container = executor.get("container", {})
        image = container.get("image", "")
        if image.startswith(f"{DEFAULT_REGISTRY}/"):
            name = image.removeprefix(f"{DEFAULT_REGISTRY}/").rsplit(":", 1)[0]
            container["image"] = f"{registry.rstrip('/')}/{name}:{tag}"
            changed += 1
    return changed


def images_of(document: dict) -> list[str]:
    """Every container image a compiled IR document names, sorted."""
    executors = document.get("deploymentSpec", {}).get("executors", {}).values()
    return sorted({e["container"]["image"] for e in executors if e.get("container", {}).get("image")})


def with_run_images(node, images: list[str]):
    """The compiled IR with every list `[RUN_IMAGES]` replaced by `images`."""
    if isinstance(node, dict):
        return {key: with_run_images(value, images) for key, value in node.items()}
    if isinstance(node, list):
        return list(images) if node == [RUN_IMAGES] else [with_run_images(value, images) for value in node]
    return node


def with_runtime_placeholders(node):
    """The compiled IR with every stand-in constant replaced by its Vertex runtime placeholder."""
    if isinstance(node, dict):
        return {key: with_runtime_placeholders(value) for key, value in node.items()}
    if isinstance(node, list):
        return [with_runtime_placeholders(value) for value in node]
    return _RUNTIME_PLACEHOLDERS.get(node, node) if isinstance(node, str) else node


def compile_one(
    name: str,
    output_dir: Path,
    registry: str = DEFAULT_REGISTRY,
    tag: str = __version__,
    alerts: Alerts | None = None,
) -> Path:
    """Compile one component or pipeline to `<output_dir>/<name>.yaml`, written atomically.

    `alerts`: the alert channels of a pipeline (None: the pipeline's own, if any)."""
    target = output_dir / f"{name}.yaml"
    runnable = load(name)
    if alerts is not None:
        if name.replace("-", "_") in components.__all__:
            raise ValueError(f"{name} is a component: alert settings apply to pipelines")
        from pipelines.alerting import with_alerts

        runnable = with_alerts(runnable, alerts)
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "compiled.yaml"
        compiler.Compiler().compile(runnable, str(raw))
        documents = [with_runtime_placeholders(d) for d in yaml.safe_load_all(raw.read_text())]
    if not retarget_images(documents[0], registry, tag) and name in components.__all__:
        raise RuntimeError(f"{name}: no keel component image found in the compiled spec")
    documents[0] = with_run_images(documents[0], images_of(documents[0]))
    io.write_bytes(str(target), yaml.safe_dump_all(documents, sort_keys=False).encode())
    return target


def compile_all(
    output_dir: str | os.PathLike = "build",
    registry: str = DEFAULT_REGISTRY,
    tag: str = __version__,
    names: list[str] | None = None,
    alerts: Alerts | None = None,
) -> list[Path]:
    """Compile `names` (default: every component and pipeline); any error stops the whole run.

    `alerts` apply to the pipelines: without `names`, the components compile as they are."""
    return [
        compile_one(name, Path(output_dir), registry, tag, alerts if names or name in PIPELINES else None)
        for name in names or [*components.__all__, *PIPELINES]
    ]
