"""GossipPipeline: gossip checked off the loop, verified once, admitted in order, batched."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import PoolFull
from baychain.ledger.transactions import decode_transaction
from baychain.network import (
    TlsCredentials,
    TransportConfig,
    create_consortium_ca,
    issue_node_certificate,
    write_tls_files,
)
from baychain.network.gossip import TransactionGossip, encode_transactions
from baychain.network.handshake import NodeIdentity
from baychain.network.transport import PeerManager
from baychain.node.bft import tx_gossip
from baychain.node.bft.tx_gossip import GOSSIP_FLUSH_MS, GossipPipeline
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.node.pool.verified import VerifiedTransactions
from baychain.primitives import Address, PeerId
from baychain.sdk.client import Signer

CHAIN_ID = 4244
SUITE = get_suite("ecdsa")
PEER = PeerId("peer-a")


@pytest.fixture
def user() -> Signer:
    return Signer.from_key("ecdsa", dev_private_keys("ecdsa", 1)[0])


@pytest.fixture
def node(tmp_path: Path, user: Signer) -> Iterator[Node]:
    key = dev_private_keys("ecdsa", 2)[1]
    public_key = SUITE.public_key(key)
    genesis = Genesis(
        chain_id=CHAIN_ID,
        crypto="ecdsa",
        hardfork="cancun",
        block_gas_limit=30_000_000,
        base_fee_per_gas=0,
        block_interval_ms=150,
        validators=(Validator("v0", public_key, 1, SUITE.address(public_key)),),
        alloc=((user.address, GenesisAccount(balance=10**24)),),
    )
    chain = Chain.open(tmp_path / "data", genesis, map_size=2**24)
    node = Node(chain, MempoolConfig(), SUITE.address(public_key), verify_threads=1)
    yield node
    node.close()
    chain.close()


@pytest.fixture
def peers(tmp_path: Path, node: Node) -> PeerManager:
    """A real transport that is never started: nothing is connected, offences still count."""
    ca = create_consortium_ca("test consortium")
    files = write_tls_files(tmp_path / "tls", issue_node_certificate(ca, "node0"), ca.certificate)
    identity = NodeIdentity.from_private_key(
        SUITE, dev_private_keys("ecdsa", 2)[1], CHAIN_ID, node.chain.block_hash_at(0)
    )
    return PeerManager(
        identity,
        TlsCredentials.load(files),
        TransportConfig(listen_port=0),
        allowed=set(),
        handler=lambda peer, kind, payload: None,
    )


def _transfers(user: Signer, nonces: range, chain_id: int = CHAIN_ID) -> list[bytes]:
    return [
        user.sign(chain_id=chain_id, nonce=n, to=Address(b"\x13" * 20), value=1) for n in nonces
    ]


def test_gossip_is_admitted_in_order_reusing_verified_transactions_and_invalid_ones_score(
    node: Node, peers: PeerManager, user: Signer
) -> None:
    raws = _transfers(user, range(3))
    verified = VerifiedTransactions()
    from_proposal = decode_transaction(raws[1], SUITE, CHAIN_ID)
    verified.add_all([from_proposal])
    available: list[int] = []
    pipeline = GossipPipeline(node, peers, verified, lambda: available.append(1))
    foreign = _transfers(user, range(3, 4), chain_id=CHAIN_ID + 1)[0]

    async def scenario() -> None:
        task = asyncio.create_task(pipeline.run())
        await asyncio.sleep(0)
        assert pipeline.on_frame(PEER, encode_transactions(raws)) is None
        assert pipeline.on_frame(PEER, encode_transactions([raws[0], foreign])) is None
        while pipeline.backlog:
            await asyncio.sleep(0.01)
        await asyncio.sleep(2 * GOSSIP_FLUSH_MS / 1000)
        assert peers.score(PEER) > 0
        task.cancel()

    asyncio.run(scenario())
    pipeline.close()

    assert node.mempool.pending_count == 3  # nonces 0, 1, 2 in order: none queued
    assert node.mempool.get(from_proposal.hash) is from_proposal  # not checked again
    assert all(verified.get(SUITE.hash(raw)) is not None for raw in raws)
    assert peers.metrics.get("offence.invalid_message") == 1
    assert available == [1]  # one publication for everything accepted


def test_a_backlog_over_the_bound_makes_the_transport_wait(
    node: Node, peers: PeerManager, user: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tx_gossip, "INTAKE_BACKLOG_TXS", 2)
    pipeline = GossipPipeline(node, peers, VerifiedTransactions(), lambda: None)
    raws = _transfers(user, range(4))

    async def scenario() -> None:
        task = asyncio.create_task(pipeline.run())
        await asyncio.sleep(0)
        assert pipeline.on_frame(PEER, encode_transactions(raws[:2])) is None
        wait = pipeline.on_frame(PEER, encode_transactions(raws[2:]))
        assert wait is not None
        assert pipeline.on_frame(PEER, encode_transactions(raws[2:])) is None  # all seen
        await asyncio.wait_for(wait, 5)
        assert pipeline.backlog <= 2
        task.cancel()

    asyncio.run(scenario())
    pipeline.close()
    assert node.mempool.pending_count == 4


def _record_sends(pipeline: GossipPipeline) -> list[bytes]:
    """Replace the pipeline's sending with a list of what it would send (no peer is connected)."""
    sent: list[bytes] = []

    def relay(
        raws: Sequence[bytes], origin: PeerId | None, covered: frozenset[PeerId] = frozenset()
    ) -> None:
        sent.extend(raws)

    pipeline.gossip.relay = relay  # type: ignore[method-assign]
    return sent


async def _drain(pipeline: GossipPipeline) -> None:
    """Wait until the intake is empty and the next publication has gone out."""
    await asyncio.sleep(0)
    while pipeline.backlog:
        await asyncio.sleep(0.01)
    await asyncio.sleep(3 * GOSSIP_FLUSH_MS / 1000)


def test_queued_transactions_are_not_gossiped_until_they_become_pending(
    node: Node, peers: PeerManager, user: Signer
) -> None:
    pipeline = GossipPipeline(node, peers, VerifiedTransactions(), lambda: None)
    sent = _record_sends(pipeline)
    node.pending_listeners.append(pipeline.on_pending)
    raws = _transfers(user, range(3))

    async def scenario() -> None:
        task = asyncio.create_task(pipeline.run())
        await asyncio.sleep(0)
        node.submit_transaction(raws[1])  # this node's own, behind a gap
        assert pipeline.on_frame(PEER, encode_transactions([raws[2]])) is None  # a peer's
        await _drain(pipeline)
        assert node.mempool.queued_count == 2
        assert sent == []  # neither is executable: neither goes out
        node.submit_transaction(raws[0])  # fills the gap: all three are pending now
        await _drain(pipeline)
        task.cancel()

    asyncio.run(scenario())
    pipeline.close()
    assert node.mempool.pending_count == 3
    assert sorted(sent) == sorted(raws)


def test_a_transaction_refused_for_a_full_pool_is_taken_when_another_peer_sends_it(
    tmp_path: Path, user: Signer, peers: PeerManager
) -> None:
    key = dev_private_keys("ecdsa", 2)[1]
    public_key = SUITE.public_key(key)
    genesis = Genesis(
        chain_id=CHAIN_ID,
        crypto="ecdsa",
        hardfork="cancun",
        block_gas_limit=30_000_000,
        base_fee_per_gas=0,
        block_interval_ms=150,
        validators=(Validator("v0", public_key, 1, SUITE.address(public_key)),),
        alloc=((user.address, GenesisAccount(balance=10**24)),),
    )
    chain = Chain.open(tmp_path / "small", genesis, map_size=2**24)
    node = Node(chain, MempoolConfig(max_pool_txs=1), SUITE.address(public_key), verify_threads=1)
    pipeline = GossipPipeline(node, peers, VerifiedTransactions(), lambda: None)
    raws = _transfers(user, range(2))

    async def scenario() -> None:
        task = asyncio.create_task(pipeline.run())
        await asyncio.sleep(0)
        assert pipeline.on_frame(PEER, encode_transactions(raws)) is None
        await _drain(pipeline)
        assert len(node.mempool) == 1  # the second did not fit
        node.seal_block(1_000_000)  # the first is committed: there is room again
        assert len(node.mempool) == 0
        assert pipeline.on_frame(PeerId("peer-b"), encode_transactions([raws[1]])) is None
        await _drain(pipeline)
        assert peers.score(PEER) == 0  # refusing for a full pool is no offence
        task.cancel()

    asyncio.run(scenario())
    pipeline.close()
    try:
        assert node.mempool.pending_count == 1
    finally:
        node.close()
        chain.close()


def test_the_seen_cache_forgets_what_a_full_pool_refused(peers: PeerManager, user: Signer) -> None:
    """The same rule on TransactionGossip.handle, the intake without a pipeline."""
    refusals: list[Exception] = [PoolFull(1)]
    admitted: list[bytes] = []

    def admit(raw: bytes) -> None:
        if refusals:
            raise refusals.pop()
        admitted.append(raw)

    gossip = TransactionGossip(peers, SUITE, admit)
    raw = _transfers(user, range(1))[0]
    gossip.handle(PEER, encode_transactions([raw]))
    assert SUITE.hash(raw) not in gossip.seen
    gossip.handle(PeerId("peer-b"), encode_transactions([raw]))
    assert admitted == [raw]
    assert SUITE.hash(raw) in gossip.seen
