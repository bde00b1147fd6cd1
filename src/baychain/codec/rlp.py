"""Recursive Length Prefix (RLP): Ethereum's serialisation of byte strings and nested lists.

An *item* is a byte string or a list of items. The encoding (Ethereum Yellow
Paper, appendix B) is:

- a single byte below ``0x80`` is its own encoding;
- a byte string of 0..55 bytes is ``0x80 + len`` followed by the bytes;
- a longer byte string is ``0xb7 + len(len)``, the big-endian length, the bytes;
- a list whose concatenated item encodings (its *payload*) are 0..55 bytes is
  ``0xc0 + len`` followed by the payload; a longer one ``0xf7 + len(len)``,
  the big-endian length, the payload.

Decoding is *canonical-strict*: every item has exactly one accepted encoding,
so two parties that agree on a value agree on its bytes and its hash. The
decoder rejects, with a :class:`~baychain.errors.DecodingError` naming the
offset, a single byte below ``0x80`` wrapped as a one-byte string, a long form
used for a length below 56, a length with leading zero bytes, an item running
past the end of the input or of its enclosing list, trailing bytes after the
top-level item, and lists nested deeper than :data:`MAX_DEPTH`.

RLP has no integer type: an unsigned integer is its minimal big-endian byte
string (zero is the empty string). :func:`encode_uint` and :func:`decode_uint`
convert, and ``decode_uint`` rejects leading zero bytes.

Encoding functions take trusted values from our own code; they raise
``TypeError``/``ValueError`` for values that cannot be encoded (a programming
error, not bad input).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from baychain.errors import DecodingError
from baychain.primitives import Address

__all__ = [
    "MAX_DEPTH",
    "Encodable",
    "Item",
    "decode",
    "decode_address",
    "decode_bytes",
    "decode_fixed",
    "decode_list",
    "decode_list_with_offsets",
    "decode_uint",
    "encode",
    "encode_uint",
    "wrap_list",
]

Item: TypeAlias = "bytes | list[Item]"
"""A decoded RLP item: a byte string or a list of items."""

Encodable: TypeAlias = "bytes | Sequence[Encodable]"
"""What :func:`encode` accepts: ``bytes``, or a list/tuple of encodables."""

MAX_DEPTH = 64
"""Deepest list nesting the decoder accepts. Our structures need fewer than 8
levels; the bound keeps hostile input from exhausting the Python stack."""

_SHORT_STRING = 0x80
_LONG_STRING = 0xB7
_SHORT_LIST = 0xC0
_LONG_LIST = 0xF7


_SHORT_STRING_PREFIXES = tuple(bytes((_SHORT_STRING + n,)) for n in range(56))
_SHORT_LIST_PREFIXES = tuple(bytes((_SHORT_LIST + n,)) for n in range(56))


def _long_prefix(length: int, long_base: int) -> bytes:
    """Return the long-form prefix of a 56+ byte payload: ``long_base + len(len)``, the length."""
    if length < 256:  # the common case: a one-byte length
        return bytes((long_base + 1, length))
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((long_base + len(size),)) + size


def encode(item: Encodable) -> bytes:
    """Return the RLP encoding of ``item`` (``bytes``, or a list/tuple of items).

    Integers are not accepted: convert them with :func:`encode_uint` so the width rule is
    explicit at the call site.
    """
    if isinstance(item, bytes):
        length = len(item)
        if length < 56:
            if length == 1 and item[0] < _SHORT_STRING:
                return item
            return _SHORT_STRING_PREFIXES[length] + item
        return _long_prefix(length, _LONG_STRING) + item
    if isinstance(item, (list, tuple)):
        return wrap_list(b"".join([encode(child) for child in item]))
    raise TypeError(f"RLP encodes bytes and lists of them, not {type(item).__name__}")


def wrap_list(payload: bytes) -> bytes:
    """Return the encoding of the list whose items' concatenated encodings are ``payload``.

    ``wrap_list(b"".join(encode(x) for x in items)) == encode(items)``. With
    :func:`decode_list_with_offsets` it re-encodes part of a decoded list by slicing.
    """
    length = len(payload)
    if length < 56:
        return _SHORT_LIST_PREFIXES[length] + payload
    return _long_prefix(length, _LONG_LIST) + payload


def encode_uint(value: int) -> bytes:
    """Return the minimal big-endian bytes of a non-negative integer (0 -> ``b""``)."""
    if value < 0:
        raise ValueError(f"RLP integers are unsigned, got {value}")
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def decode(data: bytes, *, max_items: int | None = None) -> Item:
    """Decode exactly one canonical RLP item that spans all of ``data``.

    ``max_items`` bounds how many items the whole tree may hold (every string and list
    at every depth counts, the top-level item included). A decoder of peer messages with
    a known shape passes it: a one-byte empty list decodes to a Python list of about 56
    bytes, so without a bound a 16 MiB frame of them costs seconds of CPU and a gigabyte
    of memory before the message's shape can be refused. Past the bound this raises
    :class:`~baychain.errors.DecodingError` having decoded at most ``max_items`` items.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    budget = None if max_items is None else [max_items - 1]
    if budget is not None and budget[0] < 0:
        raise _too_many_items(max_items or 0)
    item, end = _decode_item(data, 0, len(data), 0, budget)
    if end != len(data):
        raise _trailing(data, end)
    return item


def _too_many_items(max_items: int) -> DecodingError:
    return DecodingError(f"RLP: more than {max_items} items")


def decode_list_with_offsets(
    data: bytes, length: int | None = None, *, name: str = "list"
) -> tuple[list[Item], list[int]]:
    """Decode a canonical RLP list spanning ``data``; return its items and their offsets.

    The items, and every error raised, are those of ``decode_list(decode(data), length,
    name=name)``. ``offsets`` has one entry more than there are items: ``offsets[i]`` is
    where the encoding of item ``i`` starts in ``data`` and ``offsets[-1]`` is the end, so
    ``wrap_list(data[offsets[i]:offsets[j]]) == encode(items[i:j])`` (the encoding being
    canonical). Signature checks use it to rebuild a signing payload without re-encoding.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if not data or data[0] < _SHORT_LIST:
        # Not a list: the composition raises exactly what it would for this input.
        return decode_list(decode(data), length, name=name), []
    start, end = _list_bounds(data, 0, len(data))
    offsets: list[int] = []
    items = _decode_items(data, start, end, 1, offsets)
    offsets.append(end)
    if end != len(data):
        raise _trailing(data, end)
    return decode_list(items, length, name=name), offsets


def _trailing(data: bytes, end: int) -> DecodingError:
    """The error for bytes left over after a complete top-level item ending at ``end``."""
    return DecodingError(
        f"RLP: {len(data) - end} trailing byte(s) after the item ending at offset {end}"
    )


def _overrun(pos: int, end: int, limit: int, total: int) -> DecodingError:
    """The error for an item at ``pos`` whose body would end at ``end`` > ``limit``."""
    if limit == total:
        return DecodingError(
            f"RLP: truncated input: the item at offset {pos} needs {end - total} "
            f"more byte(s) than the {total} given"
        )
    return DecodingError(
        f"RLP: the item at offset {pos} ends at offset {end}, "
        f"past the end of its enclosing list at offset {limit}"
    )


def _long_length(data: bytes, pos: int, size_len: int, limit: int) -> int:
    """Read the big-endian length of a long-form item whose prefix is at ``pos``."""
    start = pos + 1
    if start + size_len > limit:
        raise _overrun(pos, start + size_len, limit, len(data))
    if data[start] == 0:
        raise DecodingError(f"RLP: the length of the item at offset {pos} has a leading zero byte")
    length = int.from_bytes(data[start : start + size_len], "big")
    if length < 56:
        raise DecodingError(
            f"RLP: the item at offset {pos} uses the long form for a length of {length} "
            "(the short form is required below 56)"
        )
    return length


def _decode_item(
    data: bytes, pos: int, limit: int, depth: int, budget: list[int] | None = None
) -> tuple[Item, int]:
    """Decode the item at ``pos`` that must end by ``limit``; return it and where it ends."""
    if pos >= limit:
        raise _overrun(pos, pos + 1, limit, len(data))
    first = data[pos]
    if first < _SHORT_STRING:
        return data[pos : pos + 1], pos + 1
    if first < _SHORT_LIST:
        if first <= _LONG_STRING:
            start = pos + 1
            end = start + first - _SHORT_STRING
            if end > limit:
                raise _overrun(pos, end, limit, len(data))
            if end == start + 1 and data[start] < _SHORT_STRING:
                raise DecodingError(
                    f"RLP: the single byte 0x{data[start]:02x} at offset {pos} is wrapped "
                    "as a string (a byte below 0x80 encodes as itself)"
                )
            return data[start:end], end
        size_len = first - _LONG_STRING
        start = pos + 1 + size_len
        end = start + _long_length(data, pos, size_len, limit)
        if end > limit:
            raise _overrun(pos, end, limit, len(data))
        return data[start:end], end
    start, end = _list_bounds(data, pos, limit)
    if depth >= MAX_DEPTH:
        raise DecodingError(f"RLP: lists nested deeper than {MAX_DEPTH} levels at offset {pos}")
    return _decode_items(data, start, end, depth + 1, None, budget), end


def _list_bounds(data: bytes, pos: int, limit: int) -> tuple[int, int]:
    """Return (payload start, end) of the list whose prefix is at ``pos``, ending by ``limit``."""
    first = data[pos]
    if first <= _LONG_LIST:
        start = pos + 1
        end = start + first - _SHORT_LIST
    else:
        size_len = first - _LONG_LIST
        start = pos + 1 + size_len
        end = start + _long_length(data, pos, size_len, limit)
    if end > limit:
        raise _overrun(pos, end, limit, len(data))
    return start, end


def _decode_items(
    data: bytes,
    start: int,
    end: int,
    depth: int,
    offsets: list[int] | None,
    budget: list[int] | None = None,
) -> list[Item]:
    """Decode the items of the list payload ``data[start:end]``, each at nesting ``depth``.

    When ``offsets`` is a list, append to it the offset at which each item starts. When
    ``budget`` is given, ``budget[0]`` is how many more items may be decoded (shared by
    the whole tree); each item takes one, and none left raises DecodingError.
    """
    items: list[Item] = []
    append = items.append
    cursor = start
    while cursor < end:
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise DecodingError("RLP: more items than the message may hold")
        if offsets is not None:
            offsets.append(cursor)
        first = data[cursor]
        # Inline the commonest valid items (a single byte, a short string) to save a call;
        # anything else, every malformed case included, goes through _decode_item.
        if first < _SHORT_STRING:
            append(data[cursor : cursor + 1])
            cursor += 1
            continue
        if first <= _LONG_STRING:
            stop = cursor + 1 + first - _SHORT_STRING
            if stop <= end and (first != _SHORT_STRING + 1 or data[cursor + 1] >= _SHORT_STRING):
                append(data[cursor + 1 : stop])
                cursor = stop
                continue
        child, cursor = _decode_item(data, cursor, end, depth, budget)
        append(child)
    return items


def decode_list(item: Item, length: int | None = None, *, name: str = "list") -> list[Item]:
    """Return ``item`` as a list, of exactly ``length`` items when given; raise otherwise."""
    if not isinstance(item, list):
        raise DecodingError(f"{name} must be an RLP list, got a {len(item)}-byte string")
    if length is not None and len(item) != length:
        raise DecodingError(f"{name} must have {length} items, got {len(item)}")
    return item


def decode_bytes(item: Item, *, name: str = "value", max_len: int | None = None) -> bytes:
    """Return ``item`` as a byte string of at most ``max_len`` bytes; raise otherwise."""
    if not isinstance(item, bytes):
        raise DecodingError(f"{name} must be an RLP string, got a list")
    if max_len is not None and len(item) > max_len:
        raise DecodingError(f"{name} must be at most {max_len} bytes, got {len(item)}")
    return item


def decode_fixed(item: Item, size: int, *, name: str = "value") -> bytes:
    """Return ``item`` as a byte string of exactly ``size`` bytes; raise otherwise."""
    if not isinstance(item, bytes):
        raise DecodingError(f"{name} must be an RLP string, got a list")
    if len(item) != size:
        raise DecodingError(f"{name} must be {size} bytes, got {len(item)}")
    return item


def decode_uint(item: Item, *, name: str = "integer", max_bytes: int = 32) -> int:
    """Return the unsigned integer ``item`` encodes (at most ``max_bytes`` wide).

    Raise for a list, a value wider than ``max_bytes`` (32 bytes = uint256), or
    leading zero bytes (the canonical form of 0 is the empty string).
    """
    if not isinstance(item, bytes):
        raise DecodingError(f"{name} must be an RLP integer (string), got a list")
    if not item:
        return 0
    if item[0] == 0:
        raise DecodingError(f"{name} has leading zero bytes (0x{item.hex()}): not canonical")
    if len(item) > max_bytes:
        raise DecodingError(f"{name} is {len(item)} bytes wide, the maximum is {max_bytes}")
    return int.from_bytes(item, "big")


def decode_address(item: Item, *, name: str = "address") -> Address | None:
    """Return ``item`` as a 20-byte address, or None for the empty string (no address)."""
    if not isinstance(item, bytes):
        raise DecodingError(f"{name} must be an RLP string, got a list")
    if not item:
        return None
    if len(item) != 20:
        raise DecodingError(f"{name} must be 20 bytes or empty, got {len(item)} bytes")
    return Address(item)
