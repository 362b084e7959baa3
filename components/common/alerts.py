"""Alerts: one message to the configured channels, and always one JSON log line.

    from components.common import alerts
    alerts.send(
        "keel-training failed",
        "validate-data: 1 of 40 expectations failed",
        severity="ERROR",
        fields={"run": "keel-training-20261201030000", "console": "https://console.cloud.google.com/..."},
        webhook_url="https://hooks.slack.com/services/T000/B000/XXXX",
    )

Channels:
- The log, always: one JSON line on stderr (whatever KEEL_LOG_FORMAT says) at the alert's
  severity, from logger `keel.alerts`, with the alert under `alert`. On Vertex AI, Cloud Logging
  parses it, so a log-based alerting policy can page on it, e.g. the filter
  `jsonPayload.logger="keel.alerts" AND severity>=ERROR`.
- A webhook, when a URL is given: a Slack or Google Chat incoming webhook, or any receiver of
  JSON. The payload format follows the URL's host (`hooks.slack.com`: slack, `chat.googleapis.com`:
  google-chat, any other: json) unless `webhook_format` names one.

Delivery is one POST bounded by `timeout_s`. Any failure is a WARNING log line, never an exception:
an alert never fails or stalls the run that sends it. A webhook URL carries its secret token, so
only its host is ever logged.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from components.common.errors import ParameterError
from components.common.logging import JsonFormatter, logger

SEVERITIES = ("ERROR", "WARNING", "INFO")
WEBHOOK_FORMATS = ("auto", "slack", "google-chat", "json")
DEFAULT_TIMEOUT_S = 10.0
ALERT_LOGGER = "keel.alerts"
_FORMAT_BY_HOST = {"hooks.slack.com": "slack", "chat.googleapis.com": "google-chat"}
_SLACK_MAX_FIELDS = 10  # Slack's limit per section block
_EMOJI = {"ERROR": ":red_circle:", "WARNING": ":warning:", "INFO": ":white_check_mark:"}


def webhook_host(url: str) -> str:
    """The host of a webhook URL: what messages name instead of the URL, which holds a secret."""
    return urlsplit(url).hostname or "(no host)"


def check_webhook(url: str, webhook_format: str = "auto") -> None:
    """ValueError unless `url` is an http(s) URL with a host and `webhook_format` a known format."""
    if webhook_format not in WEBHOOK_FORMATS:
        raise ParameterError(
            f"webhook format {webhook_format!r}: expected one of {', '.join(WEBHOOK_FORMATS)}"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ParameterError(
            f"webhook URL on host {webhook_host(url)}: expected an http(s):// URL with a host"
        )


def payload_format(url: str, webhook_format: str = "auto") -> str:
    """The payload format for `url`: `webhook_format` unless `auto`, else chosen by the URL's host."""
    if webhook_format != "auto":
        return webhook_format
    return _FORMAT_BY_HOST.get(webhook_host(url), "json")


def _plain(title: str, text: str, fields: Mapping[str, str]) -> str:
    lines = [title, text, *(f"{key}: {value}" for key, value in fields.items())]
    return "\n".join(line for line in lines if line)


def payload(
    title: str, text: str, severity: str, fields: Mapping[str, str], payload_kind: str
) -> dict[str, Any]:
    """The JSON body of one alert in `payload_kind` (slack, google-chat or json)."""
    if payload_kind == "slack":  # Block Kit, with `text` as the notification's fallback
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        ]
        if text:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        items = list(fields.items())
        for start in range(0, len(items), _SLACK_MAX_FIELDS):
            chunk = items[start : start + _SLACK_MAX_FIELDS]
            blocks.append(
                {
                    "type": "section",
                    "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"[:2000]} for k, v in chunk],
                }
            )
        return {"text": f"{_EMOJI.get(severity, '')} {title}".strip(), "blocks": blocks}
    if payload_kind == "google-chat":  # a card (cardsV2), with `text` as the notification's fallback
        widgets: list[dict[str, Any]] = [{"textParagraph": {"text": text}}] if text else []
        widgets += [{"decoratedText": {"topLabel": key, "text": value}} for key, value in fields.items()]
        card = {"header": {"title": title, "subtitle": severity}, "sections": [{"widgets": widgets}]}
        return {"text": title, "cardsV2": [{"cardId": "keel-alert", "card": card}]}
    return {"title": title, "text": text, "severity": severity, "fields": dict(fields)}


def log_line(title: str, text: str, severity: str, fields: Mapping[str, str]) -> None:
    """Write the alert as one JSON log line on stderr at `severity` (see the module docstring)."""
    record = logging.LogRecord(
        ALERT_LOGGER, logging.getLevelName(severity), __file__, 0, _plain(title, text, {}), (), None
    )
    record.json_fields = {
        "alert": {"title": title, "text": text, "severity": severity, "fields": dict(fields)}
    }
    sys.stderr.write(JsonFormatter().format(record) + "\n")
    sys.stderr.flush()


def post(url: str, body: dict[str, Any], timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """POST `body` as JSON to `url`; raises on a connection error, a timeout or a non-2xx answer."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json; charset=UTF-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310 - http(s) only
        answer.read()


def send(
    title: str,
    text: str = "",
    *,
    severity: str = "ERROR",
    fields: Mapping[str, Any] | None = None,
    webhook_url: str = "",
    webhook_format: str = "auto",
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> bool:
    """Log the alert as one JSON line and, with a `webhook_url`, post it there once.

    `severity` is ERROR, WARNING or INFO (anything else is logged as ERROR); `fields` are short
    key/value facts shown under the text (values turned into text). Returns True when the
    webhook accepted the message; never raises.
    """
    severity = severity.upper() if severity.upper() in SEVERITIES else "ERROR"
    facts = {str(key): str(value) for key, value in (fields or {}).items() if value not in ("", None)}
    log_line(title, text, severity, facts)
    if not webhook_url:
        return False
    host = webhook_host(webhook_url)
    try:
        check_webhook(webhook_url, webhook_format)
        post(
            webhook_url,
            payload(title, text, severity, facts, payload_format(webhook_url, webhook_format)),
            timeout_s,
        )
    except Exception as error:  # noqa: BLE001 - an alert never fails the run that sends it
        logger.warning(
            "alert %r not delivered to the webhook on %s: %s", title, host, _without(error, webhook_url)
        )
        return False
    logger.info("alert %r delivered to the webhook on %s", title, host)
    return True


def _without(error: Exception, secret: str) -> str:
    """An error's text with the webhook URL (and its path, which holds the token) left out."""
    path = urlsplit(secret).path
    text = str(error).replace(secret, "<webhook>")
    return text.replace(path, "/<token>") if len(path) > 1 else text
