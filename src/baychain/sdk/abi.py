"""The Solidity contract ABI: selectors, argument encoding and decoding, call data.

Implements the Solidity ABI specification ("Contract ABI Specification",
docs.soliditylang.org/en/latest/abi-spec.html), section "Formal Specification of
the Encoding": a tuple is the heads of its elements followed by the tails of its
dynamic elements, every head one 32-byte word (a static array's head is its
elements' heads), a dynamic element's head the byte offset of its tail from the
start of the tuple.

Types supported (``types`` are written as in a signature):

- ``uint<M>``, ``int<M>`` (``M`` in 8, 16, ... 256; ``uint``/``int`` mean 256): Python
  ``int`` in range; ``int<M>`` in two's complement;
- ``address``: 20 ``bytes`` (any suite's address); decoded as :data:`Address`;
- ``bool``: ``bool``;
- ``bytes<M>`` (``M`` in 1 ... 32): exactly ``M`` bytes; ``bytes``: any bytes;
- ``string``: ``str``, encoded as UTF-8;
- ``T[]`` and ``T[k]`` of any of these: a ``list`` or ``tuple``; decoded as ``tuple``.

Tuples (structs), ``fixed``/``ufixed`` and ``function`` are not supported and raise.

The selector of a function, error or event signature is keccak-256 of it on every
chain, whatever the chain's crypto suite, because the EVM and Solidity fix it.

Errors: every bad value, type or byte string raises :class:`AbiError` (a
:class:`~baychain.errors.BayChainError`) naming the type and what is wrong.
Decoding is strict: a value word with bits its type cannot hold (a ``uint8`` above
255, an ``address`` with non-zero upper bytes, a ``bool`` other than 0 or 1) is
refused rather than truncated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from baychain.artifacts import Artifact
from baychain.crypto import keccak256
from baychain.errors import BayChainError
from baychain.primitives import Address

__all__ = [
    "AbiError",
    "call_data",
    "decode",
    "decode_output",
    "deploy_data",
    "encode",
    "error_data",
    "event_topic",
    "selector",
    "signature_of",
]

WORD = 32
"""Bytes in one ABI word."""

SELECTOR_SIZE = 4
"""Bytes of a function or error selector."""

AbiEntry = Mapping[str, Any]
"""One item of a JSON ABI (a function, constructor, event or error)."""


class AbiError(BayChainError):
    """A value, type or byte string that does not fit the Solidity ABI."""


# --- types -----------------------------------------------------------------------------------

_ARRAY = re.compile(r"^(.+)\[(\d*)\]$")
_SIZED = re.compile(r"^(uint|int|bytes)(\d+)$")


@dataclass(frozen=True)
class _Type:
    """A parsed ABI type: an elementary ``kind`` or an ``array`` of ``item``."""

    name: str  # as written, for messages
    kind: str  # uint, int, address, bool, fixed_bytes, bytes, string, array
    size: int = 0  # bits of uint/int, bytes of fixed_bytes
    item: _Type | None = None
    length: int | None = None  # of a static array; None for T[]

    @property
    def dynamic(self) -> bool:
        """True when the encoding's length depends on the value (it goes to the tail)."""
        if self.kind in ("bytes", "string"):
            return True
        if self.kind == "array":
            return self.length is None or _item(self).dynamic
        return False

    @property
    def head_size(self) -> int:
        """Bytes this type takes in the head of an enclosing tuple."""
        if self.kind == "array" and not self.dynamic:
            return (self.length or 0) * _item(self).head_size
        return WORD


def _item(array: _Type) -> _Type:
    if array.item is None:
        raise AbiError(f"{array.name} is not an array type")
    return array.item


@lru_cache(maxsize=512)
def _parse(name: str) -> _Type:
    """Parse one type as written in a signature; raise AbiError for anything unsupported."""
    array = _ARRAY.match(name)
    if array:
        inner, digits = array.groups()
        length = int(digits) if digits else None
        if length == 0:
            raise AbiError(f"{name}: a fixed-size array needs at least one element")
        return _Type(name, "array", item=_parse(inner), length=length)
    if name in ("address", "bool", "bytes", "string"):
        return _Type(name, name)
    if name in ("uint", "int"):
        return _Type(name, name, size=256)
    sized = _SIZED.match(name)
    if sized:
        base, digits = sized.group(1), int(sized.group(2))
        if base == "bytes":
            if not 1 <= digits <= WORD:
                raise AbiError(f"{name}: bytes<M> needs 1 <= M <= 32")
            return _Type(name, "fixed_bytes", size=digits)
        if digits % 8 or not 8 <= digits <= 256:
            raise AbiError(f"{name}: {base}<M> needs M a multiple of 8 from 8 to 256")
        return _Type(name, base, size=digits)
    raise AbiError(f"unsupported ABI type {name!r}")


# --- encoding --------------------------------------------------------------------------------


def _word(value: int) -> bytes:
    return value.to_bytes(WORD, "big")


def _padded(raw: bytes) -> bytes:
    """``raw`` right-padded with zeros to a whole number of words."""
    return raw + bytes(-len(raw) % WORD)


def _as_bytes(typ: _Type, value: Any) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise AbiError(f"{typ.name} needs bytes, got {type(value).__name__}")
    return bytes(value)


def _as_int(typ: _Type, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise AbiError(f"{typ.name} needs an int, got {type(value).__name__}")
    low, high = _int_range(typ)
    if not low <= value <= high:
        raise AbiError(f"{value} is out of range for {typ.name} ({low} to {high})")
    return value


def _int_range(typ: _Type) -> tuple[int, int]:
    if typ.kind == "uint":
        return 0, 2**typ.size - 1
    return -(2 ** (typ.size - 1)), 2 ** (typ.size - 1) - 1


def _as_items(typ: _Type, value: Any) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise AbiError(f"{typ.name} needs a list or tuple, got {type(value).__name__}")
    if typ.length is not None and len(value) != typ.length:
        raise AbiError(f"{typ.name} needs exactly {typ.length} elements, got {len(value)}")
    return value


def _encode_value(typ: _Type, value: Any) -> bytes:
    """The encoding of one value: its head for a static type, its tail for a dynamic one."""
    if typ.kind in ("uint", "int"):
        return (_as_int(typ, value) % 2**256).to_bytes(WORD, "big")
    if typ.kind == "address":
        raw = _as_bytes(typ, value)
        if len(raw) != 20:
            raise AbiError(f"address needs exactly 20 bytes, got {len(raw)}")
        return bytes(12) + raw
    if typ.kind == "bool":
        if not isinstance(value, bool):
            raise AbiError(f"bool needs a bool, got {type(value).__name__}")
        return _word(int(value))
    if typ.kind == "fixed_bytes":
        raw = _as_bytes(typ, value)
        if len(raw) != typ.size:
            raise AbiError(f"{typ.name} needs exactly {typ.size} bytes, got {len(raw)}")
        return _padded(raw)
    if typ.kind in ("bytes", "string"):
        if typ.kind == "string":
            if not isinstance(value, str):
                raise AbiError(f"string needs a str, got {type(value).__name__}")
            try:
                raw = value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise AbiError(f"string is not encodable as UTF-8: {exc.reason}") from None
        else:
            raw = _as_bytes(typ, value)
        return _word(len(raw)) + _padded(raw)
    items = _as_items(typ, value)
    body = _encode_tuple([_item(typ)] * len(items), items)
    return body if typ.length is not None else _word(len(items)) + body


def _encode_tuple(types: Sequence[_Type], values: Sequence[Any]) -> bytes:
    heads: list[bytes] = []
    tails: list[bytes] = []
    tail_offset = sum(typ.head_size for typ in types)
    for typ, value in zip(types, values, strict=True):
        encoded = _encode_value(typ, value)
        if typ.dynamic:
            heads.append(_word(tail_offset))
            tails.append(encoded)
            tail_offset += len(encoded)
        else:
            heads.append(encoded)
    return b"".join(heads) + b"".join(tails)


def encode(types: Sequence[str], values: Sequence[Any]) -> bytes:
    """ABI-encode ``values`` as the tuple ``(types...)`` (no selector).

    ``encode(["uint256", "string"], [1, "a"])`` gives the arguments of ``f(uint256,string)``.
    Raises :class:`AbiError` for a count mismatch, an unsupported type or a value that
    does not fit its type.
    """
    if isinstance(values, str | bytes) or len(types) != len(values):
        count = "a str/bytes" if isinstance(values, str | bytes) else str(len(values))
        raise AbiError(f"{len(types)} types ({','.join(types)}) but {count} values")
    return _encode_tuple([_parse(typ) for typ in types], values)


# --- decoding --------------------------------------------------------------------------------


def _word_at(data: bytes, position: int) -> bytes:
    if position + WORD > len(data):
        raise AbiError(f"data of {len(data)} bytes ends before the word at byte {position}")
    return data[position : position + WORD]


def _uint_at(data: bytes, position: int) -> int:
    return int.from_bytes(_word_at(data, position), "big")


def _decode_value(typ: _Type, data: bytes, position: int) -> Any:
    """Decode the value of ``typ`` whose encoding starts at ``position``."""
    if typ.kind in ("uint", "int"):
        value = _uint_at(data, position)
        if typ.kind == "int" and value >= 2**255:
            value -= 2**256
        low, high = _int_range(typ)
        if not low <= value <= high:
            raise AbiError(f"word at byte {position} is out of range for {typ.name}")
        return value
    if typ.kind == "address":
        word = _word_at(data, position)
        if any(word[:12]):
            raise AbiError(f"word at byte {position} is not an address (upper bytes set)")
        return Address(word[12:])
    if typ.kind == "bool":
        flag = _uint_at(data, position)
        if flag > 1:
            raise AbiError(f"word at byte {position} is not a bool: {flag}")
        return flag == 1
    if typ.kind == "fixed_bytes":
        word = _word_at(data, position)
        if any(word[typ.size :]):
            raise AbiError(f"word at byte {position} is not a {typ.name} (padding set)")
        return word[: typ.size]
    if typ.kind in ("bytes", "string"):
        length = _uint_at(data, position)
        start = position + WORD
        if length > len(data) - start:
            raise AbiError(f"{typ.name} at byte {position} claims {length} bytes past the data")
        raw = data[start : start + length]
        if typ.kind == "bytes":
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AbiError(f"string at byte {position} is not UTF-8: {exc.reason}") from None
    item = _item(typ)
    if typ.length is None:
        count, start = _uint_at(data, position), position + WORD
    else:
        count, start = typ.length, position
    if count * item.head_size > len(data) - start:
        raise AbiError(f"{typ.name} at byte {position} needs {count} elements past the data")
    return _decode_tuple([item] * count, data, start)


def _decode_tuple(types: Sequence[_Type], data: bytes, start: int) -> tuple[Any, ...]:
    out: list[Any] = []
    position = start
    for typ in types:
        if typ.dynamic:
            offset = _uint_at(data, position)
            if offset > len(data):
                raise AbiError(f"offset {offset} at byte {position} points past the data")
            out.append(_decode_value(typ, data, start + offset))
        else:
            out.append(_decode_value(typ, data, position))
        position += typ.head_size
    return tuple(out)


def decode(types: Sequence[str], data: bytes) -> tuple[Any, ...]:
    """ABI-decode ``data`` as the tuple ``(types...)``; the inverse of :func:`encode`.

    Arrays come back as tuples, addresses as :data:`Address`. Bytes after the
    encoding are ignored. Raises :class:`AbiError` for data that is too short, points
    outside itself, or holds a value its type cannot (see the module docstring).
    """
    return _decode_tuple([_parse(typ) for typ in types], bytes(data), 0)


# --- signatures and JSON ABIs ----------------------------------------------------------------


def selector(signature: str) -> bytes:
    """The 4-byte selector of a function or error signature such as ``"transfer(address,uint256)"``.

    It is keccak-256 of the signature on every chain, whatever its crypto suite.
    """
    return keccak256(signature.encode("utf-8"))[:SELECTOR_SIZE]


def _input_types(entry: AbiEntry) -> list[str]:
    types: list[str] = []
    for param in entry.get("inputs", ()):
        if str(param["type"]).startswith("tuple"):
            raise AbiError(
                f"{entry.get('name', entry['type'])}: tuple parameters are not supported"
            )
        types.append(param["type"])
    return types


def signature_of(entry: AbiEntry) -> str:
    """The canonical signature of a JSON ABI entry: ``name(type1,type2,...)``."""
    return f"{entry['name']}({','.join(_input_types(entry))})"


def _find(abi: Sequence[AbiEntry], kind: str, name: str, arity: int | None) -> AbiEntry:
    """The entry of ``kind`` called ``name`` (or with signature ``name``).

    An overloaded name is resolved by ``arity``; anything still ambiguous raises.
    """
    entries = [entry for entry in abi if entry.get("type") == kind]
    if "(" in name:
        found = [entry for entry in entries if signature_of(entry) == name]
    else:
        found = [entry for entry in entries if entry.get("name") == name]
        if len(found) > 1 and arity is not None:
            found = [entry for entry in found if len(entry.get("inputs", ())) == arity]
    if len(found) == 1:
        return found[0]
    if not found:
        known = ", ".join(sorted({signature_of(entry) for entry in entries})) or "none"
        raise AbiError(f"the ABI has no {kind} {name!r}; its {kind}s: {known}")
    choices = ", ".join(signature_of(entry) for entry in found)
    raise AbiError(f"{kind} {name!r} is overloaded ({choices}); pass the full signature")


def _encode_arguments(what: str, types: list[str], args: Sequence[Any]) -> bytes:
    if len(args) != len(types):
        raise AbiError(f"{what} takes {len(types)} arguments, got {len(args)}")
    return encode(types, args)


def call_data(abi: Sequence[AbiEntry], function: str, *args: Any) -> bytes:
    """The input of a transaction or ``eth_call`` that calls ``function`` with ``args``.

    ``function`` is a name (``"transfer"``) or, for an overloaded one, a full signature
    (``"transfer(address,uint256)"``). Returns the selector followed by the encoded
    arguments.
    """
    entry = _find(abi, "function", function, len(args))
    signature = signature_of(entry)
    return selector(signature) + _encode_arguments(signature, _input_types(entry), args)


def decode_output(abi: Sequence[AbiEntry], function: str, data: bytes) -> tuple[Any, ...]:
    """Decode what ``function`` returned (the output of ``eth_call``)."""
    entry = _find(abi, "function", function, None)
    outputs = [param["type"] for param in entry.get("outputs", ())]
    return decode(outputs, data)


def deploy_data(artifact: Artifact, *args: Any) -> bytes:
    """The input of a contract-creating transaction: creation code plus constructor ``args``."""
    constructors = [entry for entry in artifact.abi if entry.get("type") == "constructor"]
    types = _input_types(constructors[0]) if constructors else []
    return artifact.bytecode + _encode_arguments(f"{artifact.name}'s constructor", types, args)


def event_topic(abi: Sequence[AbiEntry], event: str) -> bytes:
    """topic0 of ``event``'s logs: keccak-256 of its signature (32 bytes).

    Raises :class:`AbiError` for an anonymous event, whose logs have no such topic.
    """
    entry = _find(abi, "event", event, None)
    if entry.get("anonymous"):
        raise AbiError(f"event {event!r} is anonymous: its logs carry no signature topic")
    return bytes(keccak256(signature_of(entry).encode("utf-8")))


def error_data(abi: Sequence[AbiEntry], error: str, *args: Any) -> bytes:
    """The revert data of the custom error ``error`` raised with ``args``."""
    entry = _find(abi, "error", error, len(args))
    signature = signature_of(entry)
    return selector(signature) + _encode_arguments(signature, _input_types(entry), args)
