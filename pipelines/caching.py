"""Caching keyed on content: the rule, and its check on a compiled pipeline.

Vertex AI reuses a cached task when its component and its input values and artifacts are the same as
in an earlier run, whatever the content behind a URI or in a registry. Hence the rule:

    A task that reads external state (a table or suite behind a URI, a registry) either takes a
    content fingerprint of it, computed by an uncached task of the same run, or has caching off.
    A task that writes external state, computes fingerprints, or whose result depends on the time
    has caching off. A task that only transforms upstream artifacts and values keeps caching.

What a component reads and writes is declared next to it (components.external_state). `check`
walks every task of a compiled pipeline (sub-DAGs of ParallelFor, Condition and ExitHandler
included) and fails, naming the task, when one could be reused across runs whose state differs:
- its component has no declaration (so nobody has considered it);
- it reads through an input the pipeline sets (including when that input's value is a constant),
  has caching on, and its matching fingerprint input is missing, or does not come (through any
  sub-DAG plumbing) from an uncached task's fingerprint output of the same input value;
- it writes or fingerprints external state or depends on the time, and has caching on;
- it takes an artifact from a `dsl.importer` (identified by its URI, not its content) with caching on.

`keel compile` (pipelines.compiling) runs it on every pipeline; run it on your own with
`check(my_pipeline)` (a @dsl.pipeline, a compiled spec dict or the path of a compiled YAML).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.common.errors import KeelError
from components.external_state import ExternalState, declaration, declarations


class CachingError(KeelError, ValueError):
    """A compiled pipeline in which a task could serve a stale result; the message names each task."""


@dataclass(frozen=True)
class Source:
    """Where a task input's value comes from."""

    kind: str  # "parameter", "constant", "output", "loop item", "unset" or "other"
    name: str  # the parameter name, the JSON constant, or the producing task's path
    key: str = ""  # the producer's output

    def describe(self) -> str:
        if self.kind == "parameter":
            return f"pipeline parameter {self.name}"
        if self.kind == "constant":
            return f"the constant {self.name}"
        if self.kind == "output":
            return f"output {self.key!r} of task {self.name}"
        return f"{self.kind} {self.name}".strip()


EMPTY, UNSET = Source("constant", '""'), Source("unset", "")


@dataclass
class Task:
    path: str  # its key in its DAG, after the keys of the DAG tasks around it: `for-loop-1/batch-predict`
    display: str  # the name the Vertex console shows
    component: str  # the compiled component's key, e.g. `comp-evaluate-model-2`
    executor: dict[str, Any]
    cached: bool
    params: dict[str, Source] = field(default_factory=dict)  # every input parameter, set or default
    given: frozenset[str] = frozenset()  # the input parameters the pipeline sets
    artifacts: dict[str, Source] = field(default_factory=dict)

    def param(self, name: str) -> Source:
        return self.params.get(name, UNSET)

    @property
    def named(self) -> str:
        return self.display if self.display == self.path else f"{self.display} ({self.path})"


class _Walk:
    """Every executor task of a compiled spec, with where each input comes from."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.tasks: dict[str, Task] = {}
        self.dags: dict[str, dict[str, Any]] = {}
        root = spec["root"]
        parameters = root.get("inputDefinitions", {}).get("parameters", {})
        artifacts = root.get("inputDefinitions", {}).get("artifacts", {})
        self._dag(
            root,
            "",
            {name: Source("parameter", name) for name in parameters},
            {name: Source("parameter", name) for name in artifacts},
        )

    def _dag(
        self, component: dict, prefix: str, params: dict[str, Source], artifacts: dict[str, Source]
    ) -> None:
        for key, task in component["dag"].get("tasks", {}).items():
            path = prefix + key
            inputs = task.get("inputs", {})
            given = {
                name: self._param(value, prefix, params)
                for name, value in inputs.get("parameters", {}).items()
            }
            passed = {
                name: self._artifact(value, prefix, artifacts)
                for name, value in inputs.get("artifacts", {}).items()
            }
            inner = self.spec["components"][task["componentRef"]["name"]]
            if "dag" in inner:
                self.dags[path] = inner
                iterator = task.get("parameterIterator")
                if iterator:
                    given[iterator["itemInput"]] = Source("loop item", f"of task {path}")
                self._dag(inner, f"{path}/", given, passed)
                continue
            definitions = inner.get("inputDefinitions", {}).get("parameters", {})
            defaults = {
                name: Source("constant", json.dumps(d["defaultValue"], sort_keys=True))
                if "defaultValue" in d
                else UNSET
                for name, d in definitions.items()
            }
            self.tasks[path] = Task(
                path=path,
                display=task.get("taskInfo", {}).get("name", key),
                component=task["componentRef"]["name"],
                executor=self.spec["deploymentSpec"]["executors"][inner["executorLabel"]],
                cached=bool(task.get("cachingOptions", {}).get("enableCache")),
                params=defaults | given,
                given=frozenset(given),
                artifacts=passed,
            )

    @staticmethod
    def _param(value: dict, prefix: str, scope: dict[str, Source]) -> Source:
        if "componentInputParameter" in value:
            return scope.get(
                value["componentInputParameter"], Source("other", value["componentInputParameter"])
            )
        if "taskOutputParameter" in value:
            output = value["taskOutputParameter"]
            return Source("output", prefix + output["producerTask"], output["outputParameterKey"])
        if "runtimeValue" in value:
            return Source("constant", json.dumps(value["runtimeValue"].get("constant"), sort_keys=True))
        return Source("other", json.dumps(value, sort_keys=True))

    @staticmethod
    def _artifact(value: dict, prefix: str, scope: dict[str, Source]) -> Source:
        if "componentInputArtifact" in value:
            return scope.get(
                value["componentInputArtifact"], Source("other", value["componentInputArtifact"])
            )
        if "taskOutputArtifact" in value:
            output = value["taskOutputArtifact"]
            return Source("output", prefix + output["producerTask"], output["outputArtifactKey"])
        return Source("other", json.dumps(value, sort_keys=True))

    def producer(self, source: Source) -> tuple[Task, str] | None:
        """The executor task and output a task's output `source` comes from, through DAG outputs."""
        path, key = source.name, source.key
        while path in self.dags:
            outputs = self.dags[path]["dag"].get("outputs", {})
            selector = outputs.get("parameters", {}).get(key, {}).get("valueFromParameter")
            selector = selector or next(
                iter(outputs.get("artifacts", {}).get(key, {}).get("artifactSelectors", [])), None
            )
            if not selector:
                return None
            path = f"{path}/{selector['producerSubtask']}"
            key = selector.get("outputParameterKey") or selector.get("outputArtifactKey")
        return (self.tasks[path], key) if path in self.tasks else None


def tasks(spec: Mapping[str, Any]) -> dict[str, Task]:
    """Every task of the compiled pipeline `spec` that runs something (sub-DAGs' tasks included, by
    path), with where each of its inputs comes from."""
    return _Walk(spec).tasks


def problems(spec: Mapping[str, Any], declared: Mapping[str, ExternalState] | None = None) -> list[str]:
    """Every way a task of the compiled pipeline `spec` could serve a stale result, one line each;
    `declared`: the component declarations to use (default: every one made so far)."""
    declared = declarations() if declared is None else declared
    walk = _Walk(spec)
    found = []
    for task in walk.tasks.values():
        if "importer" in task.executor:
            continue
        state = declaration(task.component, declared)
        if state is None:
            found.append(
                f"task {task.named}: its component ({task.component.removeprefix('comp-')}) declares no external "
                "state; declare what it reads and writes with @external_state(...) next to it "
                "(components.external_state), or @external_state() when it reads only its inputs"
            )
            continue
        if task.cached:
            found += [
                f"task {task.named}: {problem}" for problem in _cached_problems(walk, task, state, declared)
            ]
    return sorted(found)


def _cached_problems(
    walk: _Walk, task: Task, state: ExternalState, declared: Mapping[str, ExternalState]
) -> list[str]:
    if state.never_cached:
        return [
            f"has caching on, but {state.never_cached}: turn its caching off (end the wiring with configure_tasks())"
        ]
    found = []
    groups: dict[str | None, list[str]] = {}
    for read, fingerprint in state.reads.items():
        groups.setdefault(fingerprint, []).append(read)
    for fingerprint, reads in groups.items():
        read = next((r for r in reads if r in task.given and task.param(r) != EMPTY), None)
        problem = _fingerprint_problem(walk, task, reads, fingerprint, declared) if read else ""
        if problem:
            found.append(
                f"reads external state through {read} ({task.param(read).describe()}) with caching on, so "
                f"Vertex could reuse it after that state changed: {problem}"
            )
    for name, source in task.artifacts.items():
        made = walk.producer(source) if source.kind == "output" else None
        if made and "importer" in made[0].executor:
            found.append(
                f"takes artifact {name} from importer {made[0].named}, which names it by URI, not by content, "
                "with caching on: turn its caching off"
            )
    return found


def _fingerprint_problem(
    walk: _Walk, task: Task, reads: list[str], fingerprint: str | None, declared: Mapping[str, ExternalState]
) -> str:
    """Why `task`'s `fingerprint` input does not pin what it reads through `reads` ("" when it does)."""
    if fingerprint is None:
        return "its component takes no fingerprint of it; turn its caching off"
    advice = f"feed it from an uncached fingerprint step (e.g. fingerprint_inputs' {fingerprint})"
    source = task.param(fingerprint)
    if fingerprint not in task.given:
        return f"its {fingerprint} input is not set; {advice}, or turn the task's caching off"
    made = walk.producer(source) if source.kind == "output" else None
    if made is None:
        return f"its {fingerprint} input is {source.describe()}, not a task's output; {advice}"
    producer, key = made
    if producer.cached:
        return f"its {fingerprint} input comes from task {producer.named}, which is cached itself"
    state = declaration(producer.component, declared)
    covered = state.fingerprints.get(key, ()) if state else ()
    if not covered:
        return (
            f"its {fingerprint} input is {source.describe()}, which is not a declared fingerprint; {advice}"
        )
    fingerprinted = {producer.param(name) for name in covered}
    stray = [read for read in reads if task.param(read) not in fingerprinted]
    if stray:
        theirs = ", ".join(f"{name} ({producer.param(name).describe()})" for name in covered)
        ours = ", ".join(f"{read} ({task.param(read).describe()})" for read in stray)
        return f"its {fingerprint} input fingerprints {theirs} of task {producer.named}, not {ours}"
    return ""


def load_spec(pipeline: Any) -> dict[str, Any]:
    """The compiled spec of a @dsl.pipeline, a compiled spec dict, or a compiled YAML file."""
    if isinstance(pipeline, Mapping):
        return dict(pipeline)
    if isinstance(pipeline, str | Path):
        import yaml

        return next(yaml.safe_load_all(Path(pipeline).read_text()))
    from google.protobuf import json_format

    return json_format.MessageToDict(pipeline.pipeline_spec)


def check(pipeline: Any, declared: Mapping[str, ExternalState] | None = None) -> None:
    """Raise CachingError naming every task of `pipeline` that could serve a stale result on
    Vertex (see the module docstring); `pipeline` as `load_spec` takes it."""
    spec = load_spec(pipeline)
    found = problems(spec, declared)
    if found:
        name = spec.get("pipelineInfo", {}).get("name", "pipeline")
        raise CachingError(
            f"{name}: caching on Vertex would not follow content:\n  - " + "\n  - ".join(found)
        )
