"""validation: validate_data's streamed validation against the same checks hand-written in pandas."""

from __future__ import annotations

from benchmarks.harness import SUITE, Context, Figure, fastest, measure

NAME = "validation"

# Great Expectations is imported before the clock starts (its import is in import/startup figures).
OURS = """
import great_expectations
from components.validate_data import core
suite = core.without_columns(core.load_suite(sys.argv[2]), ["churned"])
started = time.monotonic()
outcome = core.validate_table(sys.argv[1], suite)
assert outcome.passed, outcome.summary()
result = {"rows": outcome.rows, "seconds": time.monotonic() - started}
"""

# The bundled suite's checks (minus the label), written by hand in plain pandas on the whole table.
PANDAS = """
import pandas as pd
from pandas.api import types
from components.validate_data import core, suite_builder
suite = core.without_columns(core.load_suite(sys.argv[2]), ["churned"])
started = time.monotonic()
frame = pd.read_parquet(sys.argv[1])
failed = []
kinds = {"integer": types.is_integer_dtype, "float": types.is_float_dtype, "datetime": types.is_datetime64_any_dtype,
         "string": lambda s: types.infer_dtype(s, skipna=True) in ("string", "empty")}
def share(ok, mostly):
    return ok.mean() >= (mostly or 1.0)
for e in suite["expectations"]:
    kind, kw = e["type"], e["kwargs"]
    column = frame.get(kw.get("column")) if "column" in kw else None
    if kind == "expect_table_row_count_to_be_between":
        ok = len(frame) >= kw["min_value"]
    elif kind == "expect_column_to_exist":
        ok = column is not None
    elif kind == "expect_column_values_to_be_in_type_list":
        family = next(f for f, names in suite_builder.TYPE_FAMILIES.items() if names == kw["type_list"])
        ok = kinds[family](column)
    elif kind == "expect_column_values_to_not_be_null":
        ok = share(column.notna(), kw.get("mostly"))
    elif kind == "expect_column_values_to_be_between":
        values = column.dropna()
        ok = share(values.between(kw["min_value"], kw["max_value"]), kw.get("mostly"))
    elif kind == "expect_column_values_to_be_in_set":
        values = column.dropna()
        ok = share(values.isin(kw["value_set"]), kw.get("mostly"))
    elif kind == "expect_column_values_to_be_unique":
        ok = not column.dropna().duplicated().any()
    else:
        raise ValueError(kind)
    if not ok:
        failed.append(kind)
assert not failed, failed
result = {"rows": len(frame), "seconds": time.monotonic() - started}
"""


def run(context: Context) -> dict[str, Figure]:
    small, large = context.data(context.rows), context.data(context.large)
    best = fastest({"ours": (OURS, small, SUITE), "pandas": (PANDAS, small, SUITE)})
    ours_small, pandas = best["ours"], best["pandas"]
    ours = measure(OURS, large, SUITE)
    return {
        "peak_ratio_10x": Figure(
            round(ours["peak_mib"] / ours_small["peak_mib"], 3),
            goal="<= 1.2",
            reference=f"peak of {context.large:,} rows {ours['peak_mib']:.0f} MiB / {context.rows:,} rows "
            f"{ours_small['peak_mib']:.0f} MiB",
        ),
        "rows_per_second": Figure(
            round(ours["rows"] / ours["seconds"]), "rows/s", reference=f"{ours['rows']:,} rows"
        ),
        "ratio_to_pandas": Figure(
            round(ours_small["seconds"] / pandas["seconds"], 3),
            goal="<= 5",
            reference=f"the suite's checks hand-written in pandas on {context.rows:,} rows read whole: "
            f"{pandas['seconds']:.2f} s; validate_data: {ours_small['seconds']:.2f} s (best of 3 each, interleaved)",
        ),
    }
