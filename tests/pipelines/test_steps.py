"""Per-step resources and retries (pipelines/steps.py), as they show in the compiled YAML; training on
a Vertex CustomJob (GCPC's create_custom_training_job_from_component), checked at compile level."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from google.protobuf import json_format
from google_cloud_pipeline_components.v1.custom_job import create_custom_training_job_from_component
from kfp import compiler, dsl

from components import evaluate_model, fingerprint_inputs, register_model, split_data, train_model
from pipelines import caching, steps
from pipelines.compiling import compile_all
from pipelines.steps import DEFAULT_RESOURCES, RETRY, ResourceError, Resources, parse_resources
from pipelines.training import training

# The README's "Training on a bigger machine" example.
train_on_spot = create_custom_training_job_from_component(
    train_model,
    display_name="train-churn",
    machine_type="n1-highmem-16",
    accelerator_type="NVIDIA_TESLA_T4",
    accelerator_count=1,
    strategy="SPOT",
)


@dsl.pipeline(name="training-on-spot")
def training_on_spot(data_uri: str, registry_uri: str):
    inputs = fingerprint_inputs(data_uri=data_uri)
    split = split_data(
        data_uri=data_uri, label="churned", data_fingerprint=inputs.outputs["data_fingerprint"]
    )
    trained = train_on_spot(data=split.outputs["train"], label="churned", id_columns=["customer_id"])
    evaluate_model(model=trained.outputs["model"], data=split.outputs["test"])
    register_model(model=trained.outputs["model"], model_name="churn", registry_uri=registry_uri)
    steps.configure_tasks()


def _compiled(tmp_path: Path, names: list[str], resources=None) -> dict[str, dict]:
    paths = compile_all(tmp_path, names=names, resources=resources)
    return {path.stem: yaml.safe_load(path.read_text()) for path in paths}


def _resources(spec: dict) -> dict[str, dict]:
    return {
        name.removeprefix("exec-"): executor["container"].get("resources", {})
        for name, executor in spec["deploymentSpec"]["executors"].items()
    }


def _retried(spec: dict) -> dict[str, dict]:
    dags = [spec["root"], *spec["components"].values()]
    return {
        key: task.get("retryPolicy")
        for dag in dags
        for key, task in dag.get("dag", {}).get("tasks", {}).items()
    }


def test_every_task_gets_its_default_resources_and_cloud_callers_a_retry_with_backoff(tmp_path: Path):
    compiled = _compiled(tmp_path, ["training", "batch_scoring"])
    for spec in compiled.values():
        for executor, limits in _resources(spec).items():
            default = DEFAULT_RESOURCES[steps.component_name(re.sub(r"-[0-9]+$", "", executor))]
            assert (limits["resourceCpuLimit"], limits["resourceMemoryLimit"]) == (
                default.cpu,
                default.memory,
            )
            assert "accelerator" not in limits

    policy = {
        "maxRetryCount": RETRY["num_retries"],
        "backoffDuration": RETRY["backoff_duration"],
        "backoffFactor": RETRY["backoff_factor"],
        "backoffMaxDuration": RETRY["backoff_max_duration"],
    }
    training_retries = _retried(compiled["training"])
    assert {key for key, retry in training_retries.items() if retry} == {
        "check-drift",  # the champion's profile, from the registry
        "fingerprint-inputs",
        "validate-data",
        "split-data",
        "evaluate-model-2",  # the champion, from the registry
    }
    assert all(retry == policy for retry in training_retries.values() if retry)
    # register-model calls the registry, but a second registration after a lost answer would add a version
    assert training_retries["register-model"] is None
    scoring_retries = _retried(compiled["batch_scoring"])
    assert {key for key, retry in scoring_retries.items() if retry} == {
        "check-drift",
        "fingerprint-inputs",
        "fingerprint-inputs-2",  # the suite resolve-model settled on
        "validate-data",
        "plan-shards",
        "resolve-model",
        "batch-predict",
        "publish-predictions",
    }


def test_a_local_build_retries_nothing_and_leaves_the_pipeline_as_it_was():
    from pipelines.batch_scoring import batch_scoring

    def retried(pipeline) -> set[str]:
        spec = json_format.MessageToDict(pipeline.pipeline_spec)
        return {key for key, policy in _retried(spec).items() if policy}

    local, _ = steps.build(batch_scoring, {}, retries=False)
    assert retried(local) == set() and "resolve-model" in retried(batch_scoring)
    assert steps.build(batch_scoring, {}) == (batch_scoring, set())


def test_resources_given_at_compile_override_the_defaults_field_by_field(tmp_path: Path):
    resources = parse_resources(
        ["train_model=cpu=8,memory=32G,accelerator=NVIDIA_L4:1", "evaluate-model=memory=24Gi"]
    )
    compiled = _resources(_compiled(tmp_path, ["training"], resources)["training"])

    assert compiled["train-model"] == {
        "cpuLimit": 8.0,
        "memoryLimit": 32.0,
        "resourceCpuLimit": "8",
        "resourceMemoryLimit": "32G",
        "accelerator": {"type": "NVIDIA_L4", "count": "1", "resourceType": "NVIDIA_L4", "resourceCount": "1"},
    }
    for executor in ("evaluate-model", "evaluate-model-2"):  # both evaluations; cpu stays the default
        assert (compiled[executor]["resourceCpuLimit"], compiled[executor]["resourceMemoryLimit"]) == (
            "4",
            "24Gi",
        )
    assert compiled["select-model"]["resourceCpuLimit"] == DEFAULT_RESOURCES["select_model"].cpu
    # the pipeline object itself keeps the defaults: the settings applied to that one build
    assert _resources(caching.load_spec(training))["train-model"]["resourceCpuLimit"] == "4"


def test_keel_compile_takes_resources_and_names_an_unknown_component(tmp_path: Path):
    keel = [str(Path(sys.executable).parent / "keel"), "compile", "training", "--output-dir"]
    done = subprocess.run(
        [*keel, str(tmp_path / "ok"), "--resources", "train_model=cpu=16"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load((tmp_path / "ok" / "training.yaml").read_text())
    assert _resources(spec)["train-model"]["resourceCpuLimit"] == "16"

    refused = subprocess.run(
        [*keel, str(tmp_path / "bad"), "--resources", "trian_model=cpu=16"], capture_output=True, text=True
    )
    assert refused.returncode == 1 and not (tmp_path / "bad").exists()
    assert (
        "--resources trian_model: no such component in training (components: check_drift, deploy_model, "
        in refused.stderr
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("train_model", r"--resources 'train_model': expected COMPONENT=cpu=N,memory=SIZE,accelerator="),
        ("train_model=gpu=1", r"--resources train_model: unknown field 'gpu=1'; expected cpu=..., memory="),
        ("train_model=cpu", r"--resources train_model: unknown field 'cpu'"),
        (
            "train_model=cpu=eight",
            r"--resources train_model: cpu='eight': expected a positive number of CPUs",
        ),
        ("train_model=cpu=0", r"--resources train_model: cpu='0': expected a positive number"),
        ("train_model=memory=32GB", r"--resources train_model: memory='32GB': expected a positive size"),
        (
            "train_model=accelerator=NVIDIA_K9000:1",
            r"--resources train_model: accelerator='NVIDIA_K9000:1': unknown accelerator type 'NVIDIA_K9000'; "
            r"Vertex AI knows NVIDIA_TESLA_K80, .*NVIDIA_L4",
        ),
        (
            "train_model=accelerator=NVIDIA_L4:0",
            r"accelerator='NVIDIA_L4:0': the count after ':' must be a positive",
        ),
    ],
)
def test_bad_resource_texts_name_the_component_and_the_field(text: str, error: str):
    with pytest.raises(ResourceError, match=error):
        parse_resources([text])


def test_train_model_runs_as_a_spot_custom_job_with_its_machine_type(tmp_path: Path):
    path = tmp_path / "training_on_spot.yaml"
    compiler.Compiler().compile(training_on_spot, str(path))
    spec = yaml.safe_load(path.read_text())

    caching.check(spec)  # the wrapped train_model keeps its declaration
    task = spec["root"]["dag"]["tasks"]["train-model"]
    assert task["cachingOptions"] == {"enableCache": True} and "retryPolicy" not in task
    job = spec["components"][task["componentRef"]["name"]]["inputDefinitions"]["parameters"]
    assert job["strategy"]["defaultValue"] == "SPOT"
    [pool] = job["worker_pool_specs"]["defaultValue"]
    assert pool["machine_spec"] == {
        "machine_type": "n1-highmem-16",
        "accelerator_type": "NVIDIA_TESLA_T4",
        "accelerator_count": 1,
    }
    assert pool["container_spec"]["image_uri"] == train_model.component_spec.implementation.container.image
    launcher = spec["deploymentSpec"]["executors"][
        spec["components"][task["componentRef"]["name"]]["executorLabel"]
    ]
    assert launcher["container"]["args"][:2] == ["--type", "CustomJob"]
    assert "resources" not in launcher["container"]  # the machine is the CustomJob's, not the launcher's

    with pytest.raises(
        ResourceError, match="train_model runs as a Vertex CustomJob here; set its machine with"
    ):
        steps.build(training_on_spot, {"train_model": Resources(cpu="8")})


@dsl.pipeline(name="use-case-training")
def use_case_training(data_uri: str):
    """A use case's pipeline that calls the library's training pipeline by name, as `keel new` generates."""
    training(
        data_uri=data_uri,
        label="churned",
        model_name="churn",
        suite_uri="suite.json",
        id_columns=["customer_id"],
        split_key="customer_id",
    )


def test_resources_reach_the_tasks_of_a_pipeline_called_inside_another():
    asked = {"train_model": Resources(cpu="16", memory="64G")}
    built, configured = steps.build(use_case_training, asked)
    spec = yaml.safe_load(_compile_to_text(built))
    limits = _resources(spec)["train-model"]
    assert (limits["resourceCpuLimit"], limits["resourceMemoryLimit"]) == ("16", "64G")
    assert "train_model" in configured
    # The library's pipeline, as imported, keeps its defaults: the rebuild did not leak.
    untouched = yaml.safe_load(_compile_to_text(training))
    default = DEFAULT_RESOURCES["train_model"]
    assert _resources(untouched)["train-model"]["resourceCpuLimit"] == default.cpu


def _compile_to_text(pipeline) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "compiled.yaml"
        compiler.Compiler().compile(pipeline, str(path))
        return path.read_text()
