"""Register a trained model as the next version, and promote it when selection says so.

Plain Python (no kfp): `run(model_folder, "churn")` from a notebook does what the component does;
`register(registry, ...)` registers in a registry already open.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from components.common import lineage, locations, parameters
from components.common.config import settings
from components.common.errors import parameter_error
from components.common.logging import logger
from components.common.registry import (
    CHAMPION,
    ModelVersion,
    Registry,
    RegistryError,
    ServingContainer,
    open_registry,
)
from components.common.revision import code_revision
from components.common.tracking import track


@dataclass
class Registration:
    version: ModelVersion
    champion_version: int  # 0 when the model has no champion
    promoted: bool
    vertex_resource: str = ""  # `projects/P/locations/L/models/NAME@VERSION` on Vertex; else empty
    vertex_url: str = ""  # the version's Vertex AI API URL; empty for other registries


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
    resource_name = getattr(registry, "resource_name", None)  # Vertex AI Model Registry only
    resource = f"{resource_name(name)}@{version.version}" if resource_name else ""
    url = f"https://{registry.location}-aiplatform.googleapis.com/v1/{resource}" if resource else ""
    return Registration(registry.get(name, version.version), champion, promote, resource, url)


def open_target(registry_uri: str, serving_image: str = "") -> Registry:
    """The registry at `registry_uri` (empty: KEEL_HOME's local registry). Given `serving_image`,
    keel-serve's image, a Vertex registry that uploads versions with keel-serve as their serving
    container (ServingContainer.keel_serve), so that deploy_model serves them with `keel serve`."""
    uri = registry_uri or settings().registry_uri
    if not serving_image:
        return open_registry(uri)
    if not uri.startswith("vertex://"):
        raise parameter_error(
            "serving_image",
            serving_image,
            f"only Vertex AI Model Registry (vertex://...) registers a serving container, not registry {uri}",
        )
    return open_registry(uri, serving_image=ServingContainer.keel_serve(serving_image))


def run(
    model_folder: str,
    model_name: str,
    registry_uri: str = "",
    metrics_json: str = "",
    promote: bool = False,
    pipeline_job: str = "",
    pipeline_run_id: str = "",
    images: list[str] | None = None,
    training_tracking_id: str = "",
    source_data: tuple[str, str] | None = None,
    serving_image: str = "",
) -> Registration:
    """The component's work, as a tracked run: `register` the model in `model_folder` in the registry
    at `registry_uri` (empty: KEEL_HOME's local registry), labelled with its lineage
    (components.common.lineage): the pipeline run, its images, the ClearML task ids of the training
    and of this registration and, given `source_data` (URI, fingerprint), the table the training run
    started from. `serving_image`: as for `open_target`."""
    registry = open_target(registry_uri, serving_image)
    labels = lineage.run_labels(pipeline_job, pipeline_run_id, images, training_tracking_id)
    if source_data is not None:
        labels |= lineage.source_labels(*source_data)
    with track("register_model", params={"registry": registry.uri, "model_name": model_name}) as tracked:
        labels["registration_tracking_id"] = tracked.id
        done = register(registry, model_name, model_folder, metrics_json, promote, labels)
        tracked.log_metrics({"version": done.version.version, "champion_version": done.champion_version})
    logger.info(
        "registered %s v%d in %s; champion is v%d",
        model_name,
        done.version.version,
        registry.uri,
        done.champion_version,
    )
    return done
