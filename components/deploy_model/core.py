"""Deploy a version of Vertex AI Model Registry to an endpoint: a canary, or a full rollout.

    deploy(DeployRequest("churn-online", "projects/p/locations/europe-west4/models/churn@5", traffic_percent=10))

The version is served by the container it was registered with: Vertex AI fixes a model's serving
container when a version is uploaded, and register_model uploads it with keel-serve when given
`serving_image` (components.common.registry.ServingContainer.keel_serve), with Vertex's prebuilt
scikit-learn image otherwise. Deploying places that version on machines behind the endpoint:

1. The version is read; an alias (`@champion`) is pinned to its version number, so that a moving
   alias cannot change what is deployed.
2. The endpoint: a resource name must name an existing one; a display name is looked up in the
   model's project and location, and an endpoint is created with it when none has it (refused when
   several have it).
3. deployModel with the endpoint's new traffic split: `traffic_percent` for the new deployment, the
   rest shared among the deployments serving now in proportion to their shares (all of it when
   none serves).
4. Once that operation is done (Vertex ends it when the container answers its health route), and
   only for a full rollout (`traffic_percent` 100), the deployments that were there before are
   undeployed. A canary leaves them serving the rest.

A deployment that Vertex refuses, that fails or that is not done in time undeploys nothing. Every
call is bounded (CALL_TIMEOUT_S) and every wait shares `timeout_s`; nothing is retried here.
"""

from __future__ import annotations

import concurrent.futures
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from components.common import io, parameters
from components.common.errors import KeelError, ParameterError, parameter_error
from components.common.logging import logger
from components.common.tracking import track

CALL_TIMEOUT_S = 60.0  # one API call; a long-running operation's wait is bounded by timeout_s
MODEL_RESOURCE = re.compile(r"projects/([^/]+)/locations/([^/]+)/models/([^/@]+)(?:@([^/@]+))?")
ENDPOINT_RESOURCE = re.compile(r"projects/([^/]+)/locations/([^/]+)/endpoints/([^/]+)")
_DISPLAY_NAME = re.compile(r'[^"/]{1,128}')
NEW = "0"  # how deployModel's traffic split names the model being deployed


class DeployError(KeelError, RuntimeError):
    """Vertex AI refused or failed a deployment step, or it was not done in time; the message names
    the endpoint, the model and what was left as it was."""


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy where; see the deploy_model component for each field."""

    endpoint: str  # a display name, or projects/P/locations/L/endpoints/ID
    model: str = ""  # projects/P/locations/L/models/NAME@VERSION (or @ALIAS); or the three below
    registry_uri: str = ""  # vertex://projects/P/locations/L[/models/NAME]
    model_name: str = ""
    model_ref: str = "champion"
    traffic_percent: int = 100
    machine_type: str = "n1-standard-2"
    min_replicas: int = 1
    max_replicas: int = 1
    timeout_s: float = 1800.0
    api_endpoint: str = ""  # empty: the model's regional endpoint
    report: str = ""  # where `run` writes the Markdown report ("": nowhere)


@dataclass(frozen=True)
class Deployed:
    """A model deployed to the endpoint."""

    id: str
    display_name: str
    model: str  # projects/P/locations/L/models/NAME@VERSION

    @property
    def label(self) -> str:
        return f"{self.id} ({self.display_name})" if self.display_name else self.id


@dataclass
class Deployment:
    """What a deployment did: the endpoint's traffic split before and after, by deployed model id."""

    endpoint: str  # resource name
    endpoint_display_name: str
    created: bool
    new: Deployed
    container_image: str
    request: DeployRequest
    before: dict[str, int]
    after: dict[str, int]
    previous: list[Deployed]  # the deployments there before
    undeployed: list[Deployed] = field(default_factory=list)
    undeploy_errors: list[str] = field(default_factory=list)

    @property
    def location(self) -> str:
        return ENDPOINT_RESOURCE.fullmatch(self.endpoint)[2]

    @property
    def kept(self) -> list[Deployed]:
        gone = {deployed.id for deployed in self.undeployed}
        return [deployed for deployed in self.previous if deployed.id not in gone]

    def metrics(self) -> dict[str, int]:
        return {
            "traffic_percent": self.after.get(self.new.id, 0),
            "endpoint_created": int(self.created),
            "undeployed": len(self.undeployed),
            "kept": len(self.kept),
        }

    def to_markdown(self) -> str:
        request, share = self.request, self.after.get(self.new.id, 0)
        if request.traffic_percent == 100:
            rollout = "full rollout"
        elif share == 100:
            rollout = f"canary at {request.traffic_percent}% asked: nothing else served, so it takes all"
        else:
            rollout = f"canary at {share}%"
        model, _, version = self.new.model.rpartition("/")[2].partition("@")
        lines = [
            f"## Deployed {model} v{version} to endpoint {self.endpoint_display_name} ({rollout})",
            "",
            "| | |",
            "|---|---|",
            f"| endpoint | {self.endpoint}{' (created)' if self.created else ''} |",
            f"| deployed model | {self.new.label} |",
            f"| serving container | {self.container_image} |",
            f"| machines | {request.machine_type}, {request.min_replicas} to {request.max_replicas} replicas |",
            "",
            "| deployed model | model | traffic before | traffic after |",
            "|---|---|---|---|",
        ]
        for deployed in [self.new, *self.previous]:
            before = f"{self.before.get(deployed.id, 0)}%" if deployed is not self.new else "-"
            after = "undeployed" if deployed in self.undeployed else f"{self.after.get(deployed.id, 0)}%"
            lines.append(f"| {deployed.label} | {deployed.model} | {before} | {after} |")
        lines.append("")
        if self.kept and share < 100:
            lines.append(
                f"The deployments there before keep serving the other {100 - share}%: deploy again "
                "with traffic_percent 100 to roll out fully (which undeploys them)."
            )
        lines += [f"Not undeployed: {error}" for error in self.undeploy_errors]
        return "\n".join(lines).rstrip() + "\n"


def traffic_split(serving: Mapping[str, int], percent: int) -> dict[str, int]:
    """The endpoint's traffic split with a new deployment (NEW, as deployModel names it) taking
    `percent`: the rest shared among the deployments in `serving` (id -> share) in proportion to
    their shares, rounded to whole percents that add up to 100; all of it when `percent` is 100 or
    nothing serves."""
    shares = {key: share for key, share in serving.items() if share > 0}
    if percent >= 100 or not shares:
        return {NEW: 100}
    rest, total = 100 - percent, sum(shares.values())
    exact = {key: share * rest / total for key, share in shares.items()}
    split = {key: int(value) for key, value in exact.items()}
    for key in sorted(exact, key=lambda k: (split[k] - exact[k], k))[: rest - sum(split.values())]:
        split[key] += 1  # the largest remainders
    return {NEW: percent, **split}


def check_request(request: DeployRequest) -> None:
    """Raise ParameterError naming every setting of `request` that breaks its rule."""
    problems = []
    try:
        parameters.check(
            {
                "traffic_percent": request.traffic_percent,
                "min_replicas": request.min_replicas,
                "max_replicas": request.max_replicas,
            }
        )
    except ParameterError as error:
        problems.append(str(error))
    checks = [
        (
            "endpoint",
            request.endpoint,
            bool(ENDPOINT_RESOURCE.fullmatch(request.endpoint) or _DISPLAY_NAME.fullmatch(request.endpoint)),
            "expected a display name (1 to 128 characters, no '\"' or '/') or a resource name "
            "projects/P/locations/L/endpoints/ID",
        ),
        (
            "machine_type",
            request.machine_type,
            bool(request.machine_type.strip()),
            "must name a machine type",
        ),
        ("timeout_s", request.timeout_s, request.timeout_s > 0, "must be a number of seconds > 0"),
    ]
    if isinstance(request.min_replicas, int) and isinstance(request.max_replicas, int):
        checks.append(
            (
                "max_replicas",
                request.max_replicas,
                request.max_replicas >= request.min_replicas,
                f"must be at least min_replicas ({request.min_replicas})",
            )
        )
    problems += [str(parameter_error(name, value, rule)) for name, value, holds, rule in checks if not holds]
    if problems:
        raise ParameterError("; ".join(problems))


def model_resource(request: DeployRequest) -> str:
    """The Vertex model version to deploy, `projects/P/locations/L/models/NAME@VERSION_OR_ALIAS`."""
    from components.common.registry import VertexRegistry, open_registry

    if bool(request.model) == bool(request.model_name):
        raise ParameterError(
            "deploy_model needs the model to deploy: a Vertex model version (`vertex_model`, e.g. "
            "register_model's output) or `model_name` with a vertex:// `registry_uri`, "
            f"not {'both' if request.model else 'neither'}"
        )
    if request.model:
        if not MODEL_RESOURCE.fullmatch(request.model):
            raise parameter_error(
                "vertex_model",
                request.model,
                "not a version of Vertex AI Model Registry (rule: a resourceName "
                "projects/P/locations/L/models/NAME@VERSION, as register_model gives with a vertex:// "
                "registry; versions of a local registry cannot be deployed to Vertex AI)",
            )
        return request.model
    parameters.check({"registry_uri": request.registry_uri, "model_name": request.model_name})
    registry = open_registry(request.registry_uri) if request.registry_uri else None
    if not isinstance(registry, VertexRegistry):
        raise parameter_error(
            "registry_uri",
            request.registry_uri,
            "deploy_model deploys versions of Vertex AI Model Registry: expected "
            "vertex://projects/P/locations/L[/models/NAME]",
        )
    return f"{registry.resource_name(request.model_name)}@{request.model_ref}"


def _clients(location: str, api_endpoint: str) -> tuple[Any, Any]:
    """Vertex AI's endpoint and model service clients: the regional endpoint over gRPC by default;
    an https:// URL over REST; an http:// URL (an emulator) over REST without credentials."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.aiplatform_v1 import EndpointServiceClient, ModelServiceClient

    options = dict(
        client_options=ClientOptions(api_endpoint=api_endpoint or f"{location}-aiplatform.googleapis.com"),
        transport="rest" if api_endpoint.startswith(("http://", "https://")) else "grpc",
        credentials=AnonymousCredentials() if api_endpoint.startswith("http://") else None,
    )
    return EndpointServiceClient(**options), ModelServiceClient(**options)


@contextmanager
def _calling(action: str, unchanged: str = "") -> Iterator[None]:
    """Turn an API, credentials or timeout error into one DeployError saying what failed and, in
    `unchanged`, what was left as it was."""
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import GoogleAuthError

    tail = f"; {unchanged}" if unchanged else ""
    try:
        yield
    except (GoogleAPICallError, GoogleAuthError) as error:
        raise DeployError(f"{action} failed: {error}{tail}") from error
    except concurrent.futures.TimeoutError as error:
        raise DeployError(f"{action} was not done in time: {error}{tail}") from error


def _wait(operation: Any, deadline: float, timeout_s: float) -> Any:
    """The result of a long-running operation, waiting at most until `deadline` (time.monotonic)."""
    try:
        return operation.result(timeout=max(deadline - time.monotonic(), 0.1))
    except concurrent.futures.TimeoutError:
        raise concurrent.futures.TimeoutError(
            f"operation {operation.operation.name} was still running when timeout_s ({timeout_s:g} s) "
            "ran out; it goes on in Vertex AI"
        ) from None


def _endpoint(client: Any, parent: str, wanted: str, deadline: float, timeout_s: float) -> tuple[Any, bool]:
    """The endpoint `wanted` names (a resource name, or a display name in `parent`), and whether it
    was created here."""
    from google.api_core.exceptions import NotFound
    from google.cloud.aiplatform_v1 import Endpoint

    if ENDPOINT_RESOURCE.fullmatch(wanted):
        with _calling(f"reading endpoint {wanted}"):
            try:
                return client.get_endpoint(name=wanted, timeout=CALL_TIMEOUT_S), False
            except NotFound:
                raise DeployError(
                    f"endpoint {wanted} does not exist (an endpoint named by its resource name must "
                    "exist; give a display name to have one created)"
                ) from None
    with _calling(f"finding endpoint {wanted!r} in {parent}"):
        found = list(
            client.list_endpoints(
                request={"parent": parent, "filter": f'display_name="{wanted}"'}, timeout=CALL_TIMEOUT_S
            )
        )
    if len(found) > 1:
        raise DeployError(
            f"endpoint {wanted!r}: {len(found)} endpoints in {parent} have this display name "
            f"({', '.join(endpoint.name for endpoint in found)}); give the resource name of the one to use"
        )
    if found:
        return found[0], False
    with _calling(f"creating endpoint {wanted!r} in {parent}"):
        operation = client.create_endpoint(
            parent=parent, endpoint=Endpoint(display_name=wanted), timeout=CALL_TIMEOUT_S
        )
        created = _wait(operation, deadline, timeout_s)
    logger.info("deploy: created endpoint %s (%s)", created.name, wanted)
    return created, True


def _deployed(deployed: Any) -> Deployed:
    model = f"{deployed.model}@{deployed.model_version_id}" if deployed.model_version_id else deployed.model
    return Deployed(deployed.id, deployed.display_name, model)


def deploy(request: DeployRequest) -> Deployment:
    """Deploy the version `request` names to its endpoint (see the module docstring)."""
    from google.cloud.aiplatform_v1 import DedicatedResources, DeployedModel, MachineSpec

    check_request(request)
    wanted = model_resource(request)
    project, location, model_id, _ = MODEL_RESOURCE.fullmatch(wanted).groups()
    deadline = time.monotonic() + request.timeout_s
    endpoints, models = _clients(location, request.api_endpoint)
    with _calling(f"reading model version {wanted}"):
        version = models.get_model(name=wanted, timeout=CALL_TIMEOUT_S)
    pinned = f"projects/{project}/locations/{location}/models/{model_id}@{version.version_id}"
    parent = f"projects/{project}/locations/{location}"
    target, created = _endpoint(endpoints, parent, request.endpoint, deadline, request.timeout_s)
    before = dict(target.traffic_split)
    previous = [_deployed(deployed) for deployed in target.deployed_models]
    split = traffic_split(before, request.traffic_percent)
    resources = DedicatedResources(
        machine_spec=MachineSpec(machine_type=request.machine_type),
        min_replica_count=request.min_replicas,
        max_replica_count=request.max_replicas,
    )
    with _calling(
        f"endpoint {target.name}: deploying {pinned}", "nothing was undeployed: the endpoint serves as before"
    ):
        operation = endpoints.deploy_model(
            endpoint=target.name,
            deployed_model=DeployedModel(
                model=pinned, display_name=f"{model_id}-v{version.version_id}", dedicated_resources=resources
            ),
            traffic_split=split,
            timeout=CALL_TIMEOUT_S,
        )
        new = _deployed(_wait(operation, deadline, request.timeout_s).deployed_model)
    logger.info("deploy: %s is deployed to %s as %s", pinned, target.name, new.id)
    deployment = Deployment(
        endpoint=target.name,
        endpoint_display_name=target.display_name,
        created=created,
        new=new,
        container_image=version.container_spec.image_uri,
        request=request,
        before=before,
        after={new.id if key == NEW else key: share for key, share in split.items()},
        previous=previous,
    )
    if request.traffic_percent == 100:
        _undeploy_previous(endpoints, deployment, deadline)
    return deployment


def _undeploy_previous(client: Any, deployment: Deployment, deadline: float) -> None:
    """Undeploy the deployments that were there before the new one, which serves all the traffic
    now; one that cannot be undeployed is recorded, the others are still tried."""
    for previous in deployment.previous:
        try:
            with _calling(f"endpoint {deployment.endpoint}: undeploying {previous.label}"):
                operation = client.undeploy_model(
                    endpoint=deployment.endpoint, deployed_model_id=previous.id, timeout=CALL_TIMEOUT_S
                )
                _wait(operation, deadline, deployment.request.timeout_s)
        except DeployError as error:
            logger.warning("deploy: %s", error)
            deployment.undeploy_errors.append(str(error))
            continue
        deployment.undeployed.append(previous)
        logger.info("deploy: undeployed %s from %s", previous.label, deployment.endpoint)


def run(request: DeployRequest) -> Deployment:
    """The component's work: `deploy` as a tracked run, with its report written to `request.report`;
    then DeployError when a deployment that was there before could not be undeployed (the new one
    serves all the traffic: the old one costs, but serves nothing)."""
    params = {
        "endpoint": request.endpoint,
        "model": request.model or f"{request.registry_uri}: {request.model_name}@{request.model_ref}",
        "traffic_percent": request.traffic_percent,
        "machine_type": request.machine_type,
        "min_replicas": request.min_replicas,
        "max_replicas": request.max_replicas,
    }
    with track("deploy_model", params=params) as tracked:
        deployment = deploy(request)
        tracked.log_metrics(deployment.metrics())
        if request.report:
            io.write_bytes(request.report, deployment.to_markdown().encode())
            tracked.log_artifact("deployment", request.report)
    if deployment.undeploy_errors:
        raise DeployError(
            f"endpoint {deployment.endpoint}: {deployment.new.model} serves all the traffic, but "
            f"{len(deployment.undeploy_errors)} deployment(s) there before could not be undeployed: "
            + "; ".join(deployment.undeploy_errors)
        )
    return deployment
