"""Committed data survives SIGKILL: a real node process is killed at random moments under load.

Each round starts ``baychain node`` on the same directory, feeds it signed
transfers over JSON-RPC, reads the blocks it reports as committed on stdout,
and kills it with SIGKILL after a random (seeded) delay. Between rounds the
store is opened here: it must open, pass the chain's consistency check (the
stored state reproduces the head's state root) and contain every block the
node reported, with the same hash.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from baychain.crypto import dev_private_keys
from baychain.node.chain import Chain
from baychain.node.genesis import load_genesis
from baychain.node.host.datadir import init_node_dir
from baychain.node.localnet.processes import free_port_base
from baychain.sdk.client import Client, Signer

ROUNDS = int(os.environ.get("BAYCHAIN_CRASH_ROUNDS", "50"))
COMMITTED = re.compile(r"committed height=(\d+) hash=0x([0-9a-f]{64})")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the ephemeral range."""
    return free_port_base(1)


class Load(threading.Thread):
    """Sends signed transfers from one dev account until stopped or the node dies."""

    def __init__(self, client: Client, signer: Signer, chain_id: int) -> None:
        super().__init__(daemon=True)
        self.client, self.signer, self.chain_id = client, signer, chain_id
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            nonce = self.client.nonce(self.signer.address)
            while not self.stopping.is_set():
                batch = [
                    self.signer.sign(
                        chain_id=self.chain_id,
                        nonce=nonce + i,
                        to=self.signer.address[::-1],
                        value=1,
                    )
                    for i in range(20)
                ]
                for raw in batch:
                    self.client.send_raw(raw)
                nonce += len(batch)
        except Exception:  # the node was killed mid-request: that is the point
            return


def start_node(directory: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "baychain.cli", "node", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def read_reports(
    process: subprocess.Popen[str], reported: dict[int, str], lines: list[str]
) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        match = COMMITTED.search(line)
        if match:
            reported[int(match.group(1))] = match.group(2)


def wait_until_up(client: Client, process: subprocess.Popen[str], lines: list[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("node exited at start:\n" + "".join(lines[-30:]))
        if client.is_up():
            return
        time.sleep(0.05)
    pytest.fail("node did not answer JSON-RPC within 60 s:\n" + "".join(lines[-30:]))


def test_sigkill_at_random_moments_loses_no_committed_block(tmp_path: Path) -> None:
    directory = tmp_path / "chain"
    port = free_port()
    init_node_dir(directory, crypto="ecdsa", dev_accounts=1, block_interval_ms=50, rpc_port=port)
    genesis = load_genesis(directory / "genesis.json")
    signer = Signer.from_key("ecdsa", dev_private_keys("ecdsa", 1)[0])
    client = Client(f"http://127.0.0.1:{port}", timeout_s=5)
    rng = random.Random(20261121)
    reported: dict[int, str] = {}
    for round_number in range(ROUNDS):
        lines: list[str] = []
        process = start_node(directory)
        reader = threading.Thread(target=read_reports, args=(process, reported, lines), daemon=True)
        reader.start()
        wait_until_up(client, process, lines)
        load = Load(client, signer, genesis.chain_id)
        load.start()
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        reader.join(timeout=10)
        load.stopping.set()
        load.join(timeout=10)

        chain = Chain.open(directory / "data", genesis)  # raises if inconsistent
        try:
            assert reported, f"round {round_number}: the node reported no committed block"
            highest = max(reported)
            assert chain.height >= highest, (
                f"round {round_number}: node reported block {highest} committed, "
                f"store head is {chain.height}"
            )
            for height, block_hash in reported.items():
                assert chain.block_hash_at(height).hex() == block_hash, (
                    f"round {round_number}: block {height} differs from what was reported"
                )
            # Reports of blocks past the head can't exist; the store may be ahead of the
            # last report (killed between commit and print). Adopt what the store holds.
            for height in range(highest + 1, chain.height + 1):
                reported[height] = chain.block_hash_at(height).hex()
        finally:
            chain.close()
    assert max(reported) > ROUNDS, "the node committed too few blocks for the test to mean much"
    blocks_with_txs = 0
    chain = Chain.open(directory / "data", genesis)
    try:
        blocks_with_txs = sum(
            1 for h in range(1, chain.height + 1) if chain.block_at(h).transactions
        )
    finally:
        chain.close()
    assert blocks_with_txs > ROUNDS // 2, "too few blocks carried load"
