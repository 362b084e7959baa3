"""`keel submit` and `keel schedule`: the real aiplatform, google-cloud-storage and google-auth
clients, signed in with Application Default Credentials (a generated service-account key), talk
to loopback fakes of Vertex AI, Cloud Storage and the OAuth token endpoint over REST.

Submissions that reach the fake name a service account and find no pipeline-root bucket (the
SDK then creates it): in every other case aiplatform 1.165 looks up the project number through
Resource Manager over gRPC, which no fake here serves.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl

from components import validate_data
from pipelines import vertex
from pipelines.compiling import retarget_images
from pipelines.parameters import parse_params
from pipelines.steps import Resources, parse_resources
from tests import churn
from tests.fakes.adc import serve_token_endpoint, service_account_key, verified_claims
from tests.fakes.gcs_api import FakeCloudStorage
from tests.fakes.vertex_api import FakeVertexAPI

PROJECT, LOCATION = "my-project", "europe-west4"
PARENT = f"/v1/projects/{PROJECT}/locations/{LOCATION}"
ROOT = "gs://keel-runs/pipeline-root"
SA = f"runner@{PROJECT}.iam.gserviceaccount.com"
REGISTRY, TAG = "europe-docker.pkg.dev/my-project/keel", "abc123"
IMAGE = f"{REGISTRY}/keel-validate-data:{TAG}"


@dsl.pipeline(name="typed-check")
def typed_check(
    data_uri: str, threshold: float, max_rows: int, strict: bool, skip: list, tag: str = "nightly"
):
    """Declares a parameter of each type; only some reach the task."""
    validate_data(data_uri=data_uri, fail_on_error=strict, skip_columns=skip)


TYPED_PARAMS = {
    "data_uri": "gs://data/t.parquet",
    "threshold": 0.5,
    "max_rows": 10,
    "strict": True,
    "skip": [],
}


@pytest.fixture(scope="module")
def typed_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`typed_check` compiled, its images pointed at REGISTRY/TAG."""
    path = tmp_path_factory.mktemp("compiled") / "typed_check.yaml"
    compiler.Compiler().compile(typed_check, str(path))
    documents = list(yaml.safe_load_all(path.read_text()))
    retarget_images(documents[0], REGISTRY, TAG)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return path


@pytest.fixture
def api():
    with FakeVertexAPI() as fake:
        yield fake


@pytest.fixture
def storage(api: FakeVertexAPI, monkeypatch: pytest.MonkeyPatch) -> FakeCloudStorage:
    """Cloud Storage on the fake's server, with no bucket yet."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", api.endpoint)
    return FakeCloudStorage(api)


@pytest.fixture
def key_file(api: FakeVertexAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Application Default Credentials: a new service-account key that signs in at the fake."""
    path = service_account_key(tmp_path, serve_token_endpoint(api), PROJECT)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return path


pytestmark = pytest.mark.usefixtures("storage", "key_file")


def on(api: FakeVertexAPI) -> dict[str, str]:
    return {"api_endpoint": api.endpoint, "api_transport": "rest"}


def where(api: FakeVertexAPI) -> list[str]:
    """The CLI's connection options for the fake."""
    return [
        "--project",
        PROJECT,
        "--location",
        LOCATION,
        "--api-endpoint",
        api.endpoint,
        "--api-transport",
        "rest",
    ]


def job_created(api: FakeVertexAPI) -> dict:
    [request] = api.calls("POST", "/pipelineJobs$")
    assert request.path == f"{PARENT}/pipelineJobs"
    return request.body


def tasks(pipeline_spec: dict) -> list[dict]:
    dags = [pipeline_spec["root"], *pipeline_spec["components"].values()]
    return [task for dag in dags for task in dag.get("dag", {}).get("tasks", {}).values()]


def images(pipeline_spec: dict) -> set[str]:
    return {e["container"]["image"] for e in pipeline_spec["deploymentSpec"]["executors"].values()}


def test_submit_compiles_by_name_and_sends_the_run_with_its_options(api, storage):
    params = {"data_uri": "gs://data/churn.parquet", "fail_on_error": False, "skip_columns": ["churned"]}
    job = vertex.submit(
        "validate_data",
        PROJECT,
        LOCATION,
        ROOT,
        service_account=SA,
        params=params,
        enable_caching=False,
        labels={"team": "ml", "trigger": "manual"},
        image_registry=REGISTRY,
        image_tag=TAG,
        **on(api),
    )

    body = job_created(api)
    assert body["displayName"] == "validate-data"
    assert body["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    assert body["runtimeConfig"]["parameterValues"] == params
    assert body["serviceAccount"] == SA
    assert body["labels"] == {"team": "ml", "trigger": "manual"}
    assert body["pipelineSpec"]["pipelineInfo"] == {"name": "validate-data"}
    assert images(body["pipelineSpec"]) == {IMAGE}
    assert [task["cachingOptions"] for task in tasks(body["pipelineSpec"])] == [{"enableCache": False}]

    [job_id] = api.calls("POST", "/pipelineJobs$")[0].query["pipelineJobId"]
    assert job_id.startswith("validate-data-")
    assert job.resource_name == f"projects/{api.project_number}/locations/{LOCATION}/pipelineJobs/{job_id}"
    assert vertex.console_url(job.resource_name, PROJECT) == (
        f"https://console.cloud.google.com/vertex-ai/locations/{LOCATION}/pipelines/runs/{job_id}?project={PROJECT}"
    )
    # aiplatform's pipeline-root check found no bucket: created in the job's region, runner granted.
    assert storage.buckets["keel-runs"]["location"] == "EUROPE-WEST4"
    bindings = {b["role"]: b["members"] for b in storage.policies["keel-runs"]["bindings"]}
    for role in ("roles/storage.objectCreator", "roles/storage.objectViewer"):
        assert bindings[role] == [f"serviceAccount:{SA}"]


def test_every_call_signs_in_with_application_default_credentials(api, key_file, typed_yaml):
    vertex.submit(
        str(typed_yaml), PROJECT, LOCATION, ROOT, service_account=SA, params=TYPED_PARAMS, **on(api)
    )

    [token_request] = api.calls("POST", "^/token$")
    assert token_request.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    storage_calls = (
        api.calls("GET", "^/storage/") + api.calls("POST", "^/storage/") + api.calls("PUT", "^/storage/")
    )
    assert storage_calls and {r.headers["authorization"] for r in storage_calls} == {"Bearer token-1"}
    # Google APIs take a JWT that google-auth signs with the key itself, without a token exchange.
    claims = verified_claims(api.calls("POST", "/pipelineJobs$")[0].headers["authorization"], key_file)
    assert claims["iss"] == claims["sub"] == f"keel-tests@{PROJECT}.iam.gserviceaccount.com"


def test_caching_is_left_as_compiled_unless_no_cache(api, typed_yaml):
    vertex.submit(
        str(typed_yaml), PROJECT, LOCATION, ROOT, service_account=SA, params=TYPED_PARAMS, **on(api)
    )

    spec = job_created(api)["pipelineSpec"]
    assert [task["cachingOptions"] for task in tasks(spec)] == [{"enableCache": True}]
    assert images(spec) == {IMAGE}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"thresold": 0.5},
            r"unknown parameter 'thresold'; known: data_uri, max_rows, skip, strict, tag, threshold",
        ),
        ({"threshold": "high"}, r"'threshold' must be a number \(NUMBER_DOUBLE\), got str 'high'"),
        ({"max_rows": 2.5}, r"'max_rows' must be an integer \(NUMBER_INTEGER\), got float 2.5"),
        ({"max_rows": True}, r"'max_rows' must be an integer \(NUMBER_INTEGER\), got bool True"),
        ({"strict": 1}, r"'strict' must be true or false \(BOOLEAN\), got int 1"),
        ({"skip": "churned"}, r"'skip' must be a JSON list \(LIST\), got str 'churned'"),
        ({"data_uri": None}, r"missing required parameter\(s\): data_uri"),
    ],
)
@pytest.mark.parametrize("command", ["submit", "schedule"])
def test_bad_parameters_fail_before_any_request(api, typed_yaml, command, change, error):
    params = {key: value for key, value in {**TYPED_PARAMS, **change}.items() if value is not None}
    extra = {"cron": "0 3 * * *"} if command == "schedule" else {}
    with pytest.raises(ValueError, match=f"^typed-check: .*{error}"):
        getattr(vertex, command)(str(typed_yaml), PROJECT, LOCATION, ROOT, params=params, **extra, **on(api))
    assert api.requests == []


def test_an_int_is_a_valid_number_and_every_problem_is_named_at_once(api, typed_yaml):
    vertex.submit(
        str(typed_yaml),
        PROJECT,
        LOCATION,
        ROOT,
        service_account=SA,
        params={**TYPED_PARAMS, "threshold": 1},
        **on(api),
    )
    assert job_created(api)["runtimeConfig"]["parameterValues"]["threshold"] == 1

    api.requests.clear()
    with pytest.raises(
        ValueError,
        match=r"unknown parameter 'x'.*'strict' must be.*missing required parameter\(s\): data_uri, skip$",
    ):
        vertex.submit(
            str(typed_yaml),
            PROJECT,
            LOCATION,
            ROOT,
            params={"x": 1, "strict": "yes", "threshold": 1, "max_rows": 1},
            **on(api),
        )
    assert api.requests == []


@pytest.mark.parametrize(
    ("pipeline", "root", "options", "error"),
    [
        (
            "validate_data",
            ROOT,
            {},
            r"Vertex AI cannot pull local images \(localhost/keel/keel-validate-data:",
        ),
        ("typed", ROOT, {"image_tag": "v2"}, r"typed_check.yaml is compiled already"),
        ("missing.yaml", ROOT, {}, r"missing.yaml: no such file"),
        ("no_such_pipeline", ROOT, {}, r"no pipeline or component named 'no_such_pipeline'"),
        ("typed", "/tmp/root", {}, r"pipeline root '/tmp/root': Vertex AI needs a gs:// URI"),
        ("typed", ROOT, {"api_transport": "http"}, r"api transport 'http': expected one of grpc, rest"),
        ("typed", ROOT, {"api_transport": "grpc"}, r"plain http:// needs the REST transport"),
        ("typed", ROOT, {"labels": {"Team": "ml"}}, r"label 'Team': a key is a lowercase letter then"),
        (
            "typed",
            ROOT,
            {"enable_caching": True},
            r"enable_caching=True would turn caching on for every task",
        ),
        (
            "typed",
            ROOT,
            {"resources": {"train_model": Resources(cpu="8")}},
            r"tag, resources and alert settings apply to names",
        ),
        (
            "training",
            ROOT,
            {"resources": {"trian_model": Resources(cpu="8")}, "image_registry": REGISTRY},
            r"--resources trian_model: no such component in training \(components: check_drift, deploy_model, ",
        ),
    ],
)
def test_bad_options_fail_before_any_request(api, typed_yaml, pipeline, root, options, error):
    params = TYPED_PARAMS if pipeline == "typed" else {}
    pipeline = str(typed_yaml) if pipeline == "typed" else pipeline
    with pytest.raises((ValueError, LookupError, OSError), match=error):
        vertex.submit(pipeline, PROJECT, LOCATION, root, params=params, **{**on(api), **options})
    assert api.requests == []


@pytest.mark.parametrize(
    ("endpoint", "transport", "expected"),
    [
        (None, "grpc", None),
        ("europe-west4-aiplatform.googleapis.com", "grpc", "europe-west4-aiplatform.googleapis.com"),
        ("https://vertex.p.googleapis.com/", "grpc", "vertex.p.googleapis.com"),
        ("10.0.0.5:443", "grpc", "10.0.0.5:443"),
        ("https://vertex.p.googleapis.com/", "rest", "https://vertex.p.googleapis.com"),
        ("http://127.0.0.1:8080", "rest", "http://127.0.0.1:8080"),
    ],
)
def test_api_endpoint_is_given_to_each_transport_in_its_form(endpoint, transport, expected):
    assert vertex.client_endpoint(endpoint, transport) == expected


def test_api_endpoint_with_a_path_is_refused():
    with pytest.raises(ValueError, match="expected a host\\[:port\\] or a URL without a path"):
        vertex.client_endpoint("https://vertex.example.com/v1", "rest")


def test_schedule_sends_cron_with_time_zone_limits_and_the_run(api, typed_yaml):
    created = vertex.schedule(
        str(typed_yaml),
        PROJECT,
        LOCATION,
        ROOT,
        cron="0 3 * * *",
        timezone="Europe/Paris",
        max_concurrent_run_count=2,
        max_run_count=30,
        start_time="2030-01-01T00:00:00Z",
        schedule_name="typed-check nightly",
        service_account=SA,
        params=TYPED_PARAMS,
        labels={"team": "ml"},
        enable_caching=False,
        **on(api),
    )

    [request] = api.calls("POST", "/schedules$")
    assert request.path == f"{PARENT}/schedules"
    body = request.body
    assert body["displayName"] == "typed-check nightly"
    assert body["cron"] == "TZ=Europe/Paris 0 3 * * *"
    assert (body["maxConcurrentRunCount"], body["maxRunCount"]) == ("2", "30")  # int64 travel as strings
    assert body["startTime"] == "2030-01-01T00:00:00Z"
    run = body["createPipelineJobRequest"]
    assert run["parent"] == f"projects/{PROJECT}/locations/{LOCATION}"
    job = run["pipelineJob"]
    assert job["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    assert job["runtimeConfig"]["parameterValues"] == TYPED_PARAMS
    assert (job["serviceAccount"], job["labels"]) == (SA, {"team": "ml"})
    assert images(job["pipelineSpec"]) == {IMAGE}
    assert [task["cachingOptions"] for task in tasks(job["pipelineSpec"])] == [{"enableCache": False}]
    assert api.calls("POST", "/pipelineJobs$") == []  # a schedule starts runs itself, later

    schedule_id = created.resource_name.rsplit("/", 1)[-1]
    assert vertex.console_url(created.resource_name, PROJECT) == (
        f"https://console.cloud.google.com/vertex-ai/locations/{LOCATION}/pipelines/schedules/{schedule_id}"
        f"?project={PROJECT}"
    )


def test_schedule_by_name_compiles_the_resources_given_into_the_run(api):
    resources = parse_resources(["train_model=cpu=8,memory=32G,accelerator=NVIDIA_L4:2"])
    vertex.schedule(
        "training", PROJECT, LOCATION, ROOT, cron="0 3 * * 1",
        params={"data_uri": "gs://d/t.parquet", **churn.TRAINING, "suite_uri": "gs://d/suite.json"},
        image_registry=REGISTRY, image_tag=TAG, resources=resources, **on(api),
    )  # fmt: skip

    [request] = api.calls("POST", "/schedules$")
    executors = request.body["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"]["deploymentSpec"][
        "executors"
    ]
    assert executors["exec-train-model"]["container"]["resources"] == {
        "cpuLimit": 8.0,
        "memoryLimit": 32.0,
        "resourceCpuLimit": "8",
        "resourceMemoryLimit": "32G",
        "accelerator": {"type": "NVIDIA_L4", "count": "2", "resourceType": "NVIDIA_L4", "resourceCount": "2"},
    }
    assert executors["exec-select-model"]["container"]["resources"]["resourceCpuLimit"] == "1"  # the default


def test_schedule_cron_is_utc_without_a_time_zone_and_bad_zones_are_refused(api, typed_yaml):
    vertex.schedule(
        str(typed_yaml), PROJECT, LOCATION, ROOT, cron="0 3 * * *", params=TYPED_PARAMS, **on(api)
    )
    [request] = api.calls("POST", "/schedules$")
    assert (request.body["cron"], request.body["maxConcurrentRunCount"]) == ("0 3 * * *", "1")
    assert request.body["displayName"] == "typed-check"

    api.requests.clear()
    for cron, timezone, error in [
        ("0 3 * * *", "Mars/Olympus", "not an IANA time zone"),
        ("TZ=UTC 0 3 * * *", "Europe/Paris", "names its time zone already"),
    ]:
        with pytest.raises(ValueError, match=error):
            vertex.schedule(
                str(typed_yaml),
                PROJECT,
                LOCATION,
                ROOT,
                cron=cron,
                timezone=timezone,
                params=TYPED_PARAMS,
                **on(api),
            )
    assert api.requests == []


def test_schedules_are_listed_paused_resumed_and_deleted(api, typed_yaml):
    created = vertex.schedule(
        str(typed_yaml), PROJECT, LOCATION, ROOT, cron="0 3 * * *", params=TYPED_PARAMS, **on(api)
    )
    schedule_id = created.resource_name.rsplit("/", 1)[-1]

    [listed] = vertex.list_schedules(PROJECT, LOCATION, **on(api))
    assert listed.resource_name == created.resource_name
    line = vertex.describe_schedule(listed, PROJECT)
    assert line.startswith(f"{schedule_id}  ACTIVE  '0 3 * * *'  next run 20") and line.endswith(
        f"?project={PROJECT}"
    )

    vertex.pause(schedule_id, PROJECT, LOCATION, **on(api))
    assert api.schedules[schedule_id]["state"] == "PAUSED"
    vertex.resume(created.resource_name, PROJECT, LOCATION, **on(api))  # a resource name works too
    assert api.schedules[schedule_id]["state"] == "ACTIVE"
    vertex.delete(schedule_id, PROJECT, LOCATION, **on(api))
    assert api.schedules == {}
    assert [
        (r.method, r.path.rsplit("/", 1)[-1]) for r in api.requests if f"/schedules/{schedule_id}" in r.path
    ] == [
        ("GET", schedule_id),
        ("POST", f"{schedule_id}:pause"),
        ("GET", schedule_id),
        ("POST", f"{schedule_id}:resume"),
        ("GET", schedule_id),
        ("DELETE", schedule_id),
    ]

    with pytest.raises(
        vertex.VertexError, match=f"pause schedule {schedule_id}: 404 .*Schedule {schedule_id} does not exist"
    ):
        vertex.pause(schedule_id, PROJECT, LOCATION, **on(api))


def test_param_text_is_json_when_it_parses_and_string_parameters_keep_their_text():
    declared = {
        name: {"parameterType": kind}
        for name, kind in [("n", "NUMBER_DOUBLE"), ("s", "STRING"), ("l", "LIST")]
    }
    assert parse_params(["n=0.5", "s=007", "l=[1, 2]"], declared) == {"n": 0.5, "s": "007", "l": [1, 2]}
    assert parse_params(["s=20240101", "n=abc"], declared) == {"s": "20240101", "n": "abc"}
    assert parse_params(['s="quoted"'], declared) == {"s": "quoted"}
    assert parse_params(["s=a=b"], declared) == {"s": "a=b"}
    with pytest.raises(ValueError, match=r"--param 'n': expected key=value"):
        parse_params(["n"], declared)


def keel(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from pipelines.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_submits_and_prints_the_console_link(api):
    result = keel(
        "submit", "validate_data", "--pipeline-root", ROOT, "--service-account", SA,
        "--param", "data_uri=gs://data/churn.parquet", "--param", 'skip_columns=["churned"]',
        "--param", "fail_on_error=false", "--no-cache", "--labels", "team=ml", "--labels", "trigger=cli",
        "--image-registry", REGISTRY, "--image-tag", TAG, *where(api),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    body = job_created(api)
    assert body["runtimeConfig"]["parameterValues"] == {
        "data_uri": "gs://data/churn.parquet",
        "skip_columns": ["churned"],
        "fail_on_error": False,
    }
    assert (body["serviceAccount"], body["labels"]) == (SA, {"team": "ml", "trigger": "cli"})
    assert [task["cachingOptions"] for task in tasks(body["pipelineSpec"])] == [{"enableCache": False}]
    job_id = api.calls("POST", "/pipelineJobs$")[0].query["pipelineJobId"][0]
    assert result.stdout.splitlines()[-1] == (
        f"  https://console.cloud.google.com/vertex-ai/locations/{LOCATION}/pipelines/runs/{job_id}?project={PROJECT}"
    )


def test_cli_submits_with_resources_and_refuses_bad_ones_naming_component_and_field(api):
    common = ["--pipeline-root", ROOT, "--service-account", SA, "--param", "data_uri=gs://data/churn.parquet"]
    common += churn.cli(churn.SCORING)
    common += ["--image-registry", REGISTRY, "--image-tag", TAG, *where(api)]
    refused = keel("submit", "batch_scoring", "--resources", "batch_predict=cpu=8,memory=lots", *common)
    assert refused.returncode == 1 and api.requests == []
    assert "--resources batch_predict: memory='lots': expected a positive size such as 16G" in refused.stderr

    result = keel(
        "submit", "batch_scoring", "--param", "output_uri=gs://data/predictions",
        "--resources", "batch_predict=cpu=8", "--resources", "batch_predict=memory=64G", *common,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    executors = job_created(api)["pipelineSpec"]["deploymentSpec"]["executors"]
    assert executors["exec-batch-predict"]["container"]["resources"]["resourceCpuLimit"] == "8"
    assert executors["exec-batch-predict"]["container"]["resources"]["resourceMemoryLimit"] == "64G"


def test_cli_schedules_then_lists_pauses_and_deletes(api, typed_yaml):
    created = keel(
        "schedule", "create", str(typed_yaml), "--cron", "0 3 * * *", "--timezone", "Europe/Paris",
        "--max-concurrent-runs", "3", "--pipeline-root", ROOT, "--param", "data_uri=gs://d/t.parquet",
        "--param", "threshold=0.5", "--param", "max_rows=10", "--param", "strict=true", "--param", "skip=[]",
        "--param", "tag=2024", *where(api),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    [request] = api.calls("POST", "/schedules$")
    assert (request.body["cron"], request.body["maxConcurrentRunCount"]) == ("TZ=Europe/Paris 0 3 * * *", "3")
    assert (
        request.body["createPipelineJobRequest"]["pipelineJob"]["runtimeConfig"]["parameterValues"]["tag"]
        == "2024"
    )
    [schedule_id] = api.schedules
    assert created.stdout.splitlines() == [
        f"created schedule projects/{api.project_number}/locations/{LOCATION}/schedules/{schedule_id}",
        f"  {schedule_id}  ACTIVE  'TZ=Europe/Paris 0 3 * * *'  next run {api.schedules[schedule_id]['nextRunTime'][:19]}+00:00"
        f"  typed-check  https://console.cloud.google.com/vertex-ai/locations/{LOCATION}/pipelines/schedules/{schedule_id}"
        f"?project={PROJECT}",
    ]

    listed = keel("schedule", "list", *where(api))
    assert listed.returncode == 0 and listed.stdout.startswith(f"{schedule_id}  ACTIVE"), listed.stderr
    assert keel("schedule", "pause", schedule_id, *where(api)).stdout.startswith("paused schedule projects/")
    assert api.schedules[schedule_id]["state"] == "PAUSED"
    assert keel("schedule", "delete", schedule_id, *where(api)).stdout.startswith(
        "deleted schedule projects/"
    )
    assert api.schedules == {}


def test_cli_refuses_a_mistyped_parameter_in_one_line_before_any_request(api, typed_yaml):
    result = keel(
        "submit", str(typed_yaml), "--pipeline-root", ROOT, "--param", "data_uri=gs://d/t.parquet",
        "--param", "threshold=high", "--param", "max_rows=10", "--param", "strict=true", "--param", "skip=[]",
        *where(api),
    )  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.endswith(
        "typed-check: parameter 'threshold' must be a number (NUMBER_DOUBLE), got str 'high'"
    )
    assert result.stdout == "" and api.requests == []


def test_importing_the_cli_does_not_import_aiplatform():
    check = "import sys, pipelines.cli; sys.exit('google.cloud.aiplatform' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], timeout=120).returncode == 0


SLACK = "https://hooks.slack.com/services/T0/B0/secret"
SCORING_PARAMS = {
    "data_uri": "gs://data/to_score.parquet",
    "output_uri": "gs://data/predictions",
    **churn.SCORING,
}


def _alert_arguments(pipeline_spec: dict) -> dict:
    parameters = pipeline_spec["root"]["dag"]["tasks"]["notify"]["inputs"]["parameters"]
    return {key: value["runtimeValue"]["constant"] for key, value in parameters.items() if key != "status"}


def test_submit_compiles_the_alert_channels_into_the_run(api):
    from pipelines.alerting import Alerts

    vertex.submit(
        "batch_scoring", PROJECT, LOCATION, ROOT, service_account=SA, params=SCORING_PARAMS,
        image_registry=REGISTRY, image_tag=TAG, alerts=Alerts(webhook_url=SLACK), **on(api),
    )  # fmt: skip
    spec = job_created(api)["pipelineSpec"]
    assert _alert_arguments(spec)["webhook_url"] == SLACK
    assert f"{REGISTRY}/keel-notify:{TAG}" in images(spec)
    assert "vertex-pipelines-notification-email" not in spec["root"]["dag"]["tasks"]


def test_cli_schedule_takes_the_alert_options(api):
    created = keel(
        "schedule", "create", "batch_scoring", "--cron", "0 3 * * *", "--pipeline-root", ROOT,
        "--param", "data_uri=gs://data/to_score.parquet", "--param", "output_uri=gs://data/predictions",
        *churn.cli(churn.SCORING),
        "--image-registry", REGISTRY, "--image-tag", TAG, "--alert-webhook", SLACK,
        "--alert-email", "oncall@example.com", "--alert-on", "always", *where(api),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    [request] = api.calls("POST", "/schedules$")
    spec = request.body["createPipelineJobRequest"]["pipelineJob"]["pipelineSpec"]
    assert _alert_arguments(spec) == {
        "pipeline_name": "keel-batch-scoring",
        "webhook_url": SLACK,
        "webhook_format": "auto",
        "alert_on": "always",
        "success_message": "",
    }
    email = spec["root"]["dag"]["tasks"]["vertex-pipelines-notification-email"]
    assert email["inputs"]["parameters"]["recipients"]["runtimeValue"]["constant"] == ["oncall@example.com"]


def test_alert_settings_apply_to_names_not_to_compiled_yaml(api, typed_yaml):
    from pipelines.alerting import Alerts

    with pytest.raises(
        ValueError, match="compiled already: image registry, tag, resources and alert settings apply to names"
    ):
        vertex.submit(str(typed_yaml), PROJECT, LOCATION, ROOT, alerts=Alerts(webhook_url=SLACK), **on(api))
    assert api.requests == []
