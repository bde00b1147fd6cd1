"""Commit certificates: the proof that a block is final.

A certificate holds precommits of one round for one block hash from validators with
more than two thirds of the voting power of the height's validator set. Each
signature is over the precommit's signed bytes
(:func:`~baychain.consensus.messages.vote_sign_bytes` with type PRECOMMIT), made
with the chain's suite (SM2 on ``sm`` chains), so anyone holding the validator set
in force at that height can check it without trusting whoever served the block.

Encoding (the bytes stored in :attr:`baychain.ledger.block.Block.certificate`)::

    rlp([height, round, block_hash, [[validator_index, signature], ...]])

with signers in strictly increasing index order, so each certificate has one
encoding and no signer appears twice. The index is the signer's position in the
validator set of that height.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from baychain.codec import rlp
from baychain.consensus.messages import MAX_SIGNATURE_BYTES, vote_sign_bytes
from baychain.consensus.types import Round, VoteType
from baychain.consensus.validators import ValidatorSet
from baychain.consensus.verifier import SignatureVerifier, SuiteVerifier
from baychain.crypto.suite import CryptoSuite
from baychain.errors import DecodingError, InvalidCommitCertificate
from baychain.primitives import Hash32, Height

__all__ = [
    "CommitCertificate",
    "decode_certificate",
    "verify_certificate",
]

MAX_SIGNERS = 10_000
"""Most signatures a decoded certificate may hold (bounds hostile input)."""


@dataclass(frozen=True, slots=True)
class CommitCertificate:
    """Precommit signatures of one round for one block: ``(validator index, signature)``."""

    height: Height
    round: Round
    block_hash: Hash32
    signatures: tuple[tuple[int, bytes], ...]

    def encode(self) -> bytes:
        """Return the canonical encoding (signers must be in increasing index order)."""
        uint = rlp.encode_uint
        return rlp.encode(
            [
                uint(self.height),
                uint(self.round),
                self.block_hash,
                [[uint(index), signature] for index, signature in self.signatures],
            ]
        )

    def signers(self) -> list[int]:
        """The validator indices that signed, in order."""
        return [index for index, _ in self.signatures]


def decode_certificate(data: bytes) -> CommitCertificate:
    """Decode a certificate; raise DecodingError unless it is canonical.

    Canonical means: four fields, integers without leading zeros, a 32-byte hash, at
    least one signer, signers in strictly increasing index order (hence distinct).
    """
    # four fields, the signature list, and an [index, signature] pair per signer
    max_items = 6 + 3 * MAX_SIGNERS
    fields = rlp.decode_list(rlp.decode(data, max_items=max_items), 4, name="commit certificate")
    height = rlp.decode_uint(fields[0], name="certificate height", max_bytes=8)
    round_ = rlp.decode_uint(fields[1], name="certificate round", max_bytes=4)
    block_hash = rlp.decode_fixed(fields[2], 32, name="certificate block hash")
    entries = rlp.decode_list(fields[3], name="certificate signatures")
    if not entries:
        raise DecodingError("a commit certificate has no signatures")
    if len(entries) > MAX_SIGNERS:
        raise DecodingError(
            f"a commit certificate has {len(entries)} signatures (max {MAX_SIGNERS})"
        )
    signatures: list[tuple[int, bytes]] = []
    previous = -1
    for entry in entries:
        pair = rlp.decode_list(entry, 2, name="certificate signature entry")
        index = rlp.decode_uint(pair[0], name="signer index", max_bytes=4)
        signature = rlp.decode_bytes(pair[1], name="signature", max_len=MAX_SIGNATURE_BYTES)
        if index <= previous:
            raise DecodingError(
                f"certificate signers must be in increasing index order: {index} after {previous}"
            )
        previous = index
        signatures.append((index, signature))
    return CommitCertificate(Height(height), Round(round_), Hash32(block_hash), tuple(signatures))


def verify_certificate(
    certificate: CommitCertificate,
    block_hash: bytes,
    validator_set: ValidatorSet,
    suite: CryptoSuite,
    chain_id: int,
    genesis_hash: Hash32,
    *,
    height: int | None = None,
    verifier: SignatureVerifier | None = None,
) -> None:
    """Return if ``certificate`` proves ``block_hash`` final; raise InvalidCommitCertificate.

    ``validator_set`` must be the set in force at the certificate's height (ask the
    :class:`~baychain.consensus.validators.ValidatorSchedule`); ``chain_id`` and
    ``genesis_hash`` name the chain the precommits were signed for; ``height``, when
    given, is the height the block claims. The checks, in order: the certificate names
    ``block_hash`` (and ``height``); every signer index is in the set and appears once;
    the signers' power is a quorum; every signature verifies as that validator's
    precommit for the block at the certificate's height and round.
    """
    cert = certificate
    sigs: Sequence[tuple[int, bytes]] = cert.signatures

    def fail(reason: str) -> InvalidCommitCertificate:
        return InvalidCommitCertificate(cert.height, cert.round, reason)

    # It certifies the block asked about, at the height asked about.
    if cert.block_hash != block_hash:
        raise fail(f"it certifies block 0x{cert.block_hash.hex()}, not 0x{bytes(block_hash).hex()}")
    if height is not None and cert.height != height:
        raise fail(f"it is for height {cert.height}, the block is at height {height}")
    # Every signer is a member of the set, named once.
    seen: set[int] = set()
    for index, _ in sigs:
        if not 0 <= index < len(validator_set):
            raise fail(f"signer index {index} is outside the {len(validator_set)}-member set")
        if index in seen:
            raise fail(f"validator {index} signs twice")
        seen.add(index)
    # The signers hold more than two thirds of the power.
    power = sum(validator_set.validators[index].power for index in seen)
    if not validator_set.is_quorum(power):
        raise fail(
            f"signers hold {power} of {validator_set.total_power} voting power; "
            f"more than two thirds ({validator_set.quorum_power}) is needed"
        )
    # Every signature is a precommit for this block at this height and round.
    message = vote_sign_bytes(
        chain_id, genesis_hash, VoteType.PRECOMMIT, cert.height, cert.round, block_hash
    )
    check = verifier or SuiteVerifier(suite)
    for index, signature in sigs:
        validator = validator_set.validators[index]
        if not check.verify(validator.public_key, message, signature):
            raise fail(
                f"the signature of validator {index} (0x{validator.address.hex()}) is invalid"
            )
