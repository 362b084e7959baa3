"""The Vertex AI backend, driven through the real aiplatform client against a loopback fake of the REST API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials

from components.common import model_files
from components.common.registry import RegistryError, open_registry
from tests.fakes.vertex_api import FakeVertexAPI

PROJECT, LOCATION = "my-project", "europe-west4"
MODEL = f"projects/{PROJECT}/locations/{LOCATION}/models/churn"


def save_model(folder: Path, strength: float) -> str:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=strength).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    model_files.save(model, {"framework": "scikit-learn"}, str(folder))
    return str(folder)


@pytest.fixture
def api():
    with FakeVertexAPI() as fake:
        yield fake


@pytest.fixture
def gcs(tmp_path: Path) -> Path:
    """Stands for the /gcs/ Cloud Storage mount of a Vertex AI task: <gcs>/<bucket>/<path>."""
    for i in range(2):
        save_model(tmp_path / "gcs" / "bucket" / "models" / f"run-{i + 1}", strength=0.1 * (i + 1))
    return tmp_path / "gcs"


def vertex_registry(
    api: FakeVertexAPI, gcs: Path, uri: str = f"vertex://projects/{PROJECT}/locations/{LOCATION}", **options
):
    return open_registry(
        uri,
        api_endpoint=api.endpoint,
        api_transport="rest",
        credentials=AnonymousCredentials(),
        gcs_mount=str(gcs),
        **options,
    )


@pytest.fixture
def registry(api, gcs):
    return vertex_registry(api, gcs)


def test_register_creates_the_model_then_uploads_new_versions_under_it(api, gcs, registry):
    labels = {"clearml_task_id": "0f3a9c", "Pipeline Run": "Training/Run-42"}
    first = registry.register("churn", "gs://bucket/models/run-1", metrics={"roc_auc": 0.8}, labels=labels)
    second = registry.register("churn", str(gcs / "bucket" / "models" / "run-2"))  # a /gcs/ path

    uploads = [request.body for request in api.calls("POST", r"/models:upload$")]
    assert [request.path for request in api.calls("POST", "models:upload")] == [
        f"/v1/projects/{PROJECT}/locations/{LOCATION}/models:upload"
    ] * 2
    assert uploads[0]["modelId"] == "churn" and "parentModel" not in uploads[0]
    assert uploads[1]["parentModel"] == MODEL and "modelId" not in uploads[1]
    assert [upload["model"]["artifactUri"] for upload in uploads] == [
        "gs://bucket/models/run-1",
        "gs://bucket/models/run-2",
    ]
    image = uploads[0]["model"]["containerSpec"]["imageUri"]
    assert image.startswith("europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.")
    assert uploads[0]["model"]["labels"] == {"clearml_task_id": "0f3a9c", "pipeline-run": "training-run-42"}
    recorded = json.loads(uploads[0]["model"]["versionDescription"])
    assert recorded["sha256"] == model_files.read_metadata(str(gcs / "bucket/models/run-1"))["sha256"]

    assert (first.version, second.version) == (1, 2)
    assert (first.uri, first.metrics, first.labels) == ("gs://bucket/models/run-1", {"roc_auc": 0.8}, labels)
    assert first.metadata["framework"] == "scikit-learn" and first.created_at
    assert registry.get("churn", "1") == registry.versions("churn")[0]
    assert (
        registry.get("churn", 2).sha256
        == model_files.read_metadata(str(gcs / "bucket/models/run-2"))["sha256"]
    )


def test_promote_and_rollback_move_vertex_version_aliases(api, registry):
    for run in (1, 2):
        registry.register("churn", f"gs://bucket/models/run-{run}")

    registry.promote("churn", 1)
    api.requests.clear()
    champion = registry.promote("churn", 2)

    merges = [
        (request.path, request.body["versionAliases"]) for request in api.calls("POST", "mergeVersionAliases")
    ]
    assert merges == [
        (f"/v1/{MODEL}@1:mergeVersionAliases", ["-champion"]),
        (f"/v1/{MODEL}@2:mergeVersionAliases", ["champion", "promoted-2"]),
        (f"/v1/{MODEL}@1:mergeVersionAliases", ["previous"]),
    ]
    assert champion.version == 2 and "champion" in champion.aliases
    assert registry.get("churn", "previous").version == 1

    api.requests.clear()
    assert registry.rollback("churn").version == 1
    assert [request.body["versionAliases"] for request in api.calls("POST", "mergeVersionAliases")] == [
        ["-champion", "-promoted-2"],
        ["-previous"],
        ["champion"],
    ]
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback("churn")


def test_load_checks_the_registered_sha256_through_the_gcs_mount(gcs, registry):
    registry.register("churn", "gs://bucket/models/run-1")
    model, _ = registry.load("churn", 1)
    assert list(model.predict([[0.0], [3.0]])) == [0, 1]

    model_file = gcs / "bucket" / "models" / "run-1" / "model.joblib"
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(model_files.ModelIntegrityError, match=r"model 'churn' version 1: .*does not match"):
        registry.load("churn", "default")


def test_a_version_without_keels_record_is_listed_as_damaged_and_never_loaded(api, gcs, registry):
    for run in (1, 2):
        registry.register("churn", f"gs://bucket/models/run-{run}")
    registry.promote("churn", 1)
    api.models["churn"][0]["versionDescription"] = "uploaded by hand"  # v1, the champion

    first, second = registry.versions("churn")
    assert "not keel's JSON record" in first.damaged and "champion" in first.aliases
    assert not second.damaged and registry.verify("churn")[1][1] == ""
    with pytest.raises(
        model_files.ModelIntegrityError, match="version 1 is damaged: the version description"
    ):
        registry.load("churn", "champion")
    with pytest.raises(RegistryError, match="version 1 is damaged"):
        registry.set_alias("churn", "staging", 1)


def test_the_reference_profile_is_registered_with_the_version_and_checked(api, gcs, registry, profiled_model):
    shutil.copytree(profiled_model, gcs / "bucket" / "models" / "profiled")
    registered = registry.register("churn", "gs://bucket/models/profiled")
    recorded = json.loads(api.calls("POST", r"/models:upload$")[-1].body["model"]["versionDescription"])
    expected = model_files.read_metadata(profiled_model)["profile_sha256"]
    assert recorded["metadata"]["profile_sha256"] == expected == registered.profile_sha256

    fresh = vertex_registry(api, gcs)  # reads the digest back from Vertex
    assert fresh.load_profile("churn", registered.version) == model_files.load_profile(profiled_model)
    profile_file = gcs / "bucket" / "models" / "profiled" / model_files.PROFILE_FILE
    profile_file.write_text(profile_file.read_text().replace('"rows":', '"rows": 1, "was":'))
    with pytest.raises(model_files.ModelIntegrityError, match="profile.json: sha256 .* does not match"):
        fresh.load("churn", registered.version)


def test_model_folders_off_cloud_storage_and_other_models_are_refused(api, gcs, tmp_path):
    pinned = vertex_registry(api, gcs, f"vertex://projects/{PROJECT}/locations/{LOCATION}/models/churn")
    local_folder = save_model(tmp_path / "not-on-gcs", strength=1.0)

    with pytest.raises(ValueError, match="give a gs:// URI or a path under"):
        pinned.register("churn", local_folder)
    with pytest.raises(ValueError, match="holds only model 'churn', not 'fraud'"):
        pinned.register("fraud", "gs://bucket/models/run-1")
    assert not api.calls("POST", "models:upload")
    with pytest.raises(RegistryError, match=rf"vertex://projects/{PROJECT}/.*: no model named 'churn'"):
        pinned.get("churn", "champion")


def test_serving_image_can_be_chosen(api, gcs):
    image = "europe-docker.pkg.dev/my-project/serving/churn:1"
    vertex_registry(api, gcs, serving_image=image).register("churn", "gs://bucket/models/run-1")
    assert api.calls("POST", "models:upload")[0].body["model"]["containerSpec"] == {"imageUri": image}


def test_state_fingerprint_follows_aliases_and_sha256s_in_one_listing(api, registry):
    from components.common.fingerprints import of_registry

    seen = [of_registry(registry, "churn")]  # no model yet
    for run in (1, 2):
        registry.register("churn", f"gs://bucket/models/run-{run}")
    seen.append(of_registry(registry, "churn"))
    registry.promote("churn", 2)
    api.requests.clear()
    seen.append(of_registry(registry, "churn"))
    assert [r.method for r in api.requests] == ["GET"] and api.calls("GET", ":listVersions$")
    assert of_registry(registry, "churn") == seen[-1]

    registry.set_alias("churn", "staging", 1)  # one alias more
    seen.append(of_registry(registry, "churn"))
    first = api.models["churn"][0]
    recorded = json.loads(first["versionDescription"])
    first["versionDescription"] = json.dumps({**recorded, "sha256": "0" * 64})  # one version's sha256
    seen.append(of_registry(registry, "churn"))
    assert len(set(seen)) == len(seen) == 5


def test_importing_the_package_and_the_registry_does_not_import_aiplatform():
    check = "import sys, components, components.common.registry; print(any('aiplatform' in m for m in sys.modules))"
    imported = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "False"
