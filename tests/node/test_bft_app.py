"""BftApplication's proposal path: verify each transaction's signature once per node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baychain.codec import rlp
from baychain.consensus.types import Round
from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import InvalidBlock
from baychain.ledger.block import Block, decode_block, decode_header_only, encode_block
from baychain.ledger.transactions import Transaction, decode_transaction
from baychain.node.bft.application import BftApplication, schedule_from_genesis
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.node.pool.verified import VerifiedTransactions
from baychain.primitives import Address, Hash32, Height
from baychain.sdk.client import Signer

CHAIN_ID = 4243
SUITE = get_suite("ecdsa")
VALIDATOR_KEY = dev_private_keys("ecdsa", 3)[2]


def _genesis(user: Signer) -> Genesis:
    public_key = SUITE.public_key(VALIDATOR_KEY)
    return Genesis(
        chain_id=CHAIN_ID,
        crypto="ecdsa",
        hardfork="cancun",
        block_gas_limit=30_000_000,
        base_fee_per_gas=0,
        block_interval_ms=150,
        validators=(Validator("v0", public_key, 1, SUITE.address(public_key)),),
        alloc=((user.address, GenesisAccount(balance=10**24)),),
    )


@pytest.fixture
def user() -> Signer:
    return Signer.from_key("ecdsa", dev_private_keys("ecdsa", 1)[0])


def _node(directory: Path, user: Signer) -> Node:
    chain = Chain.open(directory, _genesis(user), map_size=2**24)
    return Node(chain, MempoolConfig(), SUITE.address(SUITE.public_key(VALIDATOR_KEY)))


@pytest.fixture
def nodes(tmp_path: Path, user: Signer) -> Iterator[tuple[Node, Node]]:
    """A proposer's node and a validator's node of the same one-validator chain."""
    pair = (_node(tmp_path / "proposer", user), _node(tmp_path / "validator", user))
    yield pair
    for node in pair:
        node.close()
        node.chain.close()


def _transfers(user: Signer, count: int) -> list[bytes]:
    return [
        user.sign(chain_id=CHAIN_ID, nonce=n, to=Address(bytes(19) + bytes([n + 1])), value=1)
        for n in range(count)
    ]


def _proposal(node: Node, raws: list[bytes]) -> tuple[Hash32, bytes]:
    app = BftApplication(node, schedule_from_genesis(node.genesis))
    txs = [decode_transaction(raw, SUITE, CHAIN_ID) for raw in raws]
    return app.build_proposal(Height(1), Round(0), txs, node.genesis.timestamp_ms + 1000)


def test_decode_block_with_known_takes_known_transactions_and_decodes_the_rest(
    nodes: tuple[Node, Node], user: Signer
) -> None:
    raws = _transfers(user, 3)
    _, block = _proposal(nodes[0], raws)
    pooled = decode_transaction(raws[1], SUITE, CHAIN_ID)
    known = {pooled.hash: pooled}

    decoded = decode_block(block, SUITE, CHAIN_ID, known.get)

    assert decoded == decode_block(block, SUITE, CHAIN_ID)
    assert decoded.transactions[1] is pooled  # taken, not decoded again
    assert decoded.transactions[0] is not pooled


def test_decode_block_with_known_ignores_a_known_transaction_with_other_bytes(
    nodes: tuple[Node, Node], user: Signer
) -> None:
    raws = _transfers(user, 2)
    _, block = _proposal(nodes[0], raws)
    first, second = (decode_transaction(raw, SUITE, CHAIN_ID) for raw in raws)
    wrong: dict[Hash32, Transaction] = {first.hash: second}  # a lookup that lies

    decoded = decode_block(block, SUITE, CHAIN_ID, wrong.get)

    assert decoded.transactions == (first, second)


def test_decode_block_with_known_refuses_an_invalid_transaction_even_among_known_ones(
    nodes: tuple[Node, Node], user: Signer
) -> None:
    raws = _transfers(user, 2)
    _, block = _proposal(nodes[0], raws)
    fields = rlp.decode(block)
    assert isinstance(fields, list)
    foreign = user.sign(chain_id=CHAIN_ID + 1, nonce=1, to=Address(bytes(20)), value=1)
    tampered = rlp.encode([fields[0], [raws[0], foreign], fields[2]])
    known = {tx.hash: tx for tx in (decode_transaction(raws[0], SUITE, CHAIN_ID),)}

    with pytest.raises(InvalidBlock, match="transaction 1"):
        decode_block(tampered, SUITE, CHAIN_ID, known.get)


def test_decode_header_only_reads_the_header_alone(nodes: tuple[Node, Node], user: Signer) -> None:
    _, block = _proposal(nodes[0], _transfers(user, 2))
    assert decode_header_only(block) == decode_block(block, SUITE, CHAIN_ID).header


def test_a_validator_takes_pooled_transactions_and_records_the_ones_it_decoded(
    nodes: tuple[Node, Node], user: Signer
) -> None:
    proposer, validator = nodes
    raws = _transfers(user, 3)
    block_hash, block = _proposal(proposer, raws)
    pooled = validator.submit_transaction(raws[0])  # gossip brought this one already
    app = BftApplication(validator, schedule_from_genesis(validator.genesis))

    assert app.validate_block(Height(1), block) == (block_hash, True)

    assert app.verified.get(pooled.hash) is pooled
    assert {tx.raw for tx in (app.verified.get(SUITE.hash(raw)) for raw in raws) if tx} == set(raws)
    committed = app.commit(Height(1), block_hash, block, b"cert")
    assert committed is not None and committed.block.transactions[0] is pooled


def test_a_validator_refuses_a_block_that_does_not_re_execute_to_its_header(
    nodes: tuple[Node, Node], user: Signer
) -> None:
    proposer, validator = nodes
    raws = _transfers(user, 2)
    _, block = _proposal(proposer, raws)
    decoded = decode_block(block, SUITE, CHAIN_ID)
    dropped = Block(decoded.header, decoded.transactions[:1], b"")  # same header, one tx less
    app = BftApplication(validator, schedule_from_genesis(validator.genesis))

    block_hash, valid = app.validate_block(Height(1), encode_block(dropped))

    assert not valid and block_hash is not None
    assert app.validate_block(Height(1), b"\x01garbage") == (None, False)


def test_the_proposer_accepts_its_own_block_by_its_header(
    nodes: tuple[Node, Node], user: Signer
) -> None:
    proposer = nodes[0]
    app = BftApplication(proposer, schedule_from_genesis(proposer.genesis))
    txs = [decode_transaction(raw, SUITE, CHAIN_ID) for raw in _transfers(user, 2)]
    block_hash, block = app.build_proposal(
        Height(1), Round(0), txs, proposer.genesis.timestamp_ms + 1
    )

    assert app.validate_block(Height(1), block) == (block_hash, True)
    assert not app.verified  # nothing decoded: the kept block answered


def test_verified_transactions_forget_the_oldest_beyond_their_capacity(user: Signer) -> None:
    txs = [decode_transaction(raw, SUITE, CHAIN_ID) for raw in _transfers(user, 5)]
    verified = VerifiedTransactions(capacity=3)
    verified.add_all(txs[:2])
    verified.add_all(txs[2:])

    assert len(verified) == 3
    assert [verified.get(tx.hash) for tx in txs] == [None, None, *txs[2:]]
