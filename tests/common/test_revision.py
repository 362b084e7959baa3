"""The code revision: baked into the package by images/build.py, else read from the git checkout."""

import importlib.util
import subprocess
from pathlib import Path

from components.common.revision import BUILD_INFO, code_revision, git_revision
from components.images import __version__

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_checkout_reports_its_commit_and_whether_it_has_changes():
    assert not BUILD_INFO.exists()  # only the packages images/build.py builds carry one
    expected = _git("rev-parse", "--short", "HEAD") + ("-dirty" if _git("status", "--porcelain") else "")
    assert code_revision() == {"code_version": __version__, "code_revision": expected}


def test_outside_git_the_revision_is_unknown(tmp_path: Path):
    assert git_revision(tmp_path) == "unknown"
    assert code_revision(tmp_path / "components" / "build_info.json")["code_revision"] == "unknown"


def _build_module():
    spec = importlib.util.spec_from_file_location("keel_images_build", ROOT / "images" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build


def test_the_image_build_bakes_the_same_revision_into_the_package(tmp_path: Path):
    build = _build_module()
    (tmp_path / "components").mkdir()
    written = build.write_build_info(tmp_path)  # into a copy of the sources, as build_context does
    assert code_revision(written) == {"code_version": __version__, "code_revision": build.revision()}
    assert build.revision() == git_revision(ROOT)


def test_a_build_without_git_takes_the_revision_it_is_given(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KEEL_REVISION", "0a1b2c3")  # as cloudbuild.yaml passes Cloud Build's SHORT_SHA
    (tmp_path / "components").mkdir()
    assert code_revision(_build_module().write_build_info(tmp_path))["code_revision"] == "0a1b2c3"
