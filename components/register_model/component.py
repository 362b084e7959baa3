"""KFP interface of register_model; the work is in `core`."""

from typing import NamedTuple

from google_cloud_pipeline_components.types.artifact_types import VertexModel
from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from components.external_state import external_state
from components.images import image


# Not retried: a retry after a registration whose answer was lost would register a second version.
@external_state(writes=("registry_uri",), retry=False)
@dsl.component(base_image=image("register_model"), install_kfp_package=False)
def register_model(
    model: Input[Model],
    vertex_model: Output[VertexModel],
    model_name: str,
    registry_uri: str = "",
    metrics_json: str = "",
    promote: bool = False,
    pipeline_run_id: str = "",
    pipeline_job: str = "",
    images: list = None,
    source_data: Input[Dataset] = None,
    serving_image: str = "",
) -> NamedTuple("Outputs", version=int, champion_version=int):
    """Registers a model as the next version in a model registry, and promotes it if asked.

    The version is always registered, for lineage, with its metrics, the sha256 of its model
    file, its training data (URI, sha256, rows: in metadata.json), the ClearML task ids of its
    training and registration, the pipeline run, the run's images and the code revision
    (keel-pipelines version and git commit; see `keel registry show` and `keel lineage`). With
    `promote`, the alias `champion` moves to it and `previous` to the old champion
    (`keel registry rollback` undoes it).

    Args:
        model: The trained model (train_model's output).
        model_name: The registered model's name (lowercase letters, digits, `-`, `_`).
        registry_uri: A local folder or file:// URI (the embedded registry), or
            vertex://projects/P/locations/L for Vertex AI Model Registry (the model folder must then
            be on gs://, as pipeline artifacts are on Vertex). Empty: KEEL_HOME's local registry.
            A local registry folder must not equal, contain or sit inside the model folder.
        metrics_json: The model's evaluation metrics as JSON (evaluate_model's `metrics_json`).
        promote: Make this version the champion (select_model's `promote`).
        pipeline_run_id: Recorded with the version (the pipeline passes its job uuid).
        pipeline_job: Recorded with the version (the pipeline passes its job name; under
            kfp.local, the run folder's name).
        images: The container images of the run, recorded with the version. A pipeline passes
            `[components.images.RUN_IMAGES]`, which compiling replaces with every image the
            compiled pipeline names (kfp.local runs no image and records none).
        source_data: The table the training run started from (fingerprint_inputs' `data`), whose
            URI and content fingerprint are recorded with the version.
        serving_image: keel-serve's image (e.g. REGION-docker.pkg.dev/P/R/keel-serve:TAG), with a
            Vertex registry only: the version is uploaded with keel-serve as its serving container
            (`keel serve` on port 8080, routes /predict and /health), which deploy_model deploys and
            Vertex batch prediction runs. Empty: Vertex's prebuilt scikit-learn image.

    Returns:
        vertex_model: The version in Vertex AI Model Registry (`resourceName` in its metadata),
            for Google Cloud Pipeline Components such as ModelBatchPredictOp; left empty for a
            local registry.
        version: The new version number (from 1).
        champion_version: The champion's version after this step (0 if there is none).
    """
    from components.register_model import core

    done = core.run(
        model.path,
        model_name,
        registry_uri,
        metrics_json,
        promote,
        pipeline_job=pipeline_job,
        pipeline_run_id=pipeline_run_id,
        images=images,
        training_tracking_id=model.metadata.get("tracking_id", ""),
        source_data=None
        if source_data is None
        else (source_data.uri, source_data.metadata.get("fingerprint", "")),
        serving_image=serving_image,
    )
    if done.vertex_resource:
        vertex_model.metadata["resourceName"] = done.vertex_resource
        vertex_model.uri = done.vertex_url
    return (done.version.version, done.champion_version)
