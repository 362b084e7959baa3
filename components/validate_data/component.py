"""KFP interface of validate_data; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from components.external_state import external_state
from components.images import image


@external_state(reads={"data_uri": "data_fingerprint", "suite_uri": "suite_fingerprint"})
@dsl.component(base_image=image("validate_data"), install_kfp_package=False)
def validate_data(
    validation_result: Output[Artifact],
    report: Output[HTML],
    metrics: Output[Metrics],
    data: Input[Dataset] = None,
    data_uri: str = "",
    suite_uri: str = "",
    skip_columns: list = None,
    fail_on_error: bool = True,
    data_fingerprint: str = "",
    suite_fingerprint: str = "",
) -> NamedTuple("Outputs", passed=bool):
    """Validates a table against a Great Expectations expectation suite.

    Runs every expectation of the suite in an ephemeral, offline Great Expectations context and
    records the result in the Vertex console (HTML report, metrics) and in ClearML.

    Args:
        data: The table to validate, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The table to validate, as a local path, /gcs/ path or gs:// URI.
        suite_uri: The expectation suite, a JSON file (local, /gcs/ or gs://). Empty: the suite
            bundled for the sample churn data.
        skip_columns: Columns whose expectations are left out, e.g. the label when validating
            data to score.
        fail_on_error: Fail the task when any expectation fails, with a message naming each
            failed expectation, its column and the unexpected count. When False, the task succeeds
            and `passed` tells the pipeline what to do. An unreadable or empty file always fails.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content; recorded with the run.
        suite_fingerprint: The content fingerprint of `suite_uri`, likewise.

    Returns:
        validation_result: The full Great Expectations validation result (JSON).
        report: A human-readable HTML report that renders offline.
        metrics: rows, expectations_run, expectations_failed, success_percent.
        passed: True when every expectation passed.
    """
    from components.common.inputs import table_source
    from components.common.logging import logger
    from components.common.tracking import track
    from components.validate_data import core

    path, uri = table_source(data, data_uri, "validate_data")
    params = {
        "data": uri,
        "suite_uri": suite_uri,
        "skip_columns": skip_columns or [],
        "fail_on_error": fail_on_error,
        "data_fingerprint": data_fingerprint,
        "suite_fingerprint": suite_fingerprint,
    }
    with track("validate_data", params=params) as run:
        suite = core.without_columns(core.load_suite(suite_uri), skip_columns or [])
        outcome = core.validate_table(path, suite, record_uri=uri)
        core.write_outputs(outcome, validation_result.path, report.path)
        run.report_metrics(outcome.metrics(), metrics)
        run.log_artifact("report", report.path)
    if not outcome.passed:
        if fail_on_error:
            raise core.ValidationFailedError(outcome.summary())
        logger.warning("%s", outcome.summary())
    return (outcome.passed,)
