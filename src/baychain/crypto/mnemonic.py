"""Wallet keys from a mnemonic: BIP-39 seeds and BIP-32 derivation on secp256k1.

Glossary:

- *mnemonic*: a sentence of words (BIP-39). Only the seed computation is done
  here; the word list and checksum are not checked, which BIP-39 allows (the
  seed is defined for any sentence), so a typo yields other keys, not an error.
- *seed*: ``PBKDF2-HMAC-SHA512(NFKD(mnemonic), "mnemonic" + NFKD(passphrase),
  2048 rounds)``, 64 bytes (BIP-39, "From mnemonic to seed").
- *path*: ``m/44'/60'/0'/0/i``; ``'`` (or ``h``) marks a hardened index, i.e.
  ``i + 2**31`` (BIP-32, BIP-44; coin type 60 is Ether, SLIP-44).
- *extended key*: a private key with its 32-byte chain code.

Ethereum wallets and development tools (Hardhat, Foundry, Ganache) give
account ``i`` of a mnemonic the key at ``m/44'/60'/0'/0/i``.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from coincurve import PrivateKey

from baychain.crypto.ecdsa import SECP256K1_N
from baychain.errors import DecodingError, InvalidKey

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The public development mnemonic of Hardhat and Foundry. Never use it for value."""

ETHEREUM_ACCOUNT_PATH = "m/44'/60'/0'/0/{index}"
"""BIP-44 path of Ethereum account ``index``."""

HARDENED = 0x80000000
"""Offset of hardened child indices (BIP-32)."""

PBKDF2_ROUNDS = 2048
SEED_SIZE = 64
_MASTER_HMAC_KEY = b"Bitcoin seed"
"""The HMAC key of BIP-32 master key generation (shared by every coin)."""


@dataclass(frozen=True, slots=True)
class ExtendedPrivateKey:
    """A BIP-32 node: a secp256k1 private key and the chain code for its children."""

    private_key: bytes
    chain_code: bytes

    def __repr__(self) -> str:
        return "ExtendedPrivateKey(<secret>)"


def mnemonic_to_seed(mnemonic: str, passphrase: str = "") -> bytes:
    """Return the 64-byte BIP-39 seed of ``mnemonic`` and an optional ``passphrase``."""
    sentence = unicodedata.normalize("NFKD", " ".join(mnemonic.split()))
    salt = unicodedata.normalize("NFKD", "mnemonic" + passphrase)
    return hashlib.pbkdf2_hmac(
        "sha512", sentence.encode("utf-8"), salt.encode("utf-8"), PBKDF2_ROUNDS, SEED_SIZE
    )


def master_key(seed: bytes) -> ExtendedPrivateKey:
    """Return the BIP-32 master node of ``seed`` (16 to 64 bytes)."""
    if not 16 <= len(seed) <= 64:
        raise InvalidKey(f"a BIP-32 seed is 16 to 64 bytes, got {len(seed)}")
    digest = hmac.digest(_MASTER_HMAC_KEY, seed, "sha512")
    key, chain_code = digest[:32], digest[32:]
    if not 1 <= int.from_bytes(key, "big") < SECP256K1_N:
        raise InvalidKey("this seed gives an invalid master key (BIP-32); use another seed")
    return ExtendedPrivateKey(key, chain_code)


def derive_child(parent: ExtendedPrivateKey, index: int) -> ExtendedPrivateKey:
    """Return child ``index`` of ``parent`` (BIP-32 CKDpriv); hardened if index >= 2**31."""
    if not 0 <= index < 2**32:
        raise InvalidKey(f"a BIP-32 child index is in [0, 2**32), got {index}")
    parent_key = PrivateKey(parent.private_key)
    if index >= HARDENED:
        data = b"\x00" + parent.private_key + index.to_bytes(4, "big")
    else:
        data = parent_key.public_key.format(compressed=True) + index.to_bytes(4, "big")
    digest = hmac.digest(parent.chain_code, data, "sha512")
    tweak, chain_code = digest[:32], digest[32:]
    # child = (tweak + parent) mod n; BIP-32 says skip the index if tweak >= n or child = 0.
    try:
        child = parent_key.add(tweak)
    except ValueError:
        raise InvalidKey(f"BIP-32 child {index} is invalid; use the next index") from None
    return ExtendedPrivateKey(child.secret, chain_code)


def parse_path(path: str) -> tuple[int, ...]:
    """Return the child indices of a path such as ``m/44'/60'/0'/0/0``."""
    parts = path.strip().split("/")
    if parts[0] != "m":
        raise DecodingError(f"a derivation path starts with 'm/', got {path!r}")
    indices = []
    for part in parts[1:]:
        hardened = part[-1:] in ("'", "h", "H")
        digits = part[:-1] if hardened else part
        if not digits.isdigit() or int(digits) >= HARDENED:
            raise DecodingError(f"bad derivation path component {part!r} in {path!r}")
        indices.append(int(digits) + (HARDENED if hardened else 0))
    return tuple(indices)


def derive_private_key(seed: bytes, path: str) -> bytes:
    """Return the 32-byte secp256k1 private key at ``path`` below ``seed``'s master node."""
    node = master_key(seed)
    for index in parse_path(path):
        node = derive_child(node, index)
    return node.private_key


def ethereum_account_key(mnemonic: str, index: int, passphrase: str = "") -> bytes:
    """Return the private key of Ethereum account ``index`` of ``mnemonic``."""
    seed = mnemonic_to_seed(mnemonic, passphrase)
    return derive_private_key(seed, ETHEREUM_ACCOUNT_PATH.format(index=index))
