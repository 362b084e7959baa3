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
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from kfp import compiler, dsl
from kfp.dsl.base_component import BaseComponent
from kfp.dsl.graph_component import GraphComponent

import components
from components.common import io
from components.common.errors import DefinitionError, KeelError, ParameterError
from components.images import DEFAULT_REGISTRY, RUN_IMAGES, __version__
from pipelines import caching, steps
from pipelines.steps import Resources

if TYPE_CHECKING:
    from pipelines.alerting import Alerts

# Pipeline name -> "module:function"; imported only when compiled or run.
PIPELINES: dict[str, str] = {
    "training": "pipelines.training:training",
    "batch_scoring": "pipelines.batch_scoring:batch_scoring",
    "managed_batch_scoring": "pipelines.managed_batch_scoring:managed_batch_scoring",
}


class ImportPathError(KeelError, LookupError):
    """A name or `module:function` that does not name a pipeline or component (importable)."""


# kfp.local cannot run a task whose argument is Vertex's schedule-time placeholder, so pipelines
# pass this stand-in (which runs locally as "no schedule time") and compiling swaps in the real one.
SCHEDULE_TIME = "keel:schedule-time"
_RUNTIME_PLACEHOLDERS = {SCHEDULE_TIME: dsl.PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER}


def load(name: str):
    """A component (by its name in `components`), a pipeline (by its name in PIPELINES), or any
    pipeline or component by import path, `module:function` (importable from the working folder,
    e.g. a use case's `house_prices.pipelines:training`). In names, `-` and `_` are interchangeable
    (`batch-scoring` is `batch_scoring`)."""
    if ":" in name:
        return imported(name)
    name = name.replace("-", "_")
    if name in PIPELINES:
        return imported(PIPELINES[name])
    if name in components.__all__:
        return getattr(components, name)
    known = ", ".join(sorted([*PIPELINES, *components.__all__]))
    raise ImportPathError(
        f"no pipeline or component named {name!r}; known: {known}; or give an import path, module:function"
    )


def imported(path: str):
    """The KFP pipeline or component at import path `module:function`; ImportPathError saying what is
    wrong otherwise. The working folder is importable, as for `python -m`."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute or ":" in attribute:
        raise ImportPathError(
            f"{path!r}: expected an import path module:function, e.g. my_use_case.pipelines:training"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        missing = getattr(error, "name", None) or ""
        if missing and (module_name == missing or module_name.startswith(f"{missing}.")):
            raise ImportPathError(
                f"{path}: no module named {missing!r} (run keel in the folder that holds it, "
                f"here {os.getcwd()}, or install it)"
            ) from None
        raise ImportPathError(f"{path}: importing {module_name!r} failed: {error}") from error
    found = getattr(module, attribute, None)
    if found is None:
        raise ImportPathError(
            f"{path}: module {module_name!r} ({module.__file__}) has no attribute {attribute!r}"
        )
    if not isinstance(found, BaseComponent):
        raise ImportPathError(
            f"{path}: {type(found).__name__} is not a pipeline or component "
            "(rule: a function decorated with @dsl.pipeline or @dsl.component)"
        )
    return found


def output_name(name: str) -> str:
    """The file name (without .yaml) of what `name` compiles to: the function of an import path."""
    return name.rpartition(":")[2] if ":" in name else name


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
    resources: Mapping[str, Resources] | None = None,
    alerts: Alerts | None = None,
) -> Path:
    """Compile one component or pipeline to `<output_dir>/<name>.yaml`, written atomically (for an
    import path, `<output_dir>/<function>.yaml`). `resources` and `alerts` as for `compile_all`."""
    return compile_all(output_dir, registry, tag, [name], resources, alerts)[0]


def _built(
    names: list[str], resources: Mapping[str, Resources], alerts: Alerts | None, explicit: bool
) -> dict[str, Any]:
    """What to compile for each name: a pipeline with `alerts` (when given) and built again with
    `resources` in force (raising ResourceError when one names a component none of them has), or
    the component as it is (alerts given for a component named explicitly are refused)."""
    built, configured, pipelines = {}, set(), []
    for name in names:
        runnable = load(name)
        if isinstance(runnable, GraphComponent):
            if alerts is not None:
                from pipelines.alerting import with_alerts

                runnable = with_alerts(runnable, alerts)
            runnable, seen = steps.build(runnable, resources)
            configured |= seen
            pipelines.append(name)
        elif alerts is not None and explicit:
            raise ParameterError(f"{name} is a component: alert settings apply to pipelines")
        built[name] = runnable
    if resources:
        steps.check_components(resources, configured, pipelines)
    return built


def _compile(name: str, runnable: Any, output_dir: Path, registry: str, tag: str) -> Path:
    target = output_dir / f"{output_name(name)}.yaml"
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "compiled.yaml"
        compiler.Compiler().compile(runnable, str(raw))
        documents = [with_runtime_placeholders(d) for d in yaml.safe_load_all(raw.read_text())]
    if not retarget_images(documents[0], registry, tag) and name in components.__all__:
        raise DefinitionError(f"{name}: no keel component image found in the compiled spec")
    if isinstance(runnable, GraphComponent):
        caching.check(documents[0])
    documents[0] = with_run_images(documents[0], images_of(documents[0]))
    io.write_bytes(str(target), yaml.safe_dump_all(documents, sort_keys=False).encode())
    return target


def compile_all(
    output_dir: str | os.PathLike = "build",
    registry: str = DEFAULT_REGISTRY,
    tag: str = __version__,
    names: list[str] | None = None,
    resources: Mapping[str, Resources] | None = None,
    alerts: Alerts | None = None,
) -> list[Path]:
    """Compile `names` (default: every component and pipeline); any error stops the whole run.

    `resources` (component name -> Resources, see pipelines.steps) apply to the pipelines' tasks;
    `alerts` (pipelines.alerting) to the pipelines: without `names`, the components compile as they
    are. Every pipeline must pass the caching check (pipelines.caching) or nothing of it is written."""
    built = _built(names or [*components.__all__, *PIPELINES], resources or {}, alerts, names is not None)
    return [_compile(name, runnable, Path(output_dir), registry, tag) for name, runnable in built.items()]
