"""KFP interface of combine_validation; the work is in `validate_data.core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Input, Metrics, Output

from components.external_state import external_state
from components.images import image


@external_state()
@dsl.component(base_image=image("combine_validation"), install_kfp_package=False)
def combine_validation(
    partials: Input[list[Artifact]],
    validation_result: Output[Artifact],
    report: Output[HTML],
    metrics: Output[Metrics],
    fail_on_error: bool = True,
) -> NamedTuple("Outputs", passed=bool):
    """Gives the verdict on a table validated in shards: combines every shard's measurements and
    judges them with Great Expectations, as if the whole table had been validated at once.

    Counts add up and `mostly` is judged on the combined counts; row count, min, max, mean and
    standard deviation combine exactly; uniqueness is compared across every shard (exactly up to
    500,000 distinct values, on a hash sample beyond); other aggregates are judged on a uniform
    sample of the whole table. Each result says how it was evaluated. Run it before publishing
    anything that depends on the data: a failed validation fails this task.

    Args:
        partials: The `partial` outputs of validate_data for every shard of one table (collected
            from the ParallelFor). A missing or extra shard is refused.
        fail_on_error: Fail the task when any expectation fails, naming each failed expectation,
            its column and the unexpected count. When False, `passed` tells the pipeline.

    Returns:
        validation_result: The full validation result of the whole table (JSON).
        report: A human-readable HTML report that renders offline.
        metrics: rows, expectations_run, expectations_failed, success_percent.
        passed: True when every expectation passed on the whole table.
    """
    from components.validate_data import core

    outcome = core.combine_validation(
        [partial.path for partial in partials], validation_result.path, report.path, fail_on_error
    )
    for name, value in outcome.metrics().items():
        metrics.log_metric(name, value)
    return (outcome.passed,)
