"""The embedded registry on real files: versions, aliases, promotion, rollback, integrity, concurrency."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from components.common import model_files
from components.common.registry import LocalRegistry, RegistryError, VertexRegistry, open_registry
from components.common.registry.base import HISTORY_DEPTH


def save_model(folder: Path, strength: float) -> str:
    """A tiny fitted scikit-learn model saved in the registry's model folder format."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=strength).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    model_files.save(model, {"framework": "scikit-learn", "C": strength}, str(folder))
    return str(folder)


@pytest.fixture
def registry(tmp_path: Path) -> LocalRegistry:
    return open_registry(str(tmp_path / "registry"))


@pytest.fixture
def folders(tmp_path: Path) -> list[str]:
    return [save_model(tmp_path / f"model-{i}", strength=0.1 * (i + 1)) for i in range(3)]


def champion_and_previous(registry: LocalRegistry) -> tuple[int | None, int | None]:
    aliases = registry.aliases("churn")
    return aliases.get("champion"), aliases.get("previous")


def test_register_numbers_versions_from_1_and_keeps_what_it_is_given(registry, folders):
    first = registry.register(
        "churn", folders[0], metrics={"roc_auc": 0.81}, labels={"clearml_task_id": "t1"}
    )
    second = registry.register("churn", folders[1], labels={"pipeline_run_id": "run-2"})

    assert (first.version, second.version) == (1, 2)
    assert first.sha256 == model_files.read_metadata(folders[0])["sha256"]
    assert first.metadata["C"] == pytest.approx(0.1)
    assert (first.metrics, first.labels) == ({"roc_auc": 0.81}, {"clearml_task_id": "t1"})
    assert Path(first.uri) == registry.root / "churn" / "versions" / "1"
    assert sorted(path.name for path in Path(first.uri).iterdir()) == [
        "metadata.json",
        "model.joblib",
        "version.json",
    ]
    assert registry.get("churn", "2") == registry.get("churn", 2) == second
    assert [found.version for found in open_registry(f"file://{registry.root}").versions("churn")] == [1, 2]


def test_register_refuses_a_folder_whose_model_file_does_not_match_its_metadata(registry, folders):
    with open(Path(folders[0]) / "model.joblib", "ab") as model_file:
        model_file.write(b"\0")

    with pytest.raises(model_files.ModelIntegrityError, match="cannot register 'churn'"):
        registry.register("churn", folders[0])
    with pytest.raises(RegistryError, match="no model named 'churn'"):
        registry.versions("churn")


def test_aliases_move_between_versions(registry, folders):
    for folder in folders[:2]:
        registry.register("churn", folder)

    registry.set_alias("churn", "staging", 1)
    assert registry.get("churn", "staging").version == 1
    moved = registry.set_alias("churn", "staging", "2")

    assert moved.version == 2 and moved.aliases == ["staging"]
    assert registry.get("churn", 1).aliases == []
    for bad in ("7", "Staging", "x", "promoted-3"):
        with pytest.raises(ValueError, match="alias"):
            registry.set_alias("churn", bad, 1)


def test_promote_moves_champion_and_previous_and_rollback_walks_back(registry, folders):
    for folder in folders:
        registry.register("churn", folder)

    assert registry.promote("churn", 1).version == 1
    assert champion_and_previous(registry) == (1, None)
    registry.promote("churn", 2)
    assert champion_and_previous(registry) == (2, 1)
    registry.promote("churn", 2)  # already champion: nothing moves
    assert champion_and_previous(registry) == (2, 1)
    registry.promote("churn", 3)
    assert champion_and_previous(registry) == (3, 2)

    assert registry.rollback("churn").version == 2
    assert champion_and_previous(open_registry(str(registry.root))) == (2, 1)
    assert registry.rollback("churn").version == 1
    assert champion_and_previous(registry) == (1, None)
    with pytest.raises(RegistryError, match="no 'previous' alias, nothing to roll back to"):
        registry.rollback("churn")
    assert registry.get("churn", "champion").version == 1


def test_rolling_back_twice_never_returns_to_the_version_just_rolled_back(registry, folders):
    for folder in folders[:2]:
        registry.register("churn", folder)
    for version in (1, 2, 1, 2):
        registry.promote("churn", version)
    assert champion_and_previous(registry) == (2, 1)

    assert registry.rollback("churn").version == 1
    # The history before was 1, 2, 1, 2: rolled-back version 2 leaves it, so no previous is left.
    assert champion_and_previous(registry) == (1, None)
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback("churn")


def test_rollback_after_a_hand_moved_previous_follows_the_alias(registry, folders):
    for folder in folders:
        registry.register("churn", folder)
    registry.promote("churn", 2)
    registry.promote("churn", 3)
    registry.set_alias("churn", "previous", 1)

    assert registry.rollback("churn").version == 1
    assert champion_and_previous(registry) == (1, 2)
    assert registry.rollback("churn").version == 2
    assert champion_and_previous(registry) == (2, None)


def test_the_promotion_history_is_bounded(registry, folders):
    for folder in folders:
        registry.register("churn", folder)
    for promotion in range(HISTORY_DEPTH + 5):
        registry.promote("churn", promotion % 3 + 1)

    history = [alias for alias in registry.aliases("churn") if alias.startswith("promoted-")]
    assert len(history) == HISTORY_DEPTH
    assert champion_and_previous(registry) == ((HISTORY_DEPTH + 4) % 3 + 1, (HISTORY_DEPTH + 3) % 3 + 1)


def test_load_checks_the_registered_sha256_before_unpickling(registry, folders, tmp_path):
    registry.register("churn", folders[0])
    registry.promote("churn", 1)
    model, metadata = registry.load("churn", "champion")
    assert list(model.predict([[0.0], [3.0]])) == [0, 1]
    assert metadata["sha256"] == registry.get("churn", 1).sha256

    # Replace the model and its metadata consistently: the registry still holds the original sha256.
    version_folder = Path(registry.get("churn", 1).uri)
    save_model(version_folder, strength=5.0)
    with pytest.raises(model_files.ModelIntegrityError) as refused:
        registry.load("churn", 1)
    message = str(refused.value)
    assert "model 'churn' version 1" in message and str(version_folder / "model.joblib") in message

    # A changed byte is refused the same way.
    (version_folder / "model.joblib").write_bytes(Path(folders[0], "model.joblib").read_bytes()[:-1] + b"\0")
    with pytest.raises(model_files.ModelIntegrityError, match="does not match the recorded"):
        registry.load("churn", "champion")


def test_missing_model_version_or_alias_is_a_clear_registry_error(registry, folders):
    with pytest.raises(RegistryError, match=rf"{registry.root}: no model named 'fraud'"):
        registry.get("fraud", "champion")
    registry.register("churn", folders[0])
    registry.set_alias("churn", "staging", 1)

    with pytest.raises(RegistryError, match=r"model 'churn' has no version 4 \(latest is v1\)"):
        registry.get("churn", 4)
    with pytest.raises(
        LookupError, match=r"model 'churn' has no alias 'champion' \(aliases: staging -> v1\)"
    ):
        registry.load("churn", "champion")
    with pytest.raises(RegistryError, match="no version 9"):
        registry.promote("churn", 9)
    with pytest.raises(ValueError, match="model name 'Churn'"):
        registry.register("Churn", folders[0])


def _register_when_all_are_ready(root: str, folder: str, start: multiprocessing.synchronize.Barrier) -> None:
    start.wait(timeout=60)
    LocalRegistry(root).register("churn", folder)


def test_eight_processes_registering_at_once_get_versions_1_to_8(registry, tmp_path):
    folders = [save_model(tmp_path / f"concurrent-{i}", strength=0.1 * (i + 1)) for i in range(8)]
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(len(folders))
    workers = [
        spawn.Process(target=_register_when_all_are_ready, args=(str(registry.root), folder, start))
        for folder in folders
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * 8

    versions = registry.versions("churn")
    assert [found.version for found in versions] == list(range(1, 9))
    assert {found.sha256 for found in versions} == {model_files.read_metadata(f)["sha256"] for f in folders}
    for found in versions:
        stored = json.loads(Path(found.uri, "version.json").read_text())
        assert stored["version"] == found.version
        registry.load("churn", found.version)
    assert not list((registry.root / "churn").glob(".staging-*"))


def test_open_registry_chooses_the_backend_by_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert open_registry("relative/registry").root == tmp_path / "relative" / "registry"
    assert open_registry(f"file://{tmp_path}/r").root == tmp_path / "r"
    vertex = open_registry("vertex://projects/my-project/locations/europe-west4/models/churn")
    assert isinstance(vertex, VertexRegistry)
    assert (vertex.project, vertex.location, vertex.model) == ("my-project", "europe-west4", "churn")
    for unsupported in ("gs://bucket/registry", "s3://bucket/registry", "vertex://projects/p", ""):
        with pytest.raises(ValueError, match="registry URI"):
            open_registry(unsupported)
