"""The model a server answers with, resolved and checked as batch scoring does, swapped when the
champion moves.

From a registry: the champion, else the earlier champions (components.resolve_model.core.resolve):
each one's sha256 is checked and it must predict finite, in-range scores on rows that span its
reference profile (every numeric feature across its bins, every categorical one across its
categories). From a model folder (AIP_STORAGE_URI on Vertex AI): that folder, with the same checks.

`ModelWatcher` loads in a thread, so the server answers `/health` (503) while it does, then polls the
registry: when the champion alias moves to another version, that version is loaded and checked and
then replaces the served one in a single assignment; requests in flight finish with the model they
started with. A version that fails its checks is refused, logged and reported, and the served model
stays.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from components.common import model_files, prediction
from components.common.logging import logger
from components.common.profile import NUMERIC
from components.common.registry import Registry
from serving import payload


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: int
    model: Any
    metadata: dict[str, Any]
    source: str
    checks: list[dict[str, Any]]  # each candidate tried to get here, with its outcome
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def predict(self, rows: list[list]) -> tuple[np.ndarray, np.ndarray]:
        """(prediction, score) of checked rows (serving.payload.rows), as batch scoring gives them."""
        return prediction.predict(self.model, self.metadata, payload.frame(rows, self.metadata))

    def response(self, predicted: np.ndarray, score: np.ndarray) -> dict[str, Any]:
        pairs = zip(predicted.tolist(), score.tolist(), strict=True)
        return {
            "predictions": [{"prediction": p, "score": s} for p, s in pairs],
            "model_name": self.name,
            "model_version": self.version,
        }


def _feature_values(feature: dict[str, Any], profiled: dict[str, Any] | None) -> list:
    """Values spanning one feature of a reference profile: the bin edges and middles, or the categories."""
    if feature.get("dtype") == "bool":
        return [False, True]
    if profiled is None:
        return [None]
    if profiled["kind"] == NUMERIC:
        edges = np.asarray(profiled["edges"], dtype=float)
        middles = (edges[:-1] + edges[1:]) / 2
        return [*edges.tolist(), *middles.tolist()] or [None]
    return list(profiled["categories"]) or [None]


def reference_rows(metadata: dict[str, Any], profile: dict[str, Any] | None) -> pd.DataFrame:
    """Rows whose features span the model's reference profile, typed as requests are."""
    if profile is None:
        raise prediction.SmokeTestError(
            "saved without a reference profile (trained before monitoring), so it cannot be smoke-tested "
            "for serving; retrain it"
        )
    by_name = {feature["name"]: feature for feature in profile["features"]}
    values = [_feature_values(f, by_name.get(f["name"])) for f in metadata["features"]]
    rows = max(len(column) for column in values)
    instances = [[column[i % len(column)] for column in values] for i in range(rows)]
    return payload.feature_frame({"instances": instances}, metadata)


_PASSED = "sha256 matches; smoke prediction passed"


def from_folder(folder: str, name: str = "", version: int = 0) -> ServedModel:
    """The model of a model folder, after its sha256 and smoke checks (ModelIntegrityError,
    SmokeTestError); `name` defaults to the folder's name, `version` to 0 (unknown)."""
    model, metadata = model_files.load(folder)
    prediction.smoke_test(model, metadata, reference_rows(metadata, model_files.load_profile(folder)), folder)
    name = name or folder.rstrip("/").rsplit("/", 1)[-1]
    check = {"ref": folder, "version": version, "usable": True, "reason": _PASSED}
    return ServedModel(name, version, model, metadata, folder, [check])


def from_registry(registry: Registry, name: str, version: int | None = None) -> ServedModel:
    """The champion of `name`, else its earlier champions (NoUsableModelError when none passes); only
    `version` when given (what a hot swap tries)."""
    from components.resolve_model.core import resolve

    def sample(candidate: int, metadata: dict[str, Any]) -> pd.DataFrame:
        return reference_rows(metadata, registry.load_profile(name, candidate))

    if version is None:
        found = resolve(registry, name, sample, source=f"{name} reference rows")
        checks = [dataclasses.asdict(attempt) for attempt in found.attempts]
        return ServedModel(name, found.version.version, found.model, found.metadata, registry.uri, checks)
    model, metadata = registry.load(name, version)
    prediction.smoke_test(model, metadata, sample(version, metadata), f"{name} v{version} reference rows")
    check = {"ref": f"v{version}", "version": version, "usable": True, "reason": _PASSED}
    return ServedModel(name, version, model, metadata, registry.uri, [check])


class ModelWatcher:
    """Holds the served model: loads it in a thread, retrying every `poll_seconds` until one passes;
    then, given `champion` (the registry's champion version), swaps in a new champion once it passed
    its checks. `load(None)` gives the model to start with, `load(version)` that version."""

    def __init__(
        self,
        load: Callable[[int | None], ServedModel],
        champion: Callable[[], int | None] | None = None,
        poll_seconds: float = 30.0,
    ) -> None:
        self._load, self._champion, self.poll_seconds = load, champion, poll_seconds
        self.current: ServedModel | None = None
        self.problem = "loading the model"  # why nothing is served, while nothing is
        self.refused: dict[int, str] = {}  # champion versions not served, and why
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="keel-model-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check()
            done = self.current is not None and self._champion is None
            if done or self.poll_seconds <= 0 or self._stop.wait(self.poll_seconds):
                return

    def check(self) -> None:
        """Load a model when none is served yet; else swap in the champion if it moved to a new version."""
        if self.current is None:
            try:
                self._serve(self._load(None))
            except Exception as error:  # noqa: BLE001 - reported on /health, retried at the next poll
                self.problem = str(error)
                logger.error("no model to serve yet: %s", error)
            return
        if self._champion is None:
            return
        try:
            version = self._champion()
        except Exception as error:  # noqa: BLE001 - the registry is unreachable: keep serving
            logger.warning("cannot read the champion, still serving v%s: %s", self.current.version, error)
            return
        if version is None or version == self.current.version or version in self.refused:
            return
        try:
            self._serve(self._load(version))
        except Exception as error:  # noqa: BLE001 - a broken champion never replaces a working model
            self.refused[version] = str(error)
            logger.error("champion v%s refused, still serving v%s: %s", version, self.current.version, error)

    def _serve(self, served: ServedModel) -> None:
        was = f" (was v{self.current.version})" if self.current else ""
        self.current, self.problem = served, ""  # one assignment: requests in flight keep their model
        logger.info("serving %s v%s from %s%s", served.name, served.version, served.source, was)
