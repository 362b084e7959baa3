"""Compare data with a model's reference profile: per-feature drift, the decision, and its records.

Plain Python (no kfp): `check(DriftRequest(model_folder=..., data=...))` from a notebook gives the
same result as the component (`run` is the component's work: `check` as a tracked run, failing on a
`fail` decision); `compare(reference, current)` compares two profiles already in hand.

Each feature of the reference profile (components.common.profile) is compared with the current
data on the same buckets (its bins, plus missing values): numeric features and the model's scores
by Jensen-Shannon divergence, categorical features by L-infinity distance, as Vertex AI Model
Monitoring does (see `metrics`). A feature drifts when its distance exceeds its threshold (one
default, per-feature overrides) and the noise floor of its sample size (`metrics.noise_floor`), so
that a small batch from the training distribution raises no alarm; a feature column missing from
the data always drifts. The decision: `pass` (nothing drifted), `warn` (drifted, published anyway:
a WARNING log line and the alert), `fail` (drifted, nothing published: the task fails), or
`skipped` (no reference to compare with: no model yet, or one trained without a profile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.check_drift import history, metrics
from components.check_drift.results import PASS, SKIPPED, DriftOutcome, DriftResult, FeatureDrift
from components.common import alerts, io, model_files
from components.common.errors import KeelError, ParameterError
from components.common.io import DataError
from components.common.logging import logger
from components.common.profile import (
    CATEGORICAL,
    SCORE,
    Profiler,
    bucket_labels,
    combine,
    distribution,
)
from components.common.tracking import track

DEFAULT_THRESHOLD = 0.1
ON_DRIFT = ("warn", "fail")
METRIC_OF_KIND = {CATEGORICAL: "l_infinity"}  # numeric features and scores: Jensen-Shannon divergence
BATCH_ROWS = 50_000


class DriftDetectedError(KeelError, RuntimeError):
    """Drift beyond the thresholds with on_drift='fail'; the message names every drifted feature."""


def _metric(kind: str) -> str:
    return METRIC_OF_KIND.get(kind, "jensen_shannon_divergence")


def check_settings(on_drift: str, threshold: float, thresholds: dict[str, float]) -> None:
    """ParameterError naming an unknown `on_drift` or any threshold outside (0, 1]."""
    if on_drift not in ON_DRIFT:
        raise ParameterError(f"check_drift: on_drift = {on_drift!r}; expected one of {', '.join(ON_DRIFT)}")
    named = {"threshold": threshold, **{f"thresholds[{k!r}]": v for k, v in thresholds.items()}}
    for name, value in named.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value <= 1:
            raise ParameterError(f"check_drift: {name} = {value!r}; rule: a distance threshold is in (0, 1]")


def _check_names(thresholds: dict[str, float], names: list[str]) -> None:
    unknown = sorted(set(thresholds) - set(names))
    if unknown:
        raise ParameterError(
            f"check_drift: thresholds for unknown feature(s) {unknown}; known: {', '.join(names)}"
        )


def _compare_one(
    reference: dict[str, Any], current: dict[str, Any] | None, kind: str, threshold: float
) -> FeatureDrift:
    metric = _metric(kind)
    expected = distribution(reference)
    if current is None:
        return FeatureDrift(reference["name"], kind, metric, 1.0, threshold, 0.0, 0, missing=True)
    observed = distribution(current)
    rows = int(observed.sum())
    return FeatureDrift(
        name=reference["name"],
        kind=kind,
        metric=metric,
        distance=float(metrics.METRICS[metric](expected, observed)),
        threshold=threshold,
        noise_floor=metrics.noise_floor(metric, expected, rows),
        rows=rows,
        buckets=bucket_labels(reference),
        reference=(expected / expected.sum()).tolist(),
        current=(observed / observed.sum()).tolist(),
    )


def compare(
    reference: dict[str, Any],
    current: dict[str, Any],
    threshold: float = DEFAULT_THRESHOLD,
    thresholds: dict[str, float] | None = None,
    subject: str = "model",
) -> DriftResult:
    """Every feature of `reference` (and its scores, when both profiles have them) against `current`."""
    thresholds = thresholds or {}
    check_settings(ON_DRIFT[0], threshold, thresholds)
    _check_names(thresholds, [*(feature["name"] for feature in reference["features"]), SCORE])
    if current["rows"] == 0:
        raise DataError(f"check_drift: no rows to compare with the reference of {subject}")
    observed = {feature["name"]: feature for feature in current["features"]}
    missing = set(current.get("missing_columns", []))
    features = [
        _compare_one(
            feature,
            None if feature["name"] in missing else observed[feature["name"]],
            feature["kind"],
            thresholds.get(feature["name"], threshold),
        )
        for feature in reference["features"]
    ]
    score, note = None, ""
    current_score = current.get("score")
    if not reference.get("score"):
        note = "scores not compared: the model has no score reference (it was trained without a holdout)"
    elif not current_score or distribution(current_score).sum() == 0:
        note = "scores not compared: no scores were given"
    else:
        score = _compare_one(reference["score"], current_score, SCORE, thresholds.get(SCORE, threshold))
    return DriftResult(subject, features, score, current["rows"], reference["rows"], note)


# -- the component's work: find the reference, profile the data, compare, decide, record ----------


@dataclass(frozen=True)
class DriftRequest:
    """A drift check: the reference (a model folder, or a registered version), the current data
    (shard profiles from batch_predict, or a table and optionally its scored rows), the rule, and
    where the results go. Paths are what to read or write; `data_uri` is what to record."""

    subject: str = "model"
    model_folder: str = ""
    registry_uri: str = ""
    model_name: str = ""
    model_ref: str = "champion"
    profiles: tuple[str, ...] = ()
    data: str = ""
    data_uri: str = ""
    predictions: str = ""
    threshold: float = DEFAULT_THRESHOLD
    thresholds: dict[str, float] = field(default_factory=dict)
    on_drift: str = "warn"
    report: str = ""
    summary: str = ""
    anomalies: str = ""
    output_uri: str = ""
    run_date: str = ""
    schedule_time: str = ""
    alert_webhook: str = ""
    alert_webhook_format: str = "auto"


def decide(result: DriftResult, on_drift: str) -> str:
    """`pass` without drift, else what `on_drift` says (`warn` or `fail`)."""
    return on_drift if result.drifted else PASS


def alert_message(outcome: DriftOutcome) -> dict[str, Any]:
    """The alert for a drifted run: title, text, severity and fields (feature -> distance > limit)."""
    result = outcome.result
    fields = {
        one.name: f"{one.metric} {one.distance:.4f} > {one.limit:.4f}; {one.detail()}"
        for one in result.compared
        if one.drifted
    }
    return {
        "title": f"Drift: {', '.join(result.drifted_names)} ({result.subject})",
        "text": outcome.headline(),
        "severity": "ERROR" if outcome.blocked else "WARNING",
        "fields": {"decision": outcome.decision, "rows": str(result.rows), **fields},
    }


def announce(outcome: DriftOutcome, webhook_url: str = "", webhook_format: str = "auto") -> None:
    """Tell people, from this one place: drift is an alert (components.common.alerts: one JSON log line
    at WARNING, ERROR when the run stops, and the webhook when one is configured); no drift, a line
    at INFO."""
    if not outcome.drifted:
        logger.info("check_drift: %s", outcome.headline())
        return
    alerts.send(**alert_message(outcome), webhook_url=webhook_url, webhook_format=webhook_format)


def _reference(request: DriftRequest) -> tuple[dict[str, Any] | None, str, str]:
    """(reference profile or None, subject, why there is none)."""
    if request.model_folder:
        profile = model_files.load_profile(request.model_folder)
        return profile, request.subject, "" if profile else f"{request.subject} has no reference profile"
    from components.common.config import settings
    from components.common.registry import RegistryError, open_registry

    registry = open_registry(request.registry_uri or settings().registry_uri)
    subject = f"{registry.uri}#{request.model_name}@{request.model_ref}"
    try:
        found = registry.get(request.model_name, request.model_ref)
    except RegistryError as missing:
        return None, subject, f"no model to compare with yet ({missing})"
    subject = f"{request.model_name} v{found.version} ({request.model_ref})"
    profile = registry.load_profile(request.model_name, found.version)
    return profile, subject, "" if profile else f"{subject} was registered without a reference profile"


def profile_table(reference: dict[str, Any], data: str, predictions: str = "") -> dict[str, Any]:
    """The profile of the table at `data` (and of the `score` column of `predictions`) on the bins of
    `reference`, streamed in batches."""
    profiler = Profiler(reference)
    names = io.open_dataset(data).schema.names
    columns = [feature["name"] for feature in reference["features"] if feature["name"] in names]
    pieces = io.table_pieces(data)
    if columns:
        for piece in pieces:
            for batch in io.iter_batches(piece, columns, BATCH_ROWS):
                profiler.add(batch.to_pandas())
    else:  # none of the features is in the table: count its rows; every feature is missing
        profiler.profile["rows"] = io.rows_of(pieces, data)
        profiler.profile["missing_columns"] = [feature["name"] for feature in reference["features"]]
    if predictions:
        for piece in io.table_pieces(predictions):
            for batch in io.iter_batches(piece, ["score"], BATCH_ROWS):
                profiler.add_scores(batch.column("score").to_numpy(zero_copy_only=False))
    return profiler.result()


def _current(request: DriftRequest, reference: dict[str, Any]) -> dict[str, Any]:
    if request.profiles:
        profiles = [io.read_json(path) for path in request.profiles]
        return combine([one for one in profiles if one], source=", ".join(request.profiles))
    if not request.data:
        raise ParameterError("check_drift needs the data to compare: `profiles`, or `data` / `data_uri`")
    return profile_table(reference, request.data, request.predictions)


def check(request: DriftRequest) -> DriftOutcome:
    """Run a drift check end to end: compare, decide, write the report, summary and anomalies, append
    the run to the monitoring history (when `output_uri` is set) and announce the result."""
    check_settings(request.on_drift, request.threshold, request.thresholds)
    reference, subject, note = _reference(request)
    if reference is None:
        result = DriftResult(subject, [], None, 0, 0, note)
        outcome = DriftOutcome(result, SKIPPED, request.on_drift)
    else:
        current = _current(request, reference)
        result = compare(reference, current, request.threshold, request.thresholds, subject)
        outcome = DriftOutcome(result, decide(result, request.on_drift), request.on_drift)
    write_outputs(outcome, request)
    announce(outcome, request.alert_webhook, request.alert_webhook_format)
    return outcome


def run(request: DriftRequest) -> DriftOutcome:
    """The component's work: `check` as a tracked run (its metrics and report in ClearML), then
    DriftDetectedError when the decision is `fail`, once every output is written."""
    if not request.model_folder and not request.model_name:
        raise ParameterError("check_drift needs `model` or `model_name`")
    model = request.subject or f"{request.model_name}@{request.model_ref}"
    params = {"model": model, "data": request.data_uri, "on_drift": request.on_drift}
    with track("check_drift", params=params) as tracked:
        outcome = check(request)
        tracked.log_metrics(outcome.metrics())
        if request.report:
            tracked.log_artifact("report", request.report)
    if outcome.blocked:
        raise DriftDetectedError(outcome.headline())
    return outcome


def write_outputs(outcome: DriftOutcome, request: DriftRequest) -> None:
    from components.check_drift import report

    if request.report:
        io.write_bytes(request.report, report.render_html(outcome).encode())
    if request.summary:
        io.write_bytes(request.summary, outcome.to_markdown().encode())
    if request.anomalies:
        io.write_json(request.anomalies, outcome.anomalies())
    if request.output_uri:
        history.append(request.output_uri, request.run_date, request.schedule_time, outcome.anomalies())
