"""Submit and schedule pipelines on Vertex AI Pipelines, and manage the schedules.

A pipeline is given by name or import path (`module:function`; a pipeline or component, compiled
first, into a temporary folder, with the image registry and tag given) or as the path of a compiled YAML. Before any call to
Google, its parameters are checked against the compiled spec and its images must be pullable
(not the local default registry). Calls use Application Default Credentials unless `credentials`
are given, and Vertex AI's regional endpoint over gRPC unless `api_endpoint` names another:
a host[:port] or a URL (https://host for a private or regional endpoint; http:// only over REST).

aiplatform is imported inside the functions, so `import pipelines.vertex` stays light. Like every
aiplatform caller, these functions set the SDK's process-wide defaults (`aiplatform.init`): an
endpoint given once stays in force in that process until another is given.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from components.common.console import console_url
from components.common.errors import KeelError, ParameterError
from components.images import DEFAULT_REGISTRY, __version__
from pipelines.parameters import check_params

if TYPE_CHECKING:
    from pipelines.alerting import Alerts

TRANSPORTS = ("grpc", "rest")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_LABEL_KEY, _LABEL_VALUE = re.compile(r"[a-z][a-z0-9_-]{0,62}"), re.compile(r"[a-z0-9_-]{0,63}")


class VertexError(KeelError, RuntimeError):
    """A call to Vertex AI or Cloud Storage failed, or no credentials were found."""


def client_endpoint(api_endpoint: str | None, api_transport: str) -> str | None:
    """`api_endpoint` as the transport takes it: host[:port] for gRPC, a host or URL for REST."""
    if api_transport not in TRANSPORTS:
        raise ParameterError(f"api transport {api_transport!r}: expected one of {', '.join(TRANSPORTS)}")
    if api_endpoint is None:
        return None
    url = urlsplit(api_endpoint if "://" in api_endpoint else f"//{api_endpoint}")
    if not url.netloc or url.path.strip("/") or url.query or url.scheme not in ("", "http", "https"):
        raise ParameterError(f"api endpoint {api_endpoint!r}: expected a host[:port] or a URL without a path")
    if api_transport == "rest":
        return api_endpoint.rstrip("/")
    if url.scheme == "http":
        raise ParameterError(f"api endpoint {api_endpoint!r}: plain http:// needs the REST transport")
    return url.netloc


@contextmanager
def _reporting(action: str) -> Iterator[None]:
    """Turn Google API and auth errors into one VertexError line saying what failed."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError

    try:
        yield
    except DefaultCredentialsError as error:
        raise VertexError(
            f"{action}: no Application Default Credentials ({error}); run "
            "`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
        ) from error
    except (GoogleAPIError, GoogleAuthError) as error:
        raise VertexError(f"{action}: {error}") from error


def _aiplatform(project: str, location: str, api_endpoint: str | None, api_transport: str, credentials: Any):
    """aiplatform set up for this project, location and endpoint; with the credentials in use."""
    endpoint = client_endpoint(api_endpoint, api_transport)
    import google.auth
    from google.cloud import aiplatform

    if credentials is None:
        with _reporting("finding credentials"):
            credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    aiplatform.init(
        project=project,
        location=location,
        api_endpoint=endpoint,
        api_transport=api_transport,
        credentials=credentials,
    )
    return aiplatform, credentials


@contextmanager
def compiled(
    pipeline: str,
    image_registry: str | None = None,
    image_tag: str | None = None,
    resources: Mapping[str, Any] | None = None,
    alerts: Alerts | None = None,
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The compiled YAML of `pipeline` (a name or import path, compiled here with the image registry
    and tag and the per-component `resources` of pipelines.steps, or a YAML path) and its spec."""
    if Path(pipeline).suffix in (".yaml", ".yml"):
        if image_registry or image_tag or resources or alerts:
            raise ParameterError(
                f"{pipeline} is compiled already: image registry, tag, resources and alert settings apply to names"
            )
        if not Path(pipeline).is_file():
            raise ParameterError(f"{pipeline}: no such file")
        yield Path(pipeline), _read_spec(Path(pipeline))
        return
    from pipelines.compiling import compile_one

    with tempfile.TemporaryDirectory(prefix="keel-submit-") as scratch:
        path = compile_one(
            pipeline,
            Path(scratch),
            image_registry or DEFAULT_REGISTRY,
            image_tag or __version__,
            resources,
            alerts,
        )
        yield path, _read_spec(path)


def _read_spec(path: Path) -> dict[str, Any]:
    spec = next(yaml.safe_load_all(path.read_text()), None)
    if not isinstance(spec, dict) or "pipelineInfo" not in spec:
        raise ParameterError(f"{path}: not a compiled KFP pipeline spec")
    return spec


def _check_images(spec: dict[str, Any]) -> None:
    executors = spec.get("deploymentSpec", {}).get("executors", {}).values()
    images = {executor.get("container", {}).get("image", "") for executor in executors}
    local = sorted(image for image in images if image.startswith(f"{DEFAULT_REGISTRY}/"))
    if local:
        raise ParameterError(
            f"{spec['pipelineInfo']['name']}: Vertex AI cannot pull local images ({', '.join(local)}); "
            "compile with an image registry it can reach, e.g. --image-registry europe-docker.pkg.dev/PROJECT/keel"
        )


def _check_labels(labels: dict[str, str]) -> None:
    for key, value in labels.items():
        if not _LABEL_KEY.fullmatch(key):
            raise ParameterError(
                f"label {key!r}: a key is a lowercase letter then up to 62 lowercase letters, digits, _ or -"
            )
        if not _LABEL_VALUE.fullmatch(value):
            raise ParameterError(
                f"label {key}={value!r}: a value is up to 63 lowercase letters, digits, _ or -"
            )


def _cron(cron: str, timezone: str | None) -> str:
    if timezone is None:
        return cron
    if cron.startswith(("TZ=", "CRON_TZ=")):
        raise ParameterError(f"cron {cron!r} names its time zone already; leave out the time zone option")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParameterError(f"time zone {timezone!r}: not an IANA time zone such as Europe/Paris") from None
    return f"TZ={timezone} {cron}"


@contextmanager
def _pipeline_job(
    pipeline: str,
    project: str,
    location: str,
    pipeline_root: str,
    *,
    params: dict[str, Any] | None = None,
    enable_caching: bool | None = None,
    labels: dict[str, str] | None = None,
    display_name: str | None = None,
    image_registry: str | None = None,
    image_tag: str | None = None,
    resources: Mapping[str, Any] | None = None,
    alerts: Alerts | None = None,
    api_endpoint: str | None = None,
    api_transport: str = "grpc",
    credentials: Any = None,
):
    """A checked, not yet submitted PipelineJob of `pipeline` (see `submit`), and its display name."""
    if not pipeline_root.startswith("gs://"):
        raise ParameterError(f"pipeline root {pipeline_root!r}: Vertex AI needs a gs:// URI")
    if enable_caching:
        raise ParameterError(
            "enable_caching=True would turn caching on for every task, also those that must run every "
            "time (fingerprint_inputs, register_model...): leave it None (each task's compiled caching) or False"
        )
    with compiled(pipeline, image_registry, image_tag, resources, alerts) as (path, spec):
        params = check_params(params or {}, spec, pipeline_root)
        _check_images(spec)
        _check_labels(labels or {})
        aiplatform, credentials = _aiplatform(project, location, api_endpoint, api_transport, credentials)
        display_name = display_name or spec["pipelineInfo"]["name"]
        yield (
            display_name,
            aiplatform.PipelineJob(
                display_name=display_name,
                template_path=str(path),
                pipeline_root=pipeline_root,
                parameter_values=params,
                enable_caching=enable_caching,
                labels=labels,
                project=project,
                location=location,
                credentials=credentials,
            ),
        )


def submit(
    pipeline: str,
    project: str,
    location: str,
    pipeline_root: str,
    service_account: str | None = None,
    params: dict[str, Any] | None = None,
    enable_caching: bool | None = None,
    labels: dict[str, str] | None = None,
    api_endpoint: str | None = None,
    api_transport: str = "grpc",
    display_name: str | None = None,
    credentials: Any = None,
    image_registry: str | None = None,
    image_tag: str | None = None,
    resources: Mapping[str, Any] | None = None,
    alerts: Alerts | None = None,
):
    """Submit one run of `pipeline` to Vertex AI Pipelines and return the PipelineJob, not waiting.

    `enable_caching` None keeps the caching compiled into each task; False turns every task's off
    (True is refused: it would cache the tasks that must run every time). `display_name` defaults
    to the pipeline's name; the job id is that name plus the time. `resources`: per-component
    resources (pipelines.steps.parse_resources) when `pipeline` is a name. `alerts`
    (pipelines.alerting.Alerts) set the alert channels of a pipeline compiled by name.
    """
    with (
        _pipeline_job(
            pipeline,
            project,
            location,
            pipeline_root,
            params=params,
            enable_caching=enable_caching,
            labels=labels,
            display_name=display_name,
            image_registry=image_registry,
            image_tag=image_tag,
            resources=resources,
            alerts=alerts,
            api_endpoint=api_endpoint,
            api_transport=api_transport,
            credentials=credentials,
        ) as (_, job),
        _reporting(f"submitting {pipeline} to Vertex AI"),
    ):
        job.submit(service_account=service_account)
    return job


def schedule(
    pipeline: str,
    project: str,
    location: str,
    pipeline_root: str,
    *,
    cron: str,
    timezone: str | None = None,
    max_concurrent_run_count: int = 1,
    schedule_name: str | None = None,
    start_time: str | None = None,
    end_time: str | None = None,
    max_run_count: int | None = None,
    service_account: str | None = None,
    **job_options: Any,
):
    """Create a Vertex AI schedule that runs `pipeline` on `cron`; returns the PipelineJobSchedule.

    `timezone` (IANA, e.g. Europe/Paris) prefixes the cron with `TZ=`; without it Vertex AI reads
    the cron in UTC. `start_time`/`end_time` are RFC 3339 timestamps; `max_run_count` ends the
    schedule after that many runs. The schedule is named `schedule_name`, else the display name.
    `job_options`: `params`, `enable_caching`, `labels`, `display_name`, `image_registry`,
    `image_tag`, `resources`, `alerts`, `api_endpoint`, `api_transport`, `credentials`, as for `submit`.
    """
    cron = _cron(cron, timezone)
    with (
        _pipeline_job(pipeline, project, location, pipeline_root, **job_options) as (display_name, job),
        _reporting(f"scheduling {pipeline} on Vertex AI"),
    ):
        return job.create_schedule(
            cron=cron,
            display_name=schedule_name or display_name,
            start_time=start_time,
            end_time=end_time,
            max_run_count=max_run_count,
            max_concurrent_run_count=max_concurrent_run_count,
            service_account=service_account,
        )


def list_schedules(
    project: str,
    location: str,
    api_endpoint: str | None = None,
    api_transport: str = "grpc",
    credentials: Any = None,
) -> list:
    """Every pipeline schedule in the project and location (PipelineJobSchedule objects)."""
    aiplatform, credentials = _aiplatform(project, location, api_endpoint, api_transport, credentials)
    with _reporting(f"listing schedules in {project}/{location}"):
        return aiplatform.PipelineJobSchedule.list(
            project=project, location=location, credentials=credentials
        )


def describe_schedule(pipeline_schedule, project: str) -> str:
    """One line on a PipelineJobSchedule: id, state, cron, next run, name and console link."""
    resource = pipeline_schedule.gca_resource
    next_run = resource.next_run_time.isoformat(timespec="seconds") if resource.next_run_time else "-"
    return (
        f"{resource.name.rsplit('/', 1)[-1]}  {resource.state.name}  {resource.cron!r}  next run {next_run}  "
        f"{resource.display_name}  {console_url(resource.name, project)}"
    )


def _schedule_action(
    action: str,
    schedule_id: str,
    project: str,
    location: str,
    api_endpoint: str | None = None,
    api_transport: str = "grpc",
    credentials: Any = None,
):
    aiplatform, credentials = _aiplatform(project, location, api_endpoint, api_transport, credentials)
    with _reporting(f"{action} schedule {schedule_id}"):
        found = aiplatform.PipelineJobSchedule.get(
            schedule_id, project=project, location=location, credentials=credentials
        )
        getattr(found, action)()
    return found


def pause(schedule_id: str, project: str, location: str, **connection: Any):
    """Pause a schedule (its id or resource name): no new runs until resumed. `connection`:
    `api_endpoint`, `api_transport`, `credentials`, as for `submit`. Returns the schedule."""
    return _schedule_action("pause", schedule_id, project, location, **connection)


def resume(schedule_id: str, project: str, location: str, **connection: Any):
    """Resume a paused schedule (its id or resource name); arguments as for `pause`."""
    return _schedule_action("resume", schedule_id, project, location, **connection)


def delete(schedule_id: str, project: str, location: str, **connection: Any):
    """Delete a schedule (its id or resource name), waiting until it is gone; as for `pause`."""
    return _schedule_action("delete", schedule_id, project, location, **connection)
