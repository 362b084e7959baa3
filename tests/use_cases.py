"""Builders for the tests of `keel new`: a reference table that is not the churn sample, and a lint
check of generated code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def shop_sales(rows: int = 800, seed: int = 0):
    """A regression table that is not the churn sample: units sold per shop-day (no id column)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    price = rng.uniform(2.0, 20.0, rows)
    promo = rng.integers(0, 2, rows).astype(bool)
    region = rng.choice(["north", "south", "coast"], rows)
    shop_size = rng.uniform(50, 500, rows)
    expected = 200 - 7 * price + 40 * promo + 0.2 * shop_size + np.where(region == "coast", 25, 0)
    units = np.maximum(expected + rng.normal(0, 6, rows), 0).round().astype(int)
    return pd.DataFrame(
        {"price": price, "promo": promo, "region": region, "shop_size": shop_size, "units": units}
    )


def assert_lints_clean(cwd: Path, *paths: str, isolated: bool = False) -> None:
    """`ruff check` and `ruff format --check` pass on generated `paths`: with this repository's settings,
    or (`isolated`) with the same rules as seen from a project of its own (a use case)."""
    ruff = [str(Path(sys.executable).parent / "ruff")]
    settings = ["--isolated", "--line-length", "110"] if isolated else []
    for command in (
        ["check", *(["--select", "E,F,W,I,B,UP,SIM"] if isolated else [])],
        ["format", "--check"],
    ):
        result = subprocess.run(
            [*ruff, *command, "--no-cache", *settings, *paths], cwd=cwd, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
