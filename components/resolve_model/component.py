"""KFP interface of resolve_model; the work is in `core`."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Markdown, Metrics, Model, Output

from components.external_state import external_state
from components.images import image


@external_state(
    reads={
        "registry_uri": "registry_fingerprint",
        "model_name": "registry_fingerprint",
        "data_uri": "data_fingerprint",
    }
)
@dsl.component(base_image=image("resolve_model"), install_kfp_package=False)
def resolve_model(
    model: Output[Model],
    report: Output[Markdown],
    metrics: Output[Metrics],
    model_name: str,
    registry_uri: str = "",
    data: Input[Dataset] = None,
    data_uri: str = "",
    sample_rows: int = 200,
    fallback_to_unpromoted: bool = False,
    registry_fingerprint: str = "",
    data_fingerprint: str = "",
) -> NamedTuple("Outputs", version=int, fell_back=bool):
    """Picks the registered model to score with, falling back when the champion is not usable.

    Tries the `champion`, then `previous`, then the versions that were champion before (the
    promotion history, newest first); never a version that was never champion (a challenger that
    selection refused) unless `fallback_to_unpromoted`. A version is used only if it is not damaged,
    its model file matches the sha256 recorded at registration and it predicts finite, in-range
    scores on the first `sample_rows` rows of the data to score. Every attempt and its outcome is
    recorded (report, metrics, ClearML, WARNING logs). Fails when no version is usable.

    Args:
        model_name: The registered model's name.
        registry_uri: A local folder or file:// URI, or vertex://projects/P/locations/L. Empty: the
            local registry under KEEL_HOME (default .keel/registry).
        data: The data to score, as a Dataset artifact (or give `data_uri`).
        data_uri: The data to score: a local path, /gcs/ path or gs:// URI.
        sample_rows: How many rows the smoke prediction uses (at least 1).
        fallback_to_unpromoted: When no version that was champion is usable, try the versions that
            never were, newest first. Off by default: selection refused them.
        registry_fingerprint: The fingerprint of `model_name` in the registry (fingerprint_inputs'
            output), so that Vertex reuses a cached result only for the same versions and aliases.
        data_fingerprint: The content fingerprint of `data_uri` (fingerprint_inputs' output), so that
            Vertex reuses a cached result only for the same content; recorded with the run.

    Returns:
        model: A verified copy of the chosen version (model.joblib + metadata.json, and the
            reference profile.json when it has one); its metadata names the model, version and
            registry.
        report: Which versions were tried and why each was or was not used (Markdown).
        metrics: version, fell_back (1 or 0) and attempts.
        version: The chosen version number.
        fell_back: True when the champion was not used.
    """
    from components.common import inputs, io, model_files, parameters
    from components.common.config import settings
    from components.common.registry import open_registry
    from components.common.tracking import track
    from components.resolve_model import core

    parameters.check({"sample_rows": sample_rows, "model_name": model_name, "registry_uri": registry_uri})
    path, uri = inputs.table_source(data, data_uri, "resolve_model")
    registry = open_registry(registry_uri or settings().registry_uri)
    params = {
        "model_name": model_name,
        "registry": registry.uri,
        "data": uri,
        "fallback_to_unpromoted": fallback_to_unpromoted,
        "registry_fingerprint": registry_fingerprint,
        "data_fingerprint": data_fingerprint,
    }
    with track("resolve_model", params=params) as run:
        sample = io.head(path, sample_rows).to_pandas()
        chosen = core.resolve(registry, model_name, sample, uri, fallback_to_unpromoted)
        model_files.copy(chosen.version.uri, model.path, chosen.version.sha256, chosen.version.profile_sha256)
        model.metadata.update(
            {"name": model_name, "version": chosen.version.version, "registry": registry.uri}
        )
        summary = {
            "version": chosen.version.version,
            "fell_back": int(chosen.fell_back),
            "attempts": len(chosen.attempts),
        }
        run.report_metrics(summary, metrics)
        with open(report.path, "w") as out:
            out.write(chosen.to_markdown())
        run.log_artifact("resolution", report.path)
    return (chosen.version.version, chosen.fell_back)
