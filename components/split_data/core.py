"""Split a table into a training part and a test (holdout) part, deterministically.

Plain Python (no kfp): `split_table(uri, "churned")` from a notebook gives the same parts as the component;
`run(uri, "churned", train_uri, test_uri)` also writes them, as the component does. Rows keep their
original order within each part.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from components.common import io, labels, parameters
from components.common.io import DataError
from components.common.logging import logger
from components.common.tracking import track


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    stratified: bool

    def metrics(self) -> dict[str, int]:
        return {"train_rows": len(self.train), "test_rows": len(self.test)}


def split(
    frame: pd.DataFrame,
    label: str,
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
    source: str = "data",
    key_column: str = "",
) -> Split:
    """Split `frame`, stratified by `label` when asked and the label is a class (see `labels.infer_task`).

    With `key_column` (e.g. a customer id), a row's part depends only on a stable hash of its key:
    the same key is in the same part in every run, whatever the seed or the other rows, so a
    champion trained by an earlier run is never evaluated on rows it was trained on.
    """
    from sklearn.model_selection import train_test_split

    _check(label, test_fraction, seed, key_column)
    values = labels.label_values(frame, label, source)
    if key_column:
        return _split_by_key(frame, key_column, test_fraction, source)
    stratified = stratify and labels.infer_task(values) == labels.CLASSIFICATION
    if stratify and not stratified:
        logger.info("split_data: label '%s' is continuous; splitting without stratification", label)
    try:
        train_rows, test_rows = train_test_split(
            range(len(frame)),
            test_size=test_fraction,
            random_state=seed,
            stratify=values if stratified else None,
        )
    except ValueError as error:
        raise DataError(f"{source}: cannot split by label '{label}' ({error}); try stratify=False") from None
    return Split(frame.iloc[sorted(train_rows)], frame.iloc[sorted(test_rows)], stratified)


def _check(label: str, test_fraction: float, seed: int, key_column: str) -> None:
    parameters.check({"label": label, "test_fraction": test_fraction, "seed": seed, "key_column": key_column})


def _split_by_key(frame: pd.DataFrame, key_column: str, test_fraction: float, source: str) -> Split:
    if key_column not in frame.columns:
        raise DataError(f"{source}: key column '{key_column}' not found")
    if frame[key_column].isna().any():
        raise DataError(
            f"{source}: key column '{key_column}' has nulls; every row needs a key to be split by"
        )
    buckets = pd.util.hash_pandas_object(frame[key_column].astype(str), index=False).to_numpy() % 10_000
    in_test = buckets < round(test_fraction * 10_000)
    return Split(frame[~in_test], frame[in_test], stratified=False)


def split_table(
    data_uri: str,
    label: str,
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
    key_column: str = "",
) -> Split:
    """Read the table at `data_uri` and split it (see `split`); the parameters are checked first."""
    _check(label, test_fraction, seed, key_column)
    return split(io.read_table(data_uri), label, test_fraction, seed, stratify, data_uri, key_column)


def write(parts: Split, train_uri: str, test_uri: str) -> None:
    """Write both parts as parquet (CSV if a URI ends in .csv), each atomically."""
    io.write_table(parts.train, train_uri)
    io.write_table(parts.test, test_uri)


def run(
    data_uri: str,
    label: str,
    train_uri: str,
    test_uri: str,
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
    key_column: str = "",
    record_uri: str = "",
    data_fingerprint: str = "",
) -> Split:
    """The component's work, as a tracked run: `split_table` the table at `data_uri` and `write` the
    parts. `record_uri` (default `data_uri`) and `data_fingerprint` are recorded with the run."""
    params = {
        "data": record_uri or data_uri,
        "label": label,
        "test_fraction": test_fraction,
        "seed": seed,
        "stratify": stratify,
        "key_column": key_column,
        "data_fingerprint": data_fingerprint,
    }
    with track("split_data", params=params) as tracked:
        parts = split_table(data_uri, label, test_fraction, seed, stratify, key_column)
        write(parts, train_uri, test_uri)
        tracked.log_metrics(parts.metrics())
    return parts
