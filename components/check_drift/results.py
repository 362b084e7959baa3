"""What a drift check found and decided: shared by the check (core), its report and the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"  # and "warn": on_drift's other value


@dataclass(frozen=True)
class FeatureDrift:
    """One feature (or the model's scores) compared with its reference."""

    name: str
    kind: str  # numeric, categorical or score
    metric: str
    distance: float
    threshold: float
    noise_floor: float
    rows: int
    buckets: list[str] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)  # shares per bucket
    current: list[float] = field(default_factory=list)
    missing: bool = False  # the column is not in the data

    @property
    def limit(self) -> float:
        """The distance above which the feature drifts: its threshold, or the noise floor if higher."""
        return max(self.threshold, self.noise_floor)

    @property
    def drifted(self) -> bool:
        return self.missing or self.distance > self.limit

    def detail(self) -> str:
        """The bucket whose share changed most, e.g. `month-to-month: 55.2% -> 21.0%`."""
        if self.missing:
            return "column missing from the data"
        changes = np.abs(np.subtract(self.current, self.reference))
        top = int(changes.argmax())
        return f"{self.buckets[top]}: {self.reference[top]:.1%} -> {self.current[top]:.1%}"

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metric": self.metric,
            "distance": round(self.distance, 6),
            "threshold": self.threshold,
            "noise_floor": round(self.noise_floor, 6),
            "drifted": self.drifted,
            "detail": self.detail(),
        }


@dataclass
class DriftResult:
    """Every feature's drift; `features` is empty when there was nothing to compare (see `note`)."""

    subject: str  # the model whose reference was used
    features: list[FeatureDrift]
    score: FeatureDrift | None
    rows: int
    reference_rows: int
    note: str = ""

    @property
    def compared(self) -> list[FeatureDrift]:
        return [*self.features, *([self.score] if self.score else [])]

    @property
    def drifted_names(self) -> list[str]:
        return [one.name for one in self.compared if one.drifted]

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_names)


@dataclass
class DriftOutcome:
    """A result and the decision taken on it: pass, warn, fail (the run stops) or skipped."""

    result: DriftResult
    decision: str
    on_drift: str

    @property
    def drifted(self) -> bool:
        return self.result.drifted

    @property
    def blocked(self) -> bool:
        return self.decision == FAIL

    def metrics(self) -> dict[str, float]:
        values = {
            "drifted": int(self.drifted),
            "drifted_features": len(self.result.drifted_names),
            "rows": self.result.rows,
        }
        return values | {f"drift.{one.name}": round(one.distance, 6) for one in self.result.compared}

    def headline(self) -> str:
        result = self.result
        if self.decision == SKIPPED:
            return f"drift not checked: {result.note}"
        if not result.drifted:
            return f"no drift: {len(result.compared)} distributions of {result.rows} rows within their thresholds ({result.subject})"
        action = "the run stops (on_drift=fail)" if self.blocked else "the run goes on (on_drift=warn)"
        return f"drift in {', '.join(result.drifted_names)} ({result.subject}, {result.rows} rows): {action}"

    def anomalies(self) -> dict[str, Any]:
        result = self.result
        return {
            "subject": result.subject,
            "decision": self.decision,
            "on_drift": self.on_drift,
            "drifted": result.drifted,
            "drifted_features": result.drifted_names,
            "rows": result.rows,
            "reference_rows": result.reference_rows,
            "note": result.note,
            "features": [one.record() for one in result.features],
            "score": result.score.record() if result.score else None,
        }

    def to_markdown(self) -> str:
        lines = [f"## Drift check: {self.decision}", "", self.headline(), ""]
        if self.result.compared:
            lines += [
                "| feature | metric | distance | limit | drifted | largest change |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {one.name} | {one.metric} | {one.distance:.4f} | {one.limit:.4f} | "
                f"{'**yes**' if one.drifted else 'no'} | {one.detail()} |"
                for one in self.result.compared
            ]
            lines += [
                "",
                "limit = the threshold, or the noise floor of the sample size when higher.",
            ]
        return "\n".join(lines) + "\n"
