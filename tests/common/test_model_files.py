"""The reference profile in a model folder: covered by sha256 from saving to registration, copy and loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from components.common import io, model_files
from components.common.registry import open_registry
from components.resolve_model.core import resolve
from tests.builders import to_score


def _tamper(folder: str | Path) -> None:
    """Change one count of the profile, keeping it valid JSON: a quiet edit, not a broken file."""
    path = Path(folder) / model_files.PROFILE_FILE
    found = json.loads(path.read_text())
    found["features"][0]["counts"][1] += 1
    path.write_text(json.dumps(found))


@pytest.fixture
def model(profiled_model: str, tmp_path: Path) -> str:
    """A private copy of the profiled model, free to tamper with."""
    return shutil.copytree(profiled_model, tmp_path / "model")


def test_the_profile_is_saved_with_its_sha256_and_loads(model):
    metadata = model_files.read_metadata(str(model))
    profile_path = str(Path(model) / model_files.PROFILE_FILE)
    assert metadata["profile_sha256"] == io.sha256(profile_path)
    loaded = model_files.load_profile(str(model))
    assert [f["name"] for f in loaded["features"]] == [f["name"] for f in metadata["features"]]
    holdout_rows = 5_000 - metadata["training_data"]["rows"]  # the sample's other rows
    assert loaded["score"]["nulls"] + sum(loaded["score"]["counts"]) == holdout_rows
    assert model_files.verify(str(model)) == metadata["sha256"]


@pytest.mark.parametrize(
    "damage, message",
    [
        (_tamper, "profile.json: sha256 .* does not match the recorded"),
        (lambda folder: (Path(folder) / model_files.PROFILE_FILE).unlink(), "profile file is missing"),
    ],
)
def test_a_changed_or_missing_profile_is_refused_everywhere(model, tmp_path, damage, message):
    damage(model)
    for attempt in (
        lambda: model_files.verify(str(model)),
        lambda: model_files.load(str(model)),
        lambda: model_files.load_profile(str(model)),
        lambda: model_files.copy(str(model), str(tmp_path / "copy")),
        lambda: open_registry(str(tmp_path / "registry")).register("churn", str(model)),
    ):
        with pytest.raises(model_files.ModelIntegrityError, match=message):
            attempt()
    assert not (tmp_path / "copy").exists()
    assert not list((tmp_path / "registry").rglob("versions/*"))


def test_a_profile_without_a_recorded_sha256_is_refused(model, profiled_model, tmp_path):
    legacy = tmp_path / "legacy"
    metadata = model_files.read_metadata(str(model))
    del metadata["profile_sha256"]
    model_files.save(model_files.load(str(model))[0], metadata, str(legacy))  # a model saved without one
    assert model_files.load_profile(str(legacy)) is None  # no profile: nothing to compare, not an error
    model_files.load(str(legacy))

    shutil.copy(Path(profiled_model) / model_files.PROFILE_FILE, legacy)  # one slipped in afterwards
    with pytest.raises(model_files.ModelIntegrityError, match=r"does not match the recorded \(none\)"):
        model_files.load(str(legacy))


def test_the_profile_survives_registration_resolution_and_copy(model, tmp_path):
    registry = open_registry(str(tmp_path / "registry"))
    version = registry.register("churn", str(model))
    registry.promote("churn", version.version)
    expected = model_files.load_profile(str(model))

    assert (Path(version.uri) / model_files.PROFILE_FILE).is_file()
    assert version.profile_sha256 == model_files.read_metadata(str(model))["profile_sha256"]
    assert registry.load_profile("churn", "champion") == expected

    chosen = resolve(registry, "churn", to_score(50, seed=4))
    copied = str(tmp_path / "resolved")
    model_files.copy(chosen.version.uri, copied, chosen.version.sha256, chosen.version.profile_sha256)
    assert model_files.load_profile(copied) == expected


def test_a_tampered_champion_profile_makes_resolution_fall_back(model, tmp_path):
    registry = open_registry(str(tmp_path / "registry"))
    for _ in range(2):
        registry.promote("churn", registry.register("churn", str(model)).version)
    champion = registry.get("churn", "champion")
    _tamper(champion.uri)
    # metadata.json rewritten to match: the registry still holds the digest recorded at registration
    metadata_path = Path(champion.uri) / model_files.METADATA_FILE
    metadata = json.loads(metadata_path.read_text())
    metadata["profile_sha256"] = io.sha256(str(Path(champion.uri) / model_files.PROFILE_FILE))
    metadata_path.write_text(json.dumps(metadata))

    with pytest.raises(model_files.ModelIntegrityError, match="model 'churn' version 2: .*profile.json"):
        registry.load_profile("churn", "champion")
    chosen = resolve(registry, "churn", to_score(50, seed=4))
    assert chosen.version.version == 1 and chosen.fell_back
    assert "profile.json: sha256" in chosen.attempts[0].reason
