"""A use case's settings, in one file (`keel.toml`), checked when loaded.

    from pipelines.use_case import load_config
    config = load_config("keel.toml")
    config.use_case.label, config.model.estimator, config.local.registry, config.vertex.project

`keel new use-case` writes the file; the use case's `pipelines.py` reads it (its pipelines pass every
setting to this library's pipelines explicitly), and its Makefile turns it into `keel` options with
`keel config options compile|submit|schedule [PIPELINE]` (see `options`). Every key is known here: an
unknown key, a missing one or a wrong type fails with the file, the key, the value and the rule.
Local paths are relative to the use case's folder, where `make` runs.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.common.errors import KeelError
from components.common.labels import CLASSIFICATION, REGRESSION
from pipelines.names import check_identifier

CONFIG_FILE = "keel.toml"


class ConfigError(KeelError, ValueError):
    """A use case's keel.toml that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class UseCaseSettings:
    package: str  # the use case's Python package (its pipelines and components)
    model_name: str  # the model's name in the registry
    label: str
    task: str  # classification | regression
    id_columns: list[str]
    split_key: str  # "" splits at random (seeded)
    skip_columns: list[str]  # left out when validating data to score (the label)


@dataclass(frozen=True)
class ModelSettings:
    estimator: str
    train_function: str
    hyperparameters: dict[str, Any]
    test_fraction: float
    seed: int


@dataclass(frozen=True)
class ScoringSettings:
    rows_per_shard: int
    max_shards: int
    min_score_std: float


@dataclass(frozen=True)
class Locations:
    """Where runs read and write: data, predictions, registry and the suite."""

    training_data: str
    scoring_data: str
    predictions: str
    registry: str
    suite: str


@dataclass(frozen=True)
class VertexSettings(Locations):
    project: str = ""
    location: str = ""
    pipeline_root: str = ""
    service_account: str = ""
    image_registry: str = ""
    image_tag: str = ""


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str = ""


@dataclass(frozen=True)
class Alerts:
    webhook: str = ""
    emails: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UseCaseConfig:
    use_case: UseCaseSettings
    model: ModelSettings
    thresholds: dict[str, dict[str, Any]]
    scoring: ScoringSettings
    local: Locations
    vertex: VertexSettings
    schedule: dict[str, Schedule] = field(default_factory=dict)
    resources: dict[str, dict[str, str]] = field(default_factory=dict)
    alerts: Alerts = field(default_factory=Alerts)
    path: str = ""  # the file it was read from (not a key of the file)

    def parameters(self, pipeline: str, where: Locations) -> dict[str, str]:
        """The parameters of the use case's `pipeline` that say where it reads and writes, at `where`
        (`self.local` or `self.vertex`): the same names as the generated pipelines.py declares."""
        if pipeline not in PIPELINE_LOCATIONS:
            raise ConfigError(
                f"{self.path}: no locations known for pipeline {pipeline!r}; known: {', '.join(PIPELINE_LOCATIONS)}"
            )
        return {parameter: getattr(where, key) for parameter, key in PIPELINE_LOCATIONS[pipeline].items()}


# Pipeline of the use case -> {its parameter: the Locations field it takes}.
PIPELINE_LOCATIONS: dict[str, dict[str, str]] = {
    "training": {"data_uri": "training_data", "registry_uri": "registry", "suite_uri": "suite"},
    "batch_scoring": {
        "data_uri": "scoring_data",
        "output_uri": "predictions",
        "registry_uri": "registry",
        "suite_uri": "suite",
    },
}

_RESOURCE_FIELDS = ("cpu", "memory", "accelerator")


def _value(kind: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, where)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    expected = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where} = {value!r}: expected a list of strings")
        return value
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} = {value!r}: expected a table")
        item_kind = args[1] if args else Any
        return {
            key: value[key] if item_kind is Any else _value(item_kind, value[key], f"{where}.{key}")
            for key in value
        }
    accepted = (int, float) if kind is float else (kind,)
    if not isinstance(value, accepted) or isinstance(value, bool):
        raise ConfigError(f"{where} = {value!r}: expected {expected[kind]}")
    return float(value) if kind is float else value


def _build(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where or 'top level'}: unknown key(s) {', '.join(unknown)}; known: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    missing = [
        name
        for name, f in fields.items()
        if name not in table and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{where or 'top level'}: missing key(s) {', '.join(missing)}")
    return cls(
        **{
            name: _value(hints[name], value, f"{where}.{name}" if where else name)
            for name, value in table.items()
        }
    )


def _check(config: UseCaseConfig, path: str) -> None:
    from components.common.registry.base import check_model_name
    from components.common.thresholds import ThresholdError, check_thresholds

    settings = config.use_case
    try:
        check_identifier(settings.package, "[use_case] package")
        check_model_name(settings.model_name)
        check_thresholds(config.thresholds, "[thresholds]")
    except (ValueError, ThresholdError) as error:  # InvalidNameError is a ValueError
        raise ConfigError(f"{path}: {error}") from None
    if settings.task not in (CLASSIFICATION, REGRESSION):
        raise ConfigError(
            f"{path}: [use_case] task = {settings.task!r}: expected {CLASSIFICATION} or {REGRESSION}"
        )
    if not settings.label:
        raise ConfigError(f"{path}: [use_case] label is empty: name the column to predict")
    if not (config.model.estimator or config.model.train_function):
        raise ConfigError(f"{path}: [model] needs an estimator or a train_function")
    if not config.thresholds:
        raise ConfigError(f"{path}: [thresholds] is empty: a model is never promoted without one")
    for component, spec in config.resources.items():
        unknown = sorted(set(spec) - set(_RESOURCE_FIELDS))
        if unknown:
            raise ConfigError(
                f"{path}: [resources] {component}: unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(_RESOURCE_FIELDS)}"
            )


def load_config(path: str | Path = CONFIG_FILE) -> UseCaseConfig:
    """The use case settings in `path` (a keel.toml), checked; ConfigError naming the key otherwise."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (a use case keeps its settings in {CONFIG_FILE})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    try:
        config = dataclasses.replace(_build(UseCaseConfig, table, ""), path=str(path))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    _check(config, str(path))
    return config


# ------------------------------------------------------------------------------------ keel options


def _images(vertex: VertexSettings) -> list[str]:
    found = ["--image-registry", vertex.image_registry] if vertex.image_registry else []
    return found + (["--image-tag", vertex.image_tag] if vertex.image_tag else [])


def _resources(config: UseCaseConfig) -> list[str]:
    found = []
    for component, spec in config.resources.items():
        fields = ",".join(f"{key}={spec[key]}" for key in _RESOURCE_FIELDS if spec.get(key))
        if fields:
            found += ["--resources", f"{component}={fields}"]
    return found


def _alerts(config: UseCaseConfig) -> list[str]:
    found = ["--alert-webhook", config.alerts.webhook] if config.alerts.webhook else []
    for address in config.alerts.emails:
        found += ["--alert-email", address]
    return found


def _vertex_job(config: UseCaseConfig, pipeline: str) -> list[str]:
    vertex = config.vertex
    for key in ("project", "location", "pipeline_root"):
        if not getattr(vertex, key):
            raise ConfigError(f"{config.path}: [vertex] {key} is empty; Vertex AI needs it")
    found = [
        "--project",
        vertex.project,
        "--location",
        vertex.location,
        "--pipeline-root",
        vertex.pipeline_root,
    ]
    if vertex.service_account:
        found += ["--service-account", vertex.service_account]
    for name, value in config.parameters(pipeline, vertex).items():
        found += ["--param", f"{name}={value}"]
    return found + _images(vertex)


def options(config: UseCaseConfig, command: str, pipeline: str = "") -> list[str]:
    """The `keel COMMAND` options keel.toml sets: `compile` (images, resources, alerts), `submit
    PIPELINE` (Vertex project, location, pipeline root, service account, the [vertex] locations as
    parameters, images, resources, alerts) and `schedule PIPELINE` (those, and [schedule.PIPELINE])."""
    if command == "compile":
        return _images(config.vertex) + _resources(config) + _alerts(config)
    if command not in ("submit", "schedule"):
        raise ConfigError(f"keel config options {command!r}: expected compile, submit or schedule")
    found = _vertex_job(config, pipeline)
    if command == "schedule":
        if pipeline not in config.schedule:
            raise ConfigError(f"{config.path}: no [schedule.{pipeline}] table (its cron and time zone)")
        schedule = config.schedule[pipeline]
        found += ["--cron", schedule.cron] + (["--timezone", schedule.timezone] if schedule.timezone else [])
    return found + _resources(config) + _alerts(config)
