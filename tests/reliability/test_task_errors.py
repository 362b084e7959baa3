"""When a task of `keel run --local` fails, the last lines the user sees are that task's own error
(exception type and message), not only kfp's "finished with status FAILURE"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.common import sample_data
from tests import churn
from tests.reliability.builders import keel

USER_CODE = """
import os, signal


def buggy(features, labels, hyperparameters, seed):
    raise ZeroDivisionError("the user's own bug, line 5")


def killed(features, labels, hyperparameters, seed):
    print("training started", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def user_code(tmp_path: Path) -> dict[str, str]:
    """An importable module of user training functions, and the environment that finds it."""
    (tmp_path / "user_code.py").write_text(USER_CODE)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}


def _last_lines(done, count: int) -> list[str]:
    return done.stderr.strip().splitlines()[-count:]


def test_a_failed_validation_ends_with_each_failed_expectation(keel_home: Path, tmp_path: Path):
    broken = str(tmp_path / "broken.parquet")
    sample_data.write_broken("out_of_range", broken)
    done = keel(
        "run", "validate_data", "--local", f"--param=data_uri={broken}", f"--param=suite_uri={churn.SUITE}"
    )
    assert done.returncode == 1
    head, detail = _last_lines(done, 2)
    assert head.endswith(
        f"task 'validate-data' failed: ValidationFailedError: {broken}: 1 of 40 expectations of suite 'churn' failed"
    )
    assert detail.startswith("  - expect_column_values_to_be_between on column 'age': ")


def test_an_exception_in_user_code_is_the_last_line(keel_home: Path, sample_uri: str, user_code):
    done = keel(
        "run",
        "train_model",
        "--local",
        f"--param=data_uri={sample_uri}",
        "--param=label=churned",
        "--param=train_function=user_code:buggy",
        **user_code,
    )
    assert done.returncode == 1
    assert _last_lines(done, 1)[0].endswith(
        "task 'train-model' failed: ZeroDivisionError: the user's own bug, line 5"
    )


def test_a_task_killed_without_a_python_error_says_so(keel_home: Path, sample_uri: str, user_code):
    done = keel(
        "run",
        "train_model",
        "--local",
        f"--param=data_uri={sample_uri}",
        "--param=label=churned",
        "--param=train_function=user_code:killed",
        **user_code,
    )
    assert done.returncode == 1
    assert "task 'train-model' failed without a Python error (killed?); it last printed:" in done.stderr
    assert [line.strip() for line in _last_lines(done, 2)] == [
        "training started",
        "Killed",
    ]  # the shell's word


def test_a_failed_task_inside_a_pipeline_is_named_with_its_error(keel_home: Path, tmp_path: Path):
    data = tmp_path / "customers.csv"
    data.write_text("customer_id,age,age,churned\nC1,30,31,0\nC2,40,41,1\n")
    done = keel(
        "run",
        "training",
        "--local",
        f"--param=data_uri={data}",
        f"--param=registry_uri={tmp_path / 'r'}",
        *churn.cli(churn.TRAINING),
    )
    assert done.returncode == 1
    assert _last_lines(done, 1)[0].endswith(
        f"task 'validate-data' failed: DataError: {data}: duplicated column name(s) 'age' (2 times); "
        "rule: every column needs its own name (rename or drop the duplicates)"
    )
    assert not (tmp_path / "r").exists()
    assert "Retrying in" not in done.stdout + done.stderr  # a local run fails at once, no backoff


def test_the_exception_is_read_from_the_last_traceback():
    from pipelines.task_errors import last_exception

    printed = (
        "\n".join(
            "    " + line
            for line in [
                "Traceback (most recent call last):",
                '  File "a.py", line 1, in <module>',
                "KeyError: 'x'",
                "",
                "During handling of the above exception, another exception occurred:",
                "",
                "Traceback (most recent call last):",
                '  File "b.py", line 2, in f',
                "    raise DataError(message)",
                "    ^^^^^^^^^^^^^^^^^^^^^^^^",
                "components.common.io.DataError: /data/x.csv: column 'age' not found",
                "  - a second line of the message",
                "",
            ]
        )
        + "\n12:00:00.000 - ERROR - Task 'x' finished with status FAILURE\n"
    )
    assert (
        last_exception(printed)
        == "DataError: /data/x.csv: column 'age' not found\n  - a second line of the message"
    )
    assert last_exception("    no traceback here\n") == ""
