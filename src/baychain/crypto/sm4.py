"""SM4, the Chinese national block cipher (GB/T 32907-2016), and its modes of use.

SM4 has 128-bit blocks and 128-bit keys. BayChain uses it to encrypt keys at
rest (:mod:`baychain.crypto.keystore`) and private payloads:

- GCM (NIST SP 800-38D with SM4 as the block cipher, as in RFC 8998): a
  12-byte nonce, a 16-byte tag appended to the ciphertext. Preferred.
- CBC with PKCS#7 padding, for OpenSSL builds without SM4-GCM; it has no
  integrity of its own and must be paired with a MAC (encrypt-then-MAC).

The cipher runs in OpenSSL through ``cryptography``.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from baychain.errors import CryptoError, DecryptionFailed

SM4_KEY_SIZE = 16
"""Bytes in an SM4 key."""

SM4_BLOCK_SIZE = 16
"""Bytes in an SM4 block (and a CBC IV)."""

GCM_NONCE_SIZE = 12
"""Bytes in a GCM nonce (the 96-bit size SP 800-38D recommends)."""

GCM_TAG_SIZE = 16
"""Bytes in a GCM authentication tag."""

_TAG_MISMATCH = "SM4-GCM authentication failed: wrong key or tampered ciphertext"


def _check_key(key: bytes) -> None:
    if len(key) != SM4_KEY_SIZE:
        raise CryptoError(f"an SM4 key is {SM4_KEY_SIZE} bytes, got {len(key)}")


def encrypt_block(key: bytes, block: bytes) -> bytes:
    """Encrypt one 16-byte block with SM4 (the raw block transformation of GB/T 32907)."""
    _check_key(key)
    if len(block) != SM4_BLOCK_SIZE:
        raise CryptoError(f"an SM4 block is {SM4_BLOCK_SIZE} bytes, got {len(block)}")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def decrypt_block(key: bytes, block: bytes) -> bytes:
    """Decrypt one 16-byte block with SM4."""
    _check_key(key)
    if len(block) != SM4_BLOCK_SIZE:
        raise CryptoError(f"an SM4 block is {SM4_BLOCK_SIZE} bytes, got {len(block)}")
    decryptor = Cipher(algorithms.SM4(key), modes.ECB()).decryptor()
    return decryptor.update(block) + decryptor.finalize()


def gcm_available() -> bool:
    """Return True when the linked OpenSSL offers SM4 in GCM mode."""
    try:
        Cipher(algorithms.SM4(bytes(SM4_KEY_SIZE)), modes.GCM(bytes(GCM_NONCE_SIZE))).encryptor()
    except UnsupportedAlgorithm:
        return False
    return True


def gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """Return ``ciphertext || tag`` of SM4-GCM; ``nonce`` must never repeat under ``key``."""
    _check_key(key)
    if len(nonce) != GCM_NONCE_SIZE:
        raise CryptoError(f"an SM4-GCM nonce is {GCM_NONCE_SIZE} bytes, got {len(nonce)}")
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(associated_data)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext + encryptor.tag


def gcm_decrypt(key: bytes, nonce: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    """Open ``ciphertext || tag``; raise DecryptionFailed if the tag does not match."""
    _check_key(key)
    if len(nonce) != GCM_NONCE_SIZE:
        raise CryptoError(f"an SM4-GCM nonce is {GCM_NONCE_SIZE} bytes, got {len(nonce)}")
    if len(sealed) < GCM_TAG_SIZE:
        raise DecryptionFailed(_TAG_MISMATCH)
    ciphertext, tag = sealed[:-GCM_TAG_SIZE], sealed[-GCM_TAG_SIZE:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(associated_data)
    try:
        return decryptor.update(ciphertext) + decryptor.finalize()
    except InvalidTag:
        raise DecryptionFailed(_TAG_MISMATCH) from None


def cbc_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """Return SM4-CBC of ``plaintext`` padded with PKCS#7 (unauthenticated: add a MAC)."""
    _check_key(key)
    if len(iv) != SM4_BLOCK_SIZE:
        raise CryptoError(f"an SM4-CBC IV is {SM4_BLOCK_SIZE} bytes, got {len(iv)}")
    padder = padding.PKCS7(SM4_BLOCK_SIZE * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Invert :func:`cbc_encrypt`; raise CryptoError on bad length or padding.

    Check the MAC *before* calling this, so padding errors reveal nothing.
    """
    _check_key(key)
    if len(iv) != SM4_BLOCK_SIZE:
        raise CryptoError(f"an SM4-CBC IV is {SM4_BLOCK_SIZE} bytes, got {len(iv)}")
    if not ciphertext or len(ciphertext) % SM4_BLOCK_SIZE:
        raise CryptoError("SM4-CBC ciphertext is not a whole number of blocks")
    decryptor = Cipher(algorithms.SM4(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(SM4_BLOCK_SIZE * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise CryptoError("SM4-CBC padding is invalid") from None
