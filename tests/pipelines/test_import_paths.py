"""`keel compile|run|submit|schedule` take any pipeline or component by import path, module:function,
importable from the working folder: a use case's pipelines need no registration in the library."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.compiling import ImportPathError, load
from pipelines.vertex import compiled

KEEL = str(Path(sys.executable).parent / "keel")

MY_PIPELINES = """
from kfp import dsl

from components import select_model


@dsl.pipeline(name="my-selection")
def selection(challenger: str = '{"r2": 0.8}'):
    select_model(challenger_metrics=challenger, thresholds={"r2": {"lower_bound": 0.5}})


def not_a_pipeline():
    return 1
"""


@pytest.fixture
def working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A working folder holding a package of the user's own, `mine.pipelines`."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "__init__.py").write_text("")
    (tmp_path / "mine" / "pipelines.py").write_text(MY_PIPELINES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # load() makes the working folder importable
    yield tmp_path
    for name in [name for name in sys.modules if name == "mine" or name.startswith("mine.")]:
        del sys.modules[name]


def _keel(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([KEEL, *args], capture_output=True, text=True, cwd=cwd)


def test_compile_and_run_a_pipeline_by_import_path(working_folder: Path):
    compiled_ = _keel("compile", "mine.pipelines:selection", "--output-dir", "build", cwd=working_folder)
    assert compiled_.returncode == 0, compiled_.stderr
    spec = yaml.safe_load((working_folder / "build" / "selection.yaml").read_text())
    assert spec["pipelineInfo"]["name"] == "my-selection"
    assert [e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()] == [
        "localhost/keel/keel-select-model:0.1.0"
    ]

    ran = _keel("run", "mine.pipelines:selection", "--local", cwd=working_folder)
    assert ran.returncode == 0, ran.stderr
    assert "mine.pipelines:selection: succeeded" in ran.stdout
    assert "select-model/report" in ran.stdout


def test_submit_compiles_an_import_path_with_its_images(working_folder: Path):
    with compiled("mine.pipelines:selection", "europe-docker.pkg.dev/acme/keel", "7") as (path, spec):
        assert path.name == "selection.yaml"
        executor = next(iter(spec["deploymentSpec"]["executors"].values()))
        assert executor["container"]["image"] == "europe-docker.pkg.dev/acme/keel/keel-select-model:7"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nowhere.pipelines:training", "no module named 'nowhere'"),
        ("mine.pipelinez:selection", "no module named 'mine.pipelinez'"),
        ("mine.pipelines:selectoin", "module 'mine.pipelines' ("),
        ("mine.pipelines:not_a_pipeline", "function is not a pipeline or component"),
        ("mine.pipelines:", "expected an import path module:function"),
        ("mine.pipelines:a:b", "expected an import path module:function"),
    ],
)
def test_a_bad_import_path_says_what_is_wrong(working_folder: Path, path: str, message: str):
    with pytest.raises(ImportPathError, match=message.replace("(", r"\(")):
        load(path)
    result = _keel("compile", path, "--output-dir", "build", cwd=working_folder)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not (working_folder / "build").exists()


def test_a_module_that_fails_to_import_is_reported_with_its_error(working_folder: Path):
    (working_folder / "mine" / "broken.py").write_text("import lightgbm_not_installed\n")
    with pytest.raises(
        ImportPathError, match="importing 'mine.broken' failed: No module named 'lightgbm_not_installed'"
    ):
        load("mine.broken:training")
