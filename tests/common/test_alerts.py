"""Alerts: the JSON log line, the webhook payloads, delivery to a loopback receiver, and no raise."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from components.common import alerts
from tests.fakes.vertex_api import FakeVertexAPI
from tests.fakes.webhook import TOKEN_PATH, WebhookReceiver

FIELDS = {"run": "keel-training-20261201", "failed tasks": "validate-data"}


@pytest.fixture
def receiver():
    with FakeVertexAPI() as api:
        yield WebhookReceiver(api)


def _alert_lines(err: str) -> list[dict]:
    entries = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [entry for entry in entries if entry.get("logger") == alerts.ALERT_LOGGER]


@pytest.mark.parametrize("severity", ["ERROR", "INFO"])
def test_always_one_json_log_line_at_the_alerts_severity(severity, capsys):
    # tests/conftest.py sets KEEL_LOG_FORMAT=text: the alert's line is JSON all the same
    assert (
        alerts.send("keel-training failed", "validate-data broke", severity=severity, fields=FIELDS) is False
    )
    (line,) = _alert_lines(capsys.readouterr().err)
    assert line["severity"] == severity
    assert line["message"] == "keel-training failed\nvalidate-data broke"
    assert line["alert"] == {
        "title": "keel-training failed",
        "text": "validate-data broke",
        "severity": severity,
        "fields": FIELDS,
    }


@pytest.mark.parametrize(
    ("url", "forced", "expected"),
    [
        ("https://hooks.slack.com/services/T/B/X", "auto", "slack"),
        ("https://chat.googleapis.com/v1/spaces/S/messages?key=K&token=T", "auto", "google-chat"),
        ("https://alerts.example.com/hook", "auto", "json"),
        ("https://alerts.example.com/hook", "slack", "slack"),  # e.g. a Slack-compatible receiver
        ("https://hooks.slack.com/services/T/B/X", "json", "json"),
    ],
)
def test_payload_format_follows_the_host_unless_forced(url, forced, expected):
    assert alerts.payload_format(url, forced) == expected


def test_slack_and_google_chat_payloads():
    slack = alerts.payload("keel-training failed", "Failed task: validate-data", "ERROR", FIELDS, "slack")
    assert slack["text"] == ":red_circle: keel-training failed"
    assert slack["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "keel-training failed"},
    }
    assert slack["blocks"][1]["text"] == {"type": "mrkdwn", "text": "Failed task: validate-data"}
    assert {"type": "mrkdwn", "text": "*failed tasks*\nvalidate-data"} in slack["blocks"][2]["fields"]

    chat = alerts.payload(
        "keel-training failed", "Failed task: validate-data", "ERROR", FIELDS, "google-chat"
    )
    card = chat["cardsV2"][0]["card"]
    assert chat["text"] == "keel-training failed" and card["header"]["subtitle"] == "ERROR"
    widgets = card["sections"][0]["widgets"]
    assert widgets[0] == {"textParagraph": {"text": "Failed task: validate-data"}}
    assert {"decoratedText": {"topLabel": "run", "text": "keel-training-20261201"}} in widgets

    assert alerts.payload("t", "x", "INFO", FIELDS, "json") == {
        "title": "t",
        "text": "x",
        "severity": "INFO",
        "fields": FIELDS,
    }


def test_delivers_one_message_to_the_webhook(receiver: WebhookReceiver, capsys, caplog):
    delivered = alerts.send(
        "keel-training failed", "boom", fields=FIELDS, webhook_url=receiver.url, webhook_format="slack"
    )
    assert delivered is True
    (message,) = receiver.messages
    assert message["blocks"][0]["text"]["text"] == "keel-training failed"
    assert "delivered to the webhook on 127.0.0.1" in caplog.text
    assert TOKEN_PATH not in caplog.text + capsys.readouterr().err  # the URL's token is never logged


def test_a_refusing_webhook_is_a_warning_without_the_token(caplog):
    with FakeVertexAPI() as api:
        refusing = WebhookReceiver(api, status=500)
        assert alerts.send("keel-training failed", webhook_url=refusing.url) is False
        assert len(refusing.messages) == 1
    (warning,) = [record for record in caplog.records if record.levelname == "WARNING"]
    assert "not delivered to the webhook on 127.0.0.1" in warning.getMessage()
    assert "500" in warning.getMessage() and "s3cr3t-t0ken" not in caplog.text


def test_an_unreachable_webhook_is_logged_not_raised(capsys, caplog):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once the socket closes
    assert alerts.send("keel-training failed", webhook_url=f"http://127.0.0.1:{port}{TOKEN_PATH}") is False
    (warning,) = [record for record in caplog.records if record.levelname == "WARNING"]
    assert "not delivered to the webhook on 127.0.0.1" in warning.getMessage()
    assert "Connection refused" in warning.getMessage() and "s3cr3t-t0ken" not in caplog.text
    assert len(_alert_lines(capsys.readouterr().err)) == 1  # the log line is written all the same


def test_a_webhook_that_never_answers_is_given_up_after_the_timeout(caplog):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        done = threading.Event()
        result = {}

        def call():
            url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
            result["delivered"] = alerts.send("keel-training failed", webhook_url=url, timeout_s=0.2)
            done.set()

        threading.Thread(target=call, daemon=True).start()
        assert done.wait(30), "send() did not give up on a silent webhook"
    assert result["delivered"] is False
    assert "timed out" in caplog.text


def test_bad_settings_are_refused_when_checked_and_logged_when_sending(caplog):
    with pytest.raises(ValueError, match="webhook format 'teams': expected one of auto, slack"):
        alerts.check_webhook("https://hooks.slack.com/x", "teams")
    with pytest.raises(ValueError, match="webhook URL on host .*: expected an http"):
        alerts.check_webhook("hooks.slack.com/services/x")
    assert alerts.send("t", webhook_url="ftp://example.com/x") is False
    assert "not delivered" in caplog.text
