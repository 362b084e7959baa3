"""Peak memory of batch scoring as the input grows 10x: prints the ratio, measured in one run.

    make bench            (or: python benchmarks/bench_batch_predict.py --rows 200000)

Scores N and 10*N rows of the sample data, each in a fresh process, and reports each process's
peak resident memory. Goal: the 10x input needs at most ~1.2x the peak memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCORE = """
import json, sys, time
from components.batch_predict import core
from components.common import model_files
model, metadata = model_files.load(sys.argv[1])
started = time.monotonic()
result = core.score_table(model, metadata, sys.argv[2], sys.argv[3], core.ScoringRun("bench", 1, "bench", ("customer_id",)))
# VmHWM: this process's own peak; ru_maxrss would carry over the parent's size from fork.
peak_kib = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
print(json.dumps({"rows": result.rows_out, "seconds": time.monotonic() - started, "peak_mib": peak_kib / 1024}))
"""


def _score(model: Path, data: Path, output: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCORE, str(model), str(data), str(output)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="the small input; the large one is 10x")
    args = parser.parse_args()

    from components.common import sample_data
    from components.train_model import core as training

    with tempfile.TemporaryDirectory(prefix="keel-bench-") as scratch:
        folder = Path(scratch)
        spec = training.TrainingSpec(label=sample_data.LABEL, id_columns=tuple(sample_data.ID_COLUMNS))
        training.save(training.train(sample_data.generate(5_000), spec), str(folder / "model"))
        results = {}
        for rows in (args.rows, 10 * args.rows):
            data = folder / f"input-{rows}.parquet"
            started = time.monotonic()
            sample_data.write(str(data), rows=rows)
            print(f"wrote {rows:,} rows in {time.monotonic() - started:.1f} s", flush=True)
            results[rows] = _score(folder / "model", data, folder / f"scored-{rows}.parquet")
            data.unlink()
            r = results[rows]
            print(
                f"scored {r['rows']:,} rows in {r['seconds']:.1f} s ({r['rows'] / r['seconds']:,.0f} rows/s), "
                f"peak {r['peak_mib']:.0f} MiB",
                flush=True,
            )
    small, large = results[args.rows], results[10 * args.rows]
    ratio = large["peak_mib"] / small["peak_mib"]
    print(f"peak memory ratio, 10x input: {ratio:.2f} (goal <= 1.2): {'OK' if ratio <= 1.2 else 'OVER'}")


if __name__ == "__main__":
    main()
