"""The batch scoring pipeline run end to end with kfp.local against a local registry."""

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.common import io, sample_data
from components.common.model_files import MODEL_FILE
from components.common.registry import open_registry
from components.common.sample_data import drifted
from components.split_data.core import split
from components.train_model import core as training
from tests import churn
from tests.builders import CHANGED_FEATURE, SHIFTED_FEATURE

RUN_DATE = "2026-11-26"


@pytest.fixture
def registry_uri(keel_home: Path, tmp_path: Path) -> str:
    """A registry with two versions of 'churn': v2 is the champion, v1 the previous one; both record
    the churn suite as their training suite, which batch scoring validates with by default."""
    registry = open_registry(str(keel_home / "registry"))
    parts = split(sample_data.generate(3_000), sample_data.LABEL, key_column="customer_id")
    for version, estimator in enumerate(
        ["sklearn.linear_model:LogisticRegression", training.DEFAULT_ESTIMATOR], 1
    ):
        spec = training.TrainingSpec(
            label=sample_data.LABEL, estimator=estimator, id_columns=("customer_id",)
        )
        folder = str(tmp_path / f"model-{version}")
        trained = training.train(parts.train, spec, holdout=parts.test, suite_uri=churn.SUITE)
        training.save(trained, folder)
        registry.promote("churn", registry.register("churn", folder).version)
    return str(keel_home / "registry")


@pytest.fixture
def to_score(tmp_path: Path) -> str:
    """2,500 unlabelled customers in three parquet row groups."""
    path = tmp_path / "to_score.parquet"
    frame = sample_data.generate(2_500, seed=1).drop(columns=[sample_data.LABEL])
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=1_000)
    return str(path)


def _score(data_uri: str, output: Path, **params):
    from pipelines.batch_scoring import batch_scoring

    return batch_scoring(
        data_uri=data_uri, output_uri=str(output), **{"run_date": RUN_DATE, **churn.SCORING, **params}
    )


def _task_dir(runs: Path, task: str) -> Path:
    return sorted(runs.glob(f"*/{task}"), key=lambda p: p.stat().st_mtime)[-1]


def test_scores_every_row_with_the_champion_in_parallel_shards(
    kfp_local: Path, registry_uri: str, to_score: str, tmp_path: Path
):
    _score(to_score, tmp_path / "out", rows_per_shard=1_000)
    published = io.read_table(str(tmp_path / "out" / f"run_date={RUN_DATE}" / "predictions.parquet"))
    source = io.read_table(to_score)
    assert len(published) == len(source) == 2_500
    assert sorted(published["customer_id"]) == sorted(source["customer_id"])
    assert set(published["model_version"]) == {2} and set(published["model_name"]) == {"churn"}
    assert published["score"].between(0, 1).all() and published["prediction"].isin([0, 1]).all()
    assert published["run_id"].nunique() == 1 and published["scored_at"].notna().all()
    shard_outputs = list(kfp_local.rglob("batch-predict*/predictions"))
    assert len(shard_outputs) == 3, shard_outputs  # one per row group
    assert len(list(kfp_local.rglob("validate-data*/partial/partial.json"))) == 3  # validated shard by shard
    combined = json.loads(next(kfp_local.rglob("combine-validation/validation_result")).read_text())
    assert combined["success"] and combined["meta"]["rows"] == 2_500 and combined["meta"]["shards"] == 3
    # no suite_uri given: the suite recorded with the model, minus its label (not in data to score)
    resolution = next(kfp_local.rglob("resolve-model/report")).read_text()
    assert f"suite `{churn.SUITE}`, columns skipped: churned" in resolution


def test_a_model_with_no_recorded_suite_needs_suite_uri(
    kfp_local: Path, registry_uri: str, to_score: str, tmp_path: Path, capfd
):
    # a version registered before the training suite was recorded with the model
    registry = open_registry(registry_uri)
    folder = str(tmp_path / "model-3")
    spec = training.TrainingSpec(label=churn.LABEL, id_columns=tuple(churn.ID_COLUMNS))
    training.save(training.train(sample_data.generate(2_000), spec), folder)
    registry.promote("churn", registry.register("churn", folder).version)
    with pytest.raises(RuntimeError, match="resolve-model"):
        _score(to_score, tmp_path / "out")
    printed = capfd.readouterr()
    assert (
        "ParameterError: parameter 'suite_uri' = '': model 'churn' v3 has no training suite recorded"
        in printed.out + printed.err
    )
    assert not (tmp_path / "out").exists()
    _score(to_score, tmp_path / "out", suite_uri=churn.SUITE)  # given a suite, it scores with v3
    published = io.read_table(str(tmp_path / "out" / f"run_date={RUN_DATE}" / "predictions.parquet"))
    assert set(published["model_version"]) == {3}


def test_corrupted_champion_falls_back_to_previous_and_says_so(
    kfp_local: Path, registry_uri: str, to_score: str, tmp_path: Path
):
    champion = open_registry(registry_uri).get("churn", "champion")
    model_file = Path(champion.uri) / MODEL_FILE
    model_file.write_bytes(model_file.read_bytes()[:-10] + b"corrupted!")

    _score(to_score, tmp_path / "out")
    published = io.read_table(str(tmp_path / "out" / f"run_date={RUN_DATE}" / "predictions.parquet"))
    assert set(published["model_version"]) == {1} and len(published) == 2_500

    resolved = _task_dir(kfp_local, "resolve-model")
    report = (resolved / "report").read_text()
    assert "| champion | 2 | no | " in report and "does not match the recorded" in report
    assert "| previous | 1 | yes | sha256 matches; smoke prediction passed |" in report
    executor_output = json.loads((resolved / "executor_output.json").read_text())
    assert executor_output["parameterValues"] == {
        "fell_back": True,
        "version": 1,
        "suite_uri": churn.SUITE,  # v1's own training suite
        "skip_columns": [churn.LABEL],
    }


def test_invalid_input_stops_the_run_with_nothing_written(kfp_local: Path, registry_uri: str, tmp_path: Path):
    broken = tmp_path / "broken.parquet"
    frame = sample_data.broken("out_of_range", sample_data.generate(2_000)).drop(columns=["churned"])
    # the broken rows are all in the first of two shards; each shard scores, nothing is published
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), broken, row_group_size=1_000)
    with pytest.raises(RuntimeError, match="combine-validation"):
        _score(str(broken), tmp_path / "out", rows_per_shard=1_000)
    assert not (tmp_path / "out").exists()
    assert not list(kfp_local.rglob("publish-predictions*"))


def test_an_empty_input_publishes_nothing(kfp_local: Path, registry_uri: str, tmp_path: Path):
    empty = str(tmp_path / "empty.parquet")
    io.write_table(sample_data.generate(10).drop(columns=["churned"]).iloc[:0], empty)
    with pytest.raises(RuntimeError):
        _score(empty, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_rerun_for_the_same_date_leaves_exactly_one_output(
    kfp_local: Path, registry_uri: str, to_score: str, tmp_path: Path
):
    output = tmp_path / "out"
    _score(to_score, output)
    first = (output / f"run_date={RUN_DATE}" / "predictions.parquet").stat().st_mtime_ns
    _score(to_score, output)
    files = sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file())
    assert files == [f"_monitoring/run_date={RUN_DATE}.json", f"run_date={RUN_DATE}/predictions.parquet"]
    assert (output / files[1]).stat().st_mtime_ns > first
    assert len(io.read_table(str(output / files[1]))) == 2_500


def test_drift_is_checked_across_shards_recorded_and_with_on_drift_fail_nothing_is_published(
    kfp_local: Path, registry_uri: str, to_score: str, tmp_path: Path
):
    output = tmp_path / "out"
    _score(to_score, output, rows_per_shard=1_000)
    passed = json.loads((output / "_monitoring" / f"run_date={RUN_DATE}.json").read_text())
    assert (passed["decision"], passed["rows"], passed["subject"]) == ("pass", 2_500, "churn v2")
    assert passed["score"]["distance"] < 0.1  # the champion's scores on its holdout are the reference

    shifted = str(tmp_path / "drifted.parquet")
    io.write_table(drifted(io.read_table(to_score)), shifted)
    with pytest.raises(RuntimeError, match="check-drift"):
        _score(shifted, output, run_date="2026-11-27", on_drift="fail")
    assert not (output / "run_date=2026-11-27").exists()
    assert not list(kfp_local.glob("*/publish-predictions"))[1:]  # only the first run published

    plot = tmp_path / "trend.html"
    monitor = subprocess.run(
        [Path(sys.executable).parent / "keel", "monitor", str(output), "--plot", str(plot)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = {line.split()[0]: line.split()[1:] for line in monitor.stdout.splitlines()[1:]}
    assert lines["feature"] == [RUN_DATE, "2026-11-27"] and lines["decision"] == ["pass", "fail"]
    drifted_rows = sorted(name for name, cells in lines.items() if cells[-1].endswith("*"))
    assert drifted_rows == sorted([SHIFTED_FEATURE, CHANGED_FEATURE])
    assert plot.read_text().count("<svg") == 8  # one trend per feature, and the scores


def test_drift_sends_one_alert_to_the_pipelines_webhook_and_still_publishes_with_on_drift_warn(
    kfp_local: Path, registry_uri: str, to_score: str, tmp_path: Path, receiver
):
    from pipelines.alerting import Alerts, with_alerts
    from pipelines.batch_scoring import batch_scoring

    paging = with_alerts(batch_scoring, Alerts(webhook_url=receiver.url, webhook_format="json"))
    shifted = str(tmp_path / "drifted.parquet")
    io.write_table(drifted(io.read_table(to_score)), shifted)
    paging(data_uri=shifted, output_uri=str(tmp_path / "out"), run_date=RUN_DATE, **churn.SCORING)

    assert (tmp_path / "out" / f"run_date={RUN_DATE}" / "predictions.parquet").is_file()
    (message,) = receiver.messages  # the drift alert; the run succeeded, so no failure alert
    assert message["severity"] == "WARNING" and message["title"].startswith("Drift: ")
    assert set(message["fields"]) >= {SHIFTED_FEATURE, CHANGED_FEATURE, "decision"}
