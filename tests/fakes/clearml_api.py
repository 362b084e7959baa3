"""A loopback fake of a ClearML server (API and files server) for the real ClearML client.

    with FakeClearML() as server:
        os.environ.update(server.client_environment())   # CLEARML_API_HOST, ..._ACCESS_KEY, ...
        ...                                             # track(...) online
        server.tasks, server.events, server.file(uri)   # what the client recorded

It answers, in the API server's `{"meta": ..., "data": ...}` envelope, the calls the client makes
to open a task, record parameters, scalars, artifacts and a model, and complete it (found by
running the client against it): `auth.login` (Basic auth with the fake's key and secret; a JWT
naming the API version), `debug.ping` (the health probe, without credentials),
`projects.get_all|create|get_by_id`, `tasks.create|get_by_id|get_all|edit|
started|completed|add_or_update_artifacts|add_or_update_model`, `events.add_batch` (JSON lines) and
`models.create|edit|get_by_id`. Any other endpoint gets the server's 400 "invalid endpoint"
answer and is listed in `unknown`. The files server lives under `/files`: a multipart POST stores
each part as `<container path>/<part name>` (`files`, `file(uri)`).

`misbehave(kind, after=N)` makes every API call after the first N (to one endpoint, with
`endpoint=`) misbehave the way broken servers do: `hang` (never answers), `drop` (closes the
connection without an answer), `error` (HTTP 500), `unavailable` (HTTP 503, "in maintenance"),
`slow` (answers after `delay_s`).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import itertools
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt

API_VERSION = "2.23"
SERVER_VERSION = "1.16.0"
ACCESS_KEY, SECRET_KEY = "keel-test-key", "keel-test-secret"
_API_CALL = re.compile(r"/(?:v([\d.]+)/)?(\w+)\.(\w+)")
_KINDS = ("hang", "drop", "error", "unavailable", "slow")


@dataclass(frozen=True)
class ApiCall:
    endpoint: str  # e.g. "tasks.create"
    body: Any  # the JSON body (a list of objects for a batch call)


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class FakeClearML:
    """A ClearML API and files server on 127.0.0.1 at a random port."""

    def __init__(self) -> None:
        self.requests: list[ApiCall] = []
        self.unknown: list[str] = []
        self.projects: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.models: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self._misbehaviour: tuple[str, int, float, str | None] | None = None
        self._calls_seen = itertools.count()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- server ----------------------------------------------------------------------------------
    @property
    def api_host(self) -> str:
        assert self._server, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def files_host(self) -> str:
        return f"{self.api_host}/files"

    def client_environment(self) -> dict[str, str]:
        """The environment variables that point the ClearML client at this server."""
        return client_environment(self.api_host)

    def file(self, uri: str) -> bytes:
        """The bytes stored on the files server at `uri` (an artifact's or a model's URI)."""
        prefix = f"{self.files_host}/"
        assert uri.startswith(prefix), f"{uri} is not on this files server"
        return self.files[uri.removeprefix(prefix)]

    def start(self) -> FakeClearML:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging answers
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeClearML:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def misbehave(
        self, kind: str, after: int = 0, delay_s: float = 1.0, endpoint: str | None = None
    ) -> FakeClearML:
        """Answer the first `after` API calls (to `endpoint` only, if given) normally, then
        misbehave in the way `kind` says."""
        assert kind in _KINDS, kind
        self._misbehaviour = (kind, after, delay_s, endpoint)
        return self

    def misbehaviour_for(self, endpoint: str) -> tuple[str, float] | None:
        """How to misbehave on this call to `endpoint`, if at all."""
        if self._misbehaviour is None:
            return None
        kind, after, delay_s, only = self._misbehaviour
        if only not in (None, endpoint) or next(self._calls_seen) < after:
            return None
        return kind, delay_s

    def calls(self, endpoint: str) -> list[ApiCall]:
        return [call for call in self.requests if call.endpoint == endpoint]

    def hang(self) -> None:
        self._stopping.wait()

    # -- API --------------------------------------------------------------------------------------
    def api(self, call: ApiCall, authorization: str) -> tuple[int, Any]:
        with self._lock:
            if call.endpoint == "auth.login":
                return self._login(authorization)
            if not authorization.startswith("Bearer ") and call.endpoint != "debug.ping":
                raise _Refused(401, "Unauthorized (missing credentials)")
            route = _ROUTES.get(call.endpoint)
            if route is None:
                self.unknown.append(call.endpoint)
                raise _Refused(400, f"Invalid endpoint (endpoint {call.endpoint} does not exist)")
            return 200, route(self, call.body or {})

    def _login(self, authorization: str) -> tuple[int, Any]:
        expected = base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
        if authorization != f"Basic {expected}":
            raise _Refused(401, "Unauthorized (invalid credentials)")
        claims = {
            "exp": int(time.time()) + 3600,
            "api_version": API_VERSION,
            "server_version": SERVER_VERSION,
            "env": "test",
            "feature_set": "basic",
        }
        return 200, {"token": jwt.encode(claims, "fake-clearml-signing-key-32-bytes!", algorithm="HS256")}

    def _new_id(self) -> str:
        return uuid.uuid4().hex

    def _task(self, task_id: str) -> dict[str, Any]:
        if task_id not in self.tasks:
            raise _Refused(400, f"Invalid task id (id={task_id})")
        return self.tasks[task_id]

    # projects
    def _projects_get_all(self, body: dict) -> dict:
        pattern = body.get("name")
        found = [p for p in self.projects.values() if not pattern or re.search(pattern, p["name"])]
        return {"projects": found}

    def _projects_create(self, body: dict) -> dict:
        project_id = self._new_id()
        self.projects[project_id] = {
            "id": project_id,
            "name": body["name"],
            "description": body.get("description", ""),
        }
        return {"id": project_id}

    def _projects_get_by_id(self, body: dict) -> dict:
        if body["project"] not in self.projects:
            raise _Refused(400, f"Invalid project id (id={body['project']})")
        return {"project": self.projects[body["project"]]}

    # tasks
    def _tasks_create(self, body: dict) -> dict:
        task_id = self._new_id()
        now = _now()
        self.tasks[task_id] = {
            "hyperparams": {},
            "configuration": {},
            "execution": {"artifacts": []},
            "output": {},
            "models": {"input": [], "output": []},
            "tags": [],
            "system_tags": [],
            **body,
            "id": task_id,
            "status": "created",
            "created": now,
            "last_update": now,
        }
        return {"id": task_id}

    def _tasks_get_by_id(self, body: dict) -> dict:
        return {"task": self._task(body["task"])}

    def _tasks_get_all(self, body: dict) -> dict:
        wanted = body.get("id")
        wanted = [wanted] if isinstance(wanted, str) else wanted
        return {"tasks": [task for task in self.tasks.values() if not wanted or task["id"] in wanted]}

    def _tasks_edit(self, body: dict) -> dict:
        task = self._task(body["task"])
        fields = {key: value for key, value in body.items() if key not in ("task", "force", "method")}
        task.update(fields, last_update=_now())
        return {"updated": 1, "fields": fields}

    def _tasks_add_or_update_artifacts(self, body: dict) -> dict:
        artifacts = self._task(body["task"])["execution"].setdefault("artifacts", [])
        for artifact in body["artifacts"]:
            artifacts[:] = [a for a in artifacts if a["key"] != artifact["key"]] + [artifact]
        return {"updated": 1}

    def _tasks_add_or_update_model(self, body: dict) -> dict:
        models = self._task(body["task"])["models"].setdefault(body.get("type", "output"), [])
        entry = {"name": body["name"], "model": body["model"]}
        models[:] = [m for m in models if m["name"] != body["name"]] + [entry]
        return {"updated": 1}

    def _set_status(status: str):  # noqa: N805 - builds a route
        def route(self: FakeClearML, body: dict) -> dict:
            task = self._task(body["task"])
            task.update(status=status, status_reason=body.get("status_reason", ""), last_update=_now())
            return {"updated": 1, "fields": {"status": status}}

        return route

    # events
    def _events_add_batch(self, events: list[dict[str, Any]]) -> dict:
        self.events.extend(events)
        return {"added": len(events), "errors": 0, "errors_info": {}}

    # models
    def _models_create(self, body: dict) -> dict:
        model_id = self._new_id()
        self.models[model_id] = {**body, "id": model_id, "created": _now(), "ready": body.get("ready", False)}
        return {"id": model_id, "created": True}

    def _models_edit(self, body: dict) -> dict:
        model = self._model(body["model"])
        model.update({key: value for key, value in body.items() if key not in ("model", "method")})
        return {"updated": 1, "fields": {}}

    def _models_get_by_id(self, body: dict) -> dict:
        return {"model": self._model(body["model"])}

    def _model(self, model_id: str) -> dict[str, Any]:
        if model_id not in self.models:
            raise _Refused(400, f"Invalid model id (id={model_id})")
        return self.models[model_id]

    # -- files ------------------------------------------------------------------------------------
    def upload(self, container: str, content_type: str, body: bytes) -> tuple[int, Any]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        stored = {}
        with self._lock:
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                path = "/".join(piece for piece in f"{container}/{name}".split("/") if piece)
                self.files[path] = stored[path] = part.get_payload(decode=True)
        return 200, {"stored": sorted(stored)}


_ROUTES = {
    "debug.ping": lambda server, body: {"msg": "ClearML server"},  # a health probe
    "projects.get_all": FakeClearML._projects_get_all,
    "projects.create": FakeClearML._projects_create,
    "projects.get_by_id": FakeClearML._projects_get_by_id,
    "tasks.create": FakeClearML._tasks_create,
    "tasks.get_by_id": FakeClearML._tasks_get_by_id,
    "tasks.get_all": FakeClearML._tasks_get_all,
    "tasks.edit": FakeClearML._tasks_edit,
    "tasks.add_or_update_artifacts": FakeClearML._tasks_add_or_update_artifacts,
    "tasks.add_or_update_model": FakeClearML._tasks_add_or_update_model,
    "tasks.started": FakeClearML._set_status("in_progress"),
    "tasks.completed": FakeClearML._set_status("completed"),
    "events.add_batch": FakeClearML._events_add_batch,
    "models.create": FakeClearML._models_create,
    "models.edit": FakeClearML._models_edit,
    "models.get_by_id": FakeClearML._models_get_by_id,
}


def client_environment(api_host: str) -> dict[str, str]:
    """The environment variables that point the ClearML client at a server on `api_host`, with
    this fake's credentials (its files server under `/files`)."""
    return {
        "CLEARML_API_HOST": api_host,
        "CLEARML_WEB_HOST": api_host,
        "CLEARML_FILES_HOST": f"{api_host}/files",
        "CLEARML_API_ACCESS_KEY": ACCESS_KEY,
        "CLEARML_API_SECRET_KEY": SECRET_KEY,
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


def _envelope(endpoint: str, version: str, code: int, message: str, data: Any) -> dict[str, Any]:
    return {
        "meta": {
            "id": uuid.uuid4().hex,
            "trx": uuid.uuid4().hex,
            "endpoint": {"name": endpoint, "requested_version": version, "actual_version": version},
            "result_code": code,
            "result_subcode": 0,
            "result_msg": message,
            "error_stack": None,
        },
        "data": data,
    }


def _parse(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if content_type.startswith("application/json-lines"):
        return [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    return json.loads(raw)


def _handler_class(server: FakeClearML) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _answer(self) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.command == "POST" and (path == "/files" or path.startswith("/files/")):
                self._send(
                    *server.upload(path.removeprefix("/files"), self.headers.get("Content-Type", ""), raw)
                )
                return
            match = _API_CALL.fullmatch(path)
            if not match:
                self._send(404, {"error": f"no such path {path}"})
                return
            version, service, action = match.groups()
            endpoint = f"{service}.{action}"
            call = ApiCall(endpoint, _parse(raw, self.headers.get("Content-Type", "")))
            server.requests.append(call)
            if (misbehaviour := server.misbehaviour_for(endpoint)) and self._misbehave(
                *misbehaviour, endpoint
            ):
                return
            try:
                status, data = server.api(call, self.headers.get("Authorization", ""))
                message = "OK"
            except _Refused as refusal:
                status, data, message = refusal.code, {}, str(refusal)
            except Exception as error:  # a gap in the fake: a permanent error, never retried
                status, data, message = 400, {}, f"fake ClearML: {error!r}"
            self._send(status, _envelope(endpoint, version or API_VERSION, status, message, data))

        def _misbehave(self, kind: str, delay_s: float, endpoint: str) -> bool:
            """Misbehave; True when no answer should follow."""
            if kind == "hang":
                server.hang()
                self.close_connection = True
                return True
            if kind == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return True
            if kind in ("error", "unavailable"):
                code = 500 if kind == "error" else 503
                self._send(code, _envelope(endpoint, API_VERSION, code, "General data error (fake)", {}))
                return True
            time.sleep(delay_s)  # slow: then answer normally
            return False

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *_: object) -> None:
            pass

    return Handler
