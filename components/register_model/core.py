"""Register a trained model as the next version, and promote it when selection says so."""

from __future__ import annotations

import json
from dataclasses import dataclass

from components.common import locations, parameters
from components.common.registry import CHAMPION, ModelVersion, Registry, RegistryError
from components.common.revision import code_revision


@dataclass
class Registration:
    version: ModelVersion
    champion_version: int  # 0 when the model has no champion
    promoted: bool

    def vertex_resource(self, registry: Registry) -> str:
        """`projects/P/locations/L/models/NAME@VERSION` on Vertex; empty for other registries."""
        name = getattr(registry, "resource_name", None)
        return f"{name(self.version.name)}@{self.version.version}" if name else ""


def register(
    registry: Registry,
    name: str,
    model_folder: str,
    metrics_json: str = "",
    promote: bool = False,
    labels: dict[str, str] | None = None,
) -> Registration:
    """Always register (for lineage); move `champion` (and `previous`) to it only if `promote`.

    The labels record the code revision that registers it (components.common.revision) as well.
    Refused before any work: a bad model name, or a registry folder that equals, contains or sits
    inside the model folder (a Vertex registry holds no folder)."""
    parameters.check({"model_name": name})
    locations.check_outputs({"registry_uri": registry.uri}, {"model": model_folder})
    metrics = json.loads(metrics_json) if metrics_json else {}
    labels = {**code_revision(), **(labels or {})}
    version = registry.register(
        name, model_folder, metrics=metrics, labels={k: v for k, v in labels.items() if v}
    )
    if promote:
        registry.promote(name, version.version)
    try:
        champion = registry.get(name, CHAMPION).version
    except RegistryError:
        champion = 0
    return Registration(registry.get(name, version.version), champion, promote)
