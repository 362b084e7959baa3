"""Test-wide guards: no network beyond loopback, no state outside a temporary home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from components.common import network_guard

# Set before any test imports a Google or ClearML client; inherited by kfp.local subprocesses.
_HOME = Path(tempfile.mkdtemp(prefix="keel-tests-"))
os.environ.update(
    {
        "KEEL_HOME": str(_HOME),
        "NO_GCE_CHECK": "True",  # google-auth: never probe the metadata server
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "GCE_METADATA_IP": "127.0.0.1:9",
        "CLEARML_CONFIG_FILE": str(_HOME / "clearml.conf"),  # no user clearml.conf: offline tracking
        "GX_ANALYTICS_ENABLED": "False",
        "KEEL_LOG_FORMAT": "text",
    }
)
for _name in (
    "CLEARML_API_HOST",
    "CLEARML_API_ACCESS_KEY",
    "CLEARML_API_SECRET_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
):
    os.environ.pop(_name, None)
(_HOME / "clearml.conf").write_text("")
network_guard.install()


@pytest.fixture
def keel_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh KEEL_HOME (registry, tracking, runs) for one test."""
    monkeypatch.setenv("KEEL_HOME", str(tmp_path / "keel"))
    return tmp_path / "keel"


@pytest.fixture
def sample_uri() -> str:
    from components.common.sample_data import sample_path

    return sample_path()


@pytest.fixture
def kfp_local(keel_home: Path):
    """kfp.local with the SubprocessRunner in this environment, outputs under the test's home."""
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(keel_home / "runs"))
    return keel_home / "runs"


@pytest.fixture
def clearml_server(monkeypatch: pytest.MonkeyPatch):
    """A loopback fake ClearML server, with the ClearML client (here and in subprocesses) pointed at it."""
    from tests.fakes.clearml_api import FakeClearML

    with FakeClearML() as server:
        for name, value in server.client_environment().items():
            monkeypatch.setenv(name, value)
        yield server


@pytest.fixture
def new_use_case(tmp_path: Path):
    """`new_use_case(folder_name, label=..., **options)`: `keel new use-case` from `shop_sales()`,
    written as `reference.parquet`, into a temporary folder; returns scaffold.UseCase."""
    from components.common import io
    from pipelines.scaffold import new_use_case as scaffold_use_case
    from tests.use_cases import shop_sales

    reference = tmp_path / "reference.parquet"

    def make(folder_name: str, label: str = "units", **options):
        if not reference.exists():
            io.write_table(shop_sales(), str(reference))
        return scaffold_use_case(tmp_path / folder_name, str(reference), label, **options)

    return make


@pytest.fixture(scope="session")
def profiled_model(tmp_path_factory) -> str:
    """A model folder (model.joblib, profile.json, metadata.json) trained on the sample's training split,
    with the scores on its holdout profiled, as the training pipeline makes it."""
    from components.common import io, sample_data
    from components.split_data.core import split
    from components.train_model import core

    parts = split(io.read_table(sample_data.sample_path()), sample_data.LABEL, key_column="customer_id")
    spec = core.TrainingSpec(sample_data.LABEL, id_columns=tuple(sample_data.ID_COLUMNS))
    folder = str(tmp_path_factory.mktemp("profiled") / "model")
    core.save(core.train(parts.train, spec, holdout=parts.test), folder)
    return folder


@pytest.fixture
def receiver():
    """A loopback incoming-webhook receiver (tests/fakes/webhook.py): `.url`, `.messages`."""
    from tests.fakes.vertex_api import FakeVertexAPI
    from tests.fakes.webhook import WebhookReceiver

    with FakeVertexAPI() as api:
        yield WebhookReceiver(api)
