from pathlib import Path

import pandas as pd
import pytest

from components.common import io, sample_data


def test_generation_is_deterministic_and_realistic():
    frame = sample_data.generate(2_000, seed=3)
    pd.testing.assert_frame_equal(frame, sample_data.generate(2_000, seed=3))
    assert not frame.equals(sample_data.generate(2_000, seed=4))
    assert frame["customer_id"].is_unique
    assert set(frame[sample_data.LABEL].unique()) == {0, 1}
    assert 0.2 < frame[sample_data.LABEL].mean() < 0.5
    assert frame["monthly_charges"].isna().any() and frame["payment_method"].isna().any()
    assert frame["snapshot_time"].dtype.kind == "M"


def test_bundled_copy_is_the_generator_output():
    pd.testing.assert_frame_equal(
        io.read_table(sample_data.sample_path()), sample_data.generate(5_000, seed=0)
    )


def test_large_files_are_written_in_chunks_that_add_up(tmp_path: Path):
    path = str(tmp_path / "big.parquet")
    sample_data.write(path, rows=2_500, chunk_rows=1_000)
    written = io.read_table(path)
    assert len(written) == 2_500 and written["customer_id"].is_unique
    pd.testing.assert_frame_equal(
        written.iloc[1_000:2_000].reset_index(drop=True), sample_data.generate(1_000, 0, 1_000)
    )


@pytest.mark.parametrize("variant", sample_data.BROKEN_VARIANTS)
def test_broken_variants_differ_from_clean_data(tmp_path: Path, variant: str):
    path = str(tmp_path / f"{variant}.parquet")
    sample_data.write_broken(variant, path)
    if variant == "empty_file":
        assert Path(path).stat().st_size == 0
    else:
        assert not io.read_table(path).equals(sample_data.generate(500))


def test_drifted_data_changes_only_its_two_features_within_their_ranges(tmp_path: Path):
    clean = sample_data.generate(3_000, seed=2)
    path = str(tmp_path / "drifted.parquet")
    sample_data.write(path, rows=3_000, seed=2, drift=True)
    shifted = io.read_table(path)
    changed = [column for column in clean.columns if not clean[column].equals(shifted[column])]
    assert changed == list(sample_data.DRIFTED_FEATURES)
    assert shifted["monthly_charges"].dropna().between(10, 200).all()
    assert shifted["monthly_charges"].mean() > clean["monthly_charges"].mean() + 20
    assert set(shifted["contract_type"]) == set(sample_data.CONTRACTS)
    share = (shifted["contract_type"] == "month-to-month").mean()
    assert 0.5 * share < (clean["contract_type"] == "month-to-month").mean() - share
