"""Validate a table against a Great Expectations 1.x suite kept as JSON, and build starting suites.

Plain Python (no kfp): `validate_table(data_uri, suite)` from a notebook gives the same result as
the component. Great Expectations is imported only when a validation runs.
"""

from __future__ import annotations

import html
import logging
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pandas as pd

from components.common import io
from components.common.io import DataError

SAMPLE_SUITE = "churn"

# dtype names Great Expectations accepts for each kind of column, so that the same suite holds for
# parquet and CSV readings and for int32/int64 alike.
TYPE_FAMILIES = {
    "integer": ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "Int64", "Int32"],
    "float": ["float16", "float32", "float64", "Float32", "Float64"],
    "boolean": ["bool", "boolean"],
    "datetime": ["datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"],
    "string": ["object", "str", "string", "StringDtype"],
}


class ValidationFailedError(DataError):
    """The data broke one or more expectations; the message lists each one."""


@dataclass(frozen=True)
class Failure:
    expectation: str
    column: str
    unexpected_count: int | None
    detail: str

    def __str__(self) -> str:
        where = f" on column '{self.column}'" if self.column else ""
        return f"{self.expectation}{where}: {self.detail}"


@dataclass
class ValidationOutcome:
    source: str
    suite_name: str
    rows: int
    evaluated: int
    failures: list[Failure]
    result: dict[str, Any] = field(repr=False)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def success_percent(self) -> float:
        return 100.0 * (self.evaluated - len(self.failures)) / self.evaluated if self.evaluated else 100.0

    def metrics(self) -> dict[str, float]:
        return {
            "rows": self.rows,
            "expectations_run": self.evaluated,
            "expectations_failed": len(self.failures),
            "success_percent": round(self.success_percent, 2),
        }

    def summary(self) -> str:
        head = (
            f"{self.source}: {len(self.failures)} of {self.evaluated} expectations of suite "
            f"'{self.suite_name}' failed"
        )
        return "\n".join([head, *(f"  - {failure}" for failure in self.failures)])


def sample_suite_uri(name: str = SAMPLE_SUITE) -> str:
    """Path of a suite bundled with the package (`suites/<name>.json`)."""
    return str(resources.files("components.validate_data") / "suites" / f"{name}.json")


def load_suite(uri: str) -> dict[str, Any]:
    """Read a suite JSON file; empty `uri` means the bundled sample suite."""
    uri = uri or sample_suite_uri()
    suite = io.read_json(uri)
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise DataError(f"{uri}: not an expectation suite (needs a JSON object with an 'expectations' list)")
    suite.setdefault("name", uri.rsplit("/", 1)[-1].removesuffix(".json"))
    return suite


def without_columns(suite: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """The suite minus every expectation on `columns` (e.g. the label when scoring)."""
    drop = set(columns)
    kept = [e for e in suite["expectations"] if e.get("kwargs", {}).get("column") not in drop]
    for expectation in kept:
        kwargs = expectation.get("kwargs", {})
        if "column_set" in kwargs:
            expectation["kwargs"] = {
                **kwargs,
                "column_set": [c for c in kwargs["column_set"] if c not in drop],
            }
    return {**suite, "expectations": kept}


def _describe(outcome: dict[str, Any], frame: pd.DataFrame) -> Failure:
    config = outcome["expectation_config"]
    kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
    column = kwargs.pop("column", "")
    result = outcome.get("result") or {}
    unexpected = result.get("unexpected_count")
    rule = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    if column and column not in frame.columns:
        detail = "column is missing"
    elif outcome.get("exception_info", {}).get("raised_exception"):
        detail = f"could not be evaluated ({outcome['exception_info']['exception_message']})"
    elif unexpected is not None:
        examples = result.get("partial_unexpected_list", [])[:5]
        detail = (
            f"{unexpected} unexpected of {result.get('element_count', len(frame))} values, e.g. {examples}"
        )
    elif result.get("observed_value") is not None:
        detail = f"observed {result['observed_value']!r}"
    else:
        detail = "failed on these values (are they of the expected type?)"
    return Failure(config["type"], column, unexpected, f"{detail} (rule: {rule})" if rule else detail)


def _one_per_missing_column(failures: list[Failure]) -> list[Failure]:
    """A missing column breaks every expectation on it: report it once."""
    reported, kept = set(), []
    for failure in failures:
        if failure.detail.startswith("column is missing"):
            if failure.column in reported:
                continue
            reported.add(failure.column)
            failure = Failure("expect_column_to_exist", failure.column, None, "column is missing")
        kept.append(failure)
    return kept


def validate_frame(frame: pd.DataFrame, suite: dict[str, Any], source: str = "data") -> ValidationOutcome:
    """Run every expectation of `suite` on `frame` in an ephemeral, offline Great Expectations context."""
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    name = suite.get("name", "suite")
    gx_suite = context.suites.add(ExpectationSuite(name=name))
    for number, spec in enumerate(suite["expectations"], start=1):
        try:
            gx_suite.add_expectation(ExpectationConfiguration(**spec).to_domain_obj())
        except Exception as error:
            raise DataError(
                f"suite '{name}': invalid expectation #{number} {spec.get('type')!r} ({error})"
            ) from None
    batch = (
        context.data_sources.add_pandas("keel")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(gx_suite, result_format="SUMMARY").to_json_dict()
    failures = _one_per_missing_column([_describe(o, frame) for o in result["results"] if not o["success"]])
    return ValidationOutcome(source, name, len(frame), len(result["results"]), failures, result)


def validate_table(data_uri: str, suite: dict[str, Any], record_uri: str = "") -> ValidationOutcome:
    """Read the table at `data_uri` and validate it; an unreadable or empty file raises DataError.
    `record_uri` (default `data_uri`) is the URI shown in results."""
    return validate_frame(io.read_table(data_uri), suite, source=record_uri or data_uri)


def _type_family(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "string"


def _expect(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": f"expect_{kind}", "kwargs": kwargs}


def _column_expectations(
    series: pd.Series, family: str, max_categories: int, range_margin: float, is_label: bool
) -> list[dict[str, Any]]:
    column = str(series.name)
    rules = [_expect("column_to_exist", column=column)]
    rules.append(_expect("column_values_to_be_in_type_list", column=column, type_list=TYPE_FAMILIES[family]))
    null_share = float(series.isna().mean())
    if null_share == 0:
        rules.append(_expect("column_values_to_not_be_null", column=column))
    else:  # tolerate up to twice the nulls seen in the reference, plus one point
        mostly = max(0.0, math.floor((1 - 2 * null_share - 0.01) * 100) / 100)
        rules.append(_expect("column_values_to_not_be_null", column=column, mostly=mostly))
    values = series.dropna()
    distinct = values.unique()
    if is_label or (family in ("string", "boolean") and len(distinct) <= max_categories):
        rules.append(
            _expect("column_values_to_be_in_set", column=column, value_set=sorted(distinct.tolist()))
        )
    elif family in ("integer", "float") and len(values):
        low, high = float(values.min()), float(values.max())
        margin = (high - low) * range_margin
        # a column that is never negative in the reference (counts, amounts) stays non-negative
        low, high = (low - margin if low < 0 else max(low - margin, 0.0)), high + margin
        if family == "integer":
            low, high = math.floor(low), math.ceil(high)
        rules.append(_expect("column_values_to_be_between", column=column, min_value=low, max_value=high))
    return rules


def build_suite(
    reference: pd.DataFrame,
    name: str,
    label: str = "",
    unique_columns: tuple[str, ...] = (),
    max_categories: int = 50,
    range_margin: float = 0.1,
) -> dict[str, Any]:
    """A starting suite from a clean reference frame: columns, types, null rules, ranges, category sets.

    Numeric ranges are the reference's, widened by `range_margin` of their span on each side (but
    not below 0 for a column with no negative values); string
    columns with at most `max_categories` distinct values get a category set; the `label` column is
    held to the values it has. Review the result and commit it next to your pipeline.
    """
    if reference.empty:
        raise DataError(f"reference for suite '{name}' has no rows")
    expectations = [_expect("table_row_count_to_be_between", min_value=1)]
    for column in reference.columns:
        series = reference[column]
        family = _type_family(series)
        expectations += _column_expectations(series, family, max_categories, range_margin, column == label)
        if column in unique_columns:
            expectations.append(_expect("column_values_to_be_unique", column=str(column)))
    return {
        "name": name,
        "expectations": expectations,
        "meta": {"label": label, "built_by": "keel build_suite"},
    }


def render_html(outcome: ValidationOutcome) -> str:
    """A self-contained HTML report (inline CSS, no external assets) of a validation result."""
    rows = []
    for item in outcome.result["results"]:
        config = item["expectation_config"]
        kwargs = {k: v for k, v in config["kwargs"].items() if k not in ("batch_id", "column")}
        result = item.get("result") or {}
        observed = result.get("observed_value", result.get("unexpected_count", ""))
        status = "pass" if item["success"] else "fail"
        rows.append(
            f"<tr class='{status}'><td>{status.upper()}</td><td>{html.escape(config['type'])}</td>"
            f"<td>{html.escape(str(config['kwargs'].get('column', '')))}</td>"
            f"<td>{html.escape(str(kwargs))}</td><td>{html.escape(str(observed))}</td></tr>"
        )
    verdict = "PASSED" if outcome.passed else "FAILED"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Data validation: {html.escape(outcome.source)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }} tr.fail td {{ background: #fde2e2; }} tr.pass td:first-child {{ color: #1a7f37; }}
.verdict {{ font-weight: bold; color: {"#1a7f37" if outcome.passed else "#c62828"}; }}
</style></head><body>
<h1>Data validation <span class="verdict">{verdict}</span></h1>
<p>Data: <code>{html.escape(outcome.source)}</code> ({outcome.rows} rows)<br>
Suite: <code>{html.escape(outcome.suite_name)}</code>: {outcome.evaluated} expectations,
{len(outcome.failures)} failed, {outcome.success_percent:.1f}% passed</p>
<table><tr><th>Status</th><th>Expectation</th><th>Column</th><th>Rule</th><th>Observed / unexpected</th></tr>
{"".join(rows)}
</table></body></html>
"""


def write_outputs(outcome: ValidationOutcome, result_path: str, report_path: str) -> None:
    """Write the full result as JSON and the HTML report, each atomically."""
    io.write_json(result_path, outcome.result)
    io.write_bytes(report_path, render_html(outcome).encode())
