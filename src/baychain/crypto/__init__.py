"""Cryptography of BayChain: the chain's CryptoSuite and the tools around keys.

A chain's genesis names its suite; code obtains it with :func:`get_suite` and
asks it to hash, sign, verify and derive addresses. ``keccak256`` is exported
on its own because the EVM uses it on every chain, whatever the suite.

Suites:

- ``"ecdsa"``: secp256k1 + keccak-256 + Ethereum addresses (:mod:`.ecdsa`).
- ``"sm"``: SM2 + SM3, address = last 20 bytes of SM3(public key) (:mod:`.sm`).
"""

from __future__ import annotations

from baychain.crypto.devkeys import dev_ecdsa_keys, dev_sm2_keys
from baychain.crypto.ecdsa import EcdsaSuite, keccak256
from baychain.crypto.sm import SmSuite
from baychain.crypto.suite import CryptoSuite
from baychain.errors import ConfigError

__all__ = [
    "SUITE_NAMES",
    "CryptoSuite",
    "EcdsaSuite",
    "SmSuite",
    "dev_private_keys",
    "get_suite",
    "keccak256",
]

_SUITES: dict[str, CryptoSuite] = {"ecdsa": EcdsaSuite(), "sm": SmSuite()}

SUITE_NAMES: tuple[str, ...] = tuple(_SUITES)
"""The suite names a genesis file may choose."""


def get_suite(name: str) -> CryptoSuite:
    """Return the (shared, stateless) suite called ``name``; raise ConfigError if unknown."""
    try:
        return _SUITES[name]
    except KeyError:
        choices = ", ".join(repr(n) for n in SUITE_NAMES)
        raise ConfigError(f"unknown crypto suite {name!r}; choose one of {choices}") from None


def dev_private_keys(suite_name: str, count: int) -> list[bytes]:
    """Return the first ``count`` well-known development keys of a suite.

    ``ecdsa``: the Hardhat/Foundry dev-mnemonic accounts ``m/44'/60'/0'/0/i``;
    ``sm``: see :mod:`baychain.crypto.devkeys`. Never fund them on a real chain.
    """
    get_suite(suite_name)
    if count < 0:
        raise ConfigError(f"the number of dev keys cannot be negative, got {count}")
    return dev_ecdsa_keys(count) if suite_name == "ecdsa" else dev_sm2_keys(count)
