"""Champion/challenger selection with value and change thresholds, in the spirit of TFX's Evaluator.

    decision = decide(challenger={"roc_auc": 0.83}, champion={"roc_auc": 0.81},
                      thresholds={"roc_auc": {"lower_bound": 0.7, "min_improvement": 0.005}})

A threshold spec per metric may hold:
  - `lower_bound` / `upper_bound`: value thresholds, absolute limits the challenger must respect;
  - `min_improvement`: a change threshold, how much better than the champion the challenger must be,
    in the metric's own direction (higher is better for AUC, accuracy...; lower for log loss, RMSE...;
    set `higher_is_better` for other metrics; the rules are in components.common.thresholds).
Rules: no thresholds, no promotion. Cold start (no champion): promote only when value thresholds
are set and all pass. With a champion: promote only when all value thresholds pass and change
thresholds are set and all pass. Every decision carries its reason and the checks behind it.
`run` is the component's work: `decide` on metrics given as JSON, tracked, with its Markdown report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from components.common import io
from components.common.logging import logger
from components.common.thresholds import ThresholdError, check_thresholds, higher_is_better
from components.common.tracking import track

__all__ = ["Check", "Decision", "ThresholdError", "decide", "run"]


@dataclass(frozen=True)
class Check:
    metric: str
    kind: str  # "value" or "change"
    rule: str
    observed: str
    passed: bool


@dataclass
class Decision:
    promote: bool
    reason: str
    checks: list[Check] = field(default_factory=list)

    @property
    def action(self) -> str:
        return "promote" if self.promote else "keep"

    def metrics(self) -> dict[str, int]:
        return {"promote": int(self.promote), "checks_failed": sum(not c.passed for c in self.checks)}

    def to_markdown(self, challenger_name: str = "challenger", champion_name: str = "champion") -> str:
        lines = [
            f"## Model selection: **{self.action}**",
            "",
            f"{self.reason}",
            "",
            f"Challenger: {challenger_name}. Champion: {champion_name}.",
        ]
        if self.checks:
            lines += ["", "| metric | kind | rule | observed | result |", "|---|---|---|---|---|"]
            lines += [
                f"| {c.metric} | {c.kind} | {c.rule} | {c.observed} | {'pass' if c.passed else 'FAIL'} |"
                for c in self.checks
            ]
        return "\n".join(lines) + "\n"


def _value_checks(challenger: dict[str, float], thresholds: dict[str, Any]) -> list[Check]:
    checks = []
    for metric, spec in thresholds.items():
        value = challenger.get(metric)
        for key, holds in (("lower_bound", lambda v, b: v >= b), ("upper_bound", lambda v, b: v <= b)):
            if key not in spec:
                continue
            rule = f"{'>=' if key == 'lower_bound' else '<='} {spec[key]}"
            passed = value is not None and holds(value, spec[key])
            checks.append(
                Check(metric, "value", rule, "missing" if value is None else f"{value:.4f}", passed)
            )
    return checks


def _change_checks(
    challenger: dict[str, float], champion: dict[str, float], thresholds: dict[str, Any]
) -> list[Check]:
    checks = []
    for metric, spec in thresholds.items():
        if "min_improvement" not in spec:
            continue
        higher = higher_is_better(metric, spec)
        new, old = challenger.get(metric), champion.get(metric)
        rule = f"{'+' if higher else '-'}{spec['min_improvement']} vs champion"
        if new is None or old is None:
            checks.append(Check(metric, "change", rule, "missing", False))
            continue
        gain = (new - old) if higher else (old - new)
        observed = f"{new:.4f} vs {old:.4f} ({'+' if new >= old else ''}{new - old:.4f})"
        checks.append(Check(metric, "change", rule, observed, gain >= spec["min_improvement"]))
    return checks


def _failed(checks: list[Check]) -> str:
    return "; ".join(f"{c.metric} {c.observed} (needs {c.rule})" for c in checks if not c.passed)


def decide(
    challenger: dict[str, float], champion: dict[str, float] | None, thresholds: dict[str, Any]
) -> Decision:
    """Promote the challenger or keep the champion; see the module docstring for the rules."""
    check_thresholds(thresholds)
    if not thresholds:
        return Decision(False, "No thresholds configured: a model is never promoted without one.")
    value_checks = _value_checks(challenger, thresholds)
    if champion is None:
        if not value_checks:
            return Decision(False, "Cold start needs value thresholds (lower_bound/upper_bound) to promote.")
        if all(c.passed for c in value_checks):
            return Decision(
                True, "Cold start: no champion yet and every value threshold passed.", value_checks
            )
        return Decision(False, f"Cold start: value thresholds failed: {_failed(value_checks)}.", value_checks)
    change_checks = _change_checks(challenger, champion, thresholds)
    checks = value_checks + change_checks
    if not change_checks:
        return Decision(False, "A champion exists but no change threshold (min_improvement) is set.", checks)
    if all(c.passed for c in checks):
        return Decision(
            True, "The challenger passed every value threshold and beat the champion by the margins.", checks
        )
    return Decision(False, f"The champion stays: {_failed(checks)}.", checks)


def run(
    challenger_metrics: str, thresholds: dict[str, Any], champion_metrics: str = "", report_uri: str = ""
) -> Decision:
    """The component's work, as a tracked run: `decide` on the challenger's and the champion's metrics
    as JSON (an empty `champion_metrics`: no champion yet) and write the decision as Markdown to
    `report_uri`."""
    champion = json.loads(champion_metrics) if champion_metrics else None
    with track("select_model", params={"thresholds": thresholds}) as tracked:
        decision = decide(json.loads(challenger_metrics), champion, thresholds)
        tracked.log_metrics(decision.metrics())
        if report_uri:
            io.write_bytes(report_uri, decision.to_markdown().encode())
            tracked.log_artifact("decision", report_uri)
    logger.info("model selection: %s. %s", decision.action, decision.reason)
    return decision
