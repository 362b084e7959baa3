"""Cut a table into shards that score (and validate) in parallel: whole parquet row groups.

On Vertex each shard runs on its own machine, which takes about a minute to start: a shard should
work for several minutes, or start-up dominates. By default a shard holds the rows one machine
handles in `shard_minutes` (5) at `rows_per_second`, the slower of validation and scoring
measured by `benchmarks/run.py` on the sample data (README, Benchmarks): 15 million rows.
Slower models or wider tables: lower `rows_per_second` (or set `rows_per_shard`). Smaller shards
finish sooner when machines are plentiful but pay the minute of start-up more often; larger
shards waste less but leave the parallelism unused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.common import io, parameters
from components.common.logging import logger

SHARD_MINUTES = 5.0
ROWS_PER_SECOND = 50_000  # scoring, the slower step on the sample data and model (benchmarks/run.py)


@dataclass(frozen=True)
class ShardPlan:
    rows: int
    pieces: int  # parquet row groups (a CSV file is one piece)
    count: int
    rows_per_shard: int

    @property
    def items(self) -> list[dict[str, int]]:
        return [{"index": index, "count": self.count} for index in range(self.count)]


def target_rows(
    rows_per_shard: int = 0, shard_minutes: float = SHARD_MINUTES, rows_per_second: float = ROWS_PER_SECOND
) -> int:
    """Rows per shard: `rows_per_shard` when given, else what `shard_minutes` of work at `rows_per_second` is."""
    parameters.check(
        {"rows_per_shard": rows_per_shard, "shard_minutes": shard_minutes, "rows_per_second": rows_per_second}
    )
    return rows_per_shard or max(1, int(shard_minutes * 60 * rows_per_second))


def plan(
    uri: str,
    rows_per_shard: int = 0,
    max_shards: int = 32,
    shard_minutes: float = SHARD_MINUTES,
    rows_per_second: float = ROWS_PER_SECOND,
) -> ShardPlan:
    """As many shards as the target size asks for, but no more than pieces or `max_shards`."""
    parameters.check({"max_shards": max_shards})
    target = target_rows(rows_per_shard, shard_minutes, rows_per_second)
    pieces = io.table_pieces(uri)
    rows = io.rows_of(pieces, uri)
    count = max(1, min(len(pieces), max_shards, math.ceil(rows / target)))
    return ShardPlan(rows, len(pieces), count, target)


def run(
    data_uri: str,
    rows_per_shard: int = 0,
    max_shards: int = 32,
    shard_minutes: float = SHARD_MINUTES,
    rows_per_second: float = ROWS_PER_SECOND,
    record_uri: str = "",
) -> ShardPlan:
    """The component's work: `plan` the shards of the table at `data_uri` and log the plan, naming the
    table `record_uri` (default `data_uri`)."""
    shards = plan(data_uri, rows_per_shard, max_shards, shard_minutes, rows_per_second)
    logger.info(
        "%s: %d rows in %d pieces -> %d shard(s) of about %d rows",
        record_uri or data_uri,
        shards.rows,
        shards.pieces,
        shards.count,
        shards.rows_per_shard,
    )
    return shards
