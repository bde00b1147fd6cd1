"""EIP-2930 access lists: the accounts and storage slots a transaction declares up front.

Encoding: ``rlp([[address, [storage_key, ...]], ...])`` with 20-byte addresses and
32-byte keys. Order and duplicates are kept exactly as signed (EIP-2930 allows
duplicates; each still costs intrinsic gas).
"""

from __future__ import annotations

from baychain.codec import rlp
from baychain.primitives import Address, Hash32

__all__ = ["AccessList", "decode_access_list", "encode_access_list"]

AccessList = tuple[tuple[Address, tuple[Hash32, ...]], ...]
"""EIP-2930 access list: (address, storage keys) pairs."""


def encode_access_list(access_list: AccessList) -> list[rlp.Encodable]:
    """Return ``access_list`` as RLP-ready nested lists."""
    return [[address, list(keys)] for address, keys in access_list]


def decode_access_list(item: rlp.Item) -> AccessList:
    """Parse a decoded RLP access list; raise DecodingError naming the bad entry."""
    entries = rlp.decode_list(item, name="access_list")
    if not entries:
        return ()
    result = []
    for index, entry in enumerate(entries):
        pair = rlp.decode_list(entry, 2, name=f"access_list[{index}]")
        address = rlp.decode_fixed(pair[0], 20, name=f"access_list[{index}] address")
        keys = rlp.decode_list(pair[1], name=f"access_list[{index}] storage keys")
        result.append(
            (
                Address(address),
                tuple(
                    Hash32(rlp.decode_fixed(key, 32, name=f"access_list[{index}] storage key"))
                    for key in keys
                ),
            )
        )
    return tuple(result)
