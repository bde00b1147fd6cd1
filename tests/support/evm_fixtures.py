"""Test helpers for the execution tests: the shipped contract artifacts with the ABI codec
bound to them, and the CREATE/CREATE2 address rules computed independently of the engine.

The artifacts are :mod:`baychain.artifacts` (built by ``contracts/build.mjs``) and the codec is
:mod:`baychain.sdk.abi`; this module only binds them together for short test code
(``TOKEN.call_data("transfer", to, 5)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_hash.auto import keccak

from baychain import artifacts
from baychain.sdk import abi
from baychain.sdk.abi import decode, encode, selector

__all__ = [
    "Artifact",
    "create2_address",
    "create_address",
    "decode",
    "encode",
    "load_artifact",
    "revert_reason_data",
    "selector",
]


@dataclass(frozen=True)
class Artifact(artifacts.Artifact):
    """A shipped artifact whose methods apply :mod:`baychain.sdk.abi` to its own ABI."""

    def deploy_data(self, *args: Any) -> bytes:
        """Creation code followed by the ABI-encoded constructor arguments."""
        return abi.deploy_data(self, *args)

    def call_data(self, function: str, *args: Any) -> bytes:
        """Selector plus ABI-encoded arguments for ``function``."""
        return abi.call_data(self.abi, function, *args)

    def decode_output(self, function: str, data: bytes) -> tuple[Any, ...]:
        """Decode ``function``'s return data."""
        return abi.decode_output(self.abi, function, data)

    def event_topic(self, event: str) -> bytes:
        """topic0 of ``event``."""
        return abi.event_topic(self.abi, event)

    def error_data(self, error: str, *args: Any) -> bytes:
        """The revert data of the custom error ``error`` with ``args``."""
        return abi.error_data(self.abi, error, *args)


@cache
def load_artifact(name: str) -> Artifact:
    """The shipped artifact ``name`` (``"Token"``, ``"Probe"``, ``"Child"``, ``"Evidence"``)."""
    shipped = artifacts.load_artifact(name)
    return Artifact(shipped.name, shipped.abi, shipped.bytecode, shipped.deployed_bytecode)


def revert_reason_data(reason: str) -> bytes:
    """The revert data of ``require(false, reason)``: ``Error(string)``."""
    return selector("Error(string)") + encode(["string"], [reason])


def create_address(sender: bytes, nonce: int) -> bytes:
    """The CREATE address: keccak256(rlp([sender, nonce]))[12:] (Yellow Paper, eq. 86)."""
    if nonce == 0:
        nonce_rlp = b"\x80"
    elif nonce < 0x80:
        nonce_rlp = bytes([nonce])
    else:
        raw = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
        nonce_rlp = bytes([0x80 + len(raw)]) + raw
    body = bytes([0x80 + 20]) + sender + nonce_rlp
    return bytes(keccak(bytes([0xC0 + len(body)]) + body))[12:]


def create2_address(sender: bytes, salt: bytes, init_code: bytes) -> bytes:
    """The CREATE2 address (EIP-1014): keccak256(0xff ++ sender ++ salt ++ keccak256(init))[12:]."""
    return bytes(keccak(b"\xff" + sender + salt + bytes(keccak(init_code))))[12:]
