"""The training pipeline: wiring only.

fingerprint the inputs and check every parameter (uncached; the cached steps that read them take
the fingerprints, see pipelines/caching.py) -> validate -> split -> train (profiling the training
data, and the scores on the holdout) -> evaluate the challenger and the current champion on the
same holdout -> select -> register the challenger (always, for lineage), promoting it when
selected -> with `deploy_endpoint` set and the challenger promoted, deploy it to that Vertex AI
endpoint (a canary of `deploy_traffic_percent`, or a full rollout; see deploy_model), served by
keel-serve when `serving_image` names its image (the version is registered with it). Beside it,
the new training data is compared with the champion's reference profile and reported (never
blocks; nothing to compare on a cold start). `label`, `model_name` and `suite_uri` have no default
(only you know them; examples/churn/ has the sample's); the suite is recorded with the model.
`configure_tasks()` sets resources,
retries and caching (pipelines/steps.py). Inside dsl.ExitHandler(notify): every end of a run is
logged, and alerted as configured.
"""

from kfp import dsl

from components import (
    check_drift,
    deploy_model,
    evaluate_model,
    fingerprint_inputs,
    register_model,
    select_model,
    split_data,
    train_model,
    validate_data,
)
from components.images import RUN_IMAGES
from pipelines.alerting import with_alerts
from pipelines.steps import configure_tasks, scalar_parameters

DEFAULT_THRESHOLDS = {"roc_auc": {"lower_bound": 0.7, "min_improvement": 0.005}}


@with_alerts
@dsl.pipeline(name="keel-training", description="Train, evaluate, select and register a model.")
def training(
    data_uri: str,
    label: str,
    model_name: str,
    suite_uri: str,
    registry_uri: str = "",
    estimator: str = "sklearn.ensemble:HistGradientBoostingClassifier",
    hyperparameters: dict = {},  # noqa: B006 - a KFP pipeline default, never mutated
    train_function: str = "",
    id_columns: list = [],  # noqa: B006 - a KFP pipeline default, never mutated
    split_key: str = "",
    thresholds: dict = DEFAULT_THRESHOLDS,
    test_fraction: float = 0.2,
    seed: int = 0,
    serving_image: str = "",
    deploy_endpoint: str = "",
    deploy_traffic_percent: int = 100,
    deploy_machine_type: str = "n1-standard-2",
    deploy_min_replicas: int = 1,
    deploy_max_replicas: int = 1,
):
    run_parameters = scalar_parameters(locals())  # the first step checks them all by name
    inputs = fingerprint_inputs(
        data_uri=data_uri,
        suite_uri=suite_uri,
        registry_uri=registry_uri,
        model_name=model_name,
        pipeline_name="training",
        run_parameters=run_parameters,
        pipeline_root=dsl.PIPELINE_ROOT_PLACEHOLDER,
    )
    data_fingerprint = inputs.outputs["data_fingerprint"]
    checked = validate_data(
        data_uri=data_uri,
        suite_uri=suite_uri,
        data_fingerprint=data_fingerprint,
        suite_fingerprint=inputs.outputs["suite_fingerprint"],
    )
    split = split_data(
        data_uri=data_uri,
        label=label,
        test_fraction=test_fraction,
        seed=seed,
        key_column=split_key,
        data_fingerprint=data_fingerprint,
    ).after(checked)
    trained = train_model(
        data=split.outputs["train"],
        holdout=split.outputs["test"],
        label=label,
        estimator=estimator,
        hyperparameters=hyperparameters,
        train_function=train_function,
        id_columns=id_columns,
        seed=seed,
        suite_uri=suite_uri,  # recorded with the model: batch scoring validates with it by default
    )
    drift = check_drift(
        registry_uri=registry_uri, model_name=model_name, model_ref="champion", data=split.outputs["train"]
    ).set_display_name("drift-from-champion")
    challenger = evaluate_model(model=trained.outputs["model"], data=split.outputs["test"])
    champion = evaluate_model(
        registry_uri=registry_uri,
        model_name=model_name,
        model_ref="champion",
        data=split.outputs["test"],
        registry_fingerprint=inputs.outputs["registry_fingerprint"],
    ).set_display_name("evaluate-champion")
    selected = select_model(
        challenger_metrics=challenger.outputs["metrics_json"],
        champion_metrics=champion.outputs["metrics_json"],
        thresholds=thresholds,
    )
    registered = register_model(
        model=trained.outputs["model"],
        model_name=model_name,
        registry_uri=registry_uri,
        metrics_json=challenger.outputs["metrics_json"],
        promote=selected.outputs["promote"],
        pipeline_run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
        pipeline_job=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        images=[RUN_IMAGES],
        source_data=inputs.outputs["data"],
        serving_image=serving_image,
    ).after(drift)  # the check compares with the champion as it was before this run
    with (
        dsl.If(deploy_endpoint != "", name="deploy-requested"),
        dsl.If(selected.outputs["promote"] == True, name="challenger-promoted"),  # noqa: E712
    ):
        deploy_model(
            vertex_model=registered.outputs["vertex_model"],
            endpoint=deploy_endpoint,
            traffic_percent=deploy_traffic_percent,
            machine_type=deploy_machine_type,
            min_replicas=deploy_min_replicas,
            max_replicas=deploy_max_replicas,
        )
    configure_tasks()
