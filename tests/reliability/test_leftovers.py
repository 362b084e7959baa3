"""A writer killed mid-write leaves a temporary beside its target: the next write of the same target
removes it, and never a temporary that a live concurrent writer is still writing. Real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.common import io
from tests.reliability.builders import model_folder, snapshot

# A writer that writes half of its data, says so, and waits to be released (or killed).
WRITER = """
import sys, time
from pathlib import Path
from components.common import io
target, ready, release = sys.argv[1:]
with io.atomic_output(target) as stream:
    stream.write(b"first half, ")
    stream.flush()
    Path(ready).touch()
    while not Path(release).exists():
        time.sleep(0.02)
    stream.write(b"second half")
"""

# A registration stuck half way through copying into its staging folder.
STAGER = """
import sys, time, uuid
from pathlib import Path
from components.common import leftovers
model_dir, ready, release = map(Path, sys.argv[1:])
staging = model_dir / f".staging-{uuid.uuid4().hex}"
staging.mkdir(parents=True)
with leftovers.held(staging):
    (staging / "model.joblib").write_bytes(b"half a model")
    ready.touch()
    while not release.exists():
        time.sleep(0.02)
"""


class Process:
    """A Python program in its own process, started and waited for until it is ready."""

    def __init__(self, program: str, *args: str | Path, ready: Path) -> None:
        self.ready, self.release = ready, ready.with_suffix(".release")
        self.process = subprocess.Popen([sys.executable, "-c", program, *map(str, args), ready, self.release])
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert self.process.poll() is None and time.monotonic() < deadline, "the writer never got ready"
            time.sleep(0.02)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def finish(self) -> int:
        self.release.touch()
        return self.process.wait(timeout=120)


def _temporaries(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}.tmp-"))


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path: Path):
    target = tmp_path / "out" / "predictions.parquet"
    writer = Process(WRITER, target, ready=tmp_path / "ready")
    writer.kill()
    assert len(_temporaries(target.parent, target.name)) == 1 and not target.exists()

    io.write_bytes(str(target), b"the next run's output")
    assert target.read_bytes() == b"the next run's output"
    assert _temporaries(target.parent, target.name) == []


def test_a_live_writers_temporary_is_never_touched(tmp_path: Path):
    target = tmp_path / "out" / "report.html"
    writer = Process(WRITER, target, ready=tmp_path / "ready")
    live = _temporaries(target.parent, target.name)

    io.write_bytes(str(target), b"a concurrent writer")  # while the first one is still writing
    assert _temporaries(target.parent, target.name) == live and target.read_bytes() == b"a concurrent writer"
    assert writer.finish() == 0
    assert target.read_bytes() == b"first half, second half"  # the last to finish wins, whole
    assert _temporaries(target.parent, target.name) == []


def test_only_temporaries_of_the_same_target_go_and_a_brand_new_empty_one_stays(tmp_path: Path):
    target = tmp_path / "predictions.parquet"
    writer = Process(WRITER, tmp_path / "other.parquet", ready=tmp_path / "ready")
    writer.kill()
    other = _temporaries(tmp_path, "other.parquet")
    just_created = tmp_path / f".{target.name}.tmp-0123456789abcdef0123456789abcdef"
    just_created.touch()  # as a writer that has not locked it yet

    io.write_bytes(str(target), b"x")
    assert _temporaries(tmp_path, "other.parquet") == other and just_created.exists()
    os.utime(just_created, (time.time() - 3600, time.time() - 3600))  # an hour later: abandoned
    io.write_bytes(str(target), b"y")
    assert not just_created.exists() and target.read_bytes() == b"y"


def test_a_killed_registrations_staging_folder_is_removed_and_a_live_one_kept(tmp_path: Path):
    from components.common.registry import open_registry

    registry = open_registry(str(tmp_path / "registry"))
    model = model_folder(tmp_path / "model", rows=500)
    registry.register("churn", model)
    model_dir = registry.root / "churn"
    killed = Process(STAGER, model_dir, ready=tmp_path / "killed")
    killed.kill()
    live = Process(STAGER, model_dir, ready=tmp_path / "live")
    stagings = sorted(p.name for p in model_dir.iterdir() if p.name.startswith(".staging-"))
    assert len(stagings) == 2

    assert registry.register("churn", model).version == 2
    left = sorted(p.name for p in model_dir.iterdir() if p.name.startswith(".staging-"))
    assert len(left) == 1 and (model_dir / left[0] / "model.joblib").read_bytes() == b"half a model"
    assert live.finish() == 0
    assert [found.version for found in registry.versions("churn")] == [1, 2]


@pytest.mark.parametrize("when", ["while writing", "after writing"])
def test_a_failed_write_leaves_nothing_and_the_old_file_intact(tmp_path: Path, when: str):
    target = tmp_path / "predictions.parquet"
    io.write_bytes(str(target), b"yesterday's")
    before = snapshot(tmp_path)
    with pytest.raises(RuntimeError), io.atomic_output(str(target)) as stream:
        if when == "after writing":
            stream.write(b"half")
        raise RuntimeError("the writer failed")
    assert snapshot(tmp_path) == before
