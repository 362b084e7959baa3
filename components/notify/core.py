"""Tell people how a pipeline run ended: the alert an exit task sends from its final status.

What the final status holds depends on where the run is:
- On Vertex AI: the state, the job's resource name (so the console link) and, on failure, an
  error that names the failed tasks ("... The failed tasks are: [validate-data]."). The failed
  task's own traceback is in its log, which the console link leads to.
- Under kfp.local (2.17): the state, a made-up resource name (`local-pipeline-<group>`) and, on
  failure, only "Task exit-handler-1 failed.": no failed task, no task error, no console. The
  failed tasks are then looked for in the run's folder: a task folder without kfp.local's
  executor output is a task that started and failed. A task leaves a folder only once it has an
  output artifact (every keel component but plan_shards has one), so a failed task without one
  is reported as `unknown`; the message says that the error text is in the run's log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from components.common import alerts, io
from components.common.console import console_url
from components.common.logging import logger

ALERT_ON = ("failure", "always")
SUCCEEDED = "SUCCEEDED"
LOCAL_RESOURCE_PREFIX = "local-pipeline-"  # kfp.local's stand-in for a job resource name
EXECUTOR_OUTPUT = "executor_output.json"  # what kfp.local writes for each task that finished
_VERTEX_JOB = re.compile(r"projects/[^/]+/locations/[^/]+/pipelineJobs/[^/]+")
_FAILED_TASKS = re.compile(r"failed tasks are: \[([^\]]*)\]")
_LOOP_ITERATION = re.compile(r".+-iteration-\d+")
LOCAL_NOTE = "kfp.local passes no task error to exit tasks: the failed task's error is in the run's log"


@dataclass(frozen=True)
class FinalStatus:
    """The fields of `dsl.PipelineTaskFinalStatus` that the alert uses."""

    state: str
    pipeline_job_resource_name: str = ""
    pipeline_task_name: str = ""
    error_message: str = ""

    @property
    def is_local(self) -> bool:
        return self.pipeline_job_resource_name.startswith(LOCAL_RESOURCE_PREFIX)


@dataclass(frozen=True)
class Channels:
    """Where the alert goes (see components.common.alerts) and when: `alert_on` is `failure`
    (any end but SUCCEEDED) or `always` (a success sends `success_message` too)."""

    webhook_url: str = ""
    webhook_format: str = "auto"
    alert_on: str = "failure"
    success_message: str = ""


@dataclass(frozen=True)
class Alert:
    title: str
    text: str
    severity: str
    fields: dict[str, str]

    def markdown(self, delivery: str) -> str:
        facts = "".join(f"- **{key}**: {value}\n" for key, value in self.fields.items())
        return f"# {self.title}\n\n{self.text}\n\n{facts}\n_{delivery}_\n"


def local_failed_tasks(run_folder: str, own_task: str = "") -> list[str]:
    """The tasks of a kfp.local run folder that started but wrote no executor output (failed), in
    kfp.local's layout: `<run>/<task>/` and `<run>/<loop>-iteration-<i>/<task>/`."""
    root = Path(run_folder)
    if not root.is_dir():
        return []
    failed = []
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name == own_task:
            continue
        tasks = (
            sorted(p for p in entry.iterdir() if p.is_dir())
            if _LOOP_ITERATION.fullmatch(entry.name)
            else [entry]
        )
        failed += [str(task.relative_to(root)) for task in tasks if not (task / EXECUTOR_OUTPUT).exists()]
    return failed


def failed_tasks(status: FinalStatus, run_folder: str = "", own_task: str = "") -> list[str]:
    """The failed tasks: named in Vertex's error message, or found in a kfp.local run folder."""
    named = _FAILED_TASKS.search(status.error_message)
    if named:
        return [task.strip() for task in named[1].split(",") if task.strip()]
    if status.is_local and run_folder:
        return local_failed_tasks(run_folder, own_task)
    return []


def describe(
    status: FinalStatus, pipeline_name: str, channels: Channels, run_folder: str = "", own_task: str = ""
) -> Alert:
    """The alert for a run that ended with `status`."""
    fields = {"pipeline": pipeline_name, "state": status.state}
    if status.is_local:
        fields["run"] = Path(run_folder).name if run_folder else "kfp.local"
    elif status.pipeline_job_resource_name:
        fields["run"] = status.pipeline_job_resource_name
        if _VERTEX_JOB.fullmatch(status.pipeline_job_resource_name):
            fields["console"] = console_url(status.pipeline_job_resource_name)
    if status.state == SUCCEEDED:
        return Alert(f"{pipeline_name} succeeded", channels.success_message, "INFO", fields)
    tasks = failed_tasks(status, run_folder, own_task)
    error = status.error_message or "(no error message)"
    if status.is_local:
        error = f"{error} ({LOCAL_NOTE})"
    text = f"Failed task: {', '.join(tasks) or 'unknown'}\nError: {error}"
    fields["failed tasks"] = ", ".join(tasks)
    verb = "was cancelled" if status.state == "CANCELLED" else "failed"
    return Alert(
        f"{pipeline_name} {verb}", text, "WARNING" if status.state == "CANCELLED" else "ERROR", fields
    )


def notify(
    status: FinalStatus,
    pipeline_name: str,
    channels: Channels,
    report_path: str = "",
    run_folder: str = "",
    own_task: str = "",
) -> Alert | None:
    """Log the run's end as one JSON line, send it to the webhook when `alert_on` says so, and
    write it as Markdown to `report_path`. Never raises: a failure here is a warning, so the exit
    task never fails a run, nor hides the state of the run it reports."""
    try:
        alert = describe(status, pipeline_name, channels, run_folder, own_task)
        wanted = channels.alert_on == "always" or status.state != SUCCEEDED
        webhook = channels.webhook_url if wanted else ""
        delivered = alerts.send(
            alert.title,
            alert.text,
            severity=alert.severity,
            fields=alert.fields,
            webhook_url=webhook,
            webhook_format=channels.webhook_format,
        )
        if report_path:
            io.write_bytes(report_path, alert.markdown(_delivery(channels, webhook, delivered)).encode())
        return alert
    except Exception as error:  # noqa: BLE001 - reporting never fails a run
        logger.warning("notify: could not report the end of %s (%s): %s", pipeline_name, status.state, error)
        return None


def _delivery(channels: Channels, webhook: str, delivered: bool) -> str:
    if not channels.webhook_url:
        return "logged (no webhook configured)"
    if not webhook:
        return f"logged; not sent to the webhook (alert_on={channels.alert_on})"
    host = alerts.webhook_host(webhook)
    return (
        f"logged and sent to the webhook on {host}" if delivered else f"logged; the webhook on {host} failed"
    )
