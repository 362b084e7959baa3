"""Every parameter checked before any work, by name: the message names the parameter, the value and
the rule; a whole number is accepted where a float is declared."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from google.protobuf import json_format

from components.batch_predict import core as scoring
from components.common import io
from components.common.errors import KeelError
from components.plan_shards.core import plan
from components.publish_predictions import core as publishing
from components.resolve_model.core import resolve
from components.select_model.core import decide
from components.split_data.core import split_table
from components.train_model import core as training
from pipelines.compiling import load
from pipelines.parameters import check_params, declared_inputs, parse_params
from tests import churn
from tests.reliability.builders import keel, model_folder, registry_with_history, snapshot, to_score

THRESHOLD = "--param=thresholds="
CASES = [
    ("batch_scoring", "run_date=2026-02-30", "'run_date' = '2026-02-30': not a calendar date"),
    ("batch_scoring", "run_date=2026-13-01", "'run_date' = '2026-13-01': not a calendar date"),
    ("batch_scoring", "run_date=26/02/2026", "'run_date' = '26/02/2026': expected YYYY-MM-DD"),
    ("batch_scoring", "rows_per_shard=-1", "'rows_per_shard' = -1: must be a whole number >= 0"),
    ("batch_scoring", "shard_minutes=0", "'shard_minutes' = 0: must be a number > 0"),
    ("batch_scoring", "max_shards=-3", "'max_shards' = -3: must be a whole number >= 1"),
    ("batch_scoring", "min_score_std=-0.5", "'min_score_std' = -0.5: must be a number >= 0"),
    ("batch_scoring", "model_name=Churn!", "'model_name' = 'Churn!': use 1-63 lowercase letters"),
    (
        "batch_scoring",
        "registry_uri=s3://bucket/r",
        "'registry_uri' = 's3://bucket/r': expected a local folder",
    ),
    ("batch_scoring", "id_columns=[1]", "'id_columns' = [1]: must be a list of column names"),
    ("batch_scoring", "output_uri=", "'output_uri' = '': must be a non-empty string"),
    ("training", "test_fraction=0", "'test_fraction' = 0: must be a number between 0 and 1, both excluded"),
    ("training", "test_fraction=1.5", "'test_fraction' = 1.5: must be a number between 0 and 1"),
    ("training", "seed=-1", "'seed' = -1: must be a whole number from 0 to 4294967295"),
    (
        "training",
        "estimator=HistGradientBoostingClassifier",
        "'estimator' = 'HistGradientBoostingClassifier': expected an import path",
    ),
    (
        "training",
        'thresholds={"roc_auc": {"lower_bound": "high"}}',
        "lower_bound 'high' is not a finite number",
    ),
    ("training", 'thresholds={"roc_auc": {"min_improvement": -1}}', "min_improvement must be >= 0"),
    (
        "training",
        'thresholds={"roc_auc": {"lower_bound": 0.9, "upper_bound": 0.8}}',
        "lower_bound must not exceed",
    ),
    ("training", 'thresholds={"lift": {"min_improvement": 0.1}}', "direction unknown; set higher_is_better"),
    ("training", 'thresholds={"roc_auc": {"lower_bound": true}}', "lower_bound True is not a finite number"),
    (
        "training",
        "deploy_traffic_percent=0",
        "'deploy_traffic_percent' = 0: must be a whole number from 1 to 100",
    ),
    ("training", "deploy_max_replicas=0", "'deploy_max_replicas' = 0: must be a whole number >= 1"),
]


def _checked(pipeline: str, *pairs: str) -> dict:
    """What keel run/submit/schedule do with `--param` pairs before any work."""
    spec = json_format.MessageToDict(load(pipeline).pipeline_spec)
    required = {
        "data_uri": "data.parquet",
        **({"output_uri": "predictions"} if pipeline == "batch_scoring" else {}),
        **(churn.SCORING if pipeline == "batch_scoring" else churn.TRAINING),
    }
    named = {pair.partition("=")[0] for pair in pairs}
    unnamed = {key: value for key, value in required.items() if key not in named}
    given = parse_params(
        [arg.removeprefix("--param=") for arg in churn.cli(unnamed)] + list(pairs), declared_inputs(spec)[0]
    )
    return check_params(given, spec)


@pytest.mark.parametrize(("pipeline", "pair", "message"), CASES)
def test_each_parameter_is_refused_by_name_with_its_value_and_rule(pipeline, pair, message):
    with pytest.raises(KeelError) as refused:
        _checked(pipeline, pair)
    name = pair.partition("=")[0]
    assert f"keel-{pipeline.replace('_', '-')}: parameter '{name}' = " in str(refused.value)
    assert message in str(refused.value)


def test_several_bad_parameters_are_named_at_once():
    with pytest.raises(KeelError) as refused:
        _checked("batch_scoring", "run_date=2026-02-30", "rows_per_shard=-1")
    assert "'run_date'" in str(refused.value) and "'rows_per_shard'" in str(refused.value)


def test_whole_numbers_are_accepted_for_float_parameters():
    assert _checked("batch_scoring", "min_score_std=0")["min_score_std"] == 0.0
    assert type(_checked("batch_scoring", "min_score_std=1")["min_score_std"]) is float
    assert _checked("training", "test_fraction=0.25")["test_fraction"] == 0.25


def test_numbers_a_pipeline_passes_as_text_read_back_as_numbers():
    from components.common.parameters import decoded

    # KFP carries every number as a double: an int parameter reaches the first step as "0.0".
    read = decoded({"seed": "0.0", "test_fraction": "0.2", "data_uri": "7", "flag": "true"})
    assert read == {"seed": 0, "test_fraction": 0.2, "data_uri": "7", "flag": True}
    assert type(read["seed"]) is int


def test_the_pipeline_check_a_first_step_calls():
    from components.common.parameters import check_pipeline

    defaults = {
        "data_uri": "gs://b/in",
        "output_uri": "gs://b/out",
        "registry_uri": "",
        "run_date": "",
        "min_score_std": 0,
    }
    check_pipeline("batch_scoring", defaults)
    with pytest.raises(KeelError, match="parameter 'run_date' = '2026-02-29': not a calendar date"):
        check_pipeline("batch_scoring", {**defaults, "run_date": "2026-02-29"})
    check_pipeline("batch_scoring", {**defaults, "run_date": "2028-02-29"})


def test_a_pipeline_run_without_the_cli_stops_at_its_first_step(
    kfp_local: Path, tmp_path: Path, capfd: pytest.CaptureFixture
):
    """kfp.local (or Vertex) without `keel`: the first step checks every parameter of the run, so a
    bad run date stops the run before any shard is validated or scored."""
    from pipelines.batch_scoring import batch_scoring

    data = to_score(tmp_path / "to_score.parquet", rows=200)
    with pytest.raises(RuntimeError, match="fingerprint-inputs"):
        batch_scoring(data_uri=data, output_uri=str(tmp_path / "out"), run_date="2026-02-30", **churn.SCORING)
    printed = "".join(capfd.readouterr())
    assert "ParameterError: parameter 'run_date' = '2026-02-30': not a calendar date" in printed
    (run,) = kfp_local.glob("keel-batch-scoring-*")
    log = " ".join(p.name for p in run.rglob("*"))
    assert "batch-predict" not in log and "validate-data" not in log and "resolve-model" not in log
    assert not (tmp_path / "out").exists()
    # And an output inside the input folder: refused there too, the input left as it was.
    folder = tmp_path / "input"
    to_score(folder / "part-0.parquet", rows=200)
    before = snapshot(folder)
    with pytest.raises(RuntimeError, match="fingerprint-inputs"):
        batch_scoring(
            data_uri=str(folder), output_uri=str(folder / "out"), run_date="2026-02-28", **churn.SCORING
        )
    assert snapshot(folder) == before


def test_keel_run_refuses_a_bad_run_date_before_any_work(keel_home: Path, tmp_path: Path):
    data = to_score(tmp_path / "to_score.parquet", rows=200)
    done = keel(
        "run",
        "batch_scoring",
        "--local",
        f"--param=data_uri={data}",
        f"--param=output_uri={tmp_path / 'out'}",
        "--param=run_date=2026-02-30",
        *churn.cli(churn.SCORING),
    )
    assert done.returncode == 1
    assert "parameter 'run_date' = '2026-02-30': not a calendar date" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert not (keel_home / "runs").exists() and not (tmp_path / "out").exists()


def test_keel_run_refuses_a_non_numeric_threshold_before_any_work(keel_home: Path):
    done = keel(
        "run",
        "select_model",
        "--local",
        '--param=challenger_metrics={"roc_auc": 0.8}',
        THRESHOLD + '{"roc_auc": {"lower_bound": "high"}}',
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "parameter 'thresholds' = {'roc_auc': {'lower_bound': 'high'}}" in done.stderr
    assert not (keel_home / "runs").exists()


def test_keel_run_accepts_a_whole_number_for_a_float(keel_home: Path, tmp_path: Path):
    registry = registry_with_history(tmp_path / "registry", model_folder(tmp_path / "model"))
    data = to_score(tmp_path / "to_score.parquet", rows=1_000)
    done = keel(
        "run",
        "batch_scoring",
        "--local",
        f"--param=data_uri={data}",
        f"--param=output_uri={tmp_path / 'out'}",
        f"--param=registry_uri={registry.root}",
        "--param=run_date=2026-11-26",
        "--param=min_score_std=0",
        *churn.cli(churn.SCORING),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(io.read_table(str(tmp_path / "out" / "run_date=2026-11-26" / "predictions.parquet"))) == 1_000


def test_cores_check_their_parameters_before_reading_anything(tmp_path: Path):
    """Each core refuses a bad parameter first: here the data does not even exist."""
    missing = str(tmp_path / "missing.parquet")
    refusals = {
        "'run_date' = '2026-02-30'": lambda: publishing.run([missing], str(tmp_path / "out"), "2026-02-30"),
        "'test_fraction' = 0": lambda: split_table(missing, "churned", test_fraction=0),
        "'seed' = -1": lambda: training.train_table(missing, training.TrainingSpec("churned", seed=-1)),
        "'estimator' = 'sklearn.nothing:Model'": lambda: training.train_table(
            missing, training.TrainingSpec("churned", estimator="sklearn.nothing:Model")
        ),
        "'rows_per_shard' = -1": lambda: plan(missing, rows_per_shard=-1),
        "'thresholds' = {'roc_auc': {'upper_bound': '0.9'}}": lambda: decide(
            {"roc_auc": 0.8}, None, {"roc_auc": {"upper_bound": "0.9"}}
        ),
        "'batch_rows' = 0": lambda: scoring.score_table(
            None,
            {},
            missing,
            str(tmp_path / "out.parquet"),
            scoring.ScoringRun("churn", 1, "r"),
            batch_rows=0,
        ),
        "'model_name' = 'Churn'": lambda: resolve(None, "Churn", None),
    }
    for message, call in refusals.items():
        with pytest.raises(KeelError, match=re.escape(f"parameter {message}")):
            call()
    assert snapshot(tmp_path) == {}
