"""The label column: present and set on every row, and the task it implies.

One rule, shared by splitting (stratify or not), training (which kind of model) and evaluation.
"""

from __future__ import annotations

import pandas as pd

from components.common.io import DataError

CLASSIFICATION = "classification"
REGRESSION = "regression"
MAX_CLASSES = 20  # an integral label with more distinct values than this is a quantity, not a class


def label_values(frame: pd.DataFrame, label: str, source: str) -> pd.Series:
    """The `label` column of `frame`; DataError naming `source` if it is missing or has nulls."""
    if label not in frame.columns:
        raise DataError(
            f"{source}: label column '{label}' not found (columns: {', '.join(map(str, frame.columns))})"
        )
    values = frame[label]
    nulls = int(values.isna().sum())
    if nulls:
        raise DataError(
            f"{source}: label column '{label}' has {nulls} null values (rule: every row needs a label)"
        )
    return values


def infer_task(values: pd.Series) -> str:
    """`classification` for bool, string and categorical labels, and for integral numbers with at most
    MAX_CLASSES distinct values; `regression` for every other number (continuous or many-valued)."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return CLASSIFICATION
    integral = bool((values.dropna() % 1 == 0).all())
    return CLASSIFICATION if integral and values.nunique() <= MAX_CLASSES else REGRESSION
