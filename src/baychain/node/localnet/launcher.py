"""Run a local network's node processes: start, wait for the first commit, stop.

``baychain up`` starts one ``python -m baychain node --dir DIR/nodeI`` process per
node of a :class:`~baychain.node.localnet.network_dir.NetworkLayout` (each in its own
session, so a Ctrl-C reaches only the launcher, which then stops the nodes in
order), records their pids in ``DIR/network.json`` and waits until every node
answers JSON-RPC and the chain commits a new block. ``baychain down`` reads
``network.json`` and stops the processes that are still those nodes.

The launcher is the I/O edge of a network: processes, signals, sockets and the
clock. How a node's height is read is injected (:data:`HeightProbe`), because the
node layer must not import the SDK that the command line uses for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from baychain.errors import LaunchError
from baychain.node.localnet.network_dir import (
    HOST,
    NETWORK_FILE,
    NetworkLayout,
    NodeEndpoints,
    node_name,
)
from baychain.node.localnet.processes import log_tail, port_free

__all__ = [
    "COMMIT_TIMEOUT_S",
    "STOP_TIMEOUT_S",
    "HeightProbe",
    "RecordedNode",
    "RunningNetwork",
    "check_ports_free",
    "check_ports_free_at",
    "down",
    "read_network_file",
    "running_pids",
    "start_network",
    "stdout_log",
]

HeightProbe = Callable[[str], "int | None"]
"""Given a node's JSON-RPC URL, its committed height, or None when it does not answer."""

COMMIT_TIMEOUT_S = 120.0
"""How long ``up`` waits for every node to answer and the chain to commit a block."""
STOP_TIMEOUT_S = 20.0
"""How long a node has to exit after SIGTERM before it is killed."""
_POLL_S = 0.2


def stdout_log(node: NodeEndpoints) -> Path:
    """Where a launched node's stdout and stderr go: DIR/nodeI/logs/stdout.log."""
    return node.directory / "logs" / "stdout.log"


def check_ports_free(layout: NetworkLayout) -> None:
    """Raise :class:`LaunchError` naming the first node port something already listens on."""
    for node in layout.nodes:
        for kind, port in (("JSON-RPC", node.rpc_port), ("p2p", node.p2p_port)):
            if not port_free(port):
                raise LaunchError(
                    f"{node.name}'s {kind} port {HOST}:{port} is in use; stop what listens "
                    f"there (`baychain down --dir {layout.directory}` if it is this network) "
                    "or choose other ports (--base-rpc-port / --base-p2p-port on a new --dir)"
                )


def check_ports_free_at(nodes: int, base_rpc_port: int, base_p2p_port: int) -> None:
    """Before creating a network: raise :class:`LaunchError` if one of its ports is taken."""
    for offset in range(nodes):
        for kind, port in (("JSON-RPC", base_rpc_port + offset), ("p2p", base_p2p_port + offset)):
            if 0 < port < 65_536 and not port_free(port):
                raise LaunchError(
                    f"{kind} port {HOST}:{port} (for {node_name(offset)}) is in use; stop what "
                    "listens there or choose other ports with --base-rpc-port / --base-p2p-port"
                )


@dataclass
class RunningNetwork:
    """The node processes ``start_network`` launched, by node name."""

    layout: NetworkLayout
    processes: dict[str, subprocess.Popen[bytes]]

    def pids(self) -> dict[str, int | None]:
        """Each node's pid, or None for a node whose process has exited."""
        return {
            name: (process.pid if process.poll() is None else None)
            for name, process in self.processes.items()
        }

    def write_network_file(self) -> None:
        """(Re)write DIR/network.json with the current pids."""
        write_network_file(self.layout, self.pids())

    def exited(self) -> list[NodeEndpoints]:
        """The nodes whose process has exited."""
        return [n for n in self.layout.nodes if self.processes[n.name].poll() is not None]

    def wait_until_committing(
        self,
        probe: HeightProbe,
        *,
        timeout_s: float = COMMIT_TIMEOUT_S,
        out: TextIO = sys.stdout,
    ) -> int:
        """Wait until every node answers and one commits a block after that; return its height.

        Raise :class:`LaunchError` when a node exits meanwhile (with its log's tail) or
        after ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        heights: dict[str, int | None] = {}
        reported = ""
        baseline: int | None = None
        while True:
            for node in self.exited():
                raise LaunchError(
                    f"{node.name} exited during start (status "
                    f"{self.processes[node.name].returncode}); the end of "
                    f"{stdout_log(node)}:\n{log_tail(stdout_log(node))}"
                )
            heights = {node.name: probe(node.rpc_url) for node in self.layout.nodes}
            answering = [h for h in heights.values() if h is not None]
            if baseline is None and len(answering) == len(heights):
                baseline = max(answering)
            if baseline is not None and answering and max(answering) > baseline:
                out.write(f"  block {max(answering)} committed\n")
                out.flush()
                return max(answering)
            message = (
                f"  waiting for JSON-RPC: {len(answering)}/{len(heights)} nodes answer"
                if baseline is None
                else f"  all {len(heights)} nodes answer; waiting for a block after {baseline}"
            )
            if message != reported:
                out.write(message + "\n")
                out.flush()
                reported = message
            if time.monotonic() > deadline:
                silent = [name for name, h in heights.items() if h is None]
                raise LaunchError(
                    f"the network did not commit a block within {timeout_s:.0f}s"
                    + (f" (not answering: {', '.join(silent)})" if silent else "")
                    + f"; see the logs in {self.layout.directory}/node*/logs/"
                )
            time.sleep(_POLL_S)

    def supervise(self, out: TextIO = sys.stdout, *, announce: str = "") -> int:
        """Run until Ctrl-C / SIGTERM (then stop every node) or until every node has exited.

        ``announce`` is printed once the stop signals are handled, so a Ctrl-C
        that follows it always stops the nodes. A node that exits on its own is
        reported with the end of its log; the others keep running. Return 0 after
        a requested stop, 1 when all nodes exited.
        """
        reported: set[str] = set()
        try:
            with stop_signals_raise():
                if announce:
                    out.write(announce + "\n")
                    out.flush()
                while True:
                    for node in self.exited():
                        if node.name not in reported:
                            reported.add(node.name)
                            status = self.processes[node.name].returncode
                            out.write(
                                f"{node.name} exited (status {status})"
                                f"; the end of {stdout_log(node)}:\n{log_tail(stdout_log(node))}\n"
                            )
                            out.flush()
                            self.write_network_file()
                    if len(reported) == len(self.processes):
                        out.write("every node has exited\n")
                        write_network_file(self.layout, {})
                        return 1
                    time.sleep(_POLL_S)
        except KeyboardInterrupt:
            out.write("\nstopping the network...\n")
            out.flush()
            self.stop(out=out)
            return 0

    def stop(self, timeout_s: float = STOP_TIMEOUT_S, out: TextIO = sys.stdout) -> None:
        """SIGTERM every live node, wait up to ``timeout_s``, SIGKILL the rest; report each."""
        live = {name: p for name, p in self.processes.items() if p.poll() is None}
        for process in live.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for name, process in live.items():
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
                out.write(f"  {name} stopped (pid {process.pid})\n")
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                out.write(
                    f"  {name} did not stop in {timeout_s:.0f}s: killed (pid {process.pid})\n"
                )
        out.flush()
        write_network_file(self.layout, {})


def start_network(
    layout: NetworkLayout,
    *,
    log_level: str = "INFO",
    python: str = sys.executable,
) -> RunningNetwork:
    """Check the ports, start every node (output to logs/stdout.log) and write network.json."""
    check_ports_free(layout)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        for node in layout.nodes:
            log = stdout_log(node)
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as sink:
                processes[node.name] = subprocess.Popen(
                    [
                        python,
                        "-m",
                        "baychain",
                        "node",
                        "--dir",
                        str(node.directory.resolve()),
                        "--log-level",
                        log_level,
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    env=environment,
                    start_new_session=True,
                )
    except OSError as error:
        RunningNetwork(layout, processes).stop(out=open(os.devnull, "w"))  # noqa: SIM115
        raise LaunchError(f"cannot start the node processes: {error}") from None
    network = RunningNetwork(layout, processes)
    network.write_network_file()
    return network


def write_network_file(layout: NetworkLayout, pids: dict[str, int | None]) -> None:
    """Write DIR/network.json with each node's pid (None when not running)."""
    _replace_json(layout.network_file, layout.document(pids))


@dataclass(frozen=True, slots=True)
class RecordedNode:
    """A node as DIR/network.json records it."""

    name: str
    pid: int | None
    """None when the launcher recorded it as not running."""
    directory: str


def read_network_file(directory: Path) -> tuple[dict[str, Any], list[RecordedNode]]:
    """DIR/network.json: the whole document and its nodes.

    Raise :class:`LaunchError` when there is none (nothing was started there) or
    it cannot be read.
    """
    path = directory / NETWORK_FILE
    try:
        document = json.loads(path.read_text())
        nodes = [
            RecordedNode(str(n["name"]), _pid(n.get("pid")), str(n["dir"]))
            for n in document["nodes"]
        ]
    except FileNotFoundError:
        raise LaunchError(
            f"no {NETWORK_FILE} in {directory}: nothing was started there by `baychain up`"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LaunchError(f"{path} is unreadable: {error}") from None
    return document, nodes


def _pid(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _replace_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``path`` atomically (scripts may read it while it changes)."""
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)


@dataclass(frozen=True, slots=True)
class StopReport:
    """What ``down`` did to one node."""

    name: str
    pid: int | None
    outcome: str
    """``"stopped"``, ``"killed"`` or ``"not running"``."""


def down(directory: Path, *, timeout_s: float = STOP_TIMEOUT_S) -> list[StopReport]:
    """Stop the nodes recorded in DIR/network.json that are still running.

    A pid is signalled only while ``/proc/PID/cmdline`` shows a ``baychain`` process
    for that node's directory, so a pid the system reused is never touched.
    """
    document, recorded = read_network_file(directory)
    ours: dict[str, int] = {}
    reports: list[StopReport] = []
    for node in recorded:
        if node.pid is not None and _is_node_process(node.pid, node.directory):
            with contextlib.suppress(ProcessLookupError):
                os.kill(node.pid, signal.SIGTERM)
            ours[node.name] = node.pid
        else:
            reports.append(StopReport(node.name, node.pid, "not running"))
    deadline = time.monotonic() + timeout_s
    for name, pid in ours.items():
        while _is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            reports.append(StopReport(name, pid, "killed"))
        else:
            reports.append(StopReport(name, pid, "stopped"))
    document["nodes"] = [dict(n, pid=None) for n in document["nodes"]]
    _replace_json(directory / NETWORK_FILE, document)
    order = {node.name: i for i, node in enumerate(recorded)}
    return sorted(reports, key=lambda r: order[r.name])


def running_pids(directory: Path) -> dict[str, int]:
    """The nodes of DIR/network.json whose recorded process is still running."""
    try:
        _, recorded = read_network_file(directory)
    except LaunchError:
        return {}
    return {
        node.name: node.pid
        for node in recorded
        if node.pid is not None and _is_node_process(node.pid, node.directory)
    }


def _is_node_process(pid: int, node_dir: str) -> bool:
    """True when ``pid`` is a live ``baychain`` process whose command line names ``node_dir``."""
    if not _is_alive(pid):
        return False
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [a.decode(errors="replace") for a in arguments]
    return any("baychain" in w for w in words) and str(Path(node_dir).resolve()) in words


def _is_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X")


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt like Ctrl-C does."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
