"""The batch scoring pipeline: wiring only.

fingerprint the inputs and check every parameter (uncached; the cached steps that read them take
the fingerprints, see pipelines/caching.py) -> plan shards and resolve the model with fallback (which
also settles the suite: `suite_uri`, else the one recorded with the model at training; and the columns
to skip: `skip_columns` and the model's label), fingerprint that suite -> for each shard, in
parallel: validate it (that suite minus those columns) and score it (which
also profiles its rows and scores) -> combine the validations (the verdict on the whole input) and
check drift against the model's reference profile (recorded under output_uri/_monitoring; with
on_drift="fail", drift stops the run) -> check and publish the predictions by run date, only if the
whole input passed. `configure_tasks()` sets resources, retries and caching (pipelines/steps.py).
Inside dsl.ExitHandler(notify): every end of a run is logged, and alerted as configured.
"""

from kfp import dsl

from components import (
    batch_predict,
    check_drift,
    combine_validation,
    fingerprint_inputs,
    plan_shards,
    publish_predictions,
    resolve_model,
    validate_data,
)
from pipelines.alerting import channels as alert_channels
from pipelines.alerting import with_alerts
from pipelines.compiling import SCHEDULE_TIME
from pipelines.steps import configure_tasks, scalar_parameters


@with_alerts
@dsl.pipeline(name="keel-batch-scoring", description="Score a table with the champion model, with fallback.")
def batch_scoring(
    data_uri: str,
    output_uri: str,
    model_name: str,
    registry_uri: str = "",
    suite_uri: str = "",
    skip_columns: list = [],  # noqa: B006 - a KFP pipeline default, never mutated
    id_columns: list = [],  # noqa: B006 - a KFP pipeline default, never mutated
    run_date: str = "",
    rows_per_shard: int = 0,
    shard_minutes: float = 5.0,
    max_shards: int = 32,
    min_score_std: float = 0.001,
    fallback_to_unpromoted: bool = False,
    on_drift: str = "warn",
    drift_threshold: float = 0.1,
    drift_thresholds: dict = {},  # noqa: B006 - a KFP pipeline default, never mutated
):
    run_parameters = scalar_parameters(locals())  # the first step checks them all by name
    inputs = fingerprint_inputs(
        data_uri=data_uri,
        registry_uri=registry_uri,
        model_name=model_name,
        pipeline_name="batch_scoring",
        run_parameters=run_parameters,
        pipeline_root=dsl.PIPELINE_ROOT_PLACEHOLDER,
    )
    data_fingerprint = inputs.outputs["data_fingerprint"]
    shards = plan_shards(
        data_uri=data_uri,
        rows_per_shard=rows_per_shard,
        shard_minutes=shard_minutes,
        max_shards=max_shards,
        data_fingerprint=data_fingerprint,
    )
    chosen = resolve_model(
        model_name=model_name,
        registry_uri=registry_uri,
        data_uri=data_uri,
        registry_fingerprint=inputs.outputs["registry_fingerprint"],
        data_fingerprint=data_fingerprint,
        fallback_to_unpromoted=fallback_to_unpromoted,
        suite_uri=suite_uri,
        skip_columns=skip_columns,
    )
    # the suite: given, else the one recorded with the chosen model; fingerprinted for caching
    suite = fingerprint_inputs(suite_uri=chosen.outputs["suite_uri"]).set_display_name("fingerprint-suite")
    with dsl.ParallelFor(shards.output) as shard:
        checked = validate_data(
            data_uri=data_uri,
            model=chosen.outputs["model"],  # the suite and the columns to skip (its label) it settled on
            shard=shard,
            data_fingerprint=data_fingerprint,
            suite_fingerprint=suite.outputs["suite_fingerprint"],
        )
        scored = batch_predict(
            model=chosen.outputs["model"],
            data_uri=data_uri,
            id_columns=id_columns,
            run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            shard=shard,
            data_fingerprint=data_fingerprint,
        )
    validated = combine_validation(partials=dsl.Collected(checked.outputs["partial"]))
    drift = check_drift(
        model=chosen.outputs["model"],
        profiles=dsl.Collected(scored.outputs["profile"]),
        threshold=drift_threshold,
        thresholds=drift_thresholds,
        on_drift=on_drift,
        output_uri=output_uri,
        run_date=run_date,
        schedule_time=SCHEDULE_TIME,
        **alert_channels(),
    ).after(validated)  # data that failed validation leaves no monitoring record either
    publish_predictions(
        parts=dsl.Collected(scored.outputs["predictions"]),
        output_uri=output_uri,
        run_date=run_date,
        schedule_time=SCHEDULE_TIME,
        data_uri=data_uri,
        min_score_std=min_score_std,
    ).after(drift)
    configure_tasks()
