"""The on-disk form of a model, shared by training, the registry and scoring.

A model is a folder (a KFP `Model` artifact's path, a registry version, a gs:// prefix) holding
  - `model.joblib`: the fitted model, preprocessing included; the file Vertex AI's prebuilt
    scikit-learn prediction container loads;
  - `metadata.json`: framework and library versions, features, label, training data, hyperparameters,
    seed, and `sha256` of model.joblib.
Loading always checks the sha256 first and refuses a file that does not match.
"""

from __future__ import annotations

import hashlib
import io as _bytes_io
from typing import Any

from components.common import io
from components.common.errors import KeelError

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


class ModelIntegrityError(KeelError, RuntimeError):
    """A model file whose bytes do not match the sha256 recorded for it."""


def _join(folder: str, name: str) -> str:
    return f"{str(folder).rstrip('/')}/{name}"


def save(model: Any, metadata: dict[str, Any], folder: str) -> str:
    """Write `model` and `metadata` (plus the model file's sha256) into `folder`; returns the sha256."""
    import joblib

    buffer = _bytes_io.BytesIO()
    joblib.dump(model, buffer)
    io.write_bytes(_join(folder, MODEL_FILE), buffer.getvalue())
    digest = io.sha256(_join(folder, MODEL_FILE))
    io.write_json(_join(folder, METADATA_FILE), {**metadata, "sha256": digest})
    return digest


def read_metadata(folder: str) -> dict[str, Any]:
    return io.read_json(_join(folder, METADATA_FILE))


def _check(path: str, data: bytes, expected: str) -> str:
    actual = hashlib.sha256(data).hexdigest()
    if not expected or actual != expected:
        raise ModelIntegrityError(
            f"{path}: sha256 {actual} does not match the recorded {expected or '(none)'}"
        )
    return actual


def _read_model_file(folder: str) -> tuple[str, bytes]:
    path = _join(folder, MODEL_FILE)
    if not io.exists(path):
        raise ModelIntegrityError(f"{path}: model file is missing")
    return path, io.read_bytes(path)


def verify(folder: str, expected_sha256: str = "") -> str:
    """Check model.joblib against `expected_sha256` (default: the one in metadata.json); returns it."""
    path, data = _read_model_file(folder)
    return _check(path, data, expected_sha256 or read_metadata(folder).get("sha256", ""))


def load(folder: str, expected_sha256: str = "") -> tuple[Any, dict[str, Any]]:
    """The model and its metadata, after checking the model file's sha256 (the bytes that get loaded)."""
    import joblib

    metadata = read_metadata(folder)
    path, data = _read_model_file(folder)
    _check(path, data, expected_sha256 or metadata.get("sha256", ""))
    return joblib.load(_bytes_io.BytesIO(data)), metadata


def copy(source: str, target: str, expected_sha256: str = "") -> str:
    """Copy a model folder byte for byte, refusing a model file that does not match; returns its sha256."""
    path, data = _read_model_file(source)
    metadata = read_metadata(source)
    digest = _check(path, data, expected_sha256 or metadata.get("sha256", ""))
    io.write_bytes(_join(target, MODEL_FILE), data)
    io.write_json(_join(target, METADATA_FILE), metadata)
    return digest
