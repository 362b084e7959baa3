"""Pipeline parameters: `key=value` parsing and checks against a compiled spec's declared inputs.

The declared inputs are the root `inputDefinitions` of the compiled pipeline spec (KFP IR): each
parameter has a `parameterType` and, when it may be left out, `isOptional` (and a `defaultValue`).
Beyond names and types, every value (given or default) is held to its rule and no output location
may sit inside an input one (`components.common.parameters.check_pipeline`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.common import parameters as rules
from components.common.errors import ParameterError
from components.common.locations import LocationError

# IR parameter type -> (accepted Python types, how an error message names it)
PARAMETER_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "STRING": ((str,), "a string"),
    "NUMBER_INTEGER": ((int,), "an integer"),
    "NUMBER_DOUBLE": ((int, float), "a number"),
    "BOOLEAN": ((bool,), "true or false"),
    "LIST": ((list,), "a JSON list"),
    "STRUCT": ((dict,), "a JSON object"),
}


def declared_inputs(spec: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (parameters, artifacts) a compiled pipeline spec declares at its root, by name."""
    definitions = spec.get("root", {}).get("inputDefinitions", {})
    return dict(definitions.get("parameters", {})), dict(definitions.get("artifacts", {}))


def _unknown(name: str, parameters: Mapping[str, Any]) -> str:
    return f"unknown parameter {name!r}; known: {', '.join(sorted(parameters)) or 'none'}"


def split_pairs(pairs: list[str], option: str) -> dict[str, str]:
    """`key=value` texts (the values of command-line `option`) as a dict."""
    split = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"{option} {pair!r}: expected key=value")
        split[key] = value
    return split


def parse_params(pairs: list[str], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """`--param key=value` pairs to values: JSON when the text parses as JSON, else the text.

    `parameters` are the declared parameters (see `declared_inputs`); a STRING parameter always
    gets a string: its text as given unless that text is a JSON string (`name='"007"'`).
    """
    params = {}
    for key, raw in split_pairs(pairs, "--param").items():
        if key not in parameters:
            raise ParameterError(f"--param {key}: {_unknown(key, parameters)}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if parameters[key].get("parameterType") == "STRING" and not isinstance(value, str):
            value = raw
        params[key] = value
    return params


def _type_problem(name: str, value: Any, parameter_type: str) -> str | None:
    if parameter_type not in PARAMETER_TYPES:
        return None
    accepted, described = PARAMETER_TYPES[parameter_type]
    if isinstance(value, accepted) and (bool in accepted or not isinstance(value, bool)):
        return None
    return f"parameter {name!r} must be {described} ({parameter_type}), got {type(value).__name__} {value!r}"


def _shown_name(spec: Mapping[str, Any]) -> str:
    return spec.get("pipelineInfo", {}).get("name", "pipeline")


def pipeline_name(spec: Mapping[str, Any]) -> str:
    """The name a compiled spec runs under (`keel-batch-scoring` -> `batch_scoring`)."""
    return _shown_name(spec).removeprefix("keel-").replace("-", "_")


def _as_declared(value: Any, parameter_type: str) -> Any:
    """A whole number for a NUMBER_DOUBLE parameter as a float (kfp refuses an int there), and a
    NUMBER_INTEGER default as an int (the spec's JSON holds every number as a float)."""
    if parameter_type == "NUMBER_DOUBLE" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if parameter_type == "NUMBER_INTEGER" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_params(
    params: Mapping[str, Any], spec: Mapping[str, Any], pipeline_root: str = ""
) -> dict[str, Any]:
    """`params` ready to run `spec`: ValueError naming every unknown, mistyped, missing or invalid input.

    Input artifacts cannot be given as parameters, so a spec with a required one is refused. Values
    given and defaults are then checked by name (rules and locations, `pipeline_root` included);
    a whole number for a NUMBER_DOUBLE parameter comes back as a float.
    """
    parameters, artifacts = declared_inputs(spec)
    problems = [_unknown(name, parameters) for name in params if name not in parameters]
    problems += [
        problem
        for name, value in params.items()
        if name in parameters
        and (problem := _type_problem(name, value, parameters[name].get("parameterType", "")))
    ]
    missing = [
        name
        for name, declared in parameters.items()
        if name not in params and not declared.get("isOptional") and "defaultValue" not in declared
    ]
    if missing:
        problems.append(f"missing required parameter(s): {', '.join(sorted(missing))}")
    needed = [name for name, declared in artifacts.items() if not declared.get("isOptional")]
    if needed:
        problems.append(
            f"needs input artifact(s) {', '.join(sorted(needed))}, which cannot be given as parameters"
        )
    if problems:
        raise ParameterError(f"{_shown_name(spec)}: " + "; ".join(problems))
    ready = {
        name: _as_declared(value, parameters[name].get("parameterType", "")) for name, value in params.items()
    }
    defaults = {
        name: _as_declared(declared["defaultValue"], declared.get("parameterType", ""))
        for name, declared in parameters.items()
        if "defaultValue" in declared
    }
    try:
        rules.check_pipeline(pipeline_name(spec), {**defaults, **params}, pipeline_root)
    except (ParameterError, LocationError) as error:
        raise type(error)(f"{_shown_name(spec)}: {error}") from None
    return ready
