"""The online half of tracking: the run's ClearML task on a server, kept in a process of its own.

A tracked run records everything in its offline session, in-process, and sends each call to this
process too (`OnlineMirror.send` never waits). The run waits for the mirror only when it needs an
answer, the server's task id or the end of the run, and for at most `budget_s` seconds in all.
A server that never answers, hangs half-way, answers slowly, fails or drops the connection thus
costs a run at most its budget: the mirror is then killed, with ClearML's own retries (some of
them endless) and its exit hooks, and the offline session is the run's record.

The mirror process (`python -m components.common.tracking_mirror`) reads pickled calls on stdin
and answers on stdout: ("started", task id), ("closed", None) or ("failed", reason).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from components.common.clearml_task import OFFLINE_SWITCHES, PARENT_TASK_MARKS, ClearMLTask
from components.common.logging import logger

_EXIT_GRACE_S = 0.5  # for the mirror to exit by itself once it has closed the task


class OnlineMirror:
    """The run's task on the ClearML server, in a child process the run never waits on for long."""

    def __init__(
        self, budget_s: float, name: str, project: str, tags: tuple[str, ...], cache_dir: str
    ) -> None:
        self.budget_s = self.budget_left_s = budget_s
        self.failure: str | None = None
        self._task_id: str | None = None
        self._failing = threading.Lock()
        self._started = threading.Event()
        self._closed = threading.Event()
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_mirror_environment(),
        )
        threading.Thread(target=self._write, daemon=True, name="keel-tracking-mirror-out").start()
        threading.Thread(target=self._read, daemon=True, name="keel-tracking-mirror-in").start()
        self.send("open", name=name, project=project, tags=tags, cache_dir=cache_dir)

    @property
    def active(self) -> bool:
        return self.failure is None

    def send(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Ask the mirror to call `ClearMLTask.<method>(*args, **kwargs)`; does not wait."""
        if not self.active:
            return
        try:
            self._outbox.put(pickle.dumps((method, args, kwargs)))
        except Exception as error:  # noqa: BLE001 - e.g. an object that cannot be pickled
            self.abandon(f"{method} could not be sent to it ({error})")

    def task_id(self) -> str | None:
        """The task's id on the server, once it is created; None if the mirror was abandoned."""
        self._wait(self._started, "creating the task")
        return self._task_id if self.active else None

    def finish(self) -> bool:
        """Close the task on the server; True when the server holds everything that was sent."""
        self.send("close")
        self._outbox.put(None)
        self._wait(self._closed, "closing the task")
        if not self.active:
            return False
        try:
            self._process.wait(timeout=_EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
        return True

    def abandon(self, reason: str) -> None:
        """Stop mirroring: kill the mirror process and say why, once."""
        with self._failing:
            if not self.active:
                return
            self.failure = reason
        self._process.kill()
        self._started.set()
        self._closed.set()
        logger.warning(
            "tracking: online tracking stopped (%s); tracking goes on offline, and the offline "
            "session keeps the whole run",
            reason,
        )

    def _wait(self, event: threading.Event, doing: str) -> None:
        started = time.monotonic()
        answered = event.wait(max(self.budget_left_s, 0.0))
        self.budget_left_s -= time.monotonic() - started
        if not answered:
            self.abandon(
                f"the server did not finish {doing} within the run's tracking budget, "
                f"KEEL_TRACKING_TIMEOUT={self.budget_s:g} s in all"
            )

    def _write(self) -> None:
        pipe = self._process.stdin
        try:
            while (message := self._outbox.get()) is not None:
                pipe.write(message)
                pipe.flush()
            pipe.close()
        except OSError as error:
            self.abandon(f"the mirror process stopped reading ({error})")

    def _read(self) -> None:
        pipe = self._process.stdout
        try:
            while True:
                kind, value = pickle.load(pipe)
                if kind == "started":
                    self._task_id = value
                    self._started.set()
                elif kind == "closed":
                    self._closed.set()
                    return
                else:
                    self.abandon(value)
                    return
        except Exception:  # noqa: BLE001 - EOF or garbage: the process died
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=1)
            self.abandon(f"the mirror process ended unexpectedly (exit code {self._process.returncode})")


def _mirror_environment() -> dict[str, str]:
    """This process's environment, minus ClearML's marks of a parent task and of offline mode,
    plus this package on the path; `_KFP_RUNTIME` keeps `import components` to the common part."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in (*PARENT_TASK_MARKS, *OFFLINE_SWITCHES)
    }
    package_root = str(Path(__file__).resolve().parents[2])
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [package_root, environment.get("PYTHONPATH", "")])
    )
    environment["_KFP_RUNTIME"] = "true"
    return environment


# -- the mirror process ---------------------------------------------------------------------------
class _ErrorRecords(logging.Handler):
    """ClearML logs some failed calls (metrics, uploads) instead of raising: collect them."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def raise_any(self) -> None:
        if self.messages:
            raise RuntimeError(f"ClearML reported: {self.messages[0]}")


def _read_calls(source, calls: queue.Queue) -> None:
    try:
        while True:
            calls.put(pickle.load(source))
    except Exception:  # noqa: BLE001 - EOF: the run closed the pipe or ended
        calls.put(None)


def _exit_with(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)  # the run's process is gone: nobody waits for this task any more


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # ClearML's prints go to the run's log

    def answer(kind: str, value: Any) -> None:
        with contextlib.suppress(OSError):  # the run stopped listening: nothing to tell
            pickle.dump((kind, value), answers)
            answers.flush()

    calls: queue.Queue = queue.Queue()
    threading.Thread(target=_read_calls, args=(sys.stdin.buffer, calls), daemon=True).start()
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    errors = _ErrorRecords()
    logging.getLogger("clearml").addHandler(errors)
    try:
        _, _, opening = calls.get()
        task = ClearMLTask.open(**opening, offline=False)
        errors.raise_any()
        answer("started", task.id)
        while (call := calls.get()) is not None:
            method, args, kwargs = call
            getattr(task, method)(*args, **kwargs)
            errors.raise_any()
            if method == "close":
                answer("closed", None)
                break
    except BaseException as error:  # noqa: BLE001 - every failure is the run's to hear about
        answer("failed", f"{type(error).__name__}: {error}")
    os._exit(0)  # the task is closed or abandoned: skip ClearML's exit hooks


if __name__ == "__main__":
    main()
