"""Persisting blocks: one write transaction per block, and the reads that follow from it.

:func:`commit_block` writes a block's body, its receipts, its state writes, its
indexes (height, block hash, transaction hash, logs by address and topic) and
the new head in a single LMDB transaction, so after a crash the store holds
either the previous head or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Sequence

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.errors import CorruptStore, DecodingError
from baychain.ledger.block import Block, decode_block, encode_block
from baychain.ledger.receipt import Receipt, decode_receipt, encode_receipt
from baychain.primitives import Hash32
from baychain.state import lthash
from baychain.state.commitment import StateUpdate, apply_ops
from baychain.state.store import Txn

HEAD_KEY = b"head"
LTHASH_KEY = b"lthash"
GENESIS_KEY = b"genesis"


def height_key(height: int) -> bytes:
    """The 8-byte big-endian key of a height (keys sort by height)."""
    return height.to_bytes(8, "big")


def commit_block(
    writer: Txn,
    block: Block,
    block_hash: Hash32,
    receipts: Sequence[Receipt],
    update: StateUpdate,
) -> None:
    """Write everything a committed block changes, in the caller's write transaction."""
    height = block.header.height
    key = height_key(height)
    writer.put(b"blocks", key, encode_block(block))
    writer.put(b"canonical", key, block_hash)
    writer.put(b"block_hashes", block_hash, key)
    writer.put(b"receipts", key, rlp.encode([encode_receipt(r) for r in receipts]))
    writer.put_many(
        b"transactions",
        [(tx.hash, key + index.to_bytes(4, "big")) for index, tx in enumerate(block.transactions)],
    )
    # The log indexes say which blocks have a log from an address or with a topic: one
    # row per distinct (address or topic, height), however many logs share it.
    logs = [log for receipt in receipts for log in receipt.logs]
    addresses = {log.address for log in logs}
    topics = {topic for log in logs for topic in log.topics}
    writer.put_many(b"logs_address", [(address + key, b"") for address in sorted(addresses)])
    writer.put_many(b"logs_topic", [(topic + key, b"") for topic in sorted(topics)])
    apply_ops(writer, update.ops)
    writer.put(b"meta", LTHASH_KEY, lthash.to_bytes(update.lthash))
    writer.put(b"meta", HEAD_KEY, key + block_hash)
    if height == 0:
        writer.put(b"meta", GENESIS_KEY, block_hash)


def read_head(reader: Txn) -> tuple[int, Hash32] | None:
    """Return (height, hash) of the last committed block, or None for an empty store."""
    raw = reader.get(b"meta", HEAD_KEY)
    if raw is None:
        return None
    if len(raw) != 40:
        raise CorruptStore(f"the head record is {len(raw)} bytes, expected 40")
    return int.from_bytes(raw[:8], "big"), Hash32(raw[8:])


def read_lthash(reader: Txn) -> int:
    """Return the LtHash of the committed state (zero for an empty store)."""
    raw = reader.get(b"meta", LTHASH_KEY)
    return 0 if raw is None else lthash.from_bytes(raw)


def read_block(reader: Txn, height: int, suite: CryptoSuite, chain_id: int) -> Block | None:
    """Return the block at ``height`` or None."""
    raw = reader.get(b"blocks", height_key(height))
    if raw is None:
        return None
    try:
        return decode_block(raw, suite, chain_id)
    except DecodingError as error:
        raise CorruptStore(f"block {height} in the store does not decode: {error}") from error


def read_block_bytes(reader: Txn, height: int) -> bytes | None:
    """Return the block at ``height`` exactly as stored (``encode_block`` of it, certificate
    included), or None.

    Nothing is decoded or verified: a block in this node's own store was checked before it
    was committed, so serving it to peers needs only its bytes.
    """
    return reader.get(b"blocks", height_key(height))


def read_block_hash(reader: Txn, height: int) -> Hash32 | None:
    """Return the hash of the block at ``height`` or None."""
    raw = reader.get(b"canonical", height_key(height))
    return None if raw is None else Hash32(raw)


def read_height_of(reader: Txn, block_hash: bytes) -> int | None:
    """Return the height of the block with ``block_hash`` or None."""
    raw = reader.get(b"block_hashes", block_hash)
    return None if raw is None else int.from_bytes(raw, "big")


def read_receipts(reader: Txn, height: int) -> list[Receipt] | None:
    """Return the receipts of the block at ``height`` in transaction order, or None."""
    raw = reader.get(b"receipts", height_key(height))
    if raw is None:
        return None
    try:
        items = rlp.decode_list(rlp.decode(raw), name="receipts")
        return [decode_receipt(rlp.decode_bytes(item, name="receipt")) for item in items]
    except DecodingError as error:
        raise CorruptStore(f"receipts of block {height} do not decode: {error}") from error


def read_tx_location(reader: Txn, tx_hash: bytes) -> tuple[int, int] | None:
    """Return (height, index) of a committed transaction, or None."""
    raw = reader.get(b"transactions", tx_hash)
    if raw is None:
        return None
    return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:12], "big")


def log_heights(reader: Txn, table: bytes, key: bytes, first: int, last: int) -> list[int]:
    """Heights in [first, last] with a log matching an address or topic index key."""
    heights = []
    for index_key, _ in reader.prefix(table, key):
        height = int.from_bytes(index_key[len(key) :], "big")
        if height > last:
            break
        if height >= first:
            heights.append(height)
    return heights
