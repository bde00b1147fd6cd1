"""The package surface of baychain.state: a map of submodules; the store's import stays light."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import baychain.state as state


def test_all_names_every_submodule_and_each_imports() -> None:
    on_disk = sorted(
        p.stem for p in Path(state.__file__).parent.glob("*.py") if p.stem != "__init__"
    )
    assert state.__all__ == on_disk == [
        "account", "chain_store", "commitment", "lthash", "store", "view", "writeset",
    ]  # fmt: skip
    for name in state.__all__:
        assert importlib.import_module(f"baychain.state.{name}") is getattr(state, name)


def test_importing_the_store_loads_nothing_of_the_ledger() -> None:
    code = (
        "import sys, baychain.state.store; print(sorted(m for m in sys.modules if 'baychain' in m))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == str(
        ["baychain", "baychain.errors", "baychain.state", "baychain.state.store"]
    )
