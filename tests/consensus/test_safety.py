"""The signer: it never signs conflicting messages, before or after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.consensus.messages import decode_message, vote_sign_bytes
from baychain.consensus.safety import (
    Lock,
    MemorySignerStore,
    PrivValidator,
    SignerState,
    decode_signer_state,
    encode_signer_state,
)
from baychain.consensus.signer_file import SIGNER_FILE_MAGIC, FileSignerStore
from baychain.consensus.types import Round, Step, Vote, VoteType
from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import CorruptStore, DecodingError, DoubleSignRefused
from baychain.primitives import Hash32, Height

CHAIN_ID = 20261
GENESIS = Hash32(b"\x22" * 32)
A = Hash32(b"\xaa" * 32)
B = Hash32(b"\xbb" * 32)
PREVOTE, PRECOMMIT = VoteType.PREVOTE, VoteType.PRECOMMIT
H = Height
R = Round


def signer(suite: str = "ecdsa", state: SignerState | None = None) -> PrivValidator:
    return PrivValidator(get_suite(suite), dev_private_keys(suite, 1)[0], CHAIN_ID, GENESIS, state)


def test_signatures_verify_and_name_the_validator() -> None:
    s = signer()
    vote = s.sign_vote(PREVOTE, H(3), R(0), A)
    payload = vote_sign_bytes(CHAIN_ID, GENESIS, PREVOTE, 3, 0, A)
    assert vote.validator == s.address
    assert get_suite("ecdsa").verify(s.public_key, payload, vote.signature)


def test_a_conflicting_vote_in_the_same_round_is_refused() -> None:
    s = signer()
    s.sign_vote(PREVOTE, H(3), R(0), A)
    with pytest.raises(DoubleSignRefused) as caught:
        s.sign_vote(PREVOTE, H(3), R(0), B)
    assert (caught.value.height, caught.value.round, caught.value.step) == (3, 0, "prevote")
    with pytest.raises(DoubleSignRefused):
        s.sign_vote(PREVOTE, H(3), R(0), None)


def test_signing_never_goes_back_in_height_round_step_order() -> None:
    s = signer()
    s.sign_vote(PRECOMMIT, H(3), R(1), None)
    for args in [(PREVOTE, H(3), R(1)), (PRECOMMIT, H(3), R(0)), (PREVOTE, H(2), R(9))]:
        with pytest.raises(DoubleSignRefused):
            s.sign_vote(args[0], args[1], args[2], A)
    with pytest.raises(DoubleSignRefused):
        s.sign_proposal(H(3), R(1), A, -1, b"block")
    s.sign_proposal(H(3), R(2), A, 1, b"block")
    s.sign_vote(PREVOTE, H(3), R(2), A)


def test_signing_the_same_bytes_again_returns_the_first_signature_even_for_sm2() -> None:
    s = signer("sm")  # SM2 signatures are randomized: a new one would differ
    first = s.sign_vote(PRECOMMIT, H(3), R(0), A)
    again = s.sign_vote(PRECOMMIT, H(3), R(0), A)
    assert again.signature == first.signature


@pytest.mark.parametrize("suite", ["ecdsa", "sm"])
def test_a_restarted_signer_refuses_what_conflicts_with_its_persisted_state(suite: str) -> None:
    store = MemorySignerStore()
    s = signer(suite)
    s.sign_vote(PREVOTE, H(7), R(2), A)
    assert s.state is not None
    store.save(s.state)
    restarted = signer(suite, store.load())
    with pytest.raises(DoubleSignRefused):
        restarted.sign_vote(PREVOTE, H(7), R(2), B)
    with pytest.raises(DoubleSignRefused):
        restarted.sign_vote(PREVOTE, H(7), R(1), A)
    restarted.sign_vote(PRECOMMIT, H(7), R(2), None)


def test_a_precommit_records_the_lock_which_lasts_for_the_height() -> None:
    s = signer()
    lock = Lock(R(1), A, b"block a", (b"vote1", b"vote2"))
    s.sign_vote(PRECOMMIT, H(4), R(1), A, lock=lock)
    assert s.state is not None and s.state.lock == lock
    s.sign_vote(PREVOTE, H(4), R(2), None)
    assert s.state.lock == lock and s.state.prevote and s.state.precommit
    s.sign_vote(PRECOMMIT, H(4), R(3), B)  # without details: a bare lock on B
    assert s.state.lock == Lock(R(3), B)
    s.sign_vote(PREVOTE, H(5), R(0), None)
    assert s.state.lock is None and not s.state.precommit


def test_the_state_keeps_the_latest_vote_of_each_type_for_resending() -> None:
    s = signer()
    s.sign_vote(PREVOTE, H(4), R(0), A)
    s.sign_vote(PRECOMMIT, H(4), R(0), A)
    assert s.state is not None
    prevote, precommit = decode_message(s.state.prevote), decode_message(s.state.precommit)
    assert isinstance(prevote, Vote) and isinstance(precommit, Vote)
    assert (prevote.vote_type, precommit.vote_type) == (PREVOTE, PRECOMMIT)


states = st.builds(
    SignerState,
    st.integers(0, 2**64 - 1).map(Height),
    st.integers(0, 2**32 - 1).map(Round),
    st.sampled_from(Step),
    st.binary(max_size=100),
    st.binary(max_size=80),
    st.none()
    | st.builds(
        Lock,
        st.integers(0, 2**32 - 1),
        st.binary(min_size=32, max_size=32).map(Hash32),
        st.binary(max_size=100),
        st.lists(st.binary(max_size=50), max_size=4).map(tuple),
    ),
    st.binary(max_size=50),
    st.binary(max_size=50),
)


@given(states)
def test_state_encoding_round_trips(state: SignerState) -> None:
    assert decode_signer_state(encode_signer_state(state)) == state


def test_malformed_states_raise_decoding_error() -> None:
    with pytest.raises(DecodingError):
        decode_signer_state(b"\xc0")
    good = encode_signer_state(SignerState(H(1), R(0), Step.PREVOTE, b"p", b"s"))
    with pytest.raises(DecodingError):
        decode_signer_state(good[:-1])


def test_file_store_round_trips_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "signer.state"
    store = FileSignerStore(path)
    assert store.load() is None
    s = signer()
    s.sign_vote(PRECOMMIT, H(9), R(1), A, lock=Lock(R(1), A, b"blk", (b"v",)))
    assert s.state is not None
    store.save(s.state)
    assert FileSignerStore(path).load() == s.state
    s.sign_vote(PREVOTE, H(10), R(0), None)
    assert s.state is not None
    store.save(s.state)
    assert FileSignerStore(path).load() == s.state
    assert not (tmp_path / "signer.state.tmp").exists()
    assert path.read_bytes().startswith(SIGNER_FILE_MAGIC)


def test_file_store_refuses_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "signer.state"
    store = FileSignerStore(path)
    store.save(SignerState(H(1), R(0), Step.PREVOTE, b"p", b"s"))
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptStore, match="checksum"):
        store.load()
    path.write_bytes(b"not a signer file at all, but long enough to have a checksum")
    with pytest.raises(CorruptStore, match="not a BayChain signer state"):
        store.load()


def test_the_signer_binds_the_genesis_hash() -> None:
    suite = get_suite("ecdsa")
    genesis, other = Hash32(b"\x22" * 32), Hash32(b"\x33" * 32)
    s = PrivValidator(suite, dev_private_keys("ecdsa", 1)[0], CHAIN_ID, genesis)
    vote = s.sign_vote(PREVOTE, H(3), R(0), A)
    ours = vote_sign_bytes(CHAIN_ID, genesis, PREVOTE, 3, 0, A)
    theirs = vote_sign_bytes(CHAIN_ID, other, PREVOTE, 3, 0, A)
    assert suite.verify(s.public_key, ours, vote.signature)
    assert not suite.verify(s.public_key, theirs, vote.signature)
