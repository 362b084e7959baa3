"""Online tracking, for real: the ClearML client, in the run's mirror process, against a loopback
fake of a ClearML server; the assertions are on what the server received."""

import zipfile
from pathlib import Path

import pytest

from components.common.tracking import track


def test_an_online_run_reaches_the_server(
    keel_home: Path, clearml_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KEEL_TRACKING_TIMEOUT", "60")  # a loaded machine must not look like a slow server
    report = tmp_path / "report.html"
    report.write_bytes(b"<html>\x00\xff report</html>")
    weights = tmp_path / "model.joblib"
    weights.write_bytes(b"weights \x01\x02")
    with track(
        "train_model", params={"seed": 7, "estimator": "sklearn.linear_model:LogisticRegression"}
    ) as run:
        run.log_metrics({"roc_auc": 0.91, "accuracy": 0.85}, step=1)
        run.log_artifact("report", report)
        run.log_artifact("summary", {"rows": 10})
        run.log_model(weights, "churn", framework="scikit-learn", metadata={"label": "churned"})
        run.set_tags("champion")
        task_id = run.id
        offline_copy = run.session_dir

    assert run.mode == "online" and run.id == task_id and run.session_zip is None
    assert not offline_copy.exists() and not offline_copy.with_suffix(".zip").exists()  # redundant now
    task = clearml_server.tasks[task_id]
    assert task["name"] == "train_model" and task["status"] == "completed"
    assert clearml_server.projects[task["project"]]["name"] == "keel-pipelines"
    assert "champion" in task["tags"]
    params = {name: param["value"] for name, param in task["hyperparams"]["params"].items()}
    assert params == {"seed": "7", "estimator": "sklearn.linear_model:LogisticRegression"}
    scalars = {
        (event["metric"], event["variant"], event["iter"]): event["value"]
        for event in clearml_server.events
        if event["type"] == "training_stats_scalar"
    }
    assert scalars == {("metrics", "roc_auc", 1): 0.91, ("metrics", "accuracy", 1): 0.85}
    artifacts = {artifact["key"]: artifact for artifact in task["execution"]["artifacts"]}
    assert clearml_server.file(artifacts["report"]["uri"]) == report.read_bytes()
    assert clearml_server.file(artifacts["summary"]["uri"]) == b'{\n    "rows": 10\n}'
    (output,) = task["models"]["output"]
    model = clearml_server.models[output["model"]]
    assert model["name"] == "churn" and model["framework"] == "scikit-learn"
    assert clearml_server.file(model["uri"]) == weights.read_bytes()
    assert clearml_server.unknown == []  # every call the client made is one the fake knows


def test_a_server_that_loses_some_records_leaves_the_run_offline_with_everything(
    keel_home: Path, clearml_server, monkeypatch: pytest.MonkeyPatch, caplog
):
    """ClearML logs a failed scalar upload instead of raising: the run must not trust the server."""
    monkeypatch.setenv("KEEL_TRACKING_TIMEOUT", "60")
    clearml_server.misbehave("error", endpoint="events.add_batch")
    with track("train_model", params={"seed": 7}) as run:
        run.log_metrics({"roc_auc": 0.91})
    assert run.mode == "offline" and "tracking goes on offline" in caplog.text
    assert clearml_server.calls("events.add_batch")  # the server was asked, and failed
    with zipfile.ZipFile(run.session_zip) as session:
        assert '"roc_auc"' in session.read("metrics.jsonl").decode()
