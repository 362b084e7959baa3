"""Test data shared by several test files."""

from __future__ import annotations

import json

import pandas as pd

from components.common import sample_data

SHIFTED_FEATURE, CHANGED_FEATURE = sample_data.DRIFTED_FEATURES


def to_score(rows: int, seed: int) -> pd.DataFrame:
    """`rows` unlabelled customers from the training distribution."""
    return sample_data.generate(rows, seed=seed).drop(columns=[sample_data.LABEL])


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as the JSON objects of a prediction request: missing values as null."""
    return json.loads(frame.to_json(orient="records", double_precision=15))
