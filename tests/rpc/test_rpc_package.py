"""The package surface of baychain.rpc: a map of submodules, and framing that stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import baychain.rpc as rpc


def test_all_names_every_submodule_and_each_imports() -> None:
    on_disk = sorted(p.stem for p in Path(rpc.__file__).parent.glob("*.py") if p.stem != "__init__")
    assert rpc.__all__ == on_disk == [
        "calls", "eth", "fees", "filters", "formatting", "jsonrpc", "limits", "logs", "native",
        "params", "resolve", "server", "service", "session", "subscriptions", "workers",
    ]  # fmt: skip
    for name in rpc.__all__:
        assert importlib.import_module(f"baychain.rpc.{name}") is getattr(rpc, name)


def test_importing_the_framing_loads_neither_aiohttp_nor_the_node() -> None:
    code = "import sys, baychain.rpc.jsonrpc; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "'aiohttp'" not in loaded.stdout
    assert "'baychain.node'" not in loaded.stdout
