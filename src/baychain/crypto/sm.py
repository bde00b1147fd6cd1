"""The ``sm`` suite: SM2 signatures, SM3 hashing and SM3-derived addresses.

- hash: SM3 (GB/T 32905-2016).
- signatures: SM2 with the default ID over SM3(Z || M) (GB/T 32918.2-2016),
  64 bytes ``r || s``, randomized (see :mod:`baychain.crypto.sm2`).
- address: the last 20 bytes of ``SM3(public_key64)``, mirroring Ethereum's rule.

SM2 signatures do not reveal the signer's key, so a transaction carries its
64-byte public key and :meth:`SmSuite.signer_address` needs it.
"""

from __future__ import annotations

from baychain.crypto import sm2
from baychain.crypto.sm3 import sm3
from baychain.crypto.suite import CryptoSuite
from baychain.errors import InvalidKey, InvalidSignature
from baychain.primitives import Address, Hash32


def address_of_public_key(public_key: bytes) -> Address:
    """Return ``SM3(public_key)[12:]`` for a 64-byte SM2 public key."""
    if len(public_key) != sm2.PUBLIC_KEY_SIZE:
        raise InvalidKey(f"an SM2 public key is {sm2.PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    return Address(sm3(public_key)[12:])


class SmSuite(CryptoSuite):
    """SM2 + SM3, the Chinese national (GM/T) suite."""

    name = "sm"
    signature_size = sm2.SIGNATURE_SIZE
    recovers_public_key = False
    hash_name = "sm3"
    transaction_type = 0x53  # SM2-signed (ledger.transactions.SM2_TX_TYPE)

    def hash(self, data: bytes) -> Hash32:
        """Return ``SM3(data)``."""
        return sm3(data)

    def new_private_key(self) -> bytes:
        """Return a uniformly random SM2 private key in [1, n-2]."""
        return sm2.new_private_key()

    def public_key(self, private_key: bytes) -> bytes:
        """Return the 64-byte SM2 public key ``d*G``; raise InvalidKey if out of range."""
        return sm2.private_key_to_public_key(private_key)

    def address(self, public_key: bytes) -> Address:
        """Return ``SM3(public_key)[12:]``."""
        return address_of_public_key(public_key)

    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Sign ``message`` with SM2 (default ID); randomized, 64 bytes ``r || s``."""
        return sm2.sign(private_key, message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Return True iff ``signature`` is a valid SM2 signature of ``message``."""
        return sm2.verify(public_key, message, signature)

    def signer_address(
        self, message: bytes, signature: bytes, public_key: bytes | None = None
    ) -> Address:
        """Verify ``signature`` against ``public_key`` and return that key's address.

        Raise InvalidSignature when ``public_key`` is missing or the signature
        fails, and InvalidKey when ``public_key`` is not a curve point.
        """
        if public_key is None:
            raise InvalidSignature(
                "an SM2 signature does not reveal its signer: the public key must be given"
            )
        sm2.check_signature(public_key, message, signature)
        return address_of_public_key(public_key)
