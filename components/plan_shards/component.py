"""KFP interface of plan_shards; the work is in `core`."""

from kfp import dsl
from kfp.dsl import Dataset, Input

from components.external_state import external_state
from components.images import image


@external_state(reads={"data_uri": "data_fingerprint"})
@dsl.component(base_image=image("plan_shards"), install_kfp_package=False)
def plan_shards(
    data: Input[Dataset] = None,
    data_uri: str = "",
    rows_per_shard: int = 0,
    shard_minutes: float = 5.0,
    rows_per_second: float = 50_000.0,
    max_shards: int = 32,
    data_fingerprint: str = "",
) -> list:
    """Plans the shards a table is validated and scored in: the items of a `dsl.ParallelFor`.

    A shard is a set of whole parquet row groups; a CSV file is a single shard. On Vertex each
    shard is a new machine with about a minute of start-up, so a shard should work for several
    minutes: by default it holds what one machine does in `shard_minutes` at `rows_per_second`.

    Args:
        data: The table to score, as a Dataset artifact (or give `data_uri`).
        data_uri: The table to score: parquet file or folder, or CSV; local, /gcs/ or gs://.
        rows_per_shard: About how many rows one shard holds. 0 (default): from `shard_minutes`.
        shard_minutes: How long one shard should work (default 5 minutes, after its start-up).
        rows_per_second: Rows per second one shard handles: the slower of validation and
            scoring (50,000: scoring the sample data with the default model on 2 cores; lower it for
            slower models or wider tables).
        max_shards: The most shards, whatever the size.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content.

    Returns:
        One item per shard, `{"index": i, "count": n}`, to pass to validate_data's and
        batch_predict's `shard`.
    """
    from components.common.inputs import table_source
    from components.plan_shards import core

    path, uri = table_source(data, data_uri, "plan_shards")
    return core.run(path, rows_per_shard, max_shards, shard_minutes, rows_per_second, record_uri=uri).items
