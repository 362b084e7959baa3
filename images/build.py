#!/usr/bin/env python3
"""Build the container images of keel-pipelines: `make images`, or `python images/build.py --help`.

1. A build context under build/images/context: every wheel of requirements.lock (hash-checked),
   this package's wheel (with components/build_info.json: its version and git revision), the lock
   as plain pins (constraints.txt) and a pip wheel to run.
   The Dockerfiles install only from it, with `pip install --no-index`: no network in the build.
2. images/base/Dockerfile, then images/<component>/Dockerfile for each component (FROM the base,
   plus that component's extra) and images/serve/Dockerfile (`keel serve`, not a component),
   tagged `<registry>/keel-<name>:<version>` and `:<git revision>`, with `docker build` when a
   Docker engine answers, else `buildah bud --isolation chroot` (root).

Stdlib only, so it also runs in a bare python:3.11 container (see cloudbuild.yaml).
"""

from __future__ import annotations

import argparse
import email
import ensurepip
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "images"
WORK = ROOT / "build" / "images"
CONTEXT = WORK / "context"
REGISTRY = "localhost/keel"
DEFAULT_BASE = "python:3.11-slim"
STANDIN = "localhost/keel/standin-python:3.11"
OCI = "org.opencontainers.image"
SERVICES = ["serve"]  # images/<name>/Dockerfile FROM the base that are not a component's


def _load_builders():
    """pipelines/image_build.py (stdlib only), loaded by path: this script needs no installed package."""
    spec = importlib.util.spec_from_file_location("keel_image_build", ROOT / "pipelines" / "image_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_builders = _load_builders()
run, quiet, builder, has_image, build_image = (
    _builders.run,
    _builders.quiet,
    _builders.builder,
    _builders.has_image,
    _builders.build_image,
)


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def revision() -> str:
    """The short git revision, with `-dirty` when the working tree has changes; `unknown` outside git;
    KEEL_REVISION when set (Cloud Build passes the commit it builds, its sources have no .git).

    The rule lives in components/common/revision.py (stdlib only, loaded by path), so the images'
    tags and labels and the revision recorded with each registered model are the same text."""
    if os.environ.get("KEEL_REVISION"):
        return os.environ["KEEL_REVISION"]
    spec = importlib.util.spec_from_file_location(
        "keel_revision", ROOT / "components" / "common" / "revision.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.git_revision(ROOT)


def write_build_info(package_source: Path) -> Path:
    """components/build_info.json in a copy of the sources: the version and revision every image's
    package then reports (components.common.revision.code_revision)."""
    info = {"version": project()["version"], "revision": revision(), "source": source_url()}
    target = package_source / "components" / "build_info.json"
    target.write_text(json.dumps(info, indent=2) + "\n")
    return target


def source_url() -> str:
    """Where the sources are: the git remote `origin`, else [project.urls] Source or Repository."""
    try:
        return run("git", "-C", str(ROOT), "remote", "get-url", "origin", capture_output=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        urls = project().get("urls", {})
        return urls.get("Source") or urls.get("Repository") or "unknown"


def image_name(name: str, registry: str = REGISTRY, tag: str = "latest") -> str:
    """`<registry>/keel-<name-with-dashes>:<tag>`, the rule of components.images.image()."""
    return f"{registry.rstrip('/')}/keel-{name.replace('_', '-')}:{tag}"


def components() -> list[str]:
    """Every component: a folder of components/ with a component.py."""
    return sorted(path.parent.name for path in (ROOT / "components").glob("*/component.py"))


def image_definitions() -> list[str]:
    """Every component that has an image definition, images/<component>/Dockerfile."""
    return sorted(
        path.parent.name
        for path in IMAGES.glob("*/Dockerfile")
        if path.parent.name not in ("base", *SERVICES)
    )


def check_definitions() -> None:
    clash = sorted(set(components()) & set(SERVICES))
    if clash:
        raise SystemExit(
            f"component(s) {', '.join(clash)}: the name of an image that is not a component's "
            f"({', '.join(SERVICES)}); rename the component"
        )
    missing = sorted(set(components()) - set(image_definitions()))
    if missing:
        raise SystemExit(
            f"no image definition for component(s) {', '.join(missing)}: add images/<component>/Dockerfile "
            "(copy images/validate_data/Dockerfile and name the component's extra)"
        )
    extras = set(project().get("optional-dependencies", {}))
    for name in [*image_definitions(), *SERVICES]:
        for extra in re.findall(r"install-extra\.sh\s+(\S+)", (IMAGES / name / "Dockerfile").read_text()):
            unknown = {e.strip() for e in extra.split(",")} - extras
            if unknown:
                raise SystemExit(f"images/{name}/Dockerfile: extra {unknown} is not in pyproject.toml")


# ---------------------------------------------------------------------------------------- context


def locked_pins() -> list[str]:
    return re.findall(r"^([A-Za-z0-9][\w.-]*==\S+)", (ROOT / "requirements.lock").read_text(), re.M)


def pip_wheel() -> Path:
    """The pip wheel bundled with this Python (ensurepip), run from the wheel inside the builds."""
    candidates = [
        *Path(ensurepip.__file__).parent.glob("_bundled/pip-*.whl"),
        *Path("/usr/share/python-wheels").glob("pip-*.whl"),
    ]
    if not candidates:
        raise SystemExit("no pip wheel found (ensurepip/_bundled or /usr/share/python-wheels)")
    return sorted(candidates)[-1]


def build_context() -> Path:
    """Fill build/images/context; returns it. The locked wheels are fetched again only when the lock changes."""
    wheelhouse = CONTEXT / "wheelhouse"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    lock = ROOT / "requirements.lock"
    stamp = WORK / "wheelhouse.lock-sha256"  # the lock the wheelhouse was made from
    lock_digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    if not stamp.is_file() or stamp.read_text() != lock_digest:
        print("wheelhouse: fetching the locked wheels (pip wheel --require-hashes)", flush=True)
        shutil.rmtree(wheelhouse)
        run(*pip, "wheel", "--no-deps", "--require-hashes", "-r", str(lock), "-w", str(wheelhouse))
        stamp.write_text(lock_digest)
    for wheel in wheelhouse.glob("keel_pipelines-*.whl"):
        wheel.unlink()

    # This package, built from a clean copy of its sources (no stale build/ or egg-info), with the
    # locked setuptools from the wheelhouse.
    source = WORK / "source"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for path in ROOT.iterdir():
        if path.name == "pyproject.toml" or path.name.startswith(("README", "LICENSE")):
            shutil.copy2(path, source)
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    for package in {pattern.rstrip("*") for pattern in packages["find"]["include"]}:
        shutil.copytree(ROOT / package, source / package, ignore=skip)
    write_build_info(source)
    run(
        *pip,
        "wheel",
        "--no-deps",
        "--no-index",
        "--find-links",
        str(wheelhouse),
        "-w",
        str(wheelhouse),
        str(source),
    )
    shutil.rmtree(source)

    (CONTEXT / "constraints.txt").write_text("".join(f"{pin}\n" for pin in locked_pins()))
    shutil.copy2(pip_wheel(), CONTEXT / "pip.whl")
    shutil.copy2(IMAGES / "install-extra.sh", CONTEXT / "install-extra.sh")
    return CONTEXT


def digest(context: Path, *names: str) -> str:
    """A short digest of the context's contents that `names` match (wheels by their members' CRCs,
    so rebuilding the same sources gives the same digest); passed as a build argument so that
    cached layers are reused exactly when what they install is unchanged."""
    hasher = hashlib.sha256()
    for path in sorted(p for name in names for p in context.glob(name)):
        hasher.update(path.name.encode())
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as archive:
                hasher.update(repr([(i.filename, i.CRC) for i in archive.infolist()]).encode())
        else:
            hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def keel_wheel(context: Path) -> Path:
    (wheel,) = context.glob("wheelhouse/keel_pipelines-*.whl")
    return wheel


def base_requirements(context: Path) -> str:
    """The package's own dependencies (not its extras), from its wheel's metadata."""
    wheel = keel_wheel(context)
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requires = email.message_from_bytes(archive.read(metadata)).get_all("Requires-Dist") or []
    return "".join(f"{r}\n" for r in requires if "extra ==" not in r)


# ---------------------------------------------------------------------------------------- builders


def pullable(tool: str, name: str) -> bool:
    return has_image(tool, name) or quiet(tool, "pull", "-q", name)


def image_size(tool: str, name: str) -> int:
    """Bytes of the image's (uncompressed) layers."""
    if tool == "docker":
        return int(run("docker", "image", "inspect", "-f", "{{.Size}}", name, capture_output=True).stdout)
    info = json.loads(run("buildah", "inspect", "--type", "image", name, capture_output=True).stdout)
    return sum(layer["size"] for layer in json.loads(info["Manifest"])["layers"])


def standin(tool: str = "buildah") -> str:
    """`localhost/keel/standin-python:3.11`: Debian bookworm (Python 3.11, python3-venv) from
    debootstrap, for machines that cannot pull python:3.11-slim. Built once, then reused."""
    if has_image(tool, STANDIN):
        return STANDIN
    if tool != "buildah" or not shutil.which("debootstrap"):
        raise SystemExit(
            "the stand-in base needs buildah and debootstrap (apt-get install buildah debootstrap)"
        )
    started = time.monotonic()
    rootfs = WORK / "standin-rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    rootfs.parent.mkdir(parents=True, exist_ok=True)
    mirror = debian_mirror()
    print(f"stand-in: debootstrap bookworm from {mirror}", flush=True)
    debootstrap = ["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm"]
    run(*debootstrap, str(rootfs), mirror, stdout=subprocess.DEVNULL)
    for junk in ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/locale"):
        for path in (rootfs / junk).glob("*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    container = run("buildah", "from", "scratch", capture_output=True).stdout.strip()
    try:
        mount = run("buildah", "mount", container, capture_output=True).stdout.strip()
        run("cp", "-a", f"{rootfs}/.", mount)
        run("buildah", "umount", container)
        description = (
            "Debian bookworm minbase + python3 + python3-venv, a local stand-in for python:3.11-slim"
        )
        config = [
            "--env",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env",
            "LANG=C.UTF-8",
        ]
        config += ["--cmd", "python3", "--label", f"org.opencontainers.image.description={description}"]
        run("buildah", "config", *config, container)
        run("buildah", "commit", "--quiet", "--rm", container, STANDIN, stdout=subprocess.DEVNULL)
    except BaseException:
        quiet("buildah", "rm", container)
        raise
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    print(f"stand-in: {STANDIN} built in {time.monotonic() - started:.0f}s", flush=True)
    return STANDIN


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources)."""
    sources = [
        *sorted(Path("/etc/apt").glob("sources.list*")),
        *sorted(Path("/etc/apt/sources.list.d").glob("*")),
    ]
    for path in sources:
        if path.is_file():
            for uri in re.findall(r"^(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+)", path.read_text(), re.M):
                if uri.rstrip("/").endswith("/debian"):
                    return uri
    return "http://deb.debian.org/debian"


def resolve_base(tool: str, base: str) -> str:
    """`auto`: python:3.11-slim when it can be pulled, else the debootstrap stand-in."""
    if base != "auto":
        if not pullable(tool, base):
            raise SystemExit(f"cannot pull {base}; `--base-image auto` falls back to a local stand-in")
        return base
    if pullable(tool, DEFAULT_BASE):
        return DEFAULT_BASE
    print(f"base: {DEFAULT_BASE} cannot be pulled here; using the stand-in {STANDIN}", flush=True)
    return standin(tool)


# ---------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict[str, str]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--base-image",
        default=DEFAULT_BASE,
        help=f"image the base starts FROM (default {DEFAULT_BASE}); `auto`: that one when it "
        f"can be pulled, else a Debian bookworm stand-in built with debootstrap ({STANDIN})",
    )
    parser.add_argument(
        "--tag", default=project()["version"], help="image tag (default: the package version)"
    )
    parser.add_argument("--registry", default=REGISTRY, help=f"image name prefix (default {REGISTRY})")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"build the base and only these images (components, or {', '.join(SERVICES)})",
    )
    parser.add_argument(
        "--builder",
        choices=["auto", "docker", "buildah"],
        default="auto",
        help="auto (default): docker when a Docker engine answers, else buildah",
    )
    parser.add_argument("--context-only", action="store_true", help="prepare build/images/context and stop")
    args = parser.parse_args(argv)

    check_definitions()
    names = [*components(), *SERVICES]
    unknown = set(args.only or []) - set(names)
    if unknown:
        raise SystemExit(f"--only: no image {', '.join(sorted(unknown))}; known: {', '.join(names)}")
    started = time.monotonic()
    context = build_context()
    (context / "base-requirements.txt").write_text(base_requirements(context))
    print(f"context: {context} ready in {time.monotonic() - started:.0f}s", flush=True)
    if args.context_only:
        return {}

    tool = builder(args.builder)
    base_image = resolve_base(tool, args.base_image)
    rev = revision()
    labels = {"VERSION": project()["version"], "REVISION": rev, "SOURCE": source_url()}
    built: dict[str, str] = {}
    for name in ["base", *(args.only or names)]:
        t0 = time.monotonic()
        tags = [image_name(name, args.registry, args.tag), image_name(name, args.registry, rev)]
        title = f"keel-{name.replace('_', '-')}"
        if name == "base":
            build_args = {
                **labels,
                "BASE_IMAGE": base_image,
                "DEPS_DIGEST": digest(context, "constraints.txt", "base-requirements.txt", "pip.whl"),
                "PACKAGE_DIGEST": digest(context, "wheelhouse/keel_pipelines-*.whl"),
            }
        else:
            build_args = {"BASE": built["base"]}
        print(
            f"\n=== {tags[0]} ({tool}, FROM {build_args.get('BASE_IMAGE') or build_args['BASE']})", flush=True
        )
        build_image(tool, IMAGES / name / "Dockerfile", context, tags, build_args, {f"{OCI}.title": title})
        built[name] = tags[0]
        print(
            f"=== {tags[0]}: {image_size(tool, tags[0]) / 1e6:.0f} MB in {time.monotonic() - t0:.0f}s",
            flush=True,
        )

    print("\nimages:")
    for tag in built.values():
        print(f"  {tag:55} {image_size(tool, tag) / 1e6:6.0f} MB")
    print(f"built in {time.monotonic() - started:.0f}s")
    return built


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"failed ({error.returncode}): {' '.join(map(str, error.cmd))}") from None
