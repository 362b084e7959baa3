"""Read and write tables and files on local paths, /gcs/ FUSE paths and gs:// URIs.

Tables are parquet (a file or a folder of files) or CSV (by the `.csv` suffix). Every write is
atomic: the data goes to a temporary name beside the target and is renamed into place only once
complete, so a reader never sees a partial file and a failed write leaves nothing behind.

gs:// URIs use Application Default Credentials, unless `STORAGE_EMULATOR_HOST` is set (read on
each call; e.g. `http://127.0.0.1:4443`, as for google-cloud-storage and fake-gcs-server): then
they go, unauthenticated, to that Cloud Storage emulator.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as pa_dataset
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq

from components.common import leftovers
from components.common.errors import KeelError, parameter_error

_PARQUET_MAGIC = b"PAR1"


class DataError(KeelError, ValueError):
    """Input data that cannot be used; the message names the file, and the column and rule if any."""


def _storage_emulator() -> str | None:
    """The Cloud Storage emulator's URL (STORAGE_EMULATOR_HOST, `http://` when it has no scheme), or None."""
    emulator = os.environ.get("STORAGE_EMULATOR_HOST")
    return (emulator if "://" in emulator else f"http://{emulator}") if emulator else None


def _gcs() -> pa_fs.GcsFileSystem:
    """Cloud Storage with Application Default Credentials, or the emulator at STORAGE_EMULATOR_HOST."""
    emulator = _storage_emulator()
    if not emulator:
        return pa_fs.GcsFileSystem()
    url = urlsplit(emulator)
    return pa_fs.GcsFileSystem(anonymous=True, endpoint_override=url.netloc, scheme=url.scheme)


def storage_client():
    """A google-cloud-storage client, for what pyarrow does not expose (object generations and
    checksums): Application Default Credentials, or the emulator at STORAGE_EMULATOR_HOST."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    emulator = _storage_emulator()
    if not emulator:
        return storage.Client(project=None)
    return storage.Client(
        project=None, credentials=AnonymousCredentials(), client_options={"api_endpoint": emulator}
    )


def filesystem(uri: str) -> tuple[pa_fs.FileSystem, str]:
    """The pyarrow filesystem and path for a local path, `file://` URI, /gcs/ path or gs:// URI."""
    uri = str(uri)
    if uri.startswith("gs://"):
        return _gcs(), uri.removeprefix("gs://")
    if uri.startswith("file://"):
        uri = uri.removeprefix("file://")
    return pa_fs.LocalFileSystem(), os.path.abspath(uri)


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return fs.get_file_info(path).type != pa_fs.FileType.NotFound


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    try:
        with fs.open_input_stream(path) as stream:
            return stream.read()
    except FileNotFoundError:
        raise DataError(f"{uri}: file not found") from None


def read_json(uri: str) -> Any:
    try:
        return json.loads(read_bytes(uri))
    except json.JSONDecodeError as error:
        raise DataError(f"{uri}: not valid JSON ({error})") from None


def _remove_leftovers(fs: pa_fs.FileSystem, parent: str, prefix: str) -> None:
    """Remove the temporaries of the same target that interrupted writers left (see leftovers); on
    Cloud Storage an upload appears only once complete, so a temporary object there is a leftover
    once older than leftovers.STALE_AFTER_S."""
    if isinstance(fs, pa_fs.LocalFileSystem):
        leftovers.remove_abandoned(parent, prefix)
        return
    cutoff = datetime.now(UTC) - timedelta(seconds=leftovers.STALE_AFTER_S)
    with contextlib.suppress(OSError):
        for info in fs.get_file_info(pa_fs.FileSelector(parent, allow_not_found=True)):
            if info.base_name.startswith(prefix) and info.is_file and info.mtime and info.mtime < cutoff:
                with contextlib.suppress(OSError):
                    fs.delete_file(info.path)


@contextlib.contextmanager
def atomic_output(uri: str) -> Iterator[pa.NativeFile]:
    """A writable stream whose data appears at `uri` only when the block completes without error.

    Temporaries of the same target left by writers that were killed are removed first; a live
    concurrent writer's is never touched (it holds a lock on it until it is renamed into place).
    """
    fs, path = filesystem(uri)
    parent, name = str(PurePosixPath(path).parent), PurePosixPath(path).name
    local = isinstance(fs, pa_fs.LocalFileSystem)
    if local:  # GCS has no folders: pyarrow would add `folder/` objects
        fs.create_dir(parent, recursive=True)
    _remove_leftovers(fs, parent, f".{name}.tmp-")
    temporary = f"{parent}/.{name}.tmp-{uuid.uuid4().hex}"
    try:
        with (
            fs.open_output_stream(temporary) as stream,
            leftovers.held(temporary) if local else contextlib.nullcontext(),
        ):
            yield stream
            stream.close()
            fs.move(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            fs.delete_file(temporary)
        raise


def write_bytes(uri: str, data: bytes) -> None:
    with atomic_output(uri) as stream:
        stream.write(data)


def write_json(uri: str, value: Any) -> None:
    write_bytes(uri, json.dumps(value, indent=2, sort_keys=True, default=str).encode())


def sha256(uri: str) -> str:
    """Hex sha256 of a file's bytes, streamed."""
    fs, path = filesystem(uri)
    digest = hashlib.sha256()
    with fs.open_input_stream(path) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_csv(path: str) -> bool:
    return path.lower().endswith((".csv", ".csv.gz"))


def check_unique_columns(names: list[str], uri: str) -> None:
    """DataError naming every column name that `uri` holds more than once."""
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    repeated = [f"'{name}' ({count} times)" for name, count in seen.items() if count > 1]
    if repeated:
        raise DataError(
            f"{uri}: duplicated column name(s) {', '.join(repeated)}; rule: every column needs its own "
            "name (rename or drop the duplicates)"
        )


def _file_columns(fs: pa_fs.FileSystem, path: str) -> list[str]:
    """The column names of one parquet or CSV file, from its footer or header (no data read)."""
    with fs.open_input_file(path) as source:
        if is_csv(path):
            return pa_csv.open_csv(source).schema.names
        return pq.ParquetFile(source).schema_arrow.names


def _data_files(fs: pa_fs.FileSystem, path: str, info: pa_fs.FileInfo) -> list[str]:
    """The files of a table: the file itself, or a folder's files (hidden `.`/`_` ones left out)."""
    if info.type != pa_fs.FileType.Directory:
        return [path]
    selector = pa_fs.FileSelector(path, recursive=True)
    return sorted(
        f.path for f in fs.get_file_info(selector) if f.is_file and not f.base_name.startswith((".", "_"))
    )


def _check_folder(fs: pa_fs.FileSystem, path: str, info: pa_fs.FileInfo, uri: str) -> None:
    """For a folder, each of its files: pyarrow reads a folder with the first file's columns, and would
    silently drop a later file's duplicated one."""
    if info.type == pa_fs.FileType.Directory:
        prefix = "gs://" if str(uri).startswith("gs://") else ""
        for file in _data_files(fs, path, info):
            with contextlib.suppress(pa.ArrowInvalid, OSError):  # unreadable files fail when read
                check_unique_columns(_file_columns(fs, file), prefix + file)


def _explained(
    error: Exception, fs: pa_fs.FileSystem, path: str, info: pa_fs.FileInfo, uri: str
) -> DataError:
    """A DataError for a table that pyarrow cannot read, naming duplicated columns when they are the cause."""
    if info.type == pa_fs.FileType.File:
        with contextlib.suppress(pa.ArrowInvalid, OSError):
            check_unique_columns(_file_columns(fs, path), uri)
    _check_folder(fs, path, info, uri)
    return DataError(f"{uri}: cannot be read as a table ({error})")


def _select(table: pa.Table, columns: list[str] | None, uri: str) -> pa.Table:
    if columns is None:
        return table
    missing = [column for column in columns if column not in table.column_names]
    if missing:
        raise DataError(
            f"{uri}: column(s) {', '.join(missing)} not found; it has {', '.join(table.column_names)}"
        )
    return table.select(columns)


def _readable(uri: str) -> tuple[pa_fs.FileSystem, str, pa_fs.FileInfo]:
    fs, path = filesystem(uri)
    info = fs.get_file_info(path)
    if info.type == pa_fs.FileType.NotFound:
        raise DataError(f"{uri}: file not found")
    if info.type == pa_fs.FileType.File and info.size == 0:
        raise DataError(f"{uri}: file is empty (0 bytes)")
    return fs, path, info


def open_dataset(uri: str) -> pa_dataset.Dataset:
    """A streaming view (no data read yet) of a parquet file or folder, or a CSV file."""
    fs, path, info = _readable(uri)
    try:
        dataset = pa_dataset.dataset(path, filesystem=fs, format="csv" if is_csv(path) else "parquet")
    except (pa.ArrowInvalid, OSError) as error:
        raise _explained(error, fs, path, info, uri) from None
    check_unique_columns(dataset.schema.names, uri)
    _check_folder(fs, path, info, uri)
    return dataset


@dataclass(frozen=True)
class TablePiece:
    """One unit of a table that can be read on its own: a parquet row group, or a whole CSV file."""

    uri: str
    row_group: int | None
    rows: int | None  # None for CSV: known only once read


def table_pieces(uri: str) -> list[TablePiece]:
    """The pieces of a parquet file or folder (one per row group) or of a CSV file, in order."""
    fs, path, info = _readable(uri)
    prefix = "gs://" if str(uri).startswith("gs://") else ""
    files = _data_files(fs, path, info)
    pieces = []
    for file in files:
        if is_csv(file):
            check_unique_columns(_file_columns(fs, file), prefix + file)
            pieces.append(TablePiece(prefix + file, None, None))
            continue
        try:
            with fs.open_input_file(file) as source:
                parquet = pq.ParquetFile(source)
                metadata, names = parquet.metadata, parquet.schema_arrow.names
        except (pa.ArrowInvalid, OSError) as error:
            raise DataError(f"{prefix + file}: cannot be read as parquet ({error})") from None
        check_unique_columns(names, prefix + file)
        pieces += [
            TablePiece(prefix + file, g, metadata.row_group(g).num_rows)
            for g in range(metadata.num_row_groups)
        ]
    return pieces


def check_shard(shard_index: int, shard_count: int) -> None:
    """ParameterError unless shard `shard_index` of `shard_count` exists."""
    if not 0 <= shard_index < shard_count:
        shown = {"index": shard_index, "count": shard_count}
        raise parameter_error("shard", shown, "expected 0 <= index < count")


def shard_pieces(pieces: list[TablePiece], shard_index: int, shard_count: int) -> list[TablePiece]:
    """Shard `shard_index` of `shard_count`: every shard_count-th piece (parquet row group)."""
    check_shard(shard_index, shard_count)
    return pieces[shard_index::shard_count]


def rows_of(pieces: list[TablePiece], uri: str) -> int:
    """Rows in `pieces` of the table at `uri`: from parquet metadata, or by reading a CSV file."""
    counted = [piece.rows for piece in pieces]
    return sum(counted) if None not in counted else open_dataset(uri).count_rows()


def iter_batches(piece: TablePiece, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream a piece in batches of at most `batch_rows` rows, holding little more than one batch."""
    fs, path = filesystem(piece.uri)
    if piece.row_group is None:
        check_unique_columns(_file_columns(fs, path), piece.uri)
    with fs.open_input_file(path) as source:
        if piece.row_group is None:
            options = pa_csv.ReadOptions(block_size=1 << 22)
            convert = pa_csv.ConvertOptions(strings_can_be_null=True, include_columns=columns)
            for batch in pa_csv.open_csv(source, read_options=options, convert_options=convert):
                for start in range(0, batch.num_rows, batch_rows):
                    yield batch.slice(start, batch_rows)
            return
        parquet = pq.ParquetFile(source, pre_buffer=False)
        check_unique_columns(parquet.schema_arrow.names, piece.uri)
        yield from parquet.iter_batches(
            batch_rows, row_groups=[piece.row_group], columns=columns, use_threads=False
        )


def head(uri: str, rows: int) -> pa.Table:
    """The first `rows` rows of a table, decoding no more than the batches that hold them."""
    schema = open_dataset(uri).schema
    batches: list[pa.RecordBatch] = []
    for piece in table_pieces(uri):
        for batch in iter_batches(piece, schema.names, max(rows, 1)):
            batches.append(batch.slice(0, rows))
            rows -= batches[-1].num_rows
            if rows <= 0:
                return pa.Table.from_batches(batches, batches[0].schema)
    return pa.Table.from_batches(batches, schema) if batches else schema.empty_table()


def read_arrow(uri: str, columns: list[str] | None = None) -> pa.Table:
    """Read a parquet file, a folder of parquet files or a CSV file into an Arrow table."""
    fs, path, info = _readable(uri)
    try:
        if info.type == pa_fs.FileType.Directory:
            _check_folder(fs, path, info, uri)
            table = pa_dataset.dataset(path, filesystem=fs, format="parquet").to_table()
        else:
            with fs.open_input_file(path) as source:
                is_parquet = source.read(4) == _PARQUET_MAGIC
                source.seek(0)
                if is_parquet and not is_csv(path):
                    parquet = pq.ParquetFile(source)
                    check_unique_columns(parquet.schema_arrow.names, uri)
                    table = parquet.read()
                elif is_csv(path):
                    options = pa_csv.ConvertOptions(strings_can_be_null=True)
                    table = pa_csv.read_csv(source, convert_options=options)
                else:
                    raise DataError(f"{uri}: not a parquet file (no PAR1 header) and not named *.csv")
    except (pa.ArrowInvalid, OSError) as error:
        raise _explained(error, fs, path, info, uri) from None
    check_unique_columns(table.column_names, uri)
    return _select(table, columns, uri)


def read_table(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a table (see `read_arrow`) into pandas."""
    return read_arrow(uri, columns).to_pandas()


def write_table(frame: pd.DataFrame | pa.Table, uri: str) -> None:
    """Write a table atomically: CSV when `uri` ends in .csv, parquet otherwise."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_output(uri) as stream:
        if is_csv(uri):
            pa_csv.write_csv(table, stream)
        else:
            pq.write_table(table, stream)
