"""Private keys at rest: password-encrypted keystore documents (always encrypted).

A keystore is a JSON-serialisable dict::

    {
      "version": 1,
      "suite": "sm",                          # the CryptoSuite the key belongs to
      "address": "0x…",                       # 20 bytes, lower-case hex
      "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "…"},
      "cipher": {"name": "sm4-gcm", "nonce": "…", "ciphertext": "…"}
    }

Key derivation: scrypt (RFC 7914) turns the password (UTF-8 after Unicode
NFKC normalisation) and a random 32-byte salt into 48 bytes: an SM4 key
(bytes 0-15) and a MAC key (bytes 16-47, used only by the fallback cipher).

Ciphers (the writer picks the first one the linked OpenSSL supports):

- ``sm4-gcm``: SM4-GCM with a random 12-byte nonce; ``ciphertext`` holds the
  encrypted key followed by the 16-byte tag.
- ``sm4-cbc-hmac-sm3``: SM4-CBC with a random 16-byte ``iv``, then
  ``mac = HMAC-SM3(mac_key, header || iv || ciphertext)`` (encrypt-then-MAC).

Both authenticate a header naming the version, suite and address, so a file
whose metadata was edited fails like a wrong password would. Reading a file
bounds its scrypt cost so a crafted keystore cannot exhaust the node's memory,
and refuses a cost too low to protect the key (n < 2**14, r < 8): such a file was
not written by BayChain, or was weakened to be cracked.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from baychain.crypto import sm4
from baychain.crypto.sm3 import hmac_sm3
from baychain.crypto.suite import CryptoSuite
from baychain.errors import (
    CryptoError,
    DecodingError,
    DecryptionFailed,
    InvalidKey,
    WrongPassword,
)

KEYSTORE_VERSION = 1

DEFAULT_SCRYPT_N = 2**17
"""scrypt CPU/memory cost (128 MiB with r = 8; the OWASP 2023 minimum)."""
DEFAULT_SCRYPT_R = 8
DEFAULT_SCRYPT_P = 1
MIN_SCRYPT_N = 2**14
"""Least scrypt cost a keystore may have (16 MiB with r = 8; below it a stolen keystore's
password falls to guessing too cheaply)."""
MIN_SCRYPT_R = 8
"""Least scrypt block size (with ``MIN_SCRYPT_N``, a 16 MiB working set per guess)."""
MAX_SCRYPT_R = 32
MAX_SCRYPT_P = 16
MAX_SCRYPT_MEMORY_BYTES = 1 << 30
"""Largest scrypt working set (128 * n * r bytes) a keystore may ask for."""

_REENCRYPT = "re-encrypt the key with the default parameters (encrypt_key)"

SALT_SIZE = 32
_DERIVED_KEY_SIZE = sm4.SM4_KEY_SIZE + 32
_MAC_SIZE = 32

CIPHER_GCM = "sm4-gcm"
CIPHER_CBC_HMAC = "sm4-cbc-hmac-sm3"
CIPHERS = (CIPHER_GCM, CIPHER_CBC_HMAC)


def _password_bytes(password: str) -> bytes:
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    """Return (SM4 key, MAC key) derived from ``password`` with scrypt."""
    derived = Scrypt(salt=salt, length=_DERIVED_KEY_SIZE, n=n, r=r, p=p).derive(
        _password_bytes(password)
    )
    return derived[: sm4.SM4_KEY_SIZE], derived[sm4.SM4_KEY_SIZE :]


def _header(suite_name: str, address: bytes) -> bytes:
    """The authenticated metadata: version, suite and address."""
    return b"baychain-keystore/%d/" % KEYSTORE_VERSION + suite_name.encode() + b"/" + address


def default_cipher() -> str:
    """Return the cipher new keystores use: SM4-GCM when OpenSSL has it."""
    return CIPHER_GCM if sm4.gcm_available() else CIPHER_CBC_HMAC


def encrypt_key(
    suite: CryptoSuite,
    private_key: bytes,
    password: str,
    *,
    scrypt_n: int = DEFAULT_SCRYPT_N,
    scrypt_r: int = DEFAULT_SCRYPT_R,
    scrypt_p: int = DEFAULT_SCRYPT_P,
    cipher: str | None = None,
) -> dict[str, Any]:
    """Encrypt ``private_key`` (a key of ``suite``) under ``password``; return a keystore dict.

    Raise InvalidKey if the key is not valid for the suite. ``cipher`` defaults
    to :func:`default_cipher`; lower ``scrypt_n`` only in tests.
    """
    address = suite.address(suite.public_key(private_key))
    _check_scrypt_params(scrypt_n, scrypt_r, scrypt_p)
    cipher = cipher or default_cipher()
    salt = secrets.token_bytes(SALT_SIZE)
    enc_key, mac_key = _derive(password, salt, scrypt_n, scrypt_r, scrypt_p)
    header = _header(suite.name, address)
    if cipher == CIPHER_GCM:
        nonce = secrets.token_bytes(sm4.GCM_NONCE_SIZE)
        sealed = sm4.gcm_encrypt(enc_key, nonce, private_key, header)
        cipher_fields = {"name": cipher, "nonce": nonce.hex(), "ciphertext": sealed.hex()}
    elif cipher == CIPHER_CBC_HMAC:
        iv = secrets.token_bytes(sm4.SM4_BLOCK_SIZE)
        ciphertext = sm4.cbc_encrypt(enc_key, iv, private_key)
        mac = hmac_sm3(mac_key, header + iv + ciphertext)
        cipher_fields = {
            "name": cipher,
            "iv": iv.hex(),
            "ciphertext": ciphertext.hex(),
            "mac": mac.hex(),
        }
    else:
        raise CryptoError(f"unknown keystore cipher {cipher!r}; choose one of {', '.join(CIPHERS)}")
    return {
        "version": KEYSTORE_VERSION,
        "suite": suite.name,
        "address": "0x" + address.hex(),
        "kdf": {"name": "scrypt", "n": scrypt_n, "r": scrypt_r, "p": scrypt_p, "salt": salt.hex()},
        "cipher": cipher_fields,
    }


def decrypt_key(suite: CryptoSuite, keystore: Mapping[str, Any], password: str) -> bytes:
    """Return the private key sealed in ``keystore``.

    Raise DecodingError for a document that is not a version-1 keystore,
    InvalidKey when it holds a key of another suite, and WrongPassword when
    ``password`` does not open it (or the authenticated metadata was altered).
    """
    # The document's shape, in the order it is written.
    if _field(keystore, "version", int) != KEYSTORE_VERSION:
        raise DecodingError(f"unsupported keystore version {keystore.get('version')!r}")
    suite_name = _field(keystore, "suite", str)
    if suite_name != suite.name:
        raise InvalidKey(
            f"the keystore holds a {suite_name!r} key but this chain uses the {suite.name!r} suite"
        )
    address_text = _field(keystore, "address", str)
    address = _hex(address_text, "address")
    if len(address) != 20:
        raise DecodingError(f"keystore address must be 20 bytes, got {len(address)}")
    kdf = _field(keystore, "kdf", Mapping)
    if _field(kdf, "name", str, "kdf.") != "scrypt":
        raise DecodingError(f"unsupported keystore kdf {kdf.get('name')!r}; expected 'scrypt'")
    n, r, p = (_field(kdf, k, int, "kdf.") for k in ("n", "r", "p"))
    _check_scrypt_params(n, r, p)
    salt = _hex(_field(kdf, "salt", str, "kdf."), "kdf.salt")
    cipher = _field(keystore, "cipher", Mapping)
    cipher_name = _field(cipher, "name", str, "cipher.")
    if cipher_name not in CIPHERS:
        raise DecodingError(f"unsupported keystore cipher {cipher_name!r}")

    enc_key, mac_key = _derive(password, salt, n, r, p)
    header = _header(suite_name, address)
    ciphertext = _hex(_field(cipher, "ciphertext", str, "cipher."), "cipher.ciphertext")
    if cipher_name == CIPHER_GCM:
        nonce = _hex(_field(cipher, "nonce", str, "cipher."), "cipher.nonce")
        if len(nonce) != sm4.GCM_NONCE_SIZE:
            raise DecodingError(f"keystore nonce must be {sm4.GCM_NONCE_SIZE} bytes")
        try:
            private_key = sm4.gcm_decrypt(enc_key, nonce, ciphertext, header)
        except DecryptionFailed:
            raise WrongPassword(address_text) from None
    else:
        iv = _hex(_field(cipher, "iv", str, "cipher."), "cipher.iv")
        mac = _hex(_field(cipher, "mac", str, "cipher."), "cipher.mac")
        if len(iv) != sm4.SM4_BLOCK_SIZE or len(mac) != _MAC_SIZE:
            raise DecodingError("keystore iv must be 16 bytes and mac 32 bytes")
        # Encrypt-then-MAC: check the MAC before touching the ciphertext.
        if not hmac.compare_digest(hmac_sm3(mac_key, header + iv + ciphertext), mac):
            raise WrongPassword(address_text)
        private_key = sm4.cbc_decrypt(enc_key, iv, ciphertext)

    # The key must be the suite's and belong to the authenticated address.
    if suite.address(suite.public_key(private_key)) != address:
        raise InvalidKey(f"the keystore's key does not belong to its address {address_text}")
    return private_key


def _check_scrypt_params(n: int, r: int, p: int) -> None:
    """Raise DecodingError unless (n, r, p) are valid, strong enough and within the memory bound.

    A keystore with a cheap cost (``n`` below :data:`MIN_SCRYPT_N`, ``r`` below
    :data:`MIN_SCRYPT_R`) makes each password guess cheap for whoever copies the
    file, so it is refused rather than silently accepted; ``r`` and ``p`` above
    their bounds only cost the node time and memory.
    """
    if n < 2 or n & (n - 1):
        raise DecodingError(f"scrypt n must be a power of two greater than 1, got {n}")
    if not MIN_SCRYPT_R <= r <= MAX_SCRYPT_R:
        if r < MIN_SCRYPT_R:
            raise DecodingError(f"scrypt r={r} is too weak: at least {MIN_SCRYPT_R}; {_REENCRYPT}")
        raise DecodingError(f"scrypt r must be between {MIN_SCRYPT_R} and {MAX_SCRYPT_R}, got {r}")
    if not 1 <= p <= MAX_SCRYPT_P:
        raise DecodingError(f"scrypt p must be between 1 and {MAX_SCRYPT_P}, got {p}")
    if n < MIN_SCRYPT_N:
        raise DecodingError(f"scrypt n={n} is too weak: at least {MIN_SCRYPT_N}; {_REENCRYPT}")
    if 128 * n * r > MAX_SCRYPT_MEMORY_BYTES:
        raise DecodingError(
            f"scrypt parameters n={n}, r={r} need more than {MAX_SCRYPT_MEMORY_BYTES} bytes"
        )


def _field(doc: Mapping[str, Any], name: str, kind: type, prefix: str = "") -> Any:
    """Return ``doc[name]`` if present and of type ``kind``; else raise DecodingError."""
    value = doc.get(name)
    # bool is an int subclass; a keystore never stores booleans.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DecodingError(f"keystore field {prefix}{name!s} is missing or not a {kind.__name__}")
    return value


def _hex(text: str, name: str) -> bytes:
    """Decode a hex field (``0x`` optional) or raise DecodingError naming it."""
    body = text[2:] if text[:2] in ("0x", "0X") else text
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise DecodingError(f"keystore field {name} is not hex") from None
