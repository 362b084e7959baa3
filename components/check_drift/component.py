"""KFP interface of check_drift; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from components.external_state import external_state
from components.images import image


# Never cached: it appends the run's figures to output_uri's monitoring record (and a rerun for the
# same date replaces them, so a retry is safe); it reads the registry and the data it is given.
@external_state(reads={"data_uri": None, "registry_uri": None, "model_name": None}, writes=("output_uri",))
@dsl.component(base_image=image("check_drift"), install_kfp_package=False)
def check_drift(
    metrics: Output[Metrics],
    report: Output[HTML],
    summary: Output[Markdown],
    anomalies: Output[Artifact],
    model: Input[Model] = None,
    registry_uri: str = "",
    model_name: str = "",
    model_ref: str = "champion",
    profiles: Input[list[Artifact]] = None,
    data: Input[Dataset] = None,
    data_uri: str = "",
    predictions: Input[Dataset] = None,
    threshold: float = 0.1,
    thresholds: dict = None,
    on_drift: str = "warn",
    output_uri: str = "",
    run_date: str = "",
    schedule_time: str = "",
    alert_webhook: str = "",
    alert_webhook_format: str = "auto",
) -> NamedTuple("Outputs", drifted=bool):
    """Checks data for drift from a model's training data (training-serving skew), feature by feature.

    Compares the data, and the model's scores on it, with the reference profile saved with the
    model (train_model's profile.json: training data per feature, scores on the holdout), as
    Vertex AI Model Monitoring does: Jensen-Shannon divergence (log base 2, in [0, 1]) for numeric
    features and scores, L-infinity distance (largest change of a category's share, in [0, 1])
    for categorical ones, missing values included. A feature drifts when its distance exceeds its
    threshold and the noise floor of the sample size (the distance that sampling alone exceeds in
    one check in a thousand), so a small batch from the training distribution raises no alarm; a
    feature column missing from the data drifts. The data is streamed: memory does not grow with it.
    With no reference (no model yet, or one trained without a profile) the check is skipped and
    the task succeeds with `drifted` false.

    Args:
        model: The model whose reference to use (e.g. resolve_model's or train_model's output).
        registry_uri: Instead of `model`, a registered version: its registry (local folder,
            file:// or vertex://projects/P/locations/L; empty: KEEL_HOME's local registry) ...
        model_name: ... the registered model's name ...
        model_ref: ... and its version number or alias.
        profiles: The data as shard profiles (batch_predict's `profile` outputs, collected from a
            ParallelFor), which are added up. Or give the data as a table:
        data: The data, as a Dataset artifact (parquet file or folder, or CSV).
        data_uri: The data, as a local path, /gcs/ path or gs:// URI.
        predictions: The scored rows of `data` (a table with a `score` column, e.g. batch_predict's
            `predictions`), to compare the score distribution too.
        threshold: The distance above which a feature drifts, for every feature without its own
            (Vertex's thresholds carry over: same distances).
        thresholds: Per-feature thresholds, e.g. `{"age": 0.2, "score": 0.05}` (`score`: the
            model's scores).
        on_drift: What drift does. `warn`: the task succeeds and sends an alert (title, text, the
            drifted features): one WARNING JSON log line, and the webhook when `alert_webhook` is
            set. `fail`: the same at ERROR, then the task fails after writing its outputs, so
            nothing downstream (e.g. publishing) runs.
            Either way the decision is in `anomalies`, `summary`, `metrics` and the history.
        output_uri: Where the predictions are published; the run's figures and decision are
            recorded in `<output_uri>/_monitoring/run_date=<YYYY-MM-DD>.json` (`keel monitor`
            shows them). Empty: not recorded.
        run_date: The run date of that record, YYYY-MM-DD. Empty: the schedule time's date, else today.
        schedule_time: The pipeline's schedule time (the pipeline passes Vertex's placeholder).
        alert_webhook: A Slack or Google Chat incoming webhook (or any JSON receiver) for the drift
            alert; a pipeline wrapped by `with_alerts` passes its own (`pipelines.alerting.channels()`).
        alert_webhook_format: `auto` (by the URL's host), `slack`, `google-chat` or `json`.

    Returns:
        metrics: drifted (1 or 0), drifted_features, rows, and `drift.<feature>` (and
            `drift.score`): each distance.
        report: An HTML report: every feature's distance, limit and verdict, and its reference and
            current distributions side by side.
        summary: A Markdown summary naming the drifted features and the decision.
        anomalies: The same as JSON: decision (pass, warn, fail or skipped), drifted features, and
            per feature metric, distance, threshold, noise floor, verdict and largest change.
        drifted: True when any feature (or the score distribution) drifted.
    """
    from components.check_drift import core
    from components.common.inputs import model_source, table_source

    path, uri = table_source(data, data_uri, "check_drift", required=False)
    source = model_source(model)
    outcome = core.run(
        core.DriftRequest(
            subject=source.subject,
            model_folder=source.path,
            registry_uri=registry_uri,
            model_name=model_name,
            model_ref=model_ref,
            profiles=tuple(profile.path for profile in profiles or ()),
            data=path,
            data_uri=uri,
            predictions=predictions.path if predictions else "",
            threshold=threshold,
            thresholds=thresholds or {},
            on_drift=on_drift,
            report=report.path,
            summary=summary.path,
            anomalies=anomalies.path,
            output_uri=output_uri,
            run_date=run_date,
            schedule_time=schedule_time,
            alert_webhook=alert_webhook,
            alert_webhook_format=alert_webhook_format,
        )
    )
    for name, value in outcome.metrics().items():
        metrics.log_metric(name, value)
    return (outcome.drifted,)
