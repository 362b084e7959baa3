"""KFP interface of notify; the work is in `core`."""

from kfp import dsl
from kfp.dsl import Markdown, Output

from components.external_state import external_state
from components.images import image


# Runs at every end of a run (never cached) and posts once: a retry could post the alert twice.
@external_state(writes=("webhook_url",), retry=False)
@dsl.component(base_image=image("notify"), install_kfp_package=False)
def notify(
    status: dsl.PipelineTaskFinalStatus,
    report: Output[Markdown],
    pipeline_name: str,
    webhook_url: str = "",
    webhook_format: str = "auto",
    alert_on: str = "failure",
    success_message: str = "",
):
    """Reports how a pipeline run ended: the exit task of `pipelines.alerting.with_alerts`.

    Always writes one JSON log line, at severity ERROR for a failure (WARNING for a cancelled run,
    INFO for a success), that a Cloud Monitoring log-based alert can match
    (`jsonPayload.logger="keel.alerts" AND severity>=ERROR`), and posts the alert to the webhook
    when `alert_on` says so. The alert names the pipeline, the state, the failed tasks and the
    error, and links the run in the console. It never fails: a webhook that does not answer is a
    warning, so the run's state stays the state of its own tasks. Under kfp.local the final status
    carries no task error: the alert names the failed tasks found in the run folder and says so.

    Args:
        status: The final status of the wrapped tasks (set by the pipeline engine; pass nothing).
        pipeline_name: The pipeline's name, shown in the alert.
        webhook_url: A Slack or Google Chat incoming webhook, or any receiver of JSON. Empty: the
            log line only.
        webhook_format: `auto` (by the URL's host: hooks.slack.com is slack, chat.googleapis.com
            google-chat, others json), `slack`, `google-chat` or `json` ({title, text, severity, fields}).
        alert_on: `failure` (any end but success; a success is only logged) or `always`.
        success_message: The text of the success alert, when `alert_on` is `always`.

    Returns:
        report: The alert as Markdown, with where it was delivered.
    """
    from pathlib import Path

    from components.notify import core

    core.notify(
        core.FinalStatus(
            status.state,
            status.pipeline_job_resource_name,
            status.pipeline_task_name,
            status.error_message or "",
        ),
        pipeline_name,
        core.Channels(webhook_url, webhook_format, alert_on, success_message),
        report_path=report.path,
        run_folder=str(Path(report.path).parents[1]),
        own_task=Path(report.path).parent.name,
    )
