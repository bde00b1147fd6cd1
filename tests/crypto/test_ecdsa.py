"""The ecdsa suite: keccak-256 vectors, EIP-155's signing example, low-s rules, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.crypto.ecdsa import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    EcdsaSuite,
    keccak256,
    recover_public_key_from_digest,
    sign_digest,
)
from baychain.errors import InvalidKey, InvalidSignature

SUITE = EcdsaSuite()

# EIP-155 "Example": private key 0x4646...46 signs a transfer on chain 1.
EIP155_KEY = bytes([0x46]) * 32
EIP155_SIGNING_HASH = bytes.fromhex(
    "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
)
EIP155_R = 18515461264373351373200002665853028612451056578545711640558177340181847433846
EIP155_S = 46948507304638947509940763649030358759909902576025900602547168820602576006531
EIP155_V = 37  # = recid + 35 + 2 * chain_id, so recid = 0
EIP155_SENDER = bytes.fromhex("9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f")

private_keys = st.integers(min_value=1, max_value=SECP256K1_N - 1).map(
    lambda k: k.to_bytes(32, "big")
)


def _flip_s(signature: bytes) -> bytes:
    """Return the high-s twin of a signature (same r, s' = n - s, other parity)."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])


def test_keccak256_vectors() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )
    assert SUITE.hash(b"") == keccak256(b"")


def test_eip155_example_signature_is_reproduced() -> None:
    signature = sign_digest(EIP155_KEY, EIP155_SIGNING_HASH)
    assert int.from_bytes(signature[:32], "big") == EIP155_R
    assert int.from_bytes(signature[32:64], "big") == EIP155_S
    assert signature[64] == EIP155_V - 35 - 2 * 1
    public_key = recover_public_key_from_digest(EIP155_SIGNING_HASH, signature)
    assert SUITE.address(public_key) == EIP155_SENDER
    assert SUITE.public_key(EIP155_KEY) == public_key


def test_dev_account_address() -> None:
    key = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    assert SUITE.address(SUITE.public_key(key)).hex() == (
        "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    )


@settings(max_examples=30, deadline=None)
@given(key=private_keys, message=st.binary(max_size=200))
def test_sign_verify_recover_round_trip(key: bytes, message: bytes) -> None:
    public_key = SUITE.public_key(key)
    signature = SUITE.sign(key, message)
    assert len(signature) == SUITE.signature_size == 65
    assert int.from_bytes(signature[32:64], "big") <= SECP256K1_HALF_N
    assert SUITE.verify(public_key, message, signature)
    assert SUITE.signer_address(message, signature) == SUITE.address(public_key)
    assert recover_public_key_from_digest(keccak256(message), signature) == public_key


def test_signing_is_deterministic() -> None:
    key = SUITE.new_private_key()
    assert SUITE.sign(key, b"m") == SUITE.sign(key, b"m")
    assert SUITE.sign(key, b"m") != SUITE.sign(key, b"n")


def test_tampered_message_or_signature_fails() -> None:
    key = SUITE.new_private_key()
    public_key = SUITE.public_key(key)
    signature = SUITE.sign(key, b"pay 1")
    assert not SUITE.verify(public_key, b"pay 2", signature)
    for position in (0, 31, 40, 63):
        bad = bytearray(signature)
        bad[position] ^= 0x01
        assert not SUITE.verify(public_key, b"pay 1", bytes(bad))
    other = SUITE.public_key(SUITE.new_private_key())
    assert not SUITE.verify(other, b"pay 1", signature)
    # A flipped recovery id recovers some other key, never the signer.
    flipped = signature[:64] + bytes([signature[64] ^ 1])
    assert not SUITE.verify(public_key, b"pay 1", flipped)


def test_high_s_is_rejected_but_recoverable_on_request() -> None:
    key = SUITE.new_private_key()
    digest = keccak256(b"eip-2")
    signature = sign_digest(key, digest)
    twin = _flip_s(signature)
    with pytest.raises(InvalidSignature, match="EIP-2"):
        recover_public_key_from_digest(digest, twin)
    assert not SUITE.verify(SUITE.public_key(key), b"eip-2", twin)
    # The twin is a mathematically valid signature; ecrecover (precompile 0x01) accepts it.
    assert recover_public_key_from_digest(digest, twin, allow_high_s=True) == SUITE.public_key(key)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (b"\x01" * 64, "65 bytes"),
        (bytes(32) + (1).to_bytes(32, "big") + b"\x00", r"\[1, n-1\]"),
        ((1).to_bytes(32, "big") + bytes(32) + b"\x00", r"\[1, n-1\]"),
        (SECP256K1_N.to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x00", r"\[1, n-1\]"),
        ((1).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x02", "0 or 1"),
        ((1).to_bytes(32, "big") + (1).to_bytes(32, "big") + b"\x1b", "0 or 1"),
    ],
)
def test_malformed_signatures_are_rejected(signature: bytes, reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        SUITE.signer_address(b"x", signature)


@pytest.mark.parametrize(
    "key", [bytes(32), SECP256K1_N.to_bytes(32, "big"), b"\x01" * 31, b"\xff" * 32]
)
def test_invalid_private_keys(key: bytes) -> None:
    with pytest.raises(InvalidKey):
        SUITE.public_key(key)
    with pytest.raises(InvalidKey):
        SUITE.sign(key, b"x")


def test_new_private_keys_are_valid_and_distinct() -> None:
    keys = {SUITE.new_private_key() for _ in range(8)}
    assert len(keys) == 8
    for key in keys:
        assert 1 <= int.from_bytes(key, "big") < SECP256K1_N


def test_address_rejects_wrong_length() -> None:
    with pytest.raises(InvalidKey):
        SUITE.address(b"\x04" + bytes(64))
