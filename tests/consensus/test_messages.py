"""Consensus messages: round trips (hypothesis), strict decoding, the exact signed bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.codec import rlp
from baychain.consensus.messages import (
    SIGNING_DOMAIN,
    Decision,
    DecisionRequest,
    Message,
    decode_message,
    encode_message,
    proposal_sign_bytes,
    vote_sign_bytes,
)
from baychain.consensus.types import Proposal, Round, Vote, VoteType
from baychain.errors import DecodingError
from baychain.primitives import Address, Hash32, Height

GENESIS = Hash32(b"\x22" * 32)
OTHER_GENESIS = Hash32(b"\x33" * 32)

heights = st.integers(0, 2**64 - 1).map(Height)
rounds = st.integers(0, 2**32 - 1).map(Round)
hashes = st.binary(min_size=32, max_size=32).map(Hash32)
addresses = st.binary(min_size=20, max_size=20).map(Address)
signatures = st.binary(min_size=1, max_size=128)

votes = st.builds(
    Vote, st.sampled_from(VoteType), heights, rounds, st.none() | hashes, addresses, signatures
)
proposals = st.builds(
    lambda h, r, bh, vr, block, who, sig: Proposal(h, r, bh, min(vr, r - 1), block, who, sig),
    heights,
    rounds,
    hashes,
    st.integers(-1, 2**32 - 2),
    st.binary(max_size=300),
    addresses,
    signatures,
)
messages = st.one_of(
    votes,
    proposals,
    st.builds(Decision, heights, st.binary(max_size=200), st.binary(max_size=200)),
    st.builds(DecisionRequest, heights),
)


@given(messages)
def test_decode_inverts_encode(message: Message) -> None:
    assert decode_message(encode_message(message)) == message


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_decoding_error(data: bytes) -> None:
    try:
        message = decode_message(data)
    except DecodingError:
        return
    assert encode_message(message) == data  # whatever decodes is canonical


@given(messages, st.data())
def test_truncated_or_extended_encodings_are_refused(message: Message, data: st.DataObject) -> None:
    encoded = encode_message(message)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(DecodingError):
        decode_message(encoded[:cut])
    with pytest.raises(DecodingError):
        decode_message(encoded + b"\x00")


U = rlp.encode_uint
HASH = b"\x11" * 32
WHO = b"\x22" * 20


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ([], "empty"),
        ([U(9), U(1)], "unknown consensus message kind"),
        ([U(2), U(3), U(1), U(0), HASH, WHO, b"s"], "unknown vote type"),
        ([U(2), U(1), U(1), U(0), b"\x11" * 31, WHO, b"s"], "32 bytes or empty"),
        ([U(2), U(1), U(1), U(0), HASH, WHO, b""], "signature is empty"),
        ([U(2), U(1), U(1), U(0), HASH, WHO[:19], b"s"], "vote validator"),
        ([U(2), U(1), U(1), b"\x00\x01", HASH, WHO, b"s"], "leading zero"),
        ([U(2), U(1), U(1), U(2**32), HASH, WHO, b"s"], "round"),
        ([U(2), U(1), U(1), U(0), HASH, WHO], "7 items"),
        ([U(1), U(1), U(0), HASH, U(0), WHO, b"s"], "8 items"),
        ([U(3), U(1), b"block"], "4 items"),
        ([U(4), [U(1)]], "height"),
    ],
)
def test_malformed_messages_raise_decoding_error(fields: list[rlp.Encodable], problem: str) -> None:
    with pytest.raises(DecodingError, match=problem):
        decode_message(rlp.encode(fields))


def test_signed_bytes_are_pinned() -> None:
    # 0x19 || rlp([DOMAIN, chain_id, genesis_hash, type, height, round, block_hash]):
    # a vector others can use.
    payload = vote_sign_bytes(20261, GENESIS, VoteType.PRECOMMIT, 7, 1, Hash32(HASH))
    expected = "".join(
        [
            "19",  # EIP-191 prefix
            "f85e",  # list of 94 bytes
            "95" + SIGNING_DOMAIN.hex(),  # "BayChain consensus v2"
            "824f25",  # chain id 20261
            "a0" + "22" * 32,  # genesis hash
            "020701",  # precommit, height 7, round 1
            "a0" + "11" * 32,  # block hash
        ]
    )
    assert SIGNING_DOMAIN == b"BayChain consensus v2"
    assert payload.hex() == expected
    nil = vote_sign_bytes(20261, GENESIS, VoteType.PREVOTE, 7, 1, None)
    assert nil == b"\x19" + rlp.encode([SIGNING_DOMAIN, U(20261), GENESIS, U(1), U(7), U(1), b""])
    with pytest.raises(ValueError, match="32 bytes"):
        vote_sign_bytes(20261, b"\x22", VoteType.PREVOTE, 7, 1, None)


def test_signed_bytes_separate_chain_genesis_type_height_round_and_block() -> None:
    base = (20261, GENESIS, VoteType.PREVOTE, 7, 1, Hash32(HASH))
    variants = {
        vote_sign_bytes(*base),
        vote_sign_bytes(20262, *base[1:]),
        vote_sign_bytes(base[0], OTHER_GENESIS, *base[2:]),
        vote_sign_bytes(*base[:2], VoteType.PRECOMMIT, *base[3:]),
        vote_sign_bytes(*base[:3], 8, *base[4:]),
        vote_sign_bytes(*base[:4], 2, base[5]),
        vote_sign_bytes(*base[:5], None),
        proposal_sign_bytes(20261, GENESIS, 7, 1, Hash32(HASH), -1),
        proposal_sign_bytes(20261, GENESIS, 7, 1, Hash32(HASH), 0),
    }
    assert len(variants) == 9
    assert all(v[0] == 0x19 for v in variants)  # EIP-191: never a transaction payload


def test_signed_bytes_bind_the_genesis_hash() -> None:
    # Every default network has chain id 20261 and the same dev keys: only the genesis
    # hash tells them apart, so a vote of one must not verify on another.
    payload = vote_sign_bytes(20261, GENESIS, VoteType.PRECOMMIT, 7, 1, Hash32(HASH))
    assert payload == b"\x19" + rlp.encode(
        [SIGNING_DOMAIN, U(20261), GENESIS, U(2), U(7), U(1), HASH]
    )
    assert payload != vote_sign_bytes(20261, OTHER_GENESIS, VoteType.PRECOMMIT, 7, 1, Hash32(HASH))
    proposal = proposal_sign_bytes(20261, GENESIS, 7, 1, Hash32(HASH), -1)
    assert proposal == b"\x19" + rlp.encode(
        [SIGNING_DOMAIN, U(20261), GENESIS, U(0x20), U(7), U(1), HASH, U(0)]
    )
    assert proposal != proposal_sign_bytes(20261, OTHER_GENESIS, 7, 1, Hash32(HASH), -1)


def test_a_message_of_a_million_empty_lists_is_refused_for_its_size() -> None:
    # Found by the fuzz campaign: decode_message decoded the whole RLP tree before looking
    # at the kind, so a maximum-size frame of empty lists cost seconds of CPU and a
    # gigabyte of memory, and was refused only then ("message kind must be an RLP integer").
    flood = bytes([0xFA, 0x0F, 0xFF, 0xFC]) + b"\xc0" * 0x0FFFFC
    with pytest.raises(DecodingError, match="more items than the message may hold"):
        decode_message(flood)


def test_a_block_of_a_million_empty_lists_is_refused_for_its_size() -> None:
    from baychain.crypto import get_suite
    from baychain.ledger.block import MAX_BLOCK_ITEMS, decode_block

    flood = rlp.wrap_list(b"\xc0" * (MAX_BLOCK_ITEMS + 1))
    with pytest.raises(DecodingError, match="more items than the message may hold"):
        decode_block(flood, get_suite("ecdsa"), 1)
