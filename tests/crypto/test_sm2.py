"""SM2 against the worked example of GB/T 32918.5-2017 (= GM/T 0003.5-2012) Annex A.

The example signs "message digest" with the default ID. Its intermediate values
(Z_A, e, the random k) and the signature (r, s) are published; we check that

- our Z and e computations give the standard's values,
- Tongsuo accepts the published (r, s) under the published public key,
- r and s follow from k by the signing equations (a slow pure-Python reference),
- signatures we make verify under that reference, which proves they cover
  SM3(Z || M) with the default ID.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.crypto import sm2
from baychain.crypto.sm import SmSuite
from baychain.crypto.sm2 import SM2_A, SM2_B, SM2_GX, SM2_GY, SM2_N, SM2_P
from baychain.errors import InvalidKey, InvalidSignature

STD_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
STD_XA = 0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020
STD_YA = 0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13
STD_MESSAGE = b"message digest"
STD_Z = bytes.fromhex("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
STD_E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
STD_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
STD_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
STD_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA

STD_PRIVATE = STD_D.to_bytes(32, "big")
STD_PUBLIC = STD_XA.to_bytes(32, "big") + STD_YA.to_bytes(32, "big")
STD_SIGNATURE = STD_R.to_bytes(32, "big") + STD_S.to_bytes(32, "big")

SUITE = SmSuite()

Point = tuple[int, int] | None


def _add(p: Point, q: Point) -> Point:
    """Affine point addition on the SM2 curve (reference only: slow, not constant time)."""
    if p is None:
        return q
    if q is None:
        return p
    (x1, y1), (x2, y2) = p, q
    if x1 == x2 and (y1 + y2) % SM2_P == 0:
        return None
    if p == q:
        slope = (3 * x1 * x1 + SM2_A) * pow(2 * y1, -1, SM2_P) % SM2_P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, SM2_P) % SM2_P
    x3 = (slope * slope - x1 - x2) % SM2_P
    return x3, (slope * (x1 - x3) - y1) % SM2_P


def _mul(k: int, p: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, p)
        p = _add(p, p)
        k >>= 1
    return result


def _reference_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """GB/T 32918.2 clause 7.1, steps B1-B7, in plain Python."""
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        return False
    e = int.from_bytes(sm2.compute_e(public_key, message), "big")
    t = (r + s) % SM2_N
    if t == 0:
        return False
    pub = (int.from_bytes(public_key[:32], "big"), int.from_bytes(public_key[32:], "big"))
    point = _add(_mul(s, (SM2_GX, SM2_GY)), _mul(t, pub))
    return point is not None and (e + point[0]) % SM2_N == r


def test_curve_parameters_are_consistent() -> None:
    assert (SM2_GY**2 - SM2_GX**3 - SM2_A * SM2_GX - SM2_B) % SM2_P == 0
    assert _mul(SM2_N, (SM2_GX, SM2_GY)) is None


def test_standard_public_key() -> None:
    assert sm2.private_key_to_public_key(STD_PRIVATE) == STD_PUBLIC


def test_standard_z_and_e() -> None:
    assert sm2.compute_z(STD_PUBLIC) == STD_Z
    assert sm2.compute_e(STD_PUBLIC, STD_MESSAGE) == STD_E


def test_standard_signature_verifies() -> None:
    assert sm2.verify(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    assert SUITE.verify(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    assert _reference_verify(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    assert not sm2.verify(STD_PUBLIC, b"message digesT", STD_SIGNATURE)


def test_standard_signature_follows_from_k() -> None:
    # A3-A6: (x1, y1) = kG, r = (e + x1) mod n, s = (1 + d)^-1 (k - r d) mod n.
    point = _mul(STD_K, (SM2_GX, SM2_GY))
    assert point is not None
    e = int.from_bytes(STD_E, "big")
    r = (e + point[0]) % SM2_N
    s = pow(1 + STD_D, -1, SM2_N) * (STD_K - r * STD_D) % SM2_N
    assert (r, s) == (STD_R, STD_S)


def test_z_depends_on_the_user_id() -> None:
    assert sm2.compute_z(STD_PUBLIC, b"ALICE123@YAHOO.COM") != STD_Z


@settings(max_examples=5, deadline=None)
@given(message=st.binary(max_size=100))
def test_our_signatures_verify_under_the_reference(message: bytes) -> None:
    signature = sm2.sign(STD_PRIVATE, message)
    assert len(signature) == 64
    assert sm2.verify(STD_PUBLIC, message, signature)
    assert _reference_verify(STD_PUBLIC, message, signature)


def test_signatures_are_randomized_and_all_verify() -> None:
    first = sm2.sign(STD_PRIVATE, b"same")
    second = sm2.sign(STD_PRIVATE, b"same")
    assert first != second
    assert sm2.verify(STD_PUBLIC, b"same", first)
    assert sm2.verify(STD_PUBLIC, b"same", second)


def test_tampering_fails() -> None:
    signature = sm2.sign(STD_PRIVATE, b"pay 1")
    assert not sm2.verify(STD_PUBLIC, b"pay 2", signature)
    for position in (0, 31, 32, 63):
        bad = bytearray(signature)
        bad[position] ^= 0x01
        assert not sm2.verify(STD_PUBLIC, b"pay 1", bytes(bad))
    other = sm2.private_key_to_public_key(sm2.new_private_key())
    assert not sm2.verify(other, b"pay 1", signature)


@pytest.mark.parametrize(
    "signature",
    [
        STD_SIGNATURE[:63],
        bytes(32) + STD_SIGNATURE[32:],
        STD_SIGNATURE[:32] + bytes(32),
        SM2_N.to_bytes(32, "big") + STD_SIGNATURE[32:],
        STD_SIGNATURE[:32] + (SM2_N + 1).to_bytes(32, "big"),
    ],
)
def test_malformed_signatures_are_rejected(signature: bytes) -> None:
    assert not sm2.verify(STD_PUBLIC, STD_MESSAGE, signature)
    with pytest.raises(InvalidSignature):
        SUITE.signer_address(STD_MESSAGE, signature, STD_PUBLIC)


def test_off_curve_public_key() -> None:
    off_curve = STD_PUBLIC[:63] + bytes([STD_PUBLIC[63] ^ 1])
    assert not sm2.verify(off_curve, STD_MESSAGE, STD_SIGNATURE)
    with pytest.raises(InvalidKey, match="not a point"):
        SUITE.signer_address(STD_MESSAGE, STD_SIGNATURE, off_curve)


@pytest.mark.parametrize("d", [0, SM2_N - 1, SM2_N, 2**256 - 1])
def test_private_key_range(d: int) -> None:
    with pytest.raises(InvalidKey):
        sm2.private_key_to_public_key(d.to_bytes(32, "big"))


def test_largest_private_key_is_accepted() -> None:
    key = (SM2_N - 2).to_bytes(32, "big")
    message = b"edge"
    assert sm2.verify(sm2.private_key_to_public_key(key), message, sm2.sign(key, message))
