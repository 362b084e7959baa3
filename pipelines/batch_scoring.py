"""The batch scoring pipeline: wiring only.

validate the input (the training suite minus the label) -> resolve the model with fallback and
plan shards -> score the shards in parallel -> check and publish the predictions by run date.
"""

from kfp import dsl

from components import batch_predict, plan_shards, publish_predictions, resolve_model, validate_data
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
    rows_per_shard: int = 1_000_000,
    max_shards: int = 32,
    min_score_std: float = 0.001,
    fallback_to_unpromoted: bool = False,
):
    checked = validate_data(data_uri=data_uri, suite_uri=suite_uri, skip_columns=skip_columns)
    shards = plan_shards(data_uri=data_uri, rows_per_shard=rows_per_shard, max_shards=max_shards).after(
        checked
    )
    chosen = resolve_model(
        model_name=model_name,
        registry_uri=registry_uri,
        data_uri=data_uri,
        fallback_to_unpromoted=fallback_to_unpromoted,
    ).after(checked)
    with dsl.ParallelFor(shards.output) as shard:
        scored = batch_predict(
            model=chosen.outputs["model"],
            data_uri=data_uri,
            id_columns=id_columns,
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            shard=shard,
        )
    publish_predictions(
        parts=dsl.Collected(scored.outputs["predictions"]),
        output_uri=output_uri,
        run_date=run_date,
        schedule_time=SCHEDULE_TIME,
        data_uri=data_uri,
        min_score_std=min_score_std,
    )
