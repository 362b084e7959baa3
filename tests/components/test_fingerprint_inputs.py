"""fingerprint_inputs: the fingerprints of a run's table, suite and registry model, and the table as
a Dataset artifact for lineage (tests/common/test_fingerprints.py covers how each is computed)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.common import fingerprints, io, model_files, sample_data
from components.common.io import DataError
from components.common.registry import open_registry
from components.fingerprint_inputs import core


@pytest.fixture
def table(tmp_path: Path) -> str:
    """500 rows in parquet row groups of 200."""
    path = tmp_path / "customers.parquet"
    frame = sample_data.generate(500)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=200)
    return str(path)


@pytest.fixture
def registry_uri(tmp_path: Path) -> str:
    registry = open_registry(str(tmp_path / "registry"))
    model_files.save({"weight": 1.0}, {"framework": "test"}, str(tmp_path / "model"))
    registry.promote("churn", registry.register("churn", str(tmp_path / "model")).version)
    return registry.uri


def test_fingerprints_each_input_given_and_counts_parquet_rows(table: str, registry_uri: str, tmp_path: Path):
    suite = tmp_path / "suite.json"
    suite.write_text('{"expectations": []}')

    found = core.fingerprint_inputs(table, str(suite), registry_uri, "churn")

    assert found.data == fingerprints.of_uri(table) == io.sha256(table)
    assert found.suite == io.sha256(str(suite))
    assert found.registry == fingerprints.of_registry(open_registry(registry_uri), "churn")
    assert (found.data_uri, found.data_rows) == (table, 500)
    assert found.dataset_metadata() == {"fingerprint": found.data, "rows": 500}


def test_inputs_not_given_have_empty_fingerprints(table: str, keel_home: Path):
    found = core.fingerprint_inputs(data_uri=table)
    assert (found.suite, found.registry) == ("", "")
    assert not (keel_home / "registry").exists()  # nothing opened, nothing created

    nothing = core.fingerprint_inputs()
    assert (nothing.data, nothing.data_uri, nothing.data_rows) == ("", "", None)


def test_csv_and_unreadable_tables_have_no_row_count_and_missing_ones_fail(tmp_path: Path):
    csv = tmp_path / "customers.csv"
    io.write_table(sample_data.generate(50), str(csv))
    assert core.fingerprint_inputs(str(csv)).data_rows is None
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not a table")  # validation, not this step, says what is wrong with it
    assert core.fingerprint_inputs(str(junk)).data_rows is None

    with pytest.raises(DataError, match="missing.parquet: no such file or folder"):
        core.fingerprint_inputs(str(tmp_path / "missing.parquet"))


def test_recorded_uri_names_cloud_storage_by_gs_uri():
    assert core.recorded_uri("/gcs/bucket/data/t.parquet") == "gs://bucket/data/t.parquet"
    assert core.recorded_uri("gs://bucket/t.parquet") == "gs://bucket/t.parquet"
    assert core.recorded_uri("file:///data/t.parquet") == "/data/t.parquet"


def test_component_runs_locally_and_outputs_the_table_as_a_dataset(
    kfp_local: Path, table: str, registry_uri: str
):
    from components import fingerprint_inputs

    task = fingerprint_inputs(data_uri=table, registry_uri=registry_uri, model_name="churn")

    assert task.outputs["data_fingerprint"] == io.sha256(table)
    assert task.outputs["suite_fingerprint"] == ""
    assert task.outputs["registry_fingerprint"] == fingerprints.of_registry(
        open_registry(registry_uri), "churn"
    )
    data = task.outputs["data"]
    assert (data.uri, data.path) == (table, table)
    assert data.metadata == {"fingerprint": io.sha256(table), "rows": 500}
