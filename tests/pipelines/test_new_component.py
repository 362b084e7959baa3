"""`keel new component`: a component in the house shape, picked up with no other edit by `import
components`, `keel compile`, the image builds and the container test, passing its own test as generated.
(Its image build and container run: tests/images/test_images.py.)"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.names import InvalidNameError
from pipelines.scaffold import ScaffoldError, new_component
from tests.use_cases import assert_lints_clean

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*cmd, cwd: Path, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in cmd], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A copy of this repository's sources (what `keel new component` edits), importable first."""
    copy = tmp_path / "keel-pipelines"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
    for name in ("components", "pipelines", "images", "tests"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    for name in ("pyproject.toml", "compile.py", "requirements.lock"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def test_in_this_repository_it_is_picked_up_with_no_other_edit(repository: Path):
    made = new_component("deduplicate", root=repository)
    assert {str(path.relative_to(repository)) for path in made.files} == {
        "components/deduplicate/__init__.py",
        "components/deduplicate/component.py",
        "components/deduplicate/core.py",
        "tests/components/test_deduplicate.py",
        "images/deduplicate/Dockerfile",
    }
    here = {"PYTHONPATH": str(repository)}  # the copy's packages, not the installed ones
    listed = _run(
        sys.executable, "-c", "import components; print(components.__all__)", cwd=repository, **here
    )
    assert "'deduplicate'" in listed.stdout
    compiled = _run(sys.executable, "compile.py", "--output-dir", "build", cwd=repository, **here)
    assert "build/deduplicate.yaml" in compiled.stdout
    assert "localhost/keel/keel-deduplicate:" in (repository / "build" / "deduplicate.yaml").read_text()
    images = _run(
        sys.executable,
        "-c",
        "import runpy; build = runpy.run_path('images/build.py'); build['check_definitions'](); "
        "print(build['image_definitions']())",
        cwd=repository,
        **here,
    )
    assert "'deduplicate'" in images.stdout
    # its own test, and the container test's check that every component has a case (its CONTAINER_CASE)
    _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/components/test_deduplicate.py",
        cwd=repository,
        **here,
    )
    _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "images",
        "tests/images/test_images.py::test_every_component_has_an_image_definition_and_a_case",
        cwd=repository,
        **here,
    )
    assert_lints_clean(repository, *[str(path) for path in made.files if path.suffix == ".py"])


def test_in_a_use_case_it_passes_its_test_and_compiles(new_use_case):
    folder = new_use_case("shop").folder
    made = new_component("remove_outliers", root=folder)
    assert made.module == "shop.components"
    assert {str(path.relative_to(folder)) for path in made.files} == {
        "shop/components/remove_outliers/__init__.py",
        "shop/components/remove_outliers/component.py",
        "shop/components/remove_outliers/core.py",
        "tests/test_remove_outliers.py",
        "images/remove_outliers/Dockerfile",
    }
    dockerfile = (folder / "images" / "remove_outliers" / "Dockerfile").read_text()
    assert (
        "FROM ${KEEL_REGISTRY}/keel-base:${KEEL_TAG}" in dockerfile
        and "COPY shop /opt/use-case/shop" in dockerfile
    )
    _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_remove_outliers.py",
        cwd=folder,
    )
    compiled = _run(
        BIN / "keel", "compile", "shop.components:remove_outliers", "--output-dir", "build", cwd=folder
    )
    assert "build/remove_outliers.yaml" in compiled.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("train_model", "keel-pipelines has a component, module or image of that name"),
        ("common", "keel-pipelines has a component, module or image of that name"),
        ("serve", "keel-pipelines has a component, module or image of that name"),
        ("lambda", "use lowercase letters"),
        ("RemoveOutliers", "use lowercase letters"),
        ("remove-outliers", "use lowercase letters"),
    ],
)
def test_bad_names_are_refused(new_use_case, name: str, message: str):
    folder = new_use_case("shop").folder
    with pytest.raises(InvalidNameError, match=message):
        new_component(name, root=folder)
    assert not (folder / "images").exists()


def test_no_overwrite_without_force_and_only_in_a_use_case_or_this_repository(new_use_case, tmp_path: Path):
    folder = new_use_case("shop").folder
    made = new_component("remove_outliers", root=folder)
    core = folder / "shop" / "components" / "remove_outliers" / "core.py"
    core.write_text("# my work\n")
    with pytest.raises(ScaffoldError, match="use --force to overwrite"):
        new_component("remove_outliers", root=folder)
    assert core.read_text() == "# my work\n"
    assert new_component("remove_outliers", root=folder, force=True).files == made.files
    with pytest.raises(ScaffoldError, match="neither a use case .* nor the keel-pipelines repository"):
        new_component("remove_outliers", root=tmp_path)
