"""Duplicated column names (CSV or parquet, a file or one file of a folder) fail with an error that
says so and names the column, on every reader path, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.batch_predict import core as scoring
from components.common import io, model_files
from components.common.io import DataError, TablePiece
from components.validate_data import core as validation
from tests import churn
from tests.reliability.builders import keel, model_folder, snapshot


def _csv(path: Path) -> str:
    path.write_text("customer_id,age,age,tenure_months\nC1,30,31,4\nC2,40,41,5\n")
    return str(path)


def _parquet(path: Path) -> str:
    columns = [pa.array(["C1", "C2"]), pa.array([30, 40]), pa.array([31, 41]), pa.array([4, 5])]
    pq.write_table(pa.table(columns, names=["customer_id", "age", "age", "tenure_months"]), path)
    return str(path)


def _folder(path: Path) -> str:
    """A folder whose first file is fine and whose second one has the duplicated column."""
    path.mkdir()
    pq.write_table(
        pa.table({"customer_id": ["C0"], "age": [20], "tenure_months": [3]}), path / "part-0.parquet"
    )
    _parquet(path / "part-1.parquet")
    return str(path)


TABLES = {"csv": (_csv, "t.csv"), "parquet": (_parquet, "t.parquet"), "folder": (_folder, "folder")}
READERS = {
    "read_table": lambda uri: io.read_table(uri),
    "read_arrow with columns": lambda uri: io.read_arrow(uri, columns=["customer_id"]),
    "open_dataset": lambda uri: io.open_dataset(uri).head(1),
    "table_pieces": lambda uri: io.table_pieces(uri),
    "iter_batches": lambda uri: [
        list(io.iter_batches(piece, ["customer_id", "tenure_months"], 10)) for piece in _pieces_unchecked(uri)
    ],
}


def _pieces_unchecked(uri: str) -> list[TablePiece]:
    """Pieces built by hand, as a caller holding an older plan would: iter_batches checks on its own."""
    path = Path(uri)
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return [TablePiece(str(file), None if file.suffix == ".csv" else 0, None) for file in files]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("table", TABLES)
def test_every_reader_names_the_duplicated_column(tmp_path: Path, table: str, reader: str):
    build, name = TABLES[table]
    uri = build(tmp_path / name)
    with pytest.raises(
        DataError,
        match=r"duplicated column name\(s\) 'age' \(2 times\); rule: every column needs its own name",
    ):
        READERS[reader](uri)


def test_validation_and_scoring_refuse_and_write_nothing(tmp_path: Path):
    data = _csv(tmp_path / "to_score.csv")
    with pytest.raises(DataError, match="'age' \\(2 times\\)"):
        validation.validate_table(data, validation.load_suite(churn.SUITE))
    model, metadata = model_files.load(model_folder(tmp_path / "model", rows=500))
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match="'age' \\(2 times\\)"):
        scoring.score_table(
            model, metadata, data, str(tmp_path / "out.parquet"), scoring.ScoringRun("churn", 1, "r")
        )
    assert snapshot(tmp_path) == before


def test_keel_run_validate_data_says_which_column(keel_home: Path, tmp_path: Path):
    data = _parquet(tmp_path / "customers.parquet")
    done = keel(
        "run", "validate_data", "--local", f"--param=data_uri={data}", f"--param=suite_uri={churn.SUITE}"
    )
    assert done.returncode == 1
    assert "duplicated column name(s) 'age' (2 times)" in done.stderr.strip().splitlines()[-1]
    assert not list((keel_home / "runs").rglob("report"))
