"""An incoming-webhook receiver (Slack, Google Chat or any JSON) on a loopback fake's server.

    with FakeVertexAPI() as api:
        receiver = WebhookReceiver(api)
        alerts.send("it failed", webhook_url=receiver.url, webhook_format="slack")
        receiver.messages  # [{"text": ..., "blocks": [...]}]

Each POST to `url` is answered `status` (200 unless set) and its JSON body kept in `messages`, as
an incoming webhook would; `url` has a token in its path, like a real webhook URL.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.vertex_api import FakeVertexAPI, RecordedRequest

TOKEN_PATH = "/services/T0KEEL/B0KEEL/s3cr3t-t0ken"


class WebhookReceiver:
    def __init__(self, api: FakeVertexAPI, status: int = 200) -> None:
        self.status = status
        self.url = f"{api.endpoint}{TOKEN_PATH}"
        self.messages: list[Any] = []
        api.add_route("POST", TOKEN_PATH, self._receive)

    def _receive(self, request: RecordedRequest) -> tuple[int, Any]:
        self.messages.append(request.body)
        return self.status, None if self.status < 300 else {"error": "refused"}
