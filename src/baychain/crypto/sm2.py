"""SM2 digital signatures (GB/T 32918.2-2016) on the recommended curve (GB/T 32918.5-2017).

Glossary:

- *ID*: the signer's distinguishing identifier. BayChain always uses the
  default ``"1234567812345678"`` (GM/T 0009-2012), so an address
  and its public key are all a verifier needs.
- *Z*: ``SM3(ENTL || ID || a || b || xG || yG || xA || yA)`` where ENTL is the
  ID's length in *bits* as two big-endian bytes (GB/T 32918.2, clause 5.5).
- *e*: ``SM3(Z || M)``, the digest actually signed (clause 6.1, steps A1-A2).
- *signature*: 64 bytes ``r || s``, each a scalar in [1, n-1] (clause 7.1, B1-B2).
- *public key*: 64 bytes ``xA || yA``; *private key*: 32 bytes ``d`` in [1, n-2]
  (GB/T 32918.1, clause 6.1: ``1 + d`` must be invertible mod n).

Implementation: verification, the hot path of an ``sm`` chain (every
transaction and every vote), runs in our Rust extension
(``baychain._evm.sm2_verify``, on the RustCrypto ``sm2`` crate with a
variable-time double-scalar multiplication, which is safe because everything a
verifier touches is public). It releases the GIL while it works and measured
about 1.6x the throughput of Tongsuo through ``tongsuopy`` on one core
(``bench/crypto_bench.py``). Key generation and signing handle secrets and stay
in Tongsuo (compiled, constant time) through ``tongsuopy``, whose SM2 sign
computes Z with the default ID itself; :func:`tongsuo_verify` keeps Tongsuo's
verifier as a cross-check for the tests and the benchmark. The test suite
checks both against the standard's worked example and against each other.
Tongsuo does not let a caller set another ID or supply a raw digest, which is
why this module only supports the default ID.

Signing randomness: Tongsuo draws the per-signature ``k`` from its CSPRNG and
exposes no way to supply it, so **SM2 signatures are randomized**: signing the
same message twice gives two different, equally valid signatures. Nothing that
decides state depends on which one a signer produced (a transaction's sender,
validity and effects are the same). Deriving ``k`` deterministically would mean
doing the secret scalar multiplication in Python, which is not constant time;
we prefer the compiled path.
"""

from __future__ import annotations

import secrets
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from tongsuopy.crypto import hashes
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InvalidSignature as _TongsuoInvalidSignature

from baychain import _evm
from baychain.crypto.sm3 import sm3
from baychain.errors import InvalidKey, InvalidSignature

# Recommended curve parameters, GB/T 32918.5-2017 clause 4 (y^2 = x^3 + ax + b over F_p).
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
SM2_GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

DEFAULT_USER_ID = b"1234567812345678"
"""The default signer ID (GM/T 0009-2012); 16 bytes, so ENTL = 0x0080."""

SIGNATURE_SIZE = 64
PRIVATE_KEY_SIZE = 32
PUBLIC_KEY_SIZE = 64

_CURVE_PREFIX = b"".join(v.to_bytes(32, "big") for v in (SM2_A, SM2_B, SM2_GX, SM2_GY))
_SIGNATURE_ALGORITHM = ec.ECDSA(hashes.SM3())
"""Tongsuo's name for "SM2 with SM3, default ID" on an SM2 key."""


def compute_z(public_key: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Return Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (clause 5.5)."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"an SM2 public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    bit_length = len(user_id) * 8
    if bit_length > 0xFFFF:
        raise InvalidKey("an SM2 user ID must be shorter than 8192 bytes")
    return sm3(bit_length.to_bytes(2, "big") + user_id + _CURVE_PREFIX + public_key)


def compute_e(public_key: bytes, message: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Return e = SM3(Z_A || M), the digest an SM2 signature covers (clause 6.1, A1-A2)."""
    return sm3(compute_z(public_key, user_id) + message)


def check_private_key(private_key: bytes) -> int:
    """Return ``d`` as an integer; raise InvalidKey unless it is 32 bytes in [1, n-2]."""
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise InvalidKey(f"an SM2 private key is {PRIVATE_KEY_SIZE} bytes, got {len(private_key)}")
    d = int.from_bytes(private_key, "big")
    if not 1 <= d <= SM2_N - 2:
        raise InvalidKey("an SM2 private key must be in [1, n-2] (GB/T 32918.1, 6.1)")
    return d


def new_private_key() -> bytes:
    """Return a uniformly random private key in [1, n-2] from the OS CSPRNG."""
    return (secrets.randbelow(SM2_N - 2) + 1).to_bytes(PRIVATE_KEY_SIZE, "big")


@lru_cache(maxsize=256)
def _load_private_key(private_key: bytes) -> ec.EllipticCurvePrivateKey:
    """Parse a private key into a Tongsuo key (cached: parsing computes d*G)."""
    return ec.derive_private_key(check_private_key(private_key), ec.SM2())


@lru_cache(maxsize=4096)
def _load_public_key(public_key: bytes) -> ec.EllipticCurvePublicKey:
    """Parse a 64-byte public key into a Tongsuo key; raise InvalidKey if off the curve.

    Cached because a chain sees the same senders and validators again and again.
    """
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"an SM2 public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), b"\x04" + public_key)
    except ValueError:
        raise InvalidKey("the SM2 public key is not a point on the curve") from None


def private_key_to_public_key(private_key: bytes) -> bytes:
    """Return the 64-byte public key ``d*G`` of ``private_key``."""
    numbers = _load_private_key(private_key).public_key().public_numbers()
    return int(numbers.x).to_bytes(32, "big") + int(numbers.y).to_bytes(32, "big")


def check_public_key(public_key: bytes) -> None:
    """Raise InvalidKey unless ``public_key`` is 64 bytes naming a point on the curve."""
    _load_public_key(public_key)


def sign(private_key: bytes, message: bytes) -> bytes:
    """Sign SM3(Z || message) with the default ID; return 64 bytes ``r || s``.

    The signature is randomized (see the module docstring).
    """
    der = _load_private_key(private_key).sign(message, _SIGNATURE_ALGORITHM)
    r, s = decode_dss_signature(der)
    return int(r).to_bytes(32, "big") + int(s).to_bytes(32, "big")


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Return True iff ``signature`` (``r || s``) is valid for ``message`` under ``public_key``.

    Runs GB/T 32918.2 clause 7.1 (B1-B7) with the default ID in the Rust
    extension, with the GIL released. Returns False, never raises, for a
    malformed signature (not 64 bytes, r or s outside [1, n-1]) or public key
    (not 64 bytes, a coordinate not below p, or not a point on the curve: the
    keys :func:`check_public_key` rejects).
    """
    return _evm.sm2_verify(public_key, message, signature)


def tongsuo_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """:func:`verify` computed by Tongsuo instead: the cross-check for tests and benchmarks.

    Same contract as :func:`verify`; about 1.6x slower, so the node does not call it.
    """
    # Length: r || s.
    if len(signature) != SIGNATURE_SIZE:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    # r and s in [1, n-1] (clause 7.1, B1-B2).
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        return False
    try:
        key = _load_public_key(public_key)
    except InvalidKey:
        return False
    # B3-B7 (Z, e, t = r + s, (x1, y1) = sG + tP, R = e + x1 == r) run in Tongsuo.
    try:
        key.verify(encode_dss_signature(r, s), message, _SIGNATURE_ALGORITHM)
    except _TongsuoInvalidSignature:
        return False
    return True


def check_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise InvalidKey for a bad key and InvalidSignature for a signature that fails."""
    if verify(public_key, message, signature):
        return  # verify accepts only keys that check_public_key accepts
    check_public_key(public_key)
    raise InvalidSignature("the SM2 signature does not verify under the given public key")
