"""Put on PYTHONPATH by the pipeline benchmark: every KFP task process (kfp.local runs each task in
its own `python -m kfp.dsl.executor_main ... --function_to_execute NAME`) appends its own peak
memory (VmHWM) to the file named by KEEL_BENCH_PEAKS when it exits."""

import atexit
import json
import os
import sys


def _record() -> None:
    path = os.environ.get("KEEL_BENCH_PEAKS")
    if not path or "--function_to_execute" not in sys.argv:
        return
    task = sys.argv[sys.argv.index("--function_to_execute") + 1]
    with open("/proc/self/status") as status:
        peak_kib = int(next(line for line in status if line.startswith("VmHWM")).split()[1])
    with open(path, "a") as peaks:
        peaks.write(json.dumps({"task": task, "peak_mib": peak_kib / 1024}) + "\n")


atexit.register(_record)
