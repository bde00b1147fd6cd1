"""scripts/check_layers.py catches upward imports, between parts and inside node/.

A check that cannot fail is no check: each test builds a small fake ``baychain``
tree with a deliberate violation and sees the checker name it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_layers.py"


@pytest.fixture(scope="module")
def layers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_layers", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tree(root: Path, files: dict[str, str]) -> Path:
    """Write a fake ``baychain`` package under ``root``; return its directory."""
    package = root / "baychain"
    for name, text in {"__init__.py": "", "errors.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


HEALTHY_NODE = {
    "node/__init__.py": "from baychain.node.node import Node\nfrom baychain.node import chain\n",
    "node/genesis.py": "from baychain.errors import ConfigError\n",
    "node/chain.py": "from baychain.node.genesis import Genesis\n",
    "node/reads.py": "from baychain.node import chain\n",
    "node/pool/__init__.py": "",
    "node/pool/mempool.py": "from baychain.node.pool.config import MempoolConfig\n",
    "node/node.py": "from baychain.node.chain import Chain\nfrom baychain.node.pool import io\n",
    "node/solo/driver.py": "from baychain.node.node import Node\n",
    "node/bft/driver.py": "from baychain.node.solo.driver import wall_clock_ms\n",
    "node/host/assemble.py": "from baychain.node.bft.driver import BftDriver\n",
    "node/localnet/launcher.py": "import baychain.node.host.settings\n",
}


def test_the_real_tree_passes(layers: ModuleType) -> None:
    assert layers.check() == []


def test_a_healthy_fake_tree_passes(layers: ModuleType, tmp_path: Path) -> None:
    assert layers.check(tree(tmp_path, HEALTHY_NODE)) == []


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        # a lower part of node/ importing a higher one, in each import form
        ("node/genesis.py", "from baychain.node.chain import Chain\n", "node.genesis (rank 0"),
        ("node/pool/intake.py", "from baychain.node import node\n", "node.pool (rank 3"),
        ("node/chain.py", "import baychain.node.reads\n", "node.chain (rank 1"),
        ("node/node.py", "from baychain.node.bft.driver import BftDriver\n", "node.node (rank 4"),
        ("node/bft/sync.py", "from baychain.node.host import settings\n", "node.bft (rank 5"),
        ("node/host/status.py", "from baychain.node.localnet import launcher\n", "node.host"),
        # a part importing the package's face (a cycle in waiting)
        (
            "node/solo/driver.py",
            "from baychain.node import Node\n",
            "imports baychain.node (rank 8",
        ),
        # a new module nobody ranked
        ("node/mystery.py", "from baychain.node.chain import Chain\n", "part 'mystery' has no"),
        ("node/chain.py", "from baychain.node.mystery import x\n", "unranked node part 'mystery'"),
        # the top-level check is unchanged
        ("ledger/block.py", "from baychain.node.chain import Chain\n", "ledger (layer 2) imports"),
    ],
)
def test_an_upward_import_is_reported(
    layers: ModuleType, tmp_path: Path, path: str, source: str, expected: str
) -> None:
    problems = layers.check(tree(tmp_path, {**HEALTHY_NODE, path: source}))
    assert len(problems) == 1, problems
    assert path in problems[0] and expected in problems[0]
