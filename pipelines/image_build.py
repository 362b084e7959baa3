"""Build container images with a Docker engine or buildah: one implementation for this library's
images (images/build.py) and a use case's (`keel images`).

Standard library only: images/build.py loads this file by path, so it also runs in a bare Python
container (cloudbuild.yaml) where keel-pipelines is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def run(*cmd: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def quiet(*cmd: str) -> bool:
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def builder(choice: str = "auto") -> str:
    """`docker` when a Docker engine answers, else `buildah` (as root); `choice` when not `auto`."""
    if choice != "auto":
        return choice
    if shutil.which("docker") and quiet("docker", "info"):
        return "docker"
    if shutil.which("buildah"):
        return "buildah"
    raise SystemExit(
        "no image builder: start a Docker engine, or install buildah (apt-get install buildah) and run as root"
    )


def has_image(tool: str, name: str) -> bool:
    if tool == "docker":
        return quiet("docker", "image", "inspect", name)
    return quiet("buildah", "inspect", "--type", "image", name)


def build_image(
    tool: str, dockerfile: Path, context: Path, tags: list[str], args: dict[str, str], labels: dict[str, str]
):
    if tool == "docker":
        cmd = ["docker", "build", "--progress=plain"]
        env = {"DOCKER_BUILDKIT": "1"}
    else:  # --pull=false: pull the base only when it is not in local storage
        cmd = ["buildah", "bud", "--isolation", "chroot", "--layers", "--pull=false"]
        env = {}
    cmd += ["-f", str(dockerfile)]
    for tag in tags:
        cmd += ["-t", tag]
    for key, value in args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    for key, value in labels.items():
        cmd += ["--label", f"{key}={value}"]
    run(*cmd, str(context), env={**os.environ, **env})
