"""Typed settings for keel-pipelines, in one place.

Every setting has a default that works on a laptop and can be overridden with an environment
variable, read when `settings()` is called (never at import time):

| setting              | environment variable     | default                          |
|----------------------|--------------------------|----------------------------------|
| home                 | KEEL_HOME                | `.keel` in the working folder    |
| tracking_dir         | KEEL_TRACKING_DIR        | `<home>/tracking`                |
| tracking_mode        | KEEL_TRACKING            | `auto`: online when ClearML credentials are configured, else offline; `offline`; `off` |
| tracking_project     | KEEL_TRACKING_PROJECT    | `keel-pipelines`                 |
| tracking_timeout_s   | KEEL_TRACKING_TIMEOUT    | `10.0`: the most seconds a run waits for a ClearML server, in all (then it goes on offline) |
| registry_uri         | KEEL_REGISTRY            | `<home>/registry`                |
| runs_dir             | KEEL_RUNS_DIR            | `<home>/runs` (kfp.local pipeline root) |
| log_format           | KEEL_LOG_FORMAT          | `auto`: JSON lines in a container on Vertex, text in a terminal; `json`; `text` |
| log_level            | KEEL_LOG_LEVEL           | `INFO`                           |
| gs:// endpoint (io)  | STORAGE_EMULATOR_HOST    | unset: Cloud Storage with Application Default Credentials; `http://host:port`: that emulator, unauthenticated (read by `io.filesystem` and `io.storage_client`) |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from components.common.errors import ParameterError


@dataclass(frozen=True)
class Settings:
    home: Path
    tracking_dir: Path
    tracking_mode: str
    tracking_project: str
    tracking_timeout_s: float
    registry_uri: str
    runs_dir: Path
    log_format: str
    log_level: str


_CHOICES = {
    "KEEL_TRACKING": ("auto", "offline", "off"),
    "KEEL_LOG_FORMAT": ("auto", "json", "text"),
    "KEEL_LOG_LEVEL": ("debug", "info", "warning", "warn", "error", "critical", "fatal", "notset"),
}


def _choice(name: str, default: str) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in _CHOICES[name]:
        raise ParameterError(f"{name}={value!r}: expected one of {', '.join(_CHOICES[name])}")
    return value


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ParameterError(f"{name}={raw!r}: expected a number of seconds") from None


def settings() -> Settings:
    """The settings in force now: defaults overridden by KEEL_* environment variables."""
    home = Path(os.environ.get("KEEL_HOME", ".keel")).absolute()
    return Settings(
        home=home,
        tracking_dir=Path(os.environ.get("KEEL_TRACKING_DIR", home / "tracking")).absolute(),
        tracking_mode=_choice("KEEL_TRACKING", "auto"),
        tracking_project=os.environ.get("KEEL_TRACKING_PROJECT", "keel-pipelines"),
        tracking_timeout_s=_number("KEEL_TRACKING_TIMEOUT", 10.0),
        registry_uri=os.environ.get("KEEL_REGISTRY", str(home / "registry")),
        runs_dir=Path(os.environ.get("KEEL_RUNS_DIR", home / "runs")).absolute(),
        log_format=_choice("KEEL_LOG_FORMAT", "auto"),
        log_level=_choice("KEEL_LOG_LEVEL", "info").upper(),
    )
