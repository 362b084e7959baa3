"""KFP interface of publish_predictions; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from components.external_state import external_state
from components.images import image


@external_state(reads={"data_uri": None}, writes=("output_uri",), depends_on_time=True)
@dsl.component(base_image=image("publish_predictions"), install_kfp_package=False)
def publish_predictions(
    parts: Input[list[Dataset]],
    predictions: Output[Dataset],
    metrics: Output[Metrics],
    output_uri: str,
    run_date: str = "",
    schedule_time: str = "",
    data_uri: str = "",
    min_score_std: float = 0.001,
) -> NamedTuple("Outputs", uri=str, run_date=str):
    """Checks scored shards and publishes them, partitioned by run date, atomically.

    Writes `<output_uri>/run_date=<YYYY-MM-DD>/predictions.parquet` only after checking every row:
    the row count equals the scored input's (`data_uri`), `prediction` and `score` have no nulls, classification
    scores lie in [0, 1], and the scores are not collapsed to one value. A rerun for the same
    date replaces the file (never a duplicate); a failed check leaves the previous file in place.

    Args:
        parts: The scored shards (batch_predict outputs, collected from the ParallelFor).
        output_uri: Where predictions are published: a local folder, /gcs/ path or gs:// URI. It must
            not equal, contain or sit inside `data_uri` (refused before any work).
        run_date: The partition date, YYYY-MM-DD (a real date; checked before any work). Empty: the
            schedule time's date, else today (UTC).
        schedule_time: The pipeline's schedule time (the pipeline passes Vertex's placeholder).
        data_uri: The table that was scored, whose row count the output must match. Empty: not checked.
        min_score_std: The smallest standard deviation of `score` that counts as not collapsed (>= 0).

    Returns:
        predictions: The published file as a Dataset artifact of the run (its URI is the file's,
            gs:// on Vertex, so Vertex ML Metadata links it to the run), with `rows`,
            `fingerprint` (sha256 of the file) and `run_date` in its metadata.
        metrics: rows, score_mean, score_std.
        uri: The published file.
        run_date: The partition date used.
    """
    from components.common.fingerprints import cloud_uri
    from components.publish_predictions import core

    published = core.run(
        [part.path for part in parts],
        output_uri,
        run_date,
        schedule_time,
        data_uri,
        classification=all(part.metadata.get("task", "classification") == "classification" for part in parts),
        min_score_std=min_score_std,
    )
    for name, value in published.metrics().items():
        metrics.log_metric(name, value)
    predictions.uri = cloud_uri(published.uri)
    predictions.metadata.update(
        {"rows": published.rows, "fingerprint": published.sha256, "run_date": published.run_date}
    )
    return (published.uri, published.run_date)
