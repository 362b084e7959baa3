"""Experiment tracking with ClearML that never fails or stalls a run.

    from components.common.tracking import track
    with track("train_model", params={"seed": 7}) as run:
        run.log_metrics({"roc_auc": 0.91})
        run.log_artifact("report", "report.html")

Every run is recorded in a ClearML offline session under `KEEL_TRACKING_DIR` (import it into a
server later with `Task.import_offline_session(zip)`). When ClearML credentials are configured
(clearml.conf or CLEARML_API_ACCESS_KEY/CLEARML_API_SECRET_KEY), the run is also mirrored live to
the server by a child process (`tracking_mirror`), and the run waits for it at most
`KEEL_TRACKING_TIMEOUT` seconds in all (for the task id and at the end). A server that does not
answer in time, or fails, is abandoned with a warning: the run goes on offline and keeps its
offline session, which holds everything. When the server got everything, the offline copy is
deleted. `KEEL_TRACKING=off` turns tracking off. Any tracking error is logged as a warning, never raised.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from components.common.config import settings
from components.common.logging import logger

_PROBE_TIMEOUT_S = 1.0  # how long an unreachable server may cost a run

if TYPE_CHECKING:  # both import ClearML only when a run starts
    from components.common.clearml_task import ClearMLTask
    from components.common.tracking_mirror import OnlineMirror


class Run:
    """One tracked run. `mode` is `online`, `offline` or `off`; `id` is the ClearML task id (the
    server's while the run is online, else the offline session's)."""

    def __init__(self, task: ClearMLTask | None = None, mirror: OnlineMirror | None = None) -> None:
        self._task = task  # the offline session, always
        self._mirror = mirror  # the task on the server, when one is configured
        self.session_dir: Path | None = task.offline_folder if task is not None else None
        self._closed = False

    @property
    def mode(self) -> str:
        if self._task is None:
            return "off"
        return "online" if self._mirror is not None and self._mirror.active else "offline"

    @property
    def id(self) -> str:
        if self._task is None:
            return ""
        online_id = self._mirror.task_id() if self._mirror is not None else None
        return online_id or self._task.id

    @property
    def session_zip(self) -> Path | None:
        """The offline session archive, once the run is closed (kept unless the server got everything)."""
        return self.session_dir.with_suffix(".zip") if self.session_dir else None

    def _record(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Record in the offline session, then send to the server; a call that fails offline is not sent."""
        if self._task is None or self._closed:
            return
        try:
            getattr(self._task, method)(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - tracking must never fail a run
            logger.warning("tracking: %s failed (%s); it is not recorded", method, error)
            return
        if self._mirror is not None:
            self._mirror.send(method, *args, **kwargs)

    def log_params(self, params: Mapping[str, Any], section: str = "params") -> None:
        self._record("log_params", dict(params), section)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, title: str = "metrics") -> None:
        self._record("log_metrics", dict(metrics), step, title)

    def log_artifact(self, name: str, artifact: str | Path | Mapping | Any) -> None:
        """Attach a file (path) or a small object (dict, DataFrame) to the run."""
        self._record("log_artifact", name, artifact)

    def log_model(
        self, path: str | Path, name: str, framework: str = "", metadata: Mapping[str, Any] = ()
    ) -> None:
        self._record("log_model", path, name, framework, dict(metadata))

    def set_tags(self, *tags: str) -> None:
        self._record("set_tags", *tags)

    def close(self) -> None:
        """Close the run: the server's task (waiting for it within the budget), then the offline session."""
        if self._task is None or self._closed:
            return
        self._closed = True
        try:
            online = self._mirror is not None and self._mirror.finish()
            self._task.close()
        except Exception as error:  # noqa: BLE001 - tracking must never fail a run
            logger.warning("tracking: closing the run failed (%s)", error)
            return
        if online:  # the server holds the run: the offline copy is redundant
            shutil.rmtree(self.session_dir, ignore_errors=True)
            self.session_zip.unlink(missing_ok=True)
            self.session_dir = None


def _credentials_configured() -> bool:
    if os.environ.get("CLEARML_API_ACCESS_KEY") and os.environ.get("CLEARML_API_SECRET_KEY"):
        return True
    from clearml.config import ConfigWrapper

    return bool(ConfigWrapper.get("api.credentials.access_key", None))


def _api_server() -> str:
    from clearml.config import ConfigWrapper

    return os.environ.get("CLEARML_API_HOST") or ConfigWrapper.get("api.api_server", "")


def _reachable(url: str, timeout_s: float) -> bool:
    """Whether a TCP connection to `url`'s host opens within `timeout_s` (name lookup included): a
    server that refuses, has no route, drops packets or does not resolve costs a run this second,
    not its whole tracking budget."""
    parts = urlsplit(url)
    address = (parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    opened = threading.Event()

    def connect() -> None:
        with contextlib.suppress(OSError), socket.create_connection(address, timeout=timeout_s):
            opened.set()

    threading.Thread(target=connect, daemon=True, name="keel-tracking-probe").start()
    return opened.wait(timeout_s)


def _start_mirror(budget_s: float, opening: Mapping[str, Any]) -> OnlineMirror | None:
    try:
        from components.common.tracking_mirror import OnlineMirror

        return OnlineMirror(budget_s, **opening)
    except Exception as error:  # noqa: BLE001 - tracking must never fail a run
        logger.warning("tracking: could not start the online mirror (%s); tracking goes on offline", error)
        return None


def start_run(name: str, params: Mapping[str, Any] | None = None, tags: tuple[str, ...] = ()) -> Run:
    """Start a tracked run named `name` (use `track` to have it closed for you)."""
    mirror = None
    try:
        config = settings()
        if config.tracking_mode == "off":
            return Run()
        from components.common.clearml_task import ClearMLTask

        opening = dict(
            name=name, project=config.tracking_project, tags=tuple(tags), cache_dir=str(config.tracking_dir)
        )
        task = ClearMLTask.open(**opening, offline=True)
        if config.tracking_mode == "auto" and _credentials_configured():
            server = _api_server()
            if _reachable(server, min(_PROBE_TIMEOUT_S, config.tracking_timeout_s)):
                # Once the offline session, the run's sure record, is open: the mirror's start-up
                # then competes with the run's work, not with tracking's own start-up.
                mirror = _start_mirror(config.tracking_timeout_s, opening)
            else:
                logger.warning(
                    "tracking: ClearML server %s is unreachable; tracking goes on offline under %s",
                    server or "(none configured)",
                    config.tracking_dir,
                )
        run = Run(task, mirror)
    except Exception as error:  # noqa: BLE001 - tracking must never fail a run
        logger.warning("tracking: could not start (%s); this run is not tracked", error)
        return Run()
    if mirror is not None:
        atexit.register(run.close)  # a run left open still ends within its budget
    if params:
        run.log_params(params)
    return run


@contextlib.contextmanager
def track(name: str, params: Mapping[str, Any] | None = None, tags: tuple[str, ...] = ()) -> Iterator[Run]:
    """A tracked run that is closed (and its offline session zipped) when the block ends."""
    run = start_run(name, params, tags)
    try:
        yield run
    finally:
        run.close()
        if run.session_zip:
            logger.info("tracking: offline session %s", run.session_zip)
