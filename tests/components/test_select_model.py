import json
from pathlib import Path

import pytest

from components.select_model.core import ThresholdError, decide

FLOOR_AND_MARGIN = {"roc_auc": {"lower_bound": 0.7, "min_improvement": 0.005}}


def test_no_thresholds_never_promotes():
    decision = decide({"roc_auc": 0.99}, None, {})
    assert not decision.promote and "No thresholds" in decision.reason


def test_cold_start_promotes_only_on_passing_value_thresholds():
    assert decide({"roc_auc": 0.82}, None, FLOOR_AND_MARGIN).promote
    weak = decide({"roc_auc": 0.55}, None, FLOOR_AND_MARGIN)
    assert not weak.promote and "roc_auc 0.5500 (needs >= 0.7)" in weak.reason
    margin_only = decide({"roc_auc": 0.9}, None, {"roc_auc": {"min_improvement": 0.01}})
    assert not margin_only.promote and "needs value thresholds" in margin_only.reason


def test_challenger_must_beat_the_champion_by_the_margin():
    assert decide({"roc_auc": 0.830}, {"roc_auc": 0.820}, FLOOR_AND_MARGIN).promote
    close = decide({"roc_auc": 0.823}, {"roc_auc": 0.820}, FLOOR_AND_MARGIN)
    assert not close.promote and "+0.005 vs champion" in close.reason
    assert not decide({"roc_auc": 0.9}, {"roc_auc": 0.8}, {"roc_auc": {"lower_bound": 0.7}}).promote


def test_direction_awareness_for_lower_is_better_metrics():
    thresholds = {"log_loss": {"upper_bound": 0.6, "min_improvement": 0.01}}
    assert decide({"log_loss": 0.40}, {"log_loss": 0.45}, thresholds).promote
    assert not decide({"log_loss": 0.50}, {"log_loss": 0.45}, thresholds).promote
    custom = {"lift": {"min_improvement": 0.1, "higher_is_better": True, "lower_bound": 1}}
    assert decide({"lift": 2.0}, {"lift": 1.5}, custom).promote


def test_every_threshold_must_pass_and_missing_metrics_fail():
    thresholds = {**FLOOR_AND_MARGIN, "recall": {"lower_bound": 0.5}}
    decision = decide({"roc_auc": 0.9}, {"roc_auc": 0.8}, thresholds)
    assert not decision.promote and "recall missing" in decision.reason


@pytest.mark.parametrize(
    "thresholds",
    [
        {"roc_auc": 0.7},
        {"roc_auc": {"floor": 0.7}},
        {"lift": {"min_improvement": 0.1}},
        {"f1": {"min_improvement": -1}},
    ],
)
def test_bad_threshold_specs_are_refused(thresholds):
    with pytest.raises(ThresholdError):
        decide({"roc_auc": 0.9}, None, thresholds)


def test_component_reports_decision_locally(kfp_local: Path):
    from components.select_model.component import select_model

    task = select_model(
        challenger_metrics=json.dumps({"roc_auc": 0.84}),
        champion_metrics=json.dumps({"roc_auc": 0.80}),
        thresholds=FLOOR_AND_MARGIN,
    )
    assert task.outputs["promote"] is True and task.outputs["decision"] == "promote"
    report = Path(task.outputs["report"].path).read_text()
    assert "| roc_auc | change | +0.005 vs champion | 0.8400 vs 0.8000 (+0.0400) | pass |" in report
    assert task.outputs["metrics"].metadata == {"promote": 1.0, "checks_failed": 0.0}
