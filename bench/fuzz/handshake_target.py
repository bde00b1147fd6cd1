"""Fuzz target ``handshake``: the HELLO, PROOF and GOODBYE decoders of
:mod:`baychain.network.handshake`.

Each input goes through all three. A decoded Hello and proof must re-encode to the
input; a goodbye decodes to two strings (its text is decoded leniently, so it has no
round trip).
"""

from __future__ import annotations

from baychain.errors import BayChainError
from baychain.network.handshake import (
    decode_goodbye,
    decode_hello,
    decode_proof,
    encode_hello,
    encode_proof,
)
from fuzz.harness import PropertyViolation, Target
from fuzz.seeds import handshake_messages


def check(data: bytes) -> None:
    """Decode ``data`` as each handshake message; check what is accepted."""
    try:
        if encode_hello(decode_hello(data)) != data:
            raise PropertyViolation("encode_hello(decode_hello(data)) != data")
    except BayChainError:
        pass
    try:
        if encode_proof(decode_proof(data)) != data:
            raise PropertyViolation("encode_proof(decode_proof(data)) != data")
    except BayChainError:
        pass
    reason, detail = decode_goodbye(data)
    if not isinstance(reason, str) or not isinstance(detail, str):
        raise PropertyViolation("decode_goodbye returned something other than two strings")


TARGETS = [Target("handshake", check, handshake_messages)]
