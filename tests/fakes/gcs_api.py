"""Cloud Storage for the real google-cloud-storage client and pyarrow's GcsFileSystem, served by
a loopback fake.

    storage = FakeCloudStorage(api, "my-bucket")       # api: a started FakeVertexAPI
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", api.endpoint)

Adds the JSON API's routes to the fake's server, answered with the resources Cloud Storage
returns; a bucket or object that does not exist gets a 404 in Google's error form:
  - buckets: get, create (`POST /storage/v1/b`), and the bucket IAM policy get and set;
  - objects, held in memory (`storage.objects`, `storage.put`, `storage.names`): metadata get,
    list (prefix, delimiter, includeTrailingDelimiter), media download (`?alt=media`, a `Range`
    header, `generation`), resumable upload (`POST /upload/...?uploadType=resumable`, then `PUT`s
    of chunks to the session URL), multipart upload (`ifGenerationMatch` honoured), rewrite and
    delete; downloads carry `x-goog-hash` (crc32c, md5), which the clients check.
These are what pyarrow's GcsFileSystem (google-cloud-cpp over REST) sends: `get_file_info` is a
metadata get, then for a "directory" a listing of `name/`; `open_input_stream` one download,
`open_input_file` ranged downloads of the generation it saw; `open_output_stream` a resumable
upload; `move` a metadata get of both names, a rewrite, then a delete; `create_dir` an empty
`name/` marker object (metadata `arrow/gcsfs: directory`) sent as a multipart upload.

Upload bodies are recorded as bytes. Routes may answer `(status, body, headers)` with a `bytes`
body: the shared server sends bytes payloads and extra headers as they are.
Call pyarrow from another process (tests/common/test_io_gcs.py): pyarrow reads a GCS file's
`closed` with the GIL held, which sends the first download, so a fake served by threads of the
same interpreter would never answer it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from typing import Any
from urllib.parse import quote

import google_crc32c

from tests.fakes.vertex_api import ApiError, FakeVertexAPI, RecordedRequest, rfc3339_now

_BUCKET = r"/storage/v1/b/([^/]+)"
_OBJECT = _BUCKET + r"/o/(.+)"
_UPLOAD = r"/upload/storage/v1/b/([^/]+)/o"


class FakeCloudStorage:
    """Buckets (name -> Bucket JSON), their IAM policies and their objects, on `api`'s server."""

    def __init__(self, api: FakeVertexAPI, *existing: str, location: str = "EUROPE-WEST4") -> None:
        self.project_number = api.project_number
        self.buckets: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], tuple[dict[str, Any], bytes]] = {}  # -> (Object JSON, data)
        self.uploads: dict[str, tuple[str, str, dict, bytearray]] = {}  # id -> bucket, name, fields, data
        self._generations = itertools.count(1_700_000_000_000_001)
        for name in existing:
            self._add(name, location)
        api.add_route("GET", _BUCKET, self._get)
        api.add_route("POST", r"/storage/v1/b", self._create)
        api.add_route("GET", _BUCKET + "/iam", self._get_policy)
        api.add_route("PUT", _BUCKET + "/iam", self._set_policy)
        api.add_route("GET", _BUCKET + "/o", self._list_objects)
        api.add_route("POST", _OBJECT + r"/(?:rewriteTo|copyTo)/b/([^/]+)/o/(.+)", self._rewrite)
        api.add_route("GET", _OBJECT, self._get_object)
        api.add_route("DELETE", _OBJECT, self._delete_object)
        api.add_route("POST", _UPLOAD, self._start_upload)
        api.add_route("PUT", _UPLOAD, self._upload_chunk)

    # -- objects, for tests -----------------------------------------------------------------------
    def put(self, bucket: str, name: str, data: bytes, fields: dict | None = None) -> dict[str, Any]:
        """Store `data` as object `name` (a new generation), as an upload would; returns its JSON.
        `fields`: the Object JSON an upload sends along (`contentType`, custom `metadata`)."""
        self._bucket(bucket)
        now = rfc3339_now()
        fields = fields or {}
        resource = {
            "kind": "storage#object",
            "id": f"{bucket}/{name}",
            "name": name,
            "bucket": bucket,
            "generation": str(next(self._generations)),
            "metageneration": "1",
            "contentType": fields.get("contentType", "application/octet-stream"),
            "size": str(len(data)),
            "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
            "crc32c": base64.b64encode(google_crc32c.Checksum(data).digest()).decode(),
            "storageClass": "STANDARD",
            "timeCreated": now,
            "updated": now,
            "etag": "CAE=",
            **({"metadata": fields["metadata"]} if fields.get("metadata") else {}),
        }
        self.objects[bucket, name] = resource, bytes(data)
        return resource

    def names(self, bucket: str) -> list[str]:
        """The names of the objects in `bucket`, sorted."""
        return sorted(name for owner, name in self.objects if owner == bucket)

    # -- buckets ----------------------------------------------------------------------------------
    def _add(self, name: str, location: str) -> dict[str, Any]:
        now = rfc3339_now()
        self.buckets[name] = {
            "kind": "storage#bucket",
            "id": name,
            "name": name,
            "projectNumber": self.project_number,
            "location": location.upper(),
            "locationType": "region",
            "storageClass": "STANDARD",
            "metageneration": "1",
            "etag": "CAE=",
            "timeCreated": now,
            "updated": now,
        }
        self.policies[name] = {
            "kind": "storage#policy",
            "resourceId": f"projects/_/buckets/{name}",
            "version": 1,
            "etag": "CAE=",
            "bindings": [
                {
                    "role": "roles/storage.legacyBucketOwner",
                    "members": [f"projectOwner:{self.project_number}"],
                }
            ],
        }
        return self.buckets[name]

    def _bucket(self, name: str) -> dict[str, Any]:
        if name not in self.buckets:
            raise ApiError(404, "NOT_FOUND", f"The specified bucket does not exist: {name}")
        return self.buckets[name]

    def _get(self, request: RecordedRequest, name: str) -> tuple[int, Any]:
        return 200, self._bucket(name)

    def _create(self, request: RecordedRequest) -> tuple[int, Any]:
        name = request.body["name"]
        if name in self.buckets:
            raise ApiError(
                409, "CONFLICT", f"Your previous request to create the named bucket succeeded: {name}"
            )
        return 200, self._add(name, request.body.get("location", "US"))

    def _get_policy(self, request: RecordedRequest, name: str) -> tuple[int, Any]:
        self._bucket(name)
        return 200, self.policies[name]

    def _set_policy(self, request: RecordedRequest, name: str) -> tuple[int, Any]:
        self._bucket(name)
        self.policies[name] = {**self.policies[name], **request.body, "etag": "CAI="}
        return 200, self.policies[name]

    # -- objects ----------------------------------------------------------------------------------
    def _object(self, bucket: str, name: str, generation: str | None = None) -> tuple[dict[str, Any], bytes]:
        self._bucket(bucket)
        found = self.objects.get((bucket, name))
        if found is None or generation not in (None, found[0]["generation"]):
            raise ApiError(404, "NOT_FOUND", f"No such object: {bucket}/{name}")
        return found

    def _check_generation(self, request: RecordedRequest, bucket: str, name: str) -> None:
        """Honour an upload's `ifGenerationMatch` (0: the object must not exist yet)."""
        wanted = request.query.get("ifGenerationMatch", [None])[0]
        current = self.objects[bucket, name][0]["generation"] if (bucket, name) in self.objects else "0"
        if wanted not in (None, current):
            raise ApiError(
                412, "FAILED_PRECONDITION", "At least one of the pre-conditions you specified did not hold."
            )

    def _get_object(self, request: RecordedRequest, bucket: str, name: str) -> tuple[int, Any, dict]:
        resource, data = self._object(bucket, name, request.query.get("generation", [None])[0])
        if request.query.get("alt") != ["media"]:
            return 200, resource, {}
        headers = {
            "x-goog-generation": resource["generation"],
            "x-goog-hash": f"crc32c={resource['crc32c']},md5={resource['md5Hash']}",
            "x-goog-stored-content-length": resource["size"],
        }
        ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", request.headers.get("range", ""))
        if not ranged:
            return 200, data, headers
        start, end = int(ranged[1]), int(ranged[2] or len(data) - 1)
        if start >= len(data):
            raise ApiError(416, "REQUESTED_RANGE_NOT_SATISFIABLE", "The requested range cannot be satisfied.")
        end = min(end, len(data) - 1)
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return 206, data[start : end + 1], headers

    def _list_objects(self, request: RecordedRequest, bucket: str) -> tuple[int, Any]:
        self._bucket(bucket)
        prefix = request.query.get("prefix", [""])[0]
        delimiter = request.query.get("delimiter", [""])[0]
        trailing = request.query.get("includeTrailingDelimiter", ["false"])[0] == "true"
        items, prefixes = [], set()
        for name in self.names(bucket):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            if delimiter and delimiter in rest:
                prefixes.add(prefix + rest[: rest.index(delimiter) + len(delimiter)])
                if not (trailing and rest.endswith(delimiter) and rest.count(delimiter) == 1):
                    continue
            items.append(self.objects[bucket, name][0])
        return 200, {"kind": "storage#objects", "items": items, "prefixes": sorted(prefixes)}

    def _delete_object(self, request: RecordedRequest, bucket: str, name: str) -> tuple[int, Any]:
        self._object(bucket, name)
        del self.objects[bucket, name]
        return 204, None

    def _rewrite(self, request: RecordedRequest, bucket: str, name: str, to_bucket: str, to_name: str):
        _, data = self._object(bucket, name)
        resource = self.put(to_bucket, to_name, data)
        if "/copyTo/" in request.path:
            return 200, resource
        size = resource["size"]
        return 200, {
            "kind": "storage#rewriteResponse",
            "totalBytesRewritten": size,
            "objectSize": size,
            "done": True,
            "resource": resource,
        }

    def _start_upload(self, request: RecordedRequest, bucket: str) -> tuple[int, Any, dict]:
        self._bucket(bucket)
        kind = request.query.get("uploadType", [""])[0]
        if kind == "multipart":
            fields, data = _multipart(request)
            name = request.query.get("name", [fields.get("name", "")])[0]
            self._check_generation(request, bucket, name)
            return 200, self.put(bucket, name, data, fields), {}
        if kind != "resumable":
            raise ApiError(400, "INVALID_ARGUMENT", f"fake Cloud Storage: uploadType={kind!r} not served")
        fields = json.loads(request.body) if request.body else {}
        name = request.query.get("name", [fields.get("name", "")])[0]
        self._check_generation(request, bucket, name)
        upload_id = f"upload-{next(self._generations)}"
        self.uploads[upload_id] = (bucket, name, fields, bytearray())
        session = f"http://{request.headers['host']}/upload/storage/v1/b/{bucket}/o"
        session += f"?uploadType=resumable&name={quote(name, safe='')}&upload_id={upload_id}"
        return 200, {}, {"Location": session}

    def _upload_chunk(self, request: RecordedRequest, bucket: str) -> tuple[int, Any, dict]:
        upload_id = request.query.get("upload_id", [""])[0]
        if upload_id not in self.uploads:
            raise ApiError(404, "NOT_FOUND", f"No such upload session: {upload_id}")
        _, name, fields, data = self.uploads[upload_id]
        chunk = request.body or b""
        ranged = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", request.headers.get("content-range", ""))
        if ranged is None:
            raise ApiError(400, "INVALID_ARGUMENT", "fake Cloud Storage: bad Content-Range")
        if ranged[1] is not None:
            del data[int(ranged[1]) :]  # a chunk sent again replaces what was received from there
            data += chunk
        if ranged[3] != "*" and len(data) == int(ranged[3]):
            del self.uploads[upload_id]
            return 200, self.put(bucket, name, bytes(data), fields), {}
        return 308, None, ({"Range": f"bytes=0-{len(data) - 1}"} if data else {})  # "resume incomplete"


def _multipart(request: RecordedRequest) -> tuple[dict[str, Any], bytes]:
    """The metadata and media parts of a `multipart/related` upload body."""
    boundary = re.search(r'boundary="?([^";]+)"?', request.headers["content-type"])[1].encode()
    parts = [part for part in request.body.split(b"--" + boundary) if part.strip(b"-\r\n")]
    metadata, media = (part.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for part in parts[:2])
    return json.loads(metadata), media
