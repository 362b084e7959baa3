"""Content fingerprints of the state a pipeline reads: tables and files, folders, a registry's model.

    from components.common import fingerprints
    fingerprints.of_uri("gs://bucket/customers/")                # a folder: every object in it
    fingerprints.of_registry(open_registry(registry_uri), "churn")

Each is a hex sha256 that changes when the content changes and not otherwise, computed as cheaply
as the store allows:
- a local file: the sha256 of its bytes; a local folder: its files' relative names and sha256s;
- gs:// URIs and /gcs/ paths (Cloud Storage, mounted at /gcs/ on Vertex): each object's name,
  generation, crc32c and size, from object metadata (one request for an object, one listing for a
  folder), without reading the data. Rewriting an object makes a new generation, so a rewrite
  counts as a change even with the same bytes;
- a registry model: its alias -> version map and each version's recorded sha256 (one listing).
"""

from __future__ import annotations

import hashlib
import json

from components.common import inputs, io
from components.common.errors import ParameterError
from components.common.registry import Registry, RegistryError

GCS_MOUNT = "/gcs/"


def cloud_uri(uri: str) -> str:
    """`uri` with a /gcs/ path written as the gs:// URI it mounts; any other URI unchanged."""
    return "gs://" + uri.removeprefix(GCS_MOUNT) if uri.startswith(GCS_MOUNT) else uri


def of_uri(uri: str) -> str:
    """The fingerprint of a file or folder: local, /gcs/ or gs:// (see the module docstring)."""
    if not uri:
        raise ParameterError("fingerprint: no URI given")
    uri = cloud_uri(str(uri))
    if not uri.startswith("gs://"):
        if not io.exists(uri):
            raise io.DataError(f"{uri}: no such file or folder")
        return inputs.fingerprint(uri)
    return _digest(_object_versions(uri))


def _object_versions(uri: str) -> list[str]:
    """One line per object: its name relative to `uri`, generation, crc32c and size."""
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    client = io.storage_client()
    found = client.bucket(bucket).get_blob(name) if name and not name.endswith("/") else None
    if found is not None:
        return [f"\0{found.generation}\0{found.crc32c}\0{found.size}"]
    prefix = f"{name.rstrip('/')}/" if name.rstrip("/") else ""
    lines = [
        f"{blob.name.removeprefix(prefix)}\0{blob.generation}\0{blob.crc32c}\0{blob.size}"
        for blob in client.list_blobs(bucket, prefix=prefix)
    ]
    if not lines:
        raise io.DataError(f"{uri}: no such object, and no object under it")
    return sorted(lines)


def of_registry(registry: Registry, name: str) -> str:
    """The fingerprint of model `name` in `registry`: its aliases and its versions' sha256s. A
    model not registered yet has a fingerprint too (of no versions), which its first version changes."""
    try:
        versions = registry.versions(name)
    except RegistryError:
        versions = []
    state = {
        "aliases": {alias: found.version for found in versions for alias in found.aliases},
        "sha256": {str(found.version): found.sha256 for found in versions},
    }
    return _digest([json.dumps(state, sort_keys=True)])


def _digest(lines: list[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(f"{line}\n".encode())
    return digest.hexdigest()
