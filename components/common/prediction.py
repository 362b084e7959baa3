"""Predictions from a model folder's model, shared by evaluation, model resolution and scoring.

`score` is the positive-class probability for a binary classifier, the top-class probability
for a multi-class one, and the prediction itself for a regressor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.common.errors import KeelError
from components.common.io import DataError
from components.common.labels import CLASSIFICATION


class SmokeTestError(KeelError, RuntimeError):
    """A model that loads but does not predict sensibly on real input rows."""


def feature_frame(frame: pd.DataFrame, metadata: dict[str, Any], source: str) -> pd.DataFrame:
    """The model's feature columns of `frame`, in training order; DataError naming any missing one."""
    features = [feature["name"] for feature in metadata["features"]]
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise DataError(f"{source}: feature column(s) {', '.join(missing)} of the model not found")
    return frame[features]


def predict(model: Any, metadata: dict[str, Any], features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, score) for each row of `features`."""
    if metadata.get("task") != CLASSIFICATION:
        prediction = np.asarray(model.predict(features))
        return prediction, prediction.astype(float)
    probabilities = np.asarray(model.predict_proba(features), dtype=float)
    classes = getattr(model, "classes_", None)
    # A scikit-learn classifier predicts the most probable class: no second pass over the rows.
    prediction = (
        np.asarray(classes)[probabilities.argmax(axis=1)] if classes is not None else model.predict(features)
    )
    score = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities.max(axis=1)
    return np.asarray(prediction), score


def smoke_test(model: Any, metadata: dict[str, Any], sample: pd.DataFrame, source: str) -> None:
    """Predict on `sample` rows; SmokeTestError unless every row gets a finite, in-range score."""
    try:
        prediction, score = predict(model, metadata, feature_frame(sample, metadata, source))
    except DataError:
        raise
    except Exception as error:
        raise SmokeTestError(f"prediction on {len(sample)} sample rows failed: {error}") from error
    if len(prediction) != len(sample) or len(score) != len(sample):
        raise SmokeTestError(f"{len(sample)} sample rows gave {len(prediction)} predictions")
    if not np.isfinite(score).all():
        raise SmokeTestError(
            f"{int((~np.isfinite(score)).sum())} of {len(sample)} sample scores are not finite"
        )
    if metadata.get("task") == CLASSIFICATION and ((score < 0) | (score > 1)).any():
        raise SmokeTestError("sample scores fall outside [0, 1]")
