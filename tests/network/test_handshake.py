"""The identity handshake as pure functions: Hello codec, the check column, and proofs
bound to the chain, the challenges, both certificates and the TLS session (both suites)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from network_rig import CHAIN_ID, GENESIS

from baychain.crypto import get_suite
from baychain.errors import DecodingError, HandshakeFailed
from baychain.network.frames import SUPPORTED_VERSIONS
from baychain.network.handshake import (
    Hello,
    NodeIdentity,
    Refusal,
    TlsChannel,
    check_hello,
    check_proof,
    decode_goodbye,
    decode_hello,
    decode_proof,
    encode_goodbye,
    encode_hello,
    encode_proof,
    make_proof,
    proof_sign_bytes,
    run_handshake,
)
from baychain.primitives import Hash32, PeerId

SUITES = ["ecdsa", "sm"]


def identity(suite: str = "ecdsa", **changes: object) -> NodeIdentity:
    crypto = get_suite(suite)
    node = NodeIdentity.from_private_key(crypto, crypto.new_private_key(), CHAIN_ID, GENESIS)
    return replace(node, **changes)  # type: ignore[arg-type]


def hello_of(node: NodeIdentity, **changes: object) -> Hello:
    hello = Hello(
        versions=tuple(sorted(SUPPORTED_VERSIONS)),
        chain_id=node.chain_id,
        genesis_hash=node.genesis_hash,
        public_key=node.public_key,
        challenge=os.urandom(32),
    )
    return replace(hello, **changes)  # type: ignore[arg-type]


def allow_all(_: bytes) -> bool:
    return True


@given(
    versions=st.lists(st.integers(0, 255), min_size=1, max_size=16).map(tuple),
    chain_id=st.integers(0, 2**64 - 1),
    genesis=st.binary(min_size=32, max_size=32),
    public_key=st.binary(min_size=64, max_size=64),
    challenge=st.binary(min_size=32, max_size=32),
)
def test_hello_round_trips(
    versions: tuple[int, ...], chain_id: int, genesis: bytes, public_key: bytes, challenge: bytes
) -> None:
    hello = Hello(versions, chain_id, Hash32(genesis), public_key, challenge)
    assert decode_hello(encode_hello(hello)) == hello


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\xc0",
        b"\x80" * 5,
        encode_hello(Hello((1,), 1, GENESIS, b"k" * 64, b"c" * 32))[:-1],
        encode_hello(Hello((1,), 1, GENESIS, b"k" * 63, b"c" * 32)),
        encode_hello(Hello((1,), 1, GENESIS, b"k" * 64, b"c" * 31)),
        encode_hello(Hello((), 1, GENESIS, b"k" * 64, b"c" * 32)),
        encode_hello(Hello((1,) * 17, 1, GENESIS, b"k" * 64, b"c" * 32)),
    ],
)
def test_malformed_hellos_raise_decoding_errors(payload: bytes) -> None:
    with pytest.raises(DecodingError):
        decode_hello(payload)


def test_proof_and_goodbye_codecs() -> None:
    assert decode_proof(encode_proof(b"s" * 65)) == b"s" * 65
    with pytest.raises(DecodingError):
        decode_proof(encode_proof(b"s" * 129))
    assert decode_goodbye(encode_goodbye("banned", "too many bad frames")) == (
        "banned",
        "too many bad frames",
    )


def test_peer_id_is_the_address_of_the_consensus_key() -> None:
    node = identity("sm")
    assert node.peer_id == "0x" + get_suite("sm").address(node.public_key).hex()


def test_a_good_hello_passes_and_picks_the_common_version() -> None:
    local, remote = identity(), identity()
    assert check_hello(local, hello_of(remote, versions=(1, 9)), allowed=allow_all) == 1


@pytest.mark.parametrize(
    ("hello_changes", "kwargs", "reason"),
    [
        ({"versions": (9,)}, {}, Refusal.VERSION),
        ({"chain_id": CHAIN_ID + 1}, {}, Refusal.WRONG_CHAIN),
        ({"genesis_hash": Hash32(b"\xff" * 32)}, {}, Refusal.WRONG_GENESIS),
        ({}, {"allowed": lambda key: False}, Refusal.NOT_ALLOWED),
        ({}, {"banned": lambda peer: True}, Refusal.BANNED),
        ({}, {"expected_peer": PeerId("0x" + "00" * 20)}, Refusal.UNEXPECTED_PEER),
    ],
)
def test_each_rule_of_the_hello_check_refuses(
    hello_changes: dict[str, object], kwargs: dict[str, object], reason: Refusal
) -> None:
    local, remote = identity(), identity()
    options: dict[str, object] = {"allowed": allow_all, **kwargs}
    with pytest.raises(HandshakeFailed) as caught:
        check_hello(local, hello_of(remote, **hello_changes), **options)  # type: ignore[arg-type]
    assert caught.value.reason == reason


def test_a_node_refuses_its_own_key() -> None:
    local = identity()
    with pytest.raises(HandshakeFailed) as caught:
        check_hello(local, hello_of(local), allowed=allow_all)
    assert caught.value.reason == Refusal.SELF


def channels() -> tuple[TlsChannel, TlsChannel]:
    cert_a, cert_b, binding = os.urandom(300), os.urandom(300), os.urandom(48)
    return TlsChannel(cert_a, cert_b, binding), TlsChannel(cert_b, cert_a, binding)


@pytest.mark.parametrize("suite", SUITES)
def test_a_proof_verifies_on_the_other_end_of_the_session(suite: str) -> None:
    alice, bob = identity(suite), identity(suite)
    alice_hello, bob_hello = hello_of(alice), hello_of(bob)
    alice_channel, bob_channel = channels()
    signature = make_proof(alice, alice_hello, bob_hello, alice_channel)
    check_proof(bob, bob_hello, alice_hello, bob_channel, signature)


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize(
    "tamper", ["binding", "peer_cert", "own_cert", "challenge", "chain", "key", "signature"]
)
def test_a_proof_is_bound_to_everything_it_signs(suite: str, tamper: str) -> None:
    alice, bob = identity(suite), identity(suite)
    alice_hello, bob_hello = hello_of(alice), hello_of(bob)
    alice_channel, bob_channel = channels()
    signature = make_proof(alice, alice_hello, bob_hello, alice_channel)
    if tamper == "binding":  # a proof from another TLS session
        bob_channel = replace(bob_channel, binding=os.urandom(48))
    elif tamper == "peer_cert":  # relayed by someone presenting another certificate
        bob_channel = replace(bob_channel, peer_certificate=os.urandom(300))
    elif tamper == "own_cert":
        bob_channel = replace(bob_channel, own_certificate=os.urandom(300))
    elif tamper == "challenge":  # a replay of a proof made for an older challenge
        bob_hello = replace(bob_hello, challenge=os.urandom(32))
    elif tamper == "chain":
        bob = replace(bob, chain_id=CHAIN_ID + 1)
    elif tamper == "key":  # a stolen TLS identity claiming another consensus key
        alice_hello = replace(alice_hello, public_key=identity(suite).public_key)
    elif tamper == "signature":
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(HandshakeFailed) as caught:
        check_proof(bob, bob_hello, alice_hello, bob_channel, signature)
    assert caught.value.reason == Refusal.BAD_SIGNATURE


def test_a_key_that_is_not_a_curve_point_is_a_bad_signature() -> None:
    alice, bob = identity(), identity()
    alice_hello = hello_of(alice, public_key=b"\x00" * 64)
    bob_hello = hello_of(bob)
    _, bob_channel = channels()
    with pytest.raises(HandshakeFailed):
        check_proof(bob, bob_hello, alice_hello, bob_channel, b"\x01" * 65)


def test_signed_bytes_are_domain_separated_from_consensus_and_transactions() -> None:
    message = proof_sign_bytes(get_suite("ecdsa"), 1, GENESIS, b"a" * 32, b"b" * 32, b"", b"", b"")
    assert message[0] == 0x19
    assert b"BayChain peer handshake v1" in message
    assert b"BayChain consensus" not in message


class StubSession:
    """The parts of an ``ssl.SSLObject`` the handshake reads."""

    def __init__(self, binding: bytes | None, version: str = "TLSv1.3", reused: bool = False):
        self.binding, self._version, self.session_reused = binding, version, reused

    def getpeercert(self, binary_form: bool = False) -> bytes:
        return b"peer certificate"

    def get_channel_binding(self, cb_type: str = "tls-unique") -> bytes | None:
        return self.binding

    def version(self) -> str:
        return self._version


class StubStream:
    def __init__(self, session: StubSession) -> None:
        self.session = session
        self.written: list[bytes] = []

    def ssl_object(self) -> StubSession:
        return self.session

    def write_frame(self, kind: int, payload: bytes, version: int = 1) -> None:
        self.written.append(payload)

    @property
    def writer(self) -> None:
        raise AssertionError("the handshake went on without a sound channel binding")


@pytest.mark.parametrize(
    ("session", "problem"),
    [
        (StubSession(None), "no tls-unique channel binding"),
        (StubSession(b""), "no tls-unique channel binding"),
        (StubSession(b"\x01" * 12), "too short"),  # a TLS 1.2-sized Finished
        (StubSession(b"\x01" * 48, version="TLSv1.2"), "TLSv1.2"),
        (StubSession(b"\x01" * 48, reused=True), "resumed"),
    ],
)
def test_the_handshake_fails_closed_without_a_sound_channel_binding(
    session: StubSession, problem: str
) -> None:
    stream = StubStream(session)
    with pytest.raises(HandshakeFailed, match=problem) as caught:
        asyncio.run(
            run_handshake(
                stream,  # type: ignore[arg-type]
                identity(),
                b"own certificate",
                allowed=allow_all,
            )
        )
    assert caught.value.reason == Refusal.TLS
    assert not stream.written  # nothing was signed or sent
