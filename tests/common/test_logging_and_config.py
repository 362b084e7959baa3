import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.common import logging as keel_logging
from components.common.config import settings


def test_json_lines_carry_severity_for_cloud_logging(capsys: pytest.CaptureFixture):
    logger = keel_logging.configure(log_format="json")
    try:
        logger.warning("scored %d rows", 10)
        entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert entry["severity"] == "WARNING" and entry["message"] == "scored 10 rows"
        assert (
            entry["logging.googleapis.com/sourceLocation"]["function"]
            == "test_json_lines_carry_severity_for_cloud_logging"
        )
    finally:
        keel_logging.configure()


def test_text_in_a_terminal_and_json_on_vertex(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("KEEL_LOG_FORMAT", raising=False)
    assert not isinstance(keel_logging.configure().handlers[0].formatter, keel_logging.JsonFormatter)
    monkeypatch.setenv("CLOUD_ML_JOB_ID", "123")
    assert isinstance(keel_logging.configure().handlers[0].formatter, keel_logging.JsonFormatter)
    monkeypatch.delenv("CLOUD_ML_JOB_ID")
    keel_logging.configure()
    assert logging.getLogger("keel").propagate is False


def test_settings_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("KEEL_HOME", str(tmp_path))
    monkeypatch.setenv("KEEL_TRACKING_TIMEOUT", "0.5")
    config = settings()
    assert config.registry_uri == str(tmp_path / "registry") and config.tracking_dir == tmp_path / "tracking"
    assert config.tracking_timeout_s == 0.5 and config.tracking_mode == "auto"
    monkeypatch.setenv("KEEL_TRACKING", "sometimes")
    with pytest.raises(ValueError, match="KEEL_TRACKING='sometimes': expected one of auto, offline, off"):
        settings()


@pytest.mark.parametrize("setting", ["KEEL_TRACKING=sometimes", "KEEL_LOG_LEVEL=loud"])
def test_a_bad_setting_never_breaks_an_import_and_keel_reports_it_in_one_line(setting: str):
    name, value = setting.split("=")
    environment = {**os.environ, name: value}
    imported = subprocess.run([sys.executable, "-c", "import components.common.logging"], env=environment)
    assert imported.returncode == 0
    keel = [str(Path(sys.executable).parent / "keel"), "registry", "list", "churn"]
    done = subprocess.run(keel, env=environment, capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and f"{name}='{value}': expected one of" in done.stderr
