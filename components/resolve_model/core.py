"""Find a trustworthy model to score with: the champion, else the fallbacks, each checked first.

Candidates in order: the `champion`, the `previous` version, then the versions that were champion
before (the promotion history, newest first). Versions that were never champion (challengers that
selection refused) are tried last, newest first, only when asked (`fallback_to_unpromoted`). A
candidate is used only if it is not damaged, its model file matches the sha256 recorded at
registration, and it predicts finite, in-range scores on sample rows of the very data to score.
Every attempt is recorded with its outcome; when no candidate passes, `NoUsableModelError` lists them.
`run` is the component's work: the registry opened, the chosen version copied out, its report, tracked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from components.common import io, model_files, parameters, prediction
from components.common.config import settings
from components.common.errors import KeelError, parameter_error
from components.common.io import DataError
from components.common.logging import logger
from components.common.model_files import ModelIntegrityError
from components.common.registry import (
    CHAMPION,
    PREVIOUS,
    ModelVersion,
    Registry,
    RegistryError,
    open_registry,
)
from components.common.registry.base import promotion_history
from components.common.tracking import track


class NoUsableModelError(KeelError, RuntimeError):
    """No registered version of the model passed the integrity and smoke checks."""


@dataclass(frozen=True)
class Attempt:
    ref: str
    version: int | None
    usable: bool
    reason: str


@dataclass
class Resolution:
    name: str
    version: ModelVersion
    model: Any
    metadata: dict[str, Any]
    attempts: list[Attempt]
    registry_uri: str = ""
    suite_uri: str = ""  # the suite to validate the data to score with (`scoring_validation`)
    skip_columns: list[str] = field(default_factory=list)  # ... minus the expectations on these

    @property
    def fell_back(self) -> bool:
        return len(self.attempts) > 1

    def metrics(self) -> dict[str, int]:
        return {
            "version": self.version.version,
            "fell_back": int(self.fell_back),
            "attempts": len(self.attempts),
        }

    def to_markdown(self) -> str:
        verdict = "fell back to" if self.fell_back else "using"
        lines = [
            f"## Model for scoring: {self.name} v{self.version.version} ({verdict} it)",
            "",
            "| tried | version | usable | reason |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {a.ref} | {a.version or '-'} | {'yes' if a.usable else 'no'} | {a.reason} |"
            for a in self.attempts
        ]
        if self.suite_uri:
            skipped = ", ".join(self.skip_columns) or "none"
            lines += [
                "",
                f"Validation of the data to score: suite `{self.suite_uri}`, columns skipped: {skipped}",
            ]
        return "\n".join(lines) + "\n"


def _candidates(
    registry: Registry, name: str, fallback_to_unpromoted: bool
) -> tuple[list[tuple[str, int | None]], list[int]]:
    """(ref, version) to try in order, and the versions left out (never champion, not asked for)."""
    versions = registry.versions(name)
    aliases = {alias: found.version for found in versions for alias in found.aliases}
    ordered = [(CHAMPION, aliases.get(CHAMPION)), (PREVIOUS, aliases.get(PREVIOUS))]
    history = promotion_history(aliases)
    named = {version for _, version in ordered}
    ordered += [(f"v{v} (champion before)", v) for v in dict.fromkeys(reversed(history)) if v not in named]
    others = [found.version for found in reversed(versions) if found.version not in {*named, *history}]
    if fallback_to_unpromoted:
        return ordered + [(f"v{v} (never champion)", v) for v in others], []
    return ordered, others


def resolve(
    registry: Registry,
    name: str,
    sample: pd.DataFrame | Callable[[int, dict[str, Any]], pd.DataFrame],
    source: str = "data",
    fallback_to_unpromoted: bool = False,
) -> Resolution:
    """The first candidate that loads with a matching sha256 and passes a smoke prediction on `sample`
    (rows, or a function of the candidate's version and metadata that gives them)."""
    parameters.check({"model_name": name})
    attempts: list[Attempt] = []
    candidates, left_out = _candidates(registry, name, fallback_to_unpromoted)
    for ref, version in candidates:
        if version is None:
            attempts.append(Attempt(ref, None, False, f"no version has the alias {ref!r}"))
            continue
        try:
            model, metadata = registry.load(name, version)
            rows = sample(version, metadata) if callable(sample) else sample
            prediction.smoke_test(model, metadata, rows, source)
        except (ModelIntegrityError, prediction.SmokeTestError, DataError, RegistryError) as error:
            attempts.append(Attempt(ref, version, False, str(error)))
            logger.warning("model %s v%s (%s) is not usable: %s", name, version, ref, error)
            continue
        except Exception as error:  # noqa: BLE001 - an unloadable pickle is one more unusable candidate
            attempts.append(Attempt(ref, version, False, f"cannot be loaded: {error}"))
            logger.warning("model %s v%s (%s) cannot be loaded: %s", name, version, ref, error)
            continue
        attempts.append(Attempt(ref, version, True, "sha256 matches; smoke prediction passed"))
        if len(attempts) > 1:
            logger.warning("model %s: falling back to v%s (%s)", name, version, ref)
        return Resolution(name, registry.get(name, version), model, metadata, attempts, registry.uri)
    tried = "; ".join(f"{a.ref} (v{a.version}): {a.reason}" for a in attempts)
    if left_out:
        tried += (
            f"; not tried: {', '.join(f'v{v}' for v in left_out)}, never champion (selection did not "
            "promote them; set fallback_to_unpromoted to try them)"
        )
    raise NoUsableModelError(f"{registry.uri}: no usable version of model {name!r}: {tried}")


def scoring_validation(
    metadata: dict[str, Any],
    name: str,
    version: int,
    suite_uri: str = "",
    skip_columns: list[str] | None = None,
) -> tuple[str, list[str]]:
    """(suite URI, columns to skip) to validate the data model `name` v`version` scores: `suite_uri`
    when given, else the suite recorded with the model at training (`training_suite_uri`); the
    columns are `skip_columns` plus the model's label, which data to score does not have. A model
    with no recorded suite (registered before keel recorded it, or trained without one) and no
    `suite_uri` is a ParameterError naming `suite_uri` and the version."""
    suite = suite_uri or metadata.get("training_suite_uri", "")
    if not suite:
        raise parameter_error(
            "suite_uri",
            suite_uri,
            f"model {name!r} v{version} has no training suite recorded (registered before keel "
            "recorded it, or trained without one): pass suite_uri, the suite to validate the data to score with",
        )
    label = metadata.get("label", "")
    return suite, list(dict.fromkeys([*(skip_columns or []), *([label] if label else [])]))


def run(
    model_name: str,
    data_uri: str,
    model_folder: str,
    report_uri: str,
    registry_uri: str = "",
    sample_rows: int = 200,
    fallback_to_unpromoted: bool = False,
    record_uri: str = "",
    registry_fingerprint: str = "",
    data_fingerprint: str = "",
    suite_uri: str = "",
    skip_columns: list[str] | None = None,
) -> Resolution:
    """The component's work, as a tracked run: `resolve` model `model_name` in the registry at
    `registry_uri` (empty: KEEL_HOME's local registry) on the first `sample_rows` rows of the table at
    `data_uri`, settle how its data is validated (`scoring_validation` with `suite_uri` and
    `skip_columns`: the result's `suite_uri` and `skip_columns`), copy the chosen version (sha256
    checked again) into `model_folder` and write the attempts as Markdown to `report_uri`.
    `record_uri` (default `data_uri`) and the fingerprints are recorded with the run."""
    parameters.check({"sample_rows": sample_rows, "model_name": model_name, "registry_uri": registry_uri})
    registry = open_registry(registry_uri or settings().registry_uri)
    params = {
        "model_name": model_name,
        "registry": registry.uri,
        "data": record_uri or data_uri,
        "fallback_to_unpromoted": fallback_to_unpromoted,
        "suite_uri": suite_uri,
        "skip_columns": skip_columns or [],
        "registry_fingerprint": registry_fingerprint,
        "data_fingerprint": data_fingerprint,
    }
    with track("resolve_model", params=params) as tracked:
        sample = io.head(data_uri, sample_rows).to_pandas()
        chosen = resolve(registry, model_name, sample, record_uri or data_uri, fallback_to_unpromoted)
        found = chosen.version
        chosen.suite_uri, chosen.skip_columns = scoring_validation(
            chosen.metadata, model_name, found.version, suite_uri, skip_columns
        )
        model_files.copy(found.uri, model_folder, found.sha256, found.profile_sha256)
        tracked.log_metrics(chosen.metrics())
        io.write_bytes(report_uri, chosen.to_markdown().encode())
        tracked.log_artifact("resolution", report_uri)
    return chosen
