"""Fuzz target ``certificate``: :func:`baychain.consensus.certificate.decode_certificate`.

Commit certificates arrive from peers inside decisions and synced blocks. Property of
an accepted input: re-encoding gives it back, with signers in increasing index order.
"""

from __future__ import annotations

from baychain.consensus.certificate import CommitCertificate, decode_certificate
from baychain.consensus.types import Round
from baychain.primitives import Hash32, Height
from fuzz.harness import PropertyViolation, Target


def check(data: bytes) -> None:
    """Decode ``data`` as a commit certificate and check the round trip."""
    certificate = decode_certificate(data)
    if certificate.encode() != data:
        raise PropertyViolation("decode_certificate(data).encode() != data")
    signers = certificate.signers()
    if signers != sorted(set(signers)):
        raise PropertyViolation("signers are not in strictly increasing order")


def seeds() -> list[bytes]:
    """Certificates of one, three and many signers (ecdsa and sm signature sizes)."""
    block_hash = Hash32(b"\x5a" * 32)
    shapes = [((0, 65),), ((0, 65), (2, 65), (3, 65)), tuple((i * 3, 64) for i in range(40))]
    return [
        CommitCertificate(
            Height(7), Round(0), block_hash, tuple((i, bytes([i % 256]) * n) for i, n in shape)
        ).encode()
        for shape in shapes
    ]


TARGETS = [Target("certificate", check, seeds)]
