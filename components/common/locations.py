"""Outputs never land inside inputs: where a run writes must not equal, contain or sit in what it reads.

    check_outputs({"output_uri": "gs://b/scores"}, {"data_uri": "/gcs/b/scores/day1.parquet"})
    # LocationError: output_uri 'gs://b/scores' (an output) contains data_uri '/gcs/b/scores/day1.parquet' ...

Locations are compared as resolved: a local path (`file://` stripped) is made absolute with `.` and
`..` resolved as io resolves them, then its symlinks; a Cloud Storage FUSE path `/gcs/<bucket>/<path>`
(as on Vertex AI) is `gs://<bucket>/<path>`; a trailing slash changes nothing. Empty values and URIs of other schemes
(e.g. `vertex://`, which names no folder) are left out.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Mapping
from typing import Any

from components.common.errors import KeelError

GCS_MOUNT = "/gcs"
RULE = "rule: an output location must not equal, contain or sit inside an input location"


class LocationError(KeelError, ValueError):
    """An output location that equals, contains or sits inside an input location."""


def resolved(uri: str) -> str | None:
    """`uri` as compared: `gs://bucket/path` for Cloud Storage (gs:// or the /gcs/ mount), a resolved
    absolute path for a local one; None for an empty value or another scheme."""
    uri = str(uri).strip()
    if uri.startswith("gs://"):
        return "gs://" + posixpath.normpath("/" + uri.removeprefix("gs://")).strip("/")
    uri = uri.removeprefix("file://")
    if not uri or "://" in uri:
        return None
    path = os.path.realpath(os.path.abspath(uri))  # `..` first, as io does, then the symlinks
    if path == GCS_MOUNT or path.startswith(GCS_MOUNT + "/"):
        return "gs://" + path.removeprefix(GCS_MOUNT).strip("/")
    return path


def _inside(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def relation(output: str, input_: str) -> str | None:
    """How location `output` relates to `input_`: "equals", "contains", "sits inside", or None."""
    out, into = resolved(output), resolved(input_)
    if out is None or into is None:
        return None
    if out == into:
        return "equals"
    if _inside(into, out):
        return "contains"
    if _inside(out, into):
        return "sits inside"
    return None


def _values(named: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(name, location) pairs; a value may be one location or a list of them."""
    for name, value in named.items():
        for one in value if isinstance(value, list | tuple) else [value]:
            if isinstance(one, str) and one:
                yield name, one


def _shown(uri: str) -> str:
    where = resolved(uri)
    return f"{uri!r}" if where in (uri, uri.rstrip("/")) else f"{uri!r} ({where})"


def check_outputs(outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> None:
    """Raise LocationError naming every output that equals, contains or sits inside an input.

    Both map a parameter name to a location (local path, file://, /gcs/ or gs://) or a list of them.
    """
    problems = [
        f"{out_name} {_shown(out)} (an output) {found} {in_name} {_shown(into)} (an input)"
        for out_name, out in _values(outputs)
        for in_name, into in _values(inputs)
        if (found := relation(out, into))
    ]
    if problems:
        raise LocationError("; ".join(problems) + f" ({RULE}: writing there would change the input)")
