import json
import re
from pathlib import Path

import pytest

from components.common import io, sample_data
from components.common.io import DataError
from components.validate_data import core


@pytest.fixture(scope="module")
def suite() -> dict:
    return core.load_suite("")


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
        ("wrong_types", ["expect_column_values_to_be_in_type_list on column 'age': 500 unexpected of 500"]),
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


def test_csv_readings_pass_the_same_suite(tmp_path: Path, suite: dict):
    io.write_table(sample_data.generate(1_000), str(tmp_path / "sample.csv"))
    assert core.validate_table(str(tmp_path / "sample.csv"), suite).passed


def test_skipping_the_label_for_scoring_data(suite: dict):
    unlabelled = sample_data.generate(300).drop(columns=[sample_data.LABEL])
    assert not core.validate_frame(unlabelled, suite).passed
    outcome = core.validate_frame(unlabelled, core.without_columns(suite, [sample_data.LABEL]))
    assert outcome.passed and outcome.evaluated < len(suite["expectations"])


def test_committed_suite_is_what_the_builder_makes_from_the_sample(sample_uri: str, suite: dict):
    built = core.build_suite(
        io.read_table(sample_uri), "churn", label="churned", unique_columns=("customer_id",)
    )
    assert built == suite


def test_builder_infers_types_nulls_ranges_and_categories():
    reference = sample_data.generate(1_000)
    rules = {
        (e["type"], e["kwargs"].get("column")): e["kwargs"]
        for e in core.build_suite(reference, "s")["expectations"]
    }
    assert rules[("expect_column_values_to_be_in_set", "contract_type")]["value_set"] == sorted(
        sample_data.CONTRACTS
    )
    assert rules[("expect_column_values_to_be_between", "age")] == {
        "column": "age",
        "min_value": 10,
        "max_value": 98,
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

    task = validate_data(data_uri=sample_uri)
    assert task.outputs["passed"] is True
    assert task.outputs["metrics"].metadata["expectations_run"] == 40
    assert "PASSED" in Path(task.outputs["report"].path).read_text()
    assert json.loads(Path(task.outputs["validation_result"].path).read_text())["success"] is True

    broken = str(tmp_path / "unseen.parquet")
    sample_data.write_broken("unseen_category", broken)
    lenient = validate_data(data_uri=broken, fail_on_error=False)
    assert lenient.outputs["passed"] is False
    assert lenient.outputs["metrics"].metadata["expectations_failed"] == 1
    with pytest.raises(RuntimeError, match="validate-data"):
        validate_data(data_uri=broken)
