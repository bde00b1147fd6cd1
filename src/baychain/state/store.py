"""The ledger's key-value store: one LMDB environment with named tables.

LMDB gives what the ledger needs from a store: many readers beside one writer,
and atomic, durable write transactions (copy-on-write B+trees with a synced
meta page), so a process killed at any instant leaves the last committed
transaction intact. A block, its receipts, its state writes and its indexes are
written in ONE such transaction (see ``state/chain_store.py``).

Tables (keys are fixed-width, integers big-endian so that keys sort by height):

=================  ==========================  =====================================
table              key                         value
=================  ==========================  =====================================
``meta``           name (ascii)                head height, LtHash, chain identity
``blocks``         height (8)                  encoded block (header, txs, certificate)
``canonical``      height (8)                  block hash (32)
``block_hashes``   block hash (32)             height (8)
``receipts``       height (8)                  RLP list of encoded receipts
``transactions``   tx hash (32)                height (8) || index in block (4)
``accounts``       address (20)                encoded account (72)
``storage``        address (20) || slot (32)   value (32), absent when zero
``code``           code hash (32)              code
``logs_address``   address (20) || height (8)  empty: the block has logs from address
``logs_topic``     topic (32) || height (8)    empty: the block has logs with topic
=================  ==========================  =====================================
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lmdb

from baychain.errors import StoreError

TABLES = (
    b"meta",
    b"blocks",
    b"canonical",
    b"block_hashes",
    b"receipts",
    b"transactions",
    b"accounts",
    b"storage",
    b"code",
    b"logs_address",
    b"logs_topic",
)

DEFAULT_MAP_SIZE_BYTES = 64 * 2**30
"""Upper bound of the store's size; LMDB reserves address space, not disk."""


class Store:
    """An open LMDB environment with BayChain's tables.

    Use :meth:`read` for a consistent snapshot and :meth:`write` for an atomic
    transaction; both yield a :class:`Txn`.
    """

    def __init__(
        self, path: Path, *, map_size: int = DEFAULT_MAP_SIZE_BYTES, readonly: bool = False
    ) -> None:
        path.mkdir(parents=True, exist_ok=True)
        check_not_truncated(path / "data.mdb")
        try:
            self._env = lmdb.open(
                str(path),
                map_size=map_size,
                max_dbs=len(TABLES),
                subdir=True,
                readonly=readonly,
                sync=True,
                metasync=True,
                lock=True,
                max_readers=256,
            )
            self._tables = {name: self._env.open_db(name, create=not readonly) for name in TABLES}
        except lmdb.Error as error:
            raise StoreError(
                f"cannot open the ledger store at {path}: {error}. If the directory was "
                "copied while a node was writing or is damaged, restore it from a backup "
                "or re-sync the node."
            ) from error
        self.path = path

    def close(self) -> None:
        """Close the environment; the Store must not be used afterwards."""
        self._env.close()

    def read(self) -> Snapshot:
        """Return a context manager yielding a read-only snapshot transaction."""
        return Snapshot(self._env.begin(write=False, buffers=False), self._tables)

    @contextmanager
    def write(self) -> Iterator[Txn]:
        """Yield a write transaction committed atomically (and synced) on normal exit."""
        try:
            with self._env.begin(write=True) as raw:
                yield Txn(raw, self._tables)
        except lmdb.MapFullError as error:
            raise StoreError(
                "the ledger store is full; raise [storage] map_size_gib in node.toml"
            ) from error


_META_MAGIC = 0xBEEFC0DE
_META_PAGE_SIZE_OFFSET = 40  # page header (16) + magic, version, address, mapsize (24)
_META_LAST_PAGE_OFFSET = 136  # ... + two 48-byte MDB_db records
_META_TXNID_OFFSET = 144


def check_not_truncated(data_file: Path) -> None:
    """Refuse an LMDB file shorter than its own meta pages say it is.

    LMDB maps the file into memory; reading a page past the end of a truncated
    file (a copy that stopped half-way, a full disk) would kill the process with
    SIGBUS instead of raising. The two meta pages at the start of the file
    (LMDB 0.9 layout) record the last page in use; the newer one must fit.
    """
    try:
        size = data_file.stat().st_size
        with data_file.open("rb") as handle:
            head = handle.read(2 * 65_536)
    except FileNotFoundError:
        return
    except OSError as error:
        raise StoreError(f"cannot read the ledger store file {data_file}: {error}") from error
    metas: list[tuple[int, int, int]] = []
    for index in range(2):
        page_size = 4096 if index == 0 else metas[0][0] if metas else 4096
        base = index * page_size
        meta = head[base : base + _META_TXNID_OFFSET + 8]
        if len(meta) < _META_TXNID_OFFSET + 8:
            break
        if int.from_bytes(meta[16:20], "little") != _META_MAGIC:
            break
        psize = int.from_bytes(meta[_META_PAGE_SIZE_OFFSET : _META_PAGE_SIZE_OFFSET + 4], "little")
        last = int.from_bytes(meta[_META_LAST_PAGE_OFFSET : _META_LAST_PAGE_OFFSET + 8], "little")
        txnid = int.from_bytes(meta[_META_TXNID_OFFSET : _META_TXNID_OFFSET + 8], "little")
        metas.append((psize or 4096, last, txnid))
    if not metas:
        return  # not an LMDB file: lmdb.open reports that clearly
    page_size, last_page, _ = max(metas, key=lambda meta: meta[2])
    needed = (last_page + 1) * page_size
    if size < needed:
        raise StoreError(
            f"the ledger store {data_file} is truncated ({size} bytes, its last committed "
            f"transaction needs {needed}); restore it from a backup or re-sync the node"
        )


class Snapshot:
    """A read-only transaction as a context manager: ``with store.read() as txn: ...``.

    A class rather than a generator-based context manager because the pool opens
    one snapshot per submitted transaction.
    """

    __slots__ = ("_raw", "_tables")

    def __init__(self, raw: Any, tables: dict[bytes, Any]) -> None:
        self._raw = raw
        self._tables = tables

    def __enter__(self) -> Txn:
        return Txn(self._raw, self._tables)

    def __exit__(self, *exc_info: object) -> None:
        self._raw.abort()  # a read-only transaction has nothing to commit


class Txn:
    """A transaction on the store, addressed by table name."""

    __slots__ = ("_raw", "_tables")

    def __init__(self, raw: Any, tables: dict[bytes, Any]) -> None:
        self._raw = raw
        self._tables = tables

    def get(self, table: bytes, key: bytes) -> bytes | None:
        """Return the value under ``key`` or None."""
        value: bytes | None = self._raw.get(key, db=self._tables[table])
        return value

    def put(self, table: bytes, key: bytes, value: bytes) -> None:
        """Set ``key`` to ``value``."""
        self._raw.put(key, value, db=self._tables[table])

    def put_many(self, table: bytes, items: Iterable[tuple[bytes, bytes]]) -> None:
        """Set each ``key`` to its ``value``, in order, in one call (LMDB ``putmulti``).

        Equivalent to :meth:`put` on each pair; sorted keys are the fastest to write.
        """
        self._raw.cursor(db=self._tables[table]).putmulti(items)

    def delete(self, table: bytes, key: bytes) -> None:
        """Remove ``key`` if present."""
        self._raw.delete(key, db=self._tables[table])

    def prefix(
        self, table: bytes, prefix: bytes, start: bytes = b""
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield (key, value) pairs whose key starts with ``prefix``, in key order,
        beginning at ``prefix + start``."""
        cursor = self._raw.cursor(db=self._tables[table])
        if not cursor.set_range(prefix + start):
            return
        for key, value in cursor:
            if not key.startswith(prefix):
                return
            yield key, value

    def last(self, table: bytes) -> tuple[bytes, bytes] | None:
        """Return the (key, value) pair with the greatest key, or None if empty."""
        cursor = self._raw.cursor(db=self._tables[table])
        if not cursor.last():
            return None
        return cursor.key(), cursor.value()
