"""The code revision of keel-pipelines: its version and git revision, recorded with every model.

    from components.common.revision import code_revision
    code_revision()  # {"code_version": "0.1.0", "code_revision": "47e0f34"}

The revision is the short git commit, with `-dirty` when the working tree had changes: the same
text as the images' `:<revision>` tag and `org.opencontainers.image.revision` label. It comes from
`components/build_info.json`, which images/build.py writes into the package it builds (so every
image carries it), else from git when the package runs from a checkout (an editable install, as
in kfp.local runs), else it is `unknown`.

Standard library only, and nothing imported from `components` at import time: images/build.py
loads this file by path to compute the revision it bakes in.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

BUILD_INFO = Path(__file__).resolve().parents[1] / "build_info.json"
UNKNOWN = "unknown"


def git_revision(folder: str | Path) -> str:
    """The short commit of the git checkout holding `folder`, `-dirty` when it has changes;
    `unknown` outside git (or without git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return f"{commit}-dirty" if dirty else commit


def code_revision(build_info: Path = BUILD_INFO) -> dict[str, str]:
    """`code_version` (the package version) and `code_revision` (see the module docstring)."""
    from components.images import __version__

    if build_info.is_file():
        return {"code_version": __version__, "code_revision": json.loads(build_info.read_text())["revision"]}
    return {"code_version": __version__, "code_revision": git_revision(build_info.parent)}
