"""The public API of baychain.network is pinned by ``__all__`` (each module's too)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import baychain.network

MODULES = [
    "backoff",
    "config",
    "connection",
    "frames",
    "gossip",
    "handshake",
    "metrics",
    "pki",
    "scoring",
    "stream",
    "transport",
]


@pytest.mark.parametrize("module", ["", *MODULES])
def test_every_exported_name_exists(module: str) -> None:
    name = "baychain.network" + (f".{module}" if module else "")
    imported = importlib.import_module(name)
    assert imported.__all__ == sorted(imported.__all__, key=lambda n: (not n.isupper(), n))
    for exported in imported.__all__:
        assert hasattr(imported, exported), f"{name} exports missing {exported}"


def test_the_package_exports_what_the_node_wires() -> None:
    for needed in (
        "PeerManager",
        "TransportConfig",
        "PeerAddress",
        "NodeIdentity",
        "TlsCredentials",
        "MessageKind",
        "TransactionGossip",
    ):
        assert needed in baychain.network.__all__


def test_the_network_does_not_depend_on_consensus() -> None:
    # Peers are named by baychain.primitives.PeerId; the transport carries consensus
    # messages as opaque payloads and never imports the consensus package.
    package = Path(baychain.network.__file__).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            assert not any(n.startswith("baychain.consensus") for n in names), path.name
