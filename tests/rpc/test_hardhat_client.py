"""Hardhat 2 against a real node process: examples/hardhat's own test, on `--network baychain`.

The example project compiles its contract with the WebAssembly solc from npm (no
compiler download), signs with the development mnemonic through Hardhat's local
accounts, and its mocha test deploys Notary, checks an event with chai matchers and
``queryFilter``, and a revert reason and a custom error. Needs Node.js and
``npm ci --prefix examples/hardhat`` (``scripts/setup`` runs it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from node_process import running_node

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "hardhat"
HARDHAT = PROJECT / "node_modules" / ".bin" / "hardhat"
TESTS_IN_PROJECT = 6

NODE_JS = shutil.which("node")
pytestmark = [
    pytest.mark.skipif(NODE_JS is None, reason="Node.js (`node`) is not installed"),
    pytest.mark.skipif(
        not HARDHAT.exists(),
        reason="Hardhat is not installed: run `npm ci --prefix examples/hardhat` "
        "(scripts/setup does it)",
    ),
]


def test_hardhat_project_tests_pass_on_a_baychain_node(tmp_path: Path) -> None:
    with running_node(tmp_path / "chain", dev_accounts=5) as node:
        env = dict(
            os.environ,
            BAYCHAIN_RPC_URL=node.http_url,
            BAYCHAIN_CHAIN_ID=str(node.chain_id),
            HARDHAT_DISABLE_TELEMETRY_PROMPT="true",
            NO_COLOR="1",
            FORCE_COLOR="0",
        )
        run = subprocess.run(
            [str(HARDHAT), "test", "--network", "baychain"],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )
        log = node.log_tail()
    report = f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}\nnode log:\n{log}"
    assert run.returncode == 0, report
    assert "(network: baychain)" in run.stdout, report
    assert re.search(rf"\b{TESTS_IN_PROJECT} passing\b", run.stdout), report
    assert "failing" not in run.stdout, report
