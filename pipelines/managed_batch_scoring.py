"""Managed scale-out scoring for models in Vertex AI Model Registry: wiring only.

Vertex AI Batch Prediction (GCPC's ModelBatchPredictOp) scores with the model's serving container
on as many machines as `max_replica_count` allows. Use it for very large inputs in JSON lines, CSV
or BigQuery when the model is registered in Vertex (registry URI vertex://...). It scores with the
version the resource name points at (e.g. `.../models/churn@champion`) and has none of
batch_scoring's checks (input validation, sha256 and smoke test with fallback, published-output
checks): prefer batch_scoring, which also scales out, shard by shard.
"""

from google_cloud_pipeline_components.types.artifact_types import VertexModel
from google_cloud_pipeline_components.v1.batch_predict_job import ModelBatchPredictOp
from kfp import dsl

from components.external_state import external_state
from pipelines.steps import configure_tasks

# It reads its input and writes its output through URIs, and a second job after a failed first
# one would score everything again: never cached, never retried.
external_state(
    reads={"gcs_source_uris": None, "bigquery_source_input_uri": None},
    writes=("gcs_destination_output_uri_prefix", "bigquery_destination_output_uri"),
    retry=False,
)(ModelBatchPredictOp)


@dsl.pipeline(
    name="keel-managed-batch-scoring", description="Vertex AI Batch Prediction with a registered model."
)
def managed_batch_scoring(
    model_resource_name: str,
    gcs_source_uris: list,
    gcs_destination_output_uri_prefix: str,
    location: str = "us-central1",
    instances_format: str = "jsonl",
    predictions_format: str = "jsonl",
    machine_type: str = "n1-standard-4",
    starting_replica_count: int = 1,
    max_replica_count: int = 10,
):
    model = dsl.importer(
        artifact_uri=model_resource_name,
        artifact_class=VertexModel,
        metadata={"resourceName": model_resource_name},
    )
    ModelBatchPredictOp(
        job_display_name="keel-managed-batch-scoring",
        model=model.output,
        location=location,
        gcs_source_uris=gcs_source_uris,
        instances_format=instances_format,
        predictions_format=predictions_format,
        gcs_destination_output_uri_prefix=gcs_destination_output_uri_prefix,
        machine_type=machine_type,
        starting_replica_count=starting_replica_count,
        max_replica_count=max_replica_count,
    )
    configure_tasks()
