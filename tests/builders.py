"""Test data shared by several test files."""

from __future__ import annotations

import pandas as pd

from components.common import sample_data

SHIFTED_FEATURE, CHANGED_FEATURE = sample_data.DRIFTED_FEATURES


def to_score(rows: int, seed: int) -> pd.DataFrame:
    """`rows` unlabelled customers from the training distribution."""
    return sample_data.generate(rows, seed=seed).drop(columns=[sample_data.LABEL])
