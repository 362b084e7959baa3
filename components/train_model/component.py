"""KFP interface of train_model; the work is in `core`."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from components.external_state import external_state
from components.images import image


@external_state(reads={"data_uri": "data_fingerprint"})
@dsl.component(base_image=image("train_model"), install_kfp_package=False)
def train_model(
    model: Output[Model],
    metrics: Output[Metrics],
    label: str,
    data: Input[Dataset] = None,
    data_uri: str = "",
    holdout: Input[Dataset] = None,
    estimator: str = "sklearn.ensemble:HistGradientBoostingClassifier",
    hyperparameters: dict = None,
    train_function: str = "",
    id_columns: list = None,
    seed: int = 0,
    data_fingerprint: str = "",
    suite_uri: str = "",
):
    """Trains a model on a table, with the framework of your choice.

    Every column except the label, the id columns and non-numeric, non-categorical columns (e.g.
    datetimes) is a feature. With `estimator`, the model is a scikit-learn Pipeline: numeric features
    are imputed (median) and scaled, categorical ones imputed and one-hot encoded (unseen categories
    ignored), then the estimator is fitted. The task is classification for a bool, string or
    few-valued integral label and regression for a continuous one. Training is deterministic given
    `seed`. Bad input fails with a message naming the file, column and rule.

    Args:
        label: The label column. It must be set on every row and have at least two values.
        data: The training table, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The training table, as a local path, /gcs/ path or gs:// URI.
        holdout: Rows the model is not trained on (e.g. split_data's `test`): the model's scores
            on them become the score reference that batch scoring's drift check compares with.
            Without it, the model's profile has no score reference (features only).
        estimator: The import path of a scikit-learn-compatible estimator class, as `module:Class`
            (or `module.Class`), e.g. `sklearn.linear_model:LogisticRegression`,
            `sklearn.ensemble:HistGradientBoostingRegressor` (regression) or `lightgbm:LGBMClassifier`
            (when installed in the image). Anything but a class with fit, predict and get_params is
            refused before it is called.
        hyperparameters: Keyword arguments of the estimator class (or of `train_function`).
            `random_state` defaults to `seed` when the estimator has one.
        train_function: For frameworks that are not scikit-learn-like: `module:function`, called as
            `function(features, labels, hyperparameters, seed)` with the feature columns as a
            DataFrame and the labels as a Series. It returns the model: an object with `predict`
            (and `predict_proba` for classification, columns in sorted class order unless it has
            `classes_`) that accepts such a DataFrame; its class must be importable where the model
            is loaded. When set, `estimator` is ignored and no preprocessing is added.
        id_columns: Columns that identify rows and are not features, e.g. `["customer_id"]`.
        seed: The random seed of the estimator or training function.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content; recorded with the run.
        suite_uri: The expectation suite the training data was validated with: recorded in the
            model's metadata as `training_suite_uri` (gs:// or an absolute path), which batch
            scoring validates with when it is given no suite. Not read here.

    Returns:
        model: A folder with `model.joblib` (loadable by Vertex AI's prebuilt scikit-learn container
            when the estimator is scikit-learn's: it accepts rows in feature order as well as
            DataFrames), `profile.json` (the reference profile for drift checks: per feature, bins
            and counts of the training data; the score distribution on `holdout`) and
            `metadata.json`: framework and library versions, estimator or training function,
            hyperparameters, seed, label, task, classes, features (name and type, in order),
            excluded columns, training data URI, sha256 and rows, the training suite's URI
            (`training_suite_uri`, "" when none was given), creation time, and the sha256 of
            model.joblib and of profile.json. The artifact's metadata repeats framework, estimator,
            train_function, task, label, sha256 and profile_sha256.
        metrics: rows, features, classes (0 for regression), train_seconds.
    """
    from components.common.inputs import table_source
    from components.train_model import core

    path, uri = table_source(data, data_uri, "train_model")
    holdout_path, holdout_uri = table_source(holdout, "", "train_model", required=False)
    trained = core.run(
        path,
        core.TrainingSpec(
            label, estimator, hyperparameters or {}, train_function, tuple(id_columns or ()), seed
        ),
        model.path,
        record_uri=uri,
        holdout_uri=holdout_path,
        holdout_record_uri=holdout_uri,
        data_fingerprint=data_fingerprint,
        suite_uri=suite_uri,
    )
    model.metadata.update(trained.summary() | {"tracking_id": trained.tracking_id})
    for name, value in trained.metrics().items():
        metrics.log_metric(name, value)
