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

from components.common.registry.base import (
    CHAMPION,
    PREVIOUS,
    ModelVersion,
    Registry,
    RegistryError,
)
from components.common.registry.local import LocalRegistry
from components.common.registry.vertex import VertexRegistry

__all__ = [
    "CHAMPION",
    "PREVIOUS",
    "LocalRegistry",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "VertexRegistry",
    "open_registry",
]

_VERTEX_URI = re.compile(r"vertex://projects/([^/]+)/locations/([^/]+)(?:/models/([^/]+))?/?")


def open_registry(uri: str, **options: Any) -> Registry:
    """The registry named by `uri`: a local path or file:// URI (LocalRegistry), or
    vertex://projects/P/locations/L[/models/NAME] (VertexRegistry, `options` passed to it)."""
    uri = str(uri)
    if uri.startswith("vertex://"):
        match = _VERTEX_URI.fullmatch(uri)
        if not match:
            raise ValueError(
                f"registry URI {uri!r}: expected vertex://projects/P/locations/L or "
                "vertex://projects/P/locations/L/models/NAME"
            )
        return VertexRegistry(*match.groups(), **options)
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    elif "://" in uri or not uri:
        raise ValueError(
            f"registry URI {uri!r}: expected a local folder, file:///path or "
            "vertex://projects/P/locations/L[/models/NAME]"
        )
    return LocalRegistry(uri, **options)
