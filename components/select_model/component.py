"""KFP interface of select_model; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Markdown, Metrics, Output

from components.external_state import external_state
from components.images import image


@external_state()
@dsl.component(base_image=image("select_model"), install_kfp_package=False)
def select_model(
    report: Output[Markdown],
    metrics: Output[Metrics],
    challenger_metrics: str,
    thresholds: dict,
    champion_metrics: str = "",
) -> NamedTuple("Outputs", promote=bool, decision=str, reason=str):
    """Decides whether a challenger model replaces the champion (fallback selection).

    Compares metrics computed on the same holdout data. Value thresholds are absolute limits;
    change thresholds are the improvement required over the champion, direction-aware (higher is
    better for AUC, accuracy, F1...; lower for log loss, RMSE, MAE). No thresholds: never promote.
    Cold start (no champion): promote only when value thresholds are set and pass.

    Args:
        challenger_metrics: The challenger's metrics as JSON (evaluate_model's `metrics_json`).
        thresholds: Per metric, any of `lower_bound`, `upper_bound`, `min_improvement` and
            `higher_is_better`, e.g. {"roc_auc": {"lower_bound": 0.7, "min_improvement": 0.005}}.
        champion_metrics: The champion's metrics as JSON on the same data; empty when there is no
            champion yet (cold start).

    Returns:
        report: The decision, its reason and every check, as Markdown (shown in the Vertex console).
        metrics: promote (1 or 0) and checks_failed.
        promote: True when the challenger should become the champion.
        decision: "promote" or "keep".
        reason: Why, in one sentence.
    """
    from components.select_model import core

    decision = core.run(challenger_metrics, thresholds, champion_metrics, report.path)
    for name, value in decision.metrics().items():
        metrics.log_metric(name, value)
    return (decision.promote, decision.action, decision.reason)
