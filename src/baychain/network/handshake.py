"""The peer handshake: after TLS, prove which consortium node is on the other end.

A TLS certificate only shows that the consortium CA admitted the socket's owner; a
stolen certificate and TLS key would pass TLS. So each side then proves control of
its *consensus* key (the chain's suite: SM2/SM3 on ``sm`` chains, secp256k1 on
``ecdsa``) over values bound to this very TLS session. The exchange, both sides at
once::

    -> HELLO  rlp([versions, chain_id, genesis_hash, public_key, challenge])
    <- HELLO  (the peer's)
       check the peer's Hello (the column in :func:`check_hello`); on failure send
       GOODBYE with the refusal and close
    -> PROOF  rlp([signature])    signature over proof_sign_bytes(...) with our key
    <- PROOF  (the peer's)
       verify it with the public key from the peer's Hello

The signed bytes (:func:`proof_sign_bytes`), for a signer S talking to a verifier V::

    0x19 || rlp([DOMAIN, chain_id, genesis_hash, challenge_V, challenge_S,
                 H(cert_S), H(cert_V), binding])

``H`` is the chain's hash of a DER certificate and ``binding`` the TLS session's
``tls-unique`` value (RFC 5929: the first Finished message, which in TLS 1.3 covers
the whole handshake transcript with both key shares). Without a sound binding (not
TLS 1.3, a resumed session, no or a short value) the handshake fails closed
(:func:`_channel` says why). The verifier's fresh challenge
makes a proof single-use; the certificate hashes and the binding tie it to this TLS
session, so a proof recorded from, or relayed through, another session fails. The
leading 0x19 and :data:`HANDSHAKE_DOMAIN` keep a handshake signature from ever being
a valid transaction or consensus message signature (those use other domains).

A node also refuses a peer presenting its own consensus key (a dial to itself, or a
reflection of its own Hello), and, through the caller's predicates, keys outside the
allowed set and banned peers.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.errors import CryptoError, DecodingError, HandshakeFailed
from baychain.network.frames import PROTOCOL_VERSION, SUPPORTED_VERSIONS, MessageKind
from baychain.network.pki import certificate_name
from baychain.network.stream import FramedStream
from baychain.primitives import Hash32, PeerId

__all__ = [
    "CHALLENGE_BYTES",
    "HANDSHAKE_DOMAIN",
    "PUBLIC_KEY_BYTES",
    "AuthenticatedPeer",
    "Hello",
    "NodeIdentity",
    "Refusal",
    "TlsChannel",
    "check_hello",
    "check_proof",
    "decode_goodbye",
    "decode_hello",
    "decode_proof",
    "encode_goodbye",
    "encode_hello",
    "encode_proof",
    "make_proof",
    "peer_id_of",
    "proof_sign_bytes",
    "run_handshake",
]

HANDSHAKE_DOMAIN = b"BayChain peer handshake v1"
"""Domain tag inside every handshake signature."""

CHALLENGE_BYTES = 32
"""Length of a Hello's fresh random challenge."""

PUBLIC_KEY_BYTES = 64
"""A consensus public key: the uncompressed point without its 0x04 prefix."""

MAX_VERSIONS = 16
"""Most protocol versions a Hello may list."""

MAX_GOODBYE_TEXT_BYTES = 512
"""Longest reason text kept from a peer's Goodbye."""

MAX_HANDSHAKE_ITEMS = 16 + MAX_VERSIONS
"""RLP items one handshake message may hold (a Hello's fields and its version list)."""

_SIGNED_PREFIX = b"\x19"


class Refusal(StrEnum):
    """Why a connection was refused or closed: the ``reason`` of HandshakeFailed and
    of a Goodbye, and a metric name suffix."""

    MALFORMED = "malformed"
    """A handshake message that does not decode, or arrives out of order."""
    VERSION = "version"
    """No protocol version in common."""
    WRONG_CHAIN = "wrong_chain"
    """The peer runs another chain id."""
    WRONG_GENESIS = "wrong_genesis"
    """The peer's genesis hash differs (another chain, or other chain parameters)."""
    SELF = "self"
    """The peer presented this node's own consensus key."""
    UNEXPECTED_PEER = "unexpected_peer"
    """The dialed address answered with another identity than configured."""
    NOT_ALLOWED = "not_allowed"
    """The consensus key is not in the consortium's allowed set."""
    BANNED = "banned"
    """The peer is banned for a while after misbehaving."""
    BAD_SIGNATURE = "bad_signature"
    """The identity proof does not verify for this session."""
    REFUSED_BY_PEER = "refused_by_peer"
    """The peer sent a Goodbye during the handshake."""
    TIMEOUT = "timeout"
    """TLS plus handshake did not finish in time."""
    TLS = "tls"
    """The TLS handshake failed (no or foreign certificate, old protocol)."""
    CLOSED = "closed"
    """The peer closed the connection during the handshake."""
    DUPLICATE = "duplicate"
    """Goodbye only: another connection to the same peer is kept."""
    MISBEHAVIOUR = "misbehaviour"
    """Goodbye only: the peer's misbehaviour score crossed the threshold."""
    SLOW = "slow"
    """Goodbye only: the peer did not read what this node sent in time."""
    IDLE = "idle"
    """Goodbye only: nothing was received for too long."""
    SHUTDOWN = "shutdown"
    """Goodbye only: this node is stopping."""


def peer_id_of(suite: CryptoSuite, public_key: bytes) -> PeerId:
    """The peer id of a consensus key: ``0x`` + the hex of its address under ``suite``
    (the validator's address, so logs and consensus name a node the same way)."""
    return PeerId("0x" + suite.address(public_key).hex())


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """This node's consensus key and the chain it belongs to.

    Build it with :meth:`from_private_key`; the plain constructor does not check that
    ``public_key`` belongs to ``private_key`` (tests use that to play impostors).
    """

    suite: CryptoSuite
    private_key: bytes
    public_key: bytes
    chain_id: int
    genesis_hash: Hash32

    @classmethod
    def from_private_key(
        cls, suite: CryptoSuite, private_key: bytes, chain_id: int, genesis_hash: Hash32
    ) -> NodeIdentity:
        """The identity of ``private_key`` (raise InvalidKey if it is out of range)."""
        return cls(suite, private_key, suite.public_key(private_key), chain_id, genesis_hash)

    @property
    def peer_id(self) -> PeerId:
        """How peers name this node."""
        return peer_id_of(self.suite, self.public_key)


@dataclass(frozen=True, slots=True)
class Hello:
    """The first handshake message of each side."""

    versions: tuple[int, ...]
    chain_id: int
    genesis_hash: Hash32
    public_key: bytes
    challenge: bytes


@dataclass(frozen=True, slots=True)
class TlsChannel:
    """What both ends of one TLS session see: the certificates and the channel binding."""

    own_certificate: bytes
    """DER certificate this node presented."""
    peer_certificate: bytes
    """DER certificate the peer presented."""
    binding: bytes
    """``tls-unique`` of the session (equal on both ends)."""


@dataclass(frozen=True, slots=True)
class AuthenticatedPeer:
    """A peer whose handshake succeeded."""

    peer_id: PeerId
    public_key: bytes
    version: int
    """The protocol version both sides speak on this connection."""
    certificate_name: str
    """Common name of the peer's TLS certificate (for logs only)."""


def encode_hello(hello: Hello) -> bytes:
    """The HELLO payload."""
    return rlp.encode(
        [
            [rlp.encode_uint(v) for v in hello.versions],
            rlp.encode_uint(hello.chain_id),
            hello.genesis_hash,
            hello.public_key,
            hello.challenge,
        ]
    )


def decode_hello(payload: bytes) -> Hello:
    """Decode a HELLO payload strictly; raise DecodingError for anything else."""
    versions, chain_id, genesis, public_key, challenge = rlp.decode_list(
        rlp.decode(payload, max_items=MAX_HANDSHAKE_ITEMS), 5, name="hello"
    )
    version_items = rlp.decode_list(versions, name="hello versions")
    if not version_items or len(version_items) > MAX_VERSIONS:
        raise DecodingError(f"a hello lists 1 to {MAX_VERSIONS} versions, got {len(version_items)}")
    return Hello(
        versions=tuple(rlp.decode_uint(v, name="version", max_bytes=1) for v in version_items),
        chain_id=rlp.decode_uint(chain_id, name="chain id", max_bytes=8),
        genesis_hash=Hash32(rlp.decode_fixed(genesis, 32, name="genesis hash")),
        public_key=rlp.decode_fixed(public_key, PUBLIC_KEY_BYTES, name="public key"),
        challenge=rlp.decode_fixed(challenge, CHALLENGE_BYTES, name="challenge"),
    )


def encode_proof(signature: bytes) -> bytes:
    """The PROOF payload."""
    return rlp.encode([signature])


def decode_proof(payload: bytes) -> bytes:
    """Decode a PROOF payload; return the signature."""
    (signature,) = rlp.decode_list(
        rlp.decode(payload, max_items=MAX_HANDSHAKE_ITEMS), 1, name="proof"
    )
    return rlp.decode_bytes(signature, name="signature", max_len=128)


def encode_goodbye(reason: str, detail: str = "") -> bytes:
    """The GOODBYE payload: a reason code and an explanation for the peer's operator."""
    text = detail.encode("utf-8")[:MAX_GOODBYE_TEXT_BYTES]
    return rlp.encode([reason.encode("ascii"), text])


def decode_goodbye(payload: bytes) -> tuple[str, str]:
    """Decode a GOODBYE payload into (reason, detail); raise DecodingError if malformed."""
    reason, detail = rlp.decode_list(
        rlp.decode(payload, max_items=MAX_HANDSHAKE_ITEMS), 2, name="goodbye"
    )
    code = rlp.decode_bytes(reason, name="goodbye reason", max_len=32)
    text = rlp.decode_bytes(detail, name="goodbye detail", max_len=MAX_GOODBYE_TEXT_BYTES)
    return code.decode("ascii", "replace"), text.decode("utf-8", "replace")


def proof_sign_bytes(
    suite: CryptoSuite,
    chain_id: int,
    genesis_hash: Hash32,
    verifier_challenge: bytes,
    signer_challenge: bytes,
    signer_certificate: bytes,
    verifier_certificate: bytes,
    binding: bytes,
) -> bytes:
    """The bytes a signer signs to prove its identity to a verifier (module docstring)."""
    return _SIGNED_PREFIX + rlp.encode(
        [
            HANDSHAKE_DOMAIN,
            rlp.encode_uint(chain_id),
            genesis_hash,
            verifier_challenge,
            signer_challenge,
            suite.hash(signer_certificate),
            suite.hash(verifier_certificate),
            binding,
        ]
    )


def make_proof(local: NodeIdentity, own: Hello, peer: Hello, channel: TlsChannel) -> bytes:
    """Sign this node's identity proof for the peer that sent ``peer``."""
    message = proof_sign_bytes(
        local.suite,
        local.chain_id,
        local.genesis_hash,
        peer.challenge,
        own.challenge,
        channel.own_certificate,
        channel.peer_certificate,
        channel.binding,
    )
    return local.suite.sign(local.private_key, message)


def check_proof(
    local: NodeIdentity, own: Hello, peer: Hello, channel: TlsChannel, signature: bytes
) -> None:
    """Raise HandshakeFailed(BAD_SIGNATURE) unless ``signature`` proves ``peer.public_key``
    signed for this session and this node's challenge."""
    message = proof_sign_bytes(
        local.suite,
        local.chain_id,
        local.genesis_hash,
        own.challenge,
        peer.challenge,
        channel.peer_certificate,
        channel.own_certificate,
        channel.binding,
    )
    try:
        valid = local.suite.verify(peer.public_key, message, signature)
    except CryptoError:  # a public key that is not a curve point
        valid = False
    if not valid:
        raise HandshakeFailed(
            Refusal.BAD_SIGNATURE,
            "the identity proof does not verify for this TLS session: the peer does not "
            "hold the consensus key it claims",
        )


def check_hello(
    local: NodeIdentity,
    hello: Hello,
    *,
    allowed: Callable[[bytes], bool],
    banned: Callable[[PeerId], bool] = lambda _: False,
    expected_peer: PeerId | None = None,
) -> int:
    """Check a peer's Hello in order; return the protocol version to speak.

    Raise :class:`~baychain.errors.HandshakeFailed` with the first failing rule.
    """
    common = SUPPORTED_VERSIONS.intersection(hello.versions)
    # both sides speak some version
    if not common:
        raise HandshakeFailed(
            Refusal.VERSION,
            f"peer speaks protocol versions {sorted(hello.versions)}, "
            f"this node {sorted(SUPPORTED_VERSIONS)}",
        )
    # same chain id
    if hello.chain_id != local.chain_id:
        raise HandshakeFailed(
            Refusal.WRONG_CHAIN, f"peer is on chain {hello.chain_id}, this node on {local.chain_id}"
        )
    # same genesis (same chain parameters)
    if hello.genesis_hash != local.genesis_hash:
        raise HandshakeFailed(
            Refusal.WRONG_GENESIS,
            f"peer's genesis is 0x{hello.genesis_hash.hex()}, "
            f"this node's 0x{local.genesis_hash.hex()}",
        )
    # not this node itself
    if hello.public_key == local.public_key:
        raise HandshakeFailed(Refusal.SELF, "the peer presented this node's own consensus key")
    peer_id = peer_id_of(local.suite, hello.public_key)
    # the node the dialed address is configured for
    if expected_peer is not None and peer_id != expected_peer:
        raise HandshakeFailed(
            Refusal.UNEXPECTED_PEER,
            f"expected peer {expected_peer}, the address answered as {peer_id}",
        )
    # a consortium member
    if not allowed(hello.public_key):
        raise HandshakeFailed(
            Refusal.NOT_ALLOWED, f"consensus key of {peer_id} is not in the consortium's peer set"
        )
    # not banned
    if banned(peer_id):
        raise HandshakeFailed(Refusal.BANNED, f"peer {peer_id} is banned for misbehaving")
    return max(common)


MIN_BINDING_BYTES = 32
"""Shortest channel binding accepted: a TLS 1.3 Finished is a full HMAC (32 bytes with
SHA-256 suites, 48 with SHA-384); TLS 1.2's 12-byte Finished is what SLOTH collides."""


def _channel(stream: FramedStream, own_certificate: bytes) -> TlsChannel:
    """The session's certificates and channel binding; fail closed without a sound binding.

    Python's :mod:`ssl` offers only ``tls-unique`` (``SSLObject.get_channel_binding``),
    not the RFC 9266 ``tls-exporter`` (no RFC 5705 exporter in the module: CPython
    issues 82133 and 95341). RFC 8446 leaves ``tls-unique`` undefined for TLS 1.3;
    OpenSSL returns the first Finished message, an HMAC over the whole handshake
    transcript (both randoms and key shares), equal on both ends and unique to the
    session. The attacks on ``tls-unique`` (3SHAKE, SLOTH) need resumption or
    renegotiation or a 12-byte Finished, none of which a full TLS 1.3 handshake without
    session tickets has. So the binding is accepted only from exactly that: TLS 1.3,
    not resumed, a Finished of at least :data:`MIN_BINDING_BYTES`. Anything else is
    refused before this node signs anything: an empty binding would make the proof
    transferable to another session (a relay).
    """
    session = stream.ssl_object()
    peer_certificate = session.getpeercert(binary_form=True) if session else None
    if session is None or peer_certificate is None:
        raise HandshakeFailed(Refusal.TLS, "the connection is not mutually authenticated TLS")
    # a full TLS 1.3 handshake (the contexts allow nothing older and issue no tickets)
    version = session.version()
    if version != "TLSv1.3":
        raise HandshakeFailed(
            Refusal.TLS, f"the session negotiated {version}; the identity proof needs TLSv1.3"
        )
    if session.session_reused:
        raise HandshakeFailed(
            Refusal.TLS, "the TLS session was resumed; the identity proof needs a full handshake"
        )
    # with a binding to sign, of the size of a TLS 1.3 Finished
    binding = session.get_channel_binding("tls-unique")
    if not binding:
        raise HandshakeFailed(
            Refusal.TLS,
            "the TLS library gives no tls-unique channel binding for this session; "
            "refusing to sign an identity proof that is not bound to it",
        )
    if len(binding) < MIN_BINDING_BYTES:
        raise HandshakeFailed(
            Refusal.TLS,
            f"the tls-unique channel binding is too short ({len(binding)} bytes, "
            f"at least {MIN_BINDING_BYTES} expected)",
        )
    return TlsChannel(own_certificate, peer_certificate, binding)


async def _expect(stream: FramedStream, kind: MessageKind) -> bytes:
    try:
        frame = await stream.read_frame()
    except ConnectionError:
        raise HandshakeFailed(Refusal.CLOSED, "the peer closed the connection") from None
    except DecodingError as exc:
        raise HandshakeFailed(Refusal.MALFORMED, str(exc)) from None
    if frame.kind == MessageKind.GOODBYE:
        try:
            reason, detail = decode_goodbye(frame.payload)
        except DecodingError:
            reason, detail = "?", "(undecodable goodbye)"
        raise HandshakeFailed(Refusal.REFUSED_BY_PEER, f"peer refused: {reason}: {detail}")
    if frame.kind != kind:
        raise HandshakeFailed(
            Refusal.MALFORMED, f"expected a {kind.name} frame, got kind 0x{frame.kind:02x}"
        )
    return frame.payload


async def run_handshake(
    stream: FramedStream,
    local: NodeIdentity,
    own_certificate: bytes,
    *,
    allowed: Callable[[bytes], bool],
    banned: Callable[[PeerId], bool] = lambda _: False,
    expected_peer: PeerId | None = None,
    challenge: bytes | None = None,
) -> AuthenticatedPeer:
    """Run the handshake on a fresh TLS ``stream``; return the authenticated peer.

    ``own_certificate`` is the DER certificate this node presented. On a refusal
    this node sends a GOODBYE naming it (best effort) and raises
    :class:`~baychain.errors.HandshakeFailed`; the caller closes the stream and bounds
    the whole exchange with a timeout.
    """
    channel = _channel(stream, own_certificate)
    own = Hello(
        versions=tuple(sorted(SUPPORTED_VERSIONS)),
        chain_id=local.chain_id,
        genesis_hash=local.genesis_hash,
        public_key=local.public_key,
        challenge=challenge if challenge is not None else secrets.token_bytes(CHALLENGE_BYTES),
    )
    stream.write_frame(MessageKind.HELLO, encode_hello(own), PROTOCOL_VERSION)
    await stream.writer.drain()
    try:
        try:
            peer = decode_hello(await _expect(stream, MessageKind.HELLO))
        except DecodingError as exc:
            raise HandshakeFailed(Refusal.MALFORMED, f"bad hello: {exc}") from None
        version = check_hello(
            local, peer, allowed=allowed, banned=banned, expected_peer=expected_peer
        )
        stream.write_frame(MessageKind.PROOF, encode_proof(make_proof(local, own, peer, channel)))
        await stream.writer.drain()
        try:
            signature = decode_proof(await _expect(stream, MessageKind.PROOF))
        except DecodingError as exc:
            raise HandshakeFailed(Refusal.MALFORMED, f"bad proof: {exc}") from None
        check_proof(local, own, peer, channel, signature)
    except HandshakeFailed as failure:
        if failure.reason not in (Refusal.REFUSED_BY_PEER, Refusal.CLOSED):
            _say_goodbye(stream, failure)
        raise
    return AuthenticatedPeer(
        peer_id=peer_id_of(local.suite, peer.public_key),
        public_key=peer.public_key,
        version=version,
        certificate_name=certificate_name(channel.peer_certificate),
    )


def _say_goodbye(stream: FramedStream, failure: HandshakeFailed) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        stream.write_frame(MessageKind.GOODBYE, encode_goodbye(failure.reason, failure.detail))
