"""Batch admission: parallel signature checks give exactly the one-by-one outcomes, in order."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from baychain.crypto import dev_private_keys
from baychain.errors import InvalidTransaction, TransactionRejected
from baychain.ledger.transactions import Transaction
from baychain.node.chain import Chain
from baychain.node.host.datadir import init_node_dir
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.node.pool.intake import ParallelIntake
from baychain.sdk.client import Signer

Outcome = Transaction | InvalidTransaction | TransactionRejected


def _batch(crypto: str, chain_id: int) -> list[bytes]:
    """Valid transfers interleaved with every kind of refusal, from two senders."""
    alice, bob = (Signer.from_key(crypto, key) for key in dev_private_keys(crypto, 2))
    raws = []
    for nonce in range(12):
        raws.append(alice.sign(chain_id=chain_id, nonce=nonce, to=bob.address, value=1,
                               gas_limit=21_000))
        raws.append(bob.sign(chain_id=chain_id, nonce=nonce, to=alice.address, value=2,
                             gas_limit=21_000))
    duplicate = raws[3]
    wrong_chain = alice.sign(chain_id=chain_id + 1, nonce=12, to=bob.address, gas_limit=21_000)
    same_nonce = bob.sign(chain_id=chain_id, nonce=0, to=alice.address, value=9,
                          gas_limit=21_000)
    too_high = alice.sign(chain_id=chain_id, nonce=500, to=bob.address, gas_limit=21_000)
    low_gas = alice.sign(chain_id=chain_id, nonce=12, to=bob.address, gas_limit=20_000)
    tampered = bytearray(raws[5])
    tampered[-3] ^= 0x01  # inside the signature
    return [
        *raws[:7], duplicate, b"\xc0", bytes(tampered), wrong_chain, *raws[7:],
        same_nonce, too_high, low_gas, b"\x02" + b"\x00" * 200_000,
    ]  # fmt: skip


def _describe(outcome: Outcome) -> tuple[str, object]:
    if isinstance(outcome, Transaction):
        return "pooled", outcome.hash
    return type(outcome).__name__, str(outcome)


def _one_by_one(node: Node, raws: list[bytes]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for raw in raws:
        try:
            outcomes.append(node.submit_transaction(raw))
        except (InvalidTransaction, TransactionRejected) as refusal:
            outcomes.append(refusal)
    return outcomes


@pytest.mark.parametrize("crypto", ["ecdsa", "sm"])
@pytest.mark.parametrize(("threads", "chunk_txs"), [(1, 128), (2, 1), (2, 4), (3, 7)])
def test_batch_outcomes_and_pool_equal_one_by_one(
    tmp_path: Path, crypto: str, threads: int, chunk_txs: int
) -> None:
    init = init_node_dir(tmp_path / "node", crypto=crypto, dev_accounts=2)
    raws = _batch(crypto, init.genesis.chain_id)
    nodes = []
    for name in ("single", "batch"):
        chain = Chain.open(tmp_path / name, init.genesis)
        nodes.append(Node(chain, MempoolConfig(), init.validator_address, verify_threads=threads))
    single, batch = nodes
    batch.intake = ParallelIntake(batch.mempool.decode_raws, threads, chunk_txs=chunk_txs)

    expected = _one_by_one(single, raws)
    got = batch.submit_transactions(raws)

    assert [_describe(o) for o in got] == [_describe(o) for o in expected]
    kinds = {type(o).__name__ for o in expected}
    # every kind of outcome occurs (the bad envelope and the tampered signature are
    # refused for suite-specific reasons)
    assert {"Transaction", "AlreadyKnown", "WrongChainId", "ReplacementUnderpriced",
            "NonceTooHigh", "IntrinsicGasTooLow", "TransactionTooLarge"} <= kinds  # fmt: skip
    assert len(kinds) == 9
    assert [tx.hash for tx in batch.mempool.pending_transactions()] == [
        tx.hash for tx in single.mempool.pending_transactions()
    ]
    assert single.seal_block(2_000).block_hash == batch.seal_block(2_000).block_hash
    for node in nodes:
        node.close()
        node.chain.close()


def _stand_in_check(raws: Sequence[bytes]) -> list[Transaction | InvalidTransaction]:
    """Refuses raws whose first byte is a multiple of 3; the others stand in for a decoding."""
    return [
        InvalidTransaction(f"refused {raw[0]}") if raw[0] % 3 == 0 else raw  # type: ignore[misc]
        for raw in raws
    ]


def test_check_all_keeps_order_and_restarts_after_close() -> None:
    intake = ParallelIntake(_stand_in_check, 2, chunk_txs=5)
    raws = [bytes([i]) for i in range(100)]
    for _ in range(2):
        outcomes = list(intake.check_all(raws))
        assert [o if isinstance(o, bytes) else str(o) for o in outcomes] == [
            f"refused {i}" if i % 3 == 0 else bytes([i]) for i in range(100)
        ]
        intake.close()


def test_check_all_hands_chunks_to_the_check() -> None:
    seen: list[int] = []

    def check(raws: Sequence[bytes]) -> list[Transaction | InvalidTransaction]:
        seen.append(len(raws))
        return _stand_in_check(raws)

    intake = ParallelIntake(check, 2, chunk_txs=8)
    assert len(list(intake.check_all([bytes([i]) for i in range(20)]))) == 20
    assert sorted(seen) == [4, 8, 8]
    seen.clear()
    assert len(list(intake.check_all([b"\x01"] * 8))) == 8  # one chunk: checked inline
    assert seen == [8]
    intake.close()


def test_an_unexpected_error_propagates() -> None:
    def check(raws: Sequence[bytes]) -> list[Transaction | InvalidTransaction]:
        raise RuntimeError("a bug, not bad input")

    intake = ParallelIntake(check, 2, chunk_txs=1)
    with pytest.raises(RuntimeError, match="a bug"):
        list(intake.check_all([b"\x01", b"\x02", b"\x03"]))
    intake.close()


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="threads"):
        ParallelIntake(_stand_in_check, 0)
    with pytest.raises(ValueError, match="chunk_txs"):
        ParallelIntake(_stand_in_check, 2, chunk_txs=0)


def test_several_threads_may_check_batches_at_once() -> None:
    intake = ParallelIntake(_stand_in_check, 2, chunk_txs=3)
    batches = [[bytes([(start + i) % 256]) for i in range(50)] for start in range(8)]
    with ThreadPoolExecutor(4) as callers:
        results = list(callers.map(lambda raws: list(intake.check_all(raws)), batches))
    for raws, outcomes in zip(batches, results, strict=True):
        assert [o if isinstance(o, bytes) else str(o) for o in outcomes] == [
            f"refused {raw[0]}" if raw[0] % 3 == 0 else raw for raw in raws
        ]
    intake.close()
