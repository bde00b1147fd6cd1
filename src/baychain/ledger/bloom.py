"""Logs bloom: Ethereum's 2048-bit filter over the addresses and topics of logs.

Yellow Paper section 4.3.1, ``M3:2048``: for each log address and each topic,
take ``keccak256(value)``; each of its byte pairs (0, 1), (2, 3) and (4, 5), read
big-endian and reduced mod 2048, names one bit to set. Bit ``k`` is the bit of
weight ``2**k`` in the 256-byte big-endian number.

The bloom uses keccak-256 on every chain, whatever the crypto suite: it is an
index for ``eth_getLogs`` filters that Ethereum tools compute themselves, not a
commitment (receipts roots commit to the logs).
"""

from __future__ import annotations

from collections.abc import Iterable

from baychain.crypto import keccak256
from baychain.ledger.log import Log

__all__ = ["BLOOM_BYTES", "bloom", "bloom_may_contain"]

BLOOM_BYTES = 256
"""Size of a logs bloom in bytes (2048 bits)."""


def _bits(value: bytes) -> int:
    """The three bloom bits of ``value`` as an integer mask."""
    digest = keccak256(value)
    return (
        (1 << (((digest[0] << 8) | digest[1]) & 2047))
        | (1 << (((digest[2] << 8) | digest[3]) & 2047))
        | (1 << (((digest[4] << 8) | digest[5]) & 2047))
    )


def bloom(logs: Iterable[Log]) -> bytes:
    """Return the 256-byte logs bloom of ``logs`` (a receipt's or a whole block's)."""
    # a value sets the same bits however often it occurs: hash each distinct one once
    # (a block of token transfers repeats the token address and the event topic)
    values: set[bytes] = set()
    for log in logs:
        values.add(log.address)
        values.update(log.topics)
    mask = 0
    for value in values:
        mask |= _bits(value)
    return mask.to_bytes(BLOOM_BYTES, "big")


def bloom_may_contain(logs_bloom: bytes, value: bytes) -> bool:
    """Return False if ``value`` (an address or topic) is surely absent from ``logs_bloom``."""
    mask = _bits(value)
    return int.from_bytes(logs_bloom, "big") & mask == mask
