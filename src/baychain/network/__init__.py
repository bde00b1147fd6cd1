"""The peer network: TLS 1.3 transport between consortium nodes (docs/network.md).

Layers, bottom up:

- :mod:`.pki`: the consortium CA, node certificates and TLS contexts (P-256; the
  identity proof uses the chain's own suite, SM2 on ``sm`` chains);
- :mod:`.frames`: length-prefixed, versioned frames and their sans-I/O decoder;
- :mod:`.handshake`: after TLS, each side proves its consensus key, bound to the session;
- :mod:`.scoring`: misbehaviour scores and bans;
- :mod:`.transport`: :class:`PeerManager`, which listens, dials, redials with backoff,
  keeps one connection per peer, sends, broadcasts and polices;
- :mod:`.gossip`: transaction gossip on top of it.

The node plugs consensus messages (``MessageKind.CONSENSUS``), transaction gossip
(``MessageKind.TRANSACTIONS``) and block sync (``STATUS``, ``BLOCK_REQUEST``,
``BLOCK_RESPONSE``) into one :class:`PeerManager`.
"""

from __future__ import annotations

from baychain.network.backoff import Backoff
from baychain.network.config import PeerAddress, TransportConfig
from baychain.network.connection import PeerInfo
from baychain.network.frames import (
    APPLICATION_KINDS,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Frame,
    FrameDecoder,
    MessageKind,
    encode_frame,
)
from baychain.network.gossip import TransactionGossip, decode_transactions, encode_transactions
from baychain.network.handshake import NodeIdentity, Refusal, peer_id_of
from baychain.network.pki import (
    CertifiedKey,
    TlsCredentials,
    TlsFiles,
    create_consortium_ca,
    issue_node_certificate,
    write_tls_files,
)
from baychain.network.scoring import Offence, ScoreConfig
from baychain.network.transport import AllowedPeers, MessageHandler, PeerManager

__all__ = [
    "APPLICATION_KINDS",
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "AllowedPeers",
    "Backoff",
    "CertifiedKey",
    "Frame",
    "FrameDecoder",
    "MessageHandler",
    "MessageKind",
    "NodeIdentity",
    "Offence",
    "PeerAddress",
    "PeerInfo",
    "PeerManager",
    "Refusal",
    "ScoreConfig",
    "TlsCredentials",
    "TlsFiles",
    "TransactionGossip",
    "TransportConfig",
    "create_consortium_ca",
    "decode_transactions",
    "encode_frame",
    "encode_transactions",
    "issue_node_certificate",
    "peer_id_of",
    "write_tls_files",
]
