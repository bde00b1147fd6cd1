"""Throughput of the EVM engine on blocks of ERC-20 transfers, on one core.

Run: ``python3 bench/evm_bench.py [--txs N] [--rounds R]`` (from the repo root; it adds
``src`` to the import path itself). Needs the extension built (``pip install -e .``).

Each figure is transactions per second of one ``baychain._evm.run_transactions`` call running N
``transfer(to, value)`` calls, best of R rounds, against an in-memory dict state (so state
reads cost a dict lookup plus the Python call). "per core" divides by the process's CPU
time, so it holds on a machine shared with other work; "wall" divides by elapsed time.

Tokens:

- ``solidity``: ``src/baychain/artifacts/Token.json`` (solc 0.8 ERC-20: checked math, require
  strings, Transfer event), deployed through the engine by a create transaction.
- ``asm``: a hand-assembled minimal ERC-20 ``transfer`` (balance check, two SSTOREs, Transfer
  log, returns true), the floor of what a token transfer costs in the EVM.

Blocks:

- ``many senders``: N distinct funded senders, nonce 0 each (a busy public chain).
- ``one sender``: one sender with nonces 0..N-1 (a batch job).

"+ diffs" also reads every outcome's ``accounts``, ``storage`` and ``logs`` and merges the
block diff, which is what the node does with the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import sha3  # noqa: E402

from baychain import _evm  # noqa: E402
from baychain.execution.evm import BlockEnv, TxInput  # noqa: E402
from baychain.primitives import Address, Hash32  # noqa: E402

CHAIN_ID = 20_250
GWEI = 10**9
DEPLOYER = Address(bytes.fromhex("de91000000000000000000000000000000000001"))
COINBASE = Address(bytes.fromhex("c0ffee00000000000000000000000000000000c0"))
EMPTY_CODE_HASH = bytes(sha3.keccak_256(b"").digest())
TRANSFER = bytes.fromhex("a9059cbb")  # transfer(address,uint256)
TRANSFER_TOPIC = bytes(sha3.keccak_256(b"Transfer(address,address,uint256)").digest())


def keccak(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


class DictState:
    """An in-memory StateReader."""

    def __init__(self) -> None:
        self.accounts: dict[bytes, tuple[int, int, bytes]] = {}
        self.codes: dict[bytes, bytes] = {}
        self.slots: dict[tuple[bytes, int], int] = {}

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        return self.accounts.get(address)

    def code(self, code_hash: bytes) -> bytes:
        return self.codes[code_hash]

    def storage(self, address: bytes, slot: int) -> int:
        return self.slots.get((address, slot), 0)

    def block_hash(self, number: int) -> bytes:
        return bytes(32)

    def apply(self, outcomes: Sequence[_evm.TxOutcome]) -> None:
        accounts, storage = _evm.merge_diffs(outcomes)
        for address, balance, nonce, code_hash, code, destroyed in accounts:
            if destroyed:
                self.accounts.pop(address, None)
            if (balance, nonce, code_hash) != (0, 0, EMPTY_CODE_HASH):
                self.accounts[address] = (balance, nonce, code_hash)
            if code is not None:
                self.codes[code_hash] = code
        for address, slot, value in storage:
            self.slots[(address, slot)] = value


def assemble_token() -> tuple[bytes, int]:
    """(init code, balances mapping slot) of the hand-assembled token.

    Runtime: require selector == transfer; from = keccak(caller . 0); require
    balance[from] >= value; balance[from] -= value; balance[to] += value; LOG3 Transfer;
    return true. The init code credits 10**30 to the deployer, then returns the runtime.
    """
    ops = {
        "ADD": 0x01, "SUB": 0x03, "LT": 0x10, "EQ": 0x14, "SHR": 0x1C, "SHA3": 0x20,
        "CALLER": 0x33, "CALLDATALOAD": 0x35, "CODECOPY": 0x39, "MSTORE": 0x52, "SLOAD": 0x54,
        "SSTORE": 0x55, "JUMPI": 0x57, "JUMPDEST": 0x5B, "DUP1": 0x80, "DUP3": 0x82,
        "DUP4": 0x83, "SWAP1": 0x90, "LOG3": 0xA3, "RETURN": 0xF3, "REVERT": 0xFD,
    }  # fmt: skip

    def push(value: int, width: int = 0) -> bytes:
        width = width or max(1, (value.bit_length() + 7) // 8)
        return bytes([0x5F + width]) + value.to_bytes(width, "big")

    def code(*items: str | bytes) -> bytes:
        return b"".join(bytes([ops[i]]) if isinstance(i, str) else i for i in items)

    fail_at = 0  # patched below: the offset of the final JUMPDEST
    for _ in range(2):
        runtime = code(
            push(0), "CALLDATALOAD", push(0xE0), "SHR", push(0xA9059CBB), "EQ",
            push(0), "EQ", push(fail_at, 2), "JUMPI",       # revert unless transfer
            "CALLER", push(0), "MSTORE", push(0), push(32), "MSTORE",
            push(64), push(0), "SHA3",                    # [from_slot]
            "DUP1", "SLOAD",                              # [from_slot, from_bal]
            push(0x24), "CALLDATALOAD",                   # [.., amount]
            "DUP1", "DUP3", "LT", push(fail_at, 2), "JUMPI",
            "DUP1", "DUP3", "SUB", "DUP4", "SSTORE",      # balance[from] -= amount
            push(4), "CALLDATALOAD", push(0), "MSTORE",
            push(64), push(0), "SHA3",                    # [.., amount, to_slot]
            "DUP1", "SLOAD", "DUP3", "ADD", "SWAP1", "SSTORE",  # balance[to] += amount
            push(0), "MSTORE",                            # mem[0:32] = amount
            push(4), "CALLDATALOAD", "CALLER", bytes([0x7F]) + TRANSFER_TOPIC,
            push(32), push(0), "LOG3",
            push(1), push(0), "MSTORE", push(32), push(0), "RETURN",
            "JUMPDEST", push(0), "DUP1", "REVERT",
        )  # fmt: skip
        fail_at = len(runtime) - 5
    # Constructor: balance[caller] = 10**30; then CODECOPY the runtime and RETURN it.
    head_len = 0
    for _ in range(2):
        head = code(
            push(10**30), "CALLER", push(0), "MSTORE", push(0), push(32), "MSTORE",
            push(64), push(0), "SHA3", "SSTORE",
            push(len(runtime), 2), push(head_len, 2), push(0), "CODECOPY",
            push(len(runtime), 2), push(0), "RETURN",
        )  # fmt: skip
        head_len = len(head)
    return head + runtime, 0


def solidity_token() -> tuple[bytes, int] | None:
    """(init code with constructor arguments, balances slot) of Token.sol, if built."""
    path = ROOT / "src" / "baychain" / "artifacts" / "Token.json"
    if not path.exists():
        return None
    artifact = json.loads(path.read_text())

    def text(value: str) -> bytes:
        raw = value.encode()
        return len(raw).to_bytes(32, "big") + raw.ljust((len(raw) + 31) // 32 * 32, b"\0")

    name, symbol = text("Bench"), text("BEN")
    args = (96).to_bytes(32, "big") + (96 + len(name)).to_bytes(32, "big")
    args += (10**30).to_bytes(32, "big") + name + symbol
    return bytes.fromhex(artifact["bytecode"][2:]) + args, 3  # name, symbol, supply, balances


def env() -> BlockEnv:
    return BlockEnv(
        number=1,
        timestamp=1_700_000_000,
        coinbase=COINBASE,
        gas_limit=10**12,
        base_fee=GWEI,
        prevrandao=Hash32(bytes(32)),
        chain_id=CHAIN_ID,
        spec="cancun",
    )


def call(sender: bytes, to: bytes, nonce: int, data: bytes, gas: int = 100_000) -> TxInput:
    return TxInput(
        tx_type=2,
        caller=Address(sender),
        to=Address(to),
        value=0,
        data=data,
        gas_limit=gas,
        max_fee_per_gas=2 * GWEI,
        max_priority_fee_per_gas=GWEI,
        nonce=nonce,
        chain_id=CHAIN_ID,
    )


def deploy(state: DictState, init_code: bytes) -> bytes:
    create = TxInput(2, DEPLOYER, None, 0, init_code, 5_000_000, 2 * GWEI, GWEI, 0, (), CHAIN_ID)
    [outcome] = _evm.run_transactions(env(), [create], state)
    if not outcome.success or outcome.created_address is None:
        raise SystemExit(f"token deployment failed: {outcome!r} {outcome.output.hex()}")
    state.apply([outcome])
    return outcome.created_address


def transfer_block(
    state: DictState, token: bytes, balances_slot: int, n: int, many_senders: bool
) -> list[TxInput]:
    """Fund the senders (ether and tokens, written into state directly) and build N transfers."""
    txs = []
    for i in range(n):
        sender = (0x5E << 152 | (i if many_senders else 0)).to_bytes(20, "big")
        recipient = (0xBE << 152 | i).to_bytes(20, "big")
        state.accounts[sender] = (10**21, 0, EMPTY_CODE_HASH)
        slot = int.from_bytes(keccak(bytes(12) + sender + balances_slot.to_bytes(32, "big")))
        state.slots[(token, slot)] = 10**24
        data = TRANSFER + bytes(12) + recipient + (1000 + i).to_bytes(32, "big")
        txs.append(call(sender, token, 0 if many_senders else i, data))
    return txs


def timed(operation: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Best (CPU seconds, wall seconds) of ``rounds`` runs."""
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        cpu, wall = time.process_time(), time.perf_counter()
        operation()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall


def consume(outcomes: Sequence[_evm.TxOutcome]) -> None:
    for outcome in outcomes:
        _ = (outcome.accounts, outcome.storage, outcome.logs)
    _evm.merge_diffs(outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000, help="transfers per block")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, revm {_evm.REVM_VERSION}, {os.cpu_count()} cpus")
    print(f"{args.txs} ERC-20 transfers per run_transactions, best of {args.rounds}")
    tokens = {"solidity": solidity_token(), "asm": assemble_token()}
    for token_name, built in tokens.items():
        if built is None:
            print(f"{token_name:>8}: no artifact (run contracts/build.mjs)")
            continue
        init_code, balances_slot = built
        for many in (True, False):
            state = DictState()
            state.accounts[DEPLOYER] = (10**21, 0, EMPTY_CODE_HASH)
            token = deploy(state, init_code)
            txs = transfer_block(state, token, balances_slot, args.txs, many)
            outcomes = _evm.run_transactions(env(), txs, state)
            failed = [o for o in outcomes if not o.success]
            if failed:
                raise SystemExit(f"{len(failed)} transfers failed, first: {failed[0]!r}")
            gas = outcomes[0].gas_used

            def execute(txs: list[TxInput] = txs, state: DictState = state) -> object:
                return _evm.run_transactions(env(), txs, state)

            def execute_and_read(txs: list[TxInput] = txs, state: DictState = state) -> None:
                consume(_evm.run_transactions(env(), txs, state))

            label = f"{token_name:>8} {'many senders' if many else 'one sender':>12}"
            for what, operation in (("execute", execute), ("+ diffs", execute_and_read)):
                cpu, wall = timed(operation, args.rounds)
                print(
                    f"{label} {what:>7}: {args.txs / cpu:>9,.0f} tx/s per core, "
                    f"{args.txs / wall:>9,.0f} tx/s wall  ({gas} gas per transfer)"
                )


if __name__ == "__main__":
    main()
