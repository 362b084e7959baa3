"""A prediction request's rows as the model's feature frame, typed as in training.

A request is `{"instances": [...]}`; each row is an object keyed by feature name (other keys are
ignored, like the other columns of a table to score) or a list of the values in the model's feature
order. A numeric feature takes a number or null, a categorical one a string or null; null is a
missing value, which the model handles as it does in batch scoring. Anything else is a RequestError
naming the row, the field and the rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from components.common.errors import KeelError

MAX_ROWS = 10_000


class RequestError(KeelError, ValueError):
    """A request the model cannot answer as sent: the HTTP 400 of the server."""


def _instances(body: Any) -> list:
    if not isinstance(body, dict) or "instances" not in body:
        raise RequestError('the request body must be a JSON object {"instances": [row, ...]}')
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
        raise RequestError('"instances" must be a non-empty list of rows')
    if len(rows) > MAX_ROWS:
        raise RequestError(f'"instances" holds {len(rows)} rows; at most {MAX_ROWS} per request')
    return rows


def _row_values(row: Any, index: int, names: list[str]) -> list:
    if isinstance(row, dict):
        missing = [name for name in names if name not in row]
        if missing:
            raise RequestError(f"instances[{index}]: feature {missing[0]!r} is missing")
        return [row[name] for name in names]
    if isinstance(row, list):
        if len(row) != len(names):
            raise RequestError(
                f"instances[{index}]: {len(row)} values, but the model takes {len(names)} features "
                f"in this order: {', '.join(names)}"
            )
        return row
    raise RequestError(f"instances[{index}]: a row must be an object (by feature name) or a list")


def _is_number(value: Any) -> bool:
    """A finite number that fits a float64 or int64 column (JSON's integers have no bound)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and (isinstance(value, float) or abs(value) < 2**63)


def _check_value(value: Any, index: int, feature: dict[str, Any]) -> None:
    if value is None:
        return
    name, kind = feature["name"], feature["type"]
    if kind == "categorical":
        if not isinstance(value, str):
            raise RequestError(
                f"instances[{index}].{name}: {value!r} is not a string (a categorical feature)"
            )
    elif feature.get("dtype") == "bool":
        if not isinstance(value, bool):
            raise RequestError(
                f"instances[{index}].{name}: {value!r} is not true or false (a boolean feature)"
            )
    elif not _is_number(value):
        raise RequestError(f"instances[{index}].{name}: {value!r} is not a finite number (a numeric feature)")


def _column(values: list, feature: dict[str, Any]) -> pd.Series | np.ndarray:
    """The values with the training column's dtype where they fit it (integers stay integers)."""
    if feature["type"] == "categorical":
        return np.array(values, dtype=object)
    if None in values:
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    dtype = np.dtype(feature.get("dtype") or "float64")
    column = np.array(values)
    if dtype.kind in "iu" and column.dtype.kind == "f":  # 3.5 for an integer feature: keep the fraction
        return column.astype(float)
    return column.astype(dtype)


def rows(body: Any, metadata: dict[str, Any]) -> list[list]:
    """The request's rows as lists of feature values in training order; RequestError naming the row,
    field and rule for anything the model cannot take."""
    features = metadata["features"]
    names = [feature["name"] for feature in features]
    values = [_row_values(row, index, names) for index, row in enumerate(_instances(body))]
    for index, row in enumerate(values):
        for value, feature in zip(row, features, strict=True):
            _check_value(value, index, feature)
    return values


def frame(rows: list[list], metadata: dict[str, Any]) -> pd.DataFrame:
    """Checked rows (see `rows`) as the model's feature frame, typed as in training."""
    features = metadata["features"]
    columns = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            feature["name"]: _column(list(values), feature)
            for values, feature in zip(columns, features, strict=True)
        },
        copy=False,  # new arrays: not copied again into one block (half the time of a small frame)
    )


def feature_frame(body: Any, metadata: dict[str, Any]) -> pd.DataFrame:
    """A request body as the model's feature frame (`rows`, then `frame`)."""
    return frame(rows(body, metadata), metadata)
