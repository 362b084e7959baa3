"""The on-disk form of a model, shared by training, the registry and scoring.

A model is a folder (a KFP `Model` artifact's path, a registry version, a gs:// prefix) holding
  - `model.joblib`: the fitted model, preprocessing included; the file Vertex AI's prebuilt
    scikit-learn prediction container loads;
  - `profile.json` (models trained since monitoring exists): the reference profile of the training
    data and of the scores on the holdout, that drift checks compare new data with
    (see components.common.profile);
  - `metadata.json`: framework and library versions, features, label, training data, hyperparameters,
    seed, `sha256` of model.joblib and `profile_sha256` of profile.json.
Every file read from a model folder is checked first against the sha256 recorded for it (by the
registry at registration, else in metadata.json) and refused if it does not match; a profile.json
that has no recorded sha256 is refused too.
"""

from __future__ import annotations

import hashlib
import io as _bytes_io
import json
from typing import Any

from components.common import io
from components.common.errors import KeelError

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
PROFILE_FILE = "profile.json"


class ModelIntegrityError(KeelError, RuntimeError):
    """A model file whose bytes do not match the sha256 recorded for it."""


def _join(folder: str, name: str) -> str:
    return f"{str(folder).rstrip('/')}/{name}"


def _profile_bytes(profile: dict[str, Any]) -> bytes:
    return json.dumps(profile, sort_keys=True, separators=(",", ":")).encode()


def save(model: Any, metadata: dict[str, Any], folder: str, profile: dict[str, Any] | None = None) -> str:
    """Write `model`, its reference `profile` (if any) and `metadata` (plus the sha256 of each file)
    into `folder`; returns the model file's sha256."""
    import joblib

    buffer = _bytes_io.BytesIO()
    joblib.dump(model, buffer)
    io.write_bytes(_join(folder, MODEL_FILE), buffer.getvalue())
    digests = {"sha256": io.sha256(_join(folder, MODEL_FILE))}
    if profile is not None:
        data = _profile_bytes(profile)
        io.write_bytes(_join(folder, PROFILE_FILE), data)
        digests["profile_sha256"] = hashlib.sha256(data).hexdigest()
    io.write_json(_join(folder, METADATA_FILE), {**metadata, **digests})
    return digests["sha256"]


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


def _read_profile_file(folder: str, expected: str) -> bytes | None:
    """profile.json's bytes, checked against `expected`; None when there is none and none was recorded."""
    path = _join(folder, PROFILE_FILE)
    if not io.exists(path):
        if expected:
            raise ModelIntegrityError(f"{path}: profile file is missing (its sha256 was recorded)")
        return None
    data = io.read_bytes(path)
    _check(path, data, expected)
    return data


def _recorded_profile(metadata: dict[str, Any], expected: str | None) -> str:
    return metadata.get("profile_sha256", "") if expected is None else expected


def verify(folder: str, expected_sha256: str = "", expected_profile_sha256: str | None = None) -> str:
    """Check model.joblib against `expected_sha256` and profile.json against `expected_profile_sha256`
    (by default: those in metadata.json; "" means "no profile"); returns the model file's sha256."""
    path, data = _read_model_file(folder)
    given = expected_sha256 and expected_profile_sha256 is not None
    metadata = {} if given else read_metadata(folder)
    digest = _check(path, data, expected_sha256 or metadata.get("sha256", ""))
    _read_profile_file(folder, _recorded_profile(metadata, expected_profile_sha256))
    return digest


def load(
    folder: str, expected_sha256: str = "", expected_profile_sha256: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """The model and its metadata, after checking the sha256 of the bytes that get loaded and of the
    profile (see `verify` for the expected values)."""
    import joblib

    metadata = read_metadata(folder)
    path, data = _read_model_file(folder)
    _check(path, data, expected_sha256 or metadata.get("sha256", ""))
    _read_profile_file(folder, _recorded_profile(metadata, expected_profile_sha256))
    return joblib.load(_bytes_io.BytesIO(data)), metadata


def load_profile(folder: str, expected_sha256: str | None = None) -> dict[str, Any] | None:
    """The model's reference profile after checking its sha256 (default: metadata.json's);
    None for a model saved without one."""
    expected = _recorded_profile(read_metadata(folder), expected_sha256)
    data = _read_profile_file(folder, expected)
    return None if data is None else json.loads(data)


def copy(
    source: str, target: str, expected_sha256: str = "", expected_profile_sha256: str | None = None
) -> str:
    """Copy a model folder byte for byte, refusing files that do not match (see `verify`); returns
    the model file's sha256."""
    path, data = _read_model_file(source)
    metadata = read_metadata(source)
    digest = _check(path, data, expected_sha256 or metadata.get("sha256", ""))
    profile = _read_profile_file(source, _recorded_profile(metadata, expected_profile_sha256))
    io.write_bytes(_join(target, MODEL_FILE), data)
    if profile is not None:
        io.write_bytes(_join(target, PROFILE_FILE), profile)
    io.write_json(_join(target, METADATA_FILE), metadata)
    return digest
