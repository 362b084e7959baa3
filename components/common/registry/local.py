"""The embedded registry: a folder, safe for several processes registering at the same time.

    <root>/<name>/versions/<n>/   a copy of the model folder + version.json
    <root>/<name>/registry.json   the aliases (promotion history included, see base)
    <root>/<name>/.lock           held (fcntl.flock, exclusive) around every read-modify-write

A new version is copied into a staging folder beside `versions/` first, checked against its sha256,
then renamed to `versions/<n>` under the lock: a version appears complete or not at all, and two
registrations never get the same number. A staging folder left by a registration that was killed
is removed by the next one (see components.common.leftovers). Alias changes are written to a temporary file and renamed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.fs as pa_fs

from components.common import io, leftovers, model_files
from components.common.io import DataError
from components.common.registry.base import (
    Aliases,
    ModelVersion,
    Registry,
    RegistryError,
    version_from_record,
)

VERSION_FILE = "version.json"
STAGING_PREFIX = ".staging-"
STATE_FILE = "registry.json"


class LocalRegistry(Registry):
    """A registry in a local folder (also a /gcs/ FUSE folder, though flock is not reliable there)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self.uri = str(self.root)

    def __repr__(self) -> str:
        return f"LocalRegistry({self.uri!r})"

    def _model_dir(self, name: str) -> Path:
        return self.root / name

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        self._model_dir(name).mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._model_dir(name) / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _read_aliases(self, name: str) -> Aliases:
        state = self._model_dir(name) / STATE_FILE
        if not state.exists():
            return {}
        try:
            aliases = io.read_json(str(state))["aliases"]
            if not all(isinstance(alias, str) and type(v) is int for alias, v in aliases.items()):
                raise TypeError("not a mapping of alias -> version number")
        except (DataError, OSError, KeyError, TypeError, AttributeError) as error:
            raise RegistryError(
                f"{state}: the aliases of model {name!r} cannot be read ({error}); the versions are "
                f"intact: restore the file, or repair it by hand"
            ) from None
        return aliases

    def _version_numbers(self, name: str) -> list[int]:
        versions = self._model_dir(name) / "versions"
        if not versions.is_dir():
            return []
        return sorted(int(entry.name) for entry in versions.iterdir() if entry.name.isdigit())

    def _add_version(self, record: ModelVersion, folder: str) -> ModelVersion:
        leftovers.remove_abandoned(self._model_dir(record.name), STAGING_PREFIX)
        staging = self._model_dir(record.name) / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            with leftovers.held(staging):  # a concurrent registration never removes it
                source_fs, source_path = io.filesystem(folder)
                pa_fs.copy_files(source_path, str(staging), source_fs, pa_fs.LocalFileSystem())
                try:
                    model_files.verify(str(staging), record.sha256, record.profile_sha256)
                except model_files.ModelIntegrityError as error:
                    raise model_files.ModelIntegrityError(
                        f"{self.uri}: model {record.name!r}: {folder} changed while it was being copied ({error})"
                    ) from None
                with self._locked(record.name):
                    number = max(self._version_numbers(record.name), default=0) + 1
                    target = self._model_dir(record.name) / "versions" / str(number)
                    registered = dataclasses.replace(
                        record, version=number, uri=str(target), created_at=datetime.now(UTC).isoformat()
                    )
                    stored = dataclasses.asdict(registered)
                    del stored["uri"], stored["aliases"], stored["damaged"]  # derived from where it sits
                    io.write_json(str(staging / VERSION_FILE), stored)
                    target.parent.mkdir(exist_ok=True)
                    staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return registered

    def _versions(self, name: str) -> list[ModelVersion]:
        aliases = self._read_aliases(name)
        found = []
        for number in self._version_numbers(name):
            folder = self._model_dir(name) / "versions" / str(number)
            names = sorted(alias for alias, version in aliases.items() if version == number)
            try:
                record, problem = io.read_json(str(folder / VERSION_FILE)), _folder_problem(folder)
            except (DataError, OSError) as error:
                record, problem = None, f"{VERSION_FILE} cannot be read ({error})"
            found.append(version_from_record(name, number, record, str(folder), names, problem=problem))
        return found

    def _update_aliases(self, name: str, change: Callable[[Aliases], Aliases]) -> None:
        with self._locked(name):
            io.write_json(
                str(self._model_dir(name) / STATE_FILE), {"aliases": change(self._read_aliases(name))}
            )


def _folder_problem(folder: Path) -> str:
    """What is missing from a version's model folder ("" when nothing is)."""
    missing = [
        name for name in (model_files.MODEL_FILE, model_files.METADATA_FILE) if not (folder / name).is_file()
    ]
    return f"model folder {folder} has no {' or '.join(missing)}" if missing else ""
