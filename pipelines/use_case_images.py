"""A use case's component images: `images/<component>/Dockerfile` of the use case, each built with the
use case's folder as the context, FROM a keel-pipelines image (keel-base unless the Dockerfile names
another), tagged as the component names its image (`<registry>/keel-<component>:<tag>`, see
components.images): `keel compile --image-registry R --image-tag T` points a compiled pipeline at
this library's images and the use case's alike.
"""

from __future__ import annotations

from pathlib import Path

from components.common.errors import KeelError
from components.discovery import component_names
from components.images import image
from pipelines import image_build
from pipelines.use_case import CONFIG_FILE, load_config

KEEL_BASE = "keel-base"


class ImageDefinitionError(KeelError, ValueError):
    """Components and Dockerfiles of a use case that do not match, or a missing keel base image."""


def definitions(root: Path) -> dict[str, Path]:
    """Each component of the use case at `root` and its Dockerfile; ImageDefinitionError when one lacks it."""
    if (root / "images" / "base" / "Dockerfile").is_file():
        raise ImageDefinitionError(
            f"{root}: the keel-pipelines repository builds its images with `make images`"
        )
    package = load_config(root / CONFIG_FILE).use_case.package
    names = component_names(root / package / "components")
    dockerfiles = {path.parent.name: path for path in sorted((root / "images").glob("*/Dockerfile"))}
    missing, unknown = sorted(set(names) - set(dockerfiles)), sorted(set(dockerfiles) - set(names))
    if missing or unknown:
        raise ImageDefinitionError(
            f"{root}: every component of {package}/components needs images/<component>/Dockerfile and no other "
            f"(no Dockerfile: {', '.join(missing) or '-'}; no such component: {', '.join(unknown) or '-'})"
        )
    return {name: dockerfiles[name] for name in names}


def build_use_case_images(
    root: Path, registry: str, tag: str, keel_registry: str, keel_tag: str, choice: str = "auto"
) -> dict[str, str]:
    """Build every component image of the use case at `root`; returns {component: image}."""
    found = definitions(root)
    if not found:
        return {}
    tool = image_build.builder(choice)
    base = f"{keel_registry.rstrip('/')}/{KEEL_BASE}:{keel_tag}"
    if not image_build.has_image(tool, base):
        raise ImageDefinitionError(
            f"{base} is not in the local image store: build keel-pipelines' images first (`make images` in its "
            "repository) or pull them, and give --keel-registry/--keel-tag"
        )
    built = {}
    for name, dockerfile in found.items():
        reference = image(name, registry, tag)
        image_build.build_image(
            tool,
            dockerfile,
            root,
            [reference],
            {"KEEL_REGISTRY": keel_registry, "KEEL_TAG": keel_tag},
            {"org.opencontainers.image.title": f"keel-{name.replace('_', '-')}"},
        )
        built[name] = reference
    return built
