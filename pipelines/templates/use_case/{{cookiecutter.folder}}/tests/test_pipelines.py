"""Both pipelines of {{ cookiecutter.package }}, run locally (kfp.local) on the sample of the reference table:
training registers a champion, then batch scoring publishes one prediction per row with it."""

from pathlib import Path

from components.common import io
from components.common.registry import open_registry

from {{ cookiecutter.package }}.pipelines import CONFIG, batch_scoring, training


def test_training_registers_a_champion_that_batch_scoring_uses(kfp_local: Path, tmp_path: Path):
    registry = str(tmp_path / "registry")
    training(registry_uri=registry)
    champion = open_registry(registry).get(CONFIG.use_case.model_name, "champion")
    assert champion.version == 1, "the first model must pass keel.toml's [thresholds] to become champion"

    batch_scoring(registry_uri=registry, output_uri=str(tmp_path / "predictions"), run_date="2024-01-01")
    scored = io.read_table(str(tmp_path / "predictions" / "run_date=2024-01-01" / "predictions.parquet"))
    assert len(scored) == len(io.read_table(CONFIG.local.scoring_data))
    assert set(scored["model_version"]) == {1}
    assert scored["score"].notna().all()
