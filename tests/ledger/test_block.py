"""Blocks: encoding, re-decoding transactions, and the certificate outside the hash."""

from __future__ import annotations

import dataclasses

import pytest

from baychain.codec import rlp
from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import DecodingError, InvalidBlock, MalformedTransaction, WrongChainId
from baychain.ledger.block import Block, block_hash, decode_block, encode_block
from baychain.ledger.header import Header, encode_header
from baychain.ledger.merkle import transactions_root
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.primitives import ZERO_HASH, Address, Hash32, Height

CHAIN_ID = 77


def _block(suite_name: str, tx_type: int, count: int = 3) -> Block:
    suite = get_suite(suite_name)
    key = dev_private_keys(suite_name, 1)[0]
    txs = tuple(
        sign_transaction(
            UnsignedTransaction(tx_type, CHAIN_ID, n, 1, 1, 21_000, Address(b"\x05" * 20), n),
            key,
            suite,
        )
        for n in range(count)
    )
    header = Header(
        parent_hash=ZERO_HASH,
        height=Height(1),
        timestamp_ms=1_000,
        proposer=Address(b"\x01" * 20),
        transactions_root=transactions_root(txs, suite),
        receipts_root=Hash32(b"\x03" * 32),
        state_root=Hash32(b"\x04" * 32),
        gas_used=21_000 * count,
        gas_limit=30_000_000,
        base_fee_per_gas=0,
        extra_data=b"",
    )
    return Block(header, txs, b"certificate bytes")


@pytest.mark.parametrize(("suite_name", "tx_type"), [("ecdsa", 0), ("ecdsa", 2), ("sm", 0x53)])
def test_round_trip(suite_name: str, tx_type: int) -> None:
    block = _block(suite_name, tx_type)
    decoded = decode_block(encode_block(block), get_suite(suite_name), CHAIN_ID)
    assert decoded == block
    assert [tx.sender for tx in decoded.transactions] == [tx.sender for tx in block.transactions]


def test_layout_keeps_raw_transactions() -> None:
    block = _block("ecdsa", 0)
    fields = rlp.decode_list(rlp.decode(encode_block(block)), 3)
    assert rlp.encode(fields[0]) == encode_header(block.header)
    assert fields[1] == [tx.raw for tx in block.transactions]
    assert fields[2] == b"certificate bytes"


def test_empty_block_and_certificate() -> None:
    block = dataclasses.replace(_block("ecdsa", 2, count=0), certificate=b"")
    assert decode_block(encode_block(block), get_suite("ecdsa"), CHAIN_ID) == block


def test_certificate_is_not_part_of_the_hash() -> None:
    suite = get_suite("ecdsa")
    block = _block("ecdsa", 2)
    other = dataclasses.replace(block, certificate=b"another certificate")
    assert block_hash(block, suite) == block_hash(other, suite)
    assert encode_block(block) != encode_block(other)


def test_invalid_transaction_names_its_index() -> None:
    block = _block("ecdsa", 2)
    with pytest.raises(InvalidBlock, match="transaction 0") as caught:
        decode_block(encode_block(block), get_suite("ecdsa"), CHAIN_ID + 1)
    assert isinstance(caught.value.__cause__, WrongChainId)
    fields = rlp.decode_list(rlp.decode(encode_block(block)))
    fields[1] = [*rlp.decode_list(fields[1])[:2], b"\x02\xc0"]
    with pytest.raises(InvalidBlock, match="transaction 2") as caught:
        decode_block(rlp.encode(fields), get_suite("ecdsa"), CHAIN_ID)
    assert isinstance(caught.value.__cause__, MalformedTransaction)


@pytest.mark.parametrize(
    ("mutate", "phrase"),
    [
        (lambda f: f[:2], "3 items"),
        (lambda f: [f[0], b"\x01", f[2]], "block transactions must be an RLP list"),
        (lambda f: [f[0], f[1], []], "certificate must be an RLP string"),
        (lambda f: [f[0], [[]], f[2]], "transaction 0 must be an RLP string"),
    ],
)
def test_structure_errors(mutate: object, phrase: str) -> None:
    fields = rlp.decode_list(rlp.decode(encode_block(_block("ecdsa", 2))))
    data = rlp.encode(mutate(fields))  # type: ignore[operator]
    with pytest.raises(DecodingError, match=phrase):
        decode_block(data, get_suite("ecdsa"), CHAIN_ID)
