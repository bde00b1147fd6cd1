"""The sm suite as a CryptoSuite: hash, address rule, signer_address."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.crypto.sm import SmSuite
from baychain.crypto.sm2 import SM2_N
from baychain.crypto.sm3 import sm3
from baychain.errors import InvalidKey, InvalidSignature

SUITE = SmSuite()


def test_suite_attributes() -> None:
    assert SUITE.name == "sm"
    assert SUITE.signature_size == 64
    assert SUITE.recovers_public_key is False
    assert SUITE.hash(b"abc") == sm3(b"abc")


def test_address_is_last_20_bytes_of_sm3_of_public_key() -> None:
    public_key = SUITE.public_key(SUITE.new_private_key())
    assert SUITE.address(public_key) == sm3(public_key)[12:]
    with pytest.raises(InvalidKey):
        SUITE.address(public_key[:63])


@settings(max_examples=10, deadline=None)
@given(d=st.integers(min_value=1, max_value=SM2_N - 2), message=st.binary(max_size=200))
def test_sign_verify_round_trip(d: int, message: bytes) -> None:
    key = d.to_bytes(32, "big")
    public_key = SUITE.public_key(key)
    signature = SUITE.sign(key, message)
    assert SUITE.verify(public_key, message, signature)
    assert SUITE.signer_address(message, signature, public_key) == SUITE.address(public_key)
    assert not SUITE.verify(public_key, message + b"\x00", signature)


def test_signer_address_needs_the_public_key() -> None:
    key = SUITE.new_private_key()
    signature = SUITE.sign(key, b"m")
    with pytest.raises(InvalidSignature, match="public key must be given"):
        SUITE.signer_address(b"m", signature)


def test_signer_address_rejects_a_signature_by_another_key() -> None:
    signature = SUITE.sign(SUITE.new_private_key(), b"m")
    with pytest.raises(InvalidSignature):
        SUITE.signer_address(b"m", signature, SUITE.public_key(SUITE.new_private_key()))
