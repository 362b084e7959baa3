"""Loopback stand-ins for cloud APIs, driven by the real client libraries in tests."""
