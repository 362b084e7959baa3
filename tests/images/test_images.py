"""Container contract: build every image, then run each component inside its own image as Vertex would.

For each component in the compiled YAML: the executor names the component's own image; its `command`
and `args` run in that image (buildah, chroot isolation, as the image's non-root user) with the
placeholders filled in by kfp.local's own machinery, the way Vertex fills them: artifact URIs are
gs:// URIs that the component reads and writes through /gcs/ paths (Cloud Storage FUSE on Vertex),
here mounted folders: inputs (read-only), outputs, and `work` for path parameters such as a registry.
The outputs must pass the component's checks and equal those of a kfp.local run (SubprocessRunner,
this environment) of the same compiled component with the same arguments.

The keel-serve image (`keel serve`) is started as Vertex AI starts a custom serving container and must
answer exactly as batch scoring does for the same rows.

A new component needs a case: its arguments and a check of its outputs, as an entry in CASES or as
CONTAINER_CASE beside its own test (tests/components/test_<component>.py, which `keel new component`
writes). A component generated in a use case is built with `keel images` and run the same way.
Run as root with buildah (and debootstrap when python:3.11-slim cannot be pulled): `make test-images`,
or `.venv/bin/python -m pytest -m images tests/images -q -s` to also see the build and the sizes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from kfp import dsl, local
from kfp.components import load_component_from_file
from kfp.local import executor_input_utils, executor_output_utils, placeholder_utils, task_dispatcher
from kfp.local import utils as local_utils

import components
from components.common.sample_data import ID_COLUMNS, LABEL, sample_path
from components.images import DEFAULT_REGISTRY, __version__, image
from pipelines.compiling import compile_all, compile_one
from pipelines.scaffold import new_component
from pipelines.use_case_images import build_use_case_images
from tests import churn

pytestmark = [
    pytest.mark.images,
    # kfp.local warns that our image names do not contain "python"; they are Python images.
    pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning"),
]

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "keel-images-test"  # gs://BUCKET/x is /gcs/BUCKET/x inside the container
CONTAINER_ENV = {  # as tests/conftest.py sets them for this process
    "KEEL_NETWORK": "loopback",  # any connection beyond loopback fails at once
    "KEEL_HOME": "/tmp/keel-home",  # mounted, writable by the image's user
    "KEEL_TRACKING": "offline",
    "NO_GCE_CHECK": "True",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GX_ANALYTICS_ENABLED": "False",
}


def _load_build_module():
    spec = importlib.util.spec_from_file_location("keel_images_build", ROOT / "images" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build_module()


# ------------------------------------------------------------------------------------------ cases


@dataclass(frozen=True)
class InputArtifact:
    """An input artifact: `make(folder)` writes it (a file or a folder; a list for list inputs)."""

    artifact_class: type[dsl.Artifact]
    make: Callable[[Path], Path | list[Path]]
    metadata: Callable[[Path], dict] = lambda path: {}


@dataclass(frozen=True)
class Folder:
    """A path parameter: a writable folder, filled by `make(folder)` (empty when None)."""

    make: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class Case:
    arguments: dict[str, Any]  # parameter values, InputArtifact and Folder
    check: Callable[[dict[str, Any], Files], None]  # the container run's outputs
    ignore: tuple[str, ...] = field(default=())  # outputs (`name` or `name.metadata_key`) not compared


@dataclass(frozen=True)
class Files:
    """Where the container's files are on this side."""

    outputs: Path
    work: Path
    home: Path
    gcs_outputs: str

    def artifact(self, artifact: dsl.Artifact) -> Path:
        assert artifact.uri.startswith(f"{self.gcs_outputs}/"), artifact.uri
        return self.outputs / artifact.uri.removeprefix(f"{self.gcs_outputs}/")


def sample(folder: Path) -> Path:
    return Path(sample_path())


def trained_model(folder: Path) -> Path:
    from components.common import io
    from components.train_model import core

    trained = core.train(io.read_table(sample_path()), core.TrainingSpec(LABEL, id_columns=tuple(ID_COLUMNS)))
    core.save(trained, str(folder / "model"))
    return folder / "model"


def model_metadata(path: Path) -> dict:
    from components.common import model_files

    return {"sha256": model_files.read_metadata(str(path))["sha256"]}


def registry_with_champion(folder: Path) -> None:
    from components.common.registry import open_registry

    registry = open_registry(str(folder))
    version = registry.register("churn", str(trained_model(folder.parent / f"{folder.name}-model")))
    registry.promote("churn", version.version)


def scored_parts(folder: Path) -> list[Path]:
    parts = []
    for index in range(2):
        rng = np.random.default_rng(index)
        scores = rng.random(500)
        frame = pd.DataFrame(
            {
                "customer_id": [f"c{index}-{i}" for i in range(500)],
                "score": scores,
                "prediction": (scores > 0.5).astype("int64"),
            }
        )
        parts.append(folder / f"part-{index}.parquet")
        frame.to_parquet(parts[-1])
    return parts


def check_fingerprint_inputs(outputs: dict, files: Files) -> None:
    from components.common.fingerprints import of_registry
    from components.common.registry import open_registry

    registry = open_registry(str(files.work / "registry_uri"))
    assert outputs["registry_fingerprint"] == of_registry(registry, "churn")
    assert outputs["data_fingerprint"] == outputs["suite_fingerprint"] == ""


def check_validate_data(outputs: dict, files: Files) -> None:
    assert outputs["passed"] is True
    assert outputs["metrics"].metadata["expectations_run"] == 40
    assert outputs["metrics"].metadata["expectations_failed"] == 0
    assert "<html" in files.artifact(outputs["report"]).read_text().lower()
    assert json.loads(files.artifact(outputs["validation_result"]).read_text())["success"] is True
    assert (files.artifact(outputs["partial"]) / "partial.json").is_file()
    assert list(files.home.rglob("*.zip")), "no offline ClearML session recorded"


def validation_partials(folder: Path) -> list[Path]:
    from components.validate_data import core

    suite = core.load_suite(churn.SUITE)
    for index in range(2):
        core.measure_table(sample_path(), suite, shard_index=index, shard_count=2).write(
            str(folder / f"p{index}")
        )
    return [folder / "p0", folder / "p1"]


def check_combine_validation(outputs: dict, files: Files) -> None:
    assert outputs["passed"] is True
    assert outputs["metrics"].metadata["rows"] == 5000
    result = json.loads(files.artifact(outputs["validation_result"]).read_text())
    assert result["success"] is True and result["meta"]["shards"] == 2


def check_split_data(outputs: dict, files: Files) -> None:
    assert outputs["metrics"].metadata == {"train_rows": 4000, "test_rows": 1000}
    assert len(pd.read_parquet(files.artifact(outputs["train"]))) == 4000
    assert len(pd.read_parquet(files.artifact(outputs["test"]))) == 1000


def check_train_model(outputs: dict, files: Files) -> None:
    assert outputs["metrics"].metadata["rows"] == 5000
    folder = files.artifact(outputs["model"])
    assert {"model.joblib", "metadata.json"} <= {path.name for path in folder.iterdir()}
    assert outputs["model"].metadata["sha256"] == json.loads((folder / "metadata.json").read_text())["sha256"]


def check_evaluate_model(outputs: dict, files: Files) -> None:
    assert outputs["metrics"].metadata["roc_auc"] > 0.75
    assert json.loads(outputs["metrics_json"])["roc_auc"] == outputs["metrics"].metadata["roc_auc"]
    assert "<html" in files.artifact(outputs["report"]).read_text().lower()


def check_select_model(outputs: dict, files: Files) -> None:
    assert outputs["promote"] is True and outputs["decision"] == "promote"
    assert "roc_auc" in files.artifact(outputs["report"]).read_text()


def check_register_model(outputs: dict, files: Files) -> None:
    assert outputs["version"] == 1 and outputs["champion_version"] == 1
    version = files.work / "registry_uri" / "churn" / "versions" / "1"
    assert (version / "model.joblib").is_file()
    labels = json.loads((version / "version.json").read_text())["labels"]
    assert labels["code_revision"] == build.revision(), "the image's package carries its git revision"
    assert labels["images"] == "europe-docker.pkg.dev/p/keel/keel-train-model:0.1.0"


def check_resolve_model(outputs: dict, files: Files) -> None:
    assert outputs["version"] == 1 and outputs["fell_back"] is False
    assert (files.artifact(outputs["model"]) / "model.joblib").is_file()
    assert outputs["model"].metadata["version"] == 1


def check_plan_shards(outputs: dict, files: Files) -> None:
    shards = outputs["Output"]
    assert [int(shard["index"]) for shard in shards] == list(range(len(shards)))
    assert all(int(shard["count"]) == len(shards) for shard in shards)


def check_batch_predict(outputs: dict, files: Files) -> None:
    predictions = pd.read_parquet(files.artifact(outputs["predictions"]))
    assert len(predictions) == 5000 and outputs["metrics"].metadata["rows"] == 5000
    assert predictions["score"].between(0, 1).all() and predictions["customer_id"].is_unique
    assert json.loads(files.artifact(outputs["profile"]).read_text())["rows"] == 5000


def other_customers(folder: Path) -> Path:
    from components.common.sample_data import generate

    generate(2_000, seed=1).to_parquet(folder / "customers.parquet")
    return folder / "customers.parquet"


def check_check_drift(outputs: dict, files: Files) -> None:
    assert outputs["drifted"] is False and outputs["metrics"].metadata["rows"] == 2000
    assert 0 <= outputs["metrics"].metadata["drift.age"] < 0.1
    assert files.artifact(outputs["report"]).read_text().count("<svg") == 7
    assert json.loads(files.artifact(outputs["anomalies"]).read_text())["decision"] == "pass"


def check_publish_predictions(outputs: dict, files: Files) -> None:
    assert outputs["run_date"] == "2024-01-02"
    published = files.work / "output_uri" / "run_date=2024-01-02" / "predictions.parquet"
    assert len(pd.read_parquet(published)) == 1000 == outputs["metrics"].metadata["rows"]
    assert (
        outputs["predictions"].uri == f"gs://{BUCKET}/work/output_uri/run_date=2024-01-02/predictions.parquet"
    )
    assert outputs["predictions"].metadata["rows"] == 1000


VERTEX_FAILED = {
    "state": "FAILED",
    "pipelineJobResourceName": "projects/123/locations/europe-west4/pipelineJobs/keel-training-1",
    "pipelineTaskName": "exit-handler-1",
    "error": {
        "code": 9,
        "message": "The DAG failed because some tasks failed. The failed tasks are: [validate-data].",
    },
}


def check_notify(outputs: dict, files: Files) -> None:
    report = files.artifact(outputs["report"]).read_text()
    assert report.startswith("# keel-training failed\n\nFailed task: validate-data\n")
    assert "pipelines/runs/keel-training-1?project=123" in report


DATA = InputArtifact(dsl.Dataset, sample)
SUITE = Folder(lambda path: shutil.copyfile(churn.SUITE, path))  # the churn example's suite, as a file
MODEL = InputArtifact(dsl.Model, trained_model, model_metadata)
THRESHOLDS = {"roc_auc": {"lower_bound": 0.7, "min_improvement": 0.005}}

CASES: dict[str, Case] = {
    # Only the registry: a data or suite URI under /gcs/ is fingerprinted through the Cloud Storage API.
    "fingerprint_inputs": Case(
        {"registry_uri": Folder(registry_with_champion), "model_name": "churn"},
        check_fingerprint_inputs,
        ignore=("registry_fingerprint",),  # each side trains and registers its own model
    ),
    "validate_data": Case({"data": DATA, "suite_uri": SUITE}, check_validate_data),
    "combine_validation": Case(
        {"partials": InputArtifact(dsl.Artifact, validation_partials)}, check_combine_validation
    ),
    "split_data": Case({"data": DATA, "label": LABEL}, check_split_data),
    "train_model": Case(
        {"data": DATA, "label": LABEL, "id_columns": ID_COLUMNS},
        check_train_model,
        ignore=("metrics.train_seconds", "model.tracking_id"),
    ),
    "evaluate_model": Case({"model": MODEL, "data": DATA}, check_evaluate_model),
    "select_model": Case(
        {
            "challenger_metrics": '{"roc_auc": 0.84}',
            "champion_metrics": '{"roc_auc": 0.80}',
            "thresholds": THRESHOLDS,
        },
        check_select_model,
    ),
    "register_model": Case(
        {
            "model": MODEL,
            "model_name": "churn",
            "registry_uri": Folder(),
            "promote": True,
            "images": ["europe-docker.pkg.dev/p/keel/keel-train-model:0.1.0"],
        },
        check_register_model,
    ),
    "resolve_model": Case(
        {
            "model_name": "churn",
            "registry_uri": Folder(registry_with_champion),
            "data": DATA,
            "suite_uri": SUITE,
        },
        check_resolve_model,
        ignore=("model.registry", "suite_uri", "model.suite_uri"),
    ),
    "plan_shards": Case({"data": DATA, "rows_per_shard": 2000}, check_plan_shards),
    "batch_predict": Case(
        {"model": MODEL, "data": DATA, "id_columns": ID_COLUMNS, "run_id": "images-test"},
        check_batch_predict,
        ignore=("metrics.rows_per_second", "metrics.seconds"),
    ),
    "check_drift": Case(
        {"model": MODEL, "data": InputArtifact(dsl.Dataset, other_customers)}, check_check_drift
    ),
    "publish_predictions": Case(
        {"parts": InputArtifact(dsl.Dataset, scored_parts), "output_uri": Folder(), "run_date": "2024-01-02"},
        check_publish_predictions,
        ignore=("uri", "predictions"),  # where it published: /gcs/ in the image, a local folder here
    ),
    "notify": Case({"status": VERTEX_FAILED, "pipeline_name": "keel-training"}, check_notify),
}


def declared_cases(tests: Path, names: list[str]) -> dict[str, Case]:
    """The cases declared beside components' own tests: CONTAINER_CASE in `tests`/test_<name>.py, as
    `keel new component` writes it: {"arguments": {name: value, or (artifact class, make(folder) ->
    path) for an input artifact}, "check": check(outputs), "ignore": (...)}, where `check` gets each
    output parameter's value and each output artifact's local path (the artifact itself when its URI
    names a cloud resource, e.g. a google.VertexEndpoint); or a function returning it, called here
    (e.g. to start a loopback fake of a service the component calls)."""
    found = {}
    for name in names:
        path = tests / f"test_{name}.py"
        if not path.is_file():
            continue
        spec = importlib.util.spec_from_file_location(f"keel_container_case_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        declared = getattr(module, "CONTAINER_CASE", None)
        if declared is not None:
            found[name] = _as_case(declared() if callable(declared) else declared)
    return found


def _as_case(declared: dict[str, Any]) -> Case:
    def check(outputs: dict[str, Any], files: Files) -> None:
        declared["check"](
            {
                key: files.artifact(value)
                if isinstance(value, dsl.Artifact) and value.uri.startswith(f"{files.gcs_outputs}/")
                else value
                for key, value in outputs.items()
            }
        )

    arguments = {
        key: InputArtifact(*value) if isinstance(value, tuple) else value
        for key, value in declared["arguments"].items()
    }
    return Case(arguments, check, tuple(declared.get("ignore", ())))


def all_cases() -> dict[str, Case]:
    """CASES, and the cases declared beside the components' tests (CASES wins for a component in both)."""
    return {**declared_cases(ROOT / "tests" / "components", list(components.__all__)), **CASES}


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """Build every image (the base once, then each component's) and return {name: image}."""
    if os.geteuid() != 0 or not shutil.which("buildah"):
        pytest.skip(
            "the image tests build and run images with buildah, as root (apt-get install buildah debootstrap)"
        )
    started = time.monotonic()
    built = build.main(["--base-image", "auto", "--builder", "buildah"])
    print(f"\nimages built in {time.monotonic() - started:.0f}s")
    return built


@pytest.fixture(scope="session")
def compiled(tmp_path_factory) -> dict[str, Path]:
    """Every component compiled to YAML, naming the images `make images` builds."""
    paths = compile_all(tmp_path_factory.mktemp("compiled"), names=list(components.__all__))
    return {path.stem: path for path in paths}


# ------------------------------------------------------------------------------------------ tests


def test_every_component_has_an_image_definition_and_a_case():
    assert set(components.__all__) <= set(build.image_definitions()), "add images/<component>/Dockerfile"
    missing = sorted(set(components.__all__) - set(all_cases()))
    assert not missing, (
        f"add a case (arguments and a check) to CASES in tests/images/test_images.py, or CONTAINER_CASE "
        f"to tests/components/test_<component>.py, for {missing}"
    )


def test_images_are_lean_labelled_and_run_as_non_root(images: dict[str, str]):
    sizes = {}
    for name, reference in images.items():
        config = _image_config(reference)
        _image_user(reference)
        labels = config["Labels"]
        assert labels["org.opencontainers.image.title"] == f"keel-{name.replace('_', '-')}"
        assert "org.opencontainers.image.source" in labels
        for key in ("version", "revision"):
            assert labels.get(f"org.opencontainers.image.{key}", "unknown") != "unknown", (
                f"{name}: no {key} label"
            )
        with _mounted(reference) as rootfs:
            leftovers = [
                path
                for pattern in (
                    "opt/venv/bin/pip*",
                    "usr/bin/gcc*",
                    "usr/bin/cc",
                    "usr/bin/make",
                    "ctx",
                    "wheelhouse",
                    "root/.cache/pip",
                    "opt/venv/lib/python3.11/site-packages/*/tests",
                )
                for path in rootfs.glob(pattern)
            ]
            assert not leftovers, f"{name} holds build leftovers: {leftovers}"
            packages = rootfs / "opt/venv/lib/python3.11/site-packages"
            for package in ("components", "components/common", "kfp", "pandas"):
                assert list((packages / package / "__pycache__").glob("*.cpython-311.pyc")), (
                    f"{name}: {package} is not precompiled (every task start would compile it)"
                )
        sizes[name] = build.image_size("buildah", reference)
    print(
        "\nimage sizes (uncompressed):\n"
        + "\n".join(f"  {images[n]:55} {s / 1e6:5.0f} MB" for n, s in sizes.items())
    )


@pytest.mark.parametrize("name", components.__all__)
def test_component_runs_in_its_image_as_on_vertex(name: str, images, compiled, tmp_path: Path):
    case = all_cases().get(name)
    if case is None:
        pytest.fail(f"no case for {name}: add its arguments and a check to CASES, or CONTAINER_CASE")
    run_in_image_and_locally(name, compiled[name], images[name], case, tmp_path)


def test_a_generated_use_case_component_builds_and_runs_in_its_image(
    images, new_use_case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`keel new component` in a use case, then `keel images` (FROM the keel base just built), and the
    same contract as the library's components, with the case its generated test declares."""
    folder = new_use_case("shop").folder
    new_component("remove_outliers", root=folder)
    keel_registry, _, keel_tag = images["base"].rpartition(":")
    keel_registry = keel_registry.removesuffix("/keel-base")
    built = build_use_case_images(folder, DEFAULT_REGISTRY, __version__, keel_registry, keel_tag, "buildah")
    assert built == {"remove_outliers": image("remove_outliers")}
    monkeypatch.chdir(folder)  # the use case's package is importable here, and in kfp.local's tasks
    monkeypatch.syspath_prepend(str(folder))
    try:
        compiled_path = compile_one("shop.components:remove_outliers", tmp_path / "compiled")
        case = declared_cases(folder / "tests", ["remove_outliers"])["remove_outliers"]
        run_in_image_and_locally(
            "remove_outliers", compiled_path, built["remove_outliers"], case, tmp_path / "run"
        )
    finally:
        for module in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
            del sys.modules[module]


def run_in_image_and_locally(
    name: str, compiled_path: Path, reference: str, case: Case, tmp_path: Path
) -> None:
    """Run compiled component `name` in image `reference` as Vertex would, check its outputs with `case`,
    and compare them with a kfp.local run of the same compiled component."""
    spec = load_component_from_file(str(compiled_path)).pipeline_spec
    component_name, component_spec = next(iter(spec.components.items()))
    executor = local_utils.struct_to_executor_spec(
        task_dispatcher.get_executor_spec(spec, component_spec.executor_label)
    )
    assert executor.container.image == image(name) == reference, "the component must name its own image"

    inputs = _stage_inputs(case.arguments, tmp_path / "inputs")
    user = _image_user(reference)

    # In the image, as on Vertex: gs:// URIs for artifacts, /gcs/ paths for files.
    gcs = f"gs://{BUCKET}"
    in_image = tmp_path / "image"
    arguments = _arguments(case.arguments, inputs, f"{gcs}/inputs", f"/gcs/{BUCKET}/work", in_image / "work")
    executor_input = executor_input_utils.construct_executor_input(
        component_spec, arguments, f"{gcs}/outputs", False
    )
    _to_fuse(executor_input.outputs)
    command = placeholder_utils.replace_placeholders(
        full_command=[*executor.container.command, *executor.container.args],
        executor_input_dict=executor_input_utils.executor_input_to_dict(executor_input, component_spec),
        pipeline_resource_name=f"images-test-{name}",
        task_resource_name=executor_input_utils.get_local_task_resource_name(component_name),
        pipeline_root=gcs,
        unique_pipeline_id=placeholder_utils.make_random_id(),
    )
    for folder in ("outputs", "home", "work"):
        (in_image / folder).mkdir(parents=True, exist_ok=True)
    subprocess.run(["chown", "-R", f"{user[0]}:{user[1]}", str(in_image)], check=True)
    started = time.monotonic()
    _run_in_image(
        reference,
        command,
        volumes={
            tmp_path / "inputs": (f"/gcs/{BUCKET}/inputs", "ro"),
            in_image / "outputs": (f"/gcs/{BUCKET}/outputs", "rw"),
            in_image / "work": (f"/gcs/{BUCKET}/work", "rw"),
            in_image / "home": (CONTAINER_ENV["KEEL_HOME"], "rw"),
        },
        env=CONTAINER_ENV,
    )
    print(f"\n{name}: ran in {reference} in {time.monotonic() - started:.1f}s")

    # Its outputs, read by kfp.local's own reader through the same layout on this side.
    files = Files(in_image / "outputs", in_image / "work", in_image / "home", f"{gcs}/outputs")
    host_view = executor_input_utils.construct_executor_input(
        component_spec, arguments, str(files.outputs), False
    )
    outputs = executor_output_utils.get_outputs_for_task(host_view, component_spec)
    declared = component_spec.output_definitions
    assert set(outputs) == {*declared.parameters, *declared.artifacts}
    case.check(outputs, files)
    written = list(files.outputs.rglob("*"))
    assert written and all(path.stat().st_uid == user[0] for path in written), (
        "not written by the image's user"
    )

    # The same compiled component with the same arguments under kfp.local, in this environment.
    local_root = tmp_path / "local"
    reference = _run_with_kfp_local(
        spec,
        component_name,
        component_spec,
        executor,
        _arguments(
            case.arguments, inputs, str(tmp_path / "inputs"), str(local_root / "work"), local_root / "work"
        ),
        local_root / "runs",
    )
    ours, theirs = _comparable(outputs, case.ignore), _comparable(reference, case.ignore)
    differences = {
        key: (ours.get(key), theirs.get(key)) for key in {*ours, *theirs} if ours.get(key) != theirs.get(key)
    }
    assert not differences, f"{name}: (in the image, with kfp.local) differ: {differences}"


# ------------------------------------------------------------------------------------------ helpers


def _out(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, text=True, capture_output=True).stdout.strip()


def _image_config(reference: str) -> dict:
    return json.loads(_out("buildah", "inspect", "--type", "image", reference))["OCIv1"]["config"]


def _image_user(reference: str) -> tuple[int, int]:
    user = _image_config(reference).get("User", "")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"{reference}: USER must be a numeric non-root id, not {user!r}"
    return int(uid), int(gid or uid)


class _mounted:
    """A working container of an image, mounted: its root filesystem as a Path; removed on exit."""

    def __init__(self, reference: str) -> None:
        self.reference = reference

    def __enter__(self) -> Path:
        self.container = _out("buildah", "from", "--pull=false", self.reference)
        return Path(_out("buildah", "mount", self.container))

    def __exit__(self, *exc) -> None:
        subprocess.run(["buildah", "rm", self.container], check=True, capture_output=True)


def _run_in_image(
    reference: str, command: list[str], volumes: dict[Path, tuple[str, str]], env: dict[str, str]
):
    """Run `command` in a new working container of `reference`, as the image's user; always remove it."""
    container = _out("buildah", "from", "--pull=false", reference)
    try:
        cmd = ["buildah", "run", "--isolation", "chroot"]
        for host, (target, mode) in volumes.items():
            cmd += ["-v", f"{host}:{target}:{mode}"]
        for key, value in env.items():
            cmd += ["-e", f"{key}={value}"]
        result = subprocess.run([*cmd, container, "--", *command], text=True, capture_output=True)
        if result.returncode != 0:
            pytest.fail(
                f"{reference} exited with {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
            )
    finally:
        subprocess.run(["buildah", "rm", container], check=True, capture_output=True)


def _stage_inputs(arguments: dict[str, Any], inputs: Path) -> dict[str, Path | list[Path]]:
    """Make every input artifact under `inputs/<argument>/` (readable by anyone); {argument: path(s)}."""
    staged = {}
    for key, value in arguments.items():
        if isinstance(value, InputArtifact):
            made = inputs.parent / f"made-{key}"
            made.mkdir(parents=True)
            result = value.make(made)
            (inputs / key).mkdir(parents=True)
            targets = []
            for source in result if isinstance(result, list) else [result]:
                targets.append(inputs / key / source.name)
                (shutil.copytree if source.is_dir() else shutil.copy)(source, targets[-1])
            staged[key] = targets if isinstance(result, list) else targets[0]
    inputs.mkdir(exist_ok=True)
    for path in [inputs, *inputs.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return staged


def _arguments(
    arguments: dict, staged: dict[str, Path | list[Path]], inputs_uri: str, work_uri: str, work: Path
) -> dict:
    """The task's arguments as one side sees them: artifacts under `inputs_uri`, folders under `work_uri`
    (made in `work` on this side)."""
    resolved = {}
    for key, value in arguments.items():
        if isinstance(value, InputArtifact):
            paths = staged[key]
            artifacts = [
                value.artifact_class(
                    name=key, uri=f"{inputs_uri}/{key}/{path.name}", metadata=value.metadata(path)
                )
                for path in (paths if isinstance(paths, list) else [paths])
            ]
            resolved[key] = artifacts if isinstance(paths, list) else artifacts[0]
        elif isinstance(value, Folder):
            (work / key).parent.mkdir(parents=True, exist_ok=True)
            if value.make:
                value.make(work / key)
            else:
                (work / key).mkdir()
            resolved[key] = f"{work_uri}/{key}"
        else:
            resolved[key] = value
    return resolved


def _to_fuse(outputs) -> None:
    """Vertex names output files (executor output, output parameters) by their /gcs/ paths."""
    outputs.output_file = outputs.output_file.replace("gs://", "/gcs/", 1)
    for parameter in outputs.parameters.values():
        parameter.output_file = parameter.output_file.replace("gs://", "/gcs/", 1)


def _run_with_kfp_local(
    spec, component_name, component_spec, executor, arguments, root: Path
) -> dict[str, Any]:
    """kfp.local's task runner (SubprocessRunner, this environment) on the same compiled component.

    `run_single_task_implementation` is what kfp.local runs for each task; it is called directly so
    that input artifacts can be given, as in a pipeline (a lone kfp.local task refuses them)."""
    runner = local.SubprocessRunner(use_venv=False)
    local.init(runner=runner, pipeline_root=str(root))
    outputs, _ = task_dispatcher.run_single_task_implementation(
        pipeline_resource_name=executor_input_utils.get_local_pipeline_resource_name(spec.pipeline_info.name),
        component_name=component_name,
        component_spec=component_spec,
        executor_spec=executor,
        arguments=arguments,
        pipeline_root=str(root),
        runner=runner,
        raise_on_error=True,
        block_input_artifact=False,
        unique_pipeline_id=placeholder_utils.make_random_id(),
    )
    return outputs


def _comparable(outputs: dict[str, Any], ignore: tuple[str, ...]) -> dict[str, Any]:
    """Flat {output or output.metadata_key: value}: artifacts by type and metadata (URIs differ by design)."""
    flat = {}
    for key, value in outputs.items():
        if isinstance(value, dsl.Artifact):
            flat[f"{key}.schema_title"] = value.schema_title
            flat.update({f"{key}.{name}": item for name, item in value.metadata.items()})
        else:
            flat[key] = value
    return {
        key: value for key, value in flat.items() if key not in ignore and key.split(".")[0] not in ignore
    }


# ------------------------------------------------------------------------------------------ keel-serve

SERVED_AT = "/models/churn"  # where the model folder is mounted (read-only) in the keel-serve container
PREDICT_ROUTE, HEALTH_ROUTE = "/v1/endpoints/1/deployedModels/2:predict", "/v1/endpoints/1/deployedModels/2"


def test_keel_serve_answers_as_batch_scoring_does_and_stops_on_sigterm(
    images, profiled_model: str, tmp_path: Path
):
    """The keel-serve image run as Vertex AI runs a custom serving container: its entrypoint, as its
    user, AIP_STORAGE_URI naming a model folder (mounted read-only), AIP_HTTP_PORT and the AIP routes
    set. A real HTTP client gets exactly batch_predict's predictions and scores for the same rows; then
    SIGTERM, as a container runtime sends it, shuts the server down gracefully."""
    from components.batch_predict.core import ScoringRun, score_table
    from components.common import io, model_files
    from tests.builders import records, to_score

    reference = images["serve"]
    assert reference == image("serve")
    config = _image_config(reference)
    assert "8080/tcp" in config.get("ExposedPorts", {})
    uid, gid = _image_user(reference)
    model, home = tmp_path / "model", tmp_path / "home"
    shutil.copytree(profiled_model, model)
    for path in [model, *model.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    home.mkdir()
    os.chown(home, uid, gid)

    rows = to_score(300, seed=3).drop(columns=["snapshot_time"])
    rows.loc[5, "monthly_charges"] = np.nan  # a missing value is handled as in batch scoring
    io.write_table(rows, str(tmp_path / "to_score.parquet"))
    loaded, metadata = model_files.load(str(model))
    run = ScoringRun("churn", 0, "images-test", ("customer_id",))
    score_table(loaded, metadata, str(tmp_path / "to_score.parquet"), str(tmp_path / "scored.parquet"), run)
    batch = io.read_table(str(tmp_path / "scored.parquet"))

    port = _free_port()
    env = {
        **CONTAINER_ENV,
        "AIP_STORAGE_URI": SERVED_AT,
        "AIP_HTTP_PORT": str(port),
        "AIP_PREDICT_ROUTE": PREDICT_ROUTE,
        "AIP_HEALTH_ROUTE": HEALTH_ROUTE,
    }
    volumes = {model: (SERVED_AT, "ro"), home: (CONTAINER_ENV["KEEL_HOME"], "rw")}
    log = tmp_path / "serve.log"
    with _ServingContainer(
        reference, [*config["Entrypoint"], *(config.get("Cmd") or [])], volumes, env, log
    ) as served:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            health = served.wait_healthy(client)
            online = []
            for start in range(0, len(rows), 100):
                answer = client.post(PREDICT_ROUTE, json={"instances": records(rows[start : start + 100])})
                assert answer.status_code == 200, answer.text
                assert (answer.json()["model_name"], answer.json()["model_version"]) == ("churn", 0)
                online += answer.json()["predictions"]
        server_uid = served.uid()

    assert health["source"] == SERVED_AT and health["checks"][0]["usable"]
    assert server_uid == uid == 10001, "the server must run as the image's non-root user"
    assert [p["prediction"] for p in online] == batch["prediction"].tolist()
    assert [p["score"] for p in online] == batch["score"].tolist()  # exactly the same numbers
    assert served.stopped, f"keel serve did not exit after SIGTERM:\n{log.read_text()[-3000:]}"
    messages = [
        json.loads(line).get("message") for line in log.read_text().splitlines() if line.startswith("{")
    ]
    assert "Application shutdown complete." in messages, log.read_text()[-3000:]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _ServingContainer:
    """`command` running in a new working container of `reference` (as the image's user, on the host's
    network), its output in `log`. On exit the server process gets SIGTERM, as a container runtime
    sends it (buildah itself would kill it), `stopped` says whether it exited within 30 s, and the
    container is removed."""

    def __init__(
        self,
        reference: str,
        command: list[str],
        volumes: dict[Path, tuple[str, str]],
        env: dict[str, str],
        log: Path,
    ) -> None:
        self.reference, self.command, self.volumes, self.env, self.log = reference, command, volumes, env, log
        self.stopped = False

    def __enter__(self) -> _ServingContainer:
        self.container = _out("buildah", "from", "--pull=false", self.reference)
        cmd = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
        for host, (target, mode) in self.volumes.items():
            cmd += ["-v", f"{host}:{target}:{mode}"]
        for key, value in self.env.items():
            cmd += ["-e", f"{key}={value}"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*cmd, self.container, "--", *self.command], stdout=log, stderr=log
            )
        return self

    def wait_healthy(self, client: httpx.Client, seconds: float = 120) -> dict:
        """The health route's answer once it is 200."""
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"keel-serve exited:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not healthy in {seconds} s:\n{self.log.read_text()[-3000:]}"
            try:
                response = client.get(HEALTH_ROUTE)
                if response.status_code == 200:
                    return response.json()
            except httpx.TransportError:
                pass
            time.sleep(0.2)

    def server(self) -> int:
        """The pid of the server: the process under `buildah run` that is not buildah's own."""
        children: dict[int, list[int]] = {}
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                ppid = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
            except (OSError, StopIteration):
                continue
            children.setdefault(int(ppid.split()[1]), []).append(int(status.parent.name))
        pending, found = [self.process.pid], []
        while pending:
            for pid in children.get(pending.pop(), []):
                pending.append(pid)
                if not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"buildah"):
                    found.append(pid)
        assert len(found) == 1, f"expected one server process under buildah run, found {found}"
        return found[0]

    def uid(self) -> int:
        status = Path(f"/proc/{self.server()}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])

    def __exit__(self, *exc) -> None:
        try:
            if self.process.poll() is None:
                os.kill(self.server(), signal.SIGTERM)
            self.process.wait(timeout=30)
            self.stopped = True
        except subprocess.TimeoutExpired:
            pass  # `stopped` stays False
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            subprocess.run(["buildah", "rm", self.container], check=True, capture_output=True)
