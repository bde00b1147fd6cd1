"""The ``ecdsa`` suite: secp256k1 signatures, keccak-256 and Ethereum addresses.

Glossary:

- *digest*: the 32 bytes actually signed; for a message it is ``keccak256(message)``,
  for an Ethereum transaction the ledger passes its signing hash directly.
- *signature*: 65 bytes ``r (32) || s (32) || recid (1)``, ``recid`` in {0, 1} being
  the parity of the ephemeral point's y coordinate (Ethereum's ``y_parity``).
- *low-s*: ``s <= n/2``. Signing always produces it; verification and recovery
  reject anything else (EIP-2, Homestead), so each signature has one encoding.
- *address*: the last 20 bytes of ``keccak256(public_key64)`` (Yellow Paper, Appendix F).

Signing is deterministic (RFC 6979, as implemented by libsecp256k1 through
coincurve): the same key and digest always give the same signature. Recovery
runs in the Rust extension (``baychain._evm.secp256k1_recover``, the same
libsecp256k1 through the ``secp256k1`` crate) with the GIL released, so threads
recover keys in parallel; :func:`recover_signers` recovers a whole batch
(hashing included) in one call.

Keccak-256 here is the original Keccak submission (padding byte ``0x01``) that
Ethereum uses, not NIST SHA3-256.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import lru_cache
from typing import cast

import sha3
from coincurve import PrivateKey

from baychain import _evm
from baychain.crypto.suite import CryptoSuite
from baychain.errors import InvalidKey, InvalidSignature
from baychain.primitives import Address, Hash32

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Order of the secp256k1 base point (SEC 2, section 2.4.1)."""

SECP256K1_HALF_N = SECP256K1_N // 2
"""Largest ``s`` a valid signature may carry (EIP-2)."""

SIGNATURE_SIZE = 65
"""Bytes in ``r || s || recid``."""

PRIVATE_KEY_SIZE = 32
PUBLIC_KEY_SIZE = 64
DIGEST_SIZE = 32


def keccak256(data: bytes) -> Hash32:
    """Return the Keccak-256 digest of ``data`` (the EVM's ``KECCAK256``/``SHA3`` opcode)."""
    return Hash32(sha3.keccak_256(data).digest())


def address_of_public_key(public_key: bytes) -> Address:
    """Return the Ethereum address of a 64-byte public key: ``keccak256(pub)[12:]``."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise InvalidKey(f"a public key is {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    return Address(sha3.keccak_256(public_key).digest()[12:])


@lru_cache(maxsize=256)
def _load_private_key(private_key: bytes) -> PrivateKey:
    """Parse a 32-byte secret (cached: parsing computes the public point)."""
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise InvalidKey(f"a private key is {PRIVATE_KEY_SIZE} bytes, got {len(private_key)}")
    scalar = int.from_bytes(private_key, "big")
    if not 1 <= scalar < SECP256K1_N:
        raise InvalidKey("a secp256k1 private key must be in [1, n-1]")
    return PrivateKey(private_key)


def _check_signature(signature: bytes, *, allow_high_s: bool) -> None:
    """Raise InvalidSignature unless ``signature`` is a well-formed 65-byte signature."""
    # Length: r || s || recid.
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidSignature(f"a signature is {SIGNATURE_SIZE} bytes, got {len(signature)}")
    r = int.from_bytes(signature[0:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    # r and s are non-zero scalars modulo n (SEC 1, 4.1.4 step 1).
    if not (1 <= r < SECP256K1_N and 1 <= s < SECP256K1_N):
        raise InvalidSignature("signature r and s must be in [1, n-1]")
    # One encoding per signature: s in the lower half of the range (EIP-2).
    if not allow_high_s and s > SECP256K1_HALF_N:
        raise InvalidSignature("signature s is greater than secp256k1n/2 (EIP-2)")
    # Ethereum's y_parity: recovery ids 2 and 3 (r >= p - n) are never produced.
    if signature[64] not in (0, 1):
        raise InvalidSignature(f"signature recovery id must be 0 or 1, got {signature[64]}")


def sign_digest(private_key: bytes, digest: bytes) -> bytes:
    """Sign a 32-byte ``digest``; return ``r || s || recid`` with low ``s`` (RFC 6979)."""
    if len(digest) != DIGEST_SIZE:
        raise InvalidSignature(f"a digest to sign is {DIGEST_SIZE} bytes, got {len(digest)}")
    signature: bytes = _load_private_key(private_key).sign_recoverable(digest, hasher=None)
    return signature


def recover_public_key_from_digest(
    digest: bytes, signature: bytes, *, allow_high_s: bool = False
) -> bytes:
    """Return the 64-byte public key that made ``signature`` over ``digest``.

    Raise :class:`InvalidSignature` for a malformed signature, a high ``s``
    (unless ``allow_high_s``, which only the EVM's ``ecrecover`` precompile
    wants) or one from which no key can be recovered.
    """
    public_key = _evm.secp256k1_recover(digest, signature, allow_high_s)
    if public_key is None:
        raise _refusal(digest, signature, allow_high_s=allow_high_s)
    return public_key


def recover_signers(
    messages: Sequence[bytes], signatures: Sequence[bytes]
) -> list[tuple[bytes, Address] | InvalidSignature]:
    """Return, for each message, the signer of ``keccak256(message)``: (public key, address).

    ``signatures[i]`` signs ``messages[i]`` (low ``s`` only); where it is not a
    valid signature, the list holds the :class:`InvalidSignature` that
    :func:`recover_public_key_from_digest` would raise. One call to the Rust
    extension does the hashing and recovery of the whole batch with the GIL released.
    """
    # the extension's (bytes, bytes) pairs are (public key, Address) as they are
    signers = cast(
        list[tuple[bytes, Address] | None], _evm.keccak_recover_signers(messages, signatures)
    )
    if None not in signers:
        return cast(list[tuple[bytes, Address] | InvalidSignature], signers)
    return [
        signer
        if signer is not None
        else _refusal(keccak256(message), signature, allow_high_s=False)
        for signer, message, signature in zip(signers, messages, signatures, strict=True)
    ]


def _refusal(digest: bytes, signature: bytes, *, allow_high_s: bool) -> InvalidSignature:
    """The error for a signature the recovery refused: the rule it breaks, or no key."""
    try:
        if len(digest) != DIGEST_SIZE:
            raise InvalidSignature(f"a signed digest is {DIGEST_SIZE} bytes, got {len(digest)}")
        _check_signature(signature, allow_high_s=allow_high_s)
    except InvalidSignature as error:
        return error
    return InvalidSignature("no public key can be recovered from this signature")


def private_key_to_public_key(private_key: bytes) -> bytes:
    """Return the 64-byte uncompressed public key (without ``04``) of ``private_key``."""
    point: bytes = _load_private_key(private_key).public_key.format(compressed=False)
    return point[1:]


class EcdsaSuite(CryptoSuite):
    """secp256k1 + keccak-256 + Ethereum addresses: what Ethereum tools expect."""

    name = "ecdsa"
    signature_size = SIGNATURE_SIZE
    recovers_public_key = True
    hash_name = "keccak256"
    transaction_type = 0x02  # EIP-1559 (ledger.transactions.DYNAMIC_FEE_TX_TYPE)

    def hash(self, data: bytes) -> Hash32:
        """Return ``keccak256(data)``."""
        return keccak256(data)

    def new_private_key(self) -> bytes:
        """Return a uniformly random scalar in [1, n-1] from the OS CSPRNG."""
        return (secrets.randbelow(SECP256K1_N - 1) + 1).to_bytes(PRIVATE_KEY_SIZE, "big")

    def public_key(self, private_key: bytes) -> bytes:
        """Return the 64-byte public key of ``private_key``; raise InvalidKey if out of range."""
        return private_key_to_public_key(private_key)

    def address(self, public_key: bytes) -> Address:
        """Return ``keccak256(public_key)[12:]``."""
        return address_of_public_key(public_key)

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Sign ``keccak256(message)`` deterministically; return 65 bytes ``r||s||recid``."""
        return sign_digest(private_key, keccak256(message))

    def sign_digest(self, private_key: bytes, digest: bytes) -> bytes:
        """Sign a precomputed 32-byte digest (an Ethereum transaction's signing hash)."""
        return sign_digest(private_key, digest)

    def recover_public_key_from_digest(self, digest: bytes, signature: bytes) -> bytes:
        """Return the 64-byte signer key of ``signature`` over ``digest`` (low-s only)."""
        return recover_public_key_from_digest(digest, signature)

    def recover_signers(
        self, messages: Sequence[bytes], signatures: Sequence[bytes]
    ) -> list[tuple[bytes, Address] | InvalidSignature]:
        """Each message's signer (public key, address) or the error refusing its signature."""
        return recover_signers(messages, signatures)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Return True iff ``signature`` over ``keccak256(message)`` recovers ``public_key``."""
        try:
            recovered = recover_public_key_from_digest(keccak256(message), signature)
        except InvalidSignature:
            return False
        return recovered == public_key

    def signer_address(
        self, message: bytes, signature: bytes, public_key: bytes | None = None
    ) -> Address:
        """Return the address recovered from ``signature`` (``public_key`` is ignored)."""
        recovered = recover_public_key_from_digest(keccak256(message), signature)
        return address_of_public_key(recovered)
