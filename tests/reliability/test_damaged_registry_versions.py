"""One damaged version never takes the registry down: listed as damaged with the reason, skipped by
resolution, caught by `keel registry verify`; fallback goes only to versions that were champion."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from components.common import io
from components.common.model_files import METADATA_FILE, MODEL_FILE
from components.common.registry import RegistryError
from components.resolve_model.core import NoUsableModelError, resolve
from tests import churn
from tests.reliability.builders import keel, model_folder, registry_with_history, snapshot, to_score


def _edit_record(field: str, value) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        record = json.loads((folder / "version.json").read_text())
        (folder / "version.json").write_text(json.dumps({**record, field: value}))

    return edit


def _replace_by_a_file(folder: Path) -> None:
    shutil.rmtree(folder)
    folder.write_text("not a folder")


# damage -> what the reason says
DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "record not JSON": (lambda folder: (folder / "version.json").write_text("{half a rec"), "not valid JSON"),
    "record missing": (lambda folder: (folder / "version.json").unlink(), "file not found"),
    "metrics not numbers": (_edit_record("metrics", {"roc_auc": "high"}), "metrics are not all numbers"),
    "sha256 missing": (_edit_record("sha256", None), "no valid sha256"),
    "record of another version": (_edit_record("version", 9), "version 9"),
    "model file missing": (lambda folder: (folder / MODEL_FILE).unlink(), f"has no {MODEL_FILE}"),
    "metadata missing": (lambda folder: (folder / METADATA_FILE).unlink(), f"has no {METADATA_FILE}"),
    "folder is a file": (_replace_by_a_file, "cannot be read"),
}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return model_folder(tmp_path_factory.mktemp("trained") / "model")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory):
    return io.read_table(to_score(tmp_path_factory.mktemp("data") / "to_score.parquet", rows=100))


@pytest.fixture
def registry(tmp_path: Path, model: str):
    """churn: v1 and v2 were champions, v3 is (v2 previous), v4 was never promoted."""
    return registry_with_history(tmp_path / "registry", model)


def _damage(registry, version: int, damage: str) -> None:
    DAMAGES[damage][0](registry.root / "churn" / "versions" / str(version))


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_old_version_is_listed_with_its_reason_and_the_others_still_work(registry, sample, damage):
    state = snapshot(registry.root / "churn" / "registry.json")
    _damage(registry, 1, damage)

    versions = registry.versions("churn")
    assert [found.version for found in versions] == [1, 2, 3, 4]
    assert DAMAGES[damage][1] in versions[0].damaged
    assert [found.damaged for found in versions[1:]] == ["", "", ""]
    assert registry.get("churn", "champion").version == 3 and registry.get("churn", 1).damaged
    problems = {found.version: problem for found, problem in registry.verify("churn")}
    assert DAMAGES[damage][1] in problems[1] and [problems[v] for v in (2, 3, 4)] == ["", "", ""]
    chosen = resolve(registry, "churn", sample)
    assert chosen.version.version == 3 and not chosen.fell_back
    with pytest.raises(RegistryError, match="version 1 is damaged"):
        registry.promote("churn", 1)
    assert snapshot(registry.root / "churn" / "registry.json") == state


@pytest.mark.parametrize("damage", ["record not JSON", "model file missing", "metrics not numbers"])
def test_resolution_skips_a_damaged_champion_and_says_why(registry, sample, damage):
    _damage(registry, 3, damage)
    chosen = resolve(registry, "churn", sample)
    assert chosen.version.version == 2 and chosen.fell_back
    assert chosen.attempts[0].ref == "champion" and not chosen.attempts[0].usable
    assert "is damaged" in chosen.attempts[0].reason and DAMAGES[damage][1] in chosen.attempts[0].reason


def test_fallback_goes_only_to_earlier_champions_unless_asked(registry, sample):
    for version in (3, 2):
        _damage(registry, version, "model file missing")
    chosen = resolve(registry, "churn", sample)
    assert chosen.version.version == 1  # champion before v2
    assert [attempt.ref for attempt in chosen.attempts] == ["champion", "previous", "v1 (champion before)"]

    _damage(registry, 1, "record not JSON")
    with pytest.raises(NoUsableModelError, match="not tried: v4, never champion") as refused:
        resolve(registry, "churn", sample)  # v4 was refused by selection: never used silently
    assert "v1" in str(refused.value) and "not valid JSON" in str(refused.value)
    chosen = resolve(registry, "churn", sample, fallback_to_unpromoted=True)
    assert chosen.version.version == 4 and chosen.attempts[-1].ref == "v4 (never champion)"


def test_a_rolled_back_version_is_not_a_fallback(registry, sample):
    registry.rollback("churn")  # v3 rolled back: champion v2, previous v1
    _damage(registry, 2, "model file missing")
    _damage(registry, 1, "model file missing")
    with pytest.raises(NoUsableModelError, match="not tried: v4, v3, never champion"):
        resolve(registry, "churn", sample)


def test_keel_registry_list_show_and_verify(registry):
    _damage(registry, 1, "record not JSON")
    _damage(registry, 4, "model file missing")
    uri = str(registry.root)

    listed = keel("registry", "list", "churn", "--registry", uri)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("v1 [") and "DAMAGED: version.json cannot be read" in lines[0]
    assert lines[1].startswith("v2 [previous") and "sha256=" in lines[1]
    assert lines[2].startswith("v3 [champion") and lines[3].startswith("v4  DAMAGED: model folder")

    shown = keel("registry", "show", "churn", "1", "--registry", uri)
    assert shown.returncode == 0 and "not valid JSON" in json.loads(shown.stdout)["damaged"]

    verified = keel("registry", "verify", "churn", "--registry", uri)
    assert verified.returncode == 1
    assert "v2  ok" in verified.stdout and "v4  DAMAGED" in verified.stdout
    assert "churn: 2 of 4 versions damaged: [1, 4]" in verified.stderr

    (registry.root / "churn" / "versions" / "3" / MODEL_FILE).write_bytes(b"tampered")
    tampered = keel("registry", "verify", "churn", "--registry", uri)
    assert (
        tampered.returncode == 1 and "v3  DAMAGED:" in tampered.stdout and "does not match" in tampered.stdout
    )

    promoted = keel("registry", "promote", "churn", "4", "--registry", uri)
    assert promoted.returncode == 1 and "version 4 is damaged" in promoted.stderr
    assert registry.get("churn", "champion").version == 3


def test_keel_registry_verify_passes_a_sound_registry(registry):
    verified = keel("registry", "verify", "churn", "--registry", str(registry.root))
    assert verified.returncode == 0 and "churn: all 4 versions sound" in verified.stdout


def test_unreadable_aliases_are_named(registry):
    (registry.root / "churn" / "registry.json").write_text("[")
    with pytest.raises(RegistryError, match=r"registry\.json: the aliases of model 'churn' cannot be read"):
        registry.versions("churn")


def test_resolve_model_component_falls_back_past_a_damaged_champion(
    keel_home: Path, registry, tmp_path: Path
):
    _damage(registry, 3, "record not JSON")
    data = to_score(tmp_path / "to_score.parquet", rows=200)
    done = keel(
        "run",
        "resolve_model",
        "--local",
        "--param=model_name=churn",
        f"--param=registry_uri={registry.root}",
        f"--param=data_uri={data}",
        f"--param=suite_uri={churn.SUITE}",
    )
    assert done.returncode == 0, done.stderr
    assert "version: 2" in done.stdout and "fell_back: True" in done.stdout
    assert "skip_columns: ['churned']" in done.stdout  # the model's label, always skipped
