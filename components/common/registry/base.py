"""The registry interface, the version record, and the alias rules every backend shares.

A backend implements four primitives (`_add_version`, `_versions`, `_update_aliases` and, when its
model folders are not plain local paths, `_readable_folder`); everything else lives here once.

A version whose record or model folder cannot be read is listed as damaged, with the reason
(`ModelVersion.damaged`), instead of making the whole model unreadable: it is never loaded or
promoted, and `verify` checks every version's record and model file.

Aliases: `champion` serves, `previous` is the fallback, any other name is free. The promotion
history is kept as aliases too, `promoted-<n>` on the version chosen by the n-th promotion still on
record, so both backends store it the same way (Vertex shows it in the console). Its last entry is
the champion, the one before it `previous`; `rollback` removes the rolled-back version from it
entirely, so rolling back again never returns to that version.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from components.common import model_files
from components.common.errors import KeelError, ParameterError
from components.common.io import DataError

CHAMPION = "champion"
PREVIOUS = "previous"
HISTORY_PREFIX = "promoted-"
HISTORY_DEPTH = 20  # promotions kept for rollback; older ones are forgotten

Aliases = dict[str, int]

# Vertex AI's rules, applied to both backends so a name valid in one is valid in the other.
_MODEL_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_ALIAS = re.compile(r"[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]")
_HISTORY_ALIAS = re.compile(rf"{HISTORY_PREFIX}(\d+)")


class RegistryError(KeelError, LookupError):
    """A model, version or alias that the registry does not hold, or an alias move it cannot make."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model.

    `uri` is the version's model folder (model.joblib + metadata.json, and profile.json), `sha256` the
    model file's digest recorded at registration, `metadata` the folder's metadata.json (with the
    profile's digest), `labels` lineage such as the ClearML task id and the pipeline run id,
    `created_at` an ISO 8601 UTC time. `damaged` says why the version's record or model folder
    cannot be used (empty when it can).
    """

    name: str
    version: int
    uri: str
    sha256: str
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    damaged: str = ""

    @property
    def profile_sha256(self) -> str:
        """The sha256 of the version's profile.json recorded at registration; empty if it had none."""
        return self.metadata.get("profile_sha256", "")


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _record_problem(name: str, number: int, record: Any) -> str:
    """Why `record` (a version's stored fields) is not a sound record of version `number`; "" if it is."""
    if not isinstance(record, dict):
        return f"the record is a {type(record).__name__}, not an object"
    if record.get("name", name) != name or record.get("version", number) != number:
        return f"the record is of {record.get('name')!r} version {record.get('version')!r}"
    if not isinstance(record.get("sha256"), str) or not _SHA256.fullmatch(record["sha256"]):
        return f"the record has no valid sha256 ({record.get('sha256')!r})"
    for key in ("metadata", "metrics", "labels"):
        if not isinstance(record.get(key, {}), dict):
            return f"the record's {key} is not an object"
    numbers = record.get("metrics", {}).values()
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        return "the record's metrics are not all numbers"
    return ""


def version_from_record(
    name: str, number: int, record: Any, uri: str, aliases: list[str], created_at: str = "", problem: str = ""
) -> ModelVersion:
    """The ModelVersion a stored record describes, or a damaged one saying what is wrong with it
    (or `problem`, found by the backend: an unreadable record or model folder)."""
    problem = problem or _record_problem(name, number, record) or ("" if uri else "no model folder recorded")
    if problem:
        return ModelVersion(name, number, uri, sha256="", aliases=aliases, damaged=problem)
    return ModelVersion(
        name=name,
        version=number,
        uri=uri,
        sha256=record["sha256"],
        metadata=record.get("metadata", {}),
        metrics={key: float(value) for key, value in record.get("metrics", {}).items()},
        aliases=aliases,
        labels={key: str(value) for key, value in record.get("labels", {}).items()},
        created_at=str(record.get("created_at", created_at)),
    )


def parse_ref(ref: int | str) -> int | str:
    """A version number (int or numeric string) as an int; anything else is an alias."""
    if isinstance(ref, bool) or not isinstance(ref, int | str):
        raise TypeError(f"a version reference is an int or a str, not {ref!r}")
    if isinstance(ref, int):
        return ref
    return int(ref) if re.fullmatch(r"[0-9]+", ref.strip()) else ref


def check_model_name(name: str) -> str:
    if not _MODEL_NAME.fullmatch(name or ""):
        raise ParameterError(
            f"model name {name!r}: use 1-63 lowercase letters, digits, '_' or '-', starting with a letter"
        )
    return name


def check_alias(alias: str) -> str:
    if _HISTORY_ALIAS.fullmatch(alias or ""):
        raise ParameterError(
            f"alias {alias!r}: names '{HISTORY_PREFIX}<n>' are kept for the promotion history"
        )
    if not _ALIAS.fullmatch(alias or ""):
        raise ParameterError(
            f"alias {alias!r}: use 2-128 letters, digits or '-', starting with a lowercase letter "
            "and ending with a lowercase letter or digit"
        )
    return alias


History = list[tuple[int, int]]  # (n of `promoted-<n>`, version), oldest first


def _history(aliases: Aliases) -> History:
    return sorted(
        (int(match[1]), version)
        for alias, version in aliases.items()
        if (match := _HISTORY_ALIAS.fullmatch(alias))
    )


def promotion_history(aliases: Aliases) -> list[int]:
    """The versions that were champion, in the order of their promotions still on record (the
    champion last); a rolled-back version is not among them."""
    return [version for _, version in _history(aliases)]


def _appended(history: History, version: int) -> History:
    return [*history, (history[-1][0] + 1 if history else 1, version)]


def _with_history(aliases: Aliases, history: History) -> Aliases:
    """`aliases` with the history aliases, `champion` and `previous` rewritten from `history`."""
    history = history[-HISTORY_DEPTH:]
    kept = {
        alias: version
        for alias, version in aliases.items()
        if alias not in (CHAMPION, PREVIOUS) and not _HISTORY_ALIAS.fullmatch(alias)
    }
    entries = {f"{HISTORY_PREFIX}{n}": version for n, version in history}
    pointers = dict(zip((CHAMPION, PREVIOUS), reversed([version for _, version in history]), strict=False))
    return {**kept, **entries, **pointers}


def promoted(aliases: Aliases, version: int) -> Aliases:
    """Aliases after promoting `version`: it becomes champion, the old champion (if any) previous."""
    current = aliases.get(CHAMPION)
    if current == version:
        return aliases
    history = _history(aliases)
    # The history ends with the current champion (or, with none, the current previous), also
    # when that alias was moved by hand.
    anchor = current if current is not None else aliases.get(PREVIOUS)
    if anchor is not None and (not history or history[-1][1] != anchor):
        history = _appended(history, anchor)
    return _with_history(aliases, _appended(history, version))


def rolled_back(aliases: Aliases, where: str) -> Aliases:
    """Aliases after moving champion back to previous; RegistryError when there is no previous.

    The rolled-back version leaves the history entirely; `previous` becomes the champion that
    preceded the restored one, or goes when there is none.
    """
    current, target = aliases.get(CHAMPION), aliases.get(PREVIOUS)
    if target is None:
        raise RegistryError(f"{where}: no '{PREVIOUS}' alias, nothing to roll back to")
    if target == current:
        raise RegistryError(f"{where}: '{PREVIOUS}' and '{CHAMPION}' are both version {current}")
    history: History = []
    for n, version in _history(aliases):
        if version != current and (not history or history[-1][1] != version):
            history.append((n, version))
    versions = [version for _, version in history]
    if target in versions:
        history = history[: len(versions) - versions[::-1].index(target)]
    else:
        history = _appended(history, target)
    return _with_history(aliases, history)


def _aliases_of(versions: list[ModelVersion]) -> Aliases:
    return {alias: found.version for found in versions for alias in found.aliases}


class Registry(ABC):
    """A model registry: numbered versions of named models, aliases, promotion and rollback."""

    uri: str  # how the registry is named in messages

    # -- backend primitives -------------------------------------------------------------------
    @abstractmethod
    def _add_version(self, record: ModelVersion, folder: str) -> ModelVersion:
        """Store `folder` as the next version of `record.name`; returns the record with its number."""

    @abstractmethod
    def _versions(self, name: str) -> list[ModelVersion]:
        """Every version of `name`, oldest first, aliases included; empty if the model is unknown."""

    @abstractmethod
    def _update_aliases(self, name: str, change: Callable[[Aliases], Aliases]) -> None:
        """Replace the aliases of `name` by `change(current aliases)`, as one step where possible."""

    def _readable_folder(self, uri: str) -> str:
        """Where to read the model folder `uri` from."""
        return uri

    # -- public API ---------------------------------------------------------------------------
    def register(
        self,
        name: str,
        model_folder: str,
        metrics: dict[str, float] | None = None,
        labels: dict[str, str] | None = None,
    ) -> ModelVersion:
        """Add the model folder (model.joblib + metadata.json) as the next version of `name`."""
        check_model_name(name)
        folder = self._readable_folder(str(model_folder))
        try:
            sha256 = model_files.verify(folder)
        except model_files.ModelIntegrityError as error:
            raise model_files.ModelIntegrityError(f"{self.uri}: cannot register {name!r}: {error}") from None
        record = ModelVersion(
            name=name,
            version=0,
            uri=str(model_folder),
            sha256=sha256,
            metadata=model_files.read_metadata(folder),
            metrics={key: float(value) for key, value in (metrics or {}).items()},
            labels={key: str(value) for key, value in (labels or {}).items()},
        )
        return self._add_version(record, folder)

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of `name`, oldest first."""
        found = self._versions(check_model_name(name))
        if not found:
            raise RegistryError(f"{self.uri}: no model named {name!r}")
        return found

    def aliases(self, name: str) -> Aliases:
        """Alias -> version number for `name`."""
        return _aliases_of(self.versions(name))

    def get(self, name: str, ref: int | str) -> ModelVersion:
        """The version of `name` that `ref` (a version number, numeric string or alias) names."""
        wanted = parse_ref(ref)
        found = self.versions(name)
        for candidate in found:
            if wanted == candidate.version or wanted in candidate.aliases:
                return candidate
        if isinstance(wanted, int):
            raise RegistryError(
                f"{self.uri}: model {name!r} has no version {wanted} (latest is v{found[-1].version})"
            )
        known = ", ".join(f"{alias} -> v{version}" for alias, version in sorted(_aliases_of(found).items()))
        raise RegistryError(
            f"{self.uri}: model {name!r} has no alias {wanted!r} (aliases: {known or 'none'})"
        )

    def _sound(self, name: str, ref: int | str, action: str) -> ModelVersion:
        found = self.get(name, ref)
        if found.damaged:
            raise RegistryError(
                f"{self.uri}: model {name!r} version {found.version} is damaged ({found.damaged}); cannot {action}"
            )
        return found

    def set_alias(self, name: str, alias: str, version: int | str) -> ModelVersion:
        """Point `alias` at `version` (moving it from any other version); a damaged one is refused."""
        check_alias(alias)
        target = self._sound(name, version, f"point {alias!r} at it").version
        self._update_aliases(name, lambda aliases: {**aliases, alias: target})
        return self.get(name, target)

    def promote(self, name: str, version: int | str) -> ModelVersion:
        """Make `version` the champion; the old champion, if any and different, becomes previous.
        A damaged version is refused."""
        target = self._sound(name, version, "promote it").version
        self._update_aliases(name, lambda aliases: promoted(aliases, target))
        return self.get(name, CHAMPION)

    def rollback(self, name: str) -> ModelVersion:
        """Move champion back to previous; previous moves one promotion further back, or goes.
        A damaged previous version is refused."""
        target = _aliases_of(self.versions(name)).get(PREVIOUS)
        if target is not None:
            self._sound(name, target, "roll back to it")
        self._update_aliases(name, lambda aliases: rolled_back(aliases, f"{self.uri}: model {name!r}"))
        return self.get(name, CHAMPION)

    def load(self, name: str, ref: int | str) -> tuple[Any, dict[str, Any]]:
        """The model and its metadata, refused (ModelIntegrityError) unless the sha256 of its model file
        and of its profile are the registered ones."""
        found = self.get(name, ref)
        where = f"{self.uri}: model {name!r} version {found.version}"
        if found.damaged:
            raise model_files.ModelIntegrityError(f"{where} is damaged: {found.damaged}")
        if not found.sha256:
            raise model_files.ModelIntegrityError(f"{where}: no sha256 was recorded; refusing to load")
        try:
            return model_files.load(self._readable_folder(found.uri), found.sha256, found.profile_sha256)
        except model_files.ModelIntegrityError as error:
            raise model_files.ModelIntegrityError(f"{where}: {error}") from None

    def verify(self, name: str) -> list[tuple[ModelVersion, str]]:
        """Every version of `name` with what is wrong with it ("" when sound): a record that cannot be
        read, no sha256, a model file that is missing or does not match it, unreadable metadata."""
        return [(found, self._problem(found)) for found in self.versions(name)]

    def _problem(self, found: ModelVersion) -> str:
        if found.damaged:
            return found.damaged
        try:
            folder = self._readable_folder(found.uri)
            model_files.verify(folder, found.sha256, found.profile_sha256)
            model_files.read_metadata(folder)
        except (model_files.ModelIntegrityError, DataError, OSError) as error:
            return str(error)
        return ""

    def load_profile(self, name: str, ref: int | str) -> dict[str, Any] | None:
        """The version's reference profile (None if it was registered without one), refused
        (ModelIntegrityError) unless its sha256 is the registered one."""
        found = self.get(name, ref)
        try:
            return model_files.load_profile(self._readable_folder(found.uri), found.profile_sha256)
        except model_files.ModelIntegrityError as error:
            raise model_files.ModelIntegrityError(
                f"{self.uri}: model {name!r} version {found.version}: {error}"
            ) from None
