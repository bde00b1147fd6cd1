"""Fuzz target ``consensus``: :func:`baychain.consensus.messages.decode_message`.

Property of an accepted input: re-encoding gives it back (the wire form is canonical).
"""

from __future__ import annotations

from baychain.consensus.messages import decode_message, encode_message
from fuzz.harness import PropertyViolation, Target
from fuzz.seeds import consensus_messages


def check(data: bytes) -> None:
    """Decode ``data`` as a consensus message and check the round trip."""
    if encode_message(decode_message(data)) != data:
        raise PropertyViolation("encode_message(decode_message(data)) != data")


TARGETS = [Target("consensus", check, consensus_messages, dictionary=(b"\x01", b"\x02", b"\x03"))]
