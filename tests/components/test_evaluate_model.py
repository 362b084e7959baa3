"""evaluate_model: right metrics and plot data, an offline report, refusal of tampered models, and
split -> train -> evaluate as KFP tasks under kfp.local."""

import json
from pathlib import Path

import numpy as np
import pytest

from components.common import io, model_files
from components.common.io import DataError
from components.evaluate_model import core, report
from components.split_data.core import split
from components.train_model.core import TrainingSpec, save, train

CLASSIFICATION_METRICS = {"roc_auc", "pr_auc", "log_loss", "accuracy", "precision", "recall", "f1", "rows"}


@pytest.fixture(scope="module")
def parts():
    from components.common.sample_data import sample_path

    return split(io.read_table(sample_path()), "churned", seed=0)


@pytest.fixture(scope="module")
def churn_model(parts):
    return train(parts.train, TrainingSpec("churned", id_columns=("customer_id",)))


@pytest.fixture(scope="module")
def churn_result(parts, churn_model) -> core.EvaluationResult:
    return core.evaluate(churn_model.model, churn_model.metadata, parts.test, source="test.parquet")


def test_classification_metrics_on_the_holdout(churn_result):
    metrics = churn_result.metrics

    assert set(metrics) == CLASSIFICATION_METRICS
    assert metrics["roc_auc"] > 0.75
    assert all(0 <= metrics[name] <= 1 for name in CLASSIFICATION_METRICS - {"log_loss", "rows"})
    assert metrics["rows"] == 1000
    matrix = np.array(churn_result.confusion_matrix)
    assert matrix.shape == (2, 2) and matrix.sum() == 1000
    assert np.trace(matrix) / 1000 == pytest.approx(metrics["accuracy"])


def test_curves_are_short_and_span_the_plot(churn_result):
    roc, pr = churn_result.roc_curve, churn_result.pr_curve

    assert len(roc.x) <= core.CURVE_POINTS and len(pr.x) <= core.CURVE_POINTS
    assert (roc.x[0], roc.y[0], roc.x[-1], roc.y[-1]) == (0, 0, 1, 1)
    assert all(np.isfinite(roc.thresholds)) and roc.thresholds == sorted(roc.thresholds, reverse=True)


def test_model_trained_on_shuffled_labels_scores_near_chance(parts):
    shuffled = parts.train.assign(
        churned=np.random.default_rng(0).permutation(parts.train.churned.to_numpy())
    )
    trained = train(shuffled, TrainingSpec("churned", id_columns=("customer_id",)))

    result = core.evaluate(trained.model, trained.metadata, parts.test)

    assert result.metrics["roc_auc"] == pytest.approx(0.5, abs=0.06)


def test_multi_class_string_labels(parts):
    spec = TrainingSpec(
        "contract_type", "sklearn.tree:DecisionTreeClassifier", {"max_depth": 4}, id_columns=("customer_id",)
    )
    trained = train(parts.train, spec)

    result = core.evaluate(trained.model, trained.metadata, parts.test)

    assert result.classes == ["month-to-month", "one-year", "two-year"]
    assert set(result.metrics) == CLASSIFICATION_METRICS and result.metrics["roc_auc"] > 0.6
    assert np.array(result.confusion_matrix).shape == (3, 3) and result.roc_curve is None
    assert "predicted two-year" in report.render_html(result)


def test_regression_metrics(parts):
    spec = TrainingSpec(
        "tenure_months", "sklearn.ensemble:HistGradientBoostingRegressor", id_columns=("customer_id",)
    )
    trained = train(parts.train, spec)

    result = core.evaluate(trained.model, trained.metadata, parts.test)

    assert set(result.metrics) == {"rmse", "mae", "r2", "rows"}
    assert result.metrics["rmse"] >= result.metrics["mae"] > 0 and result.metrics["r2"] > 0.3
    assert len(result.actual_vs_predicted) == core.SCATTER_POINTS
    assert (result.roc_curve, result.confusion_matrix) == (None, [])
    assert "Predicted vs. actual" in report.render_html(result)


def test_report_is_self_contained_html_with_plots(churn_result):
    page = report.render_html(churn_result)

    assert page.count("<svg") == 2 and "Confusion matrix" in page and "roc_auc" in page
    assert not any(tag in page for tag in ("<script", "<link", "src=", "<img"))


def test_tampered_model_is_refused(churn_model, parts, tmp_path):
    save(churn_model, str(tmp_path))
    io.write_table(parts.test, str(tmp_path / "test.parquet"))
    assert core.evaluate_table(str(tmp_path), str(tmp_path / "test.parquet")).metrics["roc_auc"] > 0.75

    with pytest.raises(model_files.ModelIntegrityError, match="does not match the recorded 0000"):
        core.evaluate_table(str(tmp_path), str(tmp_path / "test.parquet"), expected_sha256="0000")
    with (tmp_path / model_files.MODEL_FILE).open("ab") as model_file:
        model_file.write(b"\0")
    with pytest.raises(model_files.ModelIntegrityError, match="model.joblib: sha256 .* does not match"):
        core.evaluate_table(str(tmp_path), str(tmp_path / "test.parquet"))


def test_holdout_without_a_feature_column_is_refused(churn_model, parts):
    with pytest.raises(
        DataError, match=r"test\.parquet: feature column\(s\) tenure_months of the model not found"
    ):
        core.evaluate(
            churn_model.model, churn_model.metadata, parts.test.drop(columns="tenure_months"), "test.parquet"
        )


def test_single_class_holdout_is_refused(churn_model, parts):
    holdout = parts.test[parts.test.churned == 0]

    with pytest.raises(DataError, match=r"the label has 1 distinct value\(s\) \[0\]; ROC AUC needs two"):
        core.evaluate(churn_model.model, churn_model.metadata, holdout)


def test_holdout_label_values_unseen_in_training_are_refused(churn_model, parts):
    holdout = parts.test.assign(churned=parts.test.churned.replace({1: 2}))

    with pytest.raises(
        DataError, match=r"label values \[2\] were not seen in training \(classes: \[0, 1\]\)"
    ):
        core.evaluate(churn_model.model, churn_model.metadata, holdout)


def test_split_train_evaluate_run_as_kfp_tasks(kfp_local, sample_uri):
    from typing import NamedTuple

    from kfp import dsl

    from components.evaluate_model.component import evaluate_model
    from components.split_data.component import split_data
    from components.train_model.component import train_model

    class Outputs(NamedTuple):
        split_metrics: dsl.Metrics
        model: dsl.Model
        metrics_json: str
        curves: dsl.ClassificationMetrics
        report: dsl.HTML

    @dsl.pipeline
    def split_train_evaluate(data_uri: str) -> Outputs:
        parts = split_data(data_uri=data_uri, label="churned", seed=1)
        trained = train_model(
            data=parts.outputs["train"], label="churned", id_columns=["customer_id"], seed=1
        )
        evaluated = evaluate_model(model=trained.outputs["model"], data=parts.outputs["test"]).outputs
        return Outputs(
            parts.outputs["metrics"],
            trained.outputs["model"],
            evaluated["metrics_json"],
            evaluated["classification_metrics"],
            evaluated["report"],
        )

    run = split_train_evaluate(data_uri=sample_uri).outputs

    assert run["split_metrics"].metadata == {"train_rows": 4000, "test_rows": 1000}
    model = run["model"]
    assert model.metadata["framework"] == "sklearn" and model.metadata["task"] == "classification"
    assert model.metadata["sha256"] == model_files.verify(model.path)
    assert model_files.read_metadata(model.path)["training_data"]["rows"] == 4000
    assert json.loads(run["metrics_json"])["roc_auc"] > 0.75
    curves = run["curves"].metadata
    assert len(curves["confusionMatrix"]["rows"]) == 2 and 2 <= len(curves["confidenceMetrics"]) <= 50
    assert "<svg" in Path(run["report"].path).read_text()
