"""Cut a table into shards that score in parallel: whole parquet row groups, about N rows each."""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.common import io, parameters


@dataclass(frozen=True)
class ShardPlan:
    rows: int
    pieces: int  # parquet row groups (a CSV file is one piece)
    count: int

    @property
    def items(self) -> list[dict[str, int]]:
        return [{"index": index, "count": self.count} for index in range(self.count)]


def plan(uri: str, rows_per_shard: int = 1_000_000, max_shards: int = 32) -> ShardPlan:
    """As many shards as `rows_per_shard` asks for, but no more than pieces or `max_shards`."""
    parameters.check({"rows_per_shard": rows_per_shard, "max_shards": max_shards})
    pieces = io.table_pieces(uri)
    rows = io.rows_of(pieces, uri)
    count = max(1, min(len(pieces), max_shards, math.ceil(rows / rows_per_shard)))
    return ShardPlan(rows, len(pieces), count)
