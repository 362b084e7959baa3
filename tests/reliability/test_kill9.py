"""kill -9 in the middle of scoring and of a registration, in real processes: the registry, the
published outputs and the input are intact afterwards, and the next run works."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from components.common import io
from components.common.model_files import METADATA_FILE, MODEL_FILE
from tests import churn
from tests.reliability.builders import KEEL, keel, model_folder, registry_with_history, snapshot, to_score

RUN_DATE = "2026-11-26"


def _start(command: list[str]) -> subprocess.Popen:
    """`command` in a new process group, so that kill -9 reaches every process it started."""
    return subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _kill_when(
    process: subprocess.Popen, found: Callable[[], list[Path]], timeout: float = 600
) -> list[Path]:
    """Wait until `found()` returns something, then kill -9 the whole process group at once."""
    deadline = time.monotonic() + timeout
    while not (seen := found()):
        assert process.poll() is None, f"finished before the kill: {process.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, "the moment to kill never came"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return seen


def test_kill_during_scoring_leaves_outputs_registry_and_input_intact(keel_home: Path, tmp_path: Path):
    registry = registry_with_history(tmp_path / "registry", model_folder(tmp_path / "model"))
    data = to_score(tmp_path / "in" / "to_score.parquet", rows=40_000, row_group_size=20_000)
    output = tmp_path / "predictions"
    published = output / f"run_date={RUN_DATE}" / "predictions.parquet"
    io.write_table(pd.DataFrame({"customer_id": ["C1"], "score": [0.5]}), str(published))  # an earlier run's
    suite = tmp_path / "suite.json"  # a quick validation: this test is about scoring
    suite.write_text(
        json.dumps({"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "age"}}]})
    )
    params = {
        "data_uri": data,
        "output_uri": output,
        "registry_uri": registry.root,
        "suite_uri": suite,
        "model_name": churn.MODEL_NAME,
        "run_date": RUN_DATE,
    }
    command = [
        "run",
        "batch_scoring",
        "--local",
        *(f"--param={key}={value}" for key, value in params.items()),
    ]

    def state() -> list[dict[str, str]]:
        return [snapshot(registry.root), snapshot(data), snapshot(output)]

    before, runs = state(), keel_home / "runs"
    killed = _kill_when(_start([KEEL, *command]), lambda: list(runs.rglob(".predictions.tmp-*")))
    assert killed  # it died half way through writing a shard's predictions
    assert state() == before

    done = keel(*command)
    assert done.returncode == 0, done.stderr[-3000:]
    scored = io.read_table(str(published))
    assert len(scored) == 40_000 and set(scored["model_version"]) == {3}
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*")) == [
        "_monitoring",
        f"_monitoring/run_date={RUN_DATE}.json",
        f"run_date={RUN_DATE}",
        f"run_date={RUN_DATE}/predictions.parquet",
    ]
    assert state()[:2] == before[:2]


REGISTER = """
import sys
from components.common.registry import open_registry
open_registry(sys.argv[1]).register("churn", sys.argv[2])
"""


def _big_model(folder: Path, megabytes: int = 100) -> str:
    """A model folder whose model file takes a while to copy (the registry checks only its sha256)."""
    folder.mkdir(parents=True)
    data = os.urandom(megabytes << 20)
    (folder / MODEL_FILE).write_bytes(data)
    (folder / METADATA_FILE).write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest()}))
    return str(folder)


def _copying(model_dir: Path) -> list[Path]:
    """The model file being copied into a staging folder, once it has bytes."""
    found = []
    for path in model_dir.glob(".staging-*/" + MODEL_FILE):
        try:
            found += [path] if path.stat().st_size else []
        except FileNotFoundError:
            continue
    return found


def test_kill_during_registration_leaves_the_registry_intact(keel_home: Path, tmp_path: Path):
    model = model_folder(tmp_path / "model")
    registry = registry_with_history(tmp_path / "registry", model)
    before = snapshot(registry.root)
    model_dir = registry.root / "churn"

    process = _start([sys.executable, "-c", REGISTER, str(registry.root), _big_model(tmp_path / "big")])
    (copied,) = _kill_when(process, lambda: _copying(model_dir))
    staging = copied.parent
    assert staging.exists()  # killed half way through copying the new version in
    assert {k: v for k, v in snapshot(registry.root).items() if ".staging-" not in k} == before
    listed = keel("registry", "list", "churn", "--registry", str(registry.root))
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 4
    verified = keel("registry", "verify", "churn", "--registry", str(registry.root))
    assert verified.returncode == 0, verified.stdout

    version = registry.register("churn", model)
    assert version.version == 5 and not staging.exists()
    assert {
        k: v for k, v in snapshot(registry.root).items() if not k.startswith("churn/versions/5/")
    } == before
    assert registry.promote("churn", 5).version == 5
