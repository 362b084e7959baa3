"""KFP interface of split_data; the work is in `core`."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from components.external_state import external_state
from components.images import image


@external_state(reads={"data_uri": "data_fingerprint"})
@dsl.component(base_image=image("split_data"), install_kfp_package=False)
def split_data(
    train: Output[Dataset],
    test: Output[Dataset],
    metrics: Output[Metrics],
    label: str,
    data: Input[Dataset] = None,
    data_uri: str = "",
    test_fraction: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
    key_column: str = "",
    data_fingerprint: str = "",
):
    """Splits a table into a training part and a test (holdout) part.

    The split is deterministic: the same table, fraction and seed always give the same parts, and
    rows keep their original order within each part.

    Args:
        label: The label column. It must exist and be set on every row.
        data: The table to split, as a Dataset artifact (parquet file or folder, or CSV).
            Give either `data` or `data_uri`.
        data_uri: The table to split, as a local path, /gcs/ path or gs:// URI.
        test_fraction: The share of rows that goes to `test`, between 0 and 1.
        seed: The random seed of the split.
        stratify: Keep the label's class proportions in both parts. Ignored (with a log line)
            when the label is continuous, which is split at random.
        key_column: Split by a stable hash of this column (e.g. a customer id) instead: a key
            lands in the same part in every run, so models trained by earlier runs are never
            evaluated on their own training rows. `seed` and `stratify` are then unused.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content; recorded with the run.

    Returns:
        train: The training rows, as parquet.
        test: The test rows, as parquet.
        metrics: train_rows, test_rows.
    """
    from components.common.inputs import table_source
    from components.split_data import core

    path, uri = table_source(data, data_uri, "split_data")
    parts = core.run(
        path,
        label,
        train.path,
        test.path,
        test_fraction,
        seed,
        stratify,
        key_column,
        record_uri=uri,
        data_fingerprint=data_fingerprint,
    )
    for name, value in parts.metrics().items():
        metrics.log_metric(name, value)
