"""Validate a table against a Great Expectations 1.x suite kept as JSON, in bounded memory.

    outcome = validate_table("data.parquet", load_suite("suite.json"))   # streamed, every row checked

The table is read in batches (parquet row groups, CSV blocks); Great Expectations measures each
batch and the metrics are combined (`partial.py`) before Great Expectations judges them, so memory
does not grow with the table and `mostly` holds for the whole table. A shard of the table
(`measure_table(..., shard_index, shard_count)`, the shards batch_predict scores) gives a partial
result; `combine` judges the partials of every shard together. A table with no rows never passes.
`run` and `combine_validation` are the work of the validate_data and combine_validation components:
tracked, with their outputs written and the verdict enforced.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from components.common import inputs, io
from components.common.errors import parameter_error
from components.common.io import DataError
from components.common.logging import logger
from components.common.tracking import track
from components.validate_data import partial as partials
from components.validate_data.partial import DistinctSketch, Moments, Partial, RowSample
from components.validate_data.report import render_html

DEFAULT_BATCH_ROWS = 100_000
STRINGS = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}
NO_ROWS = "the table has no rows (a table with no rows never passes validation, whatever the suite)"


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
    batches: int = 1
    shards: int = 1

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def success_percent(self) -> float:
        failed = sum(1 for r in self.result["results"] if not r["success"])
        return 100.0 * (self.evaluated - failed) / self.evaluated if self.evaluated else 0.0

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


def load_suite(uri: str) -> dict[str, Any]:
    """Read a suite JSON file; an empty `uri` is a ParameterError naming `suite_uri` (there is no
    default suite: build one for your data with `keel suite build`, see examples/churn/suite.json)."""
    if not isinstance(uri, str) or not uri.strip():
        raise parameter_error(
            "suite_uri", uri, "an expectation suite is required (a JSON file: local, /gcs/ or gs://)"
        )
    suite = io.read_json(uri)
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise DataError(f"{uri}: not an expectation suite (needs a JSON object with an 'expectations' list)")
    suite.setdefault("name", uri.rsplit("/", 1)[-1].removesuffix(".json"))
    return suite


def for_model(
    metadata: Mapping[str, Any], suite_uri: str = "", skip_columns: list[str] | None = None
) -> tuple[str, list[str]]:
    """(suite URI, columns to skip) to validate the data a resolved model scores: `suite_uri`, else
    the one resolve_model settled on (its model artifact's metadata `suite_uri`); `skip_columns` plus
    the model's (`skip_columns`: its label, at least)."""
    skipped = [*(skip_columns or []), *(metadata.get("skip_columns") or [])]
    return suite_uri or metadata.get("suite_uri", ""), list(dict.fromkeys(skipped))


def without_columns(suite: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """The suite minus every expectation on `columns` (e.g. the label when scoring)."""
    drop = set(columns)
    kept = [copy.deepcopy(e) for e in suite["expectations"] if e.get("kwargs", {}).get("column") not in drop]
    for expectation in kept:
        kwargs = expectation.get("kwargs", {})
        if "column_set" in kwargs:
            kwargs["column_set"] = [c for c in kwargs["column_set"] if c not in drop]
    return {**suite, "expectations": kept}


# ------------------------------------------------------------------------------------ measuring


def to_pandas(batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    """A batch as pandas, as a whole-table read gives it (strings as Python objects)."""
    return batch.to_pandas(types_mapper=STRINGS.get)


class _Measurer:
    """Feeds batches to Great Expectations and folds what it measures into one Partial."""

    def __init__(self, suite: dict[str, Any], source: str, shard: str, seed: int = 0) -> None:
        from components.validate_data.engine import engine_for

        self.engine = engine_for(suite)
        self.partial = Partial(suite, source, shards=[shard])
        self.rng = np.random.default_rng([seed, 7])
        self.per_batch: set[int] = set()  # measured on every batch and combined
        self.unique: dict[int, str] = {}  # expectation -> column, also compared across batches
        self.moment_columns: set[str] = set()
        self.planned = False

    def _plan(self, frame: pd.DataFrame) -> None:
        sampled = False
        for index, names in enumerate(self.engine.metric_names(frame)):
            if isinstance(names, str) or all(partials.combinable(n) for n in names):
                self.per_batch.add(index)
            else:
                sampled = True
            column = self.engine.configs[index].kwargs.get("column")
            if isinstance(names, set) and column:
                if partials.UNIQUE_METRIC in names:
                    self.unique[index] = column
                if names & partials.MOMENTS:
                    self.moment_columns.add(column)
        if sampled:
            self.partial.sample = RowSample()
        self.planned = True

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        frame = to_pandas(batch)
        if not self.planned:
            self._plan(frame)
        partial = self.partial
        partial.rows += len(frame)
        partial.batches += 1
        partial.merge_columns({str(c): str(t) for c, t in frame.dtypes.items()})
        partial.merge_metrics(
            {i: partials.plain(m) for i, m in self.engine.measure(frame, self.per_batch).items()}
        )
        for column in self.moment_columns & set(frame.columns):
            partial.moments[column] = partial.moments.get(column, Moments()).merge(Moments.of(frame[column]))
        for index, column in self.unique.items():
            if column in frame.columns:
                partial.sketches.setdefault(index, DistinctSketch()).add(frame[column])
        if partial.sample is not None and len(frame):
            partial.sample.add(batch, self.rng)


def measure_table(
    data_uri: str,
    suite: dict[str, Any],
    record_uri: str = "",
    shard_index: int = 0,
    shard_count: int = 1,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Partial:
    """Measure every row of the table at `data_uri` (or of one shard of it) in batches.
    `record_uri` (default `data_uri`) is the URI shown in results."""
    schema = io.open_dataset(data_uri).schema
    pieces = io.shard_pieces(io.table_pieces(data_uri), shard_index, shard_count)
    measurer = _Measurer(suite, record_uri or data_uri, f"{shard_index}/{shard_count}", seed=shard_index)
    for piece in pieces:
        for batch in io.iter_batches(piece, schema.names, batch_rows):
            if batch.num_rows:
                measurer.add(batch)
    if not measurer.partial.batches:  # no rows: still check the columns and their types
        measurer.add(schema.empty_table())
    return measurer.partial


def measure_frame(frame: pd.DataFrame, suite: dict[str, Any], source: str = "data") -> Partial:
    """Measure a frame already in memory, as one batch read from a file would be."""
    measurer = _Measurer(suite, source, "0/1")
    measurer.add(pa.Table.from_pandas(frame, preserve_index=False))
    return measurer.partial


# ------------------------------------------------------------------------------------ judging


def _schema_frame(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series(dtype=pd.api.types.pandas_dtype(dtype)) for name, dtype in columns.items()}
    )


def _with_dtypes(metrics: dict[str, Any]) -> dict[str, Any]:
    types = metrics.get("table.column_types")
    if types is None:
        return metrics
    typed = [{"name": t["name"], "type": pd.api.types.pandas_dtype(t["type"])} for t in types]
    return {**metrics, "table.column_types": typed}


def _check_shards(whole: Partial) -> None:
    labels = sorted(whole.shards, key=lambda label: tuple(int(n) for n in label.split("/")))
    counts = {int(label.split("/")[1]) for label in labels}
    expected = [f"{i}/{n}" for n in counts for i in range(n)]
    if len(counts) != 1 or labels != expected:
        raise DataError(
            f"{whole.source}: partial results of shards {', '.join(labels)} do not make one whole table "
            f"(expected {', '.join(expected)})"
        )


def combine(parts: list[Partial]) -> ValidationOutcome:
    """Judge the combined partial results (of batches or shards) of one table with Great Expectations."""
    from components.validate_data.engine import engine_for

    if not parts:
        raise DataError("no partial validation results to combine")
    whole = Partial(parts[0].suite, parts[0].source)
    for part in parts:
        if part.suite != whole.suite:
            raise DataError(f"{part.source}: partial results of different suites cannot be combined")
        whole.merge(part)
    _check_shards(whole)
    engine = engine_for(whole.suite)
    evaluated = {}
    measured = {}
    for index, metrics in whole.measured.items():
        if isinstance(metrics, dict):
            metrics = _with_dtypes(metrics)
            column = engine.configs[index].kwargs.get("column")
            for name in partials.MOMENTS & set(metrics):
                metrics[name] = whole.moments.get(column, Moments()).value(name)
            sketch = whole.sketches.get(index)
            if sketch is not None:
                within_batches = metrics[partials.UNIQUE_METRIC]
                duplicated = sketch.duplicated_rows()
                metrics[partials.UNIQUE_METRIC] = (
                    duplicated if sketch.exact else max(duplicated, within_batches)
                )
                evaluated[index] = f"every row; uniqueness across batches {sketch.describe()}"
        measured[index] = metrics
    results = engine.judge(_schema_frame(whole.columns), measured)
    sampled = set(range(len(engine.configs))) - set(measured)
    if sampled:
        results |= _judge_on_sample(engine, whole, sampled, evaluated)
    ordered = []
    for index in range(len(engine.configs)):
        item = results[index]
        item["meta"] = {**(item.get("meta") or {}), "evaluated": evaluated.get(index, "every row")}
        ordered.append(item)
    return _outcome(whole, engine.name, ordered)


def _judge_on_sample(engine, whole: Partial, sampled: set[int], evaluated: dict[int, str]) -> dict[int, dict]:
    rows = whole.sample.rows() if whole.sample is not None else None
    if rows is None or rows.num_rows == 0:
        return {i: engine.error_result(i, "not evaluated: the table has no rows") for i in sampled}
    frame = to_pandas(rows)
    for index in sampled:
        evaluated[index] = f"on a uniform random sample of {len(frame):,} of {whole.rows:,} rows"
    return engine.judge(frame.iloc[:0], engine.measure(frame, sampled))


def _describe(outcome: dict[str, Any], columns: dict[str, str]) -> Failure:
    config = outcome["expectation_config"]
    kwargs = {k: v for k, v in config["kwargs"].items() if k != "batch_id"}
    column = kwargs.pop("column", "")
    result = outcome.get("result") or {}
    unexpected = result.get("unexpected_count")
    rule = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    if column and column not in columns:
        detail = "column is missing"
    elif (outcome.get("exception_info") or {}).get("raised_exception"):
        detail = f"could not be evaluated ({outcome['exception_info']['exception_message']})"
    elif unexpected is not None:
        examples = result.get("partial_unexpected_list", [])[:5]
        detail = f"{unexpected} unexpected of {result.get('element_count')} values, e.g. {examples}"
    elif result.get("observed_value") is not None:
        detail = f"observed {result['observed_value']!r}"
    else:
        detail = "failed on these values (are they of the expected type?)"
    evaluated = (outcome.get("meta") or {}).get("evaluated", "every row")
    if evaluated != "every row":
        detail += f" [evaluated {evaluated}]"
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


def _outcome(whole: Partial, suite_name: str, results: list[dict[str, Any]]) -> ValidationOutcome:
    failures = _one_per_missing_column([_describe(r, whole.columns) for r in results if not r["success"]])
    if whole.rows == 0:
        failures.insert(0, Failure("table", "", None, NO_ROWS))
    passed = not failures
    successful = sum(1 for r in results if r["success"])
    result = {
        "success": passed,
        "suite_name": suite_name,
        "results": partials.plain(results),
        "statistics": {
            "evaluated_expectations": len(results),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(results) - successful,
            "success_percent": 100.0 * successful / len(results) if results else 0.0,
        },
        "meta": {
            "data": whole.source,
            "rows": whole.rows,
            "batches": whole.batches,
            "shards": len(whole.shards),
            "failures": [str(f) for f in failures],
        },
    }
    return ValidationOutcome(
        whole.source, suite_name, whole.rows, len(results), failures, result, whole.batches, len(whole.shards)
    )


# ------------------------------------------------------------------------------------ entry points


def validate_table(
    data_uri: str, suite: dict[str, Any], record_uri: str = "", batch_rows: int = DEFAULT_BATCH_ROWS
) -> ValidationOutcome:
    """Validate every row of the table at `data_uri`, streamed in batches of `batch_rows` rows; an
    unreadable or empty file raises DataError. `record_uri` (default `data_uri`) is shown in results."""
    return combine([measure_table(data_uri, suite, record_uri, batch_rows=batch_rows)])


def validate_shard(
    data_uri: str,
    suite: dict[str, Any],
    partial_uri: str,
    record_uri: str = "",
    shard_index: int = 0,
    shard_count: int = 1,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ValidationOutcome:
    """Validate one shard of the table (or all of it: shard 0 of 1), write its combinable partial
    result into the folder `partial_uri` and return the shard's outcome on its rows alone."""
    measured = measure_table(data_uri, suite, record_uri, shard_index, shard_count, batch_rows)
    measured.write(partial_uri)
    alone = copy.copy(measured)
    alone.shards = ["0/1"]  # judged on its own rows
    return combine([alone])


def combine_folders(partial_uris: list[str]) -> ValidationOutcome:
    """Judge the partial results written by `validate_shard` for every shard of one table."""
    return combine([Partial.read(uri) for uri in partial_uris])


def validate_frame(frame: pd.DataFrame, suite: dict[str, Any], source: str = "data") -> ValidationOutcome:
    """Validate a frame already in memory."""
    return combine([measure_frame(frame, suite, source)])


def write_outputs(outcome: ValidationOutcome, result_path: str, report_path: str) -> None:
    """Write the full result as JSON and the HTML report, each atomically."""
    io.write_json(result_path, outcome.result)
    io.write_bytes(report_path, render_html(outcome).encode())


def _enforce(outcome: ValidationOutcome, fail: bool) -> None:
    """ValidationFailedError listing the failures when `outcome` failed and `fail`; else a warning."""
    if outcome.passed:
        return
    if fail:
        raise ValidationFailedError(outcome.summary())
    logger.warning("%s", outcome.summary())


def run(
    data_uri: str,
    result_uri: str,
    report_uri: str,
    partial_uri: str,
    suite_uri: str = "",
    skip_columns: list[str] | None = None,
    fail_on_error: bool = True,
    shard: Mapping[str, Any] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    record_uri: str = "",
    data_fingerprint: str = "",
    suite_fingerprint: str = "",
) -> ValidationOutcome:
    """The validate_data component's work, as a tracked run: validate the table at `data_uri`, or its
    `shard` (an item of plan_shards' output), against the suite at `suite_uri` (required) minus the expectations on `skip_columns`; write the partial result into the folder
    `partial_uri`, the full result and the HTML report. A failed validation of the whole table
    raises ValidationFailedError when `fail_on_error`; a shard's, and any when not, is a warning (a
    shard's verdict is combine_validation's). `record_uri` (default `data_uri`) and the fingerprints
    are recorded with the run."""
    index, count = inputs.shard_position(shard)
    params = {
        "data": record_uri or data_uri,
        "suite_uri": suite_uri,
        "skip_columns": skip_columns or [],
        "fail_on_error": fail_on_error,
        "data_fingerprint": data_fingerprint,
        "suite_fingerprint": suite_fingerprint,
        "shard": f"{index}/{count}",
    }
    suite = without_columns(load_suite(suite_uri), skip_columns or [])
    with track("validate_data", params=params) as tracked:
        outcome = validate_shard(data_uri, suite, partial_uri, record_uri, index, count, batch_rows)
        write_outputs(outcome, result_uri, report_uri)
        tracked.log_metrics(outcome.metrics())
        tracked.log_artifact("report", report_uri)
    _enforce(outcome, fail_on_error and not shard)
    return outcome


def combine_validation(
    partial_uris: list[str], result_uri: str, report_uri: str, fail_on_error: bool = True
) -> ValidationOutcome:
    """The combine_validation component's work, as a tracked run: judge the partial results of every
    shard of one table (`combine_folders`) and write the full result and the HTML report; a failed
    validation raises ValidationFailedError when `fail_on_error`, else it is a warning."""
    with track("combine_validation", params={"shards": len(partial_uris)}) as tracked:
        outcome = combine_folders(partial_uris)
        write_outputs(outcome, result_uri, report_uri)
        tracked.log_metrics(outcome.metrics())
        tracked.log_artifact("report", report_uri)
    _enforce(outcome, fail_on_error)
    return outcome
