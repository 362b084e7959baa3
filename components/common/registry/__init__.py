"""Model registry: one interface, chosen by URI.

from components.common.registry import open_registry
registry = open_registry(".keel/registry")            # or file:///..., vertex://projects/P/locations/L
version = registry.register("churn", model_folder, metrics={"roc_auc": 0.91})
registry.promote("churn", version.version)
model, metadata = registry.load("churn", "champion")  # sha256 checked before unpickling
registry.rollback("churn")                             # champion back to previous
"""

from __future__ import annotations

import re
from typing import Any

from components.common.errors import ParameterError
from components.common.registry.base import (
    CHAMPION,
    PREVIOUS,
    ModelVersion,
    Registry,
    RegistryError,
)
from components.common.registry.local import LocalRegistry
from components.common.registry.vertex import ServingContainer, VertexRegistry

__all__ = [
    "CHAMPION",
    "PREVIOUS",
    "LocalRegistry",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "ServingContainer",
    "VertexRegistry",
    "check_registry_uri",
    "open_registry",
]

_VERTEX_URI = re.compile(r"vertex://projects/([^/]+)/locations/([^/]+)(?:/models/([^/]+))?/?")


def check_registry_uri(uri: str) -> str:
    """`uri` if it names a registry (see `open_registry`); ParameterError saying what it should be."""
    uri = str(uri)
    if uri.startswith("vertex://"):
        if not _VERTEX_URI.fullmatch(uri):
            raise ParameterError(
                f"registry URI {uri!r}: expected vertex://projects/P/locations/L or "
                "vertex://projects/P/locations/L/models/NAME"
            )
    elif "://" in uri.removeprefix("file://") or not uri.removeprefix("file://"):
        raise ParameterError(
            f"registry URI {uri!r}: expected a local folder, file:///path or "
            "vertex://projects/P/locations/L[/models/NAME]"
        )
    return uri


def open_registry(uri: str, **options: Any) -> Registry:
    """The registry named by `uri`: a local path or file:// URI (LocalRegistry), or
    vertex://projects/P/locations/L[/models/NAME] (VertexRegistry, `options` passed to it)."""
    uri = check_registry_uri(uri)
    if uri.startswith("vertex://"):
        return VertexRegistry(*_VERTEX_URI.fullmatch(uri).groups(), **options)
    return LocalRegistry(uri.removeprefix("file://"), **options)
