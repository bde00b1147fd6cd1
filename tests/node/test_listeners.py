"""Node listeners hear each accepted transaction and committed block; their bugs stay theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baychain.crypto import dev_private_keys
from baychain.errors import AlreadyKnown
from baychain.ledger.transactions import Transaction
from baychain.node.chain import Chain, ProposedBlock
from baychain.node.host.datadir import init_node_dir
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.sdk.client import Signer


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    result = init_node_dir(tmp_path, crypto="ecdsa", dev_accounts=1)
    chain = Chain.open(tmp_path / "data", result.genesis)
    made = Node(chain, MempoolConfig(), result.validator_address, verify_threads=2)
    yield made
    made.close()
    chain.close()


def test_listeners_hear_every_admission_and_commit(node: Node) -> None:
    signer = Signer.from_key("ecdsa", dev_private_keys("ecdsa", 1)[0])
    chain_id = node.genesis.chain_id

    def raw(nonce: int) -> bytes:
        return signer.sign(chain_id=chain_id, nonce=nonce, to=signer.address, value=1)

    pending: list[Transaction] = []
    committed: list[ProposedBlock] = []

    def broken(_: object) -> None:
        raise RuntimeError("an observer bug")

    node.pending_listeners.extend([broken, pending.append])
    node.commit_listeners.extend([broken, committed.append])
    first = node.submit_transaction(raw(0))
    second = node.submit_decoded(node.mempool.decode_raw(raw(1)))
    batch = node.submit_transactions([raw(2), raw(0)])  # the second is refused: not announced
    assert isinstance(batch[1], AlreadyKnown)
    with pytest.raises(AlreadyKnown):
        node.submit_decoded(node.mempool.decode_raw(raw(1)))
    assert pending == [first, second, batch[0]]
    proposed = node.seal_block(1_000_000)
    assert committed == [proposed] and len(proposed.block.transactions) == 3
    assert node.status().height == 1 and node.status().pending == 0
