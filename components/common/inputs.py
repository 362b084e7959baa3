"""The table a component reads: a Dataset artifact or a URI parameter, and the table's fingerprint.

    path, uri = table_source(data, data_uri, "train_model")

`path` is what to read (an artifact's local or /gcs/ FUSE path); `uri` is what to record (its gs:// URI
on Vertex, the same path under kfp.local).
"""

from __future__ import annotations

import hashlib
from typing import Any

import pyarrow.fs as pa_fs

from components.common import io


def table_source(data: Any, data_uri: str, component: str) -> tuple[str, str]:
    """(path to read, URI to record) of the `data` artifact when given, else of `data_uri`."""
    if data is not None:
        return data.path, data.uri
    if data_uri:
        return data_uri, data_uri
    raise ValueError(f"{component} needs `data` or `data_uri`")


def fingerprint(uri: str) -> str:
    """Hex sha256 of a table: of a file's bytes, or of a folder's file names and their sha256s."""
    fs, path = io.filesystem(uri)
    if fs.get_file_info(path).type != pa_fs.FileType.Directory:
        return io.sha256(uri)
    files = sorted(
        info.path for info in fs.get_file_info(pa_fs.FileSelector(path, recursive=True)) if info.is_file
    )
    scheme = "gs://" if uri.startswith("gs://") else ""
    digest = hashlib.sha256()
    for file in files:
        relative = file.removeprefix(path).lstrip("/")
        digest.update(f"{relative}\0{io.sha256(scheme + file)}\n".encode())
    return digest.hexdigest()
