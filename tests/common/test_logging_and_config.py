import json
import logging

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
