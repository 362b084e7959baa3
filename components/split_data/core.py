"""Split a table into a training part and a test (holdout) part, deterministically.

Plain Python (no kfp): `split_table(uri, "churned")` from a notebook gives the same parts as the component.
Rows keep their original order within each part.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from components.common import io, labels
from components.common.io import DataError
from components.common.logging import logger


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
) -> Split:
    """Split `frame`, stratified by `label` when asked and the label is a class (see `labels.infer_task`)."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    values = labels.label_values(frame, label, source)
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


def split_table(
    data_uri: str, label: str, test_fraction: float = 0.2, seed: int = 0, stratify: bool = True
) -> Split:
    """Read the table at `data_uri` and split it (see `split`)."""
    return split(io.read_table(data_uri), label, test_fraction, seed, stratify, source=data_uri)


def write(parts: Split, train_uri: str, test_uri: str) -> None:
    """Write both parts as parquet (CSV if a URI ends in .csv), each atomically."""
    io.write_table(parts.train, train_uri)
    io.write_table(parts.test, test_uri)
