"""Free TCP ports on the loopback interface for test servers."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1; free again once this returns.

    Another process may grab it before our server binds, so servers started on it should retry on a
    bind failure rather than assume it is still free.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
