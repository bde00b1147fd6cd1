"""In-process block throughput: execute and commit blocks of ETH or ERC-20 transfers.

What it measures, per crypto suite and workload: transactions per second
through the node's full single-node path minus the network —
admission to the pool (decode + signature check, once per transaction),
block selection, EVM execution (the Rust engine), receipts, Merkle roots, the
state commitment (LtHash) and one synced LMDB write transaction per block.
Transactions are signed before the clock starts, as a load generator would.

Admission goes through ``Node.submit_transaction`` one transaction at a time
(``--submit single``, the default), or through ``Node.submit_transactions`` one
block's worth at a time (``--submit batch``), which checks signatures on
``--verify-threads`` threads (default: one per CPU) before the pool admits the
transactions in order.

Run:  python bench/block_bench.py [--txs 20000] [--block 5000] [--suites ecdsa,sm]
                                  [--workloads eth,erc20] [--accounts 1000]
                                  [--submit single|batch] [--verify-threads N]
                                  [--funded-accounts N]

``--funded-accounts N`` (the scaling run) starts from a genesis that also funds N
keyless accounts with ETH and tokens of a genesis-deployed Token
(``baychain.bench.population``); the senders then pay recipients drawn at random
from those N accounts, so every transfer touches a cold account or balance slot.
Genesis is committed before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from baychain.bench.population import BENCH_TOKEN_ADDRESS, funded_addresses, population_alloc
from baychain.crypto import get_suite, keccak256
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, SM2_TX_TYPE
from baychain.node.chain import Chain, ProposedBlock
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.node.localnet.network_dir import merge_alloc
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Address

TOKEN_ARTIFACT = Path(__file__).resolve().parents[1] / "src/baychain/artifacts/Token.json"
CHAIN_ID = 20261


@dataclass(frozen=True)
class Result:
    suite: str
    workload: str
    txs: int
    admit_s: float
    seal_s: float

    @property
    def total_tps(self) -> float:
        return self.txs / (self.admit_s + self.seal_s)


def bench_keys(suite_name: str, count: int) -> list[bytes]:
    """Deterministic benchmark keys (not the dev keys: any count is allowed)."""
    return [
        (int.from_bytes(keccak256(b"bench" + i.to_bytes(4, "big")), "big") % (2**255) + 1)
        .to_bytes(32, "big")
        for i in range(count)
    ]


def token_code() -> tuple[bytes, bytes]:
    """(runtime code, creation code) of the committed ERC-20 artifact."""
    import json

    artifact = json.loads(TOKEN_ARTIFACT.read_text())
    return bytes.fromhex(artifact["deployedBytecode"][2:]), bytes.fromhex(artifact["bytecode"][2:])


def make_genesis(suite_name: str, senders: list[Address], token: Address, slot_of: int,
                 funded: int = 0) -> Genesis:
    suite = get_suite(suite_name)
    validator_key = bench_keys(suite_name, 1)[0]
    public_key = suite.public_key(validator_key)
    alloc = [(a, GenesisAccount(10**30)) for a in senders]
    if funded:
        alloc = list(merge_alloc(tuple(sorted(alloc)), population_alloc(
            funded, senders=senders, eth_balance=10**18, token_balance=10**30)))
    else:
        runtime, _ = token_code()
        token_storage = tuple(sorted(
            (int.from_bytes(keccak256(bytes(12) + s + slot_of.to_bytes(32, "big")), "big"),
             10**30)
            for s in senders
        ))
        alloc.append((token, GenesisAccount(0, 1, runtime, token_storage)))
    return Genesis(
        chain_id=CHAIN_ID, crypto=suite_name, hardfork="cancun", block_gas_limit=1_000_000_000,
        base_fee_per_gas=0, block_interval_ms=1000,
        validators=(Validator("bench", public_key, 1, suite.address(public_key)),),
        alloc=tuple(sorted(alloc)),
    )


def sign_all(suite_name: str, keys: list[bytes], txs_per_sender: int,
             build: Callable[[int, int], tuple[Address, bytes, int]]) -> list[bytes]:
    """Signed raw transactions, round-robin over senders (nonce-major order)."""
    suite = get_suite(suite_name)
    tx_type = SM2_TX_TYPE if suite_name == "sm" else DYNAMIC_FEE_TX_TYPE
    raws = []
    for nonce in range(txs_per_sender):
        for index, key in enumerate(keys):
            to, data, gas = build(index, nonce)
            unsigned = UnsignedTransaction(tx_type, CHAIN_ID, nonce, 0, 0, gas, to, 1 if not data
                                           else 0, data)
            raws.append(sign_transaction(unsigned, key, suite).raw)
    return raws


@dataclass(frozen=True)
class Workload:
    """A genesis and the signed transactions to run on it."""

    genesis: Genesis
    raws: list[bytes]
    per_sender: int


def prepare(suite_name: str, workload: str, total: int, accounts: int, slot_of: int,
            funded: int = 0) -> Workload:
    """Sign ``total`` ETH or ERC-20 transfers from ``accounts`` funded senders.

    With ``funded`` > 0 the recipients are drawn (seeded) from the population.
    """
    suite = get_suite(suite_name)
    keys = bench_keys(suite_name, accounts + 1)[1:]
    senders = [suite.address(suite.public_key(k)) for k in keys]
    token = BENCH_TOKEN_ADDRESS if funded else Address(b"\x70" * 20)
    per_sender = max(1, total // accounts)
    transfer_selector = keccak256(b"transfer(address,uint256)")[:4]
    population = funded_addresses(funded)
    draw = random.Random(0)

    def build(index: int, nonce: int) -> tuple[Address, bytes, int]:
        if population:
            recipient = population[draw.randrange(len(population))]
        else:
            recipient = senders[(index + 1) % len(senders)]
        if workload == "eth":
            return recipient, b"", 21_000
        data = transfer_selector + bytes(12) + recipient + (1).to_bytes(32, "big")
        return token, data, 100_000

    raws = sign_all(suite_name, keys, per_sender, build)
    return Workload(make_genesis(suite_name, senders, token, slot_of, funded), raws, per_sender)


def open_node(directory: Path, load: Workload, block_txs: int,
              verify_threads: int | None = None) -> Node:
    """A fresh node on ``load``'s genesis whose pool can hold all of its transactions."""
    chain = Chain.open(directory, load.genesis)
    config = MempoolConfig(max_pool_txs=len(load.raws) + 1, max_per_sender=load.per_sender + 1,
                           max_nonce_gap=load.per_sender + 1, max_pool_bytes=2**31)
    return Node(chain, config, load.genesis.validators[0].address, max_block_txs=block_txs,
                verify_threads=verify_threads)


def submit(node: Node, raws: list[bytes], mode: str) -> None:
    """Admit ``raws`` one by one or as one batch; stop the benchmark if any is refused."""
    if mode == "single":
        for raw in raws:
            node.submit_transaction(raw)
        return
    for outcome in node.submit_transactions(raws):
        if isinstance(outcome, Exception):
            raise SystemExit(f"benchmark transaction refused: {outcome}")


def check_block(proposed: ProposedBlock) -> None:
    """Stop the benchmark if any transaction was refused or reverted."""
    failed = [r for r in proposed.receipts if r.status != 1]
    if proposed.rejected or failed:
        raise SystemExit(f"benchmark transactions failed: {proposed.rejected[:1]} "
                         f"{len(failed)} reverted")


def run(suite_name: str, workload: str, total: int, block_txs: int, accounts: int,
        slot_of: int, mode: str = "single", verify_threads: int | None = None,
        funded: int = 0) -> Result:
    load = prepare(suite_name, workload, total, accounts, slot_of, funded)
    with tempfile.TemporaryDirectory(prefix="baychain-bench-") as directory:
        node = open_node(Path(directory), load, block_txs, verify_threads)
        chain = node.chain
        admit = seal = 0.0
        clock = 1_000
        for start in range(0, len(load.raws), block_txs):
            t0 = time.perf_counter()
            submit(node, load.raws[start:start + block_txs], mode)
            t1 = time.perf_counter()
            clock += 1_000
            proposed = node.seal_block(clock)
            t2 = time.perf_counter()
            admit += t1 - t0
            seal += t2 - t1
            check_block(proposed)
        committed = sum(len(chain.block_at(h).transactions) for h in range(1, chain.height + 1))
        node.close()
        chain.close()
    return Result(suite_name, workload, committed, admit, seal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--block", type=int, default=5_000)
    parser.add_argument("--accounts", type=int, default=1_000)
    parser.add_argument("--suites", default="ecdsa,sm")
    parser.add_argument("--workloads", default="eth,erc20")
    parser.add_argument("--token-balance-slot", type=int, default=3,
                        help="storage slot of Token.sol's balanceOf mapping (3)")
    parser.add_argument("--submit", choices=["single", "batch"], default="single",
                        help="admit one transaction per call, or a block's worth per call")
    parser.add_argument("--verify-threads", type=int, default=None,
                        help="signature-checking threads for --submit batch (default: CPUs)")
    parser.add_argument("--funded-accounts", type=int, default=0,
                        help="also fund N keyless accounts (ETH + genesis Token) and send to "
                             "random ones of them (the scaling run)")
    args = parser.parse_args()
    print(f"BayChain in-process block benchmark: {args.txs} txs, blocks of {args.block}, "
          f"{args.accounts} senders, submit {args.submit}"
          + (f" ({args.verify_threads or os.cpu_count()} verify threads)"
             if args.submit == "batch" else "")
          + (f", {args.funded_accounts:,} funded accounts" if args.funded_accounts else ""))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"Python {platform.python_version()}")
    print(f"{'suite':6} {'workload':8} {'txs':>7} {'admit tx/s':>11} {'seal tx/s':>10} "
          f"{'end-to-end tx/s':>16}")
    for suite_name in args.suites.split(","):
        for workload in args.workloads.split(","):
            r = run(suite_name, workload, args.txs, args.block, args.accounts,
                    args.token_balance_slot, args.submit, args.verify_threads,
                    args.funded_accounts)
            print(f"{r.suite:6} {r.workload:8} {r.txs:7d} {r.txs / r.admit_s:11,.0f} "
                  f"{r.txs / r.seal_s:10,.0f} {r.total_tps:16,.0f}", flush=True)


if __name__ == "__main__":
    main()
