"""Fingerprint what a pipeline run reads (its table, suite and registry model), cheaply, at its start.

Tasks that read those take the fingerprints as inputs, so Vertex AI reuses a cached task exactly
when nothing it reads has changed (see components/common/fingerprints.py for how each is computed).
`run` is the component's work: the run's parameters checked, then the fingerprints, tracked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from components.common import fingerprints, io, parameters
from components.common.config import settings
from components.common.logging import logger
from components.common.registry import open_registry
from components.common.tracking import track


@dataclass(frozen=True)
class InputFingerprints:
    """The fingerprints of one run's inputs; "" for an input not given."""

    data: str
    suite: str
    registry: str
    data_uri: str  # the table as recorded: gs:// for Cloud Storage, an absolute path otherwise
    data_rows: int | None  # from parquet metadata; None for CSV

    def summary(self) -> dict[str, str]:
        return {
            "data_fingerprint": self.data,
            "suite_fingerprint": self.suite,
            "registry_fingerprint": self.registry,
        }

    def dataset_metadata(self) -> dict[str, str | int]:
        """The table's Dataset artifact metadata: its fingerprint, and its rows when known."""
        return {"fingerprint": self.data, **({"rows": self.data_rows} if self.data_rows is not None else {})}


def recorded_uri(uri: str) -> str:
    """How a table is named in lineage: its gs:// URI on Cloud Storage, else its absolute path."""
    uri = fingerprints.cloud_uri(uri)
    return uri if uri.startswith("gs://") else os.path.abspath(uri.removeprefix("file://"))


def parquet_rows(uri: str) -> int | None:
    """Rows of a parquet file or folder from its footers; None for CSV (only known by reading it) and
    for a table that cannot be read (validation then says why, in its own words)."""
    try:
        pieces = io.table_pieces(uri)
    except io.DataError as error:
        logger.warning("fingerprints: no row count for %s (%s)", uri, error)
        return None
    return None if any(piece.rows is None for piece in pieces) else sum(piece.rows for piece in pieces)


def check_run(pipeline_name: str, run_parameters: dict[str, Any] | None, pipeline_root: str = "") -> None:
    """Check a run's whole parameter set before any work (components.common.parameters); a pipeline
    passes its parameters as a dict, where KFP turns every value into text: typed ones are read back."""
    if run_parameters is not None:
        parameters.check_pipeline(pipeline_name, parameters.decoded(run_parameters), pipeline_root)


def fingerprint_inputs(
    data_uri: str = "", suite_uri: str = "", registry_uri: str = "", model_name: str = ""
) -> InputFingerprints:
    """Fingerprint the table at `data_uri`, the suite at `suite_uri` and model `model_name` in the
    registry at `registry_uri` (empty: KEEL_HOME's local registry); an empty URI or model name is not
    fingerprinted."""
    registry = open_registry(registry_uri or settings().registry_uri) if model_name else None
    found = InputFingerprints(
        data=fingerprints.of_uri(data_uri) if data_uri else "",
        suite=fingerprints.of_uri(suite_uri) if suite_uri else "",
        registry=fingerprints.of_registry(registry, model_name) if registry else "",
        data_uri=recorded_uri(data_uri) if data_uri else "",
        data_rows=parquet_rows(data_uri) if data_uri else None,
    )
    logger.info(
        "fingerprints: data %s (%s), suite %s (%s), registry %s (%s)",
        found.data[:12] or "-",
        data_uri or "not given",
        found.suite[:12] or "-",
        suite_uri or "not given",
        found.registry[:12] or "-",
        f"{registry.uri}#{model_name}" if registry else "not given",
    )
    return found


def run(
    data_uri: str = "",
    suite_uri: str = "",
    registry_uri: str = "",
    model_name: str = "",
    pipeline_name: str = "",
    run_parameters: dict[str, Any] | None = None,
    pipeline_root: str = "",
) -> InputFingerprints:
    """The component's work, as a tracked run: `check_run`, then `fingerprint_inputs`; the
    fingerprints are recorded with the run."""
    params = {
        "data_uri": data_uri,
        "suite_uri": suite_uri,
        "registry_uri": registry_uri,
        "model_name": model_name,
    }
    with track("fingerprint_inputs", params=params) as tracked:
        check_run(pipeline_name, run_parameters, pipeline_root)
        found = fingerprint_inputs(data_uri, suite_uri, registry_uri, model_name)
        tracked.log_params(found.summary(), section="fingerprints")
    return found
