"""Commit certificates: what verifies, and each way a certificate can fail to."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.codec import rlp
from baychain.consensus.certificate import (
    CommitCertificate,
    decode_certificate,
    verify_certificate,
)
from baychain.consensus.messages import vote_sign_bytes
from baychain.consensus.types import Round, VoteType
from baychain.consensus.validators import Validator, ValidatorSet
from baychain.consensus.verifier import CachingVerifier
from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import DecodingError, InvalidBlock, InvalidCommitCertificate
from baychain.primitives import Hash32, Height

CHAIN_ID = 20261
GENESIS = Hash32(b"\x22" * 32)
OTHER_GENESIS = Hash32(b"\x33" * 32)


def setup(suite_name: str, powers: list[int]) -> tuple[list[bytes], ValidatorSet]:
    suite = get_suite(suite_name)
    keys = dev_private_keys(suite_name, len(powers))
    vs = ValidatorSet(
        Validator(suite.address(suite.public_key(k)), suite.public_key(k), p)
        for k, p in zip(keys, powers, strict=True)
    )
    return keys, vs


def certify(
    suite_name: str, keys: list[bytes], signers: list[int], block_hash: bytes, height: int = 5
) -> CommitCertificate:
    suite = get_suite(suite_name)
    payload = vote_sign_bytes(CHAIN_ID, GENESIS, VoteType.PRECOMMIT, height, 2, block_hash)
    entries = tuple((i, suite.sign(keys[i], payload)) for i in signers)
    return CommitCertificate(Height(height), Round(2), Hash32(block_hash), entries)


BLOCK = Hash32(b"\xab" * 32)


@pytest.mark.parametrize("suite_name", ["ecdsa", "sm"])
def test_a_quorum_of_precommits_verifies(suite_name: str) -> None:
    suite = get_suite(suite_name)
    keys, vs = setup(suite_name, [1, 1, 1, 1])
    cert = certify(suite_name, keys, [0, 2, 3], BLOCK)
    verify_certificate(cert, BLOCK, vs, suite, CHAIN_ID, GENESIS, height=5)
    verify_certificate(decode_certificate(cert.encode()), BLOCK, vs, suite, CHAIN_ID, GENESIS)


def failure(cert: CommitCertificate, vs: ValidatorSet, **kwargs: object) -> str:
    with pytest.raises(InvalidCommitCertificate) as caught:
        verify_certificate(cert, BLOCK, vs, get_suite("ecdsa"), CHAIN_ID, GENESIS, **kwargs)  # type: ignore[arg-type]
    assert (caught.value.height, caught.value.round) == (cert.height, cert.round)
    assert isinstance(caught.value, InvalidBlock)
    return caught.value.reason


KEYS, VS = setup("ecdsa", [1, 1, 1, 1])
GOOD = certify("ecdsa", KEYS, [0, 1, 2], BLOCK)


def test_a_forged_signature_is_refused() -> None:
    forged = replace(
        GOOD, signatures=(GOOD.signatures[0], (1, GOOD.signatures[2][1]), GOOD.signatures[2])
    )
    assert "signature of validator 1" in failure(forged, VS)


def test_a_duplicate_signer_is_refused_even_if_its_power_would_make_a_quorum() -> None:
    doubled = replace(GOOD, signatures=(GOOD.signatures[0], GOOD.signatures[1], GOOD.signatures[1]))
    assert "signs twice" in failure(doubled, VS)


def test_insufficient_power_is_refused() -> None:
    two = certify("ecdsa", KEYS, [0, 3], BLOCK)
    assert "more than two thirds" in failure(two, VS)
    keys, weighted = setup("ecdsa", [4, 1, 1, 1])  # 3 of 4 signers but only 3 of 7 power
    assert "3 of 7" in failure(certify("ecdsa", keys, [1, 2, 3], BLOCK), weighted)
    verify_certificate(
        certify("ecdsa", keys, [0, 1], BLOCK),
        BLOCK,
        weighted,
        get_suite("ecdsa"),
        CHAIN_ID,
        GENESIS,
    )


def test_the_wrong_validator_set_is_refused() -> None:
    other_keys = dev_private_keys("ecdsa", 8)[4:]
    suite = get_suite("ecdsa")
    others = ValidatorSet(
        Validator(suite.address(suite.public_key(k)), suite.public_key(k), 1) for k in other_keys
    )
    assert "is invalid" in failure(GOOD, others)
    smaller = ValidatorSet(VS.validators[:2])
    assert "outside" in failure(GOOD, smaller)


def test_the_wrong_height_block_or_chain_is_refused() -> None:
    assert "height 6" in failure(GOOD, VS, height=6)
    moved = replace(GOOD, height=Height(6))  # signatures were made for height 5
    assert "is invalid" in failure(moved, VS)
    with pytest.raises(InvalidCommitCertificate, match="certifies block"):
        verify_certificate(GOOD, b"\xcd" * 32, VS, get_suite("ecdsa"), CHAIN_ID, GENESIS)
    with pytest.raises(InvalidCommitCertificate, match="is invalid"):
        verify_certificate(GOOD, BLOCK, VS, get_suite("ecdsa"), CHAIN_ID + 1, GENESIS)


def test_a_cached_verifier_gives_the_same_answers() -> None:
    cache = CachingVerifier(get_suite("ecdsa"), capacity=8)
    for _ in range(2):
        verify_certificate(GOOD, BLOCK, VS, get_suite("ecdsa"), CHAIN_ID, GENESIS, verifier=cache)
    assert (cache.misses, cache.hits) == (3, 3)
    small = CachingVerifier(get_suite("ecdsa"), capacity=2)
    verify_certificate(GOOD, BLOCK, VS, get_suite("ecdsa"), CHAIN_ID, GENESIS, verifier=small)
    assert len(small._answers) == 2  # bounded
    forged = replace(GOOD, signatures=((0, GOOD.signatures[1][1]), *GOOD.signatures[1:]))
    with pytest.raises(InvalidCommitCertificate):
        verify_certificate(forged, BLOCK, VS, get_suite("ecdsa"), CHAIN_ID, GENESIS, verifier=cache)


U = rlp.encode_uint


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ([U(5), U(2), BLOCK, []], "no signatures"),
        ([U(5), U(2), BLOCK, [[U(1), b"s"], [U(1), b"t"]]], "increasing index order"),
        ([U(5), U(2), BLOCK, [[U(2), b"s"], [U(1), b"t"]]], "increasing index order"),
        ([U(5), U(2), BLOCK[:31], [[U(1), b"s"]]], "32 bytes"),
        ([U(5), U(2), BLOCK, [[U(1)]]], "2 items"),
        ([U(5), U(2), BLOCK], "4 items"),
        ([b"\x00\x05", U(2), BLOCK, [[U(1), b"s"]]], "leading zero"),
    ],
)
def test_malformed_certificates_raise_decoding_error(
    fields: list[rlp.Encodable], problem: str
) -> None:
    with pytest.raises(DecodingError, match=problem):
        decode_certificate(rlp.encode(fields))


@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**32 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(st.binary(min_size=1, max_size=72), min_size=1, max_size=10),
)
def test_decode_inverts_encode(height: int, rnd: int, value: bytes, sigs: list[bytes]) -> None:
    cert = CommitCertificate(
        Height(height), Round(rnd), Hash32(value), tuple((i * 3, s) for i, s in enumerate(sigs))
    )
    assert decode_certificate(cert.encode()) == cert
    assert cert.signers() == [i * 3 for i in range(len(sigs))]


def test_a_certificate_of_another_network_with_the_same_chain_id_is_refused() -> None:
    suite = get_suite("ecdsa")
    keys, vs = setup("ecdsa", [1, 1, 1, 1])  # the same dev keys on both networks
    payload = vote_sign_bytes(CHAIN_ID, OTHER_GENESIS, VoteType.PRECOMMIT, 5, 2, BLOCK)
    entries = tuple((i, suite.sign(keys[i], payload)) for i in (0, 1, 2))
    theirs = CommitCertificate(Height(5), Round(2), BLOCK, entries)
    verify_certificate(theirs, BLOCK, vs, suite, CHAIN_ID, OTHER_GENESIS, height=5)
    with pytest.raises(InvalidCommitCertificate, match="is invalid"):
        verify_certificate(theirs, BLOCK, vs, suite, CHAIN_ID, GENESIS, height=5)
