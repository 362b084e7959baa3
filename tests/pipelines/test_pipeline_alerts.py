"""Failure alerts: pipelines run inside dsl.ExitHandler(notify), under kfp.local, with a loopback
webhook receiver; the compiled spec with the channels set at compile time (email only on Vertex).
(No `from __future__ import annotations`: KFP reads the components' annotations as types.)"""

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import dsl

from components.common import sample_data
from pipelines.alerting import Alerts, with_alerts
from pipelines.compiling import compile_all
from tests import churn
from tests.fakes.webhook import WebhookReceiver

SLACK = "https://hooks.slack.com/services/T0/B0/secret"


@dsl.component(base_image="python:3.11")
def produce(rows: int) -> int:
    return rows


@dsl.component(base_image="python:3.11")
def check_rows(rows: int, minimum: int):
    if rows < minimum:
        raise ValueError(f"only {rows} rows, at least {minimum} needed")


@with_alerts
@dsl.pipeline(name="row-check")
def row_check(rows: int, minimum: int = 10):
    check_rows(rows=produce(rows=rows).output, minimum=minimum)


def _text(message: dict) -> str:
    """The whole text of a Slack message: its blocks' texts and fields."""
    parts = []
    for block in message["blocks"]:
        parts.append(block.get("text", {}).get("text", ""))
        parts += [field["text"] for field in block.get("fields", [])]
    return "\n".join(parts)


def test_a_forced_failure_alerts_once_naming_the_task_and_the_run_still_fails(
    kfp_local: Path, receiver: WebhookReceiver, tmp_path: Path
):
    from pipelines.training import training

    broken = str(tmp_path / "broken.parquet")
    sample_data.write_broken("missing_column", broken, rows=2_000)
    alerting = with_alerts(training, Alerts(webhook_url=receiver.url, webhook_format="slack"))
    with pytest.raises(RuntimeError, match="Inner task failed: .*validate-data"):
        alerting(data_uri=broken, **churn.TRAINING)

    (message,) = receiver.messages
    assert message["text"] == ":red_circle: keel-training failed"
    text = _text(message)
    assert "Failed task: validate-data\nError: Task exit-handler-1 failed." in text
    assert "kfp.local passes no task error to exit tasks" in text
    assert "*run*\nkeel-training-" in text
    report = next(kfp_local.glob("keel-training-*/notify/report")).read_text()
    assert report.startswith("# keel-training failed") and "sent to the webhook on 127.0.0.1" in report
    assert not (kfp_local.parent / "registry").exists()


def test_a_users_pipeline_gets_the_same_wrapping(kfp_local: Path, receiver: WebhookReceiver):
    with pytest.raises(RuntimeError, match="Inner task failed: .*check-rows"):
        with_alerts(row_check, Alerts(webhook_url=receiver.url, webhook_format="json"))(rows=3)
    (message,) = receiver.messages
    assert message["title"] == "row-check failed" and message["severity"] == "ERROR"
    assert message["fields"]["state"] == "FAILED" and message["fields"]["run"].startswith("row-check-")
    # check-rows has no output artifact, so under kfp.local it leaves no trace to be found by
    assert message["text"].startswith("Failed task: unknown\nError: Task exit-handler-1 failed.")


@pytest.mark.parametrize(
    ("on", "expected"), [("always", ["row-check succeeded: 12 rows checked"]), ("failure", [])]
)
def test_success_sends_the_success_message_or_nothing(
    kfp_local: Path, receiver: WebhookReceiver, on, expected
):
    channels = Alerts(
        webhook_url=receiver.url, webhook_format="json", on=on, success_message="12 rows checked"
    )
    with_alerts(row_check, channels)(rows=12)
    assert [f"{m['title']}: {m['text']}" for m in receiver.messages] == expected


def test_an_unreachable_webhook_never_fails_a_run(kfp_local: Path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    with_alerts(row_check, Alerts(webhook_url=url, on="always"))(rows=12)  # succeeds: no exception
    report = next(kfp_local.glob("row-check-*/notify/report")).read_text()
    assert "the webhook on 127.0.0.1 failed" in report


def _tasks(spec: dict) -> dict[str, dict]:
    return spec["root"]["dag"]["tasks"]


@pytest.mark.parametrize("name", ["training", "batch_scoring"])
def test_both_pipelines_run_inside_an_exit_handler_with_notify(tmp_path: Path, name: str):
    spec = yaml.safe_load(compile_all(tmp_path, names=[name])[0].read_text())
    tasks = _tasks(spec)
    assert sorted(tasks) == ["exit-handler-1", "notify"]
    notify = tasks["notify"]
    assert notify["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert notify["dependentTasks"] == ["exit-handler-1"]
    assert notify["inputs"]["parameters"]["status"] == {"taskFinalStatus": {"producerTask": "exit-handler-1"}}
    assert notify["cachingOptions"] == {}  # an exit task is never reused from the cache
    inside = spec["components"]["comp-exit-handler-1"]["dag"]["tasks"]
    assert "fingerprint-inputs" in inside  # the run's first task
    assert spec["root"]["inputDefinitions"]["parameters"].keys() >= {"data_uri", "registry_uri"}


def test_channels_and_email_are_compiled_in_and_email_is_left_to_vertex(tmp_path: Path):
    alerts = Alerts(webhook_url=SLACK, emails=("oncall@example.com",), on="always", success_message="done")
    spec = yaml.safe_load(compile_all(tmp_path, names=["batch_scoring"], alerts=alerts)[0].read_text())
    arguments = _tasks(spec)["notify"]["inputs"]["parameters"]
    constants = {
        key: value["runtimeValue"]["constant"] for key, value in arguments.items() if key != "status"
    }
    assert constants == {
        "pipeline_name": "keel-batch-scoring",
        "webhook_url": SLACK,
        "webhook_format": "auto",
        "alert_on": "always",
        "success_message": "done",
    }
    email = _tasks(spec)["vertex-pipelines-notification-email"]
    assert email["triggerPolicy"] == {"strategy": "ALL_UPSTREAM_TASKS_COMPLETED"}
    assert email["inputs"]["parameters"]["pipeline_task_final_status"] == {
        "taskFinalStatus": {"producerTask": "exit-handler-1"}
    }
    assert email["inputs"]["parameters"]["recipients"]["runtimeValue"]["constant"] == ["oncall@example.com"]
    executor = spec["deploymentSpec"]["executors"][email["componentRef"]["name"].replace("comp-", "exec-")]
    assert executor["container"]["image"].startswith("gcr.io/ml-pipeline/google-cloud-pipeline-components:")


def test_keel_compile_takes_alert_options_and_refuses_bad_ones(tmp_path: Path):
    def keel(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-c", "from pipelines.cli import main; main()", "compile", "--output-dir"]
        return subprocess.run([*command, str(tmp_path), *args], capture_output=True, text=True, timeout=300)

    done = keel(
        "training",
        "--alert-webhook",
        SLACK,
        "--alert-email",
        "a@example.com",
        "--alert-email",
        "b@example.com",
    )
    assert done.returncode == 0, done.stderr
    spec = yaml.safe_load((tmp_path / "training.yaml").read_text())
    assert _tasks(spec)["notify"]["inputs"]["parameters"]["webhook_url"]["runtimeValue"]["constant"] == SLACK
    recipients = _tasks(spec)["vertex-pipelines-notification-email"]["inputs"]["parameters"]["recipients"]
    assert recipients["runtimeValue"]["constant"] == ["a@example.com", "b@example.com"]

    for args, error in [
        (["training", "--alert-email", "oncall"], "alert email(s) 'oncall': expected name@domain"),
        (["training", "--alert-webhook", "hooks.slack.com/x"], "expected an http(s):// URL with a host"),
        (
            ["validate_data", "--alert-on", "always"],
            "validate_data is a component: alert settings apply to pipelines",
        ),
    ]:
        refused = keel(*args)
        assert refused.returncode == 1 and error in refused.stderr, refused.stderr


def test_a_pipeline_with_outputs_is_refused():
    @dsl.pipeline(name="with-output")
    def with_output(rows: int) -> int:
        return produce(rows=rows).output

    with pytest.raises(ValueError, match="'with-output' returns outputs, which KFP does not allow"):
        with_alerts(with_output)
