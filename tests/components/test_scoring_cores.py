"""Core logic of model resolution, shard planning, batch scoring and publishing, on real files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.batch_predict import core as scoring
from components.common import io, parameters, sample_data
from components.common.errors import ParameterError
from components.common.io import DataError
from components.common.model_files import MODEL_FILE
from components.common.registry import open_registry
from components.plan_shards.core import plan
from components.publish_predictions import core as publishing
from components.resolve_model.core import NoUsableModelError, resolve, scoring_validation
from components.train_model import core as training
from components.validate_data import core as validation
from tests import churn

SPEC = training.TrainingSpec(label=sample_data.LABEL, id_columns=("customer_id",))


@pytest.fixture(scope="module")
def trained() -> training.TrainedModel:
    return training.train(sample_data.generate(2_000), SPEC)


@pytest.fixture
def unlabelled(tmp_path: Path) -> str:
    path = tmp_path / "unlabelled.parquet"
    frame = sample_data.generate(1_200, seed=5).drop(columns=[sample_data.LABEL])
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=500)
    return str(path)


@pytest.fixture
def registry(tmp_path: Path, trained: training.TrainedModel):
    registry = open_registry(str(tmp_path / "registry"))
    for version in (1, 2, 3, 4):
        folder = str(tmp_path / f"m{version}")
        training.save(trained, folder)
        registry.register("churn", folder)
    for version in (1, 2, 3):
        registry.promote("churn", version)  # champion v3, previous v2, v1 champion before
    return registry  # v4: a challenger selection never promoted


def _corrupt(registry, version: int) -> None:
    path = Path(registry.get("churn", version).uri) / MODEL_FILE
    path.write_bytes(b"not a model")


def test_resolution_prefers_the_champion(registry, unlabelled: str):
    chosen = resolve(registry, "churn", io.read_table(unlabelled).head(50))
    assert chosen.version.version == 3 and not chosen.fell_back


def test_resolution_falls_back_through_previous_then_earlier_champions_only(registry, unlabelled: str):
    sample = io.read_table(unlabelled).head(50)
    _corrupt(registry, 3)
    assert resolve(registry, "churn", sample).version.version == 2
    _corrupt(registry, 2)
    chosen = resolve(registry, "churn", sample)
    assert chosen.version.version == 1 and chosen.fell_back
    assert [(a.ref, a.usable) for a in chosen.attempts] == [
        ("champion", False),
        ("previous", False),
        ("v1 (champion before)", True),
    ]
    _corrupt(registry, 1)
    with pytest.raises(NoUsableModelError, match="not tried: v4, never champion"):
        resolve(registry, "churn", sample)
    chosen = resolve(registry, "churn", sample, fallback_to_unpromoted=True)
    assert chosen.version.version == 4 and chosen.attempts[-1].ref == "v4 (never champion)"


def test_a_model_that_cannot_predict_on_the_input_is_not_used(registry, unlabelled: str):
    sample = io.read_table(unlabelled).head(50).drop(columns=["tenure_months"])
    with pytest.raises(NoUsableModelError, match="tenure_months"):
        resolve(registry, "churn", sample)


def test_the_suite_for_scoring_is_given_else_the_models_and_its_label_is_skipped(tmp_path: Path):
    trained = training.train(sample_data.generate(500), SPEC, suite_uri=churn.SUITE)
    assert trained.metadata["training_suite_uri"] == churn.SUITE
    # recorded to be read again from elsewhere: gs:// for a /gcs/ path, a local one made absolute
    assert training.recorded_suite_uri("/gcs/b/suite.json") == "gs://b/suite.json"
    assert training.recorded_suite_uri("suite.json") == str(Path("suite.json").resolve())
    metadata = trained.metadata
    assert scoring_validation(metadata, "churn", 2) == (churn.SUITE, ["churned"])
    assert scoring_validation(metadata, "churn", 2, "gs://b/s.json", ["churned", "age"]) == (
        "gs://b/s.json",
        ["churned", "age"],
    )
    old = {
        key: value for key, value in metadata.items() if key != "training_suite_uri"
    }  # before keel recorded it
    with pytest.raises(
        ParameterError, match=r"parameter 'suite_uri' = '': model 'churn' v2 has no training suite recorded"
    ):
        scoring_validation(old, "churn", 2)
    assert scoring_validation(old, "churn", 2, churn.SUITE) == (churn.SUITE, ["churned"])
    # validate_data given the resolved model: its suite and columns, unless told otherwise
    resolved = {"suite_uri": churn.SUITE, "skip_columns": ["churned"]}
    assert validation.for_model(resolved) == (churn.SUITE, ["churned"])
    assert validation.for_model(resolved, "other.json", ["age"]) == ("other.json", ["age", "churned"])


def test_shards_follow_row_groups_and_size(unlabelled: str, tmp_path: Path):
    assert plan(unlabelled, rows_per_shard=500).count == 3
    assert plan(unlabelled, rows_per_shard=100).count == 3  # never more shards than row groups
    assert plan(unlabelled, rows_per_shard=1_000_000).count == 1
    assert plan(unlabelled, rows_per_shard=500, max_shards=2).items == [
        {"index": 0, "count": 2},
        {"index": 1, "count": 2},
    ]


def test_shard_size_follows_a_target_duration(unlabelled: str):
    from components.plan_shards.core import target_rows

    assert target_rows() == 5 * 60 * 50_000  # 5 minutes at the measured rate
    assert target_rows(shard_minutes=1, rows_per_second=10) == 600
    assert target_rows(rows_per_shard=1_234, shard_minutes=1, rows_per_second=10) == 1_234
    assert plan(unlabelled).count == 1  # 1,200 rows: far under 5 minutes of work
    assert plan(unlabelled, shard_minutes=1 / 60, rows_per_second=500).count == 3  # 500 rows a shard
    with pytest.raises(ValueError, match="parameter 'shard_minutes' = 0: must be a number > 0"):
        target_rows(shard_minutes=0)


def test_scoring_streams_shards_that_add_up_to_the_input(trained, unlabelled: str, tmp_path: Path):
    run = scoring.ScoringRun("churn", 3, "run-7", ("customer_id",))
    parts = []
    for index in range(2):
        out = str(tmp_path / f"part-{index}.parquet")
        result = scoring.score_table(trained.model, trained.metadata, unlabelled, out, run, 200, index, 2)
        assert result.batches >= 2  # batch_rows=200 streams each row group in pieces
        parts.append(io.read_table(out))
    scored = pd.concat(parts)
    assert len(scored) == 1_200 and scored["customer_id"].is_unique
    assert list(scored.columns) == [
        "customer_id",
        "prediction",
        "score",
        "model_name",
        "model_version",
        "run_id",
        "scored_at",
    ]
    whole = io.read_table(unlabelled)
    expected = trained.model.predict_proba(whole[[f["name"] for f in trained.metadata["features"]]])[:, 1]
    by_id = scored.set_index("customer_id").loc[whole["customer_id"], "score"].to_numpy()
    np.testing.assert_allclose(by_id, expected)


def test_scoring_refuses_input_without_the_features_and_writes_nothing(trained, tmp_path: Path):
    path = str(tmp_path / "bad.parquet")
    io.write_table(sample_data.generate(100).drop(columns=["age"]), path)
    with pytest.raises(DataError, match="age"):
        scoring.score_table(
            trained.model,
            trained.metadata,
            path,
            str(tmp_path / "out.parquet"),
            scoring.ScoringRun("m", 1, "r"),
        )
    assert not (tmp_path / "out.parquet").exists()


def _part(tmp_path: Path, name: str, scores: list[float]) -> str:
    path = str(tmp_path / name)
    io.write_table(
        pd.DataFrame(
            {
                "customer_id": [f"C{i}" for i in range(len(scores))],
                "prediction": [int((s or 0) > 0.5) for s in scores],
                "score": scores,
            }
        ),
        path,
    )
    return path


def test_publishing_checks_rows_nulls_range_and_collapse(tmp_path: Path):
    good = _part(tmp_path, "good.parquet", [0.1, 0.7, 0.4])
    published = publishing.publish([good, good], str(tmp_path / "out"), "2026-11-26", expected_rows=6)
    assert published.uri.endswith("out/run_date=2026-11-26/predictions.parquet") and published.rows == 6
    cases = {
        "rows": ([good], 5, "1 rows|3 rows scored but the input has 5"),
        "range": ([_part(tmp_path, "range.parquet", [0.2, 1.5])], -1, r"outside \[0, 1\]"),
        "collapsed": ([_part(tmp_path, "flat.parquet", [0.3] * 4)], -1, "collapsed"),
        "nulls": ([_part(tmp_path, "nulls.parquet", [0.2, None])], -1, "column 'score' has nulls"),
    }
    for parts, expected_rows, message in cases.values():
        with pytest.raises(publishing.PredictionCheckError, match=message):
            publishing.publish(parts, str(tmp_path / "out"), "2026-11-26", expected_rows)
    # the earlier, good output is untouched by the failed attempts, and nothing else was left behind
    assert [p.name for p in (tmp_path / "out" / "run_date=2026-11-26").iterdir()] == ["predictions.parquet"]
    assert len(io.read_table(published.uri)) == 6


def test_run_date_comes_from_the_parameter_then_the_schedule_time():
    assert parameters.run_date("2026-01-31", "2026-02-01T03:00:00Z") == "2026-01-31"
    assert parameters.run_date("", "2026-02-01T03:00:00Z") == "2026-02-01"
    assert parameters.run_date("", "keel:schedule-time") == pd.Timestamp.now("UTC").date().isoformat()
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        parameters.run_date("31/01/2026")
