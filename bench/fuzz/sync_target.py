"""Fuzz target ``sync``: the block-sync payload decoders of :mod:`baychain.node.bft.sync`.

Each input goes through ``decode_status``, ``decode_block_request`` and
``decode_block_response``; what each accepts must re-encode to the input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from baychain.errors import BayChainError
from baychain.node.bft.sync import (
    decode_block_request,
    decode_block_response,
    decode_status,
    encode_block_request,
    encode_block_response,
    encode_status,
)
from fuzz.harness import PropertyViolation, Target
from fuzz.seeds import sync_payloads

_PAIRS: list[tuple[str, Callable[[bytes], Any], Callable[[Any], bytes]]] = [
    ("status", decode_status, encode_status),
    ("block request", decode_block_request, encode_block_request),
    ("block response", decode_block_response, encode_block_response),
]


def check(data: bytes) -> None:
    """Decode ``data`` with each sync decoder; check the round trip of what is accepted."""
    for name, decode, encode in _PAIRS:
        try:
            value = decode(data)
        except BayChainError:
            continue
        if encode(value) != data:
            raise PropertyViolation(f"{name}: encode(decode(data)) != data")


TARGETS = [Target("sync", check, sync_payloads)]
