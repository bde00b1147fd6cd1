"""Targets started for real: each answers JSON-RPC and newHeads, and leaves no process behind.

The Hardhat and Ganache tests use the bench's npm install (``ensure_peers`` into the
default peers folder, reused between runs) and are skipped when npm is missing.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest

from baychain.bench.errors import BenchError
from baychain.bench.peers import default_peers_dir, ensure_peers
from baychain.bench.target import (
    BayChainTarget,
    Endpoint,
    ExternalTarget,
    GanacheTarget,
    HardhatTarget,
    rpc_call,
)
from baychain.crypto import dev_private_keys, get_suite
from baychain.node.host.datadir import DEV_ACCOUNT_BALANCE_WEI

DEV_ACCOUNTS = 4


def dev_address(index: int) -> str:
    suite = get_suite("ecdsa")
    key = dev_private_keys("ecdsa", index + 1)[index]
    return "0x" + suite.address(suite.public_key(key)).hex()


async def next_head(ws_url: str, trigger: Callable[[], None], timeout_s: float = 20.0) -> Any:
    """Subscribe to newHeads, call ``trigger`` (which makes a block), return the first head."""
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url) as ws:
        await ws.send_str(
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            )
        )
        answer = json.loads(await asyncio.wait_for(ws.receive_str(), timeout_s))
        assert "result" in answer, answer
        trigger()
        while True:
            message = json.loads(await asyncio.wait_for(ws.receive_str(), timeout_s))
            if message.get("method") == "eth_subscription":
                return message["params"]["result"]


def gone(pids: tuple[int, ...]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def check_funded_and_streaming(endpoint: Endpoint, trigger: Callable[[], None]) -> None:
    url = endpoint.rpc_url
    assert int(rpc_call(url, "eth_chainId"), 16) == endpoint.manifest["chain_id"]
    for index in (0, DEV_ACCOUNTS - 1):
        balance = int(rpc_call(url, "eth_getBalance", dev_address(index), "latest"), 16)
        assert balance == DEV_ACCOUNT_BALANCE_WEI
    assert endpoint.ws_url is not None
    head = asyncio.run(next_head(endpoint.ws_url, trigger))
    assert int(head["number"], 16) >= 1
    assert endpoint.pids and all(psutil.pid_exists(pid) for pid in endpoint.pids)


def test_baychain_target_starts_a_solo_node_and_stops_it(tmp_path: Path) -> None:
    target = BayChainTarget(
        tmp_path / "net", dev_accounts=DEV_ACCOUNTS, block_interval_ms=200, out=io.StringIO()
    )
    try:
        endpoint = target.start()
        manifest = endpoint.manifest
        assert endpoint.name == "baychain"
        assert manifest["software"].startswith("BayChain ")
        assert manifest["node_count"] == 1 and manifest["consensus"] == "solo"
        assert manifest["crypto"] == "ecdsa" and manifest["block_interval_ms"] == 200
        assert manifest["block_gas_limit"] > 0 and manifest["dev_accounts"] == DEV_ACCOUNTS
        check_funded_and_streaming(endpoint, trigger=lambda: None)  # blocks come every 200 ms
        external = ExternalTarget(endpoint.rpc_url, endpoint.ws_url).start()
        assert external.pids == () and external.manifest["chain_id"] == manifest["chain_id"]
        assert external.manifest["software"] == manifest["client_version"]
    finally:
        target.stop()
    assert gone(endpoint.pids)
    target.stop()  # idempotent
    assert (tmp_path / "net" / "node0" / "logs").is_dir()  # kept for reading


def test_baychain_target_refuses_a_used_directory_and_bad_counts(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "something").write_text("")
    target = BayChainTarget(tmp_path / "net", dev_accounts=1, out=io.StringIO())
    with pytest.raises(BenchError, match=r"cannot create the BayChain network: .* not empty"):
        target.start()
    with pytest.raises(BenchError, match="dev_accounts must be between 0 and 1000"):
        BayChainTarget(tmp_path / "other", dev_accounts=1001)


def test_external_target_that_does_not_answer_is_a_bench_error() -> None:
    with pytest.raises(BenchError, match=r"on http://127\.0\.0\.1:9 failed"):
        ExternalTarget("http://127.0.0.1:9").start()


@pytest.fixture(scope="module")
def peers_dir() -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("Hardhat and Ganache are npm packages: node and npm are not installed")
    directory = default_peers_dir()
    ensure_peers(directory, ["hardhat", "ganache"], out=io.StringIO())
    return directory


@pytest.mark.parametrize(
    ("make", "chain_id", "mining"),
    [(HardhatTarget, 31337, "automine"), (GanacheTarget, 1337, "instamine (eager)")],
)
def test_peer_target_starts_funded_and_stops(
    peers_dir: Path, make: type[HardhatTarget | GanacheTarget], chain_id: int, mining: str
) -> None:
    target = make(peers_dir, dev_accounts=DEV_ACCOUNTS, out=io.StringIO())
    try:
        endpoint = target.start()
        manifest = endpoint.manifest
        assert manifest["chain_id"] == chain_id and manifest["mining"] == mining
        assert manifest["software"].split()[0] in ("Hardhat", "Ganache")
        assert manifest["block_gas_limit"] >= 30_000_000
        accounts = rpc_call(endpoint.rpc_url, "eth_accounts")
        assert [a.lower() for a in accounts] == [dev_address(i) for i in range(DEV_ACCOUNTS)]
        check_funded_and_streaming(endpoint, trigger=lambda: rpc_call(endpoint.rpc_url, "evm_mine"))
        run_dirs = list((peers_dir / "runs").glob(f"{endpoint.name}-*"))
        assert run_dirs
    finally:
        target.stop()
    assert gone(endpoint.pids)
    assert not any(d.exists() for d in run_dirs)
    target.stop()  # idempotent


def test_peer_target_without_the_install_says_so(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="hardhat is not installed in"):
        HardhatTarget(tmp_path, dev_accounts=1).start()


class MisconfiguredGanache(GanacheTarget):
    """Real Ganache given an option value it refuses, so it exits while starting."""

    def arguments(self, port: int) -> list[str]:
        return [*super().arguments(port), "--chain.hardfork", "no-such-fork"]


def test_peer_that_exits_during_start_is_a_bench_error_with_its_log(peers_dir: Path) -> None:
    target = MisconfiguredGanache(peers_dir, dev_accounts=1, out=io.StringIO())
    before = set((peers_dir / "runs").glob("ganache-*"))
    with pytest.raises(BenchError, match=r"Ganache exited during start \(status \d+\)") as error:
        target.start()
    assert "no-such-fork" in str(error.value)
    assert set((peers_dir / "runs").glob("ganache-*")) == before
    target.stop()
