"""Speed and memory of keel-pipelines, each figure measured against a reference in the same run.

    make bench                                   # = python benchmarks/run.py (200,000 and 2,000,000 rows)
    python benchmarks/run.py --rows 1000000      # larger: N and 10N rows
    python benchmarks/run.py --only scoring --only validation

Writes build/bench/results.json ({"machine": ..., "rows": N, "sections": {section: {figure: ...}}};
with --only, the other sections of the previous results are kept) and prints a table; exits 1 when
a figure misses its goal. Each section is a module of
benchmarks/sections/ with `NAME` (its key in results.json) and `run(context) -> {figure: Figure}`;
a new module there is a new section (run in file-name order).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import Context, Figure  # noqa: E402

RESULTS = ROOT / "build" / "bench" / "results.json"


def sections() -> dict[str, object]:
    """Every section module of benchmarks/sections/, by its NAME."""
    modules = sorted(p.stem for p in (ROOT / "benchmarks" / "sections").glob("*.py") if p.stem != "__init__")
    loaded = [importlib.import_module(f"benchmarks.sections.{name}") for name in modules]
    return {module.NAME: module for module in loaded}


def machine() -> dict[str, object]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    memory_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }


def table(results: dict[str, dict[str, Figure]]) -> str:
    lines = [f"{'figure':38} {'value':>12}  {'goal':8} {'':4} reference"]
    for section, figures in results.items():
        for name, figure in figures.items():
            key = f"{section}.{name}"
            if figure.skipped:
                lines.append(f"{key:38} {'skipped':>12}  {'':8} {'':4} {figure.skipped}")
                continue
            verdict = {True: "OK", False: "MISS", None: ""}[figure.met]
            value = f"{figure.value:,}" + (f" {figure.unit}" if figure.unit else "")
            lines.append(f"{key:38} {value:>12}  {figure.goal or '':8} {verdict:4} {figure.reference}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="the small input; the large one is 10x")
    parser.add_argument(
        "--only", action="append", metavar="SECTION", help=f"run only these ({', '.join(sections())})"
    )
    parser.add_argument(
        "--image-tag", default="", help="startup: time images with this tag (default: the version)"
    )
    args = parser.parse_args(argv)
    chosen = {name: module for name, module in sections().items() if not args.only or name in args.only}
    results: dict[str, dict[str, Figure]] = {}
    with tempfile.TemporaryDirectory(prefix="keel-bench-") as scratch:
        context = Context(args.rows, Path(scratch), args.image_tag)
        for name, module in chosen.items():
            started = time.monotonic()
            print(f"{name} ...", flush=True)
            results[name] = module.run(context)
            print(f"{name}: {time.monotonic() - started:.0f} s", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # --only updates those sections of an earlier run's results, keeping the others
    earlier = json.loads(RESULTS.read_text())["sections"] if args.only and RESULTS.is_file() else {}
    document = {
        "machine": machine(),
        "rows": args.rows,
        "sections": earlier
        | {s: {n: f.as_json() for n, f in figures.items()} for s, figures in results.items()},
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\n{table(results)}\n\nmachine: {document['machine']}\nwritten to {RESULTS.relative_to(ROOT)}")
    missed = [f"{s}.{n}" for s, figures in results.items() for n, f in figures.items() if f.met is False]
    print(f"goals missed: {', '.join(missed)}" if missed else "every goal met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
