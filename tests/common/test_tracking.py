"""Tracking never fails a run, and offline it is quick. The time bounds separate "fine" from the
failure mode they guard against (a ~10 s close with ClearML's reporting subprocess). Servers that
misbehave: tests/reliability/test_tracking_faults.py; online tracking: test_tracking_online.py."""

import json
import time
import zipfile
from pathlib import Path

import pytest

from components.common.tracking import track


def test_offline_run_records_everything_and_closes_fast(keel_home: Path, tmp_path: Path):
    weights = tmp_path / "model.bin"
    weights.write_bytes(b"weights")
    started = time.monotonic()
    with track("unit-test", params={"seed": 7}, tags=("test",)) as run:
        start_seconds = time.monotonic() - started
        run.log_metrics({"roc_auc": 0.91}, step=1)
        run.log_artifact("summary", {"rows": 10})
        run.log_model(weights, "model", framework="scikit-learn", metadata={"label": "churned"})
        closing = time.monotonic()
    close_seconds = time.monotonic() - closing

    assert run.mode == "offline" and run.id.startswith("offline-")
    # Bounds that tell a stall from a loaded machine: start-up imports ClearML, 1-2 s idle, 10 s here at times;
    # closing takes well under 1 s idle, ~10 s when it stalls.
    assert start_seconds < 30 and close_seconds < 6, (start_seconds, close_seconds)
    assert run.session_zip.parent == keel_home / "tracking" / "offline"
    with zipfile.ZipFile(run.session_zip) as session:
        names = session.namelist()
        metrics = session.read("metrics.jsonl").decode()
        task = json.loads(session.read("task.json"))
    assert "models/model.bin" in names and any(name.endswith("summary.json") for name in names)
    assert '"roc_auc"' in metrics and "0.91" in metrics
    assert task["hyperparams"]["params"]["seed"]["value"] == "7"


def test_a_failed_tracking_call_warns_and_the_run_goes_on(keel_home: Path, tmp_path: Path, caplog):
    with track("broken-artifact") as run:
        run.log_artifact("missing", tmp_path / "no-such-folder" / "report.html")
        run.log_metrics({"after": 1.0})  # still recorded
    assert run.mode == "offline"
    assert "tracking: log_artifact failed" in caplog.text
    with zipfile.ZipFile(run.session_zip) as session:
        assert '"after"' in session.read("metrics.jsonl").decode()


def test_tracking_can_be_turned_off(keel_home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KEEL_TRACKING", "off")
    with track("off") as run:
        run.log_metrics({"x": 1.0})
    assert run.mode == "off" and run.id == "" and run.session_zip is None


def test_a_process_started_by_a_tracked_one_gets_its_own_run(keel_home: Path):
    import subprocess
    import sys

    with track("parent") as parent:
        code = "from components.common.tracking import track\nwith track('child') as run:\n    print('RUN', run.mode, run.id)"
        child = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
        )
    _, mode, task_id = next(line for line in child.stdout.splitlines() if line.startswith("RUN ")).split()
    assert mode == "offline" and task_id.startswith("offline-") and task_id != parent.id


@pytest.mark.parametrize("server", ["http://127.0.0.1:{closed_port}", "https://clearml.example.invalid"])
def test_an_unreachable_server_is_not_waited_for(
    keel_home: Path, monkeypatch: pytest.MonkeyPatch, caplog, server: str
):
    """A refused port, or a host beyond loopback (refused here by the network guard, as a firewall
    or a failed name lookup would refuse it), sends the run offline at once: no online mirror starts,
    so the run never waits for its tracking budget."""
    import socket

    from tests.fakes.clearml_api import client_environment

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    for name, value in client_environment(server.format(closed_port=closed_port)).items():
        monkeypatch.setenv(name, value)
    with track("unreachable") as run:
        assert run._mirror is None
        run.log_metrics({"roc_auc": 0.9})
    assert run.mode == "offline" and "is unreachable; tracking goes on offline" in caplog.text
    with zipfile.ZipFile(run.session_zip) as session:
        assert '"roc_auc"' in session.read("metrics.jsonl").decode()
