"""Logs: the events a contract emits with ``LOG0`` .. ``LOG4``.

Encoding (as Ethereum's, Yellow Paper section 4.3.1): ``rlp([address, [topic, ...],
data])`` with a 20-byte address and at most four 32-byte topics.
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.codec import rlp
from baychain.errors import DecodingError
from baychain.primitives import Address, Hash32

__all__ = ["MAX_TOPICS", "Log", "decode_log", "encode_log", "log_from_item", "log_to_item"]

MAX_TOPICS = 4
"""``LOG4`` is the widest log instruction."""


@dataclass(frozen=True, slots=True)
class Log:
    """One event: the emitting contract, its indexed topics and its unindexed data."""

    address: Address
    topics: tuple[Hash32, ...]
    data: bytes


def log_to_item(log: Log) -> list[rlp.Encodable]:
    """Return ``log`` as RLP-ready fields (for embedding in a receipt)."""
    return [log.address, list(log.topics), log.data]


def log_from_item(item: rlp.Item, *, name: str = "log") -> Log:
    """Parse a decoded RLP item as a :class:`Log`; raise DecodingError naming the bad field."""
    fields = rlp.decode_list(item, 3, name=name)
    address = rlp.decode_fixed(fields[0], 20, name=f"{name} address")
    topics = rlp.decode_list(fields[1], name=f"{name} topics")
    if len(topics) > MAX_TOPICS:
        raise DecodingError(f"{name} has {len(topics)} topics, at most {MAX_TOPICS} exist")
    return Log(
        address=Address(address),
        topics=tuple(Hash32(rlp.decode_fixed(t, 32, name=f"{name} topic")) for t in topics),
        data=rlp.decode_bytes(fields[2], name=f"{name} data"),
    )


def encode_log(log: Log) -> bytes:
    """Return the canonical RLP encoding of ``log``."""
    return rlp.encode(log_to_item(log))


def decode_log(data: bytes) -> Log:
    """Decode a log encoded by :func:`encode_log`; raise DecodingError otherwise."""
    return log_from_item(rlp.decode(data))
