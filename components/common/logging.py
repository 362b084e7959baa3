"""One logger for every component, script and notebook.

    from components.common.logging import logger
    logger.info("scored %d rows", n)

In a terminal it prints readable lines. In a container on Vertex AI (or with KEEL_LOG_FORMAT=json)
it prints one JSON object per line with a `severity` field, which Cloud Logging parses.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from components.common.config import settings
from components.common.errors import ParameterError

# Set by Vertex AI custom jobs (which run every pipeline task), Vertex AI prediction containers and
# Cloud Run (`keel serve`).
_VERTEX_ENV = (
    "CLOUD_ML_JOB_ID",
    "AIP_TRAINING_DATA_URI",
    "VERTEX_AI_PIPELINES_RUN_LABELS",
    "AIP_HTTP_PORT",
    "K_SERVICE",
)


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line in Cloud Logging's structured format; a record's `json_fields`
    (a dict, e.g. `logger.info(..., extra={"json_fields": {...}})`) become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
            "logging.googleapis.com/sourceLocation": {
                "file": record.pathname,
                "line": record.lineno,
                "function": record.funcName,
            },
        }
        if record.exc_info:
            entry["message"] += "\n" + self.formatException(record.exc_info)
        entry.update(getattr(record, "json_fields", {}))
        return json.dumps(entry, default=str)


def _wants_json(log_format: str) -> bool:
    if log_format != "auto":
        return log_format == "json"
    return any(name in os.environ for name in _VERTEX_ENV) and not sys.stderr.isatty()


def configure(log_format: str | None = None, level: str | None = None) -> logging.Logger:
    """(Re)configure the `keel` logger; called once on import with the settings in force, or with the
    defaults when a KEEL_* setting is bad (so that importing never fails: whatever reads the settings
    reports it, as `keel` does in one line)."""
    try:
        config = settings()
        log_format, level = log_format or config.log_format, level or config.log_level
    except ParameterError:
        log_format, level = log_format or "auto", level or "INFO"
    handler = logging.StreamHandler(sys.stderr)
    if _wants_json(log_format):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    keel = logging.getLogger("keel")
    keel.handlers[:] = [handler]
    keel.setLevel(level)
    keel.propagate = False
    return keel


logger = configure()
