"""split_data: deterministic, stratified, order-keeping splits, and clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from components.common import io
from components.common.io import DataError
from components.split_data import core


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    from components.common.sample_data import sample_path

    return io.read_table(sample_path())


def test_split_is_stratified_disjoint_complete_and_keeps_row_order(sample):
    parts = core.split(sample, "churned", test_fraction=0.2, seed=0)

    assert parts.stratified
    assert parts.metrics() == {"train_rows": 4000, "test_rows": 1000}
    assert set(parts.train.customer_id).isdisjoint(parts.test.customer_id)
    assert len(set(parts.train.customer_id) | set(parts.test.customer_id)) == len(sample)
    assert parts.train.churned.mean() == pytest.approx(sample.churned.mean(), abs=0.002)
    assert parts.test.churned.mean() == pytest.approx(sample.churned.mean(), abs=0.002)
    assert parts.train.customer_id.is_monotonic_increasing and parts.test.customer_id.is_monotonic_increasing


def test_same_seed_same_split_other_seed_other_split(sample):
    first, again, other = (core.split(sample, "churned", seed=seed) for seed in (7, 7, 8))

    pd.testing.assert_frame_equal(first.test, again.test)
    assert not first.test.customer_id.equals(other.test.customer_id)


def test_continuous_label_is_split_without_stratification(sample):
    parts = core.split(sample, "tenure_months", test_fraction=0.25)

    assert not parts.stratified
    assert parts.metrics() == {"train_rows": 3750, "test_rows": 1250}


def test_split_table_writes_parquet_parts(sample_uri, tmp_path):
    parts = core.split_table(sample_uri, "churned")
    core.write(parts, str(tmp_path / "train"), str(tmp_path / "test"))

    assert (tmp_path / "train").read_bytes()[:4] == b"PAR1"
    pd.testing.assert_frame_equal(io.read_table(str(tmp_path / "test")), parts.test.reset_index(drop=True))


def test_missing_label_names_file_and_column(sample_uri):
    with pytest.raises(DataError, match=r"churn\.parquet: label column 'churn' not found"):
        core.split_table(sample_uri, "churn")


def test_label_with_nulls_is_refused(sample):
    with pytest.raises(DataError, match=r"label column 'monthly_charges' has \d+ null values"):
        core.split(sample, "monthly_charges")


@pytest.mark.parametrize("fraction", [0, 1, 1.5])
def test_test_fraction_must_be_a_share(sample, fraction):
    with pytest.raises(
        ValueError, match=f"parameter 'test_fraction' = {fraction}: must be a number between 0 and 1"
    ):
        core.split(sample, "churned", test_fraction=fraction)
