"""Caching keyed on content, checked on compiled specs (pipelines/caching.py).

Every task of both pipelines, and of a user's pipeline built with the library's pieces, either takes
the fingerprint of what it reads from the uncached fingerprint step of the same run or is uncached;
deliberately wrong pipelines fail the check, which names each task at fault, and `keel compile`
refuses them.
"""

from pathlib import Path

import pytest
import yaml
from kfp import dsl

from components import (
    batch_predict,
    evaluate_model,
    fingerprint_inputs,
    register_model,
    select_model,
    split_data,
    train_model,
    validate_data,
)
from components.external_state import external_state
from pipelines import caching
from pipelines.caching import CachingError
from pipelines.compiling import PIPELINES, compile_all
from pipelines.steps import configure_tasks

# -------------------------------------------------------------------------------- a user's pipeline


@dsl.pipeline(name="my-training")
def my_training(data_uri: str, registry_uri: str, model_name: str = "fraud"):
    """The README's example: the library's components, wired as the README says."""
    inputs = fingerprint_inputs(
        data_uri=data_uri,
        suite_uri="gs://my-bucket/suites/customers.json",
        registry_uri=registry_uri,
        model_name=model_name,
    )
    checked = validate_data(
        data_uri=data_uri,
        suite_uri="gs://my-bucket/suites/customers.json",
        data_fingerprint=inputs.outputs["data_fingerprint"],
        suite_fingerprint=inputs.outputs["suite_fingerprint"],
    )
    split = split_data(
        data_uri=data_uri, label="fraud", key_column="id", data_fingerprint=inputs.outputs["data_fingerprint"]
    ).after(checked)
    trained = train_model(data=split.outputs["train"], label="fraud", id_columns=["id"])
    challenger = evaluate_model(model=trained.outputs["model"], data=split.outputs["test"])
    champion = evaluate_model(
        registry_uri=registry_uri,
        model_name=model_name,
        data=split.outputs["test"],
        registry_fingerprint=inputs.outputs["registry_fingerprint"],
    )
    selected = select_model(
        challenger_metrics=challenger.outputs["metrics_json"],
        champion_metrics=champion.outputs["metrics_json"],
        thresholds={"roc_auc": {"lower_bound": 0.8}},
    )
    register_model(
        model=trained.outputs["model"],
        model_name=model_name,
        registry_uri=registry_uri,
        promote=selected.outputs["promote"],
    )
    configure_tasks()


# ----------------------------------------------------------------------- deliberately wrong pipelines


@dsl.pipeline(name="unfingerprinted")
def unfingerprinted(data_uri: str, suite_uri: str, registry_uri: str, model_name: str):
    """The wiring before fingerprints: every reader is cached on its URI alone."""
    checked = validate_data(data_uri=data_uri, suite_uri=suite_uri)
    split = split_data(data_uri=data_uri, label="churned").after(checked)
    evaluate_model(
        registry_uri=registry_uri, model_name=model_name, data=split.outputs["test"]
    ).set_display_name("evaluate-champion")
    configure_tasks()


@dsl.pipeline(name="not-configured")
def not_configured(data_uri: str, registry_uri: str):
    """Fingerprints wired, but no configure_tasks(): the fingerprint step and the writer stay cached."""
    inputs = fingerprint_inputs(data_uri=data_uri)
    split = split_data(
        data_uri=data_uri, label="churned", data_fingerprint=inputs.outputs["data_fingerprint"]
    )
    trained = train_model(data=split.outputs["train"], label="churned")
    register_model(model=trained.outputs["model"], model_name="churn", registry_uri=registry_uri)


@dsl.pipeline(name="fingerprint-of-another-table")
def fingerprint_of_another_table(data_uri: str, reference_uri: str, registry_uri: str):
    inputs = fingerprint_inputs(data_uri=reference_uri, registry_uri=registry_uri, model_name="churn")
    validate_data(data_uri=data_uri, data_fingerprint=inputs.outputs["data_fingerprint"])
    # KEEL_HOME's registry (registry_uri left to its default) is not the registry fingerprinted
    evaluate_model(
        model_name="churn",
        data_uri=reference_uri,
        data_fingerprint=inputs.outputs["data_fingerprint"],
        registry_fingerprint=inputs.outputs["registry_fingerprint"],
    )
    configure_tasks()


@dsl.pipeline(name="fingerprint-from-a-parameter")
def fingerprint_from_a_parameter(data_uri: str, data_fingerprint: str):
    validate_data(data_uri=data_uri, data_fingerprint=data_fingerprint)
    configure_tasks()


@dsl.pipeline(name="constant-suite")
def constant_suite(data_uri: str):
    inputs = fingerprint_inputs(data_uri=data_uri)
    validate_data(
        data_uri=data_uri, suite_uri="gs://b/suite.json", data_fingerprint=inputs.outputs["data_fingerprint"]
    )
    configure_tasks()


@dsl.component(base_image="python:3.11-slim")
def count_rows(data_uri: str) -> int:
    return len(open(data_uri).readlines())


@dsl.pipeline(name="undeclared-component")
def undeclared_component(data_uri: str):
    count_rows(data_uri=data_uri)
    configure_tasks()


@dsl.pipeline(name="imported-table")
def imported_table(data_uri: str):
    table = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset)
    validate_data(data=table.output)
    configure_tasks()


@external_state()
@dsl.component(base_image="python:3.11-slim")
def report_status(status: dsl.PipelineTaskFinalStatus) -> str:
    return status.state


@dsl.pipeline(name="nested-readers")
def nested_readers(data_uri: str, shards: list, strict: bool):
    """Readers inside ExitHandler, Condition and ParallelFor sub-DAGs: one pinned, two not."""
    inputs = fingerprint_inputs(data_uri=data_uri)
    with dsl.ExitHandler(report_status()):
        with dsl.If(strict == True):  # noqa: E712 - a KFP condition
            validate_data(data_uri=data_uri, data_fingerprint=inputs.outputs["data_fingerprint"])
            split_data(data_uri=data_uri, label="churned")
        with dsl.ParallelFor(shards) as shard:
            batch_predict(
                model=dsl.importer(artifact_uri="gs://m/model", artifact_class=dsl.Model).output,
                data_uri=data_uri,
                shard=shard,
            )
    configure_tasks()


# ------------------------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Both pipelines (and the managed one) as `keel compile` writes them."""
    paths = compile_all(tmp_path_factory.mktemp("compiled"), names=list(PIPELINES))
    return {path.stem: yaml.safe_load(path.read_text()) for path in paths}


def _fed_by(task: caching.Task, name: str) -> str:
    source = task.params[name]
    fed = f"{source.name}.{source.key}" if source.kind == "output" else source.describe()
    return fed.removeprefix("exit-handler-1/")


def _inside_alerts(tasks: dict[str, caching.Task]) -> dict[str, caching.Task]:
    """The tasks by path, with the alerting ExitHandler's group (pipelines.alerting) left out of it."""
    return {path.removeprefix("exit-handler-1/"): task for path, task in tasks.items()}


def test_every_task_of_both_pipelines_is_pinned_by_a_fingerprint_or_uncached(compiled):
    for spec in compiled.values():
        assert caching.problems(spec) == []

    training = _inside_alerts(caching.tasks(compiled["training"]))
    assert sorted(path for path, task in training.items() if not task.cached) == [
        "check-drift",
        "condition-2/condition-3/deploy-model",
        "fingerprint-inputs",
        "notify",
        "register-model",
    ]
    assert {
        path: _fed_by(training[path], "data_fingerprint") for path in ("validate-data", "split-data")
    } == {
        "validate-data": "fingerprint-inputs.data_fingerprint",
        "split-data": "fingerprint-inputs.data_fingerprint",
    }
    assert _fed_by(training["validate-data"], "suite_fingerprint") == "fingerprint-inputs.suite_fingerprint"
    champion = training["evaluate-model-2"]
    assert champion.display == "evaluate-champion"
    assert _fed_by(champion, "registry_fingerprint") == "fingerprint-inputs.registry_fingerprint"
    # the challenger, training and selection read only upstream artifacts and values: cached, no fingerprint
    assert all(training[path].cached for path in ("evaluate-model", "train-model", "select-model"))

    scoring = _inside_alerts(caching.tasks(compiled["batch_scoring"]))
    assert sorted(path for path, task in scoring.items() if not task.cached) == [
        "check-drift",  # it appends to the monitoring history under output_uri
        "fingerprint-inputs",
        "fingerprint-inputs-2",  # the suite resolve_model settled on (given, else the model's)
        "notify",
        "publish-predictions",
    ]
    assert (
        _fed_by(scoring["resolve-model"], "registry_fingerprint") == "fingerprint-inputs.registry_fingerprint"
    )
    assert scoring["fingerprint-inputs-2"].display == "fingerprint-suite"
    assert (
        _fed_by(scoring["for-loop-2/validate-data"], "suite_fingerprint")
        == "fingerprint-inputs-2.suite_fingerprint"
    )
    for path in ("for-loop-2/validate-data", "plan-shards", "resolve-model", "for-loop-2/batch-predict"):
        assert _fed_by(scoring[path], "data_fingerprint") == "fingerprint-inputs.data_fingerprint", path
    # the managed pipeline: its batch prediction job writes to Cloud Storage, so it always runs
    assert [task.cached for task in caching.tasks(compiled["managed_batch_scoring"]).values()] == [
        True,
        False,
    ]


def test_a_users_pipeline_built_with_the_library_passes():
    caching.check(my_training)
    walked = caching.tasks(caching.load_spec(my_training))
    assert len(walked) == 8 and not walked["register-model"].cached and walked["evaluate-model-2"].cached


def test_the_check_fails_naming_each_unpinned_reader():
    with pytest.raises(CachingError) as raised:
        caching.check(unfingerprinted)
    message = str(raised.value)
    assert message.startswith("unfingerprinted: caching on Vertex would not follow content:")
    assert caching.problems(caching.load_spec(unfingerprinted)) == [
        _unset("evaluate-champion (evaluate-model)", "registry_uri", "registry_fingerprint"),
        _unset("split-data", "data_uri", "data_fingerprint"),
        _unset("validate-data", "data_uri", "data_fingerprint"),
        _unset("validate-data", "suite_uri", "suite_fingerprint"),
    ]


def _unset(task: str, read: str, fingerprint: str) -> str:
    return (
        f"task {task}: reads external state through {read} (pipeline parameter {read}) with caching on, so "
        f"Vertex could reuse it after that state changed: its {fingerprint} input is not set; feed it from an "
        f"uncached fingerprint step (e.g. fingerprint_inputs' {fingerprint}), or turn the task's caching off"
    )


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        (
            not_configured,
            [
                "task fingerprint-inputs: has caching on, but it fingerprints external state",
                "task register-model: has caching on, but it writes external state (registry_uri)",
                "task split-data: reads external state through data_uri (pipeline parameter data_uri) with caching "
                "on, so Vertex could reuse it after that state changed: its data_fingerprint input comes from task "
                "fingerprint-inputs, which is cached itself",
            ],
        ),
        (
            fingerprint_of_another_table,
            [
                'task evaluate-model: reads external state through model_name (the constant "churn") with '
                "caching on, so Vertex could reuse it after that state changed: its registry_fingerprint input "
                'fingerprints registry_uri (pipeline parameter registry_uri), model_name (the constant "churn") '
                'of task fingerprint-inputs, not registry_uri (the constant "")',
                "task validate-data: reads external state through data_uri (pipeline parameter data_uri) with "
                "caching on, so Vertex could reuse it after that state changed: its data_fingerprint input "
                "fingerprints data_uri (pipeline parameter reference_uri) of task fingerprint-inputs, not data_uri "
                "(pipeline parameter data_uri)",
            ],
        ),
        (
            fingerprint_from_a_parameter,
            ["its data_fingerprint input is pipeline parameter data_fingerprint, not a task's output"],
        ),
        (
            constant_suite,
            ['task validate-data: reads external state through suite_uri (the constant "gs://b/suite.json")'],
        ),
        (
            undeclared_component,
            [
                "task count-rows: its component (count-rows) declares no external state; declare what it reads "
                "and writes with @external_state(...) next to it"
            ],
        ),
        (
            imported_table,
            [
                "task validate-data: takes artifact data from importer importer, which names it by URI, not by "
                "content, with caching on: turn its caching off"
            ],
        ),
    ],
)
def test_the_check_fails_on_each_way_to_serve_a_stale_result(pipeline, expected):
    found = caching.problems(caching.load_spec(pipeline))
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert start in line, found


def test_the_check_looks_inside_exit_handlers_conditions_and_loops():
    found = caching.problems(caching.load_spec(nested_readers))
    assert [line.split(":")[0] for line in found] == [
        "task batch-predict (exit-handler-1/for-loop-3/batch-predict)",
        "task batch-predict (exit-handler-1/for-loop-3/batch-predict)",
        "task split-data (exit-handler-1/condition-2/split-data)",
    ]
    assert "takes artifact model from importer importer" in found[1]
    assert "exit-handler-1/condition-2/validate-data" in caching.tasks(caching.load_spec(nested_readers))


def test_keel_compile_refuses_a_pipeline_that_fails_the_check_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(PIPELINES, "unfingerprinted", f"{__name__}:unfingerprinted")
    with pytest.raises(CachingError, match="task validate-data: reads external state through data_uri"):
        compile_all(tmp_path, names=["unfingerprinted"])
    assert not list(tmp_path.iterdir())


def test_the_check_reads_a_compiled_yaml(compiled, tmp_path: Path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(yaml.safe_dump(compiled["batch_scoring"]))
    bad.write_text(yaml.safe_dump(caching.load_spec(unfingerprinted)))
    caching.check(str(good))
    with pytest.raises(CachingError, match="unfingerprinted: caching on Vertex"):
        caching.check(bad)
