"""Lineage: what a registered model version and a predictions file came from.

Every registered version records, as labels (register_model sets them):
  code_version, code_revision   the keel-pipelines version and git revision (components.common.revision)
  images                        the run's container images, comma-separated (none under kfp.local,
                                which runs no image: the code is the checkout at code_revision)
  pipeline_job, pipeline_run_id the training run: its job name (under kfp.local, its run folder's
                                name) and its uuid
  training_tracking_id, registration_tracking_id   the ClearML task ids
  source_data_uri, source_data_fingerprint        the table the training run started from, and its
                                content fingerprint (fingerprint_inputs: sha256, or gs:// generation/crc32c)
and, in its metadata.json, `training_data`: the URI, sha256 (fingerprint) and rows of the table it
was trained on. Every predictions row names its model_name, model_version and run_id (the scoring
run), so a predictions file leads back to all of it:

    from components.common import lineage
    from components.common.registry import open_registry
    lineage.of_predictions("out/run_date=2026-12-01/predictions.parquet", open_registry(".keel/registry"))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from components.common import inputs, io
from components.common.registry import ModelVersion, Registry, RegistryError
from components.images import RUN_IMAGES

SCORING_COLUMNS = ["model_name", "model_version", "run_id", "scored_at"]
IMAGES_SEPARATOR = ","


def run_labels(
    pipeline_job: str, pipeline_run_id: str, images: list[str] | None, training_tracking_id: str
) -> dict[str, str]:
    """The labels of a registration that say which run, images and training it came from; the
    `[RUN_IMAGES]` stand-in (a kfp.local run) records no images."""
    return {
        "pipeline_job": pipeline_job,
        "pipeline_run_id": pipeline_run_id,
        "images": IMAGES_SEPARATOR.join(image for image in images or [] if image != RUN_IMAGES),
        "training_tracking_id": training_tracking_id,
    }


def source_labels(uri: str, fingerprint: str) -> dict[str, str]:
    """The labels that name the table a training run started from, and its content fingerprint."""
    return {"source_data_uri": uri, "source_data_fingerprint": fingerprint}


def of_version(found: ModelVersion) -> dict[str, Any]:
    """The lineage of one registered version."""
    labels = found.labels
    return {
        "model": found.name,
        "version": found.version,
        "aliases": found.aliases,
        "registered_at": found.created_at,
        "model_sha256": found.sha256,
        "source_data": {
            "uri": labels.get("source_data_uri", ""),
            "fingerprint": labels.get("source_data_fingerprint", ""),
        },
        "training_data": found.metadata.get("training_data", {}),
        "training_run": {key: labels.get(key, "") for key in ("pipeline_job", "pipeline_run_id")},
        "tracking": {
            "training": labels.get("training_tracking_id", ""),
            "registration": labels.get("registration_tracking_id", ""),
        },
        "code": {"version": labels.get("code_version", ""), "revision": labels.get("code_revision", "")},
        "images": [image for image in labels.get("images", "").split(IMAGES_SEPARATOR) if image],
    }


@dataclass
class Scoring:
    """Rows of a predictions file scored by one model version in one run."""

    model_name: str
    model_version: int
    run_id: str
    rows: int
    first_scored_at: str
    last_scored_at: str


def scorings(predictions_uri: str) -> list[Scoring]:
    """Who scored the rows of a predictions file (batch_predict's columns), read in batches."""
    found: dict[tuple[str, int, str], list] = {}
    keys = SCORING_COLUMNS[:3]
    for batch in io.open_dataset(predictions_uri).to_batches(columns=SCORING_COLUMNS):
        grouped = (
            pa.Table.from_batches([batch])
            .group_by(keys)
            .aggregate([("scored_at", "count"), ("scored_at", "min"), ("scored_at", "max")])
        )
        for row in grouped.to_pylist():
            key = tuple(row[k] for k in keys)
            rows, low, high = row["scored_at_count"], row["scored_at_min"], row["scored_at_max"]
            if key in found:
                total, first, last = found[key]
                rows, low, high = total + rows, min(first, low), max(last, high)
            found[key] = [rows, low, high]
    return [
        Scoring(name, int(version), run_id, rows, first.isoformat(), last.isoformat())
        for (name, version, run_id), (rows, first, last) in sorted(found.items())
    ]


def of_predictions(predictions_uri: str, registry: Registry) -> dict[str, Any]:
    """The lineage of a predictions file: its rows and fingerprint, and for each model version
    that scored them, that version's lineage (or why the registry cannot say)."""
    scored = scorings(predictions_uri)
    entries = []
    for scoring in scored:
        try:
            model = of_version(registry.get(scoring.model_name, scoring.model_version))
        except RegistryError as error:
            model = {"error": str(error)}
        entries.append({**asdict(scoring), "model": model})
    return {
        "predictions": {
            "uri": predictions_uri,
            "rows": sum(scoring.rows for scoring in scored),
            "sha256": inputs.fingerprint(predictions_uri),
        },
        "registry": registry.uri,
        "scored_by": entries,
    }
