"""Blocks: a header, its transactions and the certificate that finalised it.

Encoding: ``rlp([header, [raw_tx, ...], certificate])`` where ``header`` is the
header's field list (:mod:`baychain.ledger.header`), each ``raw_tx`` is a
transaction's exact signed bytes carried as an RLP string (typed and legacy
alike), and ``certificate`` is the opaque encoded commit certificate of the BFT
layer (empty in solo mode and while a block is only proposed). The certificate
is outside the header, so a block's hash does not depend on it.

Decoding re-decodes every transaction with the chain's suite and chain id (except
those the caller already checked, see :func:`decode_block`), so a decoded block's
transactions carry proven senders. It does not check the header
against the transactions (roots, gas): that is block validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.errors import InvalidBlock, InvalidTransaction
from baychain.ledger.header import Header, header_from_item, header_hash, header_to_item
from baychain.ledger.transactions import Transaction, decode_transactions
from baychain.primitives import Hash32

__all__ = [
    "MAX_BLOCK_ITEMS",
    "Block",
    "KnownTransactions",
    "block_hash",
    "decode_block",
    "decode_certified_header",
    "decode_header_only",
    "encode_block",
]


MAX_BLOCK_ITEMS = 1_000_000
"""RLP items a block may hold: its three fields, the header's, and one string per
transaction (a million transactions would take 21 billion gas). Decoding a block a peer
sent stops past this, so junk cannot cost more than a bounded amount of memory."""


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


KnownTransactions = Callable[[Hash32], Transaction | None]
"""Looks up a transaction this node already decoded and signature-checked, by hash."""


def decode_block(
    data: bytes, suite: CryptoSuite, chain_id: int, known: KnownTransactions | None = None
) -> Block:
    """Decode a block for the chain ``chain_id`` using ``suite``.

    ``known`` (optional) returns transactions already decoded for ``chain_id`` with
    ``suite`` (a validator's pool, or what its gossip intake checked): a transaction it
    returns with exactly this block's bytes is taken as it is instead of being decoded
    and signature-checked again. A transaction's hash is the suite hash of its bytes, so
    such a hit is the transaction decoding would return. The others are decoded as one
    batch.

    Raise :class:`~baychain.errors.DecodingError` when the block's own structure
    does not parse, and :class:`~baychain.errors.InvalidBlock` naming the index
    when one of its transactions is malformed or invalid.
    """
    fields = rlp.decode_list(rlp.decode(data, max_items=MAX_BLOCK_ITEMS), 3, name="block")
    header = header_from_item(fields[0])
    raw_txs = [
        rlp.decode_bytes(raw, name=f"block transaction {index}")
        for index, raw in enumerate(rlp.decode_list(fields[1], name="block transactions"))
    ]
    transactions: list[Transaction | None] = [None] * len(raw_txs)
    unknown: list[int] = []
    for index, raw in enumerate(raw_txs):
        found = None if known is None else known(suite.hash(raw))
        if found is not None and found.raw == raw:
            transactions[index] = found
        else:
            unknown.append(index)
    # One batch: the signatures are checked together in the extension, without the GIL.
    decoded = decode_transactions([raw_txs[index] for index in unknown], suite, chain_id)
    for index, tx in zip(unknown, decoded, strict=True):
        if isinstance(tx, InvalidTransaction):
            raise InvalidBlock(
                f"block {header.height}: transaction {index} is invalid: {tx}"
            ) from tx
        transactions[index] = tx
    certificate = rlp.decode_bytes(fields[2], name="block certificate")
    return Block(
        header=header,
        transactions=tuple(tx for tx in transactions if tx is not None),
        certificate=certificate,
    )


def decode_header_only(data: bytes) -> Header:
    """The header of an encoded block, without decoding its transactions.

    Raise :class:`~baychain.errors.DecodingError` when the block's structure does not parse.
    """
    return decode_certified_header(data)[0]


def decode_certified_header(data: bytes) -> tuple[Header, bytes]:
    """(header, encoded certificate) of an encoded block, without decoding its transactions:
    what block sync checks before it spends any work on signatures.

    Raise :class:`~baychain.errors.DecodingError` when the block's structure does not parse.
    """
    fields = rlp.decode_list(rlp.decode(data, max_items=MAX_BLOCK_ITEMS), 3, name="block")
    return header_from_item(fields[0]), rlp.decode_bytes(fields[2], name="block certificate")
