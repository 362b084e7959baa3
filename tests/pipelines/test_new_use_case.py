"""`keel new use-case`: a working use case from a reference table that is not the churn demo.

The end-to-end test generates one from a regression table with another label and no id column,
then runs its own tests (`make test`) and both its pipelines (`make run`) as a user would.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.common import io
from components.common.registry import open_registry
from pipelines.names import InvalidNameError
from pipelines.parameters import declared_inputs
from pipelines.scaffold import ScaffoldError
from pipelines.use_case import PIPELINE_LOCATIONS, load_config
from tests.use_cases import assert_lints_clean

BIN = Path(sys.executable).parent


def _make(folder: Path, target: str) -> subprocess.CompletedProcess:
    """`make TARGET` in `folder`, with this environment's keel and python (as an activated venv would)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    for name in ("KEEL_HOME", "KEEL_RUNS_DIR", "KEEL_REGISTRY", "KEEL_TRACKING_DIR"):
        env.pop(name, None)  # the use case keeps its state in its own .keel/
    return subprocess.run(["make", target], cwd=folder, env=env, capture_output=True, text=True)


def test_a_regression_use_case_works_as_generated(new_use_case):
    made = new_use_case("shop-sales", label="units")
    folder = made.folder
    assert (made.package, made.model_name, made.task) == ("shop_sales", "shop_sales", "regression")
    names = {str(path.relative_to(folder)) for path in made.files}
    assert {
        "README.md",
        "Makefile",
        "keel.toml",
        "pyproject.toml",
        "suite.json",
        "data/sample.parquet",
        "shop_sales/pipelines.py",
        "shop_sales/components/__init__.py",
        "tests/test_pipelines.py",
        ".gitignore",
    } <= names

    config = load_config(folder / "keel.toml")
    assert config.model.estimator == "sklearn.ensemble:HistGradientBoostingRegressor"
    assert (config.use_case.id_columns, config.use_case.split_key) == ([], "")
    suite = json.loads((folder / "suite.json").read_text())
    on_label = [e["type"] for e in suite["expectations"] if e["kwargs"].get("column") == "units"]
    assert "expect_column_values_to_be_between" in on_label  # a quantity: a range, not a value set
    assert "expect_column_values_to_be_in_set" not in on_label
    assert len(io.read_table(str(folder / "data" / "sample.parquet"))) == 800  # the whole (small) reference

    assert_lints_clean(folder, ".", isolated=True)

    tested = _make(folder, "test")
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    assert "1 passed" in tested.stdout

    ran = _make(folder, "run")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    champion = open_registry(str(folder / ".keel" / "registry")).get("shop_sales", "champion")
    assert champion.metrics["r2"] > 0.5 and champion.metadata["task"] == "regression"
    (published,) = (folder / ".keel" / "predictions").glob("run_date=*/predictions.parquet")
    assert len(io.read_table(str(published))) == 800

    # `make compile`: both pipelines, with the parameters `keel config options submit` fills in
    compiled = _make(folder, "compile")
    assert compiled.returncode == 0, compiled.stderr[-3000:]
    for pipeline, extra in [("training", set()), ("batch_scoring", {"run_date"})]:
        spec = yaml.safe_load((folder / "build" / f"{pipeline}.yaml").read_text())
        assert set(declared_inputs(spec)[0]) == set(PIPELINE_LOCATIONS[pipeline]) | extra


def test_a_classification_use_case_with_an_id_column(new_use_case):
    made = new_use_case("busy_days", label="promo", id_column="shop_size", model_name="busy-days")
    config = load_config(made.folder / "keel.toml")
    assert made.task == "classification" and config.use_case.model_name == "busy-days"
    assert (config.use_case.id_columns, config.use_case.split_key) == (["shop_size"], "shop_size")
    assert config.thresholds == {"roc_auc": {"lower_bound": 0.7, "min_improvement": 0.005}}
    suite = json.loads((made.folder / "suite.json").read_text())
    assert {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "shop_size"}} in suite[
        "expectations"
    ]


@pytest.mark.parametrize(
    ("folder", "options", "error", "message"),
    [
        ("class", {}, InvalidNameError, "'class': use lowercase letters"),
        ("Shop", {}, InvalidNameError, "'Shop': use lowercase letters"),
        ("json", {}, InvalidNameError, "'json': reserved"),
        ("pipelines", {}, InvalidNameError, "'pipelines': reserved"),
        ("pandas", {}, InvalidNameError, "'pandas': a module of that name is importable already"),
        ("shop", {"label": "sold"}, Exception, "label column 'sold' not found"),
        ("shop", {"id_column": "shop_id"}, ScaffoldError, "id column 'shop_id' not found"),
        ("shop", {"id_column": "units"}, ScaffoldError, "is the label"),
        ("shop", {"model_name": "Shop Sales"}, ScaffoldError, "--model-name: model name 'Shop Sales'"),
    ],
)
def test_bad_names_and_columns_are_refused_before_anything_is_written(
    new_use_case, tmp_path: Path, folder, options, error, message
):
    with pytest.raises(error, match=message):
        new_use_case(folder, **options)
    assert not (tmp_path / folder).exists()


def test_no_overwrite_without_force(new_use_case):
    made = new_use_case("shop")
    (made.folder / "keel.toml").write_text("# my edits\n")
    with pytest.raises(ScaffoldError, match="exist.* already; use --force to overwrite"):
        new_use_case("shop")
    assert (made.folder / "keel.toml").read_text() == "# my edits\n"
    new_use_case("shop", force=True)
    assert load_config(made.folder / "keel.toml").use_case.package == "shop"


def test_the_cli_names_the_extra_when_cookiecutter_is_missing(tmp_path: Path):
    code = (
        "import sys; sys.modules['cookiecutter'] = None\n"
        "from pipelines.cli import main\n"
        f"main(['new', 'use-case', {str(tmp_path / 'shop')!r}, '--data', 'x.parquet', '--label', 'y'])\n"
    )
    (tmp_path / "x.parquet").touch()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert "pip install 'keel-pipelines[templates]'" in result.stderr
