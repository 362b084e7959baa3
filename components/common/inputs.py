"""What a component reads, as plain values for its core: the table, the model, the shard.

    path, uri = table_source(data, data_uri, "train_model")
    model_in = model_source(model)            # path, uri, registered name and version, sha256
    index, count = shard_position(shard)      # plan_shards' item; (0, 1) for the whole table

`path` is what to read (an artifact's local or /gcs/ FUSE path); `uri` is what to record (its gs:// URI
on Vertex, the same path under kfp.local).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow.fs as pa_fs

from components.common import io
from components.common.errors import ParameterError


def table_source(data: Any, data_uri: str, component: str, required: bool = True) -> tuple[str, str]:
    """(path to read, URI to record) of the `data` artifact when given, else of `data_uri`; for
    neither, ParameterError naming `component`, or ("", "") when the table is not `required`."""
    if data is not None:
        return data.path, data.uri
    if data_uri:
        return data_uri, data_uri
    if not required:
        return "", ""
    raise ParameterError(f"{component} needs `data` or `data_uri`")


@dataclass(frozen=True)
class ModelSource:
    """A Model artifact as plain values; every field is empty when no artifact was given."""

    path: str = ""  # the model folder to read
    uri: str = ""  # the artifact's URI, to record
    name: str = ""  # the registered model's name, when the artifact is a registered version
    version: int = 0  # (resolve_model's output names both)
    sha256: str = ""  # the model file's expected sha256 ("": the one in metadata.json)

    @property
    def subject(self) -> str:
        """How runs and reports name the model: `name vN` for a registered version, else its URI."""
        return f"{self.name} v{self.version}" if self.name else self.uri


def model_source(model: Any) -> ModelSource:
    """The Model artifact `model` (None: no model given) as a ModelSource."""
    if model is None:
        return ModelSource()
    metadata = model.metadata
    return ModelSource(
        model.path,
        model.uri,
        metadata.get("name", ""),
        int(metadata.get("version", 0)),  # JSON numbers are floats
        metadata.get("sha256", ""),
    )


def shard_position(shard: Mapping[str, Any] | None) -> tuple[int, int]:
    """(index, count) of `shard`, an item of plan_shards' output (JSON numbers are floats); (0, 1),
    the whole table, for None."""
    return (int(shard["index"]), int(shard["count"])) if shard else (0, 1)


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
