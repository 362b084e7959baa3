"""Only estimators are constructed: an import path that names anything but a class with fit, predict
and get_params is refused before it is called, whatever the hyperparameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.common import sample_data
from components.common.errors import KeelError
from components.train_model import core as training
from tests.reliability.builders import keel, snapshot


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A folder that a call of the wrong thing would change."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "keep.txt").write_text("still here")
    return folder


# estimator -> (hyperparameters that would do damage if it were called, what the refusal says)
ATTEMPTS = {
    "os:system": ({"command": "touch {marker}"}, "is a builtin_function_or_method, not a class"),
    "os.system": ({"command": "touch {marker}"}, "not a class"),
    "shutil:rmtree": ({"path": "{victim}"}, "is a function, not a class"),
    "builtins:open": ({"file": "{marker}", "mode": "w"}, "not a class"),
    "subprocess:Popen": (
        {"args": "touch {marker}", "shell": True},
        "class Popen has no fit, predict, get_params",
    ),
    "pathlib:Path": ({}, "class Path has no fit, predict, get_params"),
    "sklearn.preprocessing:StandardScaler": ({}, "class StandardScaler has no predict"),
}


@pytest.mark.parametrize("estimator", ATTEMPTS)
def test_a_non_estimator_is_refused_before_anything_is_called(victim: Path, estimator: str):
    templates, message = ATTEMPTS[estimator]
    fill = {"marker": victim / "created-by-a-shell-command", "victim": victim}
    hyperparameters = {k: v.format(**fill) if isinstance(v, str) else v for k, v in templates.items()}
    before = snapshot(victim)
    spec = training.TrainingSpec(sample_data.LABEL, estimator=estimator, hyperparameters=hyperparameters)
    with pytest.raises(KeelError) as refused:
        training.train(sample_data.generate(200), spec)
    assert f"parameter 'estimator' = '{estimator}'" in str(refused.value) and message in str(refused.value)
    assert "use train_function" in str(refused.value)
    assert snapshot(victim) == before


def test_build_estimator_itself_refuses(victim: Path):
    spec = training.TrainingSpec(
        sample_data.LABEL, estimator="os:system", hyperparameters={"command": f"rm -r {victim}"}
    )
    with pytest.raises(KeelError, match="not a class"):
        training.build_estimator(spec)
    assert victim.exists()


def test_an_estimator_class_is_still_built(victim: Path):
    spec = training.TrainingSpec(
        sample_data.LABEL, estimator="sklearn.linear_model:LogisticRegression", hyperparameters={"C": 0.5}
    )
    assert training.build_estimator(spec).get_params()["C"] == 0.5


def test_keel_run_train_model_never_runs_the_shell_command(keel_home: Path, victim: Path, sample_uri: str):
    marker = victim / "created-by-a-shell-command"
    done = keel(
        "run",
        "train_model",
        "--local",
        f"--param=data_uri={sample_uri}",
        "--param=label=churned",
        "--param=estimator=os:system",
        "--param=hyperparameters=" + json.dumps({"command": f"touch {marker}"}),
    )
    assert done.returncode == 1
    assert not marker.exists()
    assert "parameter 'estimator' = 'os:system'" in done.stderr.strip().splitlines()[-1]
    assert not list((keel_home / "runs").rglob("model.joblib"))
