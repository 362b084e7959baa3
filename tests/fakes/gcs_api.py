"""Cloud Storage buckets for the real google-cloud-storage client, served by a loopback fake.

    storage = FakeCloudStorage(api, "my-bucket")       # api: a started FakeVertexAPI
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", api.endpoint)

Adds the JSON API's bucket routes to the fake's server: get, create (`POST /storage/v1/b`), and
the bucket IAM policy get and set, answered with the resources Cloud Storage returns; a bucket
that does not exist gets a 404 in Google's error form.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.vertex_api import ApiError, FakeVertexAPI, RecordedRequest, rfc3339_now

_BUCKET = r"/storage/v1/b/([^/]+)"


class FakeCloudStorage:
    """Buckets (name -> Bucket JSON) and their IAM policies, on `api`'s server."""

    def __init__(self, api: FakeVertexAPI, *existing: str, location: str = "EUROPE-WEST4") -> None:
        self.project_number = api.project_number
        self.buckets: dict[str, dict[str, Any]] = {}
        self.policies: dict[str, dict[str, Any]] = {}
        for name in existing:
            self._add(name, location)
        api.add_route("GET", _BUCKET, self._get)
        api.add_route("POST", r"/storage/v1/b", self._create)
        api.add_route("GET", _BUCKET + "/iam", self._get_policy)
        api.add_route("PUT", _BUCKET + "/iam", self._set_policy)

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
