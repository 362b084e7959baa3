"""What a component reads and writes outside its inputs: declared once, next to the component.

    @external_state(reads={"data_uri": "data_fingerprint", "suite_uri": "suite_fingerprint"})
    @dsl.component(base_image=image("validate_data"), install_kfp_package=False)
    def validate_data(..., data_uri: str = "", suite_uri: str = "", data_fingerprint: str = "", ...):

Vertex AI caches a task by its component and its input values and artifacts, never by the content
behind a URI or in a registry. A declaration names, by input name, the state a component reaches
outside them, so that `pipelines.caching.check` can tell from a compiled pipeline whether a task
could be reused after that state changed, and `pipelines.steps.configure_tasks` can turn caching
off and retries on where they belong:

- `reads`: input -> the input that carries a content fingerprint of the state it names (a table or
  suite behind a URI, a registry), or None when the component takes no fingerprint (its tasks are
  then never cached). A task reads through an input when the pipeline sets that input.
- `writes`: inputs naming state the component changes (a registry, a published folder): never cached.
- `fingerprints`: output -> the inputs whose state it fingerprints: the task computing them runs
  every time (never cached), and is what cached readers take their fingerprints from.
- `depends_on_time`: its result depends on the clock: never cached.
- `retry`: whether a failed task may simply run again (default: when it reaches any external
  state, as a cloud call can fail for a moment). False for a component whose second run after a
  half-done first one would do harm (e.g. register a second version).

An empty declaration, `@external_state()`, says the component reads only its inputs and upstream
artifacts. Every component a pipeline uses needs a declaration (the check refuses a task whose
component has none), so a new component cannot slip in unconsidered. Declare a component you did
not write (e.g. from google_cloud_pipeline_components) by calling `external_state(...)(component)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from components.common.errors import DefinitionError

Component = TypeVar("Component")


@dataclass(frozen=True)
class ExternalState:
    """A component's declaration; see the module docstring."""

    reads: Mapping[str, str | None] = field(default_factory=dict)
    writes: tuple[str, ...] = ()
    fingerprints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    depends_on_time: bool = False
    retry: bool | None = None

    @property
    def never_cached(self) -> str:
        """Why its tasks must never be cached ("" when they may be)."""
        if self.fingerprints:
            return f"it fingerprints external state ({', '.join(sorted(self.fingerprints))})"
        if self.writes:
            return f"it writes external state ({', '.join(self.writes)})"
        if self.depends_on_time:
            return "its result depends on the time it runs"
        return ""

    @property
    def retried(self) -> bool:
        """Whether its tasks get a retry policy."""
        if self.retry is not None:
            return self.retry
        return bool(self.reads or self.writes or self.fingerprints)

    def inputs_named(self) -> set[str]:
        """Every input name the declaration mentions."""
        named = {*self.reads, *self.writes, *(f for f in self.reads.values() if f)}
        return named | {name for covered in self.fingerprints.values() for name in covered}


_DECLARED: dict[str, ExternalState] = {}


def component_key(name: str) -> str:
    """A component's name as declarations are looked up: `validate_data`, `validate-data` and
    KFP's compiled `comp-validate-data` (or `comp-validate-data-2`) are all `validate-data`."""
    return name.removeprefix("comp-").replace("_", "-").lower()


def external_state(
    *,
    reads: Mapping[str, str | None] | None = None,
    writes: tuple[str, ...] = (),
    fingerprints: Mapping[str, tuple[str, ...]] | None = None,
    depends_on_time: bool = False,
    retry: bool | None = None,
) -> Callable[[Component], Component]:
    """Declare what a KFP component reaches outside its inputs (see the module docstring).

    Returns a decorator that records the declaration under the component's name and returns the
    component unchanged; it raises ValueError when the declaration names an input or output the
    component does not have, or when another component of the same name was declared differently.
    """
    declared = ExternalState(
        reads=dict(reads or {}),
        writes=tuple(writes),
        fingerprints={output: tuple(inputs) for output, inputs in (fingerprints or {}).items()},
        depends_on_time=depends_on_time,
        retry=retry,
    )

    def declare(component: Component) -> Component:
        spec = component.component_spec  # a kfp BaseComponent
        _check_names(spec.name, declared, set(spec.inputs or {}), set(spec.outputs or {}))
        key = component_key(spec.name)
        if _DECLARED.get(key, declared) != declared:
            raise DefinitionError(
                f"component {spec.name!r}: declared twice, differently ({_DECLARED[key]} and {declared})"
            )
        _DECLARED[key] = declared
        return component

    return declare


def _check_names(component: str, declared: ExternalState, inputs: set[str], outputs: set[str]) -> None:
    unknown = sorted(declared.inputs_named() - inputs)
    if unknown:
        raise DefinitionError(
            f"component {component!r}: its external-state declaration names input(s) {', '.join(unknown)}, "
            f"which it does not have (inputs: {', '.join(sorted(inputs)) or 'none'})"
        )
    missing = sorted(set(declared.fingerprints) - outputs)
    if missing:
        raise DefinitionError(
            f"component {component!r}: declares fingerprint output(s) {', '.join(missing)}, which it does not have"
        )


def declaration(name: str, among: Mapping[str, ExternalState] | None = None) -> ExternalState | None:
    """The declaration of the component named `name` (in any form `component_key` takes), or None;
    `among`: the declarations to look in (default: every one made so far)."""
    among = _DECLARED if among is None else among
    key = component_key(name)
    if key in among:
        return among[key]
    base, _, suffix = key.rpartition("-")
    return among.get(base) if base and suffix.isdigit() else None


def declarations() -> dict[str, ExternalState]:
    """Every declaration made so far, by component key."""
    return dict(_DECLARED)
