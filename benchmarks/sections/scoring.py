"""scoring: batch_predict's core against the bare limit and a naive pandas job, on the same rows."""

from __future__ import annotations

from benchmarks.harness import Context, Figure, fastest, measure

NAME = "scoring"
REPEATS = 5

OURS = """
from components.batch_predict import core
from components.common import model_files
model, metadata = model_files.load(sys.argv[1])
# as the component does, the rows are profiled for the drift check, unless told "unprofiled"
reference = None if sys.argv[4] == "unprofiled" else model_files.load_profile(sys.argv[1])
started = time.monotonic()
scoring_run = core.ScoringRun("bench", 1, "bench", ("customer_id",))
scored = core.score_table(model, metadata, sys.argv[2], sys.argv[3], scoring_run, reference=reference)
result = {"rows": scored.rows_out, "seconds": time.monotonic() - started}
"""

# The limit: the same model's predict_proba on the same rows, already in memory as a DataFrame.
BARE = """
import pandas as pd
from components.common import model_files
model, metadata = model_files.load(sys.argv[1])
features = pd.read_parquet(sys.argv[2], columns=[f["name"] for f in metadata["features"]])
model.predict_proba(features.head(1_000))  # one-time set-up (thread pools...) is not the limit
started = time.monotonic()
model.predict_proba(features)
result = {"rows": len(features), "seconds": time.monotonic() - started}
"""

# What a notebook would do: read everything, predict, write.
NAIVE = """
import pandas as pd
from components.common import model_files
model, metadata = model_files.load(sys.argv[1])
started = time.monotonic()
frame = pd.read_parquet(sys.argv[2])
scores = model.predict_proba(frame[[f["name"] for f in metadata["features"]]])[:, 1]
pd.DataFrame({"customer_id": frame["customer_id"], "score": scores}).to_parquet(sys.argv[3])
result = {"rows": len(frame), "seconds": time.monotonic() - started}
"""


def run(context: Context) -> dict[str, Figure]:
    model, small, large = context.model(), context.data(context.rows), context.data(context.large)
    out = context.scratch / "scored.parquet"
    # speed on the small input, each side at its best of REPEATS interleaved runs; memory on both sizes
    best = fastest(
        {
            "ours": (OURS, model, small, out, "profiled"),
            "unprofiled": (OURS, model, small, out, "unprofiled"),
            "bare": (BARE, model, small),
            "naive": (NAIVE, model, small, out),
        },
        REPEATS,
    )
    ours_small, bare, naive = best["ours"], best["bare"], best["naive"]
    ours = measure(OURS, model, large, out, "profiled")
    rows = ours["rows"]
    return {
        "ratio_to_bare": Figure(
            round(bare["seconds"] / ours_small["seconds"], 3),
            goal=">= 0.9",
            reference=f"predict_proba on the same {context.rows:,} rows already in memory: {bare['seconds']:.2f} s; "
            f"batch_predict (read, predict, profile, write): {ours_small['seconds']:.2f} s "
            f"(best of {REPEATS} each, interleaved; the bare side warmed up)",
        ),
        "ratio_to_bare_unprofiled": Figure(
            round(bare["seconds"] / best["unprofiled"]["seconds"], 3),
            reference=f"the same without the drift profile: {best['unprofiled']['seconds']:.2f} s",
        ),
        "rows_per_second": Figure(round(rows / ours["seconds"]), "rows/s", reference=f"{rows:,} rows"),
        "naive_ratio": Figure(
            round(naive["seconds"] / ours_small["seconds"], 3),
            reference=f"pandas reads all {context.rows:,} rows, predicts, writes: {naive['seconds']:.2f} s, "
            f"peak {naive['peak_mib']:.0f} MiB (batch_predict: {ours_small['peak_mib']:.0f} MiB); "
            "> 1: batch_predict is faster",
        ),
        "peak_ratio_10x": Figure(
            round(ours["peak_mib"] / ours_small["peak_mib"], 3),
            goal="<= 1.2",
            reference=f"peak of {context.large:,} rows {ours['peak_mib']:.0f} MiB / {context.rows:,} rows "
            f"{ours_small['peak_mib']:.0f} MiB",
        ),
    }
