"""notify's core: the alert from a final status as Vertex AI and kfp.local give it, and no raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.notify import core
from tests.fakes.vertex_api import FakeVertexAPI
from tests.fakes.webhook import WebhookReceiver

JOB = "projects/123456789012/locations/europe-west4/pipelineJobs/keel-training-20261201030000"
VERTEX_FAILED = core.FinalStatus(
    "FAILED",
    JOB,
    "exit-handler-1",
    "The DAG failed because some tasks failed. The failed tasks are: [validate-data, plan-shards].",
)
LOCAL_FAILED = core.FinalStatus(
    "FAILED", "local-pipeline-exit-handler-1", "exit-handler-1", "Task exit-handler-1 failed."
)


@pytest.fixture
def receiver():
    with FakeVertexAPI() as api:
        yield WebhookReceiver(api)


def _local_run(tmp_path: Path) -> Path:
    """A kfp.local run folder: two tasks that finished, one that failed, a loop iteration that failed."""
    run = tmp_path / "keel-batch-scoring-2026-12-01-03-00-00-000001"
    for task, finished in [
        ("validate-data", True),
        ("plan-shards", True),
        ("resolve-model", False),
        ("for-loop-1-iteration-0/batch-predict", True),
        ("for-loop-1-iteration-1/batch-predict", False),
        ("notify", False),  # the exit task itself, still running
    ]:
        (run / task / "metrics").mkdir(parents=True)
        if finished:
            (run / task / core.EXECUTOR_OUTPUT).write_text("{}")
    return run


def test_vertex_failure_names_the_failed_tasks_the_error_and_the_console_link():
    alert = core.describe(VERTEX_FAILED, "keel-training", core.Channels())
    assert (alert.title, alert.severity) == ("keel-training failed", "ERROR")
    assert alert.text == f"Failed task: validate-data, plan-shards\nError: {VERTEX_FAILED.error_message}"
    assert alert.fields["failed tasks"] == "validate-data, plan-shards"
    assert alert.fields["run"] == JOB
    assert alert.fields["console"] == (
        "https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/"
        "keel-training-20261201030000?project=123456789012"
    )


def test_local_failure_finds_the_failed_tasks_in_the_run_folder_and_says_what_is_missing(tmp_path: Path):
    run = _local_run(tmp_path)
    alert = core.describe(LOCAL_FAILED, "keel-batch-scoring", core.Channels(), str(run), own_task="notify")
    assert alert.fields["failed tasks"] == "for-loop-1-iteration-1/batch-predict, resolve-model"
    assert alert.fields["run"] == run.name and "console" not in alert.fields
    assert alert.text.startswith("Failed task: for-loop-1-iteration-1/batch-predict, resolve-model\n")
    assert "Task exit-handler-1 failed. (kfp.local passes no task error to exit tasks" in alert.text


def test_a_failed_task_that_left_no_folder_is_unknown(tmp_path: Path):
    run = tmp_path / "row-check-2026-12-01-03-00-00-000001"
    (run / "produce").mkdir(parents=True)
    (run / "produce" / core.EXECUTOR_OUTPUT).write_text("{}")
    alert = core.describe(LOCAL_FAILED, "row-check", core.Channels(), str(run))
    assert alert.text.startswith("Failed task: unknown\nError: Task exit-handler-1 failed. (kfp.local")


def test_cancelled_is_a_warning_and_success_is_info():
    cancelled = core.describe(core.FinalStatus("CANCELLED", JOB), "keel-training", core.Channels())
    assert (cancelled.title, cancelled.severity) == ("keel-training was cancelled", "WARNING")
    success = core.describe(
        core.FinalStatus("SUCCEEDED", JOB), "keel-training", core.Channels(success_message="ok")
    )
    assert (success.title, success.text, success.severity) == ("keel-training succeeded", "ok", "INFO")


@pytest.mark.parametrize(
    ("status", "alert_on", "sent"),
    [
        (VERTEX_FAILED, "failure", 1),
        (core.FinalStatus("SUCCEEDED", JOB), "failure", 0),
        (core.FinalStatus("SUCCEEDED", JOB), "always", 1),
    ],
)
def test_alert_on_decides_what_reaches_the_webhook(receiver, tmp_path: Path, status, alert_on, sent):
    channels = core.Channels(receiver.url, "json", alert_on, "scored 20,000 rows")
    alert = core.notify(status, "keel-training", channels, report_path=str(tmp_path / "report"))
    assert len(receiver.messages) == sent
    assert receiver.messages == ([{**vars(alert)}] if sent else [])
    report = (tmp_path / "report").read_text()
    assert report.startswith(f"# {alert.title}\n")
    assert ("sent to the webhook on 127.0.0.1" in report) == bool(sent)


def test_notify_never_raises(tmp_path: Path, caplog):
    (tmp_path / "report").mkdir()  # the report cannot be written over a folder
    channels = core.Channels(alert_on="always")
    assert core.notify(VERTEX_FAILED, "keel-training", channels, report_path=str(tmp_path / "report")) is None
    assert "notify: could not report the end of keel-training (FAILED)" in caplog.text
