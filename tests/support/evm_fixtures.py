"""Test helpers for the execution tests: the committed contract artifacts and a small ABI codec.

The artifacts are ``contracts/artifacts/<Name>.json`` (built by ``contracts/build.mjs``).
The codec covers just the Solidity ABI types the scenario contracts use: ``uintN``,
``address``, ``bool``, ``bytesN``, ``bytes`` and ``string`` (head/tail encoding of the
Solidity ABI specification, "Formal Specification of the Encoding"). It is a test
fixture, not the SDK's codec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

ARTIFACT_DIR = Path(__file__).resolve().parents[2] / "contracts" / "artifacts"
WORD = 32


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its ABI and its creation and runtime code."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes

    def _entry(self, kind: str, name: str) -> dict[str, Any]:
        for item in self.abi:
            if item["type"] == kind and item.get("name") == name:
                return item
        raise KeyError(f"{self.name} has no {kind} named {name}")

    def deploy_data(self, *args: Any) -> bytes:
        """Creation code followed by the ABI-encoded constructor arguments."""
        constructors = [i for i in self.abi if i["type"] == "constructor"]
        ctor: dict[str, Any] = constructors[0] if constructors else {"inputs": []}
        return self.bytecode + encode([p["type"] for p in ctor["inputs"]], args)

    def call_data(self, function: str, *args: Any) -> bytes:
        """Selector plus ABI-encoded arguments for ``function``."""
        types = [p["type"] for p in self._entry("function", function)["inputs"]]
        return selector(f"{function}({','.join(types)})") + encode(types, args)

    def decode_output(self, function: str, data: bytes) -> tuple[Any, ...]:
        """Decode ``function``'s return data."""
        types = [p["type"] for p in self._entry("function", function)["outputs"]]
        return decode(types, data)

    def event_topic(self, event: str) -> bytes:
        """topic0 of ``event``: keccak-256 of its canonical signature."""
        types = [p["type"] for p in self._entry("event", event)["inputs"]]
        return bytes(keccak(f"{event}({','.join(types)})".encode()))

    def error_data(self, error: str, *args: Any) -> bytes:
        """The revert data of the custom error ``error`` with ``args``."""
        types = [p["type"] for p in self._entry("error", error)["inputs"]]
        return selector(f"{error}({','.join(types)})") + encode(types, args)


@cache
def load_artifact(name: str) -> Artifact:
    """Load ``contracts/artifacts/<name>.json``."""
    raw = json.loads((ARTIFACT_DIR / f"{name}.json").read_text())
    return Artifact(
        name=name,
        abi=tuple(raw["abi"]),
        bytecode=bytes.fromhex(raw["bytecode"][2:]),
        deployed_bytecode=bytes.fromhex(raw["deployedBytecode"][2:]),
    )


def selector(signature: str) -> bytes:
    """The 4-byte selector of a function or error signature."""
    return bytes(keccak(signature.encode()))[:4]


def revert_reason_data(reason: str) -> bytes:
    """The revert data of ``require(false, reason)``: ``Error(string)``."""
    return selector("Error(string)") + encode(["string"], [reason])


def _is_dynamic(typ: str) -> bool:
    return typ in ("bytes", "string")


def _encode_static(typ: str, value: Any) -> bytes:
    if typ.startswith("uint"):
        return int(value).to_bytes(WORD, "big")
    if typ == "address":
        return bytes(12) + bytes(value)
    if typ == "bool":
        return (1 if value else 0).to_bytes(WORD, "big")
    if typ.startswith("bytes"):
        raw = bytes(value)
        if len(raw) != int(typ[5:]):
            raise ValueError(f"{typ} needs {typ[5:]} bytes, got {len(raw)}")
        return raw.ljust(WORD, b"\x00")
    raise ValueError(f"unsupported ABI type {typ}")


def _encode_dynamic(value: Any) -> bytes:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    padded = raw.ljust((len(raw) + WORD - 1) // WORD * WORD, b"\x00")
    return len(raw).to_bytes(WORD, "big") + padded


def encode(types: list[str], values: Any) -> bytes:
    """ABI-encode ``values`` as a tuple of ``types``."""
    values = list(values)
    if len(types) != len(values):
        raise ValueError(f"{len(types)} types but {len(values)} values")
    head_size = WORD * len(types)
    heads, tails = [], b""
    for typ, value in zip(types, values, strict=True):
        if _is_dynamic(typ):
            heads.append((head_size + len(tails)).to_bytes(WORD, "big"))
            tails += _encode_dynamic(value)
        else:
            heads.append(_encode_static(typ, value))
    return b"".join(heads) + tails


def _decode_static(typ: str, word: bytes) -> Any:
    if typ.startswith("uint"):
        return int.from_bytes(word, "big")
    if typ == "address":
        return word[12:]
    if typ == "bool":
        return word[-1] == 1
    if typ.startswith("bytes"):
        return word[: int(typ[5:])]
    raise ValueError(f"unsupported ABI type {typ}")


def decode(types: list[str], data: bytes) -> tuple[Any, ...]:
    """ABI-decode ``data`` as a tuple of ``types``."""
    out: list[Any] = []
    for i, typ in enumerate(types):
        word = data[i * WORD : (i + 1) * WORD]
        if _is_dynamic(typ):
            start = int.from_bytes(word, "big")
            length = int.from_bytes(data[start : start + WORD], "big")
            raw = data[start + WORD : start + WORD + length]
            out.append(raw.decode() if typ == "string" else raw)
        else:
            out.append(_decode_static(typ, word))
    return tuple(out)


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
