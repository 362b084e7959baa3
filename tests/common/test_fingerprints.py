"""Content fingerprints change when one byte, one object or one alias changes, and not otherwise:
local files and folders, gs:// objects (the real google-cloud-storage client against the loopback
Cloud Storage fake, metadata only), /gcs/ paths, and the local registry (tests/common/
test_registry_vertex.py covers the Vertex registry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.common import fingerprints, model_files
from components.common.io import DataError
from components.common.registry import open_registry
from tests.fakes.gcs_api import FakeCloudStorage
from tests.fakes.vertex_api import FakeVertexAPI

BUCKET = "keel-data"


@pytest.fixture
def api() -> Iterator[FakeVertexAPI]:
    with FakeVertexAPI() as fake:
        yield fake


@pytest.fixture
def storage(api: FakeVertexAPI, monkeypatch: pytest.MonkeyPatch) -> FakeCloudStorage:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", api.endpoint)
    return FakeCloudStorage(api, BUCKET)


def test_local_file_follows_its_bytes_only(tmp_path: Path):
    table = tmp_path / "table.parquet"
    table.write_bytes(b"PAR1 some rows PAR1")
    first = fingerprints.of_uri(str(table))

    assert fingerprints.of_uri(str(table)) == first
    table.write_bytes(b"PAR1 some rows PAR1")  # rewritten, same bytes
    assert fingerprints.of_uri(f"file://{table}") == first
    table.write_bytes(b"PAR1 some rowz PAR1")  # one byte
    assert fingerprints.of_uri(str(table)) != first


def test_local_folder_follows_every_file_and_its_name(tmp_path: Path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(b"zero")
    (folder / "part-1.parquet").write_bytes(b"one")
    first = fingerprints.of_uri(str(folder))
    assert fingerprints.of_uri(str(folder)) == first

    (folder / "part-2.parquet").write_bytes(b"two")  # one more object
    with_two = fingerprints.of_uri(str(folder))
    (folder / "part-2.parquet").unlink()
    assert with_two != first and fingerprints.of_uri(str(folder)) == first

    (folder / "part-1.parquet").rename(folder / "part-9.parquet")  # same bytes, other name
    assert fingerprints.of_uri(str(folder)) != first
    (folder / "part-9.parquet").rename(folder / "part-1.parquet")
    (folder / "part-1.parquet").write_bytes(b"onE")  # one byte
    assert fingerprints.of_uri(str(folder)) != first


def test_gs_object_follows_generation_and_checksum_from_metadata_alone(
    api, storage: FakeCloudStorage, monkeypatch: pytest.MonkeyPatch
):
    storage.put(BUCKET, "tables/t.parquet", b"PAR1 rows PAR1")
    first = fingerprints.of_uri(f"gs://{BUCKET}/tables/t.parquet")

    assert fingerprints.of_uri(f"gs://{BUCKET}/tables/t.parquet") == first
    assert fingerprints.of_uri(f"/gcs/{BUCKET}/tables/t.parquet") == first  # the FUSE mount's path
    storage.put(BUCKET, "tables/other.parquet", b"unrelated")
    assert fingerprints.of_uri(f"gs://{BUCKET}/tables/t.parquet") == first

    storage.put(BUCKET, "tables/t.parquet", b"PAR1 rowz PAR1")  # one byte
    changed = fingerprints.of_uri(f"gs://{BUCKET}/tables/t.parquet")
    storage.put(BUCKET, "tables/t.parquet", b"PAR1 rowz PAR1")  # rewritten: a new generation
    rewritten = fingerprints.of_uri(f"gs://{BUCKET}/tables/t.parquet")
    assert len({first, changed, rewritten}) == 3

    host_and_port = api.endpoint.removeprefix("http://")  # STORAGE_EMULATOR_HOST as io takes it too
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", host_and_port)
    assert fingerprints.of_uri(f"gs://{BUCKET}/tables/t.parquet") == rewritten

    downloads = [r for r in api.requests if r.query.get("alt") == ["media"]]
    assert api.calls("GET", f"/b/{BUCKET}/o/tables/t.parquet$") and not downloads  # metadata only


def test_gs_folder_follows_every_object_and_its_name(api, storage: FakeCloudStorage):
    for index in range(2):
        storage.put(BUCKET, f"parts/part-{index}.parquet", f"part {index}".encode())
    storage.put(BUCKET, "partsbis/part-0.parquet", b"a neighbour sharing the prefix")
    folder = f"gs://{BUCKET}/parts"
    first = fingerprints.of_uri(folder)
    assert fingerprints.of_uri(f"{folder}/") == fingerprints.of_uri(f"/gcs/{BUCKET}/parts") == first

    storage.put(BUCKET, "partsbis/part-1.parquet", b"another neighbour")
    assert fingerprints.of_uri(folder) == first
    resource, data = storage.objects.pop((BUCKET, "parts/part-1.parquet"))
    assert fingerprints.of_uri(folder) != first  # one object fewer
    storage.objects[BUCKET, "parts/part-9.parquet"] = {**resource, "name": "parts/part-9.parquet"}, data
    assert fingerprints.of_uri(folder) != first  # same object, other name
    del storage.objects[BUCKET, "parts/part-9.parquet"]
    storage.objects[BUCKET, "parts/part-1.parquet"] = resource, data
    assert fingerprints.of_uri(folder) == first
    assert not [r for r in api.requests if r.query.get("alt") == ["media"]]


def test_missing_table_is_a_data_error(api, storage: FakeCloudStorage, tmp_path: Path):
    with pytest.raises(DataError, match=f"gs://{BUCKET}/nope: no such object, and no object under it"):
        fingerprints.of_uri(f"gs://{BUCKET}/nope")
    with pytest.raises(DataError, match="nope.parquet: no such file or folder"):
        fingerprints.of_uri(str(tmp_path / "nope.parquet"))


def _save_model(folder: Path, weight: float) -> str:
    model_files.save({"weight": weight}, {"framework": "test"}, str(folder))
    return str(folder)


def test_local_registry_follows_aliases_and_sha256s(tmp_path: Path):
    registry = open_registry(str(tmp_path / "registry"))
    seen = [fingerprints.of_registry(registry, "churn")]  # cold start: no model yet

    registry.register("churn", _save_model(tmp_path / "m1", 1.0))
    seen.append(fingerprints.of_registry(registry, "churn"))
    registry.promote("churn", 1)
    seen.append(fingerprints.of_registry(registry, "churn"))
    registry.register("churn", _save_model(tmp_path / "m2", 2.0))
    seen.append(fingerprints.of_registry(registry, "churn"))
    registry.promote("churn", 2)  # one alias moves (champion), one appears (previous)
    seen.append(fingerprints.of_registry(registry, "churn"))
    assert fingerprints.of_registry(registry, "churn") == seen[-1]
    registry.register("other", _save_model(tmp_path / "m3", 3.0))  # another model
    assert fingerprints.of_registry(registry, "churn") == seen[-1]

    registry.rollback("churn")  # back to the state before v2 was promoted: the same fingerprint
    assert fingerprints.of_registry(registry, "churn") == seen[3]
    recorded = tmp_path / "registry" / "churn" / "versions" / "1" / "version.json"
    version = json.loads(recorded.read_text())
    recorded.write_text(json.dumps({**version, "sha256": "0" * 64}))  # one version's sha256
    seen.append(fingerprints.of_registry(registry, "churn"))
    assert len(set(seen)) == len(seen) == 6
