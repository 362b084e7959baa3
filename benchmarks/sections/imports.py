"""import: `import components` in a fresh process (what every pipeline definition and compile pays)."""

from __future__ import annotations

from benchmarks.harness import Context, Figure, fastest

NAME = "import"

IMPORT = """
started = time.monotonic()
import components
result = {"seconds": time.monotonic() - started}
"""


def run(context: Context) -> dict[str, Figure]:
    best = fastest({"import": (IMPORT,)})["import"]
    return {
        "components_seconds": Figure(
            round(best["seconds"], 3), "s", reference="fresh process, bytecode cached, best of 3"
        )
    }
