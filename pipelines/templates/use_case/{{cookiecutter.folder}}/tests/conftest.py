"""Tests run offline in a temporary keel home: no connection beyond loopback, tracking offline."""

import os
import tempfile
from pathlib import Path

import pytest
from components.common import network_guard

os.environ.update(
    {
        "KEEL_HOME": tempfile.mkdtemp(prefix="{{ cookiecutter.package }}-tests-"),
        "KEEL_TRACKING": "offline",
        "KEEL_LOG_FORMAT": "text",
        "NO_GCE_CHECK": "True",  # google-auth: never probe the metadata server
        "GX_ANALYTICS_ENABLED": "False",
    }
)
network_guard.install()  # also in kfp.local's task processes (KEEL_NETWORK=loopback)
USE_CASE = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def in_use_case_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the use case's folder, where keel.toml's local paths and the package are."""
    monkeypatch.chdir(USE_CASE)


@pytest.fixture
def keel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh KEEL_HOME (registry, tracking, runs) for one test."""
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "keel"))
    return tmp_path / "keel"


@pytest.fixture
def kfp_local(keel_home: Path) -> Path:
    """kfp.local running tasks in this environment, outputs under the test's keel home."""
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(keel_home / "runs"))
    return keel_home / "runs"
