"""SM3, the Chinese national hash function (GB/T 32905-2016), and HMAC-SM3.

SM3 maps a message of any length to a 256-bit digest. It is the ``sm`` suite's
chain hash (transactions, blocks, Merkle trees), the hash inside SM2 signatures
(GB/T 32918.2, clause 5.5) and, keyed as HMAC-SM3 (RFC 2104 construction), the
MAC of the keystore's fallback cipher mode.

The compiled implementation comes from OpenSSL through :mod:`hashlib` when the
linked OpenSSL provides ``sm3`` (OpenSSL 3 does), else from Tongsuo through
``tongsuopy``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from baychain.primitives import Hash32

SM3_DIGEST_SIZE = 32
"""Bytes in an SM3 digest."""

SM3_BLOCK_SIZE = 64
"""Bytes in an SM3 message block (the HMAC block size)."""


def _hashlib_sm3() -> Callable[[bytes], bytes] | None:
    """Return a fast SM3 function backed by hashlib, or None if OpenSSL lacks SM3."""
    try:
        base = hashlib.new("sm3")
    except ValueError:
        return None

    def digest(data: bytes) -> bytes:
        # Copying an initialised context skips the per-call algorithm lookup.
        h = base.copy()
        h.update(data)
        return h.digest()

    return digest


def _tongsuo_sm3() -> Callable[[bytes], bytes]:
    """Return SM3 backed by Tongsuo (used when hashlib has no ``sm3``)."""
    from tongsuopy.crypto import hashes

    def digest(data: bytes) -> bytes:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        result: bytes = h.finalize()
        return result

    return digest


_sm3 = _hashlib_sm3() or _tongsuo_sm3()


def sm3(data: bytes) -> Hash32:
    """Return the 32-byte SM3 digest of ``data`` (GB/T 32905-2016)."""
    return Hash32(_sm3(data))


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """Return HMAC-SM3(key, data), 32 bytes (RFC 2104 with SM3 as the hash)."""
    inner_pad = bytes(0x36 for _ in range(SM3_BLOCK_SIZE))
    outer_pad = bytes(0x5C for _ in range(SM3_BLOCK_SIZE))
    if len(key) > SM3_BLOCK_SIZE:
        key = _sm3(key)
    key = key.ljust(SM3_BLOCK_SIZE, b"\x00")
    inner = _sm3(bytes(k ^ p for k, p in zip(key, inner_pad, strict=True)) + data)
    return _sm3(bytes(k ^ p for k, p in zip(key, outer_pad, strict=True)) + inner)
