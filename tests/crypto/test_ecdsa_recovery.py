"""secp256k1 recovery in the Rust extension against coincurve, on valid and malformed signatures.

The oracle is the recovery as BayChain did it before the extension took it over:
the acceptance rules of ``crypto/ecdsa.py`` (65 bytes, r and s in [1, n-1], low s
unless allowed, recovery id 0 or 1) written out here independently, then
coincurve's ``PublicKey.from_signature_and_message``.
"""

from __future__ import annotations

import pytest
from coincurve import PrivateKey, PublicKey
from hypothesis import example, given, settings
from hypothesis import strategies as st

from baychain import _evm
from baychain.crypto.ecdsa import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    EcdsaSuite,
    address_of_public_key,
    keccak256,
    recover_public_key_from_digest,
    recover_signers,
)
from baychain.errors import InvalidSignature

SUITE = EcdsaSuite()


def _oracle(digest: bytes, signature: bytes, allow_high_s: bool) -> bytes | None:
    """The 64-byte key coincurve recovers under BayChain's rules, or None."""
    if len(digest) != 32 or len(signature) != 65:
        return None
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if not (1 <= r < SECP256K1_N and 1 <= s < SECP256K1_N):
        return None
    if s > SECP256K1_HALF_N and not allow_high_s:
        return None
    if signature[64] not in (0, 1):
        return None
    try:
        point: bytes = PublicKey.from_signature_and_message(signature, digest, hasher=None).format(
            compressed=False
        )
    except ValueError:
        return None
    return point[1:]


def _signature(r: int, s: int, recid: int) -> bytes:
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([recid])


def _high_s_twin(signature: bytes) -> bytes:
    """Same r, s' = n - s and the other parity: also valid, but with a high s."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])


private_keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(
    lambda k: k.to_bytes(32, "big")
)
digests = st.binary(min_size=32, max_size=32)
edge_scalars = st.sampled_from(
    [0, 1, 2, SECP256K1_HALF_N, SECP256K1_HALF_N + 1, SECP256K1_N - 1, SECP256K1_N,
     SECP256K1_N + 1, 2**256 - 1]
)  # fmt: skip
scalars = st.one_of(edge_scalars, st.integers(min_value=0, max_value=2**256 - 1))
recids = st.sampled_from([0, 1, 2, 3, 27, 255])


@st.composite
def signed(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(digest, signature): a real low-s signature, or its high-s twin."""
    digest = draw(digests)
    signature = PrivateKey(draw(private_keys)).sign_recoverable(digest, hasher=None)
    return digest, _high_s_twin(signature) if draw(st.booleans()) else signature


@st.composite
def forged(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(digest, signature) with arbitrary r, s and recovery id, or bytes of any length."""
    digest = draw(st.one_of(digests, st.binary(max_size=40)))
    if draw(st.integers(0, 4)) == 0:
        return digest, draw(st.binary(max_size=70))
    return digest, _signature(draw(scalars), draw(scalars), draw(recids))


@settings(max_examples=300, deadline=None)
@given(st.one_of(signed(), forged()), st.booleans())
@example((bytes(32), _signature(0, 1, 0)), False)  # r = 0
@example((bytes(32), _signature(1, 0, 0)), False)  # s = 0
@example((bytes(32), _signature(SECP256K1_N, 1, 0)), False)  # r = n
@example((bytes(32), _signature(1, SECP256K1_N, 1)), True)  # s = n
def test_rust_recovery_equals_coincurve(case: tuple[bytes, bytes], allow_high_s: bool) -> None:
    digest, signature = case
    expected = _oracle(digest, signature, allow_high_s)
    assert _evm.secp256k1_recover(digest, signature, allow_high_s) == expected
    if expected is None:
        with pytest.raises(InvalidSignature):
            recover_public_key_from_digest(digest, signature, allow_high_s=allow_high_s)
    else:
        assert recover_public_key_from_digest(digest, signature, allow_high_s=allow_high_s) == (
            expected
        )


def test_low_s_boundary() -> None:
    """s = n/2 is the largest s accepted without allow_high_s; n/2 + 1 needs it."""
    key = PrivateKey(bytes(31) + b"\x07")
    digest = keccak256(b"boundary")
    for recid in (0, 1):
        for s, low in ((SECP256K1_HALF_N, True), (SECP256K1_HALF_N + 1, False)):
            # r from a real signature, so the point exists and recovery yields some key
            r = int.from_bytes(key.sign_recoverable(digest, hasher=None)[:32], "big")
            signature = _signature(r, s, recid)
            recovered = _oracle(digest, signature, allow_high_s=True)
            assert recovered is not None
            assert _evm.secp256k1_recover(digest, signature) == (recovered if low else None)
            assert _evm.secp256k1_recover(digest, signature, True) == recovered


@st.composite
def messages_and_signatures(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(message, signature): a signature of keccak256(message), its high-s twin or a forgery."""
    message = draw(st.binary(max_size=300))
    kind = draw(st.sampled_from(["low", "high", "forged"]))
    if kind == "forged":
        return message, draw(forged())[1]
    signature = PrivateKey(draw(private_keys)).sign_recoverable(keccak256(message), hasher=None)
    return message, signature if kind == "low" else _high_s_twin(signature)


@settings(max_examples=50, deadline=None)
@given(st.lists(messages_and_signatures(), max_size=12))
def test_recover_signers_equals_one_by_one(items: list[tuple[bytes, bytes]]) -> None:
    """The batch call hashes each message, recovers low-s signers and derives addresses."""
    messages = [message for message, _ in items]
    signatures = [signature for _, signature in items]
    got = recover_signers(messages, signatures)
    assert len(got) == len(items)
    for message, signature, signer in zip(messages, signatures, got, strict=True):
        key = _oracle(keccak256(message), signature, allow_high_s=False)
        if key is None:
            assert isinstance(signer, InvalidSignature)
            with pytest.raises(InvalidSignature) as raised:
                recover_public_key_from_digest(keccak256(message), signature)
            assert str(raised.value) == str(signer)
        else:
            assert signer == (key, address_of_public_key(key))


def test_recover_signers_recovers_real_signers() -> None:
    keys = [PrivateKey((i + 1).to_bytes(32, "big")) for i in range(20)]
    messages = [b"message %d" % i for i in range(20)]
    signatures = [SUITE.sign(key.secret, m) for key, m in zip(keys, messages, strict=True)]
    signatures[7] = _high_s_twin(signatures[7])
    got = SUITE.recover_signers(messages, signatures)
    for index, (key, signer) in enumerate(zip(keys, got, strict=True)):
        if index == 7:
            assert isinstance(signer, InvalidSignature)
            assert "EIP-2" in str(signer)
            continue
        public_key = key.public_key.format(compressed=False)[1:]
        assert signer == (public_key, address_of_public_key(public_key))


def test_extension_argument_errors() -> None:
    with pytest.raises(ValueError, match="2 messages but 1 signatures"):
        _evm.keccak_recover_signers([b"a", b"b"], [bytes(65)])
    with pytest.raises(TypeError):
        _evm.secp256k1_recover("not bytes", bytes(65))  # type: ignore[arg-type]
    assert _evm.keccak_recover_signers([], []) == []
