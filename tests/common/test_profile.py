"""Profiles: bins fixed by the reference, counts that stream and add up exactly, bounded memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.common import profile, sample_data

FEATURES = [
    {"name": "age", "type": "numeric"},
    {"name": "monthly_charges", "type": "numeric"},
    {"name": "support_calls", "type": "numeric"},
    {"name": "payment_method", "type": "categorical"},
]


def _feature(found: dict, name: str) -> dict:
    return next(feature for feature in found["features"] if feature["name"] == name)


@pytest.fixture(scope="module")
def reference() -> dict:
    return profile.reference_profile(sample_data.generate(4_000), FEATURES, scores=np.linspace(0, 1, 1_000))


def test_numeric_bins_are_training_deciles_and_counts_cover_every_row(reference):
    training = sample_data.generate(4_000)
    charges = _feature(reference, "monthly_charges")
    values = training["monthly_charges"].dropna()
    expected = [values.min(), *np.quantile(values, np.linspace(0.1, 0.9, 9)), values.max()]
    assert charges["edges"] == pytest.approx(expected)
    assert charges["nulls"] == training["monthly_charges"].isna().sum() > 0
    inside = charges["counts"][1:-1]
    assert charges["counts"][0] == charges["counts"][-1] == 0  # nothing below the min or above the max
    assert sum(inside) == len(values) and max(inside) - min(inside) < 0.02 * len(values)  # ~10% each
    assert reference["rows"] == 4_000
    assert all(sum(f["counts"]) + f["nulls"] == 4_000 for f in reference["features"])


def test_few_valued_numbers_get_a_bin_per_value(reference):
    calls = _feature(reference, "support_calls")
    counted = sample_data.generate(4_000)["support_calls"].value_counts().sort_index()
    assert calls["counts"][1:-1] == counted.tolist()  # one bin per distinct value, in order
    assert profile.bucket_labels(calls)[:3] == ["(missing)", "< 0", "[0, 0.5)"]

    single = profile.reference_profile(
        pd.DataFrame({"flag": [True] * 5}), [{"name": "flag", "type": "numeric"}]
    )
    assert _feature(single, "flag")["edges"] == [1.0, 1.0]
    assert _feature(single, "flag")["counts"] == [0, 5, 0]
    empty = profile.reference_profile(
        pd.DataFrame({"x": [None, None]}, dtype=float), [{"name": "x", "type": "numeric"}]
    )
    assert _feature(empty, "x") == {"name": "x", "kind": "numeric", "edges": [], "counts": [0, 0], "nulls": 2}


def test_categories_keep_missing_and_other_and_name_a_few_unseen(reference):
    payment = _feature(reference, "payment_method")
    counted = sample_data.generate(4_000)["payment_method"].value_counts()
    by_share = sorted(counted.index, key=lambda name: (-counted[name], name))
    assert payment["categories"] == by_share and payment["counts"] == [*counted[by_share], 0]
    assert payment["nulls"] > 0 and "unseen" not in payment

    profiler = profile.Profiler(reference)
    current = sample_data.generate(600, seed=3)
    current.loc[:99, "payment_method"] = [f"crypto-{i % 12}" for i in range(100)]
    profiler.add(current)
    found = _feature(profiler.result(), "payment_method")
    assert found["counts"][-1] == 100  # "other"
    assert len(found["unseen"]) == profile.UNSEEN_KEPT
    assert set(found["unseen"]) < {f"crypto-{i}" for i in range(12)}


def test_streamed_batches_and_shards_add_up_to_the_whole_table(reference):
    current = sample_data.generate(3_000, seed=2)
    whole = profile.Profiler(reference)
    whole.add(current, np.linspace(0, 1, 3_000))
    shards = []
    for start in range(0, 3_000, 700):  # uneven batches, one profiler per shard
        shard = profile.Profiler(reference)
        shard.add(current.iloc[start : start + 700], np.linspace(0, 1, 3_000)[start : start + 700])
        shards.append(shard.result())
    assert profile.combine(shards) == whole.result()
    score_bins = whole.result()["score"]["counts"][1:-1]  # evenly spread scores on the score deciles
    assert len(score_bins) == 10 and sum(score_bins) == 3_000 and min(score_bins) > 290


def test_shards_on_other_bins_do_not_combine(reference):
    other = profile.reference_profile(sample_data.generate(500, seed=9), FEATURES)
    with pytest.raises(ValueError, match="profiles of 'age' are on different bins"):
        profile.combine([profile.Profiler(reference).result(), profile.Profiler(other).result()])


def test_values_that_are_not_numbers_count_as_missing_and_absent_columns_are_listed(reference):
    profiler = profile.Profiler(reference)
    profiler.add(pd.DataFrame({"age": ["31", "n/a", None], "payment_method": ["card", "card", None]}))
    found = profiler.result()
    assert _feature(found, "age")["nulls"] == 2 and sum(_feature(found, "age")["counts"]) == 1
    assert found["missing_columns"] == ["monthly_charges", "support_calls"]


def test_reference_edges_come_from_a_bounded_sample_but_counts_from_every_row(monkeypatch):
    monkeypatch.setattr(profile, "QUANTILE_SAMPLE_ROWS", 2_000)
    frame = pd.DataFrame({"x": np.random.default_rng(0).normal(size=50_000)})
    found = _feature(profile.reference_profile(frame, [{"name": "x", "type": "numeric"}]), "x")
    exact = np.quantile(frame["x"], np.linspace(0.1, 0.9, 9))
    assert found["edges"][0] == frame["x"].min() and found["edges"][-1] == frame["x"].max()
    assert np.abs(np.asarray(found["edges"][1:-1]) - exact).max() < 0.1  # a sample's deciles
    assert sum(found["counts"]) == 50_000


def test_values_on_edges_infinities_and_mixed_categories_fall_in_the_documented_bins():
    reference = {
        "features": [
            {"name": "x", "kind": "numeric", "edges": [0.0, 1.0, 2.0]},
            {"name": "kind", "kind": "categorical", "categories": ["1", "True", "a"]},
        ]
    }
    profiler = profile.Profiler(reference)
    x = [-np.inf, -0.5, 0.0, 0.5, 1.0, 2.0, 2.5, np.inf, np.nan]
    kinds = [1, "1", True, 1.0, "a", None, np.nan, "b", "b"]  # counted as their text: 1 and 1.0 differ
    profiler.add(pd.DataFrame({"x": x, "kind": pd.Series(kinds, dtype=object)}))
    numbers, categories = profiler.result()["features"]
    # [below 0, [0, 1), [1, 2] (the last bin includes its upper edge), above 2]
    assert numbers["counts"] == [2, 2, 2, 2] and numbers["nulls"] == 1
    assert categories["counts"] == [2, 1, 1, 3] and categories["nulls"] == 2
    assert categories["unseen"] == {"1.0": 1, "b": 2}

    unused = profile.Profiler(reference)  # a pandas category that no row uses is not an unseen value
    unused.add(pd.DataFrame({"kind": pd.Categorical(["a", None], categories=["a", "never"])}))
    found = unused.result()["features"][1]
    assert found["counts"] == [0, 0, 1, 0] and found["nulls"] == 1 and "unseen" not in found
