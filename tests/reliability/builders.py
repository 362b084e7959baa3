"""Builders shared by the reliability tests: data, a registry with a promotion history, the `keel`
command as a user runs it, and snapshots to show that nothing was damaged."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from components.common import sample_data
from components.common.registry import LocalRegistry, open_registry
from components.train_model import core as training
from tests import churn

KEEL = str(Path(sys.executable).parent / "keel")
SPEC = training.TrainingSpec(label=sample_data.LABEL, id_columns=("customer_id",))


def keel(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """Run `keel ARGS` in a new process, as a user does; `env` adds environment variables."""
    return subprocess.run(
        [KEEL, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **env}
    )


def snapshot(path: str | Path) -> dict[str, str]:
    """Every file under `path` (hidden ones included) -> the sha256 of its bytes."""
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {
        str(p.relative_to(root) if p != root else p.name): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
    }


def to_score(
    path: Path, rows: int = 2_500, row_group_size: int = 1_000, seed: int = 1, start: int = 0
) -> str:
    """Unlabelled sample customers (ids from `start`) in parquet row groups."""
    frame = sample_data.generate(rows, seed=seed, start=start).drop(columns=[sample_data.LABEL])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)
    return str(path)


def model_folder(folder: Path, rows: int = 2_000) -> str:
    """A trained sample model saved as a model folder, recording the churn suite as its training suite
    (as the training pipeline does), which batch scoring validates with by default."""
    training.save(training.train(sample_data.generate(rows), SPEC, suite_uri=churn.SUITE), str(folder))
    return str(folder)


def registry_with_history(root: Path, model: str) -> LocalRegistry:
    """Model 'churn' with v1 and v2 champions before, v3 the champion (v2 previous), and v4 a
    challenger that selection never promoted."""
    registry = open_registry(str(root))
    for _ in range(4):
        registry.register("churn", model)
    for version in (1, 2, 3):
        registry.promote("churn", version)
    return registry
