"""An opt-in guard that refuses every network connection beyond loopback.

Tests switch it on (KEEL_NETWORK=loopback) so that no code path, in the test process or in the
subprocesses kfp.local starts, can reach the internet or the Google metadata server: such a
connection fails at once with `NetworkBlockedError` instead of hanging or leaking traffic.
"""

from __future__ import annotations

import ipaddress
import os
import socket

ENV_SWITCH = "KEEL_NETWORK"


class NetworkBlockedError(ConnectionRefusedError):
    """A connection beyond loopback was attempted while the guard was on."""


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and other local families
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: it would be resolved and leave the machine


def _guarded(connect):
    def guarded_connect(sock: socket.socket, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkBlockedError(
                f"network access beyond loopback is blocked ({ENV_SWITCH}): {address!r}"
            )
        return connect(sock, address)

    guarded_connect.keel_guard = True
    return guarded_connect


def _guarded_lookup(getaddrinfo):
    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback((host.decode() if isinstance(host, bytes) else host, 0)):
            raise NetworkBlockedError(f"name lookup beyond loopback is blocked ({ENV_SWITCH}): {host!r}")
        return getaddrinfo(host, *args, **kwargs)

    guarded_getaddrinfo.keel_guard = True
    return guarded_getaddrinfo


def install() -> None:
    """Refuse connections and name lookups beyond loopback here and in the processes started from here."""
    os.environ[ENV_SWITCH] = "loopback"
    # gRPC's C core opens its own sockets: send every channel to a closed loopback port instead.
    os.environ["grpc_proxy"] = "http://127.0.0.1:9"  # noqa: SIM112 - gRPC reads the lowercase names
    os.environ["no_grpc_proxy"] = "127.0.0.1,localhost,::1"  # noqa: SIM112
    if not getattr(socket.socket.connect, "keel_guard", False):
        socket.socket.connect = _guarded(socket.socket.connect)
        socket.socket.connect_ex = _guarded(socket.socket.connect_ex)
        socket.getaddrinfo = _guarded_lookup(socket.getaddrinfo)


def install_if_requested() -> None:
    if os.environ.get(ENV_SWITCH) == "loopback":
        install()
