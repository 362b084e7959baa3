"""`components.common.io` on gs:// URIs: pyarrow's GcsFileSystem (google-cloud-cpp over REST)
against the loopback Cloud Storage fake, selected with STORAGE_EMULATOR_HOST.

The io calls run in a worker process, the fake in this one: pyarrow reads `NativeFile.closed`
with the GIL held, and on a GCS random-access file that lazily sends the first download request,
which a fake served by threads of the same interpreter could never answer.
"""

from __future__ import annotations

import hashlib
import io as _bytes_io
import multiprocessing
import os
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq
import pytest

from components.common import io, model_files
from components.common.io import DataError, TablePiece
from components.common.model_files import ModelIntegrityError
from tests.fakes.gcs_api import FakeCloudStorage
from tests.fakes.vertex_api import FakeVertexAPI

BUCKET = "keel-data"
ROOT = f"gs://{BUCKET}"


# -- run in the worker process (module-level, so they can be sent there) ---------------------------
def _worker_init(endpoint: str) -> None:
    os.environ["STORAGE_EMULATOR_HOST"] = endpoint
    from components.common import network_guard

    network_guard.install_if_requested()


def _write_then_fail(uri: str, data: bytes) -> None:
    with io.atomic_output(uri) as stream:
        stream.write(data)
        raise RuntimeError("the writer failed half way")


def _file_type(uri: str) -> pa_fs.FileType:
    fs, path = io.filesystem(uri)
    return fs.get_file_info(path).type


def _read_pieces(
    uri: str, columns: list[str], batch_rows: int
) -> tuple[list[TablePiece], list[pa.RecordBatch]]:
    pieces = io.table_pieces(uri)
    return pieces, [batch for piece in pieces for batch in io.iter_batches(piece, columns, batch_rows)]


# -- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api() -> Iterator[FakeVertexAPI]:
    with FakeVertexAPI() as fake:
        yield fake


@pytest.fixture(scope="module")
def worker(api: FakeVertexAPI) -> Iterator[Any]:
    pool = multiprocessing.get_context("spawn").Pool(1, _worker_init, (api.endpoint,))
    yield pool
    pool.terminate()
    pool.join()


@pytest.fixture(scope="module")
def gcs(api: FakeVertexAPI) -> FakeCloudStorage:
    return FakeCloudStorage(api, BUCKET)


@pytest.fixture
def storage(gcs: FakeCloudStorage, api: FakeVertexAPI) -> FakeCloudStorage:
    """The fake Cloud Storage with one empty bucket; the request log starts empty."""
    gcs.objects.clear()
    gcs.uploads.clear()
    api.requests.clear()
    return gcs


@pytest.fixture
def run(worker: Any, storage: FakeCloudStorage):
    """`run(function, *args)`: call it in the worker process (its exceptions are raised here)."""

    def call(function, *args):
        return worker.apply_async(function, args).get(timeout=60)

    return call


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"id": ["a", "b", None], "x": [1.5, None, 3.0], "n": [1, 2, 3]})


def _data(storage: FakeCloudStorage, name: str) -> bytes:
    return storage.objects[BUCKET, name][1]


# -- tests -------------------------------------------------------------------------------------------
def test_filesystem_reads_storage_emulator_host_when_called(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443")
    fs, path = io.filesystem(f"{ROOT}/t.parquet")
    options = fs.__reduce__()[1][0]
    assert (path, options["anonymous"], options["scheme"], options["endpoint_override"]) == (
        f"{BUCKET}/t.parquet",
        True,
        "http",
        "127.0.0.1:4443",
    )
    monkeypatch.delenv("STORAGE_EMULATOR_HOST")
    options = io.filesystem(f"{ROOT}/t.parquet")[0].__reduce__()[1][0]
    assert (options["anonymous"], options["scheme"], options["endpoint_override"]) == (False, "https", "")


def test_parquet_and_csv_round_trip(run, storage: FakeCloudStorage, api: FakeVertexAPI, frame: pd.DataFrame):
    run(io.write_table, frame, f"{ROOT}/tables/t.parquet")
    run(io.write_table, frame, f"{ROOT}/tables/t.csv")

    pd.testing.assert_frame_equal(run(io.read_table, f"{ROOT}/tables/t.parquet"), frame)
    pd.testing.assert_frame_equal(run(io.read_table, f"{ROOT}/tables/t.csv"), frame)
    assert list(run(io.read_table, f"{ROOT}/tables/t.csv", ["n"]).columns) == ["n"]
    assert _data(storage, "tables/t.parquet")[:4] == b"PAR1"
    assert _data(storage, "tables/t.csv").startswith(b'"id","x","n"')
    # what went over the wire: resumable uploads, downloads with the object's generation
    assert api.calls("POST", "^/upload/storage/v1/b/keel-data/o$")[0].query["uploadType"] == ["resumable"]
    assert all("generation" in r.query for r in api.calls("GET", "/o/tables/") if r.query.get("alt"))


def test_folder_of_parquet_parts_reads_as_one_table(run, storage: FakeCloudStorage, frame: pd.DataFrame):
    run(io.write_table, frame, f"{ROOT}/folder/part-0.parquet")
    run(io.write_table, frame.assign(n=[4, 5, 6]), f"{ROOT}/folder/part-1.parquet")

    table = run(io.read_table, f"{ROOT}/folder")
    assert sorted(table["n"]) == [1, 2, 3, 4, 5, 6]
    assert [piece.uri for piece in run(io.table_pieces, f"{ROOT}/folder")] == [
        f"{ROOT}/folder/part-0.parquet",
        f"{ROOT}/folder/part-1.parquet",
    ]
    assert run(io.exists, f"{ROOT}/folder") and not run(io.exists, f"{ROOT}/elsewhere")


def test_missing_object_is_a_data_error(run, storage: FakeCloudStorage):
    with pytest.raises(DataError, match=f"{ROOT}/nope.parquet: file not found"):
        run(io.read_table, f"{ROOT}/nope.parquet")
    with pytest.raises(DataError, match="file not found"):
        run(io.read_bytes, f"{ROOT}/nope.json")


def test_sha256_matches_hashlib(run, storage: FakeCloudStorage):
    data = os.urandom(3_000_000)  # bigger than one upload chunk (256 KiB) and one read (1 MiB)
    run(io.write_bytes, f"{ROOT}/blob.bin", data)

    assert _data(storage, "blob.bin") == data
    assert run(io.sha256, f"{ROOT}/blob.bin") == hashlib.sha256(data).hexdigest()


def test_atomic_write_leaves_only_the_target(run, storage: FakeCloudStorage, api: FakeVertexAPI):
    target = "out/deep/data.bin"
    run(io.write_bytes, f"{ROOT}/{target}", b"old")
    assert storage.names(BUCKET) == [target]  # no temporary object, no `out/` folder markers

    api.requests.clear()
    with pytest.raises(RuntimeError, match="half way"):
        run(_write_then_fail, f"{ROOT}/{target}", b"new and partial")
    assert storage.names(BUCKET) == [target]
    assert _data(storage, target) == b"old"
    # pyarrow completes the upload when the stream is closed on the error; atomic_output deletes it
    (deleted,) = api.calls("DELETE", "/o/")
    assert deleted.path.startswith("/storage/v1/b/keel-data/o/out/deep/.data.bin.tmp-")

    api.requests.clear()
    run(io.write_bytes, f"{ROOT}/{target}", b"new")
    assert storage.names(BUCKET) == [target]
    assert _data(storage, target) == b"new"
    # the move: a server-side rewrite of the temporary object onto the target, then its delete
    (rewrite,) = api.calls("POST", "/rewriteTo/")
    temporary = rewrite.path.split("/o/")[1].removesuffix("/rewriteTo/b/keel-data")
    assert temporary.startswith("out/deep/.data.bin.tmp-")
    assert rewrite.path.endswith(f"/rewriteTo/b/keel-data/o/{target}")
    assert [r.path for r in api.calls("DELETE", "/o/")] == [f"/storage/v1/b/keel-data/o/{temporary}"]


def test_the_next_write_removes_stale_temporary_objects_of_the_same_target(run, storage: FakeCloudStorage):
    # A killed writer's upload is never completed, so it leaves no object; one killed between the
    # end of its upload and the move leaves its temporary object, which a live writer never keeps long.
    stale, fresh, other = (
        f"out/.{name}.tmp-{tag * 32}" for name, tag in [("d", "a"), ("d", "b"), ("e", "c")]
    )
    for name in (stale, fresh, other):
        storage.put(BUCKET, name, b"a temporary")
    for name in (stale, other):
        storage.objects[BUCKET, name][0].update(
            timeCreated="2020-01-01T00:00:00Z", updated="2020-01-01T00:00:00Z"
        )

    run(io.write_bytes, f"{ROOT}/out/d", b"new")
    assert storage.names(BUCKET) == sorted([fresh, other, "out/d"])
    assert _data(storage, "out/d") == b"new"


def test_table_pieces_and_batches_of_a_parquet_object(run, storage: FakeCloudStorage, api: FakeVertexAPI):
    table = pa.table({"n": list(range(10)), "s": [f"row {i}" for i in range(10)]})
    buffer = _bytes_io.BytesIO()
    pq.write_table(table, buffer, row_group_size=4)  # row groups of 4, 4 and 2 rows
    storage.put(BUCKET, "scoring/input.parquet", buffer.getvalue())

    pieces, batches = run(_read_pieces, f"{ROOT}/scoring/input.parquet", ["n"], 3)

    assert pieces == [
        TablePiece(f"{ROOT}/scoring/input.parquet", g, rows) for g, rows in enumerate([4, 4, 2])
    ]
    assert [batch.num_rows for batch in batches] == [3, 1, 3, 1, 2]
    assert pa.Table.from_batches(batches) == table.select(["n"])
    assert any(r.headers.get("range") for r in api.calls("GET", "/o/scoring/input.parquet"))  # ranged reads


def test_model_files_round_trip_and_tampering_is_refused(run, storage: FakeCloudStorage):
    folder = f"{ROOT}/models/churn/v1"
    model = {"coefficients": [0.5, -1.25], "intercept": 0.1}
    digest = run(model_files.save, model, {"framework": "test"}, folder)

    loaded, metadata = run(model_files.load, folder)
    assert loaded == model and metadata == {"framework": "test", "sha256": digest}
    assert digest == hashlib.sha256(_data(storage, "models/churn/v1/model.joblib")).hexdigest()
    assert storage.names(BUCKET) == ["models/churn/v1/metadata.json", "models/churn/v1/model.joblib"]

    storage.put(
        BUCKET, "models/churn/v1/model.joblib", _data(storage, "models/churn/v1/model.joblib") + b"\0"
    )
    with pytest.raises(ModelIntegrityError, match="does not match"):
        run(model_files.load, folder)
    with pytest.raises(ModelIntegrityError, match="model file is missing"):
        run(model_files.verify, f"{ROOT}/models/churn/v2", digest)


def test_a_model_profile_round_trips_and_a_changed_one_is_refused(run, storage: FakeCloudStorage):
    folder = f"{ROOT}/models/churn/v3"
    run(model_files.save, {"coefficients": [0.5]}, {"framework": "test"}, folder, {"features": [], "rows": 3})
    assert run(model_files.load_profile, folder) == {"features": [], "rows": 3}

    storage.put(BUCKET, "models/churn/v3/profile.json", b'{"features": [], "rows": 4}')
    with pytest.raises(ModelIntegrityError, match="profile.json: sha256 .* does not match"):
        run(model_files.load, folder)


def test_the_drift_history_lives_on_cloud_storage_one_record_per_run_date(run, storage: FakeCloudStorage):
    from components.check_drift import history

    for day, decision in (("2026-03-02", "warn"), ("2026-03-01", "pass"), ("2026-03-02", "fail")):
        run(history.append, f"{ROOT}/predictions", day, "", {"decision": decision, "rows": 5, "features": []})
    assert storage.names(BUCKET) == [
        "predictions/_monitoring/run_date=2026-03-01.json",
        "predictions/_monitoring/run_date=2026-03-02.json",
    ]
    records = run(history.read, f"{ROOT}/predictions", 0)
    assert [(record["run_date"], record["decision"]) for record in records] == [
        ("2026-03-01", "pass"),
        ("2026-03-02", "fail"),  # the rerun replaced its date's record
    ]


def test_listing_hides_directory_markers_and_temporaries(run, storage: FakeCloudStorage, frame: pd.DataFrame):
    """Folders made by other tools (a `name/` marker) and stray temporaries are not table parts."""
    run(io.write_table, frame, f"{ROOT}/parts/part-0.parquet")
    storage.put(BUCKET, "parts/", b"", {"metadata": {"arrow/gcsfs": "directory"}})
    storage.put(BUCKET, "parts/.part-1.parquet.tmp-0123", b"partial")

    assert [piece.uri for piece in run(io.table_pieces, f"{ROOT}/parts")] == [f"{ROOT}/parts/part-0.parquet"]
    assert len(run(io.read_table, f"{ROOT}/parts")) == len(frame)
    assert run(_file_type, f"{ROOT}/parts") == pa_fs.FileType.Directory
