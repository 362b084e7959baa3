"""What killed writers leave behind (temporary files, staging folders), told apart from live writers' work.

    with leftovers.held(temporary):          # a writer, from creating its temporary until it is renamed
        ...
    leftovers.remove_abandoned(folder, ".report.html.tmp-")   # the next writer of the same target

A writer holds an exclusive `flock` on its temporary while it works; the kernel releases it when
the process ends, even by kill -9. A temporary that nobody holds is abandoned, unless it is brand
new and still empty (a writer locks it right after creating it, before writing into it: for
GRACE_S seconds, an empty unheld one may be a writer between those two steps). Where a lock says
nothing about writers on other machines (Cloud Storage FUSE under /gcs/) or cannot be taken, a
temporary is abandoned once untouched for STALE_AFTER_S.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from components.common.locations import GCS_MOUNT
from components.common.logging import logger

GRACE_S = 60.0
STALE_AFTER_S = 3600.0


@contextlib.contextmanager
def held(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the file or folder `path` (just created by the caller) until the block ends."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # no locks on this filesystem: STALE_AFTER_S applies
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _empty(path: str, status: os.stat_result) -> bool:
    if stat.S_ISDIR(status.st_mode):
        return not any(os.scandir(path))
    return status.st_size == 0


def abandoned(path: str | Path) -> bool:
    """Whether the temporary at `path` was left by a writer that is gone (see the module docstring)."""
    path = str(path)
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # gone meanwhile, or not ours to judge
    try:
        status = os.fstat(descriptor)
        age = time.time() - status.st_mtime
        if path.startswith(GCS_MOUNT + "/"):
            return age > STALE_AFTER_S
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        except OSError:
            return age > STALE_AFTER_S
        return age > GRACE_S or not _empty(path, status)
    finally:
        os.close(descriptor)


def remove_abandoned(folder: str | Path, prefix: str) -> list[str]:
    """Remove the abandoned temporaries in `folder` whose names start with `prefix`; returns their paths."""
    try:
        entries = [entry.path for entry in os.scandir(folder) if entry.name.startswith(prefix)]
    except OSError:
        return []
    removed = []
    for path in entries:
        if abandoned(path):
            with contextlib.suppress(FileNotFoundError):
                if os.path.isdir(path):
                    shutil.rmtree(path)
                else:
                    os.remove(path)
                removed.append(path)
    if removed:
        logger.info("removed %d temporaries left by interrupted writers: %s", len(removed), removed)
    return removed
