"""LtHash16: a homomorphic set hash that commits to the whole world state.

The state root must change whenever any account, balance, nonce, code hash or
storage slot differs, yet cost work proportional to what a block changed, not
to the size of the state. A lattice hash gives both: the commitment is the
lane-wise sum (mod 2**16, 1024 lanes = 2048 bytes) of one expanded digest per
state entry, so a block updates it by subtracting the digests of the entries it
overwrites and adding those of their new values.

Construction and security: Bellare-Micciancio's "incremental hashing" as
instantiated by Lewi, Kim, Maykov and Weis, "Securing Update Propagation with
Homomorphic Hashing" (IACR ePrint 2019/227): LtHash with n = 1024 lanes of
d = 16 bits has ~200 bits of collision resistance when each element is
expanded by an extendable-output function. We expand with SHAKE-128 (FIPS 202)
on both crypto suites; the published state root is the suite's hash of the
2048-byte sum, so every root a user sees is an SM3 digest on ``sm`` chains.

Lane arithmetic is done SWAR-style on one Python integer of 16,384 bits, which
keeps an update at a few big-integer operations. A block's many entries are
expanded and summed by the extension instead (:func:`elements`,
:func:`sum_elements`, :func:`combine`: the same vectors, as their canonical
2048 bytes, computed without the GIL); :func:`element`, :func:`add` and
:func:`subtract` are the reference they are tested against.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from baychain import _evm

LANES = 1024
LANE_BITS = 16
LTHASH_BYTES = LANES * LANE_BITS // 8
_HIGH_BITS = int.from_bytes(b"\x00\x80" * LANES, "little")  # the top bit of every lane
_LOW_BITS = int.from_bytes(b"\xff\x7f" * LANES, "little")  # every bit but the top one
_ALL_BITS = (1 << (LANES * LANE_BITS)) - 1
_DOMAIN = b"baychain/state-entry/v1"


def element(key: bytes, value: bytes) -> int:
    """Return the expanded digest of one state entry as a lane vector.

    ``key`` must be self-delimiting within the state's key space (fixed width
    per kind), so that distinct (key, value) pairs never share a preimage.
    """
    return int.from_bytes(hashlib.shake_128(_DOMAIN + key + value).digest(LTHASH_BYTES), "little")


def add(total: int, item: int) -> int:
    """Lane-wise ``total + item`` modulo 2**16."""
    low_sum = (total & _LOW_BITS) + (item & _LOW_BITS)
    return low_sum ^ ((total ^ item) & _HIGH_BITS)


def subtract(total: int, item: int) -> int:
    """Lane-wise ``total - item`` modulo 2**16."""
    # Setting each lane's top bit of the minuend keeps every lane's borrow inside
    # that lane; the xor then restores the true top bit of the difference.
    low_diff = (total | _HIGH_BITS) - (item & _LOW_BITS)
    return (low_diff ^ ((total ^ ~item) & _HIGH_BITS)) & _ALL_BITS


def to_bytes(total: int) -> bytes:
    """Serialise a lane vector to its canonical 2048 bytes (little-endian lanes)."""
    return total.to_bytes(LTHASH_BYTES, "little")


def from_bytes(data: bytes) -> int:
    """Parse the canonical 2048-byte form written by :func:`to_bytes`."""
    if len(data) != LTHASH_BYTES:
        raise ValueError(f"an LtHash16 value is {LTHASH_BYTES} bytes, got {len(data)}")
    return int.from_bytes(data, "little")


def elements(entries: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
    """Return ``to_bytes(element(key, value))`` for each ``(key, value)`` entry, in order."""
    return _evm.lthash_elements(entries)


def sum_elements(entries: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Return the canonical bytes of the lane-wise sum of the entries' vectors."""
    return _evm.lthash_sum(entries)


def combine(total: int, added: Sequence[bytes], removed: Sequence[bytes]) -> int:
    """Return ``total`` plus the vectors ``added`` minus the vectors ``removed``, lane-wise.

    ``added`` and ``removed`` hold vectors in their canonical 2048 bytes (as
    :func:`elements` and :func:`sum_elements` return them); any other length
    raises ``ValueError``.
    """
    return from_bytes(_evm.lthash_combine(to_bytes(total), added, removed))
