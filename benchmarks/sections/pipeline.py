"""pipeline: the largest task process of the whole batch-scoring pipeline under kfp.local, N vs 10N rows."""

from __future__ import annotations

import json
import os
import time

from benchmarks.harness import ROOT, SUITE, Context, Figure, measure

NAME = "pipeline"

RUN = """
from components.common.registry import open_registry
from pipelines.cli import run_local
registry = open_registry(sys.argv[2])
registry.promote("churn", registry.register("churn", sys.argv[3]).version)
started = time.monotonic()
run_local("batch_scoring", {"data_uri": sys.argv[1], "output_uri": sys.argv[4], "registry_uri": sys.argv[2], "run_date": "2026-01-01",
                            "model_name": "churn", "suite_uri": sys.argv[5], "id_columns": ["customer_id"]})
result = {"seconds": time.monotonic() - started}
"""


def _run_pipeline(context: Context, rows: int) -> tuple[float, dict[str, float]]:
    """Seconds of the run and the peak (MiB) of each task process, its largest per task name."""
    work = context.scratch / f"pipeline-{rows}"
    peaks = work / "peaks.jsonl"
    work.mkdir()
    env = {
        **os.environ,
        "KEEL_HOME": str(work / "keel"),
        "KEEL_BENCH_PEAKS": str(peaks),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks" / "peak_recorder"), str(ROOT)]),
    }
    run = measure(RUN, context.data(rows), work / "registry", context.model(), work / "out", SUITE, env=env)
    tasks: dict[str, float] = {}
    for line in peaks.read_text().splitlines():
        record = json.loads(line)
        tasks[record["task"]] = max(tasks.get(record["task"], 0.0), record["peak_mib"])
    return run["seconds"], tasks


def run(context: Context) -> dict[str, Figure]:
    started = time.monotonic()
    small_seconds, small = _run_pipeline(context, context.rows)
    large_seconds, large = _run_pipeline(context, context.large)
    small_top = max(small.values())
    worst = max(large, key=lambda task: large[task] / small_top)
    detail = ", ".join(f"{task} {small.get(task, 0):.0f} -> {large[task]:.0f}" for task in sorted(large))
    return {
        "peak_ratio_10x": Figure(
            round(large[worst] / small_top, 3),
            goal="<= 1.2",
            reference=f"largest task at {context.large:,} rows ({worst}, {large[worst]:.0f} MiB) / largest at "
            f"{context.rows:,} rows ({small_top:.0f} MiB); per task MiB: {detail}",
        ),
        "seconds_10x": Figure(
            round(large_seconds, 1),
            "s",
            reference=f"batch_scoring under kfp.local, {context.large:,} rows ({context.rows:,}: "
            f"{small_seconds:.0f} s; section {time.monotonic() - started:.0f} s)",
        ),
    }
