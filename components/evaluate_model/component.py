"""KFP interface of evaluate_model; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from components.external_state import external_state
from components.images import image


@external_state(
    reads={
        "data_uri": "data_fingerprint",
        "registry_uri": "registry_fingerprint",
        "model_name": "registry_fingerprint",
    }
)
@dsl.component(base_image=image("evaluate_model"), install_kfp_package=False)
def evaluate_model(
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    report: Output[HTML],
    model: Input[Model] = None,
    registry_uri: str = "",
    model_name: str = "",
    model_ref: str = "champion",
    data: Input[Dataset] = None,
    data_uri: str = "",
    data_fingerprint: str = "",
    registry_fingerprint: str = "",
) -> NamedTuple("Outputs", metrics_json=str):
    """Evaluates a trained or registered model on a holdout table.

    Give a `model` artifact, or a registered model (`model_name`, `model_ref`), e.g. the current
    champion to compare a challenger with on the same holdout. When the registry has no such
    model or version yet (a cold start), the task succeeds with empty `metrics_json`.

    The model file's sha256 is checked before it is loaded (against the artifact's `sha256`
    metadata when set, else metadata.json's); a mismatch fails the task. The holdout needs the
    model's feature columns and its label column; other columns are ignored.

    Args:
        model: A model folder written by train_model (model.joblib + metadata.json).
        registry_uri: The registry of `model_name`: a local folder or file:// URI, or
            vertex://projects/P/locations/L. Empty: KEEL_HOME's local registry.
        model_name: The registered model to evaluate, instead of `model`.
        model_ref: Its version number or alias.
        data: The holdout table, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The holdout table, as a local path, /gcs/ path or gs:// URI.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content; recorded with the run.
        registry_fingerprint: The fingerprint of `model_name` in the registry (fingerprint_inputs'
            output), so that Vertex reuses a cached result only for the same versions and aliases.

    Returns:
        metrics: Classification: roc_auc, pr_auc (average precision), log_loss, accuracy,
            precision, recall, f1 (the positive class is the last of the sorted classes, e.g. 1;
            with more than two classes, macro averages). Regression: rmse, mae, r2. Both: rows.
        classification_metrics: The confusion matrix and (binary models) the ROC curve with at
            most 50 thresholds, which the Vertex console draws. Empty for regression.
        report: A self-contained HTML report: metrics, model, ROC and precision-recall curves
            and confusion matrix (classification) or predicted vs. actual (regression).
        metrics_json: The metrics as a JSON object, for steps that read them as a parameter;
            empty when a registered model was asked for and there is none yet.
    """
    import json

    from components.common.inputs import model_source, table_source
    from components.evaluate_model import core

    path, uri = table_source(data, data_uri, "evaluate_model")
    source = model_source(model)
    result = core.run(
        path,
        report.path,
        model_folder=source.path,
        expected_sha256=source.sha256,
        model_uri=source.uri,
        registry_uri=registry_uri,
        model_name=model_name,
        model_ref=model_ref,
        record_uri=uri,
        data_fingerprint=data_fingerprint,
        registry_fingerprint=registry_fingerprint,
    )
    if result is None:
        return ("",)
    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
    if result.confusion_matrix:
        classification_metrics.log_confusion_matrix(
            [str(name) for name in result.classes], result.confusion_matrix
        )
    if result.roc_curve:
        curve = result.roc_curve
        classification_metrics.log_roc_curve(curve.x, curve.y, curve.thresholds)
    return (json.dumps(result.metrics, sort_keys=True),)
