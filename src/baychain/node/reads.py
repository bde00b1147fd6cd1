"""Read-only queries over a node's chain that the APIs need beyond ``Chain``'s own.

:class:`ChainReads` answers block, receipt and log questions at any height,
keeps a small cache of decoded blocks (decoding a block re-checks every
signature) and builds inclusion proofs. It only reads the store, so it may be
called from worker threads while the node commits blocks: each method reads one
consistent snapshot.

Log search (:meth:`ChainReads.find_logs`) follows ``eth_getLogs`` semantics:
an address matches if it is one of the filter's addresses (any, if none are
given); ``topics`` lists positions, each a set of alternatives or a wildcard,
and a log matches if it has at least as many topics as positions and each
non-wildcard position holds one of its alternatives. Candidate blocks come from
the ``logs_address`` and ``logs_topic`` indexes (``state/chain_store.py``);
only those blocks' receipts are read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from baychain.codec import rlp
from baychain.errors import CorruptStore, DecodingError
from baychain.ledger.block import Block
from baychain.ledger.header import Header, header_from_item
from baychain.ledger.log import Log
from baychain.ledger.merkle import MerkleProof, build_proof
from baychain.ledger.receipt import Receipt, encode_receipt
from baychain.node.chain import Chain, ProposedBlock
from baychain.primitives import Address, Hash32
from baychain.state import chain_store
from baychain.state.store import Txn

__all__ = [
    "BLOCK_CACHE_SIZE",
    "ChainReads",
    "InclusionProof",
    "LocatedLog",
    "LogFilter",
    "located_logs",
]

_HashFn = Callable[[bytes], Hash32]

BLOCK_CACHE_SIZE = 256
"""Decoded blocks (with receipts) kept in memory, most recently used first."""


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What ``eth_getLogs`` matches: addresses (None = any) and topic positions."""

    addresses: frozenset[Address] | None = None
    topics: tuple[frozenset[Hash32] | None, ...] = ()

    def matches(self, log: Log) -> bool:
        """True when ``log`` passes the address and topic criteria."""
        if self.addresses is not None and log.address not in self.addresses:
            return False
        if len(self.topics) > len(log.topics):
            return False
        return all(
            wanted is None or topic in wanted
            for wanted, topic in zip(self.topics, log.topics, strict=False)
        )


@dataclass(frozen=True, slots=True)
class LocatedLog:
    """A log with where it sits: block, transaction and its index among the block's logs."""

    log: Log
    height: int
    block_hash: Hash32
    timestamp_ms: int
    tx_hash: Hash32
    tx_index: int
    log_index: int


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """A Merkle proof that ``leaf`` is item ``proof.leaf_index`` under a root of ``header``."""

    header: Header
    block_hash: Hash32
    leaf: bytes
    proof: MerkleProof


@dataclass(frozen=True, slots=True)
class _Cached:
    block: Block
    block_hash: Hash32
    receipts: tuple[Receipt, ...]


def located_logs(
    header: Header, block_hash: Hash32, tx_hashes: Sequence[Hash32], receipts: Sequence[Receipt]
) -> list[LocatedLog]:
    """Every log of a block, in order, with its block-wide log index."""
    found: list[LocatedLog] = []
    for tx_index, (tx_hash, receipt) in enumerate(zip(tx_hashes, receipts, strict=True)):
        for log in receipt.logs:
            found.append(
                LocatedLog(
                    log=log,
                    height=header.height,
                    block_hash=block_hash,
                    timestamp_ms=header.timestamp_ms,
                    tx_hash=tx_hash,
                    tx_index=tx_index,
                    log_index=len(found),
                )
            )
    return found


class ChainReads:
    """Block, receipt, log and proof queries over ``chain`` (safe to call from threads)."""

    def __init__(self, chain: Chain, *, cache_size: int = BLOCK_CACHE_SIZE) -> None:
        self.chain = chain
        self.suite = chain.suite
        self._cache: OrderedDict[int, _Cached] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- blocks ------------------------------------------------------------

    @property
    def height(self) -> int:
        """The head's height."""
        return self.chain.height

    def remember(self, proposed: ProposedBlock) -> None:
        """Cache a block just committed (its transactions are already decoded)."""
        self._store(
            proposed.block.header.height,
            _Cached(proposed.block, proposed.block_hash, proposed.receipts),
        )

    def block(self, height: int) -> Block | None:
        """The committed block at ``height`` or None."""
        cached = self._load(height)
        return None if cached is None else cached.block

    def block_hash(self, height: int) -> Hash32 | None:
        """The hash of the committed block at ``height`` or None."""
        with self._lock:
            cached = self._cache.get(height)
        if cached is not None:
            return cached.block_hash
        with self.chain.store.read() as reader:
            return chain_store.read_block_hash(reader, height)

    def height_of(self, block_hash: bytes) -> int | None:
        """The height of the committed block with ``block_hash`` or None."""
        with self.chain.store.read() as reader:
            return chain_store.read_height_of(reader, block_hash)

    def receipts(self, height: int) -> tuple[Receipt, ...] | None:
        """The receipts of the block at ``height`` or None."""
        cached = self._load(height)
        return None if cached is None else cached.receipts

    def header(self, height: int) -> Header | None:
        """The header at ``height`` or None, without decoding the block's transactions."""
        with self._lock:
            cached = self._cache.get(height)
        if cached is not None:
            return cached.block.header
        with self.chain.store.read() as reader:
            found = _light_block(reader, height)
        return None if found is None else found[0]

    def tx_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(height, index) of a committed transaction, or None."""
        with self.chain.store.read() as reader:
            return chain_store.read_tx_location(reader, tx_hash)

    def _load(self, height: int) -> _Cached | None:
        with self._lock:
            cached = self._cache.get(height)
            if cached is not None:
                self._cache.move_to_end(height)
                return cached
        with self.chain.store.read() as reader:
            block = chain_store.read_block(reader, height, self.suite, self.chain.chain_id)
            if block is None:
                return None
            receipts = chain_store.read_receipts(reader, height)
            block_hash = chain_store.read_block_hash(reader, height)
        if receipts is None or block_hash is None:
            raise CorruptStore(f"block {height} is stored without its receipts or hash")
        cached = _Cached(block, block_hash, tuple(receipts))
        self._store(height, cached)
        return cached

    def _store(self, height: int, cached: _Cached) -> None:
        with self._lock:
            self._cache[height] = cached
            self._cache.move_to_end(height)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    # -- logs --------------------------------------------------------------

    def block_logs(self, height: int) -> list[LocatedLog]:
        """Every log of the block at ``height`` (empty if there is no such block)."""
        with self._lock:
            cached = self._cache.get(height)
        if cached is not None:
            tx_hashes = [tx.hash for tx in cached.block.transactions]
            return located_logs(cached.block.header, cached.block_hash, tx_hashes, cached.receipts)
        with self.chain.store.read() as reader:
            return _read_block_logs(reader, height, self.suite.hash)

    def find_logs(
        self, criteria: LogFilter, first: int, last: int, limit: int
    ) -> list[LocatedLog]:
        """Logs matching ``criteria`` in blocks ``first..last``, in chain order.

        Stops after ``limit + 1`` matches, so a caller can tell that a query
        exceeds ``limit`` without reading the rest of the range.
        """
        found: list[LocatedLog] = []
        with self.chain.store.read() as reader:
            heights = _candidate_heights(reader, criteria, first, last)
            for height in heights:
                for entry in _read_block_logs(reader, height, self.suite.hash):
                    if criteria.matches(entry.log):
                        found.append(entry)
                        if len(found) > limit:
                            return found
        return found

    # -- proofs ------------------------------------------------------------

    def transaction_proof(self, tx_hash: bytes) -> InclusionProof | None:
        """Proof that the transaction hash is a leaf of its block's ``transactions_root``."""
        location = self.tx_location(tx_hash)
        cached = None if location is None else self._load(location[0])
        if location is None or cached is None:
            return None
        leaves = [tx.hash for tx in cached.block.transactions]
        proof = build_proof(leaves, location[1], self.suite)
        return InclusionProof(cached.block.header, cached.block_hash, leaves[location[1]], proof)

    def receipt_proof(self, tx_hash: bytes) -> InclusionProof | None:
        """Proof that the transaction's encoded receipt is a leaf of ``receipts_root``."""
        location = self.tx_location(tx_hash)
        cached = None if location is None else self._load(location[0])
        if location is None or cached is None:
            return None
        leaves = [encode_receipt(receipt) for receipt in cached.receipts]
        proof = build_proof(leaves, location[1], self.suite)
        return InclusionProof(cached.block.header, cached.block_hash, leaves[location[1]], proof)


def _light_block(reader: Txn, height: int) -> tuple[Header, list[bytes]] | None:
    """The header and raw transactions of a stored block, without checking signatures."""
    raw = reader.get(b"blocks", chain_store.height_key(height))
    if raw is None:
        return None
    try:
        fields = rlp.decode_list(rlp.decode(raw), 3, name="block")
        header = header_from_item(fields[0])
        raw_txs = [
            rlp.decode_bytes(item, name="block transaction")
            for item in rlp.decode_list(fields[1], name="block transactions")
        ]
    except DecodingError as error:
        raise CorruptStore(f"block {height} in the store does not decode: {error}") from error
    return header, raw_txs


def _read_block_logs(reader: Txn, height: int, hash_fn: _HashFn) -> list[LocatedLog]:
    receipts = chain_store.read_receipts(reader, height)
    if receipts is None or not any(receipt.logs for receipt in receipts):
        return []  # most blocks: no need to decode the block itself
    found = _light_block(reader, height)
    block_hash = chain_store.read_block_hash(reader, height)
    if found is None or block_hash is None:
        raise CorruptStore(f"block {height} has receipts but no body or hash")
    header, raw_txs = found
    return located_logs(header, block_hash, [hash_fn(raw) for raw in raw_txs], receipts)


def _index_heights(reader: Txn, table: bytes, key: bytes, first: int, last: int) -> set[int]:
    heights = set()
    for index_key, _ in reader.prefix(table, key, chain_store.height_key(first)):
        height = int.from_bytes(index_key[len(key) :], "big")
        if height > last:
            break
        heights.add(height)
    return heights


def _union(
    reader: Txn, table: bytes, keys: Iterable[bytes], first: int, last: int
) -> set[int]:
    heights: set[int] = set()
    for key in keys:
        heights |= _index_heights(reader, table, key, first, last)
    return heights


def _candidate_heights(reader: Txn, criteria: LogFilter, first: int, last: int) -> list[int]:
    """Heights in ``first..last`` that may hold a matching log, ascending."""
    candidates: set[int] | None = None
    if criteria.addresses is not None:
        candidates = _union(reader, b"logs_address", criteria.addresses, first, last)
    for alternatives in criteria.topics:
        if alternatives is None:
            continue
        with_topic = _union(reader, b"logs_topic", alternatives, first, last)
        candidates = with_topic if candidates is None else candidates & with_topic
    if candidates is None:
        return list(range(first, last + 1))
    return sorted(candidates)
