"""Free loopback ports for the servers the harness starts."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    # Racy by nature (the port is released before the server binds it), which is fine for one
    # harness starting one server at a time.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
