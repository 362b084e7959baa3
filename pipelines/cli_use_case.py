"""`keel new`, `keel config` and `keel images`: start a use case or a component, and run its tooling.

keel new use-case DIR --data REFERENCE --label COLUMN [--id-column COLUMN] [--model-name NAME] [--force]
keel new component NAME [--root DIR] [--force]
keel config options compile|submit|schedule [PIPELINE] [--config keel.toml]
keel images [--registry R] [--tag T] [--keel-registry R] [--keel-tag T] [--builder auto|docker|buildah]
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from components.images import DEFAULT_REGISTRY, __version__


def add_commands(commands) -> None:
    new = commands.add_parser("new", help="start a use case or a component from a template").add_subparsers(
        dest="kind", required=True
    )
    use_case = new.add_parser(
        "use-case", help="a use case folder: suite, keel.toml, pipelines, Makefile, tests"
    )
    use_case.add_argument("folder", help="the folder to create; its name is the use case's Python package")
    use_case.add_argument(
        "--data", required=True, help="the reference table (parquet or CSV; local, /gcs/ or gs://)"
    )
    use_case.add_argument("--label", required=True, help="the column to predict")
    use_case.add_argument(
        "--id-column", help="a column of unique row ids: kept beside predictions, splits by hash"
    )
    use_case.add_argument("--model-name", help="the model's name in the registry (default: the package name)")
    use_case.add_argument("--force", action="store_true", help="overwrite files that exist")
    use_case.set_defaults(handler=cmd_new_use_case)

    component = new.add_parser("component", help="component.py, core.py, a test and a Dockerfile")
    component.add_argument("name", help="a lowercase Python identifier, e.g. deduplicate_orders")
    component.add_argument(
        "--root", default=".", help="the use case folder or this repository (default: here)"
    )
    component.add_argument("--force", action="store_true", help="overwrite files that exist")
    component.set_defaults(handler=cmd_new_component)

    config = commands.add_parser("config", help="a use case's keel.toml").add_subparsers(
        dest="action", required=True
    )
    options = config.add_parser("options", help="the keel options keel.toml sets for a command, shell-quoted")
    options.add_argument("what", choices=["compile", "submit", "schedule"])
    options.add_argument(
        "pipeline", nargs="?", default="", help="for submit and schedule: training, batch_scoring"
    )
    options.add_argument("--config", default="keel.toml", help="default: keel.toml")
    options.set_defaults(handler=cmd_config_options)

    images = commands.add_parser(
        "images", help="build a use case's component images FROM the keel base image"
    )
    images.add_argument("--root", default=".", help="the use case folder (default: here)")
    images.add_argument("--registry", default=DEFAULT_REGISTRY, help=f"default: {DEFAULT_REGISTRY}")
    images.add_argument(
        "--tag", default=__version__, help=f"default: the keel-pipelines version ({__version__})"
    )
    images.add_argument(
        "--keel-registry", default=DEFAULT_REGISTRY, help="where keel-base is (default: local)"
    )
    images.add_argument(
        "--keel-tag", default=__version__, help="keel-base's tag (default: this keel's version)"
    )
    images.add_argument("--builder", choices=["auto", "docker", "buildah"], default="auto")
    images.set_defaults(handler=cmd_images)


def cmd_new_use_case(args: argparse.Namespace) -> None:
    from pipelines.scaffold import new_use_case

    made = new_use_case(args.folder, args.data, args.label, args.id_column, args.model_name, args.force)
    print(f"wrote the use case {made.package} ({made.task}, model {made.model_name!r}) in {made.folder}:")
    for path in made.files:
        print(f"  {path.relative_to(made.folder)}")
    print(f"next: cd {made.folder} && review suite.json and keel.toml, then `make test` and `make run`")


def cmd_new_component(args: argparse.Namespace) -> None:
    from pipelines.scaffold import new_component

    made = new_component(args.name, args.root, args.force)
    print(f"wrote the component {made.name} (from {made.module} import {made.name}):")
    for path in made.files:
        print(f"  {path}")


def accepted_options(command: str) -> set[str]:
    """The options `keel COMMAND` accepts (for schedule: `keel schedule create`)."""
    from pipelines.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub = commands.choices[command]
    if command == "schedule":
        actions = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction))
        sub = actions.choices["create"]
    return {option for action in sub._actions for option in action.option_strings}


def cmd_config_options(args: argparse.Namespace) -> None:
    from pipelines.use_case import ConfigError, load_config, options

    found = options(load_config(args.config), args.what, args.pipeline)
    missing = sorted({word for word in found if word.startswith("--")} - accepted_options(args.what))
    if missing:
        raise ConfigError(
            f"{args.config} sets {', '.join(missing)} for `keel {args.what}`, which this keel-pipelines "
            f"({__version__}) does not have: leave that setting empty or upgrade keel-pipelines"
        )
    print(shlex.join(found))


def cmd_images(args: argparse.Namespace) -> None:
    from pipelines.use_case_images import build_use_case_images

    built = build_use_case_images(
        Path(args.root), args.registry, args.tag, args.keel_registry, args.keel_tag, args.builder
    )
    for name, reference in built.items():
        print(f"built {reference} ({name})")
