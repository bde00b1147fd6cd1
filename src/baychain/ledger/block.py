"""Blocks: a header, its transactions and the certificate that finalised it.

Encoding: ``rlp([header, [raw_tx, ...], certificate])`` where ``header`` is the
header's field list (:mod:`baychain.ledger.header`), each ``raw_tx`` is a
transaction's exact signed bytes carried as an RLP string (typed and legacy
alike), and ``certificate`` is the opaque encoded commit certificate of the BFT
layer (empty in solo mode and while a block is only proposed). The certificate
is outside the header, so a block's hash does not depend on it.

Decoding re-decodes every transaction with the chain's suite and chain id, so a
decoded block's transactions carry proven senders. It does not check the header
against the transactions (roots, gas): that is block validation.
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.errors import InvalidBlock, InvalidTransaction
from baychain.ledger.header import Header, header_from_item, header_hash, header_to_item
from baychain.ledger.transactions import Transaction, decode_transactions
from baychain.primitives import Hash32

__all__ = ["Block", "block_hash", "decode_block", "encode_block"]


@dataclass(frozen=True, slots=True)
class Block:
    """A header, the transactions it commits to, and its commit certificate (may be empty)."""

    header: Header
    transactions: tuple[Transaction, ...]
    certificate: bytes = b""


def block_hash(block: Block, suite: CryptoSuite) -> Hash32:
    """Return the hash of ``block``'s header (the certificate is not part of it)."""
    return header_hash(block.header, suite)


def encode_block(block: Block) -> bytes:
    """Return the canonical encoding of ``block``."""
    return rlp.encode(
        [header_to_item(block.header), [tx.raw for tx in block.transactions], block.certificate]
    )


def decode_block(data: bytes, suite: CryptoSuite, chain_id: int) -> Block:
    """Decode a block for the chain ``chain_id`` using ``suite``.

    Raise :class:`~baychain.errors.DecodingError` when the block's own structure
    does not parse, and :class:`~baychain.errors.InvalidBlock` naming the index
    when one of its transactions is malformed or invalid.
    """
    fields = rlp.decode_list(rlp.decode(data), 3, name="block")
    header = header_from_item(fields[0])
    raw_txs = [
        rlp.decode_bytes(raw, name=f"block transaction {index}")
        for index, raw in enumerate(rlp.decode_list(fields[1], name="block transactions"))
    ]
    transactions = []
    # One batch: the signatures are checked together in the extension, without the GIL.
    for index, decoded in enumerate(decode_transactions(raw_txs, suite, chain_id)):
        if isinstance(decoded, InvalidTransaction):
            raise InvalidBlock(
                f"block {header.height}: transaction {index} is invalid: {decoded}"
            ) from decoded
        transactions.append(decoded)
    certificate = rlp.decode_bytes(fields[2], name="block certificate")
    return Block(header=header, transactions=tuple(transactions), certificate=certificate)
