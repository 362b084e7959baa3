"""Lineage: a kfp.local training run, then a batch scoring run, then `keel lineage` on its output
walks back to the model version, its training data fingerprint, its run, code and images."""

import json
import re
from pathlib import Path

import pytest
import yaml

from components.common import inputs, sample_data
from components.common.registry import open_registry
from components.common.revision import git_revision
from components.images import RUN_IMAGES
from pipelines.cli import main
from pipelines.compiling import compile_all
from tests import churn

RUN_DATE = "2026-12-01"
ROOT = Path(__file__).resolve().parents[2]


def _keel(capsys: pytest.CaptureFixture, *args: str) -> str:
    capsys.readouterr()  # leave out what the runs printed
    main(list(args))
    return capsys.readouterr().out


def _artifact(run_folder: Path, task: str, output: str) -> dict:
    outputs = json.loads((run_folder / task / "executor_output.json").read_text())
    return outputs["artifacts"][output]["artifacts"][0]


def test_keel_lineage_walks_back_from_predictions_to_training_data_and_code(
    kfp_local: Path, keel_home: Path, sample_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture
):
    from pipelines.batch_scoring import batch_scoring
    from pipelines.training import training

    registry_uri = str(keel_home / "registry")
    training(data_uri=sample_uri, registry_uri=registry_uri, **churn.TRAINING)
    to_score = str(tmp_path / "to_score.parquet")
    sample_data.write(to_score, rows=2_000, seed=1, label=False)
    batch_scoring(
        data_uri=to_score,
        output_uri=str(tmp_path / "out"),
        registry_uri=registry_uri,
        run_date=RUN_DATE,
        **churn.SCORING,
    )
    (training_run,) = kfp_local.glob("keel-training-*")
    (scoring_run,) = kfp_local.glob("keel-batch-scoring-*")
    published = tmp_path / "out" / f"run_date={RUN_DATE}" / "predictions.parquet"

    # The published predictions are a Dataset artifact of the scoring run.
    dataset = _artifact(scoring_run, "publish-predictions", "predictions")
    assert dataset["uri"] == str(published)
    assert dataset["metadata"] == {
        "rows": 2000,
        "fingerprint": inputs.fingerprint(str(published)),
        "run_date": RUN_DATE,
    }

    record = json.loads(_keel(capsys, "lineage", str(tmp_path / "out"), "--run-date", RUN_DATE, "--json"))
    assert record["predictions"] == {
        "uri": str(published),
        "rows": 2000,
        "sha256": dataset["metadata"]["fingerprint"],
    }
    (scoring,) = record["scored_by"]
    assert (scoring["model_name"], scoring["model_version"], scoring["rows"]) == ("churn", 1, 2000)
    model = scoring["model"]
    # From the table the run started with, fingerprinted by the run's first step (fingerprint_inputs)...
    assert model["source_data"] == {"uri": sample_uri, "fingerprint": inputs.fingerprint(sample_uri)}
    # ...trained on the split's training part, whose fingerprint is that of the file the run wrote.
    train_split = _artifact(training_run, "split-data", "train")
    assert model["training_data"]["uri"] == train_split["uri"]
    assert model["training_data"]["sha256"] == inputs.fingerprint(train_split["uri"])
    assert 1_500 < model["training_data"]["rows"] < 4_500
    # By which run, from which code and images (none: kfp.local runs the checkout itself).
    assert model["training_run"]["pipeline_job"] == training_run.name
    assert re.fullmatch(r"\d+", model["training_run"]["pipeline_run_id"])
    assert model["tracking"]["training"].startswith("offline-")
    assert model["tracking"]["registration"].startswith("offline-")
    assert model["code"] == {"version": "0.1.0", "revision": git_revision(ROOT)}
    assert model["images"] == []

    text = _keel(capsys, "lineage", str(published))
    assert f"2,000 rows scored by churn v1 in run {scoring['run_id']}" in text
    assert f"sha256 {model['training_data']['sha256']})" in text
    assert f"source data:   {sample_uri} (fingerprint {inputs.fingerprint(sample_uri)})" in text
    assert f"training run:  {training_run.name}" in text
    assert f"keel-pipelines 0.1.0 at revision {git_revision(ROOT)}" in text

    shown = json.loads(_keel(capsys, "registry", "show", "churn", "1", "--registry", registry_uri))
    assert shown["lineage"] == model
    assert open_registry(registry_uri).get("churn", 1).labels["code_revision"] == git_revision(ROOT)


def test_a_compiled_pipeline_records_the_images_it_names(tmp_path: Path):
    registry, tag = "europe-docker.pkg.dev/acme/keel", "abc123"
    spec = yaml.safe_load(compile_all(tmp_path, registry, tag, names=["training"])[0].read_text())
    register = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]["register-model"]
    recorded = register["inputs"]["parameters"]["images"]["runtimeValue"]["constant"]
    named = sorted({e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()})
    assert recorded == named and RUN_IMAGES not in recorded
    assert f"{registry}/keel-train-model:{tag}" in recorded and f"{registry}/keel-notify:{tag}" in recorded
    job = register["inputs"]["parameters"]["pipeline_job"]["runtimeValue"]["constant"]
    assert job == "{{$.pipeline_job_name}}"
