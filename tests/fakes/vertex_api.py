"""A loopback fake of the Vertex AI REST API (v1) for the real google-cloud-aiplatform client.

    with FakeVertexAPI() as api:
        aiplatform.init(project="p", location="us-central1", api_endpoint=api.endpoint,
                        api_transport="rest", credentials=AnonymousCredentials())
        ...
        api.calls("POST", "models:upload")  # the recorded requests, JSON bodies parsed

It records every request (method, path, query, headers, body) and answers, with JSON shaped like
Vertex AI's, the Model Registry calls (upload, get, listVersions, mergeVersionAliases), the endpoint
calls (create, get, list by display name, deployModel, undeployModel), pipeline job creation, the
schedule calls (create, get, list, pause, resume, delete) and operations: resource names carry the
project number, long-running operations come back already done, errors use Google's
`{"error": {"code", "message", "status"}}` form. Endpoints keep Vertex's traffic rules: a split adds
up to 100 ("0" naming the model being deployed), and a deployed model that still has traffic cannot
be undeployed unless the call's split takes it away. `failing_operations` and
`unfinished_operations` make an endpoint call's operation fail (as a deployment whose container
never becomes healthy does) or never finish, changing nothing; `slow_operations` make it answer
"not done" to its first polls. Extend it with `add_route` (tests/fakes/gcs_api.py
and tests/fakes/adc.py add Cloud Storage and OAuth token routes to the same server).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_LOCATION = r"/v1/projects/[^/]+/locations/([^/]+)"
_MODEL = _LOCATION + r"/models/([^/@:]+)(?:@([^/:]+))?"
_SCHEDULE = _LOCATION + r"/schedules/([^/:]+)"
_ENDPOINT = _LOCATION + r"/endpoints/([^/:]+)"
_MODEL_NAME = re.compile(r"projects/[^/]+/locations/[^/]+/models/([^/@]+)(?:@([^/]+))?")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # percent-decoded, without the query
    query: dict[str, list[str]]
    body: Any  # JSON parsed, a form as a dict, other text as is; None when there is none
    headers: dict[str, str] = field(default_factory=dict)  # names lowercased


class ApiError(Exception):
    """Raised by a route to answer with a Google API error."""

    def __init__(self, code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


Handler = Callable[..., tuple[int, Any]]


class FakeVertexAPI:
    """Vertex AI's REST API on 127.0.0.1 at a random port; `endpoint` is its base URL."""

    def __init__(self, project_number: str = "123456789012") -> None:
        self.project_number = project_number
        self.requests: list[RecordedRequest] = []
        self.models: dict[str, list[dict[str, Any]]] = {}  # model id -> its versions (Model JSON)
        self.operations: dict[str, dict[str, Any]] = {}
        self.pipeline_jobs: dict[str, dict[str, Any]] = {}  # resource name -> PipelineJob JSON
        self.schedules: dict[str, dict[str, Any]] = {}  # schedule id -> Schedule JSON
        self.endpoints: dict[str, dict[str, Any]] = {}  # endpoint id -> Endpoint JSON
        # Endpoint calls (createEndpoint, deployModel, undeployModel) whose operation ends with this
        # (code, message) error, or never finishes; either way the call changes nothing.
        self.failing_operations: dict[str, tuple[int, str]] = {}
        self.unfinished_operations: set[str] = set()
        self.slow_operations: dict[str, int] = {}  # call -> polls its operation answers "not done" to
        self._polls_left: dict[str, int] = {}  # operation name -> polls still answered "not done"
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.add_route("POST", _LOCATION + r"/models:upload", self._upload)
        self.add_route("GET", _LOCATION + r"/models/([^/@:]+):listVersions", self._list_versions)
        self.add_route("POST", _MODEL + r":mergeVersionAliases", self._merge_version_aliases)
        self.add_route("GET", _MODEL, self._get_model)
        # The GAPIC clients over REST poll operations at /ui/... (the first of their HTTP rules).
        self.add_route(
            "GET", r"/(?:v1|ui)/(projects/[^/]+/locations/[^/]+/.*operations/[^/]+)", self._get_operation
        )
        self.add_route("POST", _LOCATION + r"/pipelineJobs", self._create_pipeline_job)
        self.add_route("POST", _LOCATION + r"/schedules", self._create_schedule)
        self.add_route("GET", _LOCATION + r"/schedules", self._list_schedules)
        self.add_route("GET", _SCHEDULE, self._get_schedule)
        self.add_route("POST", _SCHEDULE + r":pause", self._set_schedule_state("PAUSED"))
        self.add_route("POST", _SCHEDULE + r":resume", self._set_schedule_state("ACTIVE"))
        self.add_route("DELETE", _SCHEDULE, self._delete_schedule)
        self.add_route("POST", _LOCATION + r"/endpoints", self._create_endpoint)
        self.add_route("GET", _LOCATION + r"/endpoints", self._list_endpoints)
        self.add_route("GET", _ENDPOINT, self._get_endpoint)
        self.add_route("POST", _ENDPOINT + r":deployModel", self._deploy_model)
        self.add_route("POST", _ENDPOINT + r":undeployModel", self._undeploy_model)

    # -- server ----------------------------------------------------------------------------------
    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer `method` requests whose path fully matches `pattern` with
        `handler(request, *groups) -> (HTTP status, JSON body)`; earlier routes win."""
        self._routes.append((method, re.compile(pattern), handler))

    @property
    def endpoint(self) -> str:
        assert self._server, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeVertexAPI:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeVertexAPI:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def calls(self, method: str, path_pattern: str) -> list[RecordedRequest]:
        """The recorded `method` requests whose path contains a match of `path_pattern`."""
        return [
            request
            for request in self.requests
            if request.method == method and re.search(path_pattern, request.path)
        ]

    def dispatch(self, request: RecordedRequest) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(request)
            for method, pattern, handler in self._routes:
                if method == request.method and (match := pattern.fullmatch(request.path)):
                    try:
                        return handler(request, *match.groups())
                    except ApiError as error:
                        return error.code, _error(error.code, error.status, error.message)
            return 404, _error(
                404, "NOT_FOUND", f"fake Vertex AI: no route for {request.method} {request.path}"
            )

    # -- model registry ---------------------------------------------------------------------------
    def location_name(self, location: str) -> str:
        return f"projects/{self.project_number}/locations/{location}"

    def model_name(self, location: str, model_id: str) -> str:
        return f"{self.location_name(location)}/models/{model_id}"

    def _versions_of(self, model_id: str) -> list[dict[str, Any]]:
        if model_id not in self.models:
            raise ApiError(404, "NOT_FOUND", f"Model {model_id} does not exist.")
        return self.models[model_id]

    def _version(self, model_id: str, ref: str | None) -> dict[str, Any]:
        ref = ref or "default"
        for version in self._versions_of(model_id):
            if ref in (version["versionId"], *version["versionAliases"]):
                return version
        raise ApiError(404, "NOT_FOUND", f"Model version {model_id}@{ref} does not exist.")

    def _upload(self, request: RecordedRequest, location: str) -> tuple[int, Any]:
        body = request.body
        if parent := body.get("parentModel"):
            model_id = parent.rsplit("/", 1)[-1]
            versions = self._versions_of(model_id)
        else:
            model_id = body.get("modelId") or str(next(self._ids))
            if model_id in self.models:
                raise ApiError(409, "ALREADY_EXISTS", f"Model {model_id} already exists.")
            versions = self.models[model_id] = []
        now = rfc3339_now()
        aliases = list(body["model"].get("versionAliases", []))
        for alias in aliases:  # a new default version takes the alias over
            for version in versions:
                if alias in version["versionAliases"]:
                    version["versionAliases"].remove(alias)
        version_id = str(len(versions) + 1)
        versions.append(
            {
                **body["model"],
                "name": self.model_name(location, model_id),
                "versionId": version_id,
                "versionAliases": aliases,
                "createTime": versions[0]["createTime"] if versions else now,
                "updateTime": now,
                "versionCreateTime": now,
                "versionUpdateTime": now,
                "etag": f"etag-{next(self._ids)}",
                "supportedDeploymentResourcesTypes": ["DEDICATED_RESOURCES"],
                "supportedInputStorageFormats": ["jsonl", "csv", "bigquery", "file-list"],
                "supportedOutputStorageFormats": ["jsonl", "bigquery"],
            }
        )
        operation = self._done_operation(
            self.model_name(location, model_id),
            "UploadModelOperationMetadata",
            {
                "@type": "type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse",
                "model": self.model_name(location, model_id),
                "modelVersionId": version_id,
            },
        )
        return 200, operation

    def _get_model(self, request: RecordedRequest, location: str, model_id: str, ref: str | None):
        return 200, self._version(model_id, ref)

    def _list_versions(self, request: RecordedRequest, location: str, model_id: str):
        return 200, {"models": self._versions_of(model_id)}

    def _merge_version_aliases(self, request: RecordedRequest, location: str, model_id: str, ref: str | None):
        target = self._version(model_id, ref)
        for change in request.body.get("versionAliases", []):
            alias = change.removeprefix("-")
            if change.startswith("-"):
                if alias == "default":
                    raise ApiError(400, "INVALID_ARGUMENT", "The default alias cannot be removed.")
                if alias in target["versionAliases"]:
                    target["versionAliases"].remove(alias)
                continue
            holder = next(
                (version for version in self.models[model_id] if alias in version["versionAliases"]), None
            )
            if holder is not None and holder is not target:
                raise ApiError(
                    400,
                    "INVALID_ARGUMENT",
                    f"Alias {alias} is already used by version {holder['versionId']} of model {model_id}.",
                )
            if holder is None:
                target["versionAliases"].append(alias)
        target["versionUpdateTime"] = rfc3339_now()
        return 200, target

    def _get_operation(self, request: RecordedRequest, name: str):
        if name not in self.operations:
            raise ApiError(404, "NOT_FOUND", f"Operation {name} does not exist.")
        if self._polls_left.get(name):
            self._polls_left[name] -= 1
            return 200, _running(self.operations[name])
        return 200, self.operations[name]

    def _done_operation(self, resource: str, metadata_type: str, response: dict[str, Any]) -> dict[str, Any]:
        return self._operation(resource, metadata_type, {"done": True, "response": response})

    def _operation(self, resource: str, metadata_type: str, outcome: dict[str, Any]) -> dict[str, Any]:
        now = rfc3339_now()
        operation = {
            "name": f"{resource}/operations/{next(self._ids)}",
            "metadata": {
                "@type": f"type.googleapis.com/google.cloud.aiplatform.v1.{metadata_type}",
                "genericMetadata": {"createTime": now, "updateTime": now},
            },
            **outcome,
        }
        self.operations[operation["name"]] = operation
        return operation

    def _held_operation(self, call: str, resource: str, metadata_type: str) -> dict[str, Any] | None:
        """The operation of `call` when the test made it fail or never finish; None otherwise."""
        if call in self.failing_operations:
            code, message = self.failing_operations[call]
            return self._operation(
                resource, metadata_type, {"done": True, "error": {"code": code, "message": message}}
            )
        if call in self.unfinished_operations:
            return self._operation(resource, metadata_type, {"done": False})
        return None

    def _slowed(self, call: str, operation: dict[str, Any]) -> dict[str, Any]:
        """`operation` as first answered: still running when the test made `call` slow."""
        if not self.slow_operations.get(call):
            return operation
        self._polls_left[operation["name"]] = self.slow_operations[call]
        return _running(operation)

    # -- pipelines --------------------------------------------------------------------------------
    def _create_pipeline_job(self, request: RecordedRequest, location: str) -> tuple[int, Any]:
        job_id = request.query.get("pipelineJobId", [f"pipeline-job-{next(self._ids)}"])[0]
        name = f"{self.location_name(location)}/pipelineJobs/{job_id}"
        if name in self.pipeline_jobs:
            raise ApiError(409, "ALREADY_EXISTS", f"PipelineJob {job_id} already exists.")
        now = rfc3339_now()
        self.pipeline_jobs[name] = {
            **request.body,
            "name": name,
            "state": "PIPELINE_STATE_PENDING",
            "createTime": now,
            "updateTime": now,
        }
        return 200, self.pipeline_jobs[name]

    def _schedule(self, schedule_id: str) -> dict[str, Any]:
        if schedule_id not in self.schedules:
            raise ApiError(404, "NOT_FOUND", f"Schedule {schedule_id} does not exist.")
        return self.schedules[schedule_id]

    def _create_schedule(self, request: RecordedRequest, location: str) -> tuple[int, Any]:
        schedule_id = str(next(self._ids))
        now = rfc3339_now()
        self.schedules[schedule_id] = {
            **request.body,
            "name": f"{self.location_name(location)}/schedules/{schedule_id}",
            "state": "ACTIVE",
            "createTime": now,
            "updateTime": now,
            "startTime": request.body.get("startTime", now),
            "nextRunTime": now,
        }
        return 200, self.schedules[schedule_id]

    def _list_schedules(self, request: RecordedRequest, location: str) -> tuple[int, Any]:
        prefix = f"{self.location_name(location)}/"
        return 200, {"schedules": [s for s in self.schedules.values() if s["name"].startswith(prefix)]}

    def _get_schedule(self, request: RecordedRequest, location: str, schedule_id: str) -> tuple[int, Any]:
        return 200, self._schedule(schedule_id)

    def _set_schedule_state(self, state: str) -> Handler:
        def handler(request: RecordedRequest, location: str, schedule_id: str) -> tuple[int, Any]:
            schedule = self._schedule(schedule_id)
            schedule.update(state=state, updateTime=rfc3339_now())
            return 200, {}

        return handler

    def _delete_schedule(self, request: RecordedRequest, location: str, schedule_id: str) -> tuple[int, Any]:
        name = self._schedule(schedule_id)["name"]
        del self.schedules[schedule_id]
        empty = {"@type": "type.googleapis.com/google.protobuf.Empty"}
        return 200, self._done_operation(name, "DeleteOperationMetadata", empty)

    # -- endpoints ----------------------------------------------------------------------------------
    def _endpoint(self, endpoint_id: str) -> dict[str, Any]:
        if endpoint_id not in self.endpoints:
            raise ApiError(404, "NOT_FOUND", f"Endpoint {endpoint_id} does not exist.")
        return self.endpoints[endpoint_id]

    def _create_endpoint(self, request: RecordedRequest, location: str) -> tuple[int, Any]:
        endpoint_id = request.query.get("endpointId", [str(next(self._ids))])[0]
        name = f"{self.location_name(location)}/endpoints/{endpoint_id}"
        if not request.body.get("displayName"):
            raise ApiError(400, "INVALID_ARGUMENT", "Endpoint display name is required.")
        if endpoint_id in self.endpoints:
            raise ApiError(409, "ALREADY_EXISTS", f"Endpoint {endpoint_id} already exists.")
        held = self._held_operation("createEndpoint", name, "CreateEndpointOperationMetadata")
        if held:
            return 200, held
        now = rfc3339_now()
        self.endpoints[endpoint_id] = {
            **request.body,
            "name": name,
            "deployedModels": [],
            "trafficSplit": {},
            "etag": f"etag-{next(self._ids)}",
            "createTime": now,
            "updateTime": now,
        }
        response = {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.Endpoint",
            **self.endpoints[endpoint_id],
        }
        return 200, self._slowed(
            "createEndpoint", self._done_operation(name, "CreateEndpointOperationMetadata", response)
        )

    def _list_endpoints(self, request: RecordedRequest, location: str) -> tuple[int, Any]:
        wanted = request.query.get("filter", [""])[0]
        match = re.fullmatch(r'display_name="([^"]*)"', wanted)
        if wanted and not match:
            raise ApiError(400, "INVALID_ARGUMENT", f"fake Vertex AI: unsupported endpoint filter {wanted!r}")
        prefix = f"{self.location_name(location)}/"
        found = [
            endpoint
            for endpoint in self.endpoints.values()
            if endpoint["name"].startswith(prefix) and (not match or endpoint["displayName"] == match[1])
        ]
        return 200, {"endpoints": found}

    def _get_endpoint(self, request: RecordedRequest, location: str, endpoint_id: str) -> tuple[int, Any]:
        return 200, self._endpoint(endpoint_id)

    @staticmethod
    def _check_split(split: dict[str, int], known: set[str]) -> None:
        unknown = sorted(set(split) - known)
        if unknown:
            raise ApiError(400, "INVALID_ARGUMENT", f"Traffic split names unknown DeployedModels {unknown}.")
        if sum(split.values()) != 100:
            raise ApiError(400, "INVALID_ARGUMENT", f"Traffic split {split} must add up to 100.")

    def _deploy_model(self, request: RecordedRequest, location: str, endpoint_id: str) -> tuple[int, Any]:
        endpoint = self._endpoint(endpoint_id)
        wanted = request.body.get("deployedModel", {})
        model = _MODEL_NAME.fullmatch(wanted.get("model", ""))
        if not model:
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid model resource name {wanted.get('model')!r}.")
        version = self._version(*model.groups())
        resources = wanted.get("dedicatedResources", {})
        low, high = resources.get("minReplicaCount", 0), resources.get("maxReplicaCount", 0)
        if not resources.get("machineSpec", {}).get("machineType") or low < 1 or (high and high < low):
            raise ApiError(400, "INVALID_ARGUMENT", f"Invalid dedicated resources {resources}.")
        split = request.body.get("trafficSplit", {})
        if split:
            self._check_split(split, {"0", *(deployed["id"] for deployed in endpoint["deployedModels"])})
        held = self._held_operation("deployModel", endpoint["name"], "DeployModelOperationMetadata")
        if held:
            return 200, held
        deployed = {
            **wanted,
            "id": str(next(self._ids)),
            "model": wanted["model"].split("@")[0],
            "modelVersionId": version["versionId"],
            "createTime": rfc3339_now(),
        }
        endpoint["deployedModels"].append(deployed)
        if split:
            endpoint["trafficSplit"] = {deployed["id"] if key == "0" else key: v for key, v in split.items()}
        endpoint["updateTime"] = rfc3339_now()
        response = {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeployModelResponse",
            "deployedModel": deployed,
        }
        return 200, self._slowed(
            "deployModel", self._done_operation(endpoint["name"], "DeployModelOperationMetadata", response)
        )

    def _undeploy_model(self, request: RecordedRequest, location: str, endpoint_id: str) -> tuple[int, Any]:
        endpoint = self._endpoint(endpoint_id)
        deployed_id = request.body.get("deployedModelId", "")
        others = {deployed["id"] for deployed in endpoint["deployedModels"]} - {deployed_id}
        if deployed_id not in {deployed["id"] for deployed in endpoint["deployedModels"]}:
            raise ApiError(404, "NOT_FOUND", f"DeployedModel {deployed_id} is not deployed to the Endpoint.")
        split = request.body.get("trafficSplit", {})
        if split:
            self._check_split(split, others)
        elif others and endpoint["trafficSplit"].get(deployed_id, 0):
            raise ApiError(
                400,
                "FAILED_PRECONDITION",
                f"DeployedModel {deployed_id} has traffic; set a traffic split that takes it away.",
            )
        held = self._held_operation("undeployModel", endpoint["name"], "UndeployModelOperationMetadata")
        if held:
            return 200, held
        endpoint["deployedModels"] = [d for d in endpoint["deployedModels"] if d["id"] != deployed_id]
        remaining = split or {key: v for key, v in endpoint["trafficSplit"].items() if key != deployed_id}
        endpoint["trafficSplit"] = remaining if others else {}
        endpoint["updateTime"] = rfc3339_now()
        response = {"@type": "type.googleapis.com/google.cloud.aiplatform.v1.UndeployModelResponse"}
        return 200, self._slowed(
            "undeployModel",
            self._done_operation(endpoint["name"], "UndeployModelOperationMetadata", response),
        )


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _running(operation: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in operation.items() if key not in ("done", "response", "error")}


def _error(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {key: values[0] for key, values in parse_qs(raw.decode()).items()}
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode()


def _handler_class(api: FakeVertexAPI) -> type[BaseHTTPRequestHandler]:
    """Serve `api.dispatch`: a route answers (status, payload) or (status, payload, headers), where
    the payload is JSON-able, `bytes` (sent as is) or None (no body). Upload endpoints (/upload/...)
    receive their body as bytes. A crash in a route is answered 501, a permanent error, so that
    clients report the gap in the fake instead of retrying."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

        def _request(self) -> RecordedRequest:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            media = url.path.startswith("/upload/")
            return RecordedRequest(
                method=self.command,
                path=unquote(url.path),
                query=parse_qs(url.query),
                body=raw if media else _parse_body(raw, self.headers.get("Content-Type", "")),
                headers={name.lower(): value for name, value in self.headers.items()},
            )

        def _answer(self) -> None:
            try:
                status, payload, headers = (*api.dispatch(self._request()), {})[:3]
            except Exception as error:  # a gap in the fake
                status, payload, headers = 501, _error(501, "UNIMPLEMENTED", f"fake: {error!r}"), {}
            if payload is None:
                data, content_type = b"", None
            elif isinstance(payload, bytes):
                data, content_type = payload, "application/octet-stream"
            else:
                data, content_type = json.dumps(payload).encode(), "application/json; charset=UTF-8"
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, *_: object) -> None:  # keep test output clean
            pass

    return Handler
