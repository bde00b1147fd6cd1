"""SM2 against the worked example of GB/T 32918.5-2017 (= GM/T 0003.5-2012) Annex A.

The example signs "message digest" with the default ID. Its intermediate values
(Z_A, e, the random k) and the signature (r, s) are published; we check that

- our Z and e computations give the standard's values,
- both verifiers (``verify``, in our Rust extension, and ``tongsuo_verify``)
  accept the published (r, s) under the published public key,
- r and s follow from k by the signing equations (a slow pure-Python reference),
- signatures we make verify under that reference, which proves they cover
  SM3(Z || M) with the default ID.

Then the three implementations are played against each other on random keys
and messages: Tongsuo's signatures and the reference's must verify under both
verifiers, and the two verifiers must give the same verdict on tampered and
malformed inputs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain import _evm
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


def _reference_sign(private_key: int, message: bytes, k: int) -> bytes | None:
    """GB/T 32918.2 clause 6.1, steps A1-A7, with the given k; None where A5/A6 say retry."""
    public = _mul(private_key, (SM2_GX, SM2_GY))
    if public is None:
        return None
    public_key = public[0].to_bytes(32, "big") + public[1].to_bytes(32, "big")
    e = int.from_bytes(sm2.compute_e(public_key, message), "big")
    point = _mul(k, (SM2_GX, SM2_GY))
    if point is None:
        return None
    r = (e + point[0]) % SM2_N
    if r == 0 or r + k == SM2_N:
        return None
    s = pow(1 + private_key, -1, SM2_N) * (k - r * private_key) % SM2_N
    if s == 0:
        return None
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


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
    assert _evm.sm2_verify(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    assert sm2.tongsuo_verify(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    assert SUITE.verify(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    assert _reference_verify(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    assert not sm2.verify(STD_PUBLIC, b"message digesT", STD_SIGNATURE)
    assert not sm2.tongsuo_verify(STD_PUBLIC, b"message digesT", STD_SIGNATURE)


def test_reference_signer_reproduces_the_standard_signature() -> None:
    assert _reference_sign(STD_D, STD_MESSAGE, STD_K) == STD_SIGNATURE


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
    assert not sm2.tongsuo_verify(STD_PUBLIC, STD_MESSAGE, signature)
    with pytest.raises(InvalidSignature):
        SUITE.signer_address(STD_MESSAGE, signature, STD_PUBLIC)


def test_off_curve_public_key() -> None:
    off_curve = STD_PUBLIC[:63] + bytes([STD_PUBLIC[63] ^ 1])
    assert not sm2.verify(off_curve, STD_MESSAGE, STD_SIGNATURE)
    assert not sm2.tongsuo_verify(off_curve, STD_MESSAGE, STD_SIGNATURE)
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


# --- The Rust verifier against Tongsuo and the reference ------------------------------------

_private_keys = st.integers(min_value=1, max_value=SM2_N - 2)


def _both_verdicts(public_key: bytes, message: bytes, signature: bytes) -> tuple[bool, bool]:
    return (
        sm2.verify(public_key, message, signature),
        sm2.tongsuo_verify(public_key, message, signature),
    )


@settings(max_examples=60, deadline=None)
@given(d=_private_keys, message=st.binary(max_size=300), flip=st.integers(0, 64 * 8 - 1))
def test_tongsuo_signatures_verify_in_rust(d: int, message: bytes, flip: int) -> None:
    private_key = d.to_bytes(32, "big")
    public_key = sm2.private_key_to_public_key(private_key)
    signature = sm2.sign(private_key, message)
    assert _both_verdicts(public_key, message, signature) == (True, True)
    # Any one flipped bit of r || s, or a changed message, fails under both.
    tampered = bytearray(signature)
    tampered[flip // 8] ^= 1 << (flip % 8)
    assert _both_verdicts(public_key, message, bytes(tampered)) == (False, False)
    assert _both_verdicts(public_key, message + b"\x00", signature) == (False, False)


@settings(max_examples=15, deadline=None)
@given(d=_private_keys, k=st.integers(min_value=1, max_value=SM2_N - 1), message=st.binary())
def test_reference_signatures_verify_in_rust_and_tongsuo(d: int, k: int, message: bytes) -> None:
    signature = _reference_sign(d, message, k)
    if signature is None:  # k rejected by A5/A6; vanishingly rare
        return
    public_key = sm2.private_key_to_public_key(d.to_bytes(32, "big"))
    assert _both_verdicts(public_key, message, signature) == (True, True)
    other = sm2.private_key_to_public_key((d % (SM2_N - 2) + 1).to_bytes(32, "big"))
    assert _both_verdicts(other, message, signature) == (False, False)


@settings(max_examples=200, deadline=None)
@given(
    public_key=st.one_of(st.binary(min_size=64, max_size=64), st.just(STD_PUBLIC), st.binary()),
    signature=st.one_of(st.binary(min_size=64, max_size=64), st.just(STD_SIGNATURE), st.binary()),
    message=st.one_of(st.just(STD_MESSAGE), st.binary(max_size=40)),
)
def test_verifiers_agree_on_arbitrary_bytes(
    public_key: bytes, signature: bytes, message: bytes
) -> None:
    verdict_rust, verdict_tongsuo = _both_verdicts(public_key, message, signature)
    assert verdict_rust == verdict_tongsuo
    assert verdict_rust == (
        (public_key, message, signature) == (STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)
    )


def _point_with_x(x: int) -> tuple[int, int] | None:
    """Return (x, y) on the curve for the smallest such y, or None if x is not an abscissa."""
    rhs = (x**3 + SM2_A * x + SM2_B) % SM2_P
    y = pow(rhs, (SM2_P + 1) // 4, SM2_P)  # p = 3 mod 4
    return (x, min(y, SM2_P - y)) if y * y % SM2_P == rhs else None


def test_non_canonical_coordinates_are_rejected_by_both() -> None:
    # x = 0 is an abscissa of the curve, and 0 + p still fits in 32 bytes.
    point = _point_with_x(0)
    assert point is not None
    x, y = point
    canonical = x.to_bytes(32, "big") + y.to_bytes(32, "big")
    sm2.check_public_key(canonical)
    non_canonical = (x + SM2_P).to_bytes(32, "big") + y.to_bytes(32, "big")
    with pytest.raises(InvalidKey):
        sm2.check_public_key(non_canonical)
    assert _both_verdicts(non_canonical, STD_MESSAGE, STD_SIGNATURE) == (False, False)


def test_r_plus_s_equal_to_n_is_rejected_by_both() -> None:
    # B5: t = (r + s) mod n = 0 fails, whatever the key and message.
    r = int.from_bytes(STD_SIGNATURE[:32], "big")
    signature = r.to_bytes(32, "big") + (SM2_N - r).to_bytes(32, "big")
    assert _both_verdicts(STD_PUBLIC, STD_MESSAGE, signature) == (False, False)


def test_bad_key_is_reported_before_a_bad_signature() -> None:
    off_curve = STD_PUBLIC[:63] + bytes([STD_PUBLIC[63] ^ 1])
    with pytest.raises(InvalidKey):
        sm2.check_signature(off_curve, STD_MESSAGE, bytes(64))
    with pytest.raises(InvalidSignature):
        sm2.check_signature(STD_PUBLIC, STD_MESSAGE, bytes(64))
    sm2.check_signature(STD_PUBLIC, STD_MESSAGE, STD_SIGNATURE)


def test_verification_from_several_threads() -> None:
    # The Rust verifier releases the GIL; concurrent calls must give the sequential answers.
    keys = [sm2.new_private_key() for _ in range(8)]
    jobs = []
    for index, key in enumerate(keys):
        message = index.to_bytes(4, "big")
        signature = sm2.sign(key, message)
        public_key = sm2.private_key_to_public_key(key)
        jobs.append((public_key, message, signature))
        jobs.append((public_key, message + b"!", signature))
    expected = [index % 2 == 0 for index in range(len(jobs))]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            assert list(pool.map(lambda job: sm2.verify(*job), jobs)) == expected
