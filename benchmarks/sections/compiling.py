"""compile: `keel compile` of every component and pipeline, in a fresh process."""

from __future__ import annotations

from benchmarks.harness import Context, Figure, measure

NAME = "compile"

COMPILE = """
started = time.monotonic()
from pipelines.compiling import compile_all
paths = compile_all(sys.argv[1])
result = {"seconds": time.monotonic() - started, "files": len(paths)}
"""


def run(context: Context) -> dict[str, Figure]:
    done = measure(COMPILE, context.scratch / "compiled")
    return {
        "seconds": Figure(
            round(done["seconds"], 2), "s", reference=f"{done['files']} YAML files, imports included"
        )
    }
