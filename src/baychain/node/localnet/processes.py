"""Helpers for the processes a local network or a benchmark runs on this machine.

Both :mod:`baychain.node.localnet.launcher` and :mod:`baychain.bench` start child
processes that listen on loopback ports and write a log; they ask here whether a
port is free and read the end of a log to show why a process died.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

from baychain.errors import ConfigError

__all__ = ["HOST", "PORT_RANGE", "free_port_base", "log_tail", "port_free"]

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


PORT_RANGE = (20_000, 32_000)
"""Where :func:`free_port_base` looks: below Linux's ephemeral range (32768-60999).

A port in that range, free while its node is down, can be handed out as the source port
of an outgoing connection (even one to itself, a TCP self-connect), and then the node
cannot listen there again when it restarts."""


def free_port_base(count: int, attempts: int = 200) -> int:
    """A ``base`` such that ``base .. base + count - 1`` are free on loopback right now,
    inside :data:`PORT_RANGE` (another program may still take one before it is bound)."""
    draw = random.Random()  # which free range is used decides nothing about the chain
    for _ in range(attempts):
        base = draw.randrange(PORT_RANGE[0], PORT_RANGE[1] - count)
        if all(port_free(port) for port in range(base, base + count)):
            return base
    raise ConfigError(f"found no {count} consecutive free loopback ports in {PORT_RANGE}")


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file (empty when there is none)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
