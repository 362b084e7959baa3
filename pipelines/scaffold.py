"""`keel new`: a use case or a component from the templates in pipelines/templates (cookiecutter).

    new_use_case("house_prices", data="reference.parquet", label="price")
    new_component("deduplicate", root=".")    # in a use case's folder or in this repository

Templates are rendered into a scratch folder first; nothing is written until every name and input
is checked, and an existing file is replaced only with `force`. Cookiecutter comes with the
`templates` extra, which no component image installs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from components.common import io
from components.common.errors import KeelError
from components.common.labels import CLASSIFICATION, REGRESSION, infer_task, label_values
from components.images import __version__
from pipelines.names import check_component_name, check_package_name
from pipelines.use_case import CONFIG_FILE, load_config

TEMPLATES = Path(__file__).parent / "templates"
SAMPLE_ROWS = 1_000  # rows of the reference table kept in data/sample.parquet for the tests and `make run`
# By the label's task: the estimator and the thresholds a new use case starts with.
STARTING_MODEL = {
    CLASSIFICATION: (
        "sklearn.ensemble:HistGradientBoostingClassifier",
        "roc_auc = { lower_bound = 0.7, min_improvement = 0.005 }",
    ),
    REGRESSION: (
        "sklearn.ensemble:HistGradientBoostingRegressor",
        "r2 = { lower_bound = 0.5, min_improvement = 0.005 }",
    ),
}
_DOTFILES = {"gitignore": ".gitignore", "dockerignore": ".dockerignore"}


class ScaffoldError(KeelError, ValueError):
    """`keel new` cannot write what was asked; the message says why and what to do."""


class MissingExtraError(KeelError, ImportError):
    """A command needs an optional part of keel-pipelines that is not installed."""


def _cookiecutter():
    try:
        from cookiecutter.main import cookiecutter
    except ImportError:
        raise MissingExtraError(
            "keel new needs the `templates` extra of keel-pipelines (cookiecutter): "
            "pip install 'keel-pipelines[templates]'"
        ) from None
    return cookiecutter


def _render(template: str, context: dict[str, str], scratch: Path) -> Path:
    """Render `template` with `context` under `scratch`; returns the rendered root folder."""
    cookiecutter = _cookiecutter()
    state = scratch / "cookiecutter"  # replay files and caches stay out of the user's home
    rendered = cookiecutter(
        str(TEMPLATES / template),
        no_input=True,
        extra_context=context,
        output_dir=str(scratch / "out"),
        default_config={"replay_dir": str(state), "cookiecutters_dir": str(state)},
    )
    return Path(rendered)


def _place(files: dict[Path, Path], force: bool) -> list[Path]:
    """Move rendered files (source -> target); refuse, before moving any, to replace a file unless `force`."""
    existing = sorted(str(target) for target in files.values() if target.exists())
    if existing and not force:
        raise ScaffoldError(f"{', '.join(existing)} exist(s) already; use --force to overwrite")
    for source, target in files.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return sorted(files.values())


def _tree(rendered: Path, target: Path) -> dict[Path, Path]:
    return {
        path: target / path.relative_to(rendered).with_name(_DOTFILES.get(path.name, path.name))
        for path in sorted(rendered.rglob("*"))
        if path.is_file()
    }


# ---------------------------------------------------------------------------------------- use case


@dataclass(frozen=True)
class UseCase:
    folder: Path
    package: str
    model_name: str
    task: str
    files: list[Path]


def _reference(data: str, label: str, id_column: str | None) -> tuple[pd.DataFrame, str]:
    """The reference table and its label's task; DataError naming the table and column otherwise."""
    reference = io.read_table(data)
    if reference.empty:
        raise ScaffoldError(f"{data}: the reference table has no rows")
    task = infer_task(label_values(reference, label, data))
    if id_column is not None:
        if id_column not in reference.columns:
            raise ScaffoldError(
                f"{data}: id column {id_column!r} not found (columns: {', '.join(map(str, reference.columns))})"
            )
        if id_column == label:
            raise ScaffoldError(f"--id-column {id_column!r} is the label; an id column is never predicted")
    return reference, task


def _sample(reference: pd.DataFrame) -> pd.DataFrame:
    if len(reference) <= SAMPLE_ROWS:
        return reference
    return reference.sample(n=SAMPLE_ROWS, random_state=0).sort_index()


def new_use_case(
    folder: str | Path,
    data: str,
    label: str,
    id_column: str | None = None,
    model_name: str | None = None,
    force: bool = False,
) -> UseCase:
    """Write a use case into `folder` from the reference table `data` (see README, "Start a new use case").

    The package is the folder's name (`-` read as `_`); the model name defaults to it."""
    from components.common.registry.base import check_model_name
    from components.validate_data.suite_builder import build_suite

    _cookiecutter()  # the extra first: a missing one is said before any other check
    folder = Path(folder).absolute()
    package = check_package_name(folder.name.replace("-", "_"), folder)
    model_name = model_name or package
    try:
        check_model_name(model_name)
    except ValueError as error:
        raise ScaffoldError(f"--model-name: {error}") from None
    reference, task = _reference(data, label, id_column)
    estimator, thresholds = STARTING_MODEL[task]
    ids = [id_column] if id_column else []
    context = {
        "folder": folder.name,
        "package": package,
        "pipeline_prefix": package.replace("_", "-"),
        "model_name": model_name,
        "label": label,
        "task": task,
        "id_columns": json.dumps(ids),
        "split_key": id_column or "",
        "skip_columns": json.dumps([label]),
        "estimator": estimator,
        "thresholds": thresholds,
        "reference": data,
        "keel_version": __version__,
    }
    # A label that is a quantity is held to a range like any number, not to the values it had.
    suite = build_suite(
        reference, model_name, label if task == CLASSIFICATION else "", unique_columns=tuple(ids)
    )
    with tempfile.TemporaryDirectory(prefix="keel-new-") as scratch:
        rendered = _render("use_case", context, Path(scratch))
        (rendered / "suite.json").write_text(json.dumps(suite, indent=2) + "\n")
        (rendered / "data").mkdir()
        io.write_table(_sample(reference), str(rendered / "data" / "sample.parquet"))
        files = _place(_tree(rendered, folder), force)
    return UseCase(folder, package, model_name, task, files)


# ---------------------------------------------------------------------------------------- component


@dataclass(frozen=True)
class Component:
    name: str
    module: str  # where the component is imported from, e.g. `components` or `house_prices.components`
    files: list[Path]


def _component_home(root: Path) -> tuple[str, str]:
    """(package of the components, use case package or "") for a use case folder or this repository."""
    if (root / CONFIG_FILE).is_file():
        package = load_config(root / CONFIG_FILE).use_case.package
        return f"{package}.components", package
    if (root / "components" / "__init__.py").is_file() and (
        root / "images" / "base" / "Dockerfile"
    ).is_file():
        return "components", ""
    raise ScaffoldError(
        f"{root}: neither a use case (no {CONFIG_FILE}) nor the keel-pipelines repository; run keel new "
        "component in one of them (or give --root)"
    )


def new_component(name: str, root: str | Path = ".", force: bool = False) -> Component:
    """Write component `name` (component.py, core.py, a test, a Dockerfile) into the use case or the
    repository at `root`; discovery then picks it up for import, compile, images and the container test."""
    _cookiecutter()
    root = Path(root).absolute()
    module, use_case = _component_home(root)
    check_component_name(name)
    context = {"name": name, "package": module, "use_case": use_case, "keel_version": __version__}
    # A use case keeps component tests in tests/ itself: a tests/components/ folder there would be
    # a namespace package `components` that hides this library's in an editable install.
    tests = root / "tests" / ("" if use_case else "components")
    where = {"package": root.joinpath(*module.split(".")), "tests": tests, "images": root / "images"}
    with tempfile.TemporaryDirectory(prefix="keel-new-") as scratch:
        rendered = _render("component", context, Path(scratch))
        files = {
            path: where[path.relative_to(rendered).parts[0]].joinpath(*path.relative_to(rendered).parts[1:])
            for path in sorted(rendered.rglob("*"))
            if path.is_file()
        }
        placed = _place(files, force)
    return Component(name, module, placed)
