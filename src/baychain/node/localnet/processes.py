"""Helpers for the processes a local network or a benchmark runs on this machine.

Both :mod:`baychain.node.localnet.launcher` and :mod:`baychain.bench` start child
processes that listen on loopback ports and write a log; they ask here whether a
port is free and read the end of a log to show why a process died.
"""

from __future__ import annotations

import socket
from pathlib import Path

__all__ = ["HOST", "log_tail", "port_free"]

HOST = "127.0.0.1"
"""Every process a local network or a benchmark starts listens on loopback only."""


def port_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on ``host:port`` right now (another program may take it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # The node's listener sets SO_REUSEADDR too, so a port in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file (empty when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
