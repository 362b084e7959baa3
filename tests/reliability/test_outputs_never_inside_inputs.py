"""Outputs never land inside inputs: refused before any work, by the CLI, the pipeline's parameter
check and the components that write, for local paths, symlinks, file://, /gcs/ and gs:// alike."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from components.batch_predict import core as scoring
from components.common import io, model_files, sample_data
from components.common.errors import KeelError
from components.common.registry import open_registry
from components.publish_predictions import core as publishing
from components.register_model import core as registration
from tests import churn
from tests.reliability.builders import keel, model_folder, snapshot, to_score


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data set: a folder of two parquet files."""
    folder = tmp_path / "data"
    to_score(folder / "part-0.parquet", rows=300, seed=1)
    to_score(folder / "part-1.parquet", rows=300, seed=2, start=300)
    return folder


@pytest.mark.parametrize(
    ("output", "input_", "relation"),
    [
        ("{d}", "{d}", "equals"),
        ("{d}/", "{d}", "equals"),
        ("{d}/sub/..", "{d}", "equals"),
        ("file://{d}", "{d}", "equals"),
        ("{d}", "{d}/part-0.parquet", "contains"),
        ("{d}/scores", "{d}", "sits inside"),
        ("{link}/scores", "{d}", "sits inside"),  # through a symlink to the data folder
        ("{d}", "{link}/part-0.parquet", "contains"),
        ("gs://bucket/data", "/gcs/bucket/data/part-0.parquet", "contains"),
        ("/gcs/bucket/data/out", "gs://bucket/data", "sits inside"),
        ("gs://bucket/a/../data", "gs://bucket/data/", "equals"),
        ("gs://bucket", "gs://bucket/data", "contains"),
        ("{d}-scores", "{d}", None),  # a sibling sharing a prefix
        ("gs://other/data", "gs://bucket/data", None),
        ("gs://bucket/data", "{d}", None),
        ("{d}", "vertex://projects/p/locations/l", None),
        ("", "{d}", None),
    ],
)
def test_relation_of_locations(data: Path, tmp_path: Path, output: str, input_: str, relation):
    from components.common import locations

    link = tmp_path / "link"
    link.symlink_to(data)
    fill = {"d": str(data), "link": str(link)}
    assert locations.relation(output.format(**fill), input_.format(**fill)) == relation


def test_relative_paths_are_resolved(data: Path, monkeypatch):
    from components.common import locations

    monkeypatch.chdir(data.parent)
    with pytest.raises(
        KeelError,
        match=r"output_uri 'data/\.\./data/out' \(.*/data/out\) \(an output\) sits inside data_uri",
    ):
        locations.check_outputs({"output_uri": "data/../data/out"}, {"data_uri": str(data)})


def test_the_pipeline_parameter_check_names_every_overlap(data: Path, tmp_path: Path):
    """What a pipeline's first step calls on Vertex: the whole parameter set of batch_scoring."""
    from components.common import parameters

    registry = tmp_path / "registry"
    params = {
        "data_uri": str(data),
        "output_uri": str(tmp_path),
        "registry_uri": str(registry),
        "suite_uri": "",
    }
    with pytest.raises(KeelError) as refused:
        parameters.check_pipeline("batch_scoring", params)
    message = str(refused.value)
    assert "output_uri" in message and f"contains data_uri '{data}'" in message
    assert f"contains registry_uri '{registry}'" in message and "rule: an output location must not" in message
    parameters.check_pipeline("batch_scoring", {**params, "output_uri": str(tmp_path / "scores")})
    # training writes into the registry: a registry inside the data is refused
    with pytest.raises(KeelError, match="registry_uri .* sits inside data_uri"):
        parameters.check_pipeline("training", {"data_uri": str(data), "registry_uri": str(data / "registry")})
    # an empty registry_uri is the default local registry, under KEEL_HOME
    with pytest.raises(KeelError, match="contains registry_uri"):
        parameters.check_pipeline(
            "batch_scoring", {**params, "registry_uri": "", "output_uri": os.environ["KEEL_HOME"]}
        )


@pytest.mark.parametrize(
    ("pipeline", "extra"),
    [
        ("batch_scoring", ["--param", "output_uri={d}"]),
        ("batch_scoring", ["--param", "output_uri={d}/predictions"]),
        ("batch_scoring", ["--param", "output_uri={link}"]),
        ("batch_scoring", ["--param", "output_uri={s}", "--param", "suite_uri={s}/suite.json"]),
        ("training", ["--param", "registry_uri={d}/registry"]),
    ],
)
def test_keel_run_refuses_before_any_work(keel_home: Path, data: Path, tmp_path: Path, pipeline, extra):
    link = tmp_path / "link"
    link.symlink_to(data)
    suites = tmp_path / "suites"
    suites.mkdir()
    (suites / "suite.json").write_text('{"expectations": []}')
    before = snapshot(tmp_path)
    args = [arg.format(d=data, link=link, s=suites) for arg in extra]
    required = churn.cli(churn.SCORING if pipeline == "batch_scoring" else churn.TRAINING)
    done = keel("run", pipeline, "--local", "--param", f"data_uri={data}", *required, *args)
    assert done.returncode == 1
    assert (
        "(an output)" in done.stderr
        and "rule: an output location must not equal, contain or sit inside" in done.stderr
    )
    assert snapshot(tmp_path) == before
    assert not (keel_home / "runs").exists()  # no task ran


def test_keel_run_refuses_a_runs_folder_inside_the_data(keel_home: Path, data: Path, tmp_path: Path):
    before = snapshot(data)
    done = keel(
        "run", "validate_data", "--local", "--param", f"data_uri={data}", KEEL_RUNS_DIR=str(data / "runs")
    )
    assert done.returncode == 1 and "pipeline root" in done.stderr and "sits inside data_uri" in done.stderr
    assert snapshot(data) == before


@pytest.mark.parametrize("command", [["submit"], ["schedule", "create", "--cron", "0 3 * * *"]])
def test_submit_and_schedule_refuse_before_any_call(tmp_path: Path, command):
    done = keel(
        *command,
        "batch_scoring",
        "--project=p",
        "--location=europe-west4",
        "--pipeline-root=gs://bucket/data/runs",
        "--image-registry=europe-west4-docker.pkg.dev/p/keel",
        "--param=data_uri=/gcs/bucket/data",
        "--param=output_uri=gs://bucket/predictions",
        *churn.cli(churn.SCORING),
    )
    assert done.returncode == 1
    assert (
        "pipeline root 'gs://bucket/data/runs' (an output) sits inside data_uri '/gcs/bucket/data'"
        in done.stderr
    )
    assert "submitted" not in done.stdout and "created schedule" not in done.stdout


def test_components_refuse_at_their_start(data: Path, tmp_path: Path):
    before = snapshot(data)
    part = str(tmp_path / "scored.parquet")
    io.write_table(pd.DataFrame({"customer_id": ["a", "b"], "prediction": [0, 1], "score": [0.2, 0.8]}), part)
    with pytest.raises(KeelError, match="output_uri .* equals data_uri"):
        publishing.run([part], str(data), "2026-11-26", data_uri=str(data))
    folder = model_folder(tmp_path / "model", rows=500)
    model, metadata = model_files.load(folder)
    with pytest.raises(KeelError, match="predictions .* sits inside data"):
        scoring.score_table(
            model, metadata, str(data), str(data / "out.parquet"), scoring.ScoringRun("churn", 1, "r")
        )
    assert snapshot(data) == before

    with pytest.raises(KeelError, match="registry_uri .* sits inside model"):
        registration.register(open_registry(f"{folder}/registry"), "churn", folder)
    assert not Path(folder, "registry").exists()


def test_batch_scoring_into_its_own_input_folder_leaves_the_input_as_it_was(
    kfp_local: Path, data: Path, tmp_path: Path, capfd: pytest.CaptureFixture
):
    """The issue's example, run as a pipeline: today the predictions land in the input data set. The
    run's first step refuses it, before any shard is validated or scored."""
    from pipelines.batch_scoring import batch_scoring

    registry = open_registry(str(tmp_path / "registry"))
    registry.promote("churn", registry.register("churn", model_folder(tmp_path / "model")).version)
    before = snapshot(data)
    with pytest.raises(RuntimeError, match="fingerprint-inputs"):
        batch_scoring(
            data_uri=str(data),
            output_uri=str(data),
            registry_uri=registry.uri,
            run_date="2026-11-26",
            **churn.SCORING,
        )
    assert "LocationError: " in "".join(capfd.readouterr())
    assert not list(kfp_local.rglob("batch-predict*"))
    assert snapshot(data) == before
    assert len(io.read_table(str(data))) == 600
    assert sample_data.LABEL not in io.read_table(str(data)).columns
