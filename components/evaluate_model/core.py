"""Evaluate a trained model on a holdout table.

Plain Python (no kfp): `evaluate_table(model_folder, holdout_uri)` or, with a model already in
memory, `evaluate(model, metadata, frame)`, from a notebook give the same result as the component;
`run(...)` is the component's work (a model folder or a registered version, tracked, with its report).

Classification: roc_auc, pr_auc (average precision), log_loss, accuracy, precision, recall, f1. A
binary model's positive class is the last of its sorted classes (1 of 0/1, True, "yes" of
"no"/"yes"); with more classes, the AUCs and precision/recall/F1 are macro averages.
Regression: rmse, mae, r2. Both: rows.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from components.common import io, labels, model_files, prediction
from components.common.errors import ParameterError
from components.common.io import DataError
from components.common.logging import logger
from components.common.tracking import track
from components.evaluate_model import report

CURVE_POINTS = 50  # points kept of the ROC and precision-recall curves
SCATTER_POINTS = 500  # (actual, predicted) pairs kept for the regression plot
MODEL_FIELDS = ("estimator", "train_function", "framework", "label", "task", "sha256", "created_at")


@dataclass(frozen=True)
class Curve:
    x: list[float]
    y: list[float]
    thresholds: list[float]


@dataclass
class EvaluationResult:
    task: str
    metrics: dict[str, float]
    source: str
    model: dict[str, Any]  # the model's key metadata (MODEL_FIELDS and training data)
    classes: list[Any] = field(default_factory=list)
    confusion_matrix: list[list[int]] = field(default_factory=list)  # rows: actual, columns: predicted
    roc_curve: Curve | None = None  # binary classification: false vs. true positive rate
    pr_curve: Curve | None = None  # binary classification: recall vs. precision
    actual_vs_predicted: list[tuple[float, float]] = field(default_factory=list)  # regression sample


def _thin(points: int, *arrays: np.ndarray) -> list[list[float]]:
    """At most `points` evenly spaced entries of each array, first and last included."""
    keep = np.unique(np.linspace(0, len(arrays[0]) - 1, points).round().astype(int))
    return [np.asarray(array, dtype=float)[keep].tolist() for array in arrays]


def _binary_curves(is_positive: np.ndarray, score: np.ndarray) -> tuple[Curve, Curve]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, thresholds = roc_curve(is_positive, score)
    roc = Curve(*_thin(CURVE_POINTS, fpr, tpr, np.minimum(thresholds, 1.0)))  # the first threshold is +inf
    precision, recall, pr_thresholds = precision_recall_curve(is_positive, score)
    pr = Curve(*_thin(CURVE_POINTS, recall[:-1], precision[:-1], pr_thresholds))
    return roc, pr


def _classification(model: Any, x: pd.DataFrame, y: pd.Series, classes: list[Any], source: str):
    """The metrics and the plot data (EvaluationResult fields) of a classifier."""
    from sklearn import metrics as sk
    from sklearn.preprocessing import label_binarize

    distinct = y.unique().tolist()
    unseen = sorted(set(distinct) - set(classes), key=str)
    if unseen:
        raise DataError(f"{source}: label values {unseen} were not seen in training (classes: {classes})")
    if len(distinct) < 2:
        raise DataError(
            f"{source}: the label has {len(distinct)} distinct value(s) {distinct}; ROC AUC needs two"
        )
    probabilities = np.asarray(model.predict_proba(x), dtype=float)
    predicted = np.asarray(model.predict(x))
    if len(classes) == 2:
        is_positive = (y == classes[1]).to_numpy()
        score = probabilities[:, 1]
        roc_auc, pr_auc = sk.roc_auc_score(is_positive, score), sk.average_precision_score(is_positive, score)
        averaging = {"average": "binary", "pos_label": classes[1]}
        roc, pr = _binary_curves(is_positive, score)
    else:
        one_hot = label_binarize(y, classes=classes)
        roc_auc = sk.roc_auc_score(one_hot, probabilities, average="macro")
        pr_auc = sk.average_precision_score(one_hot, probabilities, average="macro")
        averaging = {"average": "macro", "labels": classes}
        roc = pr = None
    metrics = {
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": sk.log_loss(y, probabilities, labels=classes),
        "accuracy": sk.accuracy_score(y, predicted),
        "precision": sk.precision_score(y, predicted, zero_division=0, **averaging),
        "recall": sk.recall_score(y, predicted, zero_division=0, **averaging),
        "f1": sk.f1_score(y, predicted, zero_division=0, **averaging),
    }
    matrix = sk.confusion_matrix(y, predicted, labels=classes).tolist()
    return metrics, {"classes": classes, "confusion_matrix": matrix, "roc_curve": roc, "pr_curve": pr}


def _regression(model: Any, x: pd.DataFrame, y: pd.Series):
    """The metrics and the plot data (EvaluationResult fields) of a regressor."""
    from sklearn import metrics as sk

    predicted = np.asarray(model.predict(x), dtype=float)
    actual = y.to_numpy(dtype=float)
    metrics = {
        "rmse": sk.root_mean_squared_error(actual, predicted),
        "mae": sk.mean_absolute_error(actual, predicted),
        "r2": sk.r2_score(actual, predicted),
    }
    sample = np.random.default_rng(0).permutation(len(actual))[:SCATTER_POINTS]
    pairs = list(zip(actual[sample].tolist(), predicted[sample].tolist(), strict=True))
    return metrics, {"actual_vs_predicted": pairs}


def evaluate(
    model: Any, metadata: dict[str, Any], frame: pd.DataFrame, source: str = "data"
) -> EvaluationResult:
    """Score `frame` (features and label as named in `metadata`) with `model` and compute the metrics."""
    x = prediction.feature_frame(frame, metadata, source)
    y = labels.label_values(frame, metadata["label"], source)
    task = metadata["task"]
    if task == labels.CLASSIFICATION:
        metrics, plots = _classification(model, x, y, list(metadata["classes"]), source)
    else:
        metrics, plots = _regression(model, x, y)
    metrics = {name: float(value) for name, value in metrics.items()} | {"rows": len(frame)}
    model_info = {key: metadata.get(key, "") for key in MODEL_FIELDS}
    model_info["training_data"] = metadata.get("training_data", {})
    return EvaluationResult(task, metrics, source, model_info, **plots)


def evaluate_table(
    model_folder: str, data_uri: str, expected_sha256: str = "", record_uri: str = ""
) -> EvaluationResult:
    """Load the model (sha256 checked; against `expected_sha256` when given) and evaluate it on the
    table at `data_uri`; `record_uri` (default `data_uri`) is the URI shown in results."""
    model, metadata = model_files.load(model_folder, expected_sha256)
    return _evaluate_on_table(model, metadata, data_uri, record_uri)


def evaluate_registered(
    registry: Any, name: str, ref: str, data_uri: str, record_uri: str = ""
) -> EvaluationResult | None:
    """Evaluate version `ref` (e.g. "champion") of a registered model; None if there is no such
    model or version yet (a cold start). A version that fails its sha256 check raises."""
    from components.common.registry import RegistryError

    try:
        found = registry.get(name, ref)
    except RegistryError as missing:
        logger.info("nothing to evaluate: %s", missing)
        return None
    model, metadata = registry.load(name, found.version)
    return _evaluate_on_table(model, metadata, data_uri, record_uri)


def _evaluate_on_table(
    model: Any, metadata: dict[str, Any], data_uri: str, record_uri: str
) -> EvaluationResult:
    frame = io.read_table(data_uri)
    if frame.empty:
        raise DataError(f"{record_uri or data_uri}: no rows to evaluate on")
    return evaluate(model, metadata, frame, source=record_uri or data_uri)


def run(
    data_uri: str,
    report_uri: str,
    model_folder: str = "",
    expected_sha256: str = "",
    model_uri: str = "",
    registry_uri: str = "",
    model_name: str = "",
    model_ref: str = "champion",
    record_uri: str = "",
    data_fingerprint: str = "",
    registry_fingerprint: str = "",
) -> EvaluationResult | None:
    """The component's work, as a tracked run: evaluate the model in `model_folder` (recorded as
    `model_uri`; sha256 checked as `evaluate_table` does) or else version `model_ref` of `model_name`
    in the registry at `registry_uri` (empty: KEEL_HOME's local registry) on the table at `data_uri`,
    and write the HTML report to `report_uri`. None, with a report that says so, when the registry
    has no such model or version yet. The fingerprints are recorded with the run."""
    from components.common.config import settings
    from components.common.registry import open_registry

    if not model_folder and not model_name:
        raise ParameterError("evaluate_model needs `model` or `model_name`")
    registry = None if model_folder else open_registry(registry_uri or settings().registry_uri)
    subject = (model_uri or model_folder) if registry is None else f"{registry.uri}#{model_name}@{model_ref}"
    fingerprints = {"data_fingerprint": data_fingerprint, "registry_fingerprint": registry_fingerprint}
    params = {"model": subject, "data": record_uri or data_uri, **fingerprints}
    with track("evaluate_model", params=params) as tracked:
        if registry is None:
            result = evaluate_table(model_folder, data_uri, expected_sha256, record_uri)
        else:
            result = evaluate_registered(registry, model_name, model_ref, data_uri, record_uri)
        if result is None:
            nothing = f"<p>No model {html.escape(subject)} yet: nothing to evaluate.</p>"
            io.write_bytes(report_uri, nothing.encode())
            return None
        write_report(result, report_uri)
        tracked.log_metrics(result.metrics)
        tracked.log_artifact("report", report_uri)
    return result


def write_report(result: EvaluationResult, uri: str) -> None:
    """Write the self-contained HTML report (see `report.render_html`) atomically."""
    io.write_bytes(uri, report.render_html(result).encode())
