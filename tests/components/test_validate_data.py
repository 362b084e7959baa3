import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.common import io, sample_data
from components.common.errors import ParameterError
from components.common.io import DataError
from components.validate_data import core, suite_builder
from components.validate_data.partial import DistinctSketch, Partial
from tests import churn


@pytest.fixture(scope="module")
def suite() -> dict:
    return core.load_suite(churn.SUITE)


def test_a_suite_is_required_there_is_no_default(tmp_path: Path, sample_uri: str):
    for missing in ("", " "):
        with pytest.raises(
            ParameterError, match=r"parameter 'suite_uri' = '\s*': an expectation suite is required"
        ):
            core.load_suite(missing)
    with pytest.raises(ParameterError, match="suite_uri"):
        core.run(
            sample_uri, *(str(tmp_path / name) for name in ("result", "report", "partial")), suite_uri=""
        )
    assert not (tmp_path / "result").exists()


def test_clean_sample_passes_every_expectation(sample_uri: str, suite: dict):
    outcome = core.validate_table(sample_uri, suite)
    assert outcome.passed, outcome.summary()
    assert outcome.metrics() == {
        "rows": 5000,
        "expectations_run": 40,
        "expectations_failed": 0,
        "success_percent": 100.0,
    }


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("missing_column", ["expect_column_to_exist on column 'tenure_months': column is missing"]),
        ("wrong_types", ["expect_column_values_to_be_in_type_list on column 'age': observed 'str'"]),
        ("out_of_range", ["expect_column_values_to_be_between on column 'age': 25 unexpected of 500"]),
        (
            "unseen_category",
            ["expect_column_values_to_be_in_set on column 'contract_type': 40 unexpected of 500"],
        ),
    ],
)
def test_each_broken_variant_fails_naming_rule_column_and_count(
    tmp_path: Path, suite: dict, variant, expected
):
    path = str(tmp_path / f"{variant}.parquet")
    sample_data.write_broken(variant, path)
    outcome = core.validate_table(path, suite)
    assert not outcome.passed
    message = outcome.summary()
    assert message.startswith(f"{path}: ")
    for line in expected:
        assert line in message, message


def test_empty_file_and_empty_table_never_pass(tmp_path: Path, suite: dict):
    sample_data.write_broken("empty_file", str(tmp_path / "empty.parquet"))
    with pytest.raises(DataError, match=r"empty\.parquet: file is empty"):
        core.validate_table(str(tmp_path / "empty.parquet"), suite)
    outcome = core.validate_frame(sample_data.generate(10).iloc[:0], suite, "no-rows.parquet")
    assert not outcome.passed and "expect_table_row_count_to_be_between" in outcome.summary()


def test_a_table_with_no_rows_fails_whatever_the_suite(tmp_path: Path):
    path = str(tmp_path / "no-rows.parquet")
    io.write_table(sample_data.generate(10).iloc[:0], path)
    for suite in ({"name": "none", "expectations": []}, core.load_suite(churn.SUITE)):
        outcome = core.validate_table(path, suite)
        assert not outcome.passed and outcome.rows == 0
        assert "has no rows" in outcome.summary()


def test_csv_readings_pass_the_same_suite(tmp_path: Path, suite: dict):
    io.write_table(sample_data.generate(1_000), str(tmp_path / "sample.csv"))
    assert core.validate_table(str(tmp_path / "sample.csv"), suite).passed


def test_skipping_the_label_for_scoring_data(suite: dict):
    unlabelled = sample_data.generate(300).drop(columns=[sample_data.LABEL])
    assert not core.validate_frame(unlabelled, suite).passed
    outcome = core.validate_frame(unlabelled, core.without_columns(suite, [sample_data.LABEL]))
    assert outcome.passed and outcome.evaluated < len(suite["expectations"])


def test_committed_suite_is_what_the_builder_makes_from_the_sample(sample_uri: str, suite: dict):
    built = suite_builder.build_suite(
        io.read_table(sample_uri), "churn", label="churned", unique_columns=("customer_id",)
    )
    assert built == suite


def test_builder_infers_types_nulls_ranges_and_categories():
    reference = sample_data.generate(1_000)
    rules = {
        (e["type"], e["kwargs"].get("column")): e["kwargs"]
        for e in suite_builder.build_suite(reference, "s")["expectations"]
    }
    assert rules[("expect_column_values_to_be_in_set", "contract_type")]["value_set"] == sorted(
        sample_data.CONTRACTS
    )
    assert rules[("expect_column_values_to_be_between", "age")] == {
        "column": "age",
        "min_value": 10,
        "max_value": 98,
        "mostly": 0.99,  # 1,000 reference rows: 1% may fall outside
    }
    assert "mostly" in rules[("expect_column_values_to_not_be_null", "monthly_charges")]
    assert "mostly" not in rules[("expect_column_values_to_not_be_null", "age")]
    assert "int64" in rules[("expect_column_values_to_be_in_type_list", "tenure_months")]["type_list"]


def test_bad_suites_name_the_file(tmp_path: Path):
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(DataError, match=r"list\.json: not an expectation suite"):
        core.load_suite(str(tmp_path / "list.json"))
    bad = {"name": "bad", "expectations": [{"type": "expect_nothing_real", "kwargs": {}}]}
    with pytest.raises(DataError, match="suite 'bad': invalid expectation"):
        core.validate_frame(sample_data.generate(10), bad)


def test_html_report_renders_offline(tmp_path: Path, suite: dict):
    path = str(tmp_path / "bad.parquet")
    sample_data.write_broken("out_of_range", path)
    page = core.render_html(core.validate_table(path, suite))
    assert "FAILED" in page and "expect_column_values_to_be_between" in page
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page), (
        "the report must not load anything from the web"
    )


def test_component_runs_locally_and_branches_on_passed(kfp_local: Path, sample_uri: str, tmp_path: Path):
    from components import validate_data

    task = validate_data(data_uri=sample_uri, suite_uri=churn.SUITE)
    assert task.outputs["passed"] is True
    assert task.outputs["metrics"].metadata["expectations_run"] == 40
    assert "PASSED" in Path(task.outputs["report"].path).read_text()
    assert json.loads(Path(task.outputs["validation_result"].path).read_text())["success"] is True

    broken = str(tmp_path / "unseen.parquet")
    sample_data.write_broken("unseen_category", broken)
    lenient = validate_data(data_uri=broken, suite_uri=churn.SUITE, fail_on_error=False)
    assert lenient.outputs["passed"] is False
    assert lenient.outputs["metrics"].metadata["expectations_failed"] == 1
    with pytest.raises(RuntimeError, match="validate-data"):
        validate_data(data_uri=broken, suite_uri=churn.SUITE)


# ------------------------------------------------------------------ streamed, sharded, combined


def _row_groups(frame, path: Path, rows: int) -> str:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=rows)
    return str(path)


def _counts(outcome) -> dict:
    return {
        (r["expectation_config"]["type"], r["expectation_config"]["kwargs"].get("column")): (
            r["success"],
            (r.get("result") or {}).get("unexpected_count"),
            (r.get("result") or {}).get("observed_value"),
        )
        for r in outcome.result["results"]
    }


def test_batches_and_shards_combine_to_the_whole_table_result(tmp_path: Path, suite: dict):
    frame = sample_data.generate(6_000, seed=4)
    frame.loc[frame.index[100:130], "age"] = -5  # in the first row group only
    frame.loc[frame.index[5_990], "customer_id"] = frame.loc[frame.index[3], "customer_id"]  # across groups
    path = _row_groups(frame, tmp_path / "t.parquet", 1_000)
    whole = core.validate_frame(frame, suite, path)
    streamed = core.validate_table(path, suite, batch_rows=400)
    shards = [core.measure_table(path, suite, shard_index=i, shard_count=3, batch_rows=700) for i in range(3)]
    for folder, part in zip(("a", "b", "c"), shards, strict=True):
        part.write(str(tmp_path / folder))
    combined = core.combine([Partial.read(str(tmp_path / f)) for f in ("c", "a", "b")])
    assert streamed.batches == 18 and combined.shards == 3
    assert _counts(streamed) == _counts(whole) == _counts(combined)
    failed = {f.column: f.unexpected_count for f in combined.failures}
    assert failed == {"age": 30, "customer_id": 2}


def test_mostly_is_judged_on_the_combined_counts(tmp_path: Path):
    frame = pd.DataFrame({"x": [None] * 10 + list(range(90))})  # 10% nulls, all in one shard
    path = _row_groups(frame, tmp_path / "t.parquet", 50)
    suite = {
        "name": "s",
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x", "mostly": 0.85}}
        ],
    }
    alone = _row_groups(frame.iloc[:50], tmp_path / "first.parquet", 50)
    assert not core.validate_table(alone, suite).passed  # 10 of 50: 80% < 85%
    shards = [core.measure_table(path, suite, shard_index=i, shard_count=2) for i in range(2)]
    assert core.combine(shards).passed  # 10 of 100: 90%


def test_a_missing_shard_is_refused(tmp_path: Path, suite: dict):
    path = _row_groups(sample_data.generate(2_000), tmp_path / "t.parquet", 500)
    with pytest.raises(DataError, match="shards 0/2 do not make one whole table"):
        core.combine([core.measure_table(path, suite, shard_index=0, shard_count=2)])


def test_aggregates_combine_exactly_and_quantiles_say_they_were_sampled(tmp_path: Path):
    frame = sample_data.generate(5_000, seed=2)
    path = _row_groups(frame, tmp_path / "t.parquet", 1_000)
    ages = frame["age"]
    suite = {
        "name": "aggregates",
        "expectations": [
            {
                "type": "expect_column_mean_to_be_between",
                "kwargs": {"column": "age", "min_value": 0, "max_value": 100},
            },
            {
                "type": "expect_column_stdev_to_be_between",
                "kwargs": {"column": "age", "min_value": 0, "max_value": 100},
            },
            {
                "type": "expect_column_max_to_be_between",
                "kwargs": {"column": "age", "min_value": 0, "max_value": 100},
            },
            {
                "type": "expect_column_median_to_be_between",
                "kwargs": {"column": "age", "min_value": 0, "max_value": 100},
            },
        ],
    }
    outcome = core.validate_table(path, suite, batch_rows=300)
    observed = [r["result"]["observed_value"] for r in outcome.result["results"]]
    assert observed[0] == pytest.approx(ages.mean()) and observed[1] == pytest.approx(ages.std())
    assert observed[2] == ages.max()
    evaluated = [r["meta"]["evaluated"] for r in outcome.result["results"]]
    assert evaluated[:3] == ["every row"] * 3
    assert evaluated[3] == "on a uniform random sample of 5,000 of 5,000 rows"  # all rows fit the sample


def test_uniqueness_beyond_the_exact_limit_is_checked_on_a_hash_sample():
    sketch = DistinctSketch(limit=1_000)
    values = pd.Series([f"id{i}" for i in range(20_000)] + ["id7", "id7"])
    for start in range(0, len(values), 3_000):
        sketch.add(values.iloc[start : start + 3_000])
    assert not sketch.exact and "hash sample" in sketch.describe()
    assert 15_000 < sketch.distinct_estimate() < 27_000
    exact = DistinctSketch()
    exact.add(values)
    assert exact.exact and exact.duplicated_rows() == 3  # id7 three times


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_bundled_suite_holds_on_larger_samples_of_the_generator(tmp_path: Path, suite: dict, seed: int):
    path = str(tmp_path / "big.parquet")
    sample_data.write(path, rows=300_000, seed=seed)
    outcome = core.validate_table(path, suite)
    assert outcome.passed, outcome.summary()
