"""Profiles: each feature's distribution (and the model's scores) on fixed bins, in bounded memory.

    reference = reference_profile(training_frame, features, holdout_scores)   # saved with the model
    profiler = Profiler(reference)
    for frame, scores in batches:                                             # data to score, streamed
        profiler.add(frame, scores)
    current = profiler.result()                                               # one shard's profile
    current = combine([shard_1, shard_2, ...])                                # shards add up exactly

A feature's bins are fixed by the reference, so profiles of any data on them add up exactly:
  - numeric: edges at the training deciles (one bin per value for a feature with at most
    MAX_POINT_VALUES distinct values); `counts` holds the values below the lowest edge, one count
    per bin (the last bin includes its upper edge), and the values above the highest edge;
  - categorical: the MAX_CATEGORIES most frequent training categories and "other" (any other
    value, e.g. one never seen in training); current profiles also keep a few `unseen` values;
  - both: `nulls`, the missing values (for numeric features, also values that are not numbers).
The reference's edges come from at most QUANTILE_SAMPLE_ROWS values of a column (a fixed random
sample); its counts come from every row, by the same Profiler code that profiles current data.
A profile is plain JSON: {"format", "rows", "features": [...], "score": {...} or None}.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from components.common.io import DataError

FORMAT = 1
DECILES = np.linspace(0.0, 1.0, 11)
MAX_POINT_VALUES = 20  # a numeric feature with at most this many distinct values gets a bin per value
MAX_CATEGORIES = 50  # rarer categories of a feature count as "other"
QUANTILE_SAMPLE_ROWS = 200_000
UNSEEN_KEPT = 10  # values outside the reference's categories named in a current profile
NUMERIC, CATEGORICAL = "numeric", "categorical"
SCORE = "score"


def _numbers(values: pd.Series) -> np.ndarray:
    """The values as floats; missing values and values that are not numbers become NaN."""
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()


def _numeric_edges(values: np.ndarray) -> list[float]:
    """Bin edges of a numeric reference column (NaN and infinities are ignored)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    low, high = float(finite.min()), float(finite.max())
    if finite.size > QUANTILE_SAMPLE_ROWS:
        finite = np.random.default_rng(0).choice(finite, QUANTILE_SAMPLE_ROWS, replace=False)
    distinct = np.unique(finite)
    if distinct.size <= MAX_POINT_VALUES:  # one bin per value, split at the midpoints
        middles = (distinct[:-1] + distinct[1:]) / 2
        return [low, *map(float, middles), high]
    inner = np.quantile(finite, DECILES[1:-1])
    return [float(edge) for edge in np.unique([low, *inner, high])]


def _categories(values: pd.Series) -> list[str]:
    counted, _ = _value_counts(values)
    ranked = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    return [name for name, _ in ranked[:MAX_CATEGORIES]]


def _empty(name: str, kind: str, bins: list) -> dict[str, Any]:
    if kind == NUMERIC:
        width = len(bins) + 1 if bins else 2
        return {"name": name, "kind": kind, "edges": bins, "counts": [0] * width, "nulls": 0}
    return {"name": name, "kind": kind, "categories": bins, "counts": [0] * (len(bins) + 1), "nulls": 0}


def _add_numeric(profile: dict[str, Any], values: np.ndarray) -> None:
    """Count `values` into the numeric `profile`: [below, bin..., above] and nulls."""
    missing = int(np.isnan(values).sum())
    if not profile["edges"]:  # no number in the reference: every number is out of its range
        counts = np.array([0, values.size - missing])
    else:
        edges = np.asarray(profile["edges"], dtype=float)
        edges[-1] = np.nextafter(edges[-1], np.inf)  # the last bin includes its upper edge
        # a pass per edge (a dozen) beats a binary search per value; NaN is below no edge
        below = [np.count_nonzero(values < edge) for edge in edges]
        counts = np.diff(below, prepend=0, append=values.size - missing)
    profile["counts"] = [int(a + b) for a, b in zip(profile["counts"], counts, strict=True)]
    profile["nulls"] += missing


def _value_counts(values: pd.Series) -> tuple[pd.Series, int]:
    """The counts of the present values as text, most frequent first, and the number of missing ones."""
    counted = values.value_counts(dropna=False)
    missing = counted.index.isna()
    # a pandas Categorical also lists the categories that no value uses, with a count of 0
    nulls, counted = int(counted[missing].sum()), counted[~missing & (counted > 0)]
    if not all(isinstance(name, str) for name in counted.index):  # counted as text: 1 and "1" are one
        counted = values[values.notna()].astype(str).value_counts()
    return counted, nulls


def _add_categorical(profile: dict[str, Any], values: pd.Series) -> None:
    """Count `values` into the categorical `profile`: [category..., other], nulls, a few unseen."""
    counted, nulls = _value_counts(values)
    known = counted.index.isin(profile["categories"])
    position = {name: index for index, name in enumerate(profile["categories"])}
    for name, count in counted[known].items():
        profile["counts"][position[name]] += int(count)
    others = counted[~known]
    profile["counts"][-1] += int(others.sum())
    profile["nulls"] += nulls
    if len(others):
        unseen = Counter(profile.get("unseen", {})) + Counter(others.head(UNSEEN_KEPT).to_dict())
        profile["unseen"] = {name: int(count) for name, count in unseen.most_common(UNSEEN_KEPT)}


class Profiler:
    """Counts batches of data on the bins of a reference profile; memory does not grow with the rows."""

    def __init__(self, reference: dict[str, Any]) -> None:
        self.profile: dict[str, Any] = {
            "format": FORMAT,
            "rows": 0,
            "features": [_empty(f["name"], f["kind"], _bins(f)) for f in reference["features"]],
            "score": _empty(SCORE, NUMERIC, reference["score"]["edges"]) if reference.get("score") else None,
            "missing_columns": [],
        }

    def add(self, frame: pd.DataFrame, scores: Iterable[float] | None = None) -> None:
        """Count the feature columns of `frame` (absent ones are listed in `missing_columns`) and,
        if given, the model's `scores` for its rows."""
        self.profile["rows"] += len(frame)
        for feature in self.profile["features"]:
            name = feature["name"]
            if name not in frame.columns:
                if name not in self.profile["missing_columns"]:
                    self.profile["missing_columns"].append(name)
                continue
            if feature["kind"] == NUMERIC:
                _add_numeric(feature, _numbers(frame[name]))
            else:
                _add_categorical(feature, frame[name])
        if scores is not None:
            self.add_scores(scores)

    def add_scores(self, scores: Iterable[float]) -> None:
        """Count the model's scores, when the reference has a score profile."""
        if self.profile["score"] is not None:
            _add_numeric(self.profile["score"], np.asarray(scores, dtype=float))

    def result(self) -> dict[str, Any]:
        return self.profile


def _bins(feature: dict[str, Any]) -> list:
    return feature["edges"] if feature["kind"] == NUMERIC else feature["categories"]


def reference_profile(
    frame: pd.DataFrame, features: list[dict[str, str]], scores: Iterable[float] | None = None
) -> dict[str, Any]:
    """The reference profile of `features` (name and type, as train_model records them) in `frame`,
    and of the model's `scores` on a holdout when given."""
    skeleton: dict[str, Any] = {"features": [], "score": None}
    for feature in features:
        values = frame[feature["name"]]
        kind = NUMERIC if feature["type"] == NUMERIC else CATEGORICAL
        bins = _numeric_edges(_numbers(values)) if kind == NUMERIC else _categories(values)
        skeleton["features"].append({"name": feature["name"], "kind": kind, **_bin_key(kind, bins)})
    score_values = None if scores is None else np.asarray(scores, dtype=float)
    if score_values is not None:
        skeleton["score"] = {"edges": _numeric_edges(score_values)}
    profiler = Profiler(skeleton)
    profiler.add(frame, score_values)
    profile = profiler.result()
    del profile["missing_columns"]
    for feature in profile["features"]:
        feature.pop("unseen", None)  # training's rare categories are "other", not unseen
    return profile


def _bin_key(kind: str, bins: list) -> dict[str, list]:
    return {"edges": bins} if kind == NUMERIC else {"categories": bins}


def combine(profiles: list[dict[str, Any]], source: str = "profiles") -> dict[str, Any]:
    """One profile of the data of several profiles on the same bins (e.g. one per shard)."""
    if not profiles:
        raise DataError(f"{source}: no profiles to combine")
    first, *rest = profiles
    combined = {**first, "features": [dict(f) for f in first["features"]]}
    combined["missing_columns"] = list(first.get("missing_columns", []))
    if first.get("score"):
        combined["score"] = dict(first["score"])
    for other in rest:
        names = [feature["name"] for feature in other["features"]]
        if names != [feature["name"] for feature in combined["features"]]:
            raise DataError(f"{source}: profiles of different features ({names})")
        combined["rows"] += other["rows"]
        combined["missing_columns"] += [
            name for name in other.get("missing_columns", []) if name not in combined["missing_columns"]
        ]
        pairs = list(zip(combined["features"], other["features"], strict=True))
        if combined.get("score") and other.get("score"):
            pairs.append((combined["score"], other["score"]))
        for mine, theirs in pairs:
            if _bins(mine) != _bins(theirs):
                raise DataError(f"{source}: profiles of '{mine['name']}' are on different bins")
            mine["counts"] = [a + b for a, b in zip(mine["counts"], theirs["counts"], strict=True)]
            mine["nulls"] += theirs["nulls"]
            unseen = Counter(mine.get("unseen", {})) + Counter(theirs.get("unseen", {}))
            if unseen:
                mine["unseen"] = dict(unseen.most_common(UNSEEN_KEPT))
    return combined


def distribution(feature: dict[str, Any]) -> np.ndarray:
    """A feature's counts as one vector: [nulls, counts...], the buckets that distances compare."""
    return np.asarray([feature["nulls"], *feature["counts"]], dtype=float)


def bucket_labels(feature: dict[str, Any]) -> list[str]:
    """Names of the buckets of `distribution(feature)`, for reports."""
    if feature["kind"] == CATEGORICAL:
        return ["(missing)", *feature["categories"], "(other)"]
    edges = feature["edges"]
    if not edges:
        return ["(missing)", "(none)", "any number"]
    inner = [f"[{low:.4g}, {high:.4g})" for low, high in zip(edges[:-1], edges[1:], strict=True)]
    if inner:
        inner[-1] = inner[-1][:-1] + "]"
    else:
        inner = [f"{edges[0]:.4g}"]
    return ["(missing)", f"< {edges[0]:.4g}", *inner, f"> {edges[-1]:.4g}"]
