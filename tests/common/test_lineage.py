"""Lineage records: what registration labels, and who scored the rows of a predictions file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from components.common import inputs, lineage, model_files
from components.common.registry import open_registry
from components.common.revision import code_revision
from components.images import RUN_IMAGES
from components.register_model import core as registration

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
TRAINING_DATA = {"uri": "gs://runs/1/split-data/train", "sha256": "ab" * 32, "rows": 4012}


def _predictions(path: Path, rows: list[tuple[str, int, str, datetime]]) -> str:
    names, versions, runs, times = zip(*rows, strict=True)
    table = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(len(rows))],
            "model_name": list(names),
            "model_version": pa.array(versions, pa.int64()),
            "run_id": list(runs),
            "scored_at": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, path, row_group_size=2)  # several batches: counts merge across them
    return str(path)


def test_rows_are_grouped_by_model_version_and_run_across_batches(tmp_path: Path):
    rows = [("churn", 1, "run-a", T0 + timedelta(seconds=i)) for i in range(5)]
    rows[2:2] = [("churn", 2, "run-b", T0)] * 3
    found = lineage.scorings(_predictions(tmp_path / "p.parquet", rows))
    assert found == [
        lineage.Scoring("churn", 1, "run-a", 5, T0.isoformat(), (T0 + timedelta(seconds=4)).isoformat()),
        lineage.Scoring("churn", 2, "run-b", 3, T0.isoformat(), T0.isoformat()),
    ]


def test_predictions_lead_to_the_registered_versions_lineage(tmp_path: Path):
    registry = open_registry(str(tmp_path / "registry"))
    model_files.save({"a": "model"}, {"training_data": TRAINING_DATA}, str(tmp_path / "model"))
    labels = lineage.run_labels(
        "keel-training-20261201", "88231", ["r/keel-train-model:1", RUN_IMAGES], "offline-1"
    )
    registration.register(registry, "churn", str(tmp_path / "model"), promote=True, labels=labels)
    predictions = _predictions(tmp_path / "p.parquet", [("churn", 1, "run-a", T0), ("churn", 7, "run-a", T0)])

    record = lineage.of_predictions(predictions, registry)
    assert record["predictions"] == {"uri": predictions, "rows": 2, "sha256": inputs.fingerprint(predictions)}
    known, unknown = (entry["model"] for entry in record["scored_by"])
    assert known["training_data"] == TRAINING_DATA
    assert known["training_run"] == {"pipeline_job": "keel-training-20261201", "pipeline_run_id": "88231"}
    assert known["code"] == {
        "version": code_revision()["code_version"],
        "revision": code_revision()["code_revision"],
    }
    assert known["images"] == ["r/keel-train-model:1"]  # the kfp.local stand-in is not an image
    assert known["tracking"] == {"training": "offline-1", "registration": ""}
    assert "has no version 7" in unknown["error"]
