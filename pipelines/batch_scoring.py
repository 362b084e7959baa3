"""The batch scoring pipeline: wiring only.

plan shards and resolve the model with fallback -> for each shard, in parallel: validate it (the
training suite minus the label) and score it -> combine the validations (the verdict on the whole
input) -> check and publish the predictions by run date, only if the whole input passed.
"""

from kfp import dsl

from components import (
    batch_predict,
    combine_validation,
    plan_shards,
    publish_predictions,
    resolve_model,
    validate_data,
)
from components.common.sample_data import ID_COLUMNS, LABEL
from pipelines.compiling import SCHEDULE_TIME


@dsl.pipeline(name="keel-batch-scoring", description="Score a table with the champion model, with fallback.")
def batch_scoring(
    data_uri: str,
    output_uri: str,
    model_name: str = "churn",
    registry_uri: str = "",
    suite_uri: str = "",
    skip_columns: list = [LABEL],  # noqa: B006 - a KFP pipeline default, never mutated
    id_columns: list = ID_COLUMNS,
    run_date: str = "",
    rows_per_shard: int = 0,
    shard_minutes: float = 5.0,
    max_shards: int = 32,
    min_score_std: float = 0.001,
):
    shards = plan_shards(
        data_uri=data_uri, rows_per_shard=rows_per_shard, shard_minutes=shard_minutes, max_shards=max_shards
    )
    chosen = resolve_model(model_name=model_name, registry_uri=registry_uri, data_uri=data_uri)
    with dsl.ParallelFor(shards.output) as shard:
        checked = validate_data(
            data_uri=data_uri, suite_uri=suite_uri, skip_columns=skip_columns, shard=shard
        )
        scored = batch_predict(
            model=chosen.outputs["model"],
            data_uri=data_uri,
            id_columns=id_columns,
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            shard=shard,
        )
    validated = combine_validation(partials=dsl.Collected(checked.outputs["partial"]))
    publish_predictions(
        parts=dsl.Collected(scored.outputs["predictions"]),
        output_uri=output_uri,
        run_date=run_date,
        schedule_time=SCHEDULE_TIME,
        data_uri=data_uri,
        min_score_std=min_score_std,
    ).after(validated)
