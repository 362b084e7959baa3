"""Find a trustworthy model to score with: the champion, else the fallbacks, each checked first.

Candidates in order: the `champion`, the `previous` version, then the versions that were champion
before (the promotion history, newest first). Versions that were never champion (challengers that
selection refused) are tried last, newest first, only when asked (`fallback_to_unpromoted`). A
candidate is used only if it is not damaged, its model file matches the sha256 recorded at
registration, and it predicts finite, in-range scores on sample rows of the very data to score.
Every attempt is recorded with its outcome; when no candidate passes, `NoUsableModelError` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from components.common import parameters, prediction
from components.common.errors import KeelError
from components.common.io import DataError
from components.common.logging import logger
from components.common.model_files import ModelIntegrityError
from components.common.registry import CHAMPION, PREVIOUS, ModelVersion, Registry, RegistryError
from components.common.registry.base import promotion_history


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

    @property
    def fell_back(self) -> bool:
        return len(self.attempts) > 1

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
    sample: pd.DataFrame,
    source: str = "data",
    fallback_to_unpromoted: bool = False,
) -> Resolution:
    """The first candidate that loads with a matching sha256 and passes a smoke prediction on `sample`."""
    parameters.check({"model_name": name})
    attempts: list[Attempt] = []
    candidates, left_out = _candidates(registry, name, fallback_to_unpromoted)
    for ref, version in candidates:
        if version is None:
            attempts.append(Attempt(ref, None, False, f"no version has the alias {ref!r}"))
            continue
        try:
            model, metadata = registry.load(name, version)
            prediction.smoke_test(model, metadata, sample, source)
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
        return Resolution(name, registry.get(name, version), model, metadata, attempts)
    tried = "; ".join(f"{a.ref} (v{a.version}): {a.reason}" for a in attempts)
    if left_out:
        tried += (
            f"; not tried: {', '.join(f'v{v}' for v in left_out)}, never champion (selection did not "
            "promote them; set fallback_to_unpromoted to try them)"
        )
    raise NoUsableModelError(f"{registry.uri}: no usable version of model {name!r}: {tried}")
