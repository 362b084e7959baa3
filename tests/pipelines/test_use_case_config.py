"""A use case's keel.toml: checked when read, and turned into `keel` options for the Makefile."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli_use_case import accepted_options
from pipelines.use_case import ConfigError, load_config, options

KEEL = str(Path(sys.executable).parent / "keel")


@pytest.fixture
def config_file(new_use_case) -> Path:
    return new_use_case("shop_sales", label="units").folder / "keel.toml"


def _edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def test_the_generated_file_passes_every_setting(config_file: Path):
    config = load_config(config_file)
    assert config.use_case.package == "shop_sales" and config.use_case.label == "units"
    assert config.use_case.skip_columns == ["units"] and config.use_case.id_columns == []
    assert config.local.training_data == "data/sample.parquet"
    assert config.thresholds == {"r2": {"lower_bound": 0.5, "min_improvement": 0.005}}
    assert config.schedule["batch_scoring"].cron == "0 6 * * *"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('label = "units"', 'label = "units"\ncolour = "blue"', r"use_case: unknown key\(s\) colour"),
        ("seed = 0", 'seed = "zero"', r"model.seed = 'zero': expected an integer"),
        ("test_fraction = 0.2\n", "", r"model: missing key\(s\) test_fraction"),
        ('model_name = "shop_sales"', 'model_name = "Shop Sales"', "model name 'Shop Sales'"),
        ("lower_bound = 0.5", "lower_bnd = 0.5", "threshold on 'r2': expected a mapping"),
        ('label = "units"', 'label = ""', "label is empty"),
        ('package = "shop_sales"', 'package = "class"', "package 'class'"),
        ("[alerts]", "[alerts\n", "not valid TOML"),
    ],
)
def test_a_bad_setting_is_named(config_file: Path, old: str, new: str, message: str):
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(_edit(config_file, old, new))
    assert str(config_file) in str(raised.value)


def test_options_for_compile_submit_and_schedule(config_file: Path):
    for key, value in [
        ('project = ""', 'project = "acme"'),
        ('pipeline_root = ""', 'pipeline_root = "gs://acme-runs/shop"'),
        ('image_registry = ""', 'image_registry = "europe-west4-docker.pkg.dev/acme/keel"'),
        ('training_data = ""', 'training_data = "gs://acme/shop/train.parquet"'),
        ('registry = ""', 'registry = "vertex://projects/acme/locations/europe-west4"'),
    ]:
        _edit(config_file, key, value)
    config = load_config(config_file)
    images = ["--image-registry", "europe-west4-docker.pkg.dev/acme/keel", "--image-tag", "0.1.0"]
    assert options(config, "compile") == images
    submit = options(config, "submit", "training")
    assert submit[:6] == [
        "--project",
        "acme",
        "--location",
        "europe-west4",
        "--pipeline-root",
        "gs://acme-runs/shop",
    ]
    assert "data_uri=gs://acme/shop/train.parquet" in submit and submit[-4:] == images
    assert "registry_uri=vertex://projects/acme/locations/europe-west4" in submit
    schedule = options(config, "schedule", "batch_scoring")
    assert schedule[-4:] == ["--cron", "0 6 * * *", "--timezone", "UTC"]
    assert "output_uri=" in schedule  # [vertex] predictions is still empty: passed as it is

    printed = subprocess.run(
        [KEEL, "config", "options", "schedule", "batch_scoring", "--config", str(config_file)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shlex.split(printed) == schedule  # shell-quoted: the cron's spaces and stars survive

    with pytest.raises(ConfigError, match="no locations known for pipeline 'monitoring'"):
        options(config, "submit", "monitoring")


def test_vertex_settings_are_required_to_submit(config_file: Path):
    with pytest.raises(ConfigError, match=r"\[vertex\] project is empty"):
        options(load_config(config_file), "submit", "training")


def test_resources_and_alerts_become_keel_options(config_file: Path):
    _edit(config_file, "# train_model = { cpu", 'train_model = { cpu = "8", memory = "32G" }\n# x = { cpu')
    _edit(config_file, 'webhook = ""', 'webhook = "https://hooks.slack.com/services/T/B/X"')
    _edit(config_file, "emails = []", 'emails = ["oncall@example.com"]')
    found = options(load_config(config_file), "compile")
    assert found[-6:] == [
        "--resources",
        "train_model=cpu=8,memory=32G",
        "--alert-webhook",
        "https://hooks.slack.com/services/T/B/X",
        "--alert-email",
        "oncall@example.com",
    ]
    result = subprocess.run(
        [KEEL, "config", "options", "compile", "--config", str(config_file)], capture_output=True, text=True
    )
    missing = sorted({"--resources", "--alert-webhook", "--alert-email"} - accepted_options("compile"))
    if missing:  # this keel's `keel compile` lacks them: the setting is refused, never dropped
        assert result.returncode == 1 and ", ".join(missing) in result.stderr
    else:
        assert result.returncode == 0 and shlex.split(result.stdout) == found
