"""Consensus messages on the wire, and the exact bytes a validator signs.

Signed bytes (what :class:`~baychain.consensus.safety.PrivValidator` signs and
everyone verifies with the chain's suite)::

    vote:     0x19 || rlp([DOMAIN, chain_id, genesis_hash, type, height, round,
                           block_hash or b""])
    proposal: 0x19 || rlp([DOMAIN, chain_id, genesis_hash, 0x20, height, round,
                           block_hash, valid_round + 1])

``DOMAIN`` is :data:`SIGNING_DOMAIN`, ``genesis_hash`` the hash of the chain's block
0, ``type`` 0x01 (prevote) or 0x02 (precommit); integers are RLP's minimal
big-endian strings and a nil vote names the empty string. The leading 0x19 is the
byte EIP-191 reserves for signed data that is not a transaction: no transaction
envelope or signing payload of either suite starts with it, so a consensus
signature can never be replayed as a transaction signature. The chain id and the
genesis hash keep it from being replayed on another chain: every default network
shares chain id 20261 and the dev keys, so the chain id alone would not.

Wire encoding (:func:`encode_message` / :func:`decode_message`): one RLP list
whose first item is the message kind::

    proposal:          [1, height, round, block_hash, valid_round + 1, proposer, signature, block]
    vote:              [2, type, height, round, block_hash or b"", validator, signature]
    decision:          [3, height, block, certificate]
    decision request:  [4, height]

A *decision* carries a committed block and its encoded commit certificate
(:mod:`baychain.consensus.certificate`) to a node that fell behind; a *decision
request* asks a peer for the decision of one height. Decoding is strict: a wrong
kind, field count, width or a non-canonical integer raises
:class:`~baychain.errors.DecodingError`. Signatures are only checked by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

from baychain.codec import rlp
from baychain.consensus.types import PROPOSAL_TYPE, Proposal, Round, Vote, VoteType
from baychain.errors import DecodingError
from baychain.primitives import Address, Hash32, Height

__all__ = [
    "MAX_SIGNATURE_BYTES",
    "SIGNING_DOMAIN",
    "SIGNING_PREFIX",
    "Decision",
    "DecisionRequest",
    "Message",
    "decode_message",
    "encode_message",
    "proposal_sign_bytes",
    "vote_sign_bytes",
]

SIGNING_PREFIX = b"\x19"
"""First byte of every signed consensus payload (EIP-191's reserved byte)."""

SIGNING_DOMAIN = b"BayChain consensus v2"
"""Domain tag inside every signed consensus payload (v2: the genesis hash is signed;
v1 signatures, without it, never verify as v2)."""

MAX_SIGNATURE_BYTES = 128
"""Widest signature the decoder accepts (ecdsa signs 65 bytes, sm 64)."""

MAX_ROUND_BYTES = 4
"""Rounds are below 2**32."""

MAX_HEIGHT_BYTES = 8
"""Heights are below 2**64, like block numbers."""

_KIND_PROPOSAL = 1
_KIND_VOTE = 2
_KIND_DECISION = 3
_KIND_DECISION_REQUEST = 4

_uint = rlp.encode_uint


@dataclass(frozen=True, slots=True)
class Decision:
    """A committed block (``block``) and its encoded commit certificate, for catching up."""

    height: Height
    block: bytes
    certificate: bytes


@dataclass(frozen=True, slots=True)
class DecisionRequest:
    """A request for the :class:`Decision` of ``height``."""

    height: Height


Message: TypeAlias = Proposal | Vote | Decision | DecisionRequest
"""Everything one consensus engine sends another."""


@lru_cache(maxsize=4096)
def vote_sign_bytes(
    chain_id: int,
    genesis_hash: bytes,
    vote_type: VoteType,
    height: int,
    round: int,
    block_hash: bytes | None,
) -> bytes:
    """The bytes a validator signs to cast a vote (see the module docstring).

    Memoized: every node checks the same few votes many times (rebroadcasts).
    """
    return SIGNING_PREFIX + rlp.encode(
        [
            SIGNING_DOMAIN,
            _uint(chain_id),
            _genesis(genesis_hash),
            _uint(vote_type),
            _uint(height),
            _uint(round),
            block_hash or b"",
        ]
    )


def proposal_sign_bytes(
    chain_id: int,
    genesis_hash: bytes,
    height: int,
    round: int,
    block_hash: bytes,
    valid_round: int,
) -> bytes:
    """The bytes a proposer signs for a proposal (see the module docstring)."""
    return SIGNING_PREFIX + rlp.encode(
        [
            SIGNING_DOMAIN,
            _uint(chain_id),
            _genesis(genesis_hash),
            _uint(PROPOSAL_TYPE),
            _uint(height),
            _uint(round),
            block_hash,
            _uint(valid_round + 1),
        ]
    )


def _genesis(genesis_hash: bytes) -> bytes:
    """The genesis hash as signed: exactly 32 bytes (a caller passing anything else has
    confused it with another argument, and would sign for no chain at all)."""
    if len(genesis_hash) != 32:
        raise ValueError(f"a genesis hash is 32 bytes, got {len(genesis_hash)}")
    return bytes(genesis_hash)


def encode_message(message: Message) -> bytes:
    """Return the canonical wire encoding of ``message``."""
    if isinstance(message, Vote):
        return rlp.encode(
            [
                _uint(_KIND_VOTE),
                _uint(message.vote_type),
                _uint(message.height),
                _uint(message.round),
                message.block_hash or b"",
                message.validator,
                message.signature,
            ]
        )
    if isinstance(message, Proposal):
        return rlp.encode(
            [
                _uint(_KIND_PROPOSAL),
                _uint(message.height),
                _uint(message.round),
                message.block_hash,
                _uint(message.valid_round + 1),
                message.proposer,
                message.signature,
                message.block,
            ]
        )
    if isinstance(message, Decision):
        return rlp.encode(
            [_uint(_KIND_DECISION), _uint(message.height), message.block, message.certificate]
        )
    if isinstance(message, DecisionRequest):
        return rlp.encode([_uint(_KIND_DECISION_REQUEST), _uint(message.height)])
    raise TypeError(f"not a consensus message: {type(message).__name__}")


MAX_MESSAGE_ITEMS = 64
"""RLP items one consensus message may hold (its fields; a proposal's block travels as one
string): decoding a peer's message stops past this, before it can cost much."""


def decode_message(data: bytes) -> Message:
    """Decode one message; raise DecodingError for anything but a canonical encoding."""
    fields = rlp.decode_list(
        rlp.decode(data, max_items=MAX_MESSAGE_ITEMS), name="consensus message"
    )
    if not fields:
        raise DecodingError("consensus message is an empty list")
    kind = rlp.decode_uint(fields[0], name="message kind", max_bytes=1)
    if kind == _KIND_VOTE:
        return _decode_vote(fields)
    if kind == _KIND_PROPOSAL:
        return _decode_proposal(fields)
    if kind == _KIND_DECISION:
        rlp.decode_list(fields, 4, name="decision")
        return Decision(
            height=_height(fields[1]),
            block=rlp.decode_bytes(fields[2], name="decision block"),
            certificate=rlp.decode_bytes(fields[3], name="decision certificate"),
        )
    if kind == _KIND_DECISION_REQUEST:
        rlp.decode_list(fields, 2, name="decision request")
        return DecisionRequest(height=_height(fields[1]))
    raise DecodingError(f"unknown consensus message kind {kind}")


def _height(item: rlp.Item) -> Height:
    return Height(rlp.decode_uint(item, name="height", max_bytes=MAX_HEIGHT_BYTES))


def _round(item: rlp.Item, name: str = "round") -> Round:
    return Round(rlp.decode_uint(item, name=name, max_bytes=MAX_ROUND_BYTES))


def _signature(item: rlp.Item) -> bytes:
    signature = rlp.decode_bytes(item, name="signature", max_len=MAX_SIGNATURE_BYTES)
    if not signature:
        raise DecodingError("signature is empty")
    return signature


def _decode_vote(fields: list[rlp.Item]) -> Vote:
    rlp.decode_list(fields, 7, name="vote")
    type_value = rlp.decode_uint(fields[1], name="vote type", max_bytes=1)
    if type_value not in (VoteType.PREVOTE, VoteType.PRECOMMIT):
        raise DecodingError(f"unknown vote type {type_value}")
    raw_hash = rlp.decode_bytes(fields[4], name="vote block hash", max_len=32)
    if raw_hash and len(raw_hash) != 32:
        raise DecodingError(f"vote block hash must be 32 bytes or empty, got {len(raw_hash)}")
    return Vote(
        vote_type=VoteType(type_value),
        height=_height(fields[2]),
        round=_round(fields[3]),
        block_hash=Hash32(raw_hash) if raw_hash else None,
        validator=Address(rlp.decode_fixed(fields[5], 20, name="vote validator")),
        signature=_signature(fields[6]),
    )


def _decode_proposal(fields: list[rlp.Item]) -> Proposal:
    rlp.decode_list(fields, 8, name="proposal")
    return Proposal(
        height=_height(fields[1]),
        round=_round(fields[2]),
        block_hash=Hash32(rlp.decode_fixed(fields[3], 32, name="proposal block hash")),
        valid_round=_round(fields[4], name="proposal valid round") - 1,
        proposer=Address(rlp.decode_fixed(fields[5], 20, name="proposer")),
        signature=_signature(fields[6]),
        block=rlp.decode_bytes(fields[7], name="proposal block"),
    )
