"""No ClearML server, however it misbehaves, adds more than KEEL_TRACKING_TIMEOUT + 2 s to a run,
and the run's offline session still holds everything it recorded.

Each case runs a real tracked script in a fresh process, right after the same script with
tracking offline, and times both from the moment their imports are done (no server plays a part in
importing ClearML, and on a shared machine that is the noisiest second) to the process's exit, so
that ClearML's exit hooks and threads count; the difference is the time the server cost the run.
On this shared machine the offline work alone varies by a second or two from run to run, so a
pair over the bound is measured once more and the better pair counts: a stall fails both.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.clearml_api import FakeClearML, client_environment

BUDGET_S = 2.0
MARGIN_S = 2.0  # the machine is shared and noisy; a stall costs minutes, not seconds
SCRIPT = """
import sys, time
import clearml
from components.common.tracking import track
print("READY", time.time(), flush=True)
with track("faulty", params={"seed": 7}) as run:
    run.log_metrics({"roc_auc": 0.91}, step=1)
    run.log_artifact("report", sys.argv[1])
    print("TASK", run.id, flush=True)
print("RUN", run.mode, run.session_zip, flush=True)
"""


@contextlib.contextmanager
def _nothing_listens() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def _accepts_and_never_answers() -> Iterator[str]:
    """A TCP server whose connections are accepted (by the kernel's backlog) and never read."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextlib.contextmanager
def _fake(kind: str, after: int, delay_s: float = 1.0) -> Iterator[str]:
    with FakeClearML() as server:
        server.misbehave(kind, after=after, delay_s=delay_s)
        yield server.api_host


# `after`: API calls answered well first. The client logs in (1), creates the project and the task
# (4), starts it and records its set-up (about 12), then the parameters, scalars and the artifact.
SERVERS = {
    "nothing listens": _nothing_listens,
    "accepts and never answers": _accepts_and_never_answers,
    "answers the login, then hangs": lambda: _fake("hang", after=1),
    "hangs mid-run": lambda: _fake("hang", after=12),
    "answers every call slowly": lambda: _fake("slow", after=0, delay_s=0.5),
    "fails mid-run (HTTP 500)": lambda: _fake("error", after=12),
    "is in maintenance (HTTP 503)": lambda: _fake("unavailable", after=0),
    "drops the connection mid-run": lambda: _fake("drop", after=8),
}


def _tracked_run(environment: dict[str, str], report: Path) -> tuple[float, subprocess.CompletedProcess]:
    """Run SCRIPT; the seconds from its imports being done to its exit, and what it printed."""
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(report)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    ended = time.time()
    assert completed.returncode == 0, completed.stderr
    return ended - float(_printed(completed, "READY")[0]), completed


def _printed(completed: subprocess.CompletedProcess, key: str) -> list[str]:
    return next(line for line in completed.stdout.splitlines() if line.startswith(f"{key} ")).split()[1:]


def _cost(
    server: str, environment: dict[str, str], report: Path
) -> tuple[float, subprocess.CompletedProcess]:
    """The seconds `server` adds to a tracked run, and what that run printed."""
    baseline_s, _ = _tracked_run({**environment, "KEEL_TRACKING": "offline"}, report)
    with SERVERS[server]() as api_host:
        seconds, completed = _tracked_run({**environment, **client_environment(api_host)}, report)
    print(f"{server}: {seconds:.1f} s, offline {baseline_s:.1f} s, added {seconds - baseline_s:.1f} s")
    return seconds - baseline_s, completed


@pytest.mark.parametrize("server", SERVERS)
def test_a_misbehaving_server_costs_at_most_the_budget_and_loses_nothing(server: str, tmp_path: Path):
    report = tmp_path / "report.html"
    report.write_bytes(b"<html>\x00\xff report</html>")
    environment = {**os.environ, "KEEL_HOME": str(tmp_path / "keel"), "KEEL_TRACKING_TIMEOUT": str(BUDGET_S)}
    measured = [_cost(server, environment, report)]
    if measured[0][0] > BUDGET_S + MARGIN_S:
        measured.append(_cost(server, environment, report))

    assert min(added_s for added_s, _ in measured) <= BUDGET_S + MARGIN_S, [added for added, _ in measured]
    for _, completed in measured:
        mode, session_zip = _printed(completed, "RUN")
        assert mode == "offline"
        assert "tracking goes on offline" in completed.stderr
        with zipfile.ZipFile(session_zip) as session:
            task = json.loads(session.read("task.json"))
            metrics = session.read("metrics.jsonl").decode()
            stored_report = next(name for name in session.namelist() if name.endswith("report.html"))
            assert session.read(stored_report) == report.read_bytes()
        assert task["hyperparams"]["params"]["seed"]["value"] == "7"
        assert '"roc_auc"' in metrics and "0.91" in metrics
