"""Per-task settings of a pipeline: resources, retries and caching, picked up when it is compiled.

A pipeline's wiring ends with one call, `configure_tasks()`, which sets on every task made so far:
- resources: CPU and memory limits and an accelerator, from DEFAULT_RESOURCES (the one place of
  defaults) overridden by the resources the compile was given (`keel compile|submit|schedule create
  --resources train_model=cpu=8,memory=32G,accelerator=NVIDIA_L4:1`). A task that runs as a Vertex
  CustomJob (GCPC's create_custom_training_job_from_component) gets its machine from the CustomJob.
- retries: RETRY (with exponential backoff) on tasks that reach external state, i.e. call cloud
  services, unless their component declares `retry=False`;
- caching off on tasks whose component must never be cached (it writes or fingerprints external
  state, or depends on the time; see components.external_state).

KFP runs a pipeline's wiring when `@dsl.pipeline` is applied; `build(pipeline, resources)` runs it
again with those resources in force (a context variable), so nothing is rewritten in the compiled
YAML. `pipelines.compiling` does this for `keel compile`, `keel submit` and `keel schedule create`.
"""

from __future__ import annotations

import contextvars
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from components.common.errors import KeelError
from components.external_state import component_key, declaration


class ResourceError(KeelError, ValueError):
    """A resource setting that cannot be applied; the message names the component and the field."""


@dataclass(frozen=True)
class Resources:
    """Limits of one component's tasks; None leaves a field to the defaults (and Vertex's)."""

    cpu: str | None = None  # CPUs, e.g. "4", "0.5" or "500m"
    memory: str | None = None  # e.g. "16G", "512Mi"
    accelerator: str | None = None  # a Vertex AI accelerator type, e.g. "NVIDIA_L4"
    accelerator_count: int | None = None

    def over(self, base: Resources) -> Resources:
        """These settings, with `base`'s where these leave a field unset."""
        return Resources(
            *(
                mine if mine is not None else theirs
                for mine, theirs in zip(_values(self), _values(base), strict=True)
            )
        )


def component_name(name: str) -> str:
    """A component's name as resources are keyed: `train_model` (also for `train-model`)."""
    return component_key(name).replace("-", "_")


def _values(resources: Resources) -> tuple:
    return dataclasses.astuple(resources)


_LIGHT, _MEDIUM, _HEAVY = Resources("1", "4G"), Resources("2", "8G"), Resources("4", "16G")
# Heavy steps get Vertex AI's default machine (e2-standard-4); light ones a smaller one.
DEFAULT_RESOURCES: dict[str, Resources] = {
    "fingerprint_inputs": _LIGHT,
    "validate_data": _HEAVY,
    "combine_validation": _MEDIUM,
    "split_data": _HEAVY,
    "train_model": _HEAVY,
    "evaluate_model": _HEAVY,
    "select_model": _LIGHT,
    "register_model": _LIGHT,
    "resolve_model": _MEDIUM,
    "plan_shards": _LIGHT,
    "batch_predict": _HEAVY,
    "publish_predictions": _HEAVY,
    "notify": _LIGHT,
    "check_drift": _MEDIUM,
    "deploy_model": _LIGHT,  # it waits for Vertex AI, which runs the deployment
}

# Retries of a task that reaches external state: after 1 min, then 2 min (at most 10 min in all).
RETRY = {"num_retries": 2, "backoff_duration": "60s", "backoff_factor": 2.0, "backoff_max_duration": "600s"}

_CPU = re.compile(r"([0-9]*[.])?[0-9]+m?")
_MEMORY = re.compile(r"[0-9]+(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?")
_FIELDS = ("cpu", "memory", "accelerator")


def accelerator_types() -> list[str]:
    """The accelerator types Vertex AI knows (its API's AcceleratorType enum)."""
    from google.cloud.aiplatform_v1.types.accelerator_type import AcceleratorType

    return [kind.name for kind in AcceleratorType if kind.value]


def _field(component: str, name: str, value: str) -> dict:
    where = f"--resources {component}: {name}={value!r}"
    if name == "cpu":
        if not _CPU.fullmatch(value) or not float(value.removesuffix("m")):
            raise ResourceError(f"{where}: expected a positive number of CPUs (4, 0.5) or millicores (500m)")
        return {"cpu": value}
    if name == "memory":
        if not _MEMORY.fullmatch(value) or not int(re.match(r"[0-9]+", value)[0]):
            raise ResourceError(f"{where}: expected a positive size such as 16G, 512Mi or 1Ti")
        return {"memory": value}
    kind, _, count = value.partition(":")
    known = accelerator_types()
    if kind not in known:
        raise ResourceError(f"{where}: unknown accelerator type {kind!r}; Vertex AI knows {', '.join(known)}")
    if count and (not count.isdigit() or not int(count)):
        raise ResourceError(f"{where}: the count after ':' must be a positive integer, e.g. {kind}:1")
    return {"accelerator": kind, "accelerator_count": int(count or 1)}


def parse_resources(texts: Sequence[str]) -> dict[str, Resources]:
    """`--resources` texts, `COMPONENT=cpu=N,memory=SIZE,accelerator=TYPE[:COUNT]` (any of the
    three fields), as component name -> Resources. A component given twice: the later fields win.
    Whether the pipeline has the component is checked once it is built (`check_components`)."""
    parsed: dict[str, Resources] = {}
    for text in texts:
        component, _, fields = text.partition("=")
        component = component.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", component) or not fields:
            raise ResourceError(
                f"--resources {text!r}: expected COMPONENT=cpu=N,memory=SIZE,accelerator=TYPE[:COUNT], "
                "e.g. train_model=cpu=8,memory=32G"
            )
        settings: dict = {}
        for item in fields.split(","):
            name, sep, value = (part.strip() for part in item.partition("="))
            if name not in _FIELDS or not sep:
                raise ResourceError(
                    f"--resources {component}: unknown field {item.strip()!r}; "
                    f"expected {', '.join(f'{f}=...' for f in _FIELDS)}"
                )
            settings |= _field(component, name, value)
        key = component_name(component)
        parsed[key] = Resources(**settings).over(parsed.get(key, Resources()))
    return parsed


# Parameter types that travel inside a task's dict input as valid JSON: KFP places a list or dict
# parameter there as unquoted text, which breaks the dict.
_SCALAR_TYPES = {"String", "Integer", "Float", "Double", "Boolean"}


def scalar_parameters(parameters: Mapping[str, object]) -> dict[str, object]:
    """The text, number and boolean parameters among a pipeline function's `locals()`, for the first
    step to check by name; list and dict parameters are checked by the components that take them."""
    return {
        name: value
        for name, value in parameters.items()
        if getattr(value, "channel_type", None) in _SCALAR_TYPES
    }


# What the pipeline being built picks up: resources by component, and the components it has.
_RESOURCES: contextvars.ContextVar[Mapping[str, Resources] | None] = contextvars.ContextVar(
    "keel_resources", default=None
)
_SEEN: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("keel_components_seen", default=None)
_RETRIES: contextvars.ContextVar[bool] = contextvars.ContextVar("keel_retries", default=True)


def configure_tasks() -> None:
    """Set resources, retries and caching on every task of the pipeline being defined (see the
    module docstring). Call it once, last, in a `@dsl.pipeline` function."""
    from kfp.dsl import pipeline_context

    pipeline = pipeline_context.Pipeline.get_default_pipeline()
    if pipeline is None:
        raise RuntimeError("configure_tasks() belongs inside a @dsl.pipeline function, after its tasks")
    for task in pipeline.tasks.values():
        name = component_name(task.component_spec.name)
        if _SEEN.get() is not None:
            _SEEN.get().add(name)
        declared = declaration(name)
        if declared is not None:
            if declared.never_cached:
                task.set_caching_options(False)
            reaches = declared.never_cached or any(read in task.inputs for read in declared.reads)
            if declared.retried and reaches and _RETRIES.get():
                task.set_retry(**RETRY)
        if task.container_spec is not None:
            _set_resources(task, name)


def _set_resources(task, name: str) -> None:
    asked = (_RESOURCES.get() or {}).get(name)
    if "worker_pool_specs" in (task.component_spec.inputs or {}):  # a Vertex CustomJob
        if asked:
            raise ResourceError(
                f"--resources {name}: {name} runs as a Vertex CustomJob here; set its machine with "
                "create_custom_training_job_from_component(machine_type=..., accelerator_type=...)"
            )
        return
    wanted = (asked or Resources()).over(DEFAULT_RESOURCES.get(name, Resources()))
    if wanted.cpu:
        task.set_cpu_limit(wanted.cpu)
    if wanted.memory:
        task.set_memory_limit(wanted.memory)
    if wanted.accelerator:
        task.set_accelerator_type(wanted.accelerator)
        task.set_accelerator_limit(wanted.accelerator_count or 1)


def build(pipeline, resources: Mapping[str, Resources], retries: bool = True) -> tuple[object, set[str]]:
    """`pipeline` (a @dsl.pipeline) built again with `resources` in force, and the components its
    wiring configured (by name). Pipelines it calls by a module-level name (e.g. a use case calling
    the library's `training`) are built again too. `retries=False`: no task is retried (`keel run
    --local`, where nothing is transient and a retry of a bad table would only add minutes of
    backoff). Without resources and with retries: `pipeline` itself, no names."""
    if not resources and retries:
        return pipeline, set()
    tokens = _RESOURCES.set(dict(resources)), _SEEN.set(set()), _RETRIES.set(retries)
    try:
        return _rebuilt(pipeline), _SEEN.get()
    finally:
        for variable, token in zip((_RESOURCES, _SEEN, _RETRIES), tokens, strict=True):
            variable.reset(token)


def _rebuilt(pipeline):
    from kfp import dsl
    from kfp.dsl.graph_component import GraphComponent

    scope = pipeline.pipeline_func.__globals__
    nested = {
        name: scope[name]
        for name in pipeline.pipeline_func.__code__.co_names
        if isinstance(scope.get(name), GraphComponent)
    }
    try:
        scope.update({name: _rebuilt(inner) for name, inner in nested.items()})
        return dsl.pipeline(
            pipeline.pipeline_func,
            name=pipeline.name,
            description=pipeline.description,
            display_name=pipeline.pipeline_spec.pipeline_info.display_name or None,
            pipeline_config=pipeline.pipeline_config,
        )
    finally:
        scope.update(nested)


def check_components(
    resources: Mapping[str, Resources], configured: set[str], pipelines: Sequence[str]
) -> None:
    """Raise ResourceError when `resources` names a component that none of `pipelines` configured."""
    unknown = sorted(set(resources) - configured)
    if unknown:
        raise ResourceError(
            f"--resources {', '.join(unknown)}: no such component in {', '.join(pipelines) or 'no pipeline'} "
            f"(components: {', '.join(sorted(configured)) or 'none: does the wiring end with configure_tasks()?'})"
        )
