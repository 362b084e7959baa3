"""Check scored shards and publish them as one file, partitioned by run date, atomically.

Target: `<output_uri>/run_date=<YYYY-MM-DD>/predictions.parquet`. The shards are merged into a
temporary object beside it while their rows are checked (row count, no nulls, scores in range,
score distribution not collapsed); only when every check passes is it renamed into place, so a
rerun for the same date replaces the output and a failed run leaves the previous one untouched.

Plain Python (no kfp): `run(parts, output_uri)` from a notebook does what the component does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow.compute as pc
import pyarrow.parquet as pq

from components.common import io, locations, parameters
from components.common.errors import KeelError
from components.common.logging import logger
from components.common.tracking import track

PREDICTIONS_FILE = "predictions.parquet"
BATCH_ROWS = 100_000


class PredictionCheckError(KeelError, ValueError):
    """Scored rows that must not be published; the message names the output and the rule."""


@dataclass
class Published:
    uri: str
    run_date: str
    rows: int
    score_mean: float
    score_std: float
    sha256: str  # of the published file: the fingerprint of the predictions

    def metrics(self) -> dict[str, float]:
        return {
            "rows": self.rows,
            "score_mean": round(self.score_mean, 6),
            "score_std": round(self.score_std, 6),
        }


def target_uri(output_uri: str, day: str) -> str:
    return f"{output_uri.rstrip('/')}/run_date={day}/{PREDICTIONS_FILE}"


class _ScoreStats:
    def __init__(self) -> None:
        self.rows, self.total, self.squares, self.low, self.high = 0, 0.0, 0.0, math.inf, -math.inf

    def add(self, scores) -> None:
        self.rows += len(scores)
        self.total += pc.sum(scores).as_py() or 0.0
        self.squares += pc.sum(pc.multiply(scores, scores)).as_py() or 0.0
        bounds = pc.min_max(scores).as_py()
        self.low, self.high = min(self.low, bounds["min"]), max(self.high, bounds["max"])

    @property
    def mean(self) -> float:
        return self.total / self.rows

    @property
    def std(self) -> float:
        return math.sqrt(max(self.squares / self.rows - self.mean**2, 0.0))


def run(
    parts: list[str],
    output_uri: str,
    run_date: str = "",
    schedule_time: str = "",
    data_uri: str = "",
    classification: bool = True,
    min_score_std: float = 0.001,
) -> Published:
    """The component's work, as a tracked run: check the parameters and that `output_uri` is not
    inside `data_uri`, then publish `parts` under the run date (`parameters.run_date`), expecting as
    many rows as `data_uri` has."""
    params = {"output_uri": output_uri, "run_date": run_date, "schedule_time": schedule_time}
    with track("publish_predictions", params=params) as tracked:
        parameters.check({"output_uri": output_uri, "run_date": run_date, "min_score_std": min_score_std})
        locations.check_outputs({"output_uri": output_uri}, {"data_uri": data_uri})
        day = parameters.run_date(run_date, schedule_time)
        expected_rows = io.open_dataset(data_uri).count_rows() if data_uri else -1
        published = publish(parts, output_uri, day, expected_rows, classification, min_score_std)
        tracked.log_metrics(published.metrics())
    logger.info("published %d predictions to %s", published.rows, published.uri)
    return published


def publish(
    parts: list[str],
    output_uri: str,
    day: str,
    expected_rows: int = -1,
    classification: bool = True,
    min_score_std: float = 0.001,
) -> Published:
    """Merge `parts` into the run date's partition of `output_uri` once every check passes."""
    target = target_uri(output_uri, day)
    stats = _ScoreStats()
    if not parts:
        raise PredictionCheckError(f"{target}: no scored shards to publish")
    schema = io.open_dataset(parts[0]).schema
    with io.atomic_output(target) as stream, pq.ParquetWriter(stream, schema) as writer:
        for part in parts:
            # one batch at a time (a dataset scan would read many row groups ahead)
            batches = (
                b for piece in io.table_pieces(part) for b in io.iter_batches(piece, schema.names, BATCH_ROWS)
            )
            for batch in batches:
                for column in ("prediction", "score"):
                    if batch.column(column).null_count:
                        raise PredictionCheckError(f"{target}: column '{column}' has nulls (from {part})")
                stats.add(batch.column("score"))
                writer.write_batch(batch)
        _check(target, stats, expected_rows, classification, min_score_std)
    return Published(target, day, stats.rows, stats.mean, stats.std, io.sha256(target))


def _check(
    target: str, stats: _ScoreStats, expected_rows: int, classification: bool, min_score_std: float
) -> None:
    if expected_rows >= 0 and stats.rows != expected_rows:
        raise PredictionCheckError(f"{target}: {stats.rows} rows scored but the input has {expected_rows}")
    if stats.rows == 0:
        raise PredictionCheckError(f"{target}: no rows scored")
    if classification and (stats.low < 0 or stats.high > 1):
        raise PredictionCheckError(
            f"{target}: column 'score' outside [0, 1] (min {stats.low}, max {stats.high})"
        )
    if stats.rows > 1 and stats.std < min_score_std:
        raise PredictionCheckError(
            f"{target}: column 'score' collapsed (std {stats.std:.2e} < {min_score_std}): "
            "the model gives every row nearly the same score"
        )
