"""Train a model on a table: "choose your own framework".

The model is either a scikit-learn Pipeline (preprocessing of numeric and categorical columns, then
any scikit-learn-compatible estimator named by its import path), or whatever a user training
function `module:function` returns, for frameworks that are not scikit-learn-like.

The Pipeline holds only scikit-learn objects (and the estimator's), so Vertex AI's prebuilt
scikit-learn container can load its `model.joblib`. It accepts a DataFrame with the feature
columns (by name, in any order, extra columns ignored) or plain rows in `metadata["features"]`
order, which is what that container passes to `predict`.

Plain Python (no kfp): `train_table(uri, TrainingSpec(label="churned"))` from a notebook gives the
same model as the component; `run(uri, spec, folder)` also saves it, tracked, as the component does.
"""

from __future__ import annotations

import importlib
import inspect
import os
import platform
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from typing import Any

import numpy as np
import pandas as pd

from components.common import inputs, io, labels, model_files, parameters, prediction
from components.common.errors import ParameterError, parameter_error
from components.common.io import DataError
from components.common.logging import logger
from components.common.profile import reference_profile
from components.common.tracking import track

DEFAULT_ESTIMATOR = "sklearn.ensemble:HistGradientBoostingClassifier"
MAX_ONE_HOT_CATEGORIES = 50  # rarer categories of a column share one "infrequent" column
MISSING_CATEGORY = "(missing)"  # what a null (None or NaN) categorical value is encoded as


@dataclass(frozen=True)
class TrainingSpec:
    """What to train. `train_function`, when set, replaces `estimator`."""

    label: str
    estimator: str = DEFAULT_ESTIMATOR
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    train_function: str = ""
    id_columns: tuple[str, ...] = ()
    seed: int = 0


@dataclass
class TrainedModel:
    model: Any
    metadata: dict[str, Any]
    train_seconds: float
    profile: dict[str, Any] | None = None  # the reference profile that drift checks compare with
    tracking_id: str = ""  # the ClearML task id of the training run, once tracked (`run`)

    def metrics(self) -> dict[str, float]:
        return {
            "rows": self.metadata["training_data"]["rows"],
            "features": len(self.metadata["features"]),
            "classes": len(self.metadata["classes"]),
            "train_seconds": round(self.train_seconds, 3),
        }

    def summary(self) -> dict[str, Any]:
        """The key fields, mirrored onto the KFP Model artifact's metadata."""
        keys = ("framework", "estimator", "train_function", "task", "label", "sha256", "profile_sha256")
        return {key: self.metadata[key] for key in keys if key in self.metadata}


def import_object(path: str, what: str) -> Any:
    """The object named by `module:name` (or `module.name`); ParameterError naming `what` if there is none.

    Importing runs the module's top-level code, as any import does; nothing found in it is called here.
    """
    module_name, _, name = path.partition(":") if ":" in path else path.rpartition(".")
    if not module_name or not name:
        raise parameter_error(what, path, "expected an import path like 'package.module:Name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise parameter_error(what, path, f"cannot import module '{module_name}' ({error})") from None
    if not hasattr(module, name):
        raise parameter_error(what, path, f"module '{module_name}' has no attribute '{name}'")
    return getattr(module, name)


ESTIMATOR_METHODS = ("fit", "predict", "get_params")


def estimator_class(path: str) -> type:
    """The class at `path`, refused unless it is an estimator (a class with ESTIMATOR_METHODS, the
    scikit-learn API). Nothing is called before this holds; to run your own code, use `train_function`."""
    found = import_object(path, "estimator")
    rule = "rule: an estimator is a class with fit, predict and get_params (scikit-learn API); to run your own code, use train_function"
    if not inspect.isclass(found):
        raise parameter_error("estimator", path, f"is a {type(found).__name__}, not a class ({rule})")
    lacking = [method for method in ESTIMATOR_METHODS if inspect.getattr_static(found, method, None) is None]
    if lacking:
        raise parameter_error(
            "estimator", path, f"class {found.__name__} has no {', '.join(lacking)} ({rule})"
        )
    return found


def check_spec(spec: TrainingSpec) -> None:
    """Refuse a spec before any work: every parameter's rule, and an estimator that is not one."""
    chosen = {"train_function": spec.train_function} if spec.train_function else {"estimator": spec.estimator}
    parameters.check(
        {
            "label": spec.label,
            "hyperparameters": dict(spec.hyperparameters),
            "id_columns": list(spec.id_columns),
            "seed": spec.seed,
            **chosen,
        }
    )
    if spec.train_function:
        if not callable(import_object(spec.train_function, "train_function")):
            raise parameter_error("train_function", spec.train_function, "is not a function")
    else:
        estimator_class(spec.estimator)


def _feature_type(values: pd.Series) -> str | None:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return "numeric"
    if pd.api.types.is_object_dtype(values) or isinstance(values.dtype, pd.StringDtype | pd.CategoricalDtype):
        return "categorical"
    return None  # datetimes, durations and other types that need feature engineering first


def select_features(
    frame: pd.DataFrame, spec: TrainingSpec, source: str
) -> tuple[list[dict[str, str]], list[str]]:
    """The features (name, type, dtype) in column order, and the excluded columns: id columns and
    columns of other types than numeric and categorical (e.g. datetimes)."""
    missing = [column for column in spec.id_columns if column not in frame.columns]
    if missing:
        raise DataError(f"{source}: id column(s) {', '.join(missing)} not found")
    features, excluded = [], list(spec.id_columns)
    for column in frame.columns:
        if column == spec.label or column in spec.id_columns:
            continue
        kind = _feature_type(frame[column])
        if kind is None:
            excluded.append(column)
            continue
        if kind == "categorical" and len(frame) > MAX_ONE_HOT_CATEGORIES and frame[column].is_unique:
            logger.warning(
                "train_model: column '%s' is unique on every row; if it is an id, list it in id_columns",
                column,
            )
        features.append({"name": str(column), "type": kind, "dtype": str(frame[column].dtype)})
    if not features:
        raise DataError(
            f"{source}: no feature columns left besides the label and excluded columns {excluded}"
        )
    return features, excluded


def _as_array() -> Any:
    """A step that hands its input on as an array: the imputers then see DataFrames and plain rows alike."""
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(np.asarray, feature_names_out="one-to-one")


def build_preprocessor(features: list[dict[str, str]]) -> Any:
    """Per feature type: imputation, then scaling (numeric) or one-hot encoding that ignores unseen
    categories (categorical).

    Columns are selected by position for plain rows (in feature order) and by name for DataFrames.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [i for i, feature in enumerate(features) if feature["type"] == "numeric"]
    categorical = [i for i, feature in enumerate(features) if feature["type"] == "categorical"]
    numeric_steps = make_pipeline(_as_array(), SimpleImputer(strategy="median"), StandardScaler())
    categorical_steps = make_pipeline(
        _as_array(),
        SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),  # NaN
        SimpleImputer(missing_values=None, strategy="constant", fill_value=MISSING_CATEGORY),
        OneHotEncoder(handle_unknown="ignore", max_categories=MAX_ONE_HOT_CATEGORIES, sparse_output=False),
    )
    return ColumnTransformer(
        [("numeric", numeric_steps, numeric), ("categorical", categorical_steps, categorical)],
        sparse_threshold=0.0,
    )


def _estimator_task(estimator: Any) -> str | None:
    from sklearn.utils import get_tags

    try:
        kind = get_tags(estimator).estimator_type
    except AttributeError:  # not derived from sklearn's BaseEstimator
        kind = getattr(estimator, "_estimator_type", None)
    return {"classifier": labels.CLASSIFICATION, "regressor": labels.REGRESSION}.get(kind)


def _wants_integer(estimator_class: Any, name: str, value: float) -> bool:
    """Whether `value` (a whole-number float) must become an int: scikit-learn's declared parameter
    constraints refuse the float but accept the int; without constraints, the default is an int."""
    constraints = getattr(estimator_class, "_parameter_constraints", {}).get(name)
    if constraints is not None:
        from sklearn.utils._param_validation import make_constraint

        checks = [make_constraint(constraint) for constraint in constraints]

        def accepts(candidate: float | int) -> bool:
            return any(check.is_satisfied_by(candidate) for check in checks)

        return not accepts(value) and accepts(int(value))
    default = inspect.signature(estimator_class).parameters.get(name)
    return default is not None and type(default.default) is int


def restore_integers(estimator_class: Any, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters with whole-number floats turned back into ints where the estimator wants ints:
    KFP passes a dict parameter as JSON, where 2 arrives as 2.0."""
    return {
        name: int(value)
        if isinstance(value, float) and value.is_integer() and _wants_integer(estimator_class, name, value)
        else value
        for name, value in hyperparameters.items()
    }


def build_estimator(spec: TrainingSpec) -> Any:
    """The estimator named by `spec.estimator` with the hyperparameters, random_state = seed if it has one."""
    found = estimator_class(spec.estimator)
    try:
        estimator = found(**restore_integers(found, spec.hyperparameters))
    except TypeError as error:
        raise parameter_error(
            "hyperparameters", spec.hyperparameters, f"rejected by estimator '{spec.estimator}' ({error})"
        ) from None
    if "random_state" in estimator.get_params() and "random_state" not in spec.hyperparameters:
        estimator.set_params(random_state=spec.seed)
    return estimator


def _check_task(task: str, values: pd.Series, spec: TrainingSpec, source: str) -> None:
    distinct = values.unique().tolist()
    if len(distinct) < 2:
        raise DataError(
            f"{source}: label column '{spec.label}' has {len(distinct)} distinct value(s) {distinct}; "
            "rule: a model needs at least two"
        )
    label_task = labels.infer_task(values)
    if task == labels.CLASSIFICATION and label_task == labels.REGRESSION:
        raise DataError(
            f"{source}: label column '{spec.label}' is continuous ({values.nunique()} distinct numbers) but "
            f"'{spec.estimator}' is a classifier; use a regressor, e.g. sklearn.ensemble:HistGradientBoostingRegressor"
        )
    if task == labels.REGRESSION and not pd.api.types.is_numeric_dtype(values):
        raise DataError(
            f"{source}: label column '{spec.label}' is not numeric but '{spec.estimator}' is a regressor"
        )


def _fit_pipeline(
    features: list[dict[str, str]], x: pd.DataFrame, y: pd.Series, spec: TrainingSpec, source: str
) -> tuple[Any, str, str]:
    """The fitted Pipeline, the task and the estimator's module."""
    from sklearn.pipeline import Pipeline

    estimator = build_estimator(spec)
    task = _estimator_task(estimator) or labels.infer_task(y)
    _check_task(task, y, spec, source)
    model = Pipeline([("preprocess", build_preprocessor(features)), ("estimator", estimator)]).fit(x, y)
    return model, task, type(estimator).__module__


def _fit_function(x: pd.DataFrame, y: pd.Series, spec: TrainingSpec, source: str) -> tuple[Any, str, str]:
    """The model the training function returns, the task and the function's module."""
    function = import_object(spec.train_function, "train_function")
    task = labels.infer_task(y)
    _check_task(task, y, spec, source)
    model = function(x, y, dict(spec.hyperparameters), spec.seed)
    needed = ("predict", "predict_proba") if task == labels.CLASSIFICATION else ("predict",)
    lacking = [method for method in needed if not callable(getattr(model, method, None))]
    if lacking:
        raise ParameterError(
            f"train_function '{spec.train_function}' returned a {type(model).__name__} without {', '.join(lacking)}"
        )
    return model, task, function.__module__


def _library_versions(framework: str) -> dict[str, str]:
    import sklearn

    versions = {"python": platform.python_version(), "scikit-learn": sklearn.__version__}
    for distribution in packages_distributions().get(framework, []):
        try:
            versions[distribution] = version(distribution)
        except PackageNotFoundError:
            continue
    return versions


def train(
    frame: pd.DataFrame,
    spec: TrainingSpec,
    training_data: dict[str, Any] | None = None,
    source: str = "data",
    holdout: pd.DataFrame | None = None,
    suite_uri: str = "",
) -> TrainedModel:
    """Train on `frame` as `spec` says; `training_data` (uri, sha256, rows) goes into the metadata as is,
    and so does `suite_uri` (the suite the training data was validated with) as `training_suite_uri`:
    batch scoring validates with it when not given a suite of its own.

    The reference profile covers the features in `frame` and, given a `holdout` table (rows the
    model was not trained on), the model's scores on it; without one it has no score profile, since
    scores on the training rows are more confident than on new rows and would look like drift."""
    check_spec(spec)
    y = labels.label_values(frame, spec.label, source)
    features, excluded = select_features(frame, spec, source)
    x = frame[[feature["name"] for feature in features]]
    logger.info("train_model: %d features; excluded columns: %s", len(features), excluded or "none")
    started = time.perf_counter()
    if spec.train_function:
        model, task, module = _fit_function(x, y, spec, source)
    else:
        model, task, module = _fit_pipeline(features, x, y, spec, source)
    train_seconds = time.perf_counter() - started
    framework = module.split(".")[0]
    classes = getattr(model, "classes_", np.unique(y)) if task == labels.CLASSIFICATION else []
    metadata = {
        "framework": framework,
        "library_versions": _library_versions(framework),
        "estimator": "" if spec.train_function else spec.estimator,
        "train_function": spec.train_function,
        "hyperparameters": spec.hyperparameters,
        "seed": spec.seed,
        "label": spec.label,
        "task": task,
        "classes": np.asarray(classes).tolist(),
        "features": features,
        "excluded_columns": excluded,
        "training_data": training_data or {"uri": source, "sha256": "", "rows": len(frame)},
        "training_suite_uri": suite_uri,
        "created_at": datetime.now(UTC).isoformat(),
    }
    profile = reference_profile(frame, features, _holdout_scores(model, metadata, holdout))
    return TrainedModel(model, metadata, train_seconds, profile)


def _holdout_scores(model: Any, metadata: dict[str, Any], holdout: pd.DataFrame | None) -> np.ndarray | None:
    """The model's scores on the holdout rows, as batch scoring computes them."""
    if holdout is None:
        return None
    if holdout.empty:
        raise DataError(f"holdout of {metadata['training_data']['uri']}: no rows to profile the scores on")
    return prediction.predict(model, metadata, prediction.feature_frame(holdout, metadata, "holdout"))[1]


def recorded_suite_uri(uri: str) -> str:
    """How the training suite is recorded, to be read again by a later run elsewhere: its gs:// URI on
    Cloud Storage (a /gcs/ path included), an absolute path when local ("" when none)."""
    if not uri:
        return ""
    if uri.startswith("/gcs/"):  # Cloud Storage mounted in a Vertex AI task
        return "gs://" + uri.removeprefix("/gcs/")
    return uri if "://" in uri else os.path.abspath(uri)


def train_table(
    data_uri: str, spec: TrainingSpec, record_uri: str = "", holdout_uri: str = "", suite_uri: str = ""
) -> TrainedModel:
    """Read the table at `data_uri` and train on it; `record_uri` (default `data_uri`) is the URI recorded.
    The spec is checked before the table is read. The model's scores on the table at `holdout_uri`,
    if given, go into its reference profile; `suite_uri`, the suite the table was validated with, is
    recorded (`recorded_suite_uri`)."""
    check_spec(spec)
    frame = io.read_table(data_uri)
    if frame.empty:
        raise DataError(f"{data_uri}: no rows to train on")
    uri = record_uri or data_uri
    training_data = {"uri": uri, "sha256": inputs.fingerprint(data_uri), "rows": len(frame)}
    holdout = io.read_table(holdout_uri) if holdout_uri else None
    return train(
        frame, spec, training_data, source=uri, holdout=holdout, suite_uri=recorded_suite_uri(suite_uri)
    )


def save(trained: TrainedModel, folder: str) -> str:
    """Write the model folder (model.joblib, profile.json, metadata.json); returns, and records, the
    model file's sha256 (and the profile's)."""
    trained.metadata["sha256"] = model_files.save(trained.model, trained.metadata, folder, trained.profile)
    if trained.profile is not None:
        trained.metadata["profile_sha256"] = model_files.read_metadata(folder)["profile_sha256"]
    return trained.metadata["sha256"]


def run(
    data_uri: str,
    spec: TrainingSpec,
    model_folder: str,
    record_uri: str = "",
    holdout_uri: str = "",
    holdout_record_uri: str = "",
    data_fingerprint: str = "",
    suite_uri: str = "",
) -> TrainedModel:
    """The component's work, as a tracked run: `train_table` (the model's scores on the table at
    `holdout_uri`, if given, in its profile; `suite_uri` recorded as its training suite) and `save`
    the model into `model_folder`; the run's ClearML task id is the result's `tracking_id`.
    `record_uri` (default `data_uri`), `holdout_record_uri` (default `holdout_uri`) and
    `data_fingerprint` are recorded with the run."""
    params = {
        "data": record_uri or data_uri,
        "holdout": holdout_record_uri or holdout_uri,
        "suite_uri": suite_uri,
        **vars(spec),
        "data_fingerprint": data_fingerprint,
    }
    with track("train_model", params=params) as tracked:
        trained = train_table(
            data_uri, spec, record_uri=record_uri, holdout_uri=holdout_uri, suite_uri=suite_uri
        )
        save(trained, model_folder)
        trained.tracking_id = tracked.id
        tracked.log_metrics(trained.metrics())
        tracked.log_model(
            f"{model_folder}/{model_files.MODEL_FILE}",
            name="model",
            framework=trained.metadata["framework"],
            metadata=trained.metadata,
        )
    return trained
