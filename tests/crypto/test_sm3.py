"""SM3 against GB/T 32905-2016 Appendix A, and HMAC-SM3 against the standard library."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baychain.crypto import sm3 as sm3_module
from baychain.crypto.sm3 import hmac_sm3, sm3

GBT32905_VECTORS = [
    # Example 1: "abc".
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    # Example 2: "abcd" * 16 (a message filling one block, so padding takes a second).
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
    # The empty message (OpenSSL's test vectors).
    (b"", "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"),
]


@pytest.mark.parametrize(("message", "digest"), GBT32905_VECTORS)
def test_sm3_standard_vectors(message: bytes, digest: str) -> None:
    assert sm3(message).hex() == digest


@pytest.mark.parametrize(("message", "digest"), GBT32905_VECTORS)
def test_tongsuo_fallback_gives_the_same_digests(message: bytes, digest: str) -> None:
    assert sm3_module._tongsuo_sm3()(message).hex() == digest


def test_repeated_calls_do_not_share_state() -> None:
    assert sm3(b"abc") == sm3(b"abc")
    assert sm3(b"ab") + sm3(b"c") != sm3(b"abc") * 2


@pytest.mark.skipif("sm3" not in hashlib.algorithms_available, reason="hashlib lacks SM3")
@given(key=st.binary(max_size=150), message=st.binary(max_size=300))
def test_hmac_sm3_matches_stdlib(key: bytes, message: bytes) -> None:
    assert hmac_sm3(key, message) == hmac.new(key, message, "sm3").digest()
