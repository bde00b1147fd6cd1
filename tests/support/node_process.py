"""A real ``baychain node`` process on free loopback ports, for the real-client tests.

The client tests (web3.py, ethers.js, Hardhat) must talk to the node exactly as a
user's tools would: over a socket, to a separate process made by the command line.
:func:`running_node` does ``baychain init`` + ``baychain node`` in a temporary
directory, waits until JSON-RPC answers and stops the node (SIGTERM, then SIGKILL)
on exit, keeping its output so a failing test can show it.

The WebSocket endpoint is found from ``node.toml``: a ``[ws] port`` or an
``[rpc] ws_port`` key when the configuration has one, otherwise the JSON-RPC port
itself (the HTTP listener upgrading ``GET /`` to a WebSocket).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from baychain.node.localnet.processes import free_port_base

#: The chain id ``baychain init`` picks when none is given.
DEFAULT_CHAIN_ID = 20261
#: How long a node may take to answer its first JSON-RPC request.
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the ephemeral range."""
    return free_port_base(1)


@dataclass
class RunningNode:
    """A node process started by :func:`running_node` and where to reach it."""

    directory: Path
    process: subprocess.Popen[str]
    http_url: str
    ws_url: str
    chain_id: int
    output: list[str] = field(default_factory=list)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines the node printed (for failure messages)."""
        return "".join(self.output[-lines:])


def _answers_json_rpc(url: str) -> bool:
    body = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _ws_url(directory: Path, http_port: int) -> str:
    config = tomllib.loads((directory / "node.toml").read_text())
    port = config.get("ws", {}).get("port") or config.get("rpc", {}).get("ws_port") or http_port
    return f"ws://127.0.0.1:{port}"


def _collect(process: subprocess.Popen[str], sink: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        sink.append(line)


@contextmanager
def running_node(
    directory: Path,
    *,
    dev_accounts: int = 5,
    block_interval_ms: int = 200,
    crypto: str = "ecdsa",
) -> Iterator[RunningNode]:
    """Init a chain in ``directory`` (which must not exist), run its node, yield it.

    Raises RuntimeError (with the command's output) when ``init`` fails or the
    node does not answer JSON-RPC within ``STARTUP_TIMEOUT_S``.
    """
    http_port = free_port()
    made = subprocess.run(
        [sys.executable, "-m", "baychain", "init", "--dir", str(directory), "--crypto", crypto,
         "--dev-accounts", str(dev_accounts), "--block-interval-ms", str(block_interval_ms),
         "--rpc-port", str(http_port)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"baychain init failed:\n{made.stdout}\n{made.stderr}")
    process = subprocess.Popen(
        [sys.executable, "-m", "baychain", "node", "--dir", str(directory)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    node = RunningNode(
        directory=directory,
        process=process,
        http_url=f"http://127.0.0.1:{http_port}",
        ws_url=_ws_url(directory, http_port),
        chain_id=DEFAULT_CHAIN_ID,
    )
    threading.Thread(target=_collect, args=(process, node.output), daemon=True).start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers_json_rpc(node.http_url):
            if process.poll() is not None:
                raise RuntimeError("the node exited at start:\n" + node.log_tail())
            if time.monotonic() > deadline:
                raise RuntimeError("the node did not answer JSON-RPC in time:\n" + node.log_tail())
            time.sleep(0.1)
        yield node
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
