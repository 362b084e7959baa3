"""Parameters checked by name before any work: one set of rules for the CLI, the components' cores
and a pipeline's first step.

    check({"run_date": "2026-02-30", "test_fraction": 0})
    # ParameterError: parameter 'run_date' = '2026-02-30': not a calendar date (rule: YYYY-MM-DD) ...

`check(params)` applies the rule of every parameter it knows by name (RULES) and leaves the others
alone; `check_pipeline(name, params, pipeline_root)` also refuses an output location that equals,
contains or sits inside an input location (see `components.common.locations`). A whole number is
accepted wherever a number is. Every message names the parameter, the value and the rule.
`run_date(run_date, schedule_time)` resolves the run date a scoring run's outputs are filed under.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from components.common import locations
from components.common.errors import ParameterError, parameter_error
from components.common.thresholds import check_thresholds, is_number

Rule = Callable[[str, Any], None]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*[:.][A-Za-z_]\w*")


def _number(holds: Callable[[float], bool], rule: str, whole: bool = False) -> Rule:
    def check_number(name: str, value: Any) -> None:
        typed = (
            isinstance(value, numbers.Integral) and not isinstance(value, bool) if whole else is_number(value)
        )
        if not typed or not holds(value):
            raise parameter_error(name, value, f"must be {rule}")

    return check_number


def _text(required: bool = False) -> Rule:
    def check_text(name: str, value: Any) -> None:
        if not isinstance(value, str) or (required and not value.strip()):
            raise parameter_error(
                name, value, "must be a non-empty string" if required else "must be a string"
            )

    return check_text


def _run_date(name: str, value: Any) -> None:
    if value == "":
        return
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise parameter_error(name, value, "expected YYYY-MM-DD, or empty for the schedule time's date")
    try:
        date.fromisoformat(value)
    except ValueError as error:
        raise parameter_error(name, value, f"not a calendar date ({error}; rule: YYYY-MM-DD)") from None


def _import_path(required: bool) -> Rule:
    def check_import_path(name: str, value: Any) -> None:
        if value == "" and not required:
            return
        if not isinstance(value, str) or not _IMPORT_PATH.fullmatch(value):
            raise parameter_error(name, value, "expected an import path like 'package.module:Name'")

    return check_import_path


def _columns(name: str, value: Any) -> None:
    if not isinstance(value, list | tuple) or not all(isinstance(c, str) and c for c in value):
        raise parameter_error(name, value, "must be a list of column names (non-empty strings)")


def _keyword_arguments(name: str, value: Any) -> None:
    if not isinstance(value, dict) or not all(isinstance(key, str) and key for key in value):
        raise parameter_error(name, value, "must be a JSON object of argument name -> value")


def _model_name(name: str, value: Any) -> None:
    from components.common.registry.base import check_model_name

    try:
        check_model_name(value if isinstance(value, str) else "")
    except ValueError:
        raise parameter_error(
            name, value, "use 1-63 lowercase letters, digits, '_' or '-', starting with a letter"
        ) from None


def _registry_uri(name: str, value: Any) -> None:
    from components.common.registry import check_registry_uri

    if value == "":
        return
    try:
        check_registry_uri(value if isinstance(value, str) else "")
    except ValueError:
        raise parameter_error(
            name,
            value,
            "expected a local folder, file:///path or vertex://projects/P/locations/L[/models/NAME]",
        ) from None


_AT_LEAST_ONE = _number(lambda v: v >= 1, "a whole number >= 1", whole=True)
_PERCENT = _number(lambda v: 1 <= v <= 100, "a whole number from 1 to 100", whole=True)

RULES: dict[str, Rule] = {
    "data_uri": _text(),
    "suite_uri": _text(),
    "output_uri": _text(required=True),
    "registry_uri": _registry_uri,
    "model_name": _model_name,
    "label": _text(required=True),
    "split_key": _text(),
    "key_column": _text(),
    "id_columns": _columns,
    "skip_columns": _columns,
    "estimator": _import_path(required=True),
    "train_function": _import_path(required=False),
    "hyperparameters": _keyword_arguments,
    "thresholds": lambda name, value: check_thresholds(value, name),
    "test_fraction": _number(lambda v: 0 < v < 1, "a number between 0 and 1, both excluded"),
    "seed": _number(lambda v: 0 <= v < 2**32, "a whole number from 0 to 4294967295", whole=True),
    "run_date": _run_date,
    "rows_per_shard": _number(
        lambda v: v >= 0, "a whole number >= 0 (0: sized by shard_minutes)", whole=True
    ),
    "shard_minutes": _number(lambda v: v > 0, "a number > 0"),
    "rows_per_second": _number(lambda v: v > 0, "a number > 0"),
    "max_shards": _AT_LEAST_ONE,
    "sample_rows": _AT_LEAST_ONE,
    "batch_rows": _AT_LEAST_ONE,
    "min_score_std": _number(lambda v: v >= 0, "a number >= 0"),
    # deploy_model's settings, and the training pipeline's for its deploy step
    "traffic_percent": _PERCENT,
    "deploy_traffic_percent": _PERCENT,
    "min_replicas": _AT_LEAST_ONE,
    "max_replicas": _AT_LEAST_ONE,
    "deploy_min_replicas": _AT_LEAST_ONE,
    "deploy_max_replicas": _AT_LEAST_ONE,
}


# Parameters whose value is text; KFP hands every value of a dict of pipeline parameters on as text.
_TEXT = {
    "data_uri", "suite_uri", "output_uri", "registry_uri", "model_name", "label", "split_key",
    "key_column", "estimator", "train_function", "run_date",
}  # fmt: skip


def decoded(params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with the text of every non-text parameter read back as JSON where it parses (a
    pipeline passing `{"test_fraction": test_fraction}` to a task gives it `"0.2"`). A whole number
    reads back as an int: KFP carries every number as a double (`seed` 0 arrives as `"0.0"`)."""

    def value(name: str, raw: Any) -> Any:
        if name in _TEXT or not isinstance(raw, str):
            return raw
        try:
            read = json.loads(raw)
        except json.JSONDecodeError:
            return raw
        return int(read) if isinstance(read, float) and read.is_integer() else read

    return {name: value(name, raw) for name, raw in params.items()}


def _call(rule: Rule, name: str, value: Any) -> str | None:
    """The rule's message, None when `value` keeps it."""
    try:
        rule(name, value)
    except ParameterError as error:
        return str(error)
    return None


def check(params: Mapping[str, Any]) -> None:
    """Raise ParameterError naming every parameter of `params` that breaks its rule (see RULES)."""
    problems = [
        problem
        for name, value in params.items()
        if name in RULES and (problem := _call(RULES[name], name, value))
    ]
    if problems:
        raise ParameterError("; ".join(problems))


def run_date(explicit: str = "", schedule_time: str = "") -> str:
    """The run date, YYYY-MM-DD: `explicit` if given (checked by its rule), else the schedule time's
    date (Vertex), else today (UTC)."""
    if explicit:
        check({"run_date": explicit})
        return explicit
    try:  # set by Vertex for scheduled runs; locally it stays a placeholder that does not parse
        return datetime.fromisoformat(schedule_time.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    return datetime.now(UTC).date().isoformat()


# Which parameters name locations a run writes (outputs) and reads (inputs).
OUTPUTS = ("output_uri", "gcs_destination_output_uri_prefix")
INPUTS = ("data_uri", "suite_uri", "registry_uri", "gcs_source_uris")
WRITES_TO_REGISTRY = {"training", "register_model"}  # where registry_uri is an output


def location_roles(
    name: str, params: Mapping[str, Any], pipeline_root: str = ""
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (outputs, inputs) locations of a run of pipeline or component `name` with `params`.

    An empty `registry_uri` is the default local registry; `pipeline_root`, where the run's
    artifacts go, is an output too.
    """
    from components.common.config import settings

    values = dict(params)
    if "registry_uri" in values and not values["registry_uri"]:
        values["registry_uri"] = settings().registry_uri
    outputs = {key: values[key] for key in OUTPUTS if key in values}
    inputs = {key: values[key] for key in INPUTS if key in values}
    if name.removeprefix("keel-").replace("-", "_") in WRITES_TO_REGISTRY and "registry_uri" in inputs:
        outputs["registry_uri"] = inputs.pop("registry_uri")
    if pipeline_root:
        outputs["pipeline root"] = pipeline_root
    return outputs, inputs


def check_pipeline(name: str, params: Mapping[str, Any], pipeline_root: str = "") -> None:
    """Check a whole parameter set of pipeline (or component) `name` before any work: every rule
    (`check`), then no output location inside an input one (LocationError)."""
    check(params)
    locations.check_outputs(*location_roles(name, params, pipeline_root))
