import hashlib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.common import io
from components.common.io import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": ["a", "b", None], "x": [1.5, None, 3.0], "n": [1, 2, 3]})


def test_parquet_csv_and_folder_round_trip(tmp_path: Path, frame: pd.DataFrame):
    io.write_table(frame, str(tmp_path / "t.parquet"))
    io.write_table(frame, str(tmp_path / "t.csv"))
    io.write_table(frame, f"file://{tmp_path}/folder/part-0.parquet")
    io.write_table(frame, str(tmp_path / "folder" / "part-1.parquet"))

    pd.testing.assert_frame_equal(io.read_table(str(tmp_path / "t.parquet")), frame)
    pd.testing.assert_frame_equal(io.read_table(str(tmp_path / "t.csv")), frame)
    assert len(io.read_table(str(tmp_path / "folder"))) == 2 * len(frame)
    assert list(io.read_table(str(tmp_path / "t.parquet"), columns=["n"]).columns) == ["n"]


def test_parquet_without_suffix_is_detected_by_content(tmp_path: Path, frame: pd.DataFrame):
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "data")
    assert io.read_table(str(tmp_path / "data"))["n"].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"file is empty \(0 bytes\)"),
        (b"id,x\n1,2\n", "not a parquet file"),
        (b"PAR1garbage", "cannot be read"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        io.read_table(str(path))
    assert str(path) in str(error.value)


def test_missing_file_and_column(tmp_path: Path, frame: pd.DataFrame):
    with pytest.raises(DataError, match="file not found"):
        io.read_table(str(tmp_path / "nope.parquet"))
    io.write_table(frame, str(tmp_path / "t.csv"))
    with pytest.raises(DataError, match=r"column\(s\) missing not found"):
        io.read_table(str(tmp_path / "t.csv"), columns=["missing"])


def test_failed_write_leaves_nothing_behind(tmp_path: Path):
    target = tmp_path / "out" / "data.bin"
    io.write_bytes(str(target), b"old")
    with pytest.raises(RuntimeError), io.atomic_output(str(target)) as stream:
        stream.write(b"partial")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["data.bin"]


def test_sha256_streams_the_bytes(tmp_path: Path):
    data = bytes(range(256)) * 10_000
    (tmp_path / "f").write_bytes(data)
    assert io.sha256(str(tmp_path / "f")) == hashlib.sha256(data).hexdigest()


def test_json_errors_name_the_file(tmp_path: Path):
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(DataError, match=r"s\.json: not valid JSON"):
        io.read_json(str(tmp_path / "s.json"))
