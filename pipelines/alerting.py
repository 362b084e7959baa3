"""Failure alerts for any pipeline, in one call: its tasks run inside `dsl.ExitHandler(notify)`.

    from kfp import dsl
    from pipelines.alerting import Alerts, with_alerts

    @with_alerts                     # logged alerts now; channels can be added when compiling
    @dsl.pipeline(name="my-training")
    def my_training(data_uri: str): ...

    paging = with_alerts(my_training, Alerts(webhook_url="https://hooks.slack.com/services/...",
                                             emails=("oncall@example.com",)))

Whatever the tasks do, the exit task `notify` runs last with the final status, logs one JSON
line (ERROR on failure) and posts to the webhook; with `emails`, GCPC's VertexNotificationEmailOp
also runs after the tasks (a container component that works only on Vertex AI, not under
kfp.local). A failed run still fails: the exit task only reports.

Alert channels are compile-time settings, not pipeline parameters, because
- they change the pipeline's shape (the email task exists only when there are recipients);
- the pipeline's parameters stay the user's own: every run of a compiled pipeline or schedule
  alerts the same people, and `keel submit`/`keel schedule create` compile by name anyway, with
  the same `--alert-*` options as `keel compile`;
- one place holds them: this `Alerts` value, baked into the exit task's arguments.
The webhook URL holds a secret token and ends up in the compiled spec (visible to whoever can
read the pipeline's YAML or its run in the console): keep compiled pipelines private.
"""

from __future__ import annotations

import contextvars
import functools
import re
from dataclasses import dataclass

from kfp import dsl
from kfp.dsl.graph_component import GraphComponent

from components.common.alerts import check_webhook
from components.common.errors import DefinitionError, ParameterError
from components.external_state import external_state
from components.notify.component import notify
from components.notify.core import ALERT_ON

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Alerts:
    """Where a pipeline's alerts go, and when.

    webhook_url: a Slack or Google Chat incoming webhook, or any receiver of JSON; empty: none.
    webhook_format: `auto` (by the URL's host), `slack`, `google-chat` or `json`.
    emails: recipients of Vertex AI's notification email (sent at every end of a run, whatever
        `on` says: GCPC's component does not filter).
    on: `failure` (any end but success) or `always` (a success sends `success_message` too).
    success_message: the text of the success alert.
    """

    webhook_url: str = ""
    webhook_format: str = "auto"
    emails: tuple[str, ...] = ()
    on: str = "failure"
    success_message: str = ""

    def __post_init__(self) -> None:
        if self.on not in ALERT_ON:
            raise ParameterError(f"alert on {self.on!r}: expected one of {', '.join(ALERT_ON)}")
        if self.webhook_url:
            check_webhook(self.webhook_url, self.webhook_format)
        bad = [address for address in self.emails if not _EMAIL.fullmatch(address)]
        if bad:
            raise ParameterError(f"alert email(s) {', '.join(map(repr, bad))}: expected name@domain")
        object.__setattr__(self, "emails", tuple(self.emails))


_IN_FORCE: contextvars.ContextVar[Alerts] = contextvars.ContextVar("keel_alerts")


def channels() -> dict[str, str]:
    """The webhook of the alerts in force while a `with_alerts` pipeline is built, as the inputs of a
    task that sends alerts of its own (check_drift's `alert_webhook`, `alert_webhook_format`); empty
    outside one. Call it in the pipeline's wiring."""
    alerts = _IN_FORCE.get(Alerts())
    return {"alert_webhook": alerts.webhook_url, "alert_webhook_format": alerts.webhook_format}


def with_alerts(pipeline: GraphComponent, alerts: Alerts | None = None) -> GraphComponent:
    """`pipeline` (a `@dsl.pipeline`) with its tasks inside `dsl.ExitHandler(notify)`: same name,
    description and parameters. Given a pipeline made by `with_alerts`, the new `alerts` replace
    its old ones (this is how `keel compile --alert-...` sets the channels of any pipeline).

    KFP allows no pipeline outputs from inside an ExitHandler: a pipeline that returns outputs is
    refused.
    """
    body: GraphComponent = getattr(pipeline, "alerts_body", pipeline)
    alerts = alerts or Alerts()
    if not isinstance(body, GraphComponent):
        raise TypeError(f"with_alerts wraps a @dsl.pipeline, not {type(body).__name__}")
    if body.component_spec.outputs:
        raise DefinitionError(
            f"pipeline {body.name!r} returns outputs, which KFP does not allow from inside dsl.ExitHandler"
        )
    tasks = body.pipeline_func

    @functools.wraps(tasks)
    def alerting_pipeline(*args, **kwargs):
        exit_task = notify(
            pipeline_name=body.name,
            webhook_url=alerts.webhook_url,
            webhook_format=alerts.webhook_format,
            alert_on=alerts.on,
            success_message=alerts.success_message,
        ).set_caching_options(False)
        in_force = _IN_FORCE.set(alerts)
        try:
            with dsl.ExitHandler(exit_task) as run:
                tasks(*args, **kwargs)
        finally:
            _IN_FORCE.reset(in_force)
        if alerts.emails:
            from google_cloud_pipeline_components.v1.vertex_notification_email import (
                VertexNotificationEmailOp,
            )

            external_state(writes=("recipients",), retry=False)(VertexNotificationEmailOp)
            email = VertexNotificationEmailOp(recipients=list(alerts.emails))
            email.after(run).ignore_upstream_failure().set_caching_options(False)

    wrapped = dsl.pipeline(
        name=body.name,
        description=body.description,
        pipeline_root=body.pipeline_spec.default_pipeline_root or None,
        pipeline_config=body.pipeline_config,
    )(alerting_pipeline)
    wrapped.alerts_body, wrapped.alerts = body, alerts
    return wrapped
