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
    rows_per_shard: int = 1_000_000,
    max_shards: int = 32,
    data_fingerprint: str = "",
) -> list:
    """Plans the shards a table is scored in: the items of a `dsl.ParallelFor` over batch_predict.

    A shard is a set of whole parquet row groups; a CSV file is a single shard.

    Args:
        data: The table to score, as a Dataset artifact (or give `data_uri`).
        data_uri: The table to score: parquet file or folder, or CSV; local, /gcs/ or gs://.
        rows_per_shard: About how many rows one shard (one machine on Vertex) scores.
        max_shards: The most shards, whatever the size.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content.

    Returns:
        One item per shard, `{"index": i, "count": n}`, to pass to batch_predict's `shard`.
    """
    from components.common import inputs
    from components.common.logging import logger
    from components.plan_shards import core

    path, uri = inputs.table_source(data, data_uri, "plan_shards")
    shards = core.plan(path, rows_per_shard, max_shards)
    logger.info("%s: %d rows in %d pieces -> %d shard(s)", uri, shards.rows, shards.pieces, shards.count)
    return shards.items
