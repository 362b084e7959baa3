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
    suite_uri: str = "",
    skip_columns: list = None,
) -> NamedTuple("Outputs", version=int, fell_back=bool, suite_uri=str, skip_columns=list):
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
        suite_uri: The expectation suite to validate the data to score with. Empty: the suite the
            chosen version was trained with (recorded in its metadata as `training_suite_uri`); a
            version with none recorded (registered before keel recorded it) fails, naming
            `suite_uri` and the version. Not read here: passed on as the `suite_uri` output.
        skip_columns: Columns whose expectations are left out of that validation; the chosen
            version's label is always added (data to score has none).

    Returns:
        model: A verified copy of the chosen version (model.joblib + metadata.json, and the
            reference profile.json when it has one); its metadata names the model, version and
            registry, and the suite to validate the data to score with and the columns to skip (the
            `suite_uri` and `skip_columns` outputs), for validate_data's `model` input.
        report: Which versions were tried and why each was or was not used (Markdown).
        metrics: version, fell_back (1 or 0) and attempts.
        version: The chosen version number.
        fell_back: True when the champion was not used.
        suite_uri: The suite to validate the data to score with (given, else the version's own).
        skip_columns: The columns to leave out of that validation (given, plus the label).
    """
    from components.common.inputs import table_source
    from components.resolve_model import core

    path, uri = table_source(data, data_uri, "resolve_model")
    chosen = core.run(
        model_name,
        path,
        model.path,
        report.path,
        registry_uri=registry_uri,
        sample_rows=sample_rows,
        fallback_to_unpromoted=fallback_to_unpromoted,
        record_uri=uri,
        registry_fingerprint=registry_fingerprint,
        data_fingerprint=data_fingerprint,
        suite_uri=suite_uri,
        skip_columns=skip_columns,
    )
    model.metadata.update(
        {
            "name": model_name,
            "version": chosen.version.version,
            "registry": chosen.registry_uri,
            "suite_uri": chosen.suite_uri,  # validate_data given this model validates with it
            "skip_columns": chosen.skip_columns,
        }
    )
    for name, value in chosen.metrics().items():
        metrics.log_metric(name, value)
    return (chosen.version.version, chosen.fell_back, chosen.suite_uri, chosen.skip_columns)
