"""Score a table with a model, streaming in batches so memory stays bounded whatever the input size.

The output holds the id columns, `prediction`, `score`, `model_name`, `model_version`, `run_id`
and `scored_at`; it is written atomically (nothing at the output URI until all of it is written)
and its row count is checked against the input's. Rerunning with the same output URI replaces it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from components.common import io, locations, parameters, prediction
from components.common.errors import parameter_error
from components.common.io import DataError
from components.common.labels import CLASSIFICATION
from components.common.logging import logger

DEFAULT_BATCH_ROWS = 50_000


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


def _output_schema(input_schema: pa.Schema, run: ScoringRun, metadata: dict) -> pa.Schema:
    classification = metadata.get("task") == CLASSIFICATION
    predicted = pa.array(metadata.get("classes") or [0]).type if classification else pa.float64()
    return pa.schema(
        [input_schema.field(name) for name in run.id_columns]
        + [
            ("prediction", predicted),
            ("score", pa.float64()),
            ("model_name", pa.string()),
            ("model_version", pa.int64()),
            ("run_id", pa.string()),
            ("scored_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def _output_batch(
    batch: pa.RecordBatch, model: Any, metadata: dict, run: ScoringRun, scored_at: datetime, schema: pa.Schema
) -> pa.Table:
    frame = batch.to_pandas()
    predicted, score = prediction.predict(model, metadata, prediction.feature_frame(frame, metadata, "input"))
    rows = len(frame)
    columns = {name: batch.column(name) for name in run.id_columns}
    columns |= {
        "prediction": pa.array(predicted),
        "score": pa.array(score, pa.float64()),
        "model_name": pa.array([run.model_name] * rows, pa.string()),
        "model_version": pa.array([run.model_version] * rows, pa.int64()),
        "run_id": pa.array([run.run_id] * rows, pa.string()),
        "scored_at": pa.array([scored_at] * rows, pa.timestamp("us", tz="UTC")),
    }
    return pa.table(columns).cast(schema)


def _check_shard(shard_index: int, shard_count: int) -> None:
    if not 0 <= shard_index < shard_count:
        shown = {"index": shard_index, "count": shard_count}
        raise parameter_error("shard", shown, "expected 0 <= index < count")


def shard(pieces: list[io.TablePiece], shard_index: int, shard_count: int) -> list[io.TablePiece]:
    """Shard `shard_index` of `shard_count`: every shard_count-th piece (parquet row group)."""
    _check_shard(shard_index, shard_count)
    return pieces[shard_index::shard_count]


def score_table(
    model: Any,
    metadata: dict[str, Any],
    input_uri: str,
    output_uri: str,
    run: ScoringRun,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    shard_index: int = 0,
    shard_count: int = 1,
) -> ScoringResult:
    """Score every row of `input_uri` (or of one shard of it) into a parquet file at `output_uri`,
    which must not equal, contain or sit inside `input_uri`."""
    parameters.check({"batch_rows": batch_rows, "id_columns": list(run.id_columns)})
    _check_shard(shard_index, shard_count)
    locations.check_outputs({"predictions": output_uri}, {"data": input_uri})
    schema = io.open_dataset(input_uri).schema
    needed = list(dict.fromkeys([*run.id_columns, *(f["name"] for f in metadata["features"])]))
    absent = [name for name in needed if name not in schema.names]
    if absent:
        raise DataError(f"{input_uri}: column(s) {', '.join(absent)} needed for scoring not found")
    pieces = shard(io.table_pieces(input_uri), shard_index, shard_count)
    rows_in = io.rows_of(pieces, input_uri)
    started, scored_at = time.monotonic(), datetime.now(UTC)
    progress, rows_out, batches = _Progress(rows_in), 0, 0
    out_schema = _output_schema(schema, run, metadata)
    with io.atomic_output(output_uri) as stream, pq.ParquetWriter(stream, out_schema) as writer:
        for piece in pieces:
            for batch in io.iter_batches(piece, needed, batch_rows):
                if batch.num_rows:
                    writer.write_table(_output_batch(batch, model, metadata, run, scored_at, out_schema))
                    rows_out, batches = rows_out + batch.num_rows, batches + 1
                    progress.advance(batch.num_rows)
        if rows_out != rows_in:
            raise RuntimeError(f"{input_uri}: {rows_in} rows in but {rows_out} scored; output discarded")
    return ScoringResult(output_uri, rows_in, rows_out, batches, time.monotonic() - started)
