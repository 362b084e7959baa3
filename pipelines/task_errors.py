"""The error a failed kfp.local task printed, so that `keel run --local` ends with that error.

kfp.local streams each task's output (its stdout and stderr, merged) through `print`, indented by
four spaces, and on failure raises only "Task 'x' finished with status FAILURE" or "Pipeline 'p'
finished with status FAILURE. Inner task failed: 'x'." `recording()` keeps the last lines printed
while a run goes on; `task_failure(error, printed)` turns kfp's error into a TaskFailedError that
names the task and gives the exception (type and message) of the last Python traceback it printed.
"""

from __future__ import annotations

import collections
import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from components.common.errors import KeelError

TASK_INDENT = " " * 4  # how kfp.local indents the lines a task prints
TRACEBACK = "Traceback (most recent call last):"
KEPT_WRITES = 20_000  # about the last 10,000 lines printed
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FAILED_TASK = re.compile(r"Task '([^']+)' finished with status FAILURE|Inner task failed: '([^']+)'")


class TaskFailedError(KeelError, RuntimeError):
    """A kfp.local task failed; the message names the task and gives its own error."""


class _Recorder:
    """A text stream that writes through to `stream` and keeps the last KEPT_WRITES writes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream, self.writes = stream, collections.deque(maxlen=KEPT_WRITES)

    def write(self, text: str) -> int:
        self.writes.append(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def recording() -> Iterator[Callable[[], str]]:
    """Record what is printed to stdout in the block; yields a function returning it so far."""
    recorder, original = _Recorder(sys.stdout), sys.stdout
    sys.stdout = recorder
    try:
        yield lambda: "".join(recorder.writes)
    finally:
        sys.stdout = original


def last_exception(printed: str) -> str:
    """The exception lines (type and message) of the last traceback a task printed; "" if none."""
    lines = [line.removeprefix(TASK_INDENT) for line in printed.splitlines() if line.startswith(TASK_INDENT)]
    starts = [number for number, line in enumerate(lines) if line.startswith(TRACEBACK)]
    if not starts:
        return ""
    after = lines[starts[-1] + 1 :]
    first = next((number for number, line in enumerate(after) if line and not line[0].isspace()), None)
    if first is None:
        return ""
    end = next((number for number, line in enumerate(after[first:], first) if not line.strip()), len(after))
    exception = after[first:end]
    kind, separator, message = exception[0].partition(": ")
    exception[0] = f"{kind.rsplit('.', 1)[-1]}{separator}{message}"
    return "\n".join(exception)


def task_failure(error: RuntimeError, printed: str) -> TaskFailedError | None:
    """kfp.local's task-failure `error` as a TaskFailedError ending with the task's own error; None
    when `error` is not a task failure."""
    text = _ANSI.sub("", str(error))
    found = _FAILED_TASK.search(text)
    if not found:
        return None
    task = found[1] or found[2]
    exception = last_exception(printed)
    if exception:
        return TaskFailedError(f"task '{task}' failed: {exception}")
    tail = [line.strip() for line in printed.splitlines() if line.startswith(TASK_INDENT) and line.strip()]
    last = "\n  ".join(tail[-5:]) or "(nothing)"
    return TaskFailedError(
        f"task '{task}' failed without a Python error (killed?); it last printed:\n  {last}"
    )
