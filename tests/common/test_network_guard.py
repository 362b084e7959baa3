import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.common.network_guard import NetworkBlockedError


def test_connections_beyond_loopback_fail_at_once():
    # Checked first, so that a missing guard fails here instead of attempting the connections below.
    assert getattr(socket.socket.connect, "keel_guard", False) and getattr(
        socket.getaddrinfo, "keel_guard", False
    )
    started = time.monotonic()
    for address in [("10.255.255.1", 80), ("169.254.169.254", 80), ("2001:db8::1", 443, 0, 0)]:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(NetworkBlockedError):
            sock.connect(address)
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("metadata.google.internal", 80)
    assert time.monotonic() - started < 1


def test_loopback_still_works():
    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hi")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import urllib.request

        with urllib.request.urlopen(f"http://localhost:{server.server_port}/", timeout=5) as answer:
            assert answer.read() == b"hi"
    finally:
        server.shutdown()


def test_guard_follows_into_subprocesses():
    code = (
        "import socket, components.common\n"
        "assert getattr(socket.socket.connect, 'keel_guard', False)\n"
        "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=30)\n"
        "except ConnectionRefusedError as e:\n    print(type(e).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "NetworkBlockedError", result.stderr


def test_grpc_channels_go_to_a_closed_loopback_proxy():
    import grpc

    assert getattr(socket.socket.connect, "keel_guard", False)  # the guard (and its gRPC proxy) is on
    channel = grpc.insecure_channel("aiplatform.googleapis.com:443")
    started = time.monotonic()
    with pytest.raises(grpc.FutureTimeoutError):
        grpc.channel_ready_future(channel).result(timeout=3)
    channel.close()
    assert time.monotonic() - started < 10
