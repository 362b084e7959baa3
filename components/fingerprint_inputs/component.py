"""KFP interface of fingerprint_inputs; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Output

from components.external_state import external_state
from components.images import image


@external_state(
    fingerprints={
        "data_fingerprint": ("data_uri",),
        "suite_fingerprint": ("suite_uri",),
        "registry_fingerprint": ("registry_uri", "model_name"),
    }
)
@dsl.component(base_image=image("fingerprint_inputs"), install_kfp_package=False)
def fingerprint_inputs(
    data: Output[Dataset],
    data_uri: str = "",
    suite_uri: str = "",
    registry_uri: str = "",
    model_name: str = "",
    pipeline_name: str = "",
    run_parameters: dict = None,
    pipeline_root: str = "",
) -> NamedTuple("Outputs", data_fingerprint=str, suite_fingerprint=str, registry_fingerprint=str):
    """Fingerprints the content a pipeline run reads, so cached tasks rerun exactly when it changed.

    Vertex AI reuses a cached task when its component and input values are the same as before,
    whatever the content behind a URI or in the registry. Run this step first, uncached; tasks that
    read a table, a suite or the registry take the matching fingerprint as an input. It is cheap:
    on Cloud Storage (gs:// or /gcs/) it reads object metadata (generation, crc32c, size), never
    the data; a local file is hashed (sha256); a folder counts every object in it, names included;
    a registry model counts its alias -> version map and each version's sha256.

    Given `run_parameters`, it first checks the run's whole parameter set, by name, before any other
    task works (a bad `run_date` fails here, not after scoring; an output location inside an input
    one is refused): the same rules as `keel run`, `keel submit` and `keel schedule create`.

    Args:
        data_uri: The table the run reads: parquet file or folder, or CSV; local, /gcs/ or gs://.
        suite_uri: The expectation suite the run validates with (local, /gcs/ or gs://). Empty: none
            (not fingerprinted).
        registry_uri: The registry of `model_name`: a local folder or file:// URI, or
            vertex://projects/P/locations/L. Empty: KEEL_HOME's local registry.
        model_name: The registered model the run reads (e.g. its champion). Empty: no registry.
        pipeline_name: The pipeline whose parameters `run_parameters` are, e.g. `batch_scoring`.
        run_parameters: The run's text, number and boolean parameters by name (a pipeline passes
            `pipelines.steps.scalar_parameters(locals())`), checked against
            components/common/parameters.py's rules. None: nothing checked.
        pipeline_root: Where the run writes its artifacts (the pipeline passes
            `dsl.PIPELINE_ROOT_PLACEHOLDER`): an output, which must not sit inside an input.

    Returns:
        data: The table as a Dataset artifact, for lineage: its URI is the table's (gs:// on Cloud
            Storage), its metadata holds `fingerprint` and, for parquet, `rows`. A new artifact
            every run: pass `data_fingerprint` (not this) to tasks that should stay cacheable.
        data_fingerprint: The table's fingerprint ("" without `data_uri`).
        suite_fingerprint: The suite's fingerprint ("" without `suite_uri`).
        registry_fingerprint: The registry model's fingerprint ("" without `model_name`).
    """
    from components.fingerprint_inputs import core

    found = core.run(
        data_uri, suite_uri, registry_uri, model_name, pipeline_name, run_parameters, pipeline_root
    )
    if found.data_uri:
        data.uri = found.data_uri
        data.metadata.update(found.dataset_metadata())
    return (found.data, found.suite, found.registry)
