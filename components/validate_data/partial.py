"""A validation result that combines: metrics of batches and shards, merged exactly where possible.

Row-level metrics (unexpected and missing counts, row counts) add up; examples of unexpected
values are kept up to `EXAMPLES`; min, max, sum, mean and standard deviation combine exactly.
Uniqueness across batches uses a sketch of value hashes (`DistinctSketch`): exact while the table
has at most `UNIQUE_EXACT_LIMIT` distinct values, beyond that checked on the values whose hash falls
in the sketch's range. Expectations on any other table-level metric (median, quantiles, distinct
values...) are evaluated on a uniform random sample of `SAMPLE_ROWS` rows (`RowSample`). Each
result says how it was evaluated.

A partial is written as a folder (`partial.json`, plus parquet files for sketches and the sample),
so that shards validated on separate machines are combined by another task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from components.common import io

EXAMPLES = 20
UNIQUE_EXACT_LIMIT = 500_000
SAMPLE_ROWS = 100_000
UNIQUE_METRIC = "column_values.unique.unexpected_count"
MOMENTS = {"column.mean", "column.standard_deviation"}
PARTIAL_FILE = "partial.json"


def _add(a, b):
    return a + b


def _examples(a: list, b: list) -> list:
    return (list(a) + list(b))[:EXAMPLES]


def _first(a, b):
    return a


def _minimum(a, b):
    return b if a is None else a if b is None else min(a, b)


def _maximum(a, b):
    return b if a is None else a if b is None else max(a, b)


# How each metric combines over batches, by name (exact) or by the end of its name.
EXACT = {
    "table.row_count": _add,
    "table.columns": _first,
    "column.min": _minimum,
    "column.max": _maximum,
    "column.sum": _add,
}
EXACT_SUFFIXES = {".unexpected_count": _add, ".unexpected_values": _examples}


def combinable(name: str) -> bool:
    """Whether a metric combines exactly (or, for uniqueness, through the sketch)."""
    if name in EXACT or name in MOMENTS or name == "table.column_types":
        return True
    if ".unique" in name and not name.startswith("column_values.unique."):
        return False  # compound or multicolumn uniqueness: on the sample
    return any(name.endswith(suffix) for suffix in EXACT_SUFFIXES)


def _rule(name: str):
    if name in EXACT:
        return EXACT[name]
    return next(rule for suffix, rule in EXACT_SUFFIXES.items() if name.endswith(suffix))


def combined_dtype(a: str, b: str) -> str:
    """The dtype pandas gives a column read whole when batches read it as `a` and `b` (an integer
    column with nulls in some batches reads as float64)."""
    if a == b:
        return a
    numeric = {a, b} <= {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float64"}
    return "float64" if numeric else "object"


def plain(value: Any) -> Any:
    """`value` with numpy, pandas and dtype objects made JSON values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.dtype | pd.api.extensions.ExtensionDtype):
        return str(value)
    return value


@dataclass
class Moments:
    """Count, mean and sum of squared deviations of a column: combine exactly (Chan et al.)."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, series: pd.Series) -> Moments:
        values = pd.to_numeric(series, errors="coerce").dropna().to_numpy(dtype=float)
        if not len(values):
            return cls()
        mean = float(values.mean())
        return cls(len(values), mean, float(((values - mean) ** 2).sum()))

    def merge(self, other: Moments) -> Moments:
        count = self.count + other.count
        if not count:
            return Moments()
        delta = other.mean - self.mean
        mean = self.mean + delta * other.count / count
        return Moments(count, mean, self.m2 + other.m2 + delta**2 * self.count * other.count / count)

    def value(self, name: str) -> float | None:
        if name == "column.mean":
            return self.mean if self.count else None
        return math.sqrt(self.m2 / (self.count - 1)) if self.count > 1 else None


class DistinctSketch:
    """The smallest `limit` distinct 64-bit hashes of a column's values, with how often each occurs.

    While the column has at most `limit` distinct values it holds all of them: duplicates are counted
    exactly. Beyond that it keeps the values whose hash is at most `threshold` (a fixed share of
    the values, the same in every batch and shard), whose duplicates are still counted exactly.
    Two sketches merge into the sketch of the two inputs together."""

    def __init__(self, limit: int = UNIQUE_EXACT_LIMIT) -> None:
        self.limit = limit
        self.hashes = np.empty(0, np.uint64)
        self.counts = np.empty(0, np.int64)
        self.threshold: int | None = None  # set once values were left out
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_size = 0

    @staticmethod
    def hash(series: pd.Series) -> np.ndarray:
        values = series.dropna()
        if pd.api.types.is_float_dtype(values) and (values == np.floor(values)).all():
            values = values.astype("int64")  # an integer column read as float in a batch with nulls
        array = values.to_numpy(dtype=object) if values.dtype.kind not in "biufcmM" else values.to_numpy()
        return pd.util.hash_array(array, categorize=False)

    def add(self, series: pd.Series) -> None:
        hashes = self.hash(series)
        self._push(hashes, np.ones(len(hashes), np.int64))

    def _push(self, hashes: np.ndarray, counts: np.ndarray) -> None:
        if self.threshold is not None:
            keep = hashes <= np.uint64(self.threshold)
            hashes, counts = hashes[keep], counts[keep]
        self._pending.append((hashes, counts))
        self._pending_size += len(hashes)
        if self._pending_size >= max(self.limit // 4, 1):
            self._flush()

    def _flush(self) -> None:
        """Fold the pending hashes into the sorted arrays, in place where they already occur: the
        transient memory is about one copy of the sketch, not several."""
        if not self._pending:
            return
        hashes = np.concatenate([h for h, _ in self._pending])
        counts = np.concatenate([c for _, c in self._pending])
        self._pending, self._pending_size = [], 0
        new, inverse = np.unique(hashes, return_inverse=True)
        added = np.bincount(inverse, weights=counts, minlength=len(new)).astype(np.int64)
        where = np.searchsorted(self.hashes, new)
        found = where < len(self.hashes)
        found[found] = self.hashes[where[found]] == new[found]
        np.add.at(self.counts, where[found], added[found])
        fresh = ~found
        if fresh.any():
            self.hashes = np.insert(self.hashes, where[fresh], new[fresh])
            self.counts = np.insert(self.counts, where[fresh], added[fresh])
        if self.threshold is not None:  # a merged sketch may have lowered it
            keep = int(np.searchsorted(self.hashes, np.uint64(self.threshold), "right"))
            self.hashes, self.counts = self.hashes[:keep], self.counts[:keep]
        if len(self.hashes) > self.limit:
            self.hashes, self.counts = self.hashes[: self.limit].copy(), self.counts[: self.limit].copy()
            self.threshold = int(self.hashes[-1])

    def merge(self, other: DistinctSketch) -> None:
        other._flush()
        if other.threshold is not None:
            self.threshold = min(self.threshold or other.threshold, other.threshold)
        self._push(other.hashes, other.counts)
        self._flush()

    @property
    def exact(self) -> bool:
        self._flush()
        return self.threshold is None

    def duplicated_rows(self) -> int:
        """Rows whose value occurs more than once (among the values the sketch holds)."""
        self._flush()
        return int(self.counts[self.counts > 1].sum())

    def distinct_estimate(self) -> int:
        self._flush()
        if self.threshold is None:
            return len(self.hashes)
        return int(len(self.hashes) / ((self.threshold + 1) / 2.0**64))

    def describe(self) -> str:
        if self.exact:
            return f"exact: every value compared ({len(self.hashes):,} distinct, by 64-bit hash)"
        share = len(self.hashes) / max(self.distinct_estimate(), 1)
        return (
            f"on a hash sample: the {len(self.hashes):,} of ~{self.distinct_estimate():,} distinct values "
            f"(~{share:.0%}) whose hash is smallest are compared across every row; duplicates of other "
            "values are found only within a batch"
        )

    def to_table(self) -> pa.Table:
        self._flush()
        return pa.table({"hash": self.hashes, "count": self.counts})

    @classmethod
    def from_table(cls, table: pa.Table, limit: int, threshold: int | None) -> DistinctSketch:
        sketch = cls(limit)
        sketch.hashes = table.column("hash").to_numpy().astype(np.uint64)
        sketch.counts = table.column("count").to_numpy().astype(np.int64)
        sketch.threshold = threshold
        return sketch


class RowSample:
    """A uniform random sample of at most `size` rows: the rows with the smallest random keys, so
    that samples of batches and shards merge into a uniform sample of the whole."""

    KEY = "__keel_sample_key"

    def __init__(self, size: int = SAMPLE_ROWS, table: pa.Table | None = None) -> None:
        self.size, self.table = size, table

    def add(self, batch: pa.RecordBatch | pa.Table, rng: np.random.Generator) -> None:
        keyed = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        self._keep(keyed.append_column(self.KEY, pa.array(rng.random(keyed.num_rows))))

    def merge(self, other: RowSample) -> None:
        if other.table is not None:
            self._keep(other.table)

    def _keep(self, keyed: pa.Table) -> None:
        table = (
            keyed if self.table is None else pa.concat_tables([self.table, keyed], promote_options="default")
        )
        if table.num_rows > self.size:
            order = np.argsort(table.column(self.KEY).to_numpy())[: self.size]
            table = table.take(pa.array(np.sort(order)))
        self.table = table

    def rows(self) -> pa.Table | None:
        return None if self.table is None else self.table.drop_columns([self.KEY])


@dataclass
class Partial:
    """What a batch, a table or a shard measured, ready to merge with others."""

    suite: dict[str, Any]
    source: str
    rows: int = 0
    batches: int = 0
    shards: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # column -> pandas dtype of the whole
    measured: dict[int, dict[str, Any] | str] = field(default_factory=dict)
    moments: dict[str, Moments] = field(default_factory=dict)  # column -> moments
    sketches: dict[int, DistinctSketch] = field(default_factory=dict)  # expectation -> sketch
    sample: RowSample | None = None

    def merge_metrics(self, measured: dict[int, dict[str, Any] | str]) -> None:
        for index, metrics in measured.items():
            previous = self.measured.get(index)
            if isinstance(previous, str):
                continue  # the first error stands
            if isinstance(metrics, str) or previous is None:
                self.measured[index] = metrics
                continue
            if set(previous) != set(metrics):
                self.measured[index] = "its metrics differ between batches (are the column's types the same?)"
                continue
            self.measured[index] = {
                name: _merge_metric(name, previous[name], metrics[name]) for name in metrics
            }

    def merge_columns(self, columns: dict[str, str]) -> None:
        for name, dtype in columns.items():
            self.columns[name] = combined_dtype(self.columns.get(name, dtype), dtype)

    def merge(self, other: Partial) -> None:
        self.rows += other.rows
        self.batches += other.batches
        self.shards += other.shards
        self.merge_columns(other.columns)
        self.merge_metrics(other.measured)
        for column, moments in other.moments.items():
            self.moments[column] = self.moments.get(column, Moments()).merge(moments)
        for index, sketch in other.sketches.items():
            self.sketches.setdefault(index, DistinctSketch(sketch.limit)).merge(sketch)
        if other.sample is not None:
            self.sample = self.sample or RowSample(other.sample.size)
            self.sample.merge(other.sample)

    # ------------------------------------------------------------------------------ files

    def write(self, folder: str) -> None:
        """Write the partial into `folder` (each file atomically)."""
        prefix = folder.rstrip("/")
        sketches = {}
        for index, sketch in self.sketches.items():
            io.write_table(sketch.to_table(), f"{prefix}/unique-{index}.parquet")
            sketches[str(index)] = {"limit": sketch.limit, "threshold": sketch.threshold}
        if self.sample is not None and self.sample.table is not None:
            io.write_table(self.sample.table, f"{prefix}/sample.parquet")
        document = {
            "suite": self.suite,
            "source": self.source,
            "rows": self.rows,
            "batches": self.batches,
            "shards": self.shards,
            "columns": self.columns,
            "measured": {str(i): plain(m) for i, m in self.measured.items()},
            "moments": {c: [m.count, m.mean, m.m2] for c, m in self.moments.items()},
            "sketches": sketches,
            "sample_size": self.sample.size if self.sample is not None else None,
        }
        io.write_json(f"{prefix}/{PARTIAL_FILE}", document)

    @classmethod
    def read(cls, folder: str) -> Partial:
        prefix = folder.rstrip("/")
        document = io.read_json(f"{prefix}/{PARTIAL_FILE}")
        partial = cls(
            document["suite"],
            document["source"],
            document["rows"],
            document["batches"],
            document["shards"],
            document["columns"],
            {int(i): m for i, m in document["measured"].items()},
            {c: Moments(*m) for c, m in document["moments"].items()},
        )
        for index, spec in document["sketches"].items():
            table = io.read_arrow(f"{prefix}/unique-{index}.parquet")
            partial.sketches[int(index)] = DistinctSketch.from_table(table, spec["limit"], spec["threshold"])
        if document["sample_size"] is not None:
            sample = f"{prefix}/sample.parquet"
            partial.sample = RowSample(
                document["sample_size"], io.read_arrow(sample) if io.exists(sample) else None
            )
        return partial


def _merge_metric(name: str, a: Any, b: Any) -> Any:
    if name == "table.column_types":
        types = {t["name"]: t["type"] for t in a}
        for t in b:
            types[t["name"]] = combined_dtype(str(types.get(t["name"], t["type"])), str(t["type"]))
        return [{"name": n, "type": t} for n, t in types.items()]
    if name in MOMENTS:
        return a  # replaced from the column's moments when judged
    return _rule(name)(a, b)
