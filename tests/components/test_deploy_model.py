"""deploy_model through the real Vertex AI client against a loopback fake of the API: the requests
it sends (container, traffic split, machines), a canary, a full rollout, failures, and a kfp.local run."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials

from components.common.errors import ParameterError
from components.common.registry import ServingContainer, open_registry
from components.deploy_model import core
from tests.fakes.vertex_api import FakeVertexAPI

PROJECT, LOCATION = "my-project", "europe-west4"
REGISTRY = f"vertex://projects/{PROJECT}/locations/{LOCATION}"
MODEL = f"projects/{PROJECT}/locations/{LOCATION}/models/churn"
SERVE_IMAGE = "europe-docker.pkg.dev/my-project/keel/keel-serve:0.1.0"
NEVER_READY = "Model server never became ready. Please validate that your model file or container configuration are valid."


@pytest.fixture
def api():
    with FakeVertexAPI() as fake:
        yield fake


@pytest.fixture
def registry(api, tmp_path: Path, profiled_model: str):
    """A Vertex registry on the fake that registers versions with keel-serve: churn v1, v2 and v3."""
    gcs = tmp_path / "gcs"
    shutil.copytree(profiled_model, gcs / "bucket" / "models" / "churn")
    registry = open_registry(
        REGISTRY,
        api_endpoint=api.endpoint,
        api_transport="rest",
        credentials=AnonymousCredentials(),
        gcs_mount=str(gcs),
        serving_image=ServingContainer.keel_serve(SERVE_IMAGE),
    )
    for _ in range(3):
        registry.register("churn", "gs://bucket/models/churn")
    return registry


def request(api: FakeVertexAPI, version: str, **settings) -> core.DeployRequest:
    return core.DeployRequest("churn-online", f"{MODEL}@{version}", api_endpoint=api.endpoint, **settings)


def _step(call) -> str:
    """A deployment step a recorded request takes ("" for the others)."""
    if call.path.endswith(":deployModel"):
        return "deploy"
    if call.path.endswith(":undeployModel"):
        return f"undeploy {call.body['deployedModelId']}"
    return "poll" if "/operations/" in call.path else ""


def endpoint_state(api: FakeVertexAPI) -> tuple[list[str], dict[str, int]]:
    """The only endpoint's deployed model ids and traffic split."""
    (endpoint,) = api.endpoints.values()
    return [deployed["id"] for deployed in endpoint["deployedModels"]], endpoint["trafficSplit"]


def test_register_model_registers_a_serving_container_in_vertex_only(tmp_path: Path):
    from components.common.registry import VertexRegistry
    from components.register_model.core import open_target

    local = str(tmp_path / "registry")
    with pytest.raises(
        ParameterError, match=rf"'serving_image' = '{SERVE_IMAGE}': only Vertex AI Model Registry"
    ):
        open_target(local, SERVE_IMAGE)
    assert open_target(local).uri == local
    vertex = open_target(REGISTRY, SERVE_IMAGE)  # uploads as the registry fixture's does
    assert isinstance(vertex, VertexRegistry) and vertex._serving_image == ServingContainer.keel_serve(
        SERVE_IMAGE
    )


@pytest.mark.parametrize(
    ("serving", "percent", "expected"),
    [
        ({}, 10, {"0": 100}),  # nothing serves: the new deployment takes all
        ({"7": 100}, 100, {"0": 100}),
        ({"7": 100}, 10, {"0": 10, "7": 90}),
        ({"7": 90, "8": 10}, 25, {"0": 25, "7": 68, "8": 7}),  # 67.5 and 7.5: one more to the first
        ({"7": 50, "8": 50, "9": 0}, 1, {"0": 1, "7": 50, "8": 49}),
    ],
)
def test_the_new_deployment_takes_its_share_and_the_serving_ones_share_the_rest(serving, percent, expected):
    split = core.traffic_split(serving, percent)
    assert split == expected and sum(split.values()) == 100


def test_first_deployment_creates_the_endpoint_and_serves_the_keel_serve_version(api, registry):
    (upload, *_) = api.calls("POST", r"/models:upload$")
    assert upload.body["model"]["containerSpec"] == {
        "imageUri": SERVE_IMAGE,
        "command": ["keel", "serve", "--host", "0.0.0.0", "--model-name", "churn"],
        "ports": [{"containerPort": 8080}],
        "predictRoute": "/predict",
        "healthRoute": "/health",
    }
    registry.promote("churn", 2)
    api.requests.clear()

    deployment = core.deploy(
        request(api, "champion", machine_type="n1-standard-4", min_replicas=1, max_replicas=3)
    )

    (listing,) = api.calls("GET", r"/endpoints$")
    assert listing.query["filter"] == ['display_name="churn-online"']
    assert [call.body for call in api.calls("POST", r"/endpoints$")] == [{"displayName": "churn-online"}]
    (deploy,) = api.calls("POST", r":deployModel$")
    assert deploy.body == {
        "deployedModel": {
            "model": f"{MODEL}@2",  # the alias pinned to the version it named
            "displayName": "churn-v2",
            "dedicatedResources": {
                "machineSpec": {"machineType": "n1-standard-4"},
                "minReplicaCount": 1,
                "maxReplicaCount": 3,
            },
        },
        "trafficSplit": {"0": 100},
    }
    assert not api.calls("POST", ":undeployModel")
    assert deployment.created and deployment.container_image == SERVE_IMAGE
    assert endpoint_state(api) == ([deployment.new.id], {deployment.new.id: 100})
    assert deployment.after == {deployment.new.id: 100} and deployment.endpoint == deploy.path[4:-12]


def test_a_canary_takes_its_share_and_keeps_the_old_deployment_serving_the_rest(api, registry):
    first = core.deploy(request(api, "1"))
    api.requests.clear()

    canary = core.deploy(
        core.DeployRequest(first.endpoint, f"{MODEL}@2", traffic_percent=10, api_endpoint=api.endpoint)
    )

    assert not api.calls("POST", r"/endpoints$") and not canary.created  # found by its resource name
    (deploy,) = api.calls("POST", r":deployModel$")
    assert deploy.body["trafficSplit"] == {"0": 10, first.new.id: 90}
    assert deploy.body["deployedModel"]["model"] == f"{MODEL}@2"
    assert not api.calls("POST", ":undeployModel")
    assert endpoint_state(api) == ([first.new.id, canary.new.id], {first.new.id: 90, canary.new.id: 10})
    assert canary.kept == [first.new] and canary.metrics() == {
        "traffic_percent": 10,
        "endpoint_created": 0,
        "undeployed": 0,
        "kept": 1,
    }
    report = canary.to_markdown()
    assert f"| {first.new.id} (churn-v1) | {MODEL}@1 | 100% | 90% |" in report
    assert "keep serving the other 90%" in report and SERVE_IMAGE in report


def test_a_canary_on_an_endpoint_that_serves_nothing_takes_all_the_traffic(api, registry):
    deployment = core.deploy(request(api, "1", traffic_percent=10))

    assert api.calls("POST", r":deployModel$")[0].body["trafficSplit"] == {"0": 100}
    assert deployment.metrics()["traffic_percent"] == 100
    assert "(canary at 10% asked: nothing else served, so it takes all)" in deployment.to_markdown()


def test_a_full_rollout_undeploys_the_old_deployments_only_once_the_new_one_is_done(api, registry):
    first = core.deploy(request(api, "1"))
    canary = core.deploy(request(api, "2", traffic_percent=10))
    api.slow_operations["deployModel"] = 1  # "not done" to the first poll
    api.requests.clear()

    rollout = core.deploy(request(api, "3"))

    (deploy,) = api.calls("POST", r":deployModel$")
    assert deploy.body["trafficSplit"] == {"0": 100}
    assert [step for call in api.requests if (step := _step(call))] == [
        "deploy",
        "poll",  # not done yet
        "poll",  # done
        f"undeploy {first.new.id}",
        f"undeploy {canary.new.id}",
    ]
    assert endpoint_state(api) == ([rollout.new.id], {rollout.new.id: 100})
    assert rollout.undeployed == [first.new, canary.new] and rollout.kept == []
    assert rollout.metrics()["undeployed"] == 2


def test_a_failed_deployment_says_so_and_undeploys_nothing(api, registry):
    first = core.deploy(request(api, "1"))
    api.failing_operations["deployModel"] = (9, NEVER_READY)

    with pytest.raises(core.DeployError) as raised:
        core.deploy(request(api, "2"))

    message = str(raised.value)
    assert f"endpoint {first.endpoint}: deploying {MODEL}@2 failed" in message
    assert (
        "never became ready" in message and "nothing was undeployed: the endpoint serves as before" in message
    )
    assert not api.calls("POST", ":undeployModel")
    assert endpoint_state(api) == ([first.new.id], {first.new.id: 100})


def test_a_deployment_not_done_in_time_undeploys_nothing(api, registry):
    first = core.deploy(request(api, "1"))
    api.unfinished_operations.add("deployModel")

    started = time.monotonic()
    with pytest.raises(
        core.DeployError, match=r"deploying .*@2 was not done in time: operation .* timeout_s \(1 s\)"
    ):
        core.deploy(request(api, "2", timeout_s=1))

    assert time.monotonic() - started < 10
    assert not api.calls("POST", ":undeployModel")
    assert endpoint_state(api) == ([first.new.id], {first.new.id: 100})


def test_an_old_deployment_left_behind_fails_the_run_after_its_report(api, registry, tmp_path: Path):
    first = core.deploy(request(api, "1"))
    api.failing_operations["undeployModel"] = (13, "Internal error.")
    report = tmp_path / "report.md"

    with pytest.raises(
        core.DeployError, match=r"churn@2 serves all the traffic, but 1 deployment\(s\) there before"
    ):
        core.run(request(api, "2", report=str(report)))

    assert (
        f"Not undeployed: endpoint {first.endpoint}: undeploying {first.new.id} (churn-v1) failed"
        in report.read_text()
    )
    ids, split = endpoint_state(api)
    assert first.new.id in ids and first.new.id not in split  # deployed, serving nothing


def test_vertex_refusals_and_ambiguous_endpoints_name_what_is_wrong(api, registry):
    with pytest.raises(core.DeployError, match=rf"reading model version {MODEL}@9 failed: 404"):
        core.deploy(request(api, "9"))
    missing = f"projects/{PROJECT}/locations/{LOCATION}/endpoints/42"
    with pytest.raises(core.DeployError, match=f"endpoint {missing} does not exist"):
        core.deploy(core.DeployRequest(missing, f"{MODEL}@1", api_endpoint=api.endpoint))
    for endpoint_id in ("51", "52"):  # two endpoints with one display name, made by someone else
        name = f"{api.location_name(LOCATION)}/endpoints/{endpoint_id}"
        api.endpoints[endpoint_id] = {"name": name, "displayName": "shared", "deployedModels": []}
    with pytest.raises(
        core.DeployError, match=r"endpoint 'shared': 2 endpoints in .* have this display name"
    ):
        core.deploy(core.DeployRequest("shared", f"{MODEL}@1", api_endpoint=api.endpoint))
    assert not api.calls("POST", ":deployModel")


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"traffic_percent": 0}, "parameter 'traffic_percent' = 0: must be a whole number from 1 to 100"),
        ({"traffic_percent": 101}, "parameter 'traffic_percent' = 101"),
        (
            {"min_replicas": 2, "max_replicas": 1},
            "parameter 'max_replicas' = 1: must be at least min_replicas (2)",
        ),
        ({"endpoint": "team/churn"}, "parameter 'endpoint' = 'team/churn': expected a display name"),
        ({"machine_type": " "}, "parameter 'machine_type' = ' ': must name a machine type"),
        ({"timeout_s": 0}, "parameter 'timeout_s' = 0: must be a number of seconds > 0"),
        ({"model": ""}, "a Vertex model version (`vertex_model`"),
        ({"model_name": "churn"}, "not both"),
        (
            {"model": "", "model_name": "churn", "registry_uri": "/tmp/registry"},
            "parameter 'registry_uri' = '/tmp/registry': deploy_model deploys versions of Vertex AI Model Registry",
        ),
        (
            {"model": "/runs/register-model/vertex_model"},
            "parameter 'vertex_model' = '/runs/register-model/vertex_model': not a version of Vertex AI Model Registry",
        ),
    ],
)
def test_bad_settings_are_refused_before_any_call(api, settings, problem):
    wanted = {"endpoint": "churn-online", "model": f"{MODEL}@1", "api_endpoint": api.endpoint, **settings}
    with pytest.raises(ParameterError) as raised:
        core.deploy(core.DeployRequest(**wanted))
    assert problem in str(raised.value)
    assert not api.requests


def test_component_deploys_the_champion_under_kfp_local(kfp_local: Path, api, registry):
    from components.deploy_model.component import deploy_model

    registry.promote("churn", 2)
    task = deploy_model(
        endpoint="churn-online",
        registry_uri=REGISTRY,
        model_name="churn",
        machine_type="n1-standard-4",
        api_endpoint=api.endpoint,
    )

    (endpoint,) = api.endpoints.values()
    new = task.outputs["deployed_model_id"]
    assert task.outputs["traffic_split"] == {new: 100} == endpoint["trafficSplit"]
    assert task.outputs["vertex_endpoint"].metadata["resourceName"] == endpoint["name"]
    assert task.outputs["metrics"].metadata == {
        "traffic_percent": 100,
        "endpoint_created": 1,
        "undeployed": 0,
        "kept": 0,
    }
    assert api.calls("POST", ":deployModel")[0].body["deployedModel"]["model"] == f"{MODEL}@2"
    report = Path(task.outputs["report"].path).read_text()
    assert report.startswith("## Deployed churn v2 to endpoint churn-online (full rollout)\n")
    assert f"| serving container | {SERVE_IMAGE} |" in report


def CONTAINER_CASE() -> dict:  # noqa: N802 - the name the image tests (tests/images) look for
    """The image test's case: a full rollout to a loopback fake of Vertex AI started here (left running
    for the session: the image run and the kfp.local run both deploy to it), its version added to
    the fake directly."""
    api = FakeVertexAPI().start()
    api.models["churn"] = [
        {
            "name": api.model_name(LOCATION, "churn"),
            "displayName": "churn",
            "versionId": "1",
            "versionAliases": ["default"],
            "containerSpec": {"imageUri": SERVE_IMAGE},
        }
    ]

    def check(outputs: dict) -> None:
        assert outputs["traffic_split"] == {outputs["deployed_model_id"]: 100}
        assert (
            outputs["vertex_endpoint"].metadata["resourceName"] == next(iter(api.endpoints.values()))["name"]
        )
        assert outputs["report"].read_text().startswith("## Deployed churn v1 to endpoint churn-online")

    return {
        "arguments": {
            "endpoint": "churn-online",
            "registry_uri": REGISTRY,
            "model_name": "churn",
            "model_ref": "1",
            "api_endpoint": api.endpoint,
        },
        "check": check,
        # the kfp.local run deploys again to the endpoint the image run created, and undeploys its deployment
        "ignore": ("deployed_model_id", "traffic_split", "metrics"),
    }
