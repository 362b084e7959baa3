import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp.components import load_component_from_file

import components
from pipelines.compiling import PIPELINES, compile_all


def _images(path: Path) -> list[str]:
    executors = yaml.safe_load(path.read_text())["deploymentSpec"]["executors"]
    return [e["container"]["image"] for e in executors.values() if "container" in e]


def test_everything_compiles_and_loads_back(tmp_path: Path):
    paths = compile_all(tmp_path)
    assert sorted(p.stem for p in paths) == sorted([*components.__all__, *PIPELINES])
    for path in paths:
        assert load_component_from_file(str(path)).name


def test_each_component_names_its_own_image(tmp_path: Path):
    for path in compile_all(tmp_path, registry="europe-docker.pkg.dev/acme/keel", tag="abc123"):
        images = _images(path)
        assert not [i for i in images if i.startswith("localhost/")], path
        ours = [i for i in images if i.startswith("europe-docker.pkg.dev/acme/keel/keel-")]
        assert all(i.endswith(":abc123") for i in ours)
        assert ours or path.stem == "managed_batch_scoring"  # only GCPC's own image there
    for name in components.__all__:
        expected = f"europe-docker.pkg.dev/acme/keel/keel-{name.replace('_', '-')}:abc123"
        assert _images(tmp_path / f"{name}.yaml") == [expected]


def test_cli_fails_loudly_on_unknown_names(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "compile.py", "--output-dir", str(tmp_path), "no_such_pipeline"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 1
    assert "no pipeline or component named 'no_such_pipeline'" in result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("module", ["components", "pipelines.cli"])
def test_import_stays_light(module: str):
    code = (
        f"import sys, {module}\n"
        "heavy = [m for m in ('great_expectations', 'clearml', 'google.cloud.aiplatform', 'sklearn') if m in sys.modules]\n"
        "print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_managed_scoring_feeds_a_registry_model_to_vertex_batch_prediction(tmp_path: Path):
    spec = yaml.safe_load(compile_all(tmp_path, names=["managed_batch_scoring"])[0].read_text())
    importer = next(e for e in spec["deploymentSpec"]["executors"].values() if "importer" in e)["importer"]
    assert importer["typeSchema"]["schemaTitle"] == "google.VertexModel"
    assert importer["metadata"]["resourceName"] == "{{$.inputs.parameters['metadata']}}"
    batch = spec["root"]["dag"]["tasks"]["model-batch-predict"]["inputs"]["parameters"]
    assert batch["gcs_source_uris"]["componentInputParameter"] == "gcs_source_uris"
    assert batch["max_replica_count"]["componentInputParameter"] == "max_replica_count"


def test_training_deploys_only_when_asked_and_the_challenger_is_promoted(tmp_path: Path):
    from pipelines.caching import Source, tasks

    spec = yaml.safe_load(compile_all(tmp_path, names=["training"])[0].read_text())
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    assert parameters["deploy_endpoint"]["defaultValue"] == parameters["serving_image"]["defaultValue"] == ""
    path = ["exit-handler-1", "condition-2", "condition-3", "deploy-model"]
    conditions, dag = [], spec["components"]["comp-exit-handler-1"]["dag"]
    for key in path[1:-1]:
        conditions.append(dag["tasks"][key]["triggerPolicy"]["condition"])
        dag = spec["components"][dag["tasks"][key]["componentRef"]["name"]]["dag"]
    assert conditions == [
        "inputs.parameter_values['pipelinechannel--deploy_endpoint'] != ''",
        "inputs.parameter_values['pipelinechannel--select-model-promote'] == true",
    ]
    deploy = tasks(spec)["/".join(path)]
    assert deploy.artifacts["vertex_model"] == Source(
        "output", "exit-handler-1/register-model", "vertex_model"
    )
    assert deploy.params["endpoint"] == Source("parameter", "deploy_endpoint")
    assert deploy.params["traffic_percent"] == Source("parameter", "deploy_traffic_percent")
    assert not deploy.cached and "retryPolicy" not in dag["tasks"]["deploy-model"]
    register = tasks(spec)["exit-handler-1/register-model"]
    assert register.params["serving_image"] == Source("parameter", "serving_image")


def test_no_pipeline_default_is_the_churn_example(tmp_path: Path):
    """Settings only the user knows are required; batch scoring takes the suite and the label to skip
    from the model (examples/churn/ has the sample's)."""
    compiled = {
        path.stem: yaml.safe_load(path.read_text())
        for path in compile_all(tmp_path, names=["training", "batch_scoring"])
    }
    training = compiled["training"]["root"]["inputDefinitions"]["parameters"]
    for required in ("data_uri", "label", "model_name", "suite_uri"):
        assert "defaultValue" not in training[required] and not training[required].get("isOptional"), required
    assert (training["id_columns"]["defaultValue"], training["split_key"]["defaultValue"]) == ([], "")
    scoring = compiled["batch_scoring"]["root"]["inputDefinitions"]["parameters"]
    assert "defaultValue" not in scoring["model_name"] and not scoring["model_name"].get("isOptional")
    assert [scoring[name]["defaultValue"] for name in ("suite_uri", "skip_columns", "id_columns")] == [
        "",
        [],
        [],
    ]
