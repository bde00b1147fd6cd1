"""A real local network the harness can break: start, kill -9, restart, read, stop.

:meth:`LocalNetwork.create` runs ``baychain up --detach`` on free loopback ports (the
same command a user types). With ``proxied=True`` the network directory is made
first (``init_network_dir``, what ``up`` itself calls), every node's ``[p2p] peers``
is rewritten to point at a :class:`~faultkit.proxy.LinkProxy` port per ordered pair
of nodes, and ``baychain up --detach`` then starts that directory.

Killed nodes are restarted with the launcher's command line
(``python -m baychain node --dir DIR/nodeI --log-level LEVEL``, new session, output
appended to ``logs/stdout.log``), and ``network.json`` is rewritten with the new pid so
``baychain down --dir DIR`` keeps working.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baychain.errors import BayChainError, ConfigError
from baychain.node.localnet import processes
from baychain.node.localnet.network_dir import init_network_dir
from baychain.sdk.client import Client
from faultkit.proxy import LinkProxy

ROOT = Path(__file__).resolve().parents[3]
"""The repository (bench/faults/faultkit/ is three levels down)."""
SRC = ROOT / "src"

WAIT_S = 120.0
"""Deadline of one wait for progress on a slow, shared machine."""
RPC_TIMEOUT_S = 5.0
"""Timeout of one JSON-RPC call made by the harness."""
LOG_LEVEL = "INFO"

RpcFailure = (OSError, urllib.error.URLError, http.client.HTTPException, ValueError, BayChainError)
"""What one JSON-RPC call to a node that is down, starting or overloaded may raise."""


class FaultCampaignError(Exception):
    """The campaign could not go on (a node would not start, a wait timed out)."""


def free_port_base(count: int) -> int:
    """A ``base`` with ``count`` free ports after it, below the ephemeral range
    (:func:`baychain.node.localnet.processes.free_port_base`)."""
    try:
        return processes.free_port_base(count)
    except ConfigError as error:
        raise FaultCampaignError(str(error)) from None


_source = SRC


def snapshot_sources(directory: Path) -> Path:
    """Copy ``src/`` to ``directory`` and run every later child (nodes, the launcher,
    the attacker) from the copy.

    A long campaign runs for many minutes against a working tree that others may be
    editing; a restart in the middle of someone's edit would fail for reasons that are
    no fault of the network. With a snapshot every process runs the same code.
    """
    global _source
    target = directory / "src"
    shutil.copytree(SRC, target, ignore=shutil.ignore_patterns("__pycache__"))
    _source = target
    return target


def environment() -> dict[str, str]:
    """The environment of every child: this checkout's sources (or their snapshot),
    unbuffered output."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_source), env.get("PYTHONPATH", "")]))
    env.pop("BAYCHAIN_KEY_PASSWORD", None)  # each node reads keys/password
    return env


def node_command(node_dir: Path, log_level: str = LOG_LEVEL) -> list[str]:
    """The command ``launcher.start_network`` runs for one node (kept identical)."""
    return [
        sys.executable,
        "-m",
        "baychain",
        "node",
        "--dir",
        str(node_dir.resolve()),
        "--log-level",
        log_level,
    ]


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> float:
    """Poll ``condition`` every 0.1 s; return the seconds it took; raise after ``timeout_s``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise FaultCampaignError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


@dataclass
class NodeHandle:
    """One node of the network as the harness sees it."""

    index: int
    directory: Path
    rpc_url: str
    p2p_port: int
    pid: int | None
    process: subprocess.Popen[bytes] | None = None
    """Set once the harness restarted it (then it is our child)."""
    up: bool = True

    @property
    def log(self) -> Path:
        """Where its output goes (the launcher's choice)."""
        return self.directory / "logs" / "stdout.log"


@dataclass
class LocalNetwork:
    """A running local network and the harness's handle on each node."""

    directory: Path
    nodes: list[NodeHandle]
    chain_id: int
    crypto: str
    dev_keys: list[bytes]
    proxy_ports: dict[tuple[int, int], int] = field(default_factory=dict)
    """(dialer, target) -> the proxy port the dialer uses for the target (proxied only)."""
    proxy: LinkProxy | None = None
    """The link proxy between the nodes (proxied only)."""

    # ----- creating and stopping -----------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        nodes: int = 4,
        dev_accounts: int = 8,
        proxied: bool = False,
        cut_mode: str = "reset",
        out: Callable[[str], None] = print,
    ) -> LocalNetwork:
        """Start a network in ``directory`` (which must not exist yet) on free ports.

        With ``proxied``, node i dials node j through a :class:`LinkProxy` port
        (:func:`proxy_port_map`), which is started before the nodes and kept in
        :attr:`proxy`.
        """
        links = nodes * (nodes - 1) if proxied else 0
        base = free_port_base(2 * nodes + links)  # JSON-RPC, p2p, then the proxy's ports
        rpc_base, p2p_base = base, base + nodes
        arguments = ["--dir", str(directory), "--detach", "--timeout", str(WAIT_S)]
        proxy_ports: dict[tuple[int, int], int] = {}
        proxy: LinkProxy | None = None
        if proxied:
            init_network_dir(
                directory,
                nodes=nodes,
                crypto="ecdsa",
                dev_accounts=dev_accounts,
                base_rpc_port=rpc_base,
                base_p2p_port=p2p_base,
            )
            proxy_ports = proxy_port_map(nodes, base + 2 * nodes)
            proxy = LinkProxy(
                {pair: (port, p2p_base + pair[1]) for pair, port in proxy_ports.items()},
                mode=cut_mode,
            )
            proxy.start()
            for i in range(nodes):
                peers = [f"127.0.0.1:{proxy_ports[(i, j)]}" for j in range(nodes) if j != i]
                rewrite_peers(directory / f"node{i}" / "node.toml", peers)
        else:
            arguments += [
                "--nodes", str(nodes), "--dev-accounts", str(dev_accounts),
                "--base-rpc-port", str(rpc_base), "--base-p2p-port", str(p2p_base),
            ]  # fmt: skip
        out(f"starting a {nodes}-node network in {directory} (baychain up --detach)")
        started = subprocess.run(
            [sys.executable, "-m", "baychain", "up", *arguments],
            capture_output=True,
            text=True,
            timeout=WAIT_S + 120,
            check=False,
            env=environment(),
        )
        if started.returncode != 0:
            with contextlib.suppress(Exception):
                _down(directory)
            if proxy is not None:
                proxy.close()
            raise FaultCampaignError(
                f"baychain up failed ({started.returncode}):\n{started.stdout}\n{started.stderr}"
            )
        net = cls.attach(directory, proxy_ports=proxy_ports)
        net.proxy = proxy
        return net

    @classmethod
    def attach(
        cls, directory: Path, *, proxy_ports: dict[tuple[int, int], int] | None = None
    ) -> LocalNetwork:
        """The handle of a running network, from its ``network.json``."""
        document = json.loads((directory / "network.json").read_text())
        handles = [
            NodeHandle(
                index=i,
                directory=Path(entry["dir"]),
                rpc_url=entry["rpc"],
                p2p_port=int(entry["p2p"].rsplit(":", 1)[1]),
                pid=entry["pid"],
            )
            for i, entry in enumerate(document["nodes"])
        ]
        return cls(
            directory=directory,
            nodes=handles,
            chain_id=int(document["chain_id"]),
            crypto=str(document["crypto"]),
            dev_keys=[bytes.fromhex(a["private_key"][2:]) for a in document["dev_accounts"]],
            proxy_ports=dict(proxy_ports or {}),
        )

    def stop(self) -> None:
        """``baychain down --dir``, then make sure every child the harness started is gone."""
        with contextlib.suppress(Exception):
            _down(self.directory)
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.kill()
            if node.process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(timeout=30)
        if self.proxy is not None:
            self.proxy.close()

    # ----- reading -------------------------------------------------------------------

    def client(self, index: int, timeout_s: float = RPC_TIMEOUT_S) -> Client:
        """A fresh JSON-RPC client of node ``index`` (clients are cheap; one per thread)."""
        return Client(self.nodes[index].rpc_url, timeout_s=timeout_s)

    def height(self, index: int) -> int | None:
        """Node ``index``'s committed height, or None when it does not answer."""
        try:
            return self.client(index, 3.0).block_number()
        except RpcFailure:
            return None

    def heights(self, indexes: Sequence[int] | None = None) -> dict[int, int | None]:
        """The height of each node (all by default)."""
        chosen = range(len(self.nodes)) if indexes is None else indexes
        return {i: self.height(i) for i in chosen}

    def live(self) -> list[int]:
        """The nodes the harness has not taken down."""
        return [node.index for node in self.nodes if node.up]

    def stable_height(self, indexes: Sequence[int], settle_s: float = 1.5) -> int:
        """The height ``indexes`` agree on and keep for ``settle_s`` (in-flight votes land)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            heights = {self.height(i) for i in indexes}
            if len(heights) == 1 and None not in heights:
                [height] = heights
                time.sleep(settle_s)
                if {self.height(i) for i in indexes} == {height}:
                    assert height is not None
                    return height
            time.sleep(0.2)
        raise FaultCampaignError(f"nodes {list(indexes)} did not settle on a height")

    def wait_for_height(self, index: int, target: int, timeout_s: float = WAIT_S) -> float:
        """Wait until node ``index`` reaches ``target``; return the seconds it took."""
        return wait_for(
            lambda: (self.height(index) or -1) >= target,
            f"node{index} to reach height {target}",
            timeout_s,
        )

    def top(self, indexes: Sequence[int] | None = None) -> int:
        """The highest height any of ``indexes`` (default: live nodes) reports."""
        chosen = self.live() if indexes is None else indexes
        return max((h for h in self.heights(chosen).values() if h is not None), default=0)

    # ----- breaking ------------------------------------------------------------------

    def kill(self, index: int, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` to node ``index`` and wait until its process is gone."""
        node = self.nodes[index]
        node.up = False
        if node.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, signum)
        deadline = time.monotonic() + 20.0
        while self._alive(node):
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(node.pid, signal.SIGKILL)
                deadline = time.monotonic() + WAIT_S
            time.sleep(0.05)
        node.pid = None
        self._write_pids()

    def restart(self, index: int, *, wait_rpc: bool = True) -> float:
        """Start node ``index`` again with the launcher's command; return the start time.

        With ``wait_rpc``, wait until it answers JSON-RPC.
        """
        node = self.nodes[index]
        if node.up and node.pid is not None:
            raise FaultCampaignError(f"node{index} is already running")
        started = time.monotonic()
        with node.log.open("ab") as sink:
            node.process = subprocess.Popen(
                node_command(node.directory),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=environment(),
                start_new_session=True,
            )
        node.pid = node.process.pid
        node.up = True
        self._write_pids()
        if wait_rpc:
            wait_for(
                lambda: self.height(index) is not None or node.process.poll() is not None,  # type: ignore[union-attr]
                f"node{index} to answer JSON-RPC",
            )
            if node.process.poll() is not None:
                raise FaultCampaignError(
                    f"node{index} exited on restart ({node.process.returncode}); see {node.log}"
                )
        return started

    def _alive(self, node: NodeHandle) -> bool:
        if node.process is not None and node.process.pid == node.pid:
            return node.process.poll() is None
        try:
            stat = Path(f"/proc/{node.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")

    def _write_pids(self) -> None:
        """Keep network.json's pids current (``baychain down`` reads them)."""
        path = self.directory / "network.json"
        document: dict[str, Any] = json.loads(path.read_text())
        for entry, node in zip(document["nodes"], self.nodes, strict=True):
            entry["pid"] = node.pid
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n")
        temporary.replace(path)

    def log_tails(self, lines: int = 12) -> str:
        """The end of every node's log (for failure messages)."""
        parts = []
        for node in self.nodes:
            try:
                text = "\n".join(node.log.read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                text = ""
            parts.append(f"== node{node.index}\n{text}")
        return "\n".join(parts)


def proxy_port_map(nodes: int, base: int) -> dict[tuple[int, int], int]:
    """(dialer, target) -> proxy port: ``base + dialer * (nodes - 1) + slot``."""
    ports: dict[tuple[int, int], int] = {}
    for i in range(nodes):
        slot = 0
        for j in range(nodes):
            if j != i:
                ports[(i, j)] = base + i * (nodes - 1) + slot
                slot += 1
    return ports


_PEERS_LINE = re.compile(r"^peers\s*=\s*\[[^\]]*\]", re.MULTILINE)


def rewrite_peers(node_toml: Path, peers: list[str]) -> None:
    """Replace ``[p2p] peers`` in ``node_toml`` (the rest of the file stays as it was)."""
    text = node_toml.read_text()
    rendered = "peers = [" + ", ".join(f'"{p}"' for p in peers) + "]"
    new_text, count = _PEERS_LINE.subn(rendered, text, count=1)
    if count != 1 or tomllib.loads(new_text).get("p2p", {}).get("peers") != peers:
        raise FaultCampaignError(f"cannot rewrite [p2p] peers in {node_toml}")
    node_toml.write_text(new_text)


def _down(directory: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "baychain", "down", "--dir", str(directory), "--timeout", "15"],
        capture_output=True,
        timeout=120,
        check=False,
        env=environment(),
    )
