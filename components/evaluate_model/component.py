"""KFP interface of evaluate_model; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from components.images import image


@dsl.component(base_image=image("evaluate_model"), install_kfp_package=False)
def evaluate_model(
    model: Input[Model],
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    report: Output[HTML],
    data: Input[Dataset] = None,
    data_uri: str = "",
) -> NamedTuple("Outputs", metrics_json=str):
    """Evaluates a trained model on a holdout table.

    The model file's sha256 is checked before it is loaded (against the artifact's `sha256`
    metadata when set, else metadata.json's); a mismatch fails the task. The holdout needs the
    model's feature columns and its label column; other columns are ignored.

    Args:
        model: A model folder written by train_model (model.joblib + metadata.json).
        data: The holdout table, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The holdout table, as a local path, /gcs/ path or gs:// URI.

    Returns:
        metrics: Classification: roc_auc, pr_auc (average precision), log_loss, accuracy,
            precision, recall, f1 (the positive class is the last of the sorted classes, e.g. 1;
            with more than two classes, macro averages). Regression: rmse, mae, r2. Both: rows.
        classification_metrics: The confusion matrix and (binary models) the ROC curve with at
            most 50 thresholds, which the Vertex console draws. Empty for regression.
        report: A self-contained HTML report: metrics, model, ROC and precision-recall curves
            and confusion matrix (classification) or predicted vs. actual (regression).
        metrics_json: The metrics as a JSON object, for steps that read them as a parameter.
    """
    import json

    from components.common.inputs import table_source
    from components.common.tracking import track
    from components.evaluate_model import core

    path, uri = table_source(data, data_uri, "evaluate_model")
    with track("evaluate_model", params={"model": model.uri, "data": uri}) as run:
        result = core.evaluate_table(model.path, path, model.metadata.get("sha256", ""), record_uri=uri)
        core.write_report(result, report.path)
        for name, value in result.metrics.items():
            metrics.log_metric(name, value)
        if result.confusion_matrix:
            categories = [str(name) for name in result.classes]
            classification_metrics.log_confusion_matrix(categories, result.confusion_matrix)
        if result.roc_curve:
            curve = result.roc_curve
            classification_metrics.log_roc_curve(curve.x, curve.y, curve.thresholds)
        run.log_metrics(result.metrics)
        run.log_artifact("report", report.path)
    return (json.dumps(result.metrics, sort_keys=True),)
