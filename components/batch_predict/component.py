"""KFP interface of batch_predict; the work is in `core`."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output

from components.external_state import external_state
from components.images import image


@external_state(reads={"data_uri": "data_fingerprint"})
@dsl.component(base_image=image("batch_predict"), install_kfp_package=False)
def batch_predict(
    model: Input[Model],
    predictions: Output[Dataset],
    metrics: Output[Metrics],
    profile: Output[Artifact],
    data: Input[Dataset] = None,
    data_uri: str = "",
    id_columns: list = None,
    run_id: str = "",
    shard: dict = None,
    batch_rows: int = 100_000,
    data_fingerprint: str = "",
):
    """Scores a table with a model, streaming in batches so memory stays bounded.

    Writes one row per input row: the id columns, `prediction`, `score` (positive-class
    probability for a binary classifier), `model_name`, `model_version`, `run_id` and `scored_at`.
    The output is written atomically, never inside the input (refused before any work), and its
    row count is checked against the input's. Given a `shard`, scores only that shard (every
    count-th parquet row group from index), so shards can run in parallel on separate machines
    (see the batch scoring pipeline). The rows and their scores are profiled on the model's
    reference bins as they stream by, for check_drift.

    Args:
        model: The model to score with (e.g. resolve_model's output); its sha256 is checked.
        data: The table to score, as a Dataset artifact (or give `data_uri`).
        data_uri: The table to score: parquet file or folder, or CSV; local, /gcs/ or gs://.
        id_columns: Columns copied to the output to identify each row (e.g. ["customer_id"]).
        run_id: Recorded on every row (the pipeline passes its job id).
        shard: `{"index": i, "count": n}`, an item of plan_shards' output. None: the whole table.
        batch_rows: Rows per batch; peak memory grows with it, not with the input size.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content; recorded with the run.

    Returns:
        predictions: The scored rows (parquet).
        metrics: rows, batches, rows_per_second.
        profile: The profile of the scored rows and their scores on the model's reference bins
            (JSON), which check_drift combines across shards; `{}` when the model has no
            reference profile.
    """
    from components.batch_predict import core
    from components.common.inputs import model_source, table_source

    path, uri = table_source(data, data_uri, "batch_predict")
    source = model_source(model)
    result = core.run(
        source.path,
        path,
        predictions.path,
        core.ScoringRun(source.name, source.version, run_id, tuple(id_columns or ())),
        profile_uri=profile.path,
        expected_sha256=source.sha256,
        batch_rows=batch_rows,
        shard=shard,
        record_uri=uri,
        data_fingerprint=data_fingerprint,
    )
    predictions.metadata.update({"rows": result.rows_out, "task": result.task, "shard": result.shard_index})
    for name, value in result.metrics().items():
        metrics.log_metric(name, value)
