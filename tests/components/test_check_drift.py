"""check_drift: Vertex's distances, no alarm on training-like data (small batches too), the drifted
features named exactly, thresholds, outputs, history, and a kfp.local run of the component."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.spatial.distance import jensenshannon

from components.batch_predict import core as scoring
from components.check_drift import core, history, metrics
from components.common import io, model_files, prediction
from components.common.profile import Profiler, combine
from components.common.registry import open_registry
from components.common.sample_data import drifted
from tests.builders import CHANGED_FEATURE, SHIFTED_FEATURE, to_score


@pytest.fixture(scope="module")
def loaded(profiled_model: str):
    model, metadata = model_files.load(profiled_model)
    return model, metadata, model_files.load_profile(profiled_model)


def _current(loaded, frame) -> dict:
    """The profile of `frame` and of the model's scores on it, as batch_predict makes it."""
    model, metadata, reference = loaded
    profiler = Profiler(reference)
    features = prediction.feature_frame(frame, metadata, "test")
    profiler.add(features, prediction.predict(model, metadata, features)[1])
    return profiler.result()


def _write(frame, path: Path, row_group_size: int = 1_000) -> str:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size)
    return str(path)


def test_distances_are_vertex_s_and_match_scipy_on_the_same_bins():
    generator = np.random.default_rng(0)
    for _ in range(50):
        reference, current = generator.integers(0, 40, size=(2, 12)).astype(float)
        reference[generator.integers(12)] = current[generator.integers(12)] = 0  # empty buckets: no smoothing
        divergence = metrics.jensen_shannon_divergence(reference, current)
        assert divergence == pytest.approx(jensenshannon(reference, current, base=2) ** 2, abs=1e-12)
        shares = reference / reference.sum() - current / current.sum()
        assert metrics.l_infinity(reference, current) == pytest.approx(np.abs(shares).max())
    assert metrics.jensen_shannon_divergence([5, 5, 0, 0], [0, 0, 3, 1]) == 1.0  # disjoint: the maximum
    assert metrics.jensen_shannon_divergence([2, 6], [1, 3]) == 0.0 == metrics.l_infinity([2, 6], [1, 3])
    rows = generator.integers(1, 40, size=(5, 8))
    np.testing.assert_allclose(  # a batch of comparisons at once, as the noise floor uses it
        metrics.jensen_shannon_divergence(rows, rows[::-1]),
        [metrics.jensen_shannon_divergence(a, b) for a, b in zip(rows, rows[::-1], strict=True)],
    )


def test_data_from_the_training_distribution_does_not_drift(loaded):
    result = core.compare(loaded[2], _current(loaded, to_score(20_000, seed=1)))
    assert not result.drifted and result.score is not None
    assert len(result.compared) == 8 and all(one.distance < 0.05 for one in result.compared)


def test_small_batches_from_the_training_distribution_raise_no_alarm(loaded):
    """100-row batches are noisy: some exceed the 0.1 threshold by chance, none exceeds its noise floor."""
    results = [core.compare(loaded[2], _current(loaded, to_score(100, seed=seed))) for seed in range(10, 40)]
    assert not [result.drifted_names for result in results if result.drifted]
    above_threshold = [one for result in results for one in result.compared if one.distance > one.threshold]
    assert above_threshold  # without the noise floor, these would have been false alarms
    assert all(one.noise_floor > one.distance for one in above_threshold)
    assert not core.compare(loaded[2], _current(loaded, to_score(300, seed=2))).drifted


def test_one_shifted_number_and_one_changed_share_drift_and_are_named_exactly(loaded):
    result = core.compare(loaded[2], _current(loaded, drifted(to_score(20_000, seed=1))))
    assert result.drifted_names == [SHIFTED_FEATURE, CHANGED_FEATURE]
    shifted, changed = (
        next(one for one in result.compared if one.name == name) for name in result.drifted_names
    )
    assert (shifted.metric, changed.metric) == ("jensen_shannon_divergence", "l_infinity")
    assert 0.1 < shifted.distance < 0.3 and 0.15 < changed.distance < 0.3
    assert changed.detail().startswith("month-to-month: ")


def test_thresholds_per_feature_and_their_rules(loaded):
    current = _current(loaded, drifted(to_score(5_000, seed=1)))
    relaxed = core.compare(loaded[2], current, thresholds={SHIFTED_FEATURE: 0.5})
    assert relaxed.drifted_names == [CHANGED_FEATURE]
    strict = core.compare(loaded[2], current, threshold=0.5, thresholds={"score": 0.001})
    assert strict.drifted_names == ["score"]
    with pytest.raises(ValueError, match=r"thresholds for unknown feature\(s\) \['agee'\]; known: age, "):
        core.compare(loaded[2], current, thresholds={"agee": 0.2})
    with pytest.raises(ValueError, match=r"threshold = 0; rule: a distance threshold is in \(0, 1\]"):
        core.compare(loaded[2], current, threshold=0)


def test_a_missing_feature_column_drifts(loaded):
    frame = to_score(2_000, seed=1).drop(columns=["region"])
    profiler = Profiler(loaded[2])
    profiler.add(frame)
    result = core.compare(loaded[2], profiler.result())
    assert result.drifted_names == ["region"] and result.score is None
    assert "scores not compared: no scores were given" in result.note


def test_shard_profiles_from_scoring_add_up_to_the_whole_table(loaded, tmp_path):
    model, metadata, reference = loaded
    data = _write(to_score(2_500, seed=3), tmp_path / "data.parquet")
    shards = []
    for index in range(3):
        shard = str(tmp_path / f"profile-{index}.json")
        run = scoring.ScoringRun("churn", 1, "test")
        output = str(tmp_path / f"scored-{index}.parquet")
        scoring.score_table(model, metadata, data, output, run, 1_000, index, 3, reference, shard)
        shards.append(shard)
    predictions = str(tmp_path / "scored-0.parquet")  # whole-table mode reads a table's scores
    scoring.score_table(model, metadata, data, predictions, scoring.ScoringRun("churn", 1, "t"))
    whole = core.profile_table(reference, data, predictions)
    assert combine([io.read_json(path) for path in shards]) == whole and whole["rows"] == 2_500


def test_outputs_history_and_the_decision(profiled_model, tmp_path):
    data = _write(drifted(to_score(3_000, seed=5)), tmp_path / "data.parquet")
    outputs = {name: str(tmp_path / name) for name in ("report", "summary", "anomalies")}
    request = core.DriftRequest(
        subject="churn v7",
        model_folder=profiled_model,
        data=data,
        on_drift="fail",
        output_uri=str(tmp_path / "predictions"),
        run_date="2026-03-01",
        **outputs,
    )
    outcome = core.check(request)

    assert outcome.blocked and outcome.decision == "fail"
    assert outcome.metrics()["drifted_features"] == 2 and outcome.metrics()[f"drift.{SHIFTED_FEATURE}"] > 0.1
    summary = Path(outputs["summary"]).read_text()
    assert f"drift in {SHIFTED_FEATURE}, {CHANGED_FEATURE} (churn v7, 3000 rows): the run stops" in summary
    report = Path(outputs["report"]).read_text()
    assert (
        report.count("<svg") == 7
        and "<script" not in report
        and "http://" not in report.replace("http://www.w3.org/2000/svg", "")
    )
    anomalies = json.loads(Path(outputs["anomalies"]).read_text())
    assert anomalies["drifted_features"] == [SHIFTED_FEATURE, CHANGED_FEATURE]
    assert anomalies["decision"] == "fail" and anomalies["on_drift"] == "fail"

    records = history.read(str(tmp_path / "predictions"))
    assert [(r["run_date"], r["decision"]) for r in records] == [("2026-03-01", "fail")]
    clean = _write(to_score(3_000, seed=6), tmp_path / "clean.parquet")
    core.check(core.DriftRequest(**{**vars(request), "on_drift": "warn", "data": clean}))  # a rerun
    core.check(core.DriftRequest(**{**vars(request), "on_drift": "warn", "run_date": "2026-03-02"}))
    records = history.read(str(tmp_path / "predictions"))
    assert [(r["run_date"], r["decision"]) for r in records] == [
        ("2026-03-01", "pass"),
        ("2026-03-02", "warn"),
    ]
    assert sorted(path.name for path in (tmp_path / "predictions" / "_monitoring").iterdir()) == [
        "run_date=2026-03-01.json",
        "run_date=2026-03-02.json",
    ]
    assert history.read(str(tmp_path / "predictions"), last=1)[0]["run_date"] == "2026-03-02"


def test_drift_is_announced_as_one_warning_json_line_carrying_the_alert():
    script = (
        "from components.check_drift import core, results\n"
        "age = results.FeatureDrift('age', 'numeric', 'jensen_shannon_divergence', 0.3, 0.1, 0.01, 500,"
        " ['young', 'middle', 'old'], [0.4, 0.4, 0.2], [0.3, 0.2, 0.5])\n"
        "core.announce(results.DriftOutcome(results.DriftResult('churn v1', [age], None, 500, 4000), 'warn', 'warn'))"
    )
    env = {**os.environ, "KEEL_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    (line,) = done.stderr.strip().splitlines()
    entry = json.loads(line)
    alert = entry["alert"]
    assert entry["severity"] == "WARNING" and entry["logger"] == "keel.alerts"
    assert alert["title"] == "Drift: age (churn v1)" and alert["severity"] == "WARNING"
    assert alert["fields"]["age"] == "jensen_shannon_divergence 0.3000 > 0.1000; old: 20.0% -> 50.0%"


def test_no_reference_is_a_skipped_check_not_an_error(tmp_path, keel_home):
    outcome = core.check(core.DriftRequest(model_name="churn", data=str(tmp_path / "never-read.parquet")))
    assert outcome.decision == "skipped" and not outcome.drifted
    assert "no model to compare with yet" in outcome.headline()
    with pytest.raises(ValueError, match="on_drift = 'stop'; expected one of warn, fail"):
        core.check(core.DriftRequest(model_name="churn", on_drift="stop"))
    with pytest.raises(
        ValueError, match=r"thresholds\['age'\] = 2; rule: a distance threshold is in \(0, 1\]"
    ):
        core.check(core.DriftRequest(model_name="churn", thresholds={"age": 2}))


def test_component_compares_a_registered_champion_with_a_table(
    kfp_local, keel_home, profiled_model, tmp_path
):
    from components import check_drift

    registry = open_registry(str(keel_home / "registry"))
    registry.promote("churn", registry.register("churn", profiled_model).version)
    data = _write(drifted(to_score(2_000, seed=8)), tmp_path / "data.parquet")

    task = check_drift(
        registry_uri=str(keel_home / "registry"),
        model_name="churn",
        data_uri=data,
        thresholds={"region": 0.5},
    )
    assert task.outputs["drifted"] is True
    assert task.outputs["metrics"].metadata["drifted_features"] == 2
    anomalies = json.loads(Path(task.outputs["anomalies"].path).read_text())
    assert anomalies["subject"] == "churn v1 (champion)" and anomalies["decision"] == "warn"
    assert "Drift check: warn" in Path(task.outputs["summary"].path).read_text()
