"""Compile every component and pipeline into YAML, with each component's image set.

Each component names its own image, `<registry>/keel-<component>:<tag>` (see components.images).
Compiling with another registry or tag rewrites exactly those image references in the compiled
IR, so the YAML runs the images `make images` built and pushed, and nothing else changes.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import yaml
from kfp import compiler

import components
from components.common import io
from components.images import DEFAULT_REGISTRY, __version__

# Pipeline name -> "module:function"; imported only when compiled or run.
PIPELINES: dict[str, str] = {}


def load(name: str):
    """A component (by its name in `components`) or a pipeline (by its name in PIPELINES)."""
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


def compile_one(
    name: str, output_dir: Path, registry: str = DEFAULT_REGISTRY, tag: str = __version__
) -> Path:
    """Compile one component or pipeline to `<output_dir>/<name>.yaml`, written atomically."""
    target = output_dir / f"{name}.yaml"
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "compiled.yaml"
        compiler.Compiler().compile(load(name), str(raw))
        documents = list(yaml.safe_load_all(raw.read_text()))
    if not retarget_images(documents[0], registry, tag):
        raise RuntimeError(f"{name}: no keel component image found in the compiled spec")
    io.write_bytes(str(target), yaml.safe_dump_all(documents, sort_keys=False).encode())
    return target


def compile_all(
    output_dir: str | os.PathLike = "build",
    registry: str = DEFAULT_REGISTRY,
    tag: str = __version__,
    names: list[str] | None = None,
) -> list[Path]:
    """Compile `names` (default: every component and pipeline); any error stops the whole run."""
    return [
        compile_one(name, Path(output_dir), registry, tag)
        for name in names or [*components.__all__, *PIPELINES]
    ]
