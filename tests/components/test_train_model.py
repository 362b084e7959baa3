"""train_model: the model learns, serves DataFrames and plain rows, is deterministic and self-describing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from components.common import io, model_files
from components.common.io import DataError
from components.split_data.core import split
from components.train_model import core

ID_COLUMNS = ("customer_id",)


@pytest.fixture(scope="module")
def parts():
    from components.common.sample_data import sample_path

    return split(io.read_table(sample_path()), "churned", seed=0)


@pytest.fixture(scope="module")
def churn_model(parts) -> core.TrainedModel:
    return core.train(parts.train, core.TrainingSpec("churned", id_columns=ID_COLUMNS))


def _rows(frame: pd.DataFrame, metadata: dict) -> list[list]:
    """Plain rows in feature order, nulls as None: what Vertex AI's prebuilt container receives."""
    features = frame[[feature["name"] for feature in metadata["features"]]].astype(object)
    return features.where(features.notna(), None).to_numpy().tolist()


def test_default_model_learns_churn(parts, churn_model):
    score = churn_model.model.predict_proba(parts.test)[:, 1]

    assert roc_auc_score(parts.test.churned, score) > 0.75


@pytest.mark.filterwarnings("error")  # e.g. sklearn's "X does not have valid feature names"
def test_model_accepts_dataframes_in_any_column_order_and_plain_rows(parts, churn_model):
    model, rows = churn_model.model, _rows(parts.test, churn_model.metadata)
    expected = model.predict_proba(parts.test)

    assert any(None in row for row in rows)  # nulls in categorical columns
    np.testing.assert_array_equal(model.predict_proba(parts.test[parts.test.columns[::-1]]), expected)
    np.testing.assert_array_equal(model.predict_proba(rows), expected)
    np.testing.assert_array_equal(model.predict_proba(np.asarray(rows, dtype=object)), expected)
    with_nan = [[np.nan if value is None else value for value in row] for row in rows]
    np.testing.assert_array_equal(model.predict_proba(with_nan), expected)  # None and NaN: both missing
    unseen = [[30, 5, 50.0, 1, "weekly", None, "mars"]]
    assert model.predict(unseen)[0] in (0, 1)


def test_saved_model_loads_and_predicts_without_this_package(parts, churn_model, tmp_path):
    """Vertex AI's prebuilt scikit-learn container has scikit-learn but not keel-pipelines."""
    core.save(churn_model, str(tmp_path))
    rows = _rows(parts.test.head(50), churn_model.metadata)
    script = (
        "import json, sys, joblib; sys.modules['components'] = None; "
        f"model = joblib.load({str(tmp_path / model_files.MODEL_FILE)!r}); "
        "print(json.dumps(model.predict(json.loads(sys.stdin.read())).tolist()))"
    )
    served = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(rows), capture_output=True, text=True, check=True
    )

    assert json.loads(served.stdout) == churn_model.model.predict(parts.test.head(50)).tolist()
    model, metadata = model_files.load(str(tmp_path))
    assert metadata["sha256"] == churn_model.metadata["sha256"] == io.sha256(str(tmp_path / "model.joblib"))


def test_train_table_records_what_the_model_is_and_was_trained_on(sample_uri):
    spec = core.TrainingSpec(
        "churned", "sklearn.tree:DecisionTreeClassifier", {"max_depth": 5}, id_columns=ID_COLUMNS, seed=3
    )
    trained = core.train_table(sample_uri, spec)
    metadata = trained.metadata

    assert metadata["framework"] == "sklearn"
    assert set(metadata["library_versions"]) == {"python", "scikit-learn"}
    assert (metadata["estimator"], metadata["train_function"]) == ("sklearn.tree:DecisionTreeClassifier", "")
    assert (metadata["hyperparameters"], metadata["seed"]) == ({"max_depth": 5}, 3)
    assert (metadata["label"], metadata["task"], metadata["classes"]) == ("churned", "classification", [0, 1])
    assert [(f["name"], f["type"]) for f in metadata["features"]] == [
        ("age", "numeric"),
        ("tenure_months", "numeric"),
        ("monthly_charges", "numeric"),
        ("support_calls", "numeric"),
        ("contract_type", "categorical"),
        ("payment_method", "categorical"),
        ("region", "categorical"),
    ]
    assert metadata["excluded_columns"] == ["customer_id", "snapshot_time"]
    assert metadata["training_data"] == {"uri": sample_uri, "sha256": io.sha256(sample_uri), "rows": 5000}
    assert metadata["created_at"]
    assert trained.metrics() | {"train_seconds": 0} == {
        "rows": 5000,
        "features": 7,
        "classes": 2,
        "train_seconds": 0,
    }
    # Its reference profile: every feature, no scores (no holdout: in-sample scores would mislead).
    assert [f["name"] for f in trained.profile["features"]] == [f["name"] for f in metadata["features"]]
    assert trained.profile["rows"] == 5000 and trained.profile["score"] is None


def test_a_holdout_profiles_the_scores_and_the_profile_is_saved_and_summarised(parts, tmp_path):
    spec = core.TrainingSpec("churned", "sklearn.linear_model:LogisticRegression", id_columns=ID_COLUMNS)
    trained = core.train(parts.train, spec, holdout=parts.test)
    score = trained.profile["score"]
    assert sum(score["counts"]) == len(parts.test) and score["nulls"] == 0 and len(score["edges"]) == 11

    core.save(trained, str(tmp_path / "model"))
    assert trained.summary()["profile_sha256"] == io.sha256(
        str(tmp_path / "model" / model_files.PROFILE_FILE)
    )
    assert model_files.load_profile(str(tmp_path / "model")) == json.loads(json.dumps(trained.profile))
    with pytest.raises(DataError, match="holdout of data: no rows to profile the scores on"):
        core.train(parts.train, spec, holdout=parts.test.head(0))


def test_same_seed_same_predictions_other_seed_other_predictions(parts):
    def predictions(seed: int) -> np.ndarray:
        spec = core.TrainingSpec(
            "churned",
            "sklearn.ensemble:RandomForestClassifier",
            {"n_estimators": 20},
            id_columns=ID_COLUMNS,
            seed=seed,
        )
        return core.train(parts.train, spec).model.predict_proba(parts.test)

    first, again, other = predictions(3), predictions(3), predictions(4)

    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_continuous_label_trains_a_regressor(parts):
    spec = core.TrainingSpec(
        "tenure_months", "sklearn.ensemble:HistGradientBoostingRegressor", id_columns=ID_COLUMNS
    )
    trained = core.train(parts.train, spec)

    assert (trained.metadata["task"], trained.metadata["classes"]) == ("regression", [])
    assert r2_score(parts.test.tenure_months, trained.model.predict(parts.test)) > 0.3


def test_custom_train_function(parts, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    trained = core.train(parts.train, core.TrainingSpec("churned", train_function="custom_framework:train"))
    metadata = trained.metadata

    assert (metadata["framework"], metadata["estimator"]) == ("custom_framework", "")
    assert metadata["train_function"] == "custom_framework:train"
    assert roc_auc_score(parts.test.churned, trained.model.predict_proba(parts.test)[:, 1]) > 0.7


def test_train_function_must_return_a_model(parts, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    spec = core.TrainingSpec("churned", train_function="custom_framework:not_a_model")

    with pytest.raises(ValueError, match="returned a object without predict, predict_proba"):
        core.train(parts.train, spec)


def test_missing_label_names_file_and_column(sample_uri):
    with pytest.raises(DataError, match=r"churn\.parquet: label column 'churn' not found"):
        core.train_table(sample_uri, core.TrainingSpec("churn"))


def test_single_class_label_is_refused(parts):
    frame = parts.train.assign(churned=0)

    with pytest.raises(
        DataError,
        match=r"train\.parquet: label column 'churned' has 1 distinct value\(s\) \[0\]; rule: a model needs at least two",
    ):
        core.train(frame, core.TrainingSpec("churned", id_columns=ID_COLUMNS), source="train.parquet")


def test_classifier_on_a_continuous_label_is_refused(parts):
    with pytest.raises(DataError, match="'tenure_months' is continuous .* use a regressor"):
        core.train(parts.train, core.TrainingSpec("tenure_months", id_columns=ID_COLUMNS))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"estimator": "sklearn.nothing:Model"}, "cannot import module 'sklearn.nothing'"),
        (
            {"estimator": "sklearn.ensemble:NoSuchForest"},
            "module 'sklearn.ensemble' has no attribute 'NoSuchForest'",
        ),
        ({"estimator": "HistGradientBoostingClassifier"}, "expected an import path"),
        ({"hyperparameters": {"depth": 3}}, "'hyperparameters' = {'depth': 3}: rejected by estimator"),
        ({"id_columns": ("cust_id",)}, r"id column\(s\) cust_id not found"),
    ],
)
def test_bad_specs_are_refused_clearly(parts, changes, message):
    spec = core.TrainingSpec("churned", **changes)

    with pytest.raises(ValueError, match=message):
        core.train(parts.train, spec)


def test_whole_number_hyperparameters_from_kfp_json_become_ints_only_where_meant():
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    from components.train_model.core import restore_integers

    # KFP passes dict parameters as JSON: 2 arrives as 2.0.
    assert restore_integers(HistGradientBoostingClassifier, {"max_depth": 2.0, "learning_rate": 1.0}) == {
        "max_depth": 2,
        "learning_rate": 1.0,
    }
    restored = restore_integers(RandomForestClassifier, {"max_features": 1.0, "min_samples_split": 4.0})
    assert restored == {"max_features": 1.0, "min_samples_split": 4}  # 1.0 means "all features"
    assert type(restored["max_features"]) is float and type(restored["min_samples_split"]) is int
