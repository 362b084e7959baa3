"""A deterministic, realistic binary-classification data set: customer churn.

    from components.common.sample_data import generate
    frame = generate(rows=5_000, seed=0)

Columns: an id, a snapshot timestamp, numeric features (some with nulls), categorical features
(some with nulls) and the label `churned` (0/1), which depends on the features so that a model
can learn it. `write_broken` writes deliberately broken variants for tests; `drifted` shifts two
features, as monitoring should notice (`keel sample-data --drifted`).
`keel sample-data out.parquet --rows 5000000` writes large files for benchmarks, in bounded memory.
`sample_path()` is the bundled copy (5,000 rows, seed 0) that the demo and tests use.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from components.common import io
from components.common.errors import ParameterError

LABEL = "churned"
ID_COLUMNS = ["customer_id"]
CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENTS = ["card", "bank-transfer", "electronic-check", "mailed-check"]
REGIONS = ["north", "south", "east", "west"]
BROKEN_VARIANTS = ("missing_column", "wrong_types", "out_of_range", "unseen_category", "empty_file")


def sample_path() -> str:
    """The bundled sample: `generate(5_000, seed=0)` as parquet."""
    return str(resources.files("components.common") / "data" / "churn.parquet")


def generate(rows: int = 5_000, seed: int = 0, start: int = 0) -> pd.DataFrame:
    """`rows` customers numbered from `start`; the same arguments always give the same frame."""
    rng = np.random.default_rng([seed, start])
    contract = rng.choice(CONTRACTS, size=rows, p=[0.55, 0.25, 0.20])
    tenure = np.where(contract == "month-to-month", rng.integers(0, 36, rows), rng.integers(6, 121, rows))
    charges = np.round(rng.gamma(4.0, 17.0, rows).clip(10, 200), 2)
    calls = rng.poisson(1.5, rows).clip(0, 20)
    age = rng.integers(18, 91, rows)
    payment = rng.choice(PAYMENTS, size=rows)
    logit = (
        -1.2
        + 1.4 * (contract == "month-to-month")
        - 0.035 * tenure
        + 0.012 * (charges - 70)
        + 0.45 * calls
        + 0.5 * (payment == "electronic-check")
        - 0.008 * (age - 45)
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("int64")
    charges_with_nulls = np.where(rng.random(rows) < 0.02, np.nan, charges)
    payment_with_nulls = np.where(rng.random(rows) < 0.03, None, payment)
    snapshot = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300 * 24, rows), unit="h")
    return pd.DataFrame(
        {
            "customer_id": [f"C{number:08d}" for number in range(start, start + rows)],
            "snapshot_time": snapshot.astype("datetime64[us]"),
            "age": age.astype("int64"),
            "tenure_months": tenure.astype("int64"),
            "monthly_charges": charges_with_nulls.astype("float64"),
            "support_calls": calls.astype("int64"),
            "contract_type": pd.array(contract, dtype="object"),
            "payment_method": pd.array(payment_with_nulls, dtype="object"),
            "region": pd.array(rng.choice(REGIONS, size=rows), dtype="object"),
            LABEL: churned,
        }
    )


DRIFTED_FEATURES = ("monthly_charges", "contract_type")


def drifted(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A copy of `frame` that has drifted in DRIFTED_FEATURES, and nothing else: monthly charges up 30
    (still within 10-200) and 40% of month-to-month customers moved to two-year contracts."""
    frame = frame.copy()
    frame["monthly_charges"] = (frame["monthly_charges"] + 30).clip(10, 200)
    moved = (frame["contract_type"] == "month-to-month") & (
        np.random.default_rng(seed).random(len(frame)) < 0.4
    )
    frame.loc[moved, "contract_type"] = "two-year"
    return frame


def write(
    uri: str,
    rows: int = 5_000,
    seed: int = 0,
    chunk_rows: int = 500_000,
    label: bool = True,
    drift: bool = False,
) -> None:
    """Write `rows` rows as parquet (or CSV by suffix), chunk by chunk so memory stays bounded;
    `label=False` leaves the label out, as in data to score; `drift=True` writes them `drifted`."""

    def chunk(size: int, start: int) -> pd.DataFrame:
        frame = generate(size, seed, start)
        frame = drifted(frame, seed=start) if drift else frame
        return frame if label else frame.drop(columns=[LABEL])

    if rows <= chunk_rows or io.is_csv(uri):
        io.write_table(chunk(rows, 0), uri)
        return
    with io.atomic_output(uri) as stream:
        writer = None
        for start in range(0, rows, chunk_rows):
            table = pa.Table.from_pandas(chunk(min(chunk_rows, rows - start), start), preserve_index=False)
            writer = writer or pq.ParquetWriter(stream, table.schema)
            writer.write_table(table)
        writer.close()


def broken(variant: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` broken in one way (see BROKEN_VARIANTS; `empty_file` has no frame)."""
    frame = frame.copy()
    if variant == "missing_column":
        return frame.drop(columns=["tenure_months"])
    if variant == "wrong_types":
        frame["age"] = frame["age"].astype(str) + " years"
        return frame
    if variant == "out_of_range":
        frame.loc[frame.index[:25], "age"] = -5
        return frame
    if variant == "unseen_category":
        frame.loc[frame.index[:40], "contract_type"] = "weekly"
        return frame
    raise ParameterError(f"unknown broken variant {variant!r}; expected one of {', '.join(BROKEN_VARIANTS)}")


def write_broken(variant: str, uri: str, rows: int = 500, seed: int = 0) -> None:
    """Write a broken variant of the sample data to `uri`."""
    if variant == "empty_file":
        io.write_bytes(uri, b"")
    else:
        io.write_table(broken(variant, generate(rows, seed)), uri)
