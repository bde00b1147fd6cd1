"""ethers.js v6 against a real node process (tests/clients/ethers/ethers_flow.mjs).

The script deploys Token and Probe from the committed artifacts with an ethers
``Wallet`` on dev account 0, transfers, reads events by ``queryFilter``, by
``contract.on`` over HTTP (polling filters) and over a ``WebSocketProvider``
(``eth_subscribe``), and checks revert reasons and custom errors from ``staticCall``
and gas estimation. It prints ``ok: <step>`` per step and ``FAILED: <step>: ...`` on
the first failure. Needs Node.js and ``npm ci --prefix tests/clients/ethers``
(``scripts/setup`` runs it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from node_process import running_node

from baychain.crypto import dev_private_keys

CLIENT_DIR = Path(__file__).resolve().parents[1] / "clients" / "ethers"
STEPS = [
    "network",
    "deploy Token",
    "transfer and wait",
    "queryFilter (eth_getLogs)",
    "contract.on over HTTP (polling filters)",
    "WebSocketProvider subscriptions (newHeads, logs)",
    "deploy Probe",
    "staticCall revert reason",
    "staticCall custom error",
    "transaction revert reason (eth_estimateGas)",
]

NODE_JS = shutil.which("node")
pytestmark = [
    pytest.mark.skipif(NODE_JS is None, reason="Node.js (`node`) is not installed"),
    pytest.mark.skipif(
        not (CLIENT_DIR / "node_modules" / "ethers").is_dir(),
        reason="ethers.js is not installed: run `npm ci --prefix tests/clients/ethers` "
        "(scripts/setup does it)",
    ),
]


def test_ethers_deploys_transacts_and_reads_events_and_reverts(tmp_path: Path) -> None:
    assert NODE_JS is not None
    key = "0x" + dev_private_keys("ecdsa", 1)[0].hex()
    with running_node(tmp_path / "chain", dev_accounts=2) as node:
        run = subprocess.run(
            [NODE_JS, "ethers_flow.mjs", node.http_url, node.ws_url, key, str(node.chain_id)],
            cwd=CLIENT_DIR, capture_output=True, text=True, timeout=240, check=False,
        )
        log = node.log_tail()
    report = f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}\nnode log:\n{log}"
    assert run.returncode == 0, report
    lines = run.stdout.splitlines()
    passed = [line.removeprefix("ok: ") for line in lines if line.startswith("ok: ")]
    assert passed == STEPS, report
