"""Workload planning (lanes, recipients, the mix, evidence digests) and deterministic signing.

Setup against a real node (deploys, token funding, gas estimates) runs in
tests/bench/test_command.py, where each workload is sent to a BayChain node.
"""

from __future__ import annotations

from collections import Counter

import pytest

from baychain.bench import workloads
from baychain.bench.errors import BenchError
from baychain.bench.workloads import (
    MIX_WEIGHTS,
    WORKLOADS,
    TxSpec,
    lane_lengths,
    plan_lanes,
)
from baychain.crypto import dev_private_keys, get_suite
from baychain.ledger.transactions import decode_transaction
from baychain.primitives import Address
from baychain.sdk import abi

SENDERS = [Address(bytes([i]) * 20) for i in range(1, 6)]
TOKEN = Address(b"\x70" * 20)
EVIDENCE = Address(b"\xe0" * 20)
SPECS = {
    "eth-transfer": TxSpec("eth-transfer", None, 0, b"", 21_000),
    "erc20-transfer": TxSpec("erc20-transfer", TOKEN, 0, b"", 60_000),
    "evidence": TxSpec("evidence", EVIDENCE, 0, b"", 200_000),
    "contract-deploy": TxSpec("contract-deploy", None, 0, b"\x60\x00", 600_000),
}


def decode_call(function: str, types: list[str], data: bytes) -> tuple[object, ...]:
    assert data[:4] == abi.selector(f"{function}({','.join(types)})")
    return abi.decode(types, data[4:])


def test_lane_lengths_spread_evenly_longest_first() -> None:
    assert lane_lengths(10, 4) == [3, 3, 2, 2]
    assert lane_lengths(3, 5) == [1, 1, 1, 0, 0]
    assert sum(lane_lengths(1_001, 7)) == 1_001
    with pytest.raises(BenchError, match="at least one sender"):
        lane_lengths(5, 0)


def test_plans_are_deterministic_per_seed() -> None:
    one = plan_lanes("mix", senders=SENDERS, txs=200, specs=SPECS, seed=7)
    two = plan_lanes("mix", senders=SENDERS, txs=200, specs=SPECS, seed=7)
    other = plan_lanes("mix", senders=SENDERS, txs=200, specs=SPECS, seed=8)
    assert one == two
    assert one != other


def test_transfers_go_to_another_sender_by_default() -> None:
    lanes = plan_lanes("eth-transfer", senders=SENDERS, txs=50, specs=SPECS)
    for index, lane in enumerate(lanes):
        assert len(lane) == 10
        for spec in lane:
            assert spec.to in SENDERS and spec.to != SENDERS[index]
            assert (spec.value, spec.gas_limit) == (1, 21_000)
        assert len({spec.to for spec in lane}) == len(SENDERS) - 1  # turns through the others


def test_a_lone_sender_pays_itself() -> None:
    (lane,) = plan_lanes("eth-transfer", senders=SENDERS[:1], txs=3, specs=SPECS)
    assert {spec.to for spec in lane} == {SENDERS[0]}


def test_recipients_from_a_population_are_drawn_with_the_seed() -> None:
    population = [Address(bytes([0xA0, i]) + bytes(18)) for i in range(100)]
    lanes = plan_lanes(
        "erc20-transfer", senders=SENDERS, txs=500, specs=SPECS, recipients=population, seed=3
    )
    recipients = set()
    for lane in lanes:
        for spec in lane:
            assert spec.to == TOKEN
            (to, amount) = decode_call("transfer", ["address", "uint256"], spec.data)
            assert amount == 1
            recipients.add(to)
    assert recipients <= set(population)
    assert len(recipients) > 90  # 500 seeded draws from 100 reach nearly all of them


def test_evidence_digests_are_distinct_and_metadata_is_short_json() -> None:
    lanes = plan_lanes("evidence", senders=SENDERS, txs=300, specs=SPECS, seed=1)
    digests = []
    for lane in lanes:
        for spec in lane:
            assert spec.to == EVIDENCE
            digest, metadata = decode_call("anchor", ["bytes32", "string"], spec.data)
            digests.append(digest)
            assert isinstance(metadata, str) and metadata.startswith("{") and len(metadata) < 80
    assert len(set(digests)) == 300
    again = plan_lanes("evidence", senders=SENDERS, txs=300, specs=SPECS, seed=2)
    assert again[0][0].data != lanes[0][0].data


def test_the_mix_follows_its_weights() -> None:
    lanes = plan_lanes("mix", senders=SENDERS, txs=4_000, specs=SPECS, seed=11)
    counts = Counter(spec.kind for lane in lanes for spec in lane)
    assert set(counts) == set(MIX_WEIGHTS)
    for kind, percent in MIX_WEIGHTS.items():
        assert abs(100 * counts[kind] / 4_000 - percent) < 3, (kind, counts)


def test_contract_deploys_carry_the_creation_code() -> None:
    lanes = plan_lanes("contract-deploy", senders=SENDERS, txs=5, specs=SPECS)
    assert all(spec.to is None and spec.data == b"\x60\x00" for lane in lanes for spec in lane)


def test_unknown_workload_is_refused() -> None:
    with pytest.raises(BenchError, match="unknown workload"):
        plan_lanes("nft-mint", senders=SENDERS, txs=1, specs=SPECS)
    assert "nft-mint" not in WORKLOADS


@pytest.mark.parametrize("suite_name", ["ecdsa", "sm"])
def test_signed_lanes_have_consecutive_nonces_and_the_suites_hash(suite_name: str) -> None:
    suite = get_suite(suite_name)
    key = dev_private_keys(suite_name, 1)[0]
    fees = workloads._Fees(3_000_000_000, 1_000_000_000)
    specs = plan_lanes("eth-transfer", senders=SENDERS[:2], txs=6, specs=SPECS)[0]
    signed = workloads._sign_lane((suite_name, key, 20261, 41, fees, specs))
    for offset, (tx, spec) in enumerate(zip(signed, specs, strict=True)):
        decoded = decode_transaction(tx.raw, suite, 20261)
        assert decoded.nonce == 41 + offset
        assert decoded.to == spec.to and decoded.max_fee_per_gas == 3_000_000_000
        assert tx.tx_hash == "0x" + decoded.hash.hex()


def test_signing_in_a_process_pool_gives_the_same_bytes() -> None:
    keys = dev_private_keys("ecdsa", 3)
    fees = workloads._Fees(0, 0)
    lanes = plan_lanes("eth-transfer", senders=SENDERS[:3], txs=30, specs=SPECS)
    tasks = [("ecdsa", keys[i], 1, 0, fees, lane) for i, lane in enumerate(lanes)]
    serial = workloads._sign_all(tasks, txs=30)
    pooled = workloads._sign_all(tasks, txs=workloads.SIGN_POOL_MIN_TXS)
    assert pooled == serial
