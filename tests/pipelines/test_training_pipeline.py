"""The training pipeline run end to end with kfp.local, on the sample data, into a local registry."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from components.common import io, sample_data
from components.common.registry import open_registry
from tests import churn

WEAK = {
    "estimator": "sklearn.ensemble:HistGradientBoostingClassifier",
    "hyperparameters": {"max_iter": 3, "max_depth": 2},
}
STRONG = {"estimator": "sklearn.linear_model:LogisticRegression", "hyperparameters": {"max_iter": 1000}}


@pytest.fixture
def run_training(kfp_local: Path):
    from pipelines.training import training

    def run(data_uri: str, **params):
        return training(data_uri=data_uri, **{**churn.TRAINING, **params})

    return run


def _versions(registry_uri: str) -> dict[int, list[str]]:
    return {
        found.version: sorted(a for a in found.aliases if a in ("champion", "previous"))
        for found in open_registry(registry_uri).versions("churn")
    }


def test_cold_start_then_better_then_worse_challenger(
    run_training, keel_home: Path, sample_uri: str, tmp_path: Path
):
    registry_uri = str(keel_home / "registry")

    run_training(sample_uri, **WEAK)
    assert _versions(registry_uri) == {1: ["champion"]}

    run_training(sample_uri, **STRONG)
    assert _versions(registry_uri) == {1: ["previous"], 2: ["champion"]}

    shuffled = sample_data.generate(5_000)
    shuffled["churned"] = np.random.default_rng(7).permutation(shuffled["churned"].to_numpy())
    io.write_table(shuffled, str(tmp_path / "shuffled.parquet"))
    run_training(str(tmp_path / "shuffled.parquet"), **STRONG)
    assert _versions(registry_uri) == {1: ["previous"], 2: ["champion"], 3: []}

    registry = open_registry(registry_uri)
    worse, champion = registry.get("churn", 3), registry.get("churn", "champion")
    assert worse.metrics["roc_auc"] < 0.6 < 0.8 < champion.metrics["roc_auc"]
    assert champion.labels["pipeline_run_id"] and champion.labels["training_tracking_id"].startswith(
        "offline-"
    )
    training_data = champion.metadata["training_data"]  # the split's training part
    assert len(training_data["sha256"]) == 64 and 3_500 < training_data["rows"] < 4_500
    assert champion.metadata["training_suite_uri"] == churn.SUITE  # batch scoring's default suite
    profile = registry.load_profile("churn", "champion")  # the training split and the holdout's scores
    assert (
        profile["rows"] == training_data["rows"]
        and sum(profile["score"]["counts"]) == 5_000 - profile["rows"]
    )

    # Each run compared its training data with the champion's profile, and only reported it.
    checks = sorted(keel_home.glob("runs/*/check-drift/anomalies"), key=lambda path: path.stat().st_mtime)
    decisions = [json.loads(path.read_text())["decision"] for path in checks]
    assert decisions == ["skipped", "pass", "pass"]  # cold start: no champion to compare with

    rollback = subprocess.run(
        [Path(sys.executable).parent / "keel", "registry", "rollback", "churn", "--registry", registry_uri],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "champion is now v1" in rollback.stdout
    assert _versions(registry_uri) == {1: ["champion"], 2: [], 3: []}


def test_invalid_data_stops_before_training_and_registers_nothing(
    run_training, keel_home: Path, tmp_path: Path
):
    broken = str(tmp_path / "broken.parquet")
    sample_data.write_broken("missing_column", broken, rows=2_000)
    with pytest.raises(RuntimeError, match="validate-data"):
        run_training(broken)
    assert not (keel_home / "registry").exists()
    runs = list((keel_home / "runs").rglob("*"))
    assert not [path for path in runs if path.name in ("train-model", "split-data")]


def test_data_label_model_name_and_suite_have_no_default(keel_home: Path, sample_uri: str):
    """Only the user knows them: `keel run` refuses a run without them, naming each (no sample data
    stands in for a data_uri left out)."""
    keel = str(Path(sys.executable).parent / "keel")
    done = subprocess.run([keel, "run", "training", "--local"], capture_output=True, text=True)
    assert done.returncode != 0
    assert "missing required parameter(s): data_uri, label, model_name, suite_uri" in done.stderr
    assert not (keel_home / "registry").exists()
    given = {key: churn.TRAINING[key] for key in ("label", "model_name")}
    done = subprocess.run(
        [keel, "run", "training", "--local", f"--param=data_uri={sample_uri}", *churn.cli(given)],
        capture_output=True,
        text=True,
    )
    assert "missing required parameter(s): suite_uri" in done.stderr and done.returncode != 0


def test_an_empty_suite_uri_is_refused_naming_it(run_training, keel_home: Path, sample_uri: str, capfd):
    with pytest.raises(RuntimeError, match="validate-data"):
        run_training(sample_uri, suite_uri="")
    printed = capfd.readouterr()
    assert (
        "ParameterError: parameter 'suite_uri' = '': an expectation suite is required"
        in printed.out + printed.err
    )
    assert not (keel_home / "registry").exists()
