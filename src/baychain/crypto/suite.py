"""The CryptoSuite contract: one value carries a chain's hash, signatures and address rule.

A chain picks its suite once, in genesis (``"ecdsa"`` or ``"sm"``), and every
part of the system asks the suite instead of branching on the algorithm:

- ``hash``: the chain's digest (keccak-256 or SM3) used for transaction hashes,
  block hashes and Merkle trees.
- ``sign`` / ``verify`` / ``signer_address``: signatures over a *message* (the
  suite hashes it the way its standard says: keccak-256 for secp256k1, and
  SM3(Z || M) with the default user ID for SM2).
- ``address``: the 20-byte account address of a public key.
- ``hash_name`` and ``transaction_type``: what the suite is called where a name or a
  number must stand for it (the Rust extension's hash names, the EIP-2718 type byte
  of the transactions its keys sign), so callers never test ``name``.

Public keys cross this interface as 64 bytes (the uncompressed point without
the ``04`` prefix), private keys as 32 bytes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from baychain.primitives import Address, Hash32


class CryptoSuite(ABC):
    """The hash, signature scheme and address rule of one chain."""

    name: str
    """``"ecdsa"`` or ``"sm"``: the value written in genesis."""

    signature_size: int
    """Length in bytes of a signature made by :meth:`sign`."""

    recovers_public_key: bool
    """True when a signature alone yields the signer (secp256k1); False when the
    signer's public key must travel with the signature (SM2)."""

    hash_name: str
    """The name of :meth:`hash`'s function, ``"keccak256"`` or ``"sm3"``: the name
    ``baychain._evm`` knows it by (see :func:`baychain.ledger.merkle.suite_merkle_root`)."""

    transaction_type: int
    """The EIP-2718 type byte of the transactions a wallet of this suite signs:
    ``0x02`` (EIP-1559) on ``ecdsa``, ``0x53`` (SM2-signed) on ``sm``. It is one of
    the types :func:`baychain.ledger.transactions.accepted_tx_types` accepts."""

    @abstractmethod
    def hash(self, data: bytes) -> Hash32:
        """Return the chain's 32-byte digest of ``data``."""

    @abstractmethod
    def new_private_key(self) -> bytes:
        """Return a fresh 32-byte private key from the operating system's CSPRNG."""

    @abstractmethod
    def public_key(self, private_key: bytes) -> bytes:
        """Return the 64-byte public key of ``private_key``; raise InvalidKey if out of range."""

    @abstractmethod
    def address(self, public_key: bytes) -> Address:
        """Return the account address of a 64-byte public key."""

    @abstractmethod
    def sign(self, private_key: bytes, message: bytes) -> bytes:
        """Sign ``message``; return the signature.

        ``ecdsa`` signatures are deterministic (RFC 6979); ``sm`` signatures are
        randomized (see :mod:`baychain.crypto.sm2`), so never rely on two
        signatures of the same message being equal.
        """

    @abstractmethod
    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Return True iff ``signature`` is valid for ``message`` under ``public_key``."""

    @abstractmethod
    def signer_address(
        self, message: bytes, signature: bytes, public_key: bytes | None = None
    ) -> Address:
        """Return the address that signed ``message``.

        Suites that recover keys ignore ``public_key``; the others require it,
        verify the signature against it and derive the address from it. Raise
        :class:`~baychain.errors.InvalidSignature` when the signature is not valid.
        """
