"""The package surface of baychain.node: the core names, pinned, and a face that stays light."""

from __future__ import annotations

import subprocess
import sys

import baychain.node as node


def test_public_names_are_pinned_and_importable() -> None:
    assert node.__all__ == [
        "Chain", "ChainReads", "Genesis", "GenesisAccount", "Mempool", "MempoolConfig", "Node",
        "ProposedBlock", "load_genesis",
    ]  # fmt: skip
    for name in node.__all__:
        assert getattr(node, name) is not None


def test_the_face_does_not_start_the_network_stack() -> None:
    # Drivers, host and localnet are imported from their subpackages, not by the face.
    code = "import sys, baychain.node; print(sorted(m for m in sys.modules if 'network' in m))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
