"""Score a table with a model, streaming in batches so memory stays bounded whatever the input size.

The output holds the id columns, `prediction`, `score`, `model_name`, `model_version`, `run_id`
and `scored_at`; it is written atomically (nothing at the output URI until all of it is written)
and its row count is checked against the input's. Rerunning with the same output URI replaces it.

Reading (parquet decoding, conversion of the feature columns to pandas) and writing (parquet
encoding) run in threads beside the prediction: pyarrow releases the GIL while it decodes and
encodes, so they overlap with the model's work; a bounded queue keeps at most a few batches in flight.

Given the model's reference profile, the rows and their scores are also profiled on its bins as
they stream by, for the drift check (components.common.profile).

Plain Python (no kfp): `run(model_folder, data_uri, output_uri, ScoringRun(...))` from a notebook does
what the component does; `score_table` scores with a model already in memory.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from components.common import inputs, io, locations, model_files, parameters, prediction
from components.common.io import DataError
from components.common.labels import CLASSIFICATION
from components.common.logging import logger
from components.common.profile import Profiler
from components.common.tracking import track

DEFAULT_BATCH_ROWS = 100_000


@dataclass(frozen=True)
class ScoringRun:
    """Who scored: recorded on every output row."""

    model_name: str
    model_version: int
    run_id: str
    id_columns: tuple[str, ...] = ()


@dataclass
class ScoringResult:
    output_uri: str
    rows_in: int
    rows_out: int
    batches: int
    seconds: float
    profile: dict[str, Any] | None = None  # the scored rows' profile, when asked for
    task: str = ""  # the model's: classification or regression
    shard_index: int = 0

    def metrics(self) -> dict[str, float]:
        rate = self.rows_out / self.seconds if self.seconds else 0.0
        return {"rows": self.rows_out, "batches": self.batches, "rows_per_second": round(rate, 1)}


class _Progress:
    """A progress bar in a terminal, a log line per tenth of the rows otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.next_log = max(total, 1), 0, 0.1
        self.bar = sys.stderr.isatty()

    def advance(self, rows: int) -> None:
        self.done += rows
        share = self.done / self.total
        if self.bar:
            filled = int(share * 30)
            sys.stderr.write(
                f"\rscoring [{'#' * filled}{'.' * (30 - filled)}] {self.done:,}/{self.total:,} rows"
            )
            if self.done >= self.total:
                sys.stderr.write("\n")
        elif share >= self.next_log or self.done >= self.total:
            logger.info("scored %s of %s rows (%.0f%%)", f"{self.done:,}", f"{self.total:,}", 100 * share)
            self.next_log = (int(share * 10) + 1) / 10


def _output_schema(input_schema: pa.Schema, scoring: ScoringRun, metadata: dict) -> pa.Schema:
    classification = metadata.get("task") == CLASSIFICATION
    predicted = pa.array(metadata.get("classes") or [0]).type if classification else pa.float64()
    return pa.schema(
        [input_schema.field(name) for name in scoring.id_columns]
        + [
            ("prediction", predicted),
            ("score", pa.float64()),
            ("model_name", pa.string()),
            ("model_version", pa.int64()),
            ("run_id", pa.string()),
            ("scored_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def _features(batch: pa.RecordBatch, names: list[str]) -> tuple[pa.RecordBatch, pd.DataFrame]:
    """The batch and its feature columns as pandas, in the model's order (no other column converted)."""
    return batch, batch.select(names).to_pandas(use_threads=False)  # the model has the cores


def _output_batch(
    batch: pa.RecordBatch,
    features: pd.DataFrame,
    model: Any,
    metadata: dict,
    scoring: ScoringRun,
    constants: dict[str, pa.Scalar],
    schema: pa.Schema,
    profiler: Profiler | None,
) -> pa.Table:
    predicted, score = prediction.predict(model, metadata, features)
    if profiler is not None:
        profiler.add(features, score)
    rows = batch.num_rows
    columns = [batch.column(name) for name in scoring.id_columns]
    columns += [pa.array(predicted, schema.field("prediction").type), pa.array(score, pa.float64())]
    columns += [pa.repeat(value, rows) for value in constants.values()]
    return pa.Table.from_arrays(columns, schema=schema)


_DONE = object()


def _in_background(produce: Iterator[Any], depth: int = 1) -> Iterator[Any]:
    """The items of `produce`, made by a thread at most `depth` items ahead; its errors are raised here."""
    items: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in produce:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as error:  # handed to the consumer
            offer(error)

    thread = threading.Thread(target=work, name="keel-reader", daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


class _BackgroundWriter:
    """Calls `write` on each item in a thread, at most `depth` items behind; errors are raised on close."""

    def __init__(self, write: Callable[[Any], None], depth: int = 1) -> None:
        self.items: queue.Queue = queue.Queue(depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, args=(write,), name="keel-writer", daemon=True)
        self.thread.start()

    def _work(self, write: Callable[[Any], None]) -> None:
        while (item := self.items.get()) is not _DONE:
            if self.error is None:
                try:
                    write(item)
                except BaseException as error:
                    self.error = error

    def put(self, item: Any) -> None:
        if self.error is not None:
            raise self.error
        self.items.put(item)

    def close(self) -> None:
        self.items.put(_DONE)
        self.thread.join()
        if self.error is not None:
            raise self.error


def score_table(
    model: Any,
    metadata: dict[str, Any],
    input_uri: str,
    output_uri: str,
    scoring: ScoringRun,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    shard_index: int = 0,
    shard_count: int = 1,
    reference: dict[str, Any] | None = None,
    profile_uri: str = "",
) -> ScoringResult:
    """Score every row of `input_uri` (or of one shard of it) into a parquet file at `output_uri`,
    which must not equal, contain or sit inside `input_uri`.

    With the model's `reference` profile, the rows and scores are profiled on its bins
    (ScoringResult.profile) and, given `profile_uri`, written there as JSON (`{}` without a reference).
    """
    parameters.check({"batch_rows": batch_rows, "id_columns": list(scoring.id_columns)})
    io.check_shard(shard_index, shard_count)
    locations.check_outputs({"predictions": output_uri}, {"data": input_uri})
    schema = io.open_dataset(input_uri).schema
    needed = list(dict.fromkeys([*scoring.id_columns, *(f["name"] for f in metadata["features"])]))
    absent = [name for name in needed if name not in schema.names]
    if absent:
        raise DataError(f"{input_uri}: column(s) {', '.join(absent)} needed for scoring not found")
    pieces = io.shard_pieces(io.table_pieces(input_uri), shard_index, shard_count)
    rows_in = io.rows_of(pieces, input_uri)
    started, scored_at = time.monotonic(), datetime.now(UTC)
    progress, rows_out, batches = _Progress(rows_in), 0, 0
    out_schema = _output_schema(schema, scoring, metadata)
    features = [f["name"] for f in metadata["features"]]
    constants = {
        "model_name": pa.scalar(scoring.model_name, pa.string()),
        "model_version": pa.scalar(scoring.model_version, pa.int64()),
        "run_id": pa.scalar(scoring.run_id, pa.string()),
        "scored_at": pa.scalar(scored_at, pa.timestamp("us", tz="UTC")),
    }
    read = (
        _features(batch, features)
        for piece in pieces
        for batch in io.iter_batches(piece, needed, batch_rows)
        if batch.num_rows
    )
    profiler = Profiler(reference) if reference else None
    # Dictionary encoding pays off for the few distinct values of the other columns only: on ids and
    # scores, which hardly repeat, it tripled the encoding time and grew the file.
    repeating = [name for name in out_schema.names if name not in {*scoring.id_columns, "score"}]
    with (
        io.atomic_output(output_uri) as stream,
        pq.ParquetWriter(stream, out_schema, use_dictionary=repeating) as writer,
    ):
        background = _BackgroundWriter(writer.write_table)
        try:
            for batch, frame in _in_background(read):
                background.put(
                    _output_batch(batch, frame, model, metadata, scoring, constants, out_schema, profiler)
                )
                rows_out, batches = rows_out + batch.num_rows, batches + 1
                progress.advance(batch.num_rows)
        finally:
            background.close()
        if rows_out != rows_in:
            raise RuntimeError(f"{input_uri}: {rows_in} rows in but {rows_out} scored; output discarded")
    profile = profiler.result() if profiler is not None else None
    if profile_uri:
        io.write_json(profile_uri, profile or {})
    seconds = time.monotonic() - started
    return ScoringResult(
        output_uri, rows_in, rows_out, batches, seconds, profile, metadata.get("task", ""), shard_index
    )


def run(
    model_folder: str,
    data_uri: str,
    output_uri: str,
    scoring: ScoringRun,
    profile_uri: str = "",
    expected_sha256: str = "",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    shard: Mapping[str, Any] | None = None,
    record_uri: str = "",
    data_fingerprint: str = "",
) -> ScoringResult:
    """The component's work, as a tracked run: load the model in `model_folder` (its sha256 checked,
    against `expected_sha256` when given, else metadata.json's) and its reference profile, then
    `score_table` the table at `data_uri`, or its `shard` (an item of plan_shards' output), into
    `output_uri` and the profile into `profile_uri`. `record_uri` (default `data_uri`) and
    `data_fingerprint` are recorded with the run."""
    index, count = inputs.shard_position(shard)
    model, metadata = model_files.load(model_folder, expected_sha256)
    reference = model_files.load_profile(model_folder)
    params = {
        "data": record_uri or data_uri,
        "data_fingerprint": data_fingerprint,
        "model_version": scoring.model_version,
        "shard": f"{index}/{count}",
    }
    with track("batch_predict", params=params) as tracked:
        result = score_table(
            model, metadata, data_uri, output_uri, scoring, batch_rows, index, count, reference, profile_uri
        )
        tracked.log_metrics(result.metrics())
    return result
