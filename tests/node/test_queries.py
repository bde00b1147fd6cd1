"""ChainReads: indexed log search agrees with a full scan; blocks, proofs and the block cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from evm_fixtures import create_address, load_artifact
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.crypto import dev_private_keys
from baychain.ledger.log import Log
from baychain.ledger.merkle import verify_proof
from baychain.ledger.receipt import encode_receipt
from baychain.node.chain import Chain
from baychain.node.host.datadir import init_node_dir
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.node.reads import ChainReads, LogFilter
from baychain.primitives import Address, Hash32
from baychain.sdk.client import Signer

TOKEN = load_artifact("Token")
TRANSFER = Hash32(TOKEN.event_topic("Transfer"))
APPROVAL = Hash32(TOKEN.event_topic("Approval"))


class History:
    """Two tokens, three accounts and eight blocks of transfers and approvals."""

    def __init__(self, directory: Path) -> None:
        result = init_node_dir(directory, crypto="ecdsa", dev_accounts=3)
        self.chain = Chain.open(directory / "data", result.genesis)
        self.node = Node(self.chain, MempoolConfig(), result.validator_address)
        self.queries = ChainReads(self.chain, cache_size=2)
        keys = dev_private_keys("ecdsa", 3)
        self.signers = [Signer.from_key("ecdsa", key) for key in keys]
        self.accounts = [signer.address for signer in self.signers]
        self.nonce = 0
        alice = self.signers[0]
        self.tokens = [Address(create_address(alice.address, n)) for n in (0, 1)]
        self.send(TOKEN.deploy_data("A", "A", 10**6), None)
        self.send(TOKEN.deploy_data("B", "B", 10**6), None)
        self.seal(1)
        for height in range(2, 9):
            for step in range(height % 3 + 1):
                token = self.tokens[(height + step) % 2]
                to = self.accounts[(height * step) % 3]
                if step == 2:
                    self.send(TOKEN.call_data("approve", to, height), token)
                else:
                    self.send(TOKEN.call_data("transfer", to, height + step), token)
            self.seal(height)

    def send(self, data: bytes, to: Address | None) -> None:
        raw = self.signers[0].sign(chain_id=self.chain.chain_id, nonce=self.nonce, to=to,
                                   data=data, gas_limit=2_000_000)
        self.node.submit_transaction(raw)
        self.nonce += 1

    def seal(self, height: int) -> None:
        self.node.seal_block(1_000_000 + height * 1_000)

    def topic_pool(self) -> list[Hash32]:
        padded = [Hash32(bytes(12) + account) for account in self.accounts]
        return [TRANSFER, APPROVAL, Hash32(b"\x07" * 32), *padded]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    made = History(tmp_path_factory.mktemp("queries") / "chain")
    yield made
    made.node.close()
    made.chain.close()


def test_log_filters_match_as_eth_get_logs_specifies() -> None:
    a, b = Address(b"\x0a" * 20), Address(b"\x0b" * 20)
    t1, t2, t3 = (Hash32(bytes([n]) * 32) for n in (1, 2, 3))
    log = Log(address=a, topics=(t1, t2), data=b"")
    assert LogFilter().matches(log)
    assert LogFilter(addresses=frozenset({a, b})).matches(log)
    assert not LogFilter(addresses=frozenset({b})).matches(log)
    assert LogFilter(topics=(frozenset({t1}),)).matches(log)
    assert LogFilter(topics=(None, frozenset({t3, t2}))).matches(log)
    assert not LogFilter(topics=(frozenset({t2}),)).matches(log)
    assert not LogFilter(topics=(None, None, None)).matches(log)  # more positions than topics


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_indexed_search_equals_a_full_scan(history: History, data: st.DataObject) -> None:
    pool = history.topic_pool()
    addresses = data.draw(st.none() | st.frozensets(
        st.sampled_from([*history.tokens, Address(b"\x01" * 20)]), min_size=1))
    topics = tuple(data.draw(st.lists(
        st.none() | st.frozensets(st.sampled_from(pool), min_size=1), max_size=4)))
    first = data.draw(st.integers(0, 9))
    last = data.draw(st.integers(first, 10))
    criteria = LogFilter(addresses=addresses, topics=topics)
    found = history.queries.find_logs(criteria, first, last, limit=1_000)
    scanned = [
        entry
        for height in range(first, min(last, history.chain.height) + 1)
        for entry in history.queries.block_logs(height)
        if criteria.matches(entry.log)
    ]
    assert found == scanned
    if len(scanned) > 1:
        assert len(history.queries.find_logs(criteria, first, last, limit=1)) == 2


def test_log_positions_agree_with_receipts(history: History) -> None:
    every = [e.log for h in range(history.chain.height + 1) for e in history.queries.block_logs(h)]
    assert {log.address for log in every} == set(history.tokens)
    assert {log.topics[0] for log in every} == {TRANSFER, APPROVAL} and len(every) > 12
    for height in range(1, history.chain.height + 1):
        entries = history.queries.block_logs(height)
        receipts = history.chain.receipts_at(height)
        assert [e.log for e in entries] == [log for r in receipts for log in r.logs]
        assert [e.log_index for e in entries] == list(range(len(entries)))
        block = history.chain.block_at(height)
        assert all(block.transactions[e.tx_index].hash == e.tx_hash for e in entries)


def test_blocks_headers_and_proofs(history: History) -> None:
    queries = history.queries
    for height in (3, 4, 5, 3):  # the cache holds two blocks: reads go back to the store
        block = queries.block(height)
        assert block == history.chain.block_at(height)
        assert queries.header(height) == block.header  # type: ignore[union-attr]
        assert queries.block_hash(height) == history.chain.block_hash_at(height)
    assert queries.block(99) is None and queries.receipts(99) is None
    assert queries.header(99) is None and queries.block_hash(99) is None
    block = history.chain.block_at(5)
    tx = block.transactions[-1]
    proof = queries.transaction_proof(tx.hash)
    assert proof is not None and verify_proof(proof.proof, tx.hash, block.header.transactions_root)
    receipt_proof = queries.receipt_proof(tx.hash)
    assert receipt_proof is not None
    leaf = encode_receipt(history.chain.receipts_at(5)[-1])
    assert receipt_proof.leaf == leaf
    assert verify_proof(receipt_proof.proof, leaf, block.header.receipts_root)
    assert queries.transaction_proof(b"\x00" * 32) is None
