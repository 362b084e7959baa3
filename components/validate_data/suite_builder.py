"""Build a starting suite from a clean reference table: one that larger samples of the same data pass.

A reference of n rows shows neither the rare values beyond its own extremes nor its rarest
categories, so each rule leaves room for them: numeric ranges are the reference's, widened by
`range_margin` of their span (never below 0 for a column with no negative values), and hold for
`mostly` = 1 - max(0.001, 10 / n) of the rows; category sets hold for the same share; columns with
nulls may have about twice the share seen. With n = 5,000 a value beyond the widened range has a
probability of the order of 1/n or less, far under the 0.2% allowed, so millions of rows of the same
distribution pass, while a broken feed (a share of impossible values, a new category for a few
percent of the rows, a missing column, another type) still fails.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from components.common.io import DataError

# dtype names Great Expectations accepts for each kind of column, so that the same suite holds for
# parquet and CSV readings and for int32/int64 alike.
TYPE_FAMILIES = {
    "integer": ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "Int64", "Int32"],
    "float": ["float16", "float32", "float64", "Float32", "Float64"],
    "boolean": ["bool", "boolean"],
    "datetime": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
    "string": ["object", "str", "string", "StringDtype"],
}


def _type_family(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "string"


def _expect(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": f"expect_{kind}", "kwargs": kwargs}


def tolerance(rows: int) -> float:
    """The share of rows that may fall outside a range or category set built from `rows` rows."""
    return max(0.001, 10 / rows)


def _column_expectations(
    series: pd.Series, family: str, max_categories: int, range_margin: float, is_label: bool
) -> list[dict[str, Any]]:
    column = str(series.name)
    rules = [_expect("column_to_exist", column=column)]
    rules.append(_expect("column_values_to_be_in_type_list", column=column, type_list=TYPE_FAMILIES[family]))
    null_share = float(series.isna().mean())
    if null_share == 0:
        rules.append(_expect("column_values_to_not_be_null", column=column))
    else:  # tolerate up to twice the nulls seen in the reference, plus one point
        mostly = max(0.0, math.floor((1 - 2 * null_share - 0.01) * 100) / 100)
        rules.append(_expect("column_values_to_not_be_null", column=column, mostly=mostly))
    values = series.dropna()
    distinct = values.unique()
    mostly = math.floor((1 - tolerance(len(series))) * 1000) / 1000
    if is_label:
        rules.append(
            _expect("column_values_to_be_in_set", column=column, value_set=sorted(distinct.tolist()))
        )
    elif family in ("string", "boolean") and len(distinct) <= max_categories:
        rules.append(
            _expect(
                "column_values_to_be_in_set",
                column=column,
                value_set=sorted(distinct.tolist()),
                mostly=mostly,
            )
        )
    elif family in ("integer", "float") and len(values):
        low, high = float(values.min()), float(values.max())
        margin = (high - low) * range_margin
        # a column that is never negative in the reference (counts, amounts) stays non-negative
        low, high = (low - margin if low < 0 else max(low - margin, 0.0)), high + margin
        if family == "integer":
            low, high = math.floor(low), math.ceil(high)
        rules.append(
            _expect(
                "column_values_to_be_between", column=column, min_value=low, max_value=high, mostly=mostly
            )
        )
    return rules


def build_suite(
    reference: pd.DataFrame,
    name: str,
    label: str = "",
    unique_columns: tuple[str, ...] = (),
    max_categories: int = 50,
    range_margin: float = 0.1,
) -> dict[str, Any]:
    """A starting suite from a clean reference frame: columns, types, null rules, ranges, category sets.

    See the module docstring for how each rule leaves room for larger samples; the `label` column is
    held to exactly the values it has. Review the result and commit it next to your pipeline.
    """
    if reference.empty:
        raise DataError(f"reference for suite '{name}' has no rows")
    expectations = [_expect("table_row_count_to_be_between", min_value=1)]
    for column in reference.columns:
        series = reference[column]
        family = _type_family(series)
        expectations += _column_expectations(series, family, max_categories, range_margin, column == label)
        if column in unique_columns:
            expectations.append(_expect("column_values_to_be_unique", column=str(column)))
    return {
        "name": name,
        "expectations": expectations,
        "meta": {"label": label, "built_by": "keel build_suite"},
    }
