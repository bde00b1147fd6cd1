"""Fixtures of the network tests: the consortium CA, a foreign CA and a node-kit factory."""

from __future__ import annotations

from pathlib import Path

import pytest
from network_rig import CHAIN_ID, GENESIS, KitFactory, NodeKit

from baychain.crypto import get_suite
from baychain.network.handshake import NodeIdentity
from baychain.network.pki import (
    CertifiedKey,
    TlsCredentials,
    create_consortium_ca,
    issue_node_certificate,
    write_tls_files,
)
from baychain.primitives import Hash32


@pytest.fixture(scope="session")
def consortium_ca() -> CertifiedKey:
    return create_consortium_ca("BayChain test consortium")


@pytest.fixture(scope="session")
def foreign_ca() -> CertifiedKey:
    return create_consortium_ca("Some other consortium")


@pytest.fixture
def make_kit(tmp_path: Path, consortium_ca: CertifiedKey) -> KitFactory:
    """``make_kit(name, suite="ecdsa", ca=None, chain_id=..., genesis=..., private_key=...)``."""

    def factory(
        name: str,
        *,
        suite: str = "ecdsa",
        ca: CertifiedKey | None = None,
        chain_id: int = CHAIN_ID,
        genesis: Hash32 = GENESIS,
        private_key: bytes | None = None,
        certified: CertifiedKey | None = None,
    ) -> NodeKit:
        crypto = get_suite(suite)
        key = private_key if private_key is not None else crypto.new_private_key()
        identity = NodeIdentity.from_private_key(crypto, key, chain_id, genesis)
        certified = certified or issue_node_certificate(ca or consortium_ca, name)
        directory = tmp_path / name
        files = write_tls_files(directory, certified, (ca or consortium_ca).certificate)
        return NodeKit(name, identity, TlsCredentials.load(files), certified, directory)

    return factory
