import subprocess
import sys
from pathlib import Path

from components.common.sample_data import sample_path
from tests import churn

KEEL = str(Path(sys.executable).parent / "keel")


def _keel(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([KEEL, *args], capture_output=True, text=True, timeout=300)


def test_run_checks_parameters_before_running(keel_home: Path):
    missing = _keel("run", "batch-scoring", "--local")
    assert (
        missing.returncode == 1
        and "missing required parameter(s): data_uri, model_name, output_uri" in missing.stderr
    )
    mistyped = _keel(
        "run",
        "batch_scoring",
        "--local",
        "--param",
        "output_uri=out",
        "--param",
        "max_shards=many",
        *churn.cli(churn.SCORING),
    )
    assert mistyped.returncode == 1
    assert "parameter 'max_shards' must be an integer (NUMBER_INTEGER), got str 'many'" in mistyped.stderr
    assert not (keel_home / "runs").exists()


def test_run_a_component_and_list_its_outputs(keel_home: Path):
    done = _keel(
        "run",
        "validate_data",
        "--local",
        f"--param=data_uri={sample_path()}",
        f"--param=suite_uri={churn.SUITE}",
    )
    assert done.returncode == 0, done.stderr
    assert "  passed: True" in done.stdout
    assert "validate-data/report" in done.stdout and "tracking sessions" in done.stdout


def test_validate_data_without_a_suite_fails_naming_suite_uri(keel_home: Path):
    done = _keel(
        "run", "validate_data", "--local", f"--param=data_uri={sample_path()}"
    )  # no suite is assumed
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "task 'validate-data' failed: ParameterError: parameter 'suite_uri' = '': an expectation suite is "
            "required (a JSON file: local, /gcs/ or gs://)"
        )
    )
