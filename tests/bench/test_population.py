"""The benchmark population: deterministic addresses, and a genesis Token whose storage
matches Token.sol's layout (read back through eth_call on a node started from it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from evm_fixtures import load_artifact

from baychain.bench.population import (
    BENCH_TOKEN_ADDRESS,
    BENCH_TOKEN_NAME,
    BENCH_TOKEN_SYMBOL,
    funded_addresses,
    population_alloc,
    token_genesis_account,
)
from baychain.errors import ConfigError
from baychain.node.chain import Chain
from baychain.node.genesis import load_genesis
from baychain.node.host.datadir import make_dev_accounts
from baychain.node.localnet.network_dir import init_network_dir
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Address
from baychain.rpc.service import RpcService

TOKEN = load_artifact("Token")


class CallRig:
    """A node started from a network directory's genesis, answering eth_call in-process."""

    def __init__(self, directory: Path, senders: tuple[Address, ...] = ()) -> None:
        self.senders = senders
        genesis = load_genesis(directory / "node0" / "genesis.json")
        self.chain = Chain.open(directory / "node0" / "data", genesis)
        self.node = Node(self.chain, MempoolConfig(), genesis.validators[0].address)
        self.service = RpcService(self.node)

    def call(self, to: Address, function: str, *args: Any) -> Any:
        body = {"to": "0x" + to.hex(), "input": "0x" + TOKEN.call_data(function, *args).hex()}
        request = {"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [body, "latest"]}
        answer = json.loads(asyncio.run(self.service.handle(json.dumps(request), None)))
        (value,) = TOKEN.decode_output(function, bytes.fromhex(answer["result"][2:]))
        return value

    def close(self) -> None:
        self.service.close()
        self.node.close()
        self.chain.close()


@pytest.fixture(params=["ecdsa", "sm"])
def crypto(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BAYCHAIN_KEY_PASSWORD", "test")
    name: str = request.param
    return name


@pytest.fixture
def started(tmp_path: Path, crypto: str) -> Iterator[CallRig]:
    senders = tuple(account.address for account in make_dev_accounts(crypto, 2))
    alloc = population_alloc(50, senders=senders, eth_balance=7, token_balance=11, seed=3)
    init_network_dir(tmp_path / "net", nodes=1, crypto=crypto, dev_accounts=2, extra_alloc=alloc)
    rig = CallRig(tmp_path / "net", senders)
    yield rig
    rig.close()


def test_addresses_are_deterministic_distinct_and_seeded() -> None:
    first = funded_addresses(200, seed=5)
    assert first == funded_addresses(200, seed=5)
    assert funded_addresses(20, seed=5) == first[:20]
    assert len(set(first)) == 200 and all(len(address) == 20 for address in first)
    assert set(funded_addresses(200, seed=6)).isdisjoint(first)
    assert funded_addresses(0) == []


@pytest.mark.parametrize(("count", "seed"), [(-1, 0), (10_000_001, 0), (1, -1), (1, 2**64)])
def test_out_of_range_counts_and_seeds_are_refused(count: int, seed: int) -> None:
    with pytest.raises(ConfigError, match="population"):
        funded_addresses(count, seed)


def test_population_funds_every_address_and_the_senders_hold_tokens_only() -> None:
    senders = (Address(b"\x01" * 20),)
    alloc = dict(population_alloc(30, senders=senders, eth_balance=5, token_balance=9, seed=1))
    population = funded_addresses(30, seed=1)
    assert set(alloc) == set(population) | {BENCH_TOKEN_ADDRESS}
    assert all(alloc[address].balance == 5 for address in population)
    token = alloc[BENCH_TOKEN_ADDRESS]
    assert token.code == TOKEN.deployed_bytecode and token.nonce == 1
    assert dict(token.storage)[2] == 9 * 31  # totalSupply: 30 population + 1 sender
    assert list(
        dict(population_alloc(30, senders=senders, eth_balance=5, token_balance=9, seed=1))
    ) == sorted(alloc)


def test_started_node_reads_the_population_balances(started: CallRig) -> None:
    for holder in funded_addresses(50, seed=3)[::7] + list(started.senders):
        assert started.call(BENCH_TOKEN_ADDRESS, "balanceOf", holder) == 11
    assert started.call(BENCH_TOKEN_ADDRESS, "balanceOf", Address(b"\x02" * 20)) == 0
    assert started.call(BENCH_TOKEN_ADDRESS, "totalSupply") == 11 * 52
    assert started.call(BENCH_TOKEN_ADDRESS, "name") == BENCH_TOKEN_NAME
    assert started.call(BENCH_TOKEN_ADDRESS, "symbol") == BENCH_TOKEN_SYMBOL
    assert started.chain.account(funded_addresses(1, seed=3)[0]).balance == 7


def test_long_and_empty_names_use_solidity_string_storage(tmp_path: Path, crypto: str) -> None:
    name = "A token whose name is longer than thirty-one bytes, spanning three words!"
    holder = Address(b"\x05" * 20)
    token = token_genesis_account([(holder, 4)], name, "")
    token_address = Address(b"\x7a" * 20)
    init_network_dir(
        tmp_path / "net",
        nodes=1,
        crypto=crypto,
        dev_accounts=0,
        extra_alloc=((token_address, token),),
    )
    rig = CallRig(tmp_path / "net")
    try:
        assert rig.call(token_address, "name") == name
        assert rig.call(token_address, "symbol") == ""
        assert rig.call(token_address, "balanceOf", holder) == 4
    finally:
        rig.close()


def test_bad_holders_are_refused() -> None:
    holder = Address(b"\x05" * 20)
    with pytest.raises(ConfigError, match="appears twice"):
        token_genesis_account([(holder, 1), (holder, 2)], "T", "T")
    with pytest.raises(ConfigError, match="negative"):
        token_genesis_account([(holder, -1)], "T", "T")
    with pytest.raises(ConfigError, match="total supply"):
        token_genesis_account([(holder, 2**255), (Address(b"\x06" * 20), 2**255)], "T", "T")
    with pytest.raises(ConfigError, match="balances"):
        population_alloc(1, senders=(), eth_balance=2**256, token_balance=0)
