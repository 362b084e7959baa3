"""KFP interface of deploy_model; the work is in `core`."""

from typing import NamedTuple

from google_cloud_pipeline_components.types.artifact_types import VertexEndpoint, VertexModel
from kfp import dsl
from kfp.dsl import Input, Markdown, Metrics, Output

from components.external_state import external_state
from components.images import image


# Never cached: it changes an endpoint. Not retried: a second run after one whose answer was lost
# would deploy the version a second time.
@external_state(reads={"registry_uri": None, "model_name": None}, writes=("endpoint",), retry=False)
@dsl.component(base_image=image("deploy_model"), install_kfp_package=False)
def deploy_model(
    vertex_endpoint: Output[VertexEndpoint],
    report: Output[Markdown],
    metrics: Output[Metrics],
    endpoint: str,
    vertex_model: Input[VertexModel] = None,
    registry_uri: str = "",
    model_name: str = "",
    model_ref: str = "champion",
    traffic_percent: int = 100,
    machine_type: str = "n1-standard-2",
    min_replicas: int = 1,
    max_replicas: int = 1,
    timeout_s: float = 1800.0,
    api_endpoint: str = "",
) -> NamedTuple("Outputs", deployed_model_id=str, traffic_split=dict):
    """Deploys a version of Vertex AI Model Registry to an endpoint, as a canary or a full rollout.

    The version is served by the container it was registered with, since Vertex AI fixes a model's
    serving container at upload: register_model with `serving_image` (the training pipeline's
    `serving_image`) registers it with keel-serve, `keel serve --host 0.0.0.0` on port 8080 with
    routes /predict and /health, serving the version's model folder (AIP_STORAGE_URI); without it,
    with Vertex's prebuilt scikit-learn image. The report names the container.

    The endpoint is created when no endpoint has its display name. The new deployment takes
    `traffic_percent` of the traffic; the deployments serving before share the rest, in proportion
    to their shares (the new one takes all of it on an endpoint that serves nothing). Once Vertex
    has the new deployment up (its container answers the health route), a full rollout
    (`traffic_percent` 100) undeploys the deployments that were there before; a canary keeps them
    serving the rest, as the report records. A deployment that fails, or is not done within
    `timeout_s`, undeploys nothing.

    Args:
        endpoint: The endpoint: a display name (looked up in the model's project and location,
            created when none has it; refused when several have it) or a resource name
            projects/P/locations/L/endpoints/ID (which must exist).
        vertex_model: The version to deploy (register_model's `vertex_model`, whose resourceName is
            projects/P/locations/L/models/NAME@VERSION). Or give `registry_uri` and `model_name`:
        registry_uri: vertex://projects/P/locations/L[/models/NAME], the registry holding ...
        model_name: ... the registered model ...
        model_ref: ... and its version number or alias (pinned to the version it names now).
        traffic_percent: The share of the endpoint's traffic the new deployment takes, 1 to 100;
            100 is a full rollout.
        machine_type: The Vertex AI machine type of each replica, e.g. n1-standard-2.
        min_replicas: The fewest replicas (at least 1).
        max_replicas: The most replicas Vertex AI scales to with load (at least `min_replicas`).
        timeout_s: The most seconds the whole deployment may take (creating the endpoint,
            deploying, undeploying), every wait included.
        api_endpoint: The Vertex AI API to call. Empty: the model's regional endpoint, over gRPC,
            with Application Default Credentials; host[:port] over gRPC or an https:// URL over REST
            likewise; an http:// URL is an emulator, called over REST without credentials.

    Returns:
        vertex_endpoint: The endpoint (`resourceName` in its metadata), for Google Cloud Pipeline
            Components that take a google.VertexEndpoint.
        report: The endpoint, the deployed model, its container and machines, and every deployment's
            traffic before and after (Markdown).
        metrics: traffic_percent (the new deployment's), endpoint_created (1 or 0), undeployed and
            kept (deployments there before, undeployed or still deployed).
        deployed_model_id: The new deployment's id on the endpoint.
        traffic_split: The endpoint's traffic split after the deployment: deployed model id -> percent.
    """
    from components.deploy_model import core

    deployment = core.run(
        core.DeployRequest(
            endpoint=endpoint,
            model=(vertex_model.metadata.get("resourceName") or vertex_model.uri) if vertex_model else "",
            registry_uri=registry_uri,
            model_name=model_name,
            model_ref=model_ref,
            traffic_percent=traffic_percent,
            machine_type=machine_type,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            timeout_s=timeout_s,
            api_endpoint=api_endpoint,
            report=report.path,
        )
    )
    vertex_endpoint.metadata["resourceName"] = deployment.endpoint
    vertex_endpoint.uri = f"https://{deployment.location}-aiplatform.googleapis.com/v1/{deployment.endpoint}"
    for name, value in deployment.metrics().items():
        metrics.log_metric(name, value)
    return (deployment.new.id, deployment.after)
