"""Selection thresholds: what a specification may hold, and which way each metric is better.

    check_thresholds({"roc_auc": {"lower_bound": 0.7, "min_improvement": 0.005}})

Per metric, a mapping with any of `lower_bound` / `upper_bound` (numbers), `min_improvement` (a
number >= 0) and `higher_is_better` (true or false; needed with `min_improvement` for a metric not in
HIGHER_IS_BETTER or LOWER_IS_BETTER). Shared by model selection and the pipeline parameter checks.
"""

from __future__ import annotations

import math
from typing import Any

from components.common.errors import ParameterError, parameter_error

HIGHER_IS_BETTER = {"roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "r2"}
LOWER_IS_BETTER = {"log_loss", "rmse", "mae", "brier"}
NUMBERS = ("lower_bound", "upper_bound", "min_improvement")
KEYS = {*NUMBERS, "higher_is_better"}


class ThresholdError(ParameterError):
    """A threshold specification that cannot be applied."""


def _refuse(name: str, thresholds: Any, rule: str) -> ThresholdError:
    return ThresholdError(str(parameter_error(name, thresholds, rule)))


def higher_is_better(metric: str, spec: dict[str, Any], name: str = "thresholds") -> bool:
    """The metric's direction: `higher_is_better` if set, else known for common metrics, else higher."""
    if "higher_is_better" in spec:
        return bool(spec["higher_is_better"])
    if metric in HIGHER_IS_BETTER or metric in LOWER_IS_BETTER:
        return metric in HIGHER_IS_BETTER
    if "min_improvement" in spec:
        raise _refuse(
            name,
            {metric: spec},
            f"threshold on {metric!r}: direction unknown; set higher_is_better true or false",
        )
    return True


def is_number(value: Any) -> bool:
    """An int or float (not a bool), finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_thresholds(thresholds: Any, name: str = "thresholds") -> None:
    """Raise ThresholdError naming the parameter, the metric, the value and the rule it breaks."""
    if not isinstance(thresholds, dict):
        raise _refuse(name, thresholds, "expected a JSON object of metric -> threshold specification")
    for metric, spec in thresholds.items():
        where = f"threshold on {metric!r}"
        if not isinstance(spec, dict) or not spec or set(spec) - KEYS:
            raise _refuse(name, thresholds, f"{where}: expected a mapping with keys among {sorted(KEYS)}")
        for key in NUMBERS:
            if key in spec and not is_number(spec[key]):
                raise _refuse(name, thresholds, f"{where}: {key} {spec[key]!r} is not a finite number")
        if "higher_is_better" in spec and not isinstance(spec["higher_is_better"], bool):
            raise _refuse(name, thresholds, f"{where}: higher_is_better must be true or false")
        if spec.get("min_improvement", 0) < 0:
            raise _refuse(name, thresholds, f"{where}: min_improvement must be >= 0")
        if spec.get("lower_bound", -math.inf) > spec.get("upper_bound", math.inf):
            raise _refuse(name, thresholds, f"{where}: lower_bound must not exceed upper_bound")
        higher_is_better(metric, spec, name)
