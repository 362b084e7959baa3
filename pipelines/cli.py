"""`keel`: compile, run locally, and manage suites and sample data.

keel compile [NAME ...] [--output-dir build] [--image-registry R] [--image-tag T]
keel run NAME --local [--param key=value ...]
keel suite build DATA --name NAME [--label COLUMN] [--unique COLUMN ...] [--output FILE]
keel sample-data OUTPUT [--rows N] [--seed S] [--broken VARIANT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from components.common.config import settings
from components.common.logging import logger
from components.images import DEFAULT_REGISTRY, __version__


def parse_params(pairs: list[str], known: dict[str, Any]) -> dict[str, Any]:
    """`key=value` pairs to arguments; values are JSON when they parse as JSON, else strings."""
    params = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param {pair!r}: expected key=value")
        if key not in known:
            raise SystemExit(f"--param {key}: unknown parameter; expected one of {', '.join(sorted(known))}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def _inputs(runnable) -> dict[str, Any]:
    return dict(runnable.component_spec.inputs or {})


def cmd_compile(args: argparse.Namespace) -> None:
    from pipelines.compiling import compile_all

    for path in compile_all(args.output_dir, args.image_registry, args.image_tag, args.names):
        print(f"compiled {path}")


def run_local(name: str, params: dict[str, Any]):
    """Run a component or pipeline with kfp.local in this environment; returns the task."""
    from kfp import local

    from components.common.sample_data import sample_path
    from pipelines.compiling import load

    runnable = load(name)
    if "data_uri" in _inputs(runnable) and "data_uri" not in params and "data" not in params:
        params["data_uri"] = sample_path()
        logger.info("data_uri not given: using the bundled sample %s", params["data_uri"])
    runs_dir = settings().runs_dir
    local.init(
        runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(runs_dir), raise_on_error=True
    )
    return runnable(**params)


def _describe_outputs(task) -> None:
    for key, value in sorted(task.outputs.items()):
        shown = getattr(value, "path", value)
        print(f"  {key}: {shown}")


def cmd_run(args: argparse.Namespace) -> None:
    if not args.local:
        raise SystemExit("keel run needs --local (runs with kfp.local here); use `keel submit` for Vertex AI")
    from pipelines.compiling import load

    params = parse_params(args.param, _inputs(load(args.name)))
    task = run_local(args.name, params)
    print(f"{args.name}: succeeded; outputs:")
    _describe_outputs(task)


def cmd_suite_build(args: argparse.Namespace) -> None:
    from components.common import io
    from components.validate_data import core

    suite = core.build_suite(io.read_table(args.data), args.name, args.label, tuple(args.unique))
    output = args.output or f"{args.name}.json"
    io.write_bytes(output, (json.dumps(suite, indent=2) + "\n").encode())
    print(f"wrote {len(suite['expectations'])} expectations to {output}; review them before committing")


def cmd_sample_data(args: argparse.Namespace) -> None:
    from components.common import sample_data

    if args.broken:
        sample_data.write_broken(args.broken, args.output, args.rows, args.seed)
    else:
        sample_data.write(args.output, args.rows, args.seed)
    print(f"wrote {args.output}")


def _registry(args: argparse.Namespace):
    from components.common.registry import open_registry

    return open_registry(args.registry or settings().registry_uri)


def _print_version(found) -> None:
    aliases = f" [{', '.join(sorted(found.aliases))}]" if found.aliases else ""
    metrics = ", ".join(f"{k}={v:.4f}" for k, v in sorted(found.metrics.items()))
    print(f"v{found.version}{aliases}  {found.created_at}  sha256={found.sha256[:12]}  {metrics}")


def cmd_registry(args: argparse.Namespace) -> None:
    registry = _registry(args)
    if args.action == "list":
        for found in registry.versions(args.model):
            _print_version(found)
    elif args.action == "show":
        found = registry.get(args.model, args.ref)
        print(json.dumps({**vars(found), "registry": registry.uri}, indent=2, default=str))
    elif args.action == "promote":
        found = registry.promote(args.model, args.ref)
        print(f"{args.model}: champion is now v{found.version}")
        _print_version(found)
    elif args.action == "rollback":
        found = registry.rollback(args.model)
        print(f"{args.model}: rolled back; champion is now v{found.version}")
        _print_version(found)


def build_parser() -> argparse.ArgumentParser:
    from components.common.sample_data import BROKEN_VARIANTS

    parser = argparse.ArgumentParser(prog="keel", description="keel-pipelines: KFP components and pipelines.")
    commands = parser.add_subparsers(dest="command", required=True)

    compile_ = commands.add_parser("compile", help="compile components and pipelines to YAML")
    compile_.add_argument("names", nargs="*", help="what to compile (default: everything)")
    compile_.add_argument("--output-dir", default="build", type=Path, help="default: build")
    compile_.add_argument("--image-registry", default=DEFAULT_REGISTRY, help=f"default: {DEFAULT_REGISTRY}")
    compile_.add_argument(
        "--image-tag", default=__version__, help=f"default: the package version ({__version__})"
    )
    compile_.set_defaults(handler=cmd_compile)

    run = commands.add_parser("run", help="run a pipeline or component")
    run.add_argument("name")
    run.add_argument(
        "--local", action="store_true", help="run here with kfp.local (outputs under .keel/runs)"
    )
    run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    run.set_defaults(handler=cmd_run)

    suite = commands.add_parser("suite", help="expectation suites").add_subparsers(
        dest="action", required=True
    )
    build = suite.add_parser("build", help="build a starting suite from a clean reference table")
    build.add_argument("data", help="reference table (parquet or CSV; local, /gcs/ or gs://)")
    build.add_argument("--name", required=True)
    build.add_argument("--label", default="", help="label column: held to the values it has")
    build.add_argument(
        "--unique", action="append", default=[], metavar="COLUMN", help="a column of unique ids"
    )
    build.add_argument("--output", help="default: NAME.json")
    build.set_defaults(handler=cmd_suite_build)

    sample = commands.add_parser("sample-data", help="write the sample churn data set")
    sample.add_argument("output")
    sample.add_argument("--rows", type=int, default=5_000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--broken", choices=BROKEN_VARIANTS)
    sample.set_defaults(handler=cmd_sample_data)

    registry = commands.add_parser("registry", help="inspect and move model versions")
    actions = registry.add_subparsers(dest="action", required=True)
    for action, text in [
        ("list", "every version of a model, with aliases and metrics"),
        ("show", "one version (number or alias) in full"),
        ("promote", "make a version the champion (the old one becomes previous)"),
        ("rollback", "move the champion back to the previous version"),
    ]:
        sub = actions.add_parser(action, help=text)
        sub.add_argument("model")
        if action in ("show", "promote"):
            sub.add_argument(
                "ref",
                help="version number or alias" + (" (default: champion)" if action == "show" else ""),
                nargs="?" if action == "show" else None,
                default="champion",
            )
        sub.add_argument("--registry", help="registry URI (default: KEEL_REGISTRY, else .keel/registry)")
        sub.set_defaults(handler=cmd_registry)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (LookupError, ValueError, RuntimeError, OSError) as error:
        logger.error("%s", error)
        sys.exit(1)
