"""KFP interface of validate_data; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Model, Output

from components.external_state import external_state
from components.images import image


@external_state(reads={"data_uri": "data_fingerprint", "suite_uri": "suite_fingerprint"})
@dsl.component(base_image=image("validate_data"), install_kfp_package=False)
def validate_data(
    validation_result: Output[Artifact],
    report: Output[HTML],
    metrics: Output[Metrics],
    partial: Output[Artifact],
    data: Input[Dataset] = None,
    data_uri: str = "",
    suite_uri: str = "",
    skip_columns: list = None,
    fail_on_error: bool = True,
    shard: dict = None,
    batch_rows: int = 100_000,
    data_fingerprint: str = "",
    suite_fingerprint: str = "",
    model: Input[Model] = None,
) -> NamedTuple("Outputs", passed=bool):
    """Validates a table against a Great Expectations expectation suite, every row, in bounded memory.

    Streams the table in batches; Great Expectations measures each batch and judges the combined
    metrics, so `mostly`, counts and aggregates hold for the whole table. Uniqueness is compared
    across every row up to 500,000 distinct values, on a hash sample beyond; other aggregates
    (median, quantiles...) on a uniform sample: each result says how it was evaluated. A table
    with no rows never passes. Records the result in the Vertex console (HTML report, metrics)
    and in ClearML.

    Args:
        data: The table to validate, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The table to validate, as a local path, /gcs/ path or gs:// URI.
        suite_uri: The expectation suite, a JSON file (local, /gcs/ or gs://), e.g. built with
            `keel suite build`. Required: empty is refused, naming `suite_uri`.
        skip_columns: Columns whose expectations are left out, e.g. the label when validating
            data to score.
        fail_on_error: Fail the task when any expectation fails, with a message naming each
            failed expectation, its column and the unexpected count. When False, the task succeeds
            and `passed` tells the pipeline what to do. An unreadable or empty file always fails.
        shard: `{"index": i, "count": n}`, an item of plan_shards' output: validate only that shard
            (the rows batch_predict scores for it) and write `partial` for combine_validation,
            which gives the verdict. The task then fails only on unreadable data. None: the whole table.
        batch_rows: Rows per batch; peak memory grows with it, not with the table.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content; recorded with the run.
        suite_fingerprint: The content fingerprint of `suite_uri`, likewise.
        model: The model whose data to score this is (resolve_model's `model`): without `suite_uri`,
            the suite resolve_model settled on (given to it, else the one recorded with the model at
            training); its `skip_columns` (the model's label among them) are skipped too.

    Returns:
        validation_result: The full validation result (JSON): every expectation's Great Expectations
            result and how it was evaluated.
        report: A human-readable HTML report that renders offline.
        metrics: rows, expectations_run, expectations_failed, success_percent.
        partial: The combinable measurements (a folder), the input of combine_validation.
        passed: True when every expectation passed (for a shard: on its rows alone).
    """
    from components.common.inputs import table_source
    from components.validate_data import core

    path, uri = table_source(data, data_uri, "validate_data")
    if model is not None:
        suite_uri, skip_columns = core.for_model(model.metadata, suite_uri, skip_columns)
    outcome = core.run(
        path,
        validation_result.path,
        report.path,
        partial.path,
        suite_uri=suite_uri,
        skip_columns=skip_columns,
        fail_on_error=fail_on_error,
        shard=shard,
        batch_rows=batch_rows,
        record_uri=uri,
        data_fingerprint=data_fingerprint,
        suite_fingerprint=suite_fingerprint,
    )
    for name, value in outcome.metrics().items():
        metrics.log_metric(name, value)
    return (outcome.passed,)
