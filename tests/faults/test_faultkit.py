"""The fault harness's own parts, without a network: the link proxy, ports, peers, figures."""

from __future__ import annotations

import importlib
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from baychain.node.localnet.processes import PORT_RANGE

FAULTS = Path(__file__).resolve().parents[2] / "bench" / "faults"


def _load(name: str) -> ModuleType:
    if str(FAULTS) not in sys.path:
        sys.path.insert(0, str(FAULTS))
    return importlib.import_module(name)


localnet = _load("faultkit.localnet")
load = _load("faultkit.load")
proxy = _load("faultkit.proxy")


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _roundtrip(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def _closed(sock: socket.socket) -> bool:
    """True when the other end closed (or reset) the connection."""
    try:
        return sock.recv(16) == b""
    except ConnectionResetError:
        return True


@pytest.mark.parametrize("mode", ["reset", "blackhole"])
def test_the_link_proxy_forwards_cuts_and_heals(echo_port: int, mode: str) -> None:
    listen = localnet.free_port_base(2)
    links = proxy.LinkProxy(
        {(0, 1): (listen, echo_port), (1, 0): (listen + 1, echo_port)}, mode=mode
    )
    links.start()
    try:
        assert _roundtrip(listen) == b"ping"
        open_before = socket.create_connection(("127.0.0.1", listen), timeout=5)
        open_before.sendall(b"a")
        assert open_before.recv(16) == b"a"

        links.cut(1, 0)  # either order names the link; both directions are cut
        open_before.settimeout(1.0)
        open_before.sendall(b"b")
        if mode == "reset":
            assert _closed(open_before)  # closed by the cut
        else:
            with pytest.raises(TimeoutError):
                open_before.recv(16)  # silently dropped
        open_before.close()
        with socket.create_connection(("127.0.0.1", listen + 1), timeout=5) as sock:
            sock.settimeout(1.0)
            sock.sendall(b"c")
            if mode == "reset":
                assert _closed(sock)
            else:
                with pytest.raises(TimeoutError):
                    sock.recv(16)

        links.heal_all()
        assert _roundtrip(listen + 1, b"again") == b"again"
        stats = links.stats()
        assert stats["0->1"]["connections"] >= 2
        assert stats["1->0"]["refused"] == 1
    finally:
        links.close()


def test_partition_cuts_exactly_the_links_between_groups(echo_port: int) -> None:
    base = localnet.free_port_base(12)
    ports = localnet.proxy_port_map(4, base)
    assert sorted(ports.values()) == list(range(base, base + 12))
    links = proxy.LinkProxy({pair: (port, echo_port) for pair, port in ports.items()})
    links.start()
    try:
        links.partition([0, 1, 2], [3])
        for (a, b), port in ports.items():
            crossing = 3 in (a, b)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.settimeout(2.0)
                sock.sendall(b"x")
                assert _closed(sock) is crossing, (a, b)
    finally:
        links.close()


def test_rewrite_peers_changes_only_the_peers(tmp_path: Path) -> None:
    from baychain.node.localnet.network_dir import render_network_config

    config = tmp_path / "node.toml"
    config.write_text(render_network_config("node0", 8545, 30300, ["127.0.0.1:30301"]))
    before = config.read_text()
    localnet.rewrite_peers(config, ["127.0.0.1:20001", "127.0.0.1:20002"])
    after = config.read_text()
    assert 'peers = ["127.0.0.1:20001", "127.0.0.1:20002"]' in after
    assert [line for line in before.splitlines() if not line.startswith("peers")] == [
        line for line in after.splitlines() if not line.startswith("peers")
    ]


def test_ports_are_below_the_ephemeral_range() -> None:
    base = localnet.free_port_base(20)
    assert PORT_RANGE[0] <= base and base + 20 <= PORT_RANGE[1] <= 32_768


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert load.percentile(values, 0.99) == 99.0
    assert load.percentile(values, 0.5) == 50.0
    assert load.percentile([3.0], 0.99) == 3.0
    assert load.percentile([], 0.99) is None
