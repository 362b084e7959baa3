"""What every benchmark section shares: figures with goals, data and a model made once per run,
and code timed in a fresh process whose own peak memory is read from /proc (VmHWM)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "examples" / "churn" / "suite.json"  # the sample data's suite (the churn example)

# Appended to every snippet run by `measure`: the process's own peak (ru_maxrss would carry over
# the parent's size from fork) and what the snippet stored in `result`.
_REPORT = """
peak_kib = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
print("KEEL-BENCH " + json.dumps({**result, "peak_mib": peak_kib / 1024}))
"""


@dataclass
class Figure:
    """One measured figure; `goal` like ">= 0.9" or "<= 1.2" (None: reported only)."""

    value: float | None
    unit: str = ""
    goal: str | None = None
    reference: str = ""
    skipped: str = ""

    @property
    def met(self) -> bool | None:
        if self.goal is None or self.value is None:
            return None
        op, bound = self.goal.split()
        return self.value >= float(bound) if op == ">=" else self.value <= float(bound)

    def as_json(self) -> dict[str, Any]:
        if self.skipped:
            return {"skipped": self.skipped}
        return {
            "value": self.value,
            "unit": self.unit,
            "goal": self.goal,
            "met": self.met,
            "reference": self.reference,
        }


def skipped(reason: str) -> Figure:
    return Figure(None, skipped=reason)


@dataclass
class Context:
    """Shared by the sections of one run: sizes, a scratch folder, data and a model made once."""

    rows: int
    scratch: Path
    image_tag: str = ""  # the tag of the images to time (default: the package version, as compiled)
    _made: dict[str, Path] = field(default_factory=dict)

    @property
    def large(self) -> int:
        return 10 * self.rows

    def data(self, rows: int, label: bool = False) -> Path:
        """Sample churn data (seed 1) without the label, as data to score: written once per run."""
        key = f"data-{rows}-{label}"
        if key not in self._made:
            from components.common import sample_data

            path = self.scratch / f"{key}.parquet"
            started = time.monotonic()
            sample_data.write(str(path), rows=rows, seed=1, label=label)
            print(f"  (wrote {rows:,} sample rows in {time.monotonic() - started:.0f} s)", flush=True)
            self._made[key] = path
        return self._made[key]

    def model(self) -> Path:
        """The default model (train_model's estimator) trained on 5,000 sample rows."""
        if "model" not in self._made:
            from components.common import sample_data
            from components.train_model import core as training

            spec = training.TrainingSpec(label=sample_data.LABEL, id_columns=tuple(sample_data.ID_COLUMNS))
            folder = self.scratch / "model"
            training.save(training.train(sample_data.generate(5_000), spec), str(folder))
            self._made["model"] = folder
        return self._made["model"]


def fastest(snippets: dict[str, tuple], repeats: int = 3) -> dict[str, dict[str, Any]]:
    """Each of `snippets` ({name: (snippet, *args)}) run `repeats` times, interleaved so that a busy
    moment of a shared machine hits all of them alike; for each, the run with the fewest seconds."""
    best: dict[str, dict[str, Any]] = {}
    for _ in range(repeats):
        for name, (snippet, *args) in snippets.items():
            run = measure(snippet, *args)
            if name not in best or run["seconds"] < best[name]["seconds"]:
                best[name] = run
    return best


def measure(snippet: str, *args: Any, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `snippet` (Python that sets a dict `result`) in a fresh process with `args` as sys.argv[1:];
    returns `result` plus the process's `peak_mib`."""
    code = "import json, sys, time\n" + snippet + _REPORT
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=env
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("KEEL-BENCH ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("KEEL-BENCH "))
