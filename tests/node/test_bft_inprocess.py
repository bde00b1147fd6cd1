"""Four BFT validators in one process over real TLS peers: commit, agree, survive, sync.

Each node is a real Chain + Node + BftDriver on its own data dir, with PeerManagers on
127.0.0.1 and certificates from a throwaway consortium CA.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from bft_rig import free_ports

from baychain.consensus import (
    FileSignerStore,
    TimeoutConfig,
    decode_certificate,
    verify_certificate,
)
from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import InvalidBlock, InvalidCommitCertificate, NotFound
from baychain.ledger.block import block_hash, encode_block
from baychain.network import (
    PeerAddress,
    TlsCredentials,
    TransportConfig,
    create_consortium_ca,
    issue_node_certificate,
    write_tls_files,
)
from baychain.network.backoff import Backoff
from baychain.network.frames import MessageKind
from baychain.network.gossip import encode_transactions
from baychain.node.bft.application import BftApplication, schedule_from_genesis
from baychain.node.bft.driver import BftDriver
from baychain.node.bft.sync import (
    BlockRequest,
    ChainStatus,
    SyncState,
    decode_block_request,
    decode_block_response,
    decode_status,
    encode_block_request,
    encode_block_response,
    encode_status,
)
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Address, Hash32, Height
from baychain.sdk.client import Signer

CHAIN_ID = 4242
TIMEOUTS = TimeoutConfig(
    propose_ms=600,
    propose_delta_ms=200,
    prevote_ms=200,
    prevote_delta_ms=100,
    precommit_ms=200,
    precommit_delta_ms=100,
    gossip_ms=300,
)


@dataclass
class Member:
    index: int
    key: bytes
    directory: Path
    port: int
    tls: TlsCredentials
    peers: tuple[PeerAddress, ...]
    chain: Chain | None = None
    runner: BftDriver | None = None
    task: asyncio.Task[None] | None = None
    committed: list[int] = field(default_factory=list)


class Network:
    def __init__(self, root: Path, crypto: str, size: int = 4) -> None:
        self.suite = get_suite(crypto)
        self.keys = [self.suite.new_private_key() for _ in range(size)]
        user_key = dev_private_keys(crypto, 1)[0]
        self.user = Signer.from_key(crypto, user_key)
        self.nonce = 0
        self.genesis = Genesis(
            chain_id=CHAIN_ID,
            crypto=crypto,
            hardfork="cancun",
            block_gas_limit=30_000_000,
            base_fee_per_gas=0,
            block_interval_ms=150,
            validators=tuple(
                Validator(
                    f"v{i}",
                    self.suite.public_key(k),
                    1,
                    self.suite.address(self.suite.public_key(k)),
                )
                for i, k in enumerate(self.keys)
            ),
            alloc=((self.user.address, GenesisAccount(balance=10**24)),),
        )
        ca = create_consortium_ca("test consortium")
        ports = free_ports(size)
        self.members: list[Member] = []
        for i, key in enumerate(self.keys):
            directory = root / f"node{i}"
            files = write_tls_files(
                directory / "tls", issue_node_certificate(ca, f"node{i}"), ca.certificate
            )
            peers = tuple(PeerAddress("127.0.0.1", p) for j, p in enumerate(ports) if j != i)
            self.members.append(
                Member(i, key, directory, ports[i], TlsCredentials.load(files), peers)
            )

    def start(self, member: Member) -> None:
        member.chain = Chain.open(member.directory / "data", self.genesis, map_size=2**26)
        address = self.suite.address(self.suite.public_key(member.key))
        node = Node(member.chain, MempoolConfig(), address, verify_threads=1)
        transport = TransportConfig(
            listen_port=member.port,
            peers=member.peers,
            backoff=Backoff(initial_seconds=0.1, max_seconds=0.5),
        )
        member.runner = BftDriver(
            node,
            member.key,
            member.tls,
            transport,
            FileSignerStore(member.directory / "signer-state"),
            timeouts=TIMEOUTS,
        )
        node.commit_listeners.append(
            lambda p: member.committed.append(p.block.header.height)
        )
        member.task = asyncio.create_task(member.runner.run())

    async def stop(self, member: Member) -> None:
        assert member.runner is not None and member.task is not None and member.chain is not None
        member.runner.stop()
        await asyncio.wait_for(member.task, 10)
        member.runner.node.close()
        member.chain.close()
        member.runner = member.task = member.chain = None

    def height(self, member: Member) -> int:
        return member.chain.height if member.chain is not None else -1

    async def wait_height(self, members: list[Member], height: int, timeout: float) -> None:
        async def reached() -> None:
            while min(self.height(m) for m in members) < height:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(reached(), timeout)

    def submit(self, member: Member) -> bytes:
        raw = self.user.sign(
            chain_id=CHAIN_ID, nonce=self.nonce, to=Address(b"\x11" * 20), value=1, gas_limit=21_000
        )
        self.nonce += 1
        assert member.runner is not None
        return member.runner.node.submit_transaction(raw).hash

    def check_agreement(self, members: list[Member]) -> int:
        """Same hash at every height on every member; every certificate verifies."""
        schedule = schedule_from_genesis(self.genesis)
        top = min(self.height(m) for m in members)
        genesis_hash = next(m.chain for m in members if m.chain is not None).block_hash_at(0)
        for height in range(1, top + 1):
            blocks = [m.chain.block_at(height) for m in members if m.chain is not None]
            hashes = {block_hash(b, self.suite) for b in blocks}
            assert len(hashes) == 1, f"fork at height {height}"
            for block in blocks:
                certificate = decode_certificate(block.certificate)
                verify_certificate(
                    certificate,
                    block_hash(block, self.suite),
                    schedule.validator_set_at(Height(height)),
                    self.suite,
                    CHAIN_ID,
                    genesis_hash,
                    height=height,
                )
        return top


async def _scenario(root: Path, crypto: str, *, faults: bool) -> None:
    net = Network(root, crypto)
    members = net.members
    for member in members:
        net.start(member)
    try:
        tx_hash = net.submit(members[1])
        await net.wait_height(members, 3, 20)

        async def included() -> None:
            while True:
                for height in range(1, net.height(members[0]) + 1):
                    assert members[0].chain is not None
                    txs = members[0].chain.block_at(height).transactions
                    if any(t.hash == tx_hash for t in txs):
                        return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(included(), 10)
        await _check_gossip_intake(net)
        net.check_agreement(members)
        if not faults:
            _check_sync_refuses_uncertified_blocks(net, members[0], root / "fresh")
            return

        # one validator down: the other three keep committing
        down = members[3]
        await net.stop(down)
        live = members[:3]
        start = max(net.height(m) for m in live)
        net.submit(members[0])
        await net.wait_height(live, start + 4, 15)

        # back on the same data dir: it syncs what it missed, then takes part again
        net.start(down)
        target = max(net.height(m) for m in live)
        await net.wait_height(members, target, 15)
        assert down.runner is not None
        assert down.runner.synced_blocks >= 2  # fetched in a batch, not one decision at a time
        before = len(down.committed)
        net.submit(down)  # and it takes part again: its transaction gets committed
        await net.wait_height(members, target + 3, 15)
        assert len(down.committed) > before
        net.check_agreement(members)

        # two of four down: no quorum, no new height
        await net.stop(members[2])
        await net.stop(members[3])
        live = members[:2]
        await asyncio.sleep(0.5)  # let the height in flight settle
        stalled = max(net.height(m) for m in live)
        await asyncio.sleep(2.0)
        assert max(net.height(m) for m in live) <= stalled + 1

        # one restored: commits resume, no fork
        net.start(members[2])
        three = members[:3]
        resumed = max(net.height(m) for m in live)
        await net.wait_height(three, resumed + 2, 20)
        net.check_agreement(three)
    finally:
        for member in members:
            if member.runner is not None:
                await net.stop(member)


async def _check_gossip_intake(net: Network) -> None:
    """Gossiped transactions are checked off the loop: a valid one reaches the peers' pools
    and a block, an invalid one in the same message costs the peer that relayed it."""
    sender = net.members[0]
    assert sender.runner is not None
    foreign = net.user.sign(chain_id=CHAIN_ID + 1, nonce=net.nonce, to=Address(b"\x12" * 20))
    valid = net.user.sign(chain_id=CHAIN_ID, nonce=net.nonce, to=Address(b"\x12" * 20))
    net.nonce += 1
    # straight onto the wire: the sender's own pool never sees either
    sender.runner.peers.broadcast(MessageKind.TRANSACTIONS, encode_transactions([foreign, valid]))
    others = [m.runner for m in net.members[1:] if m.runner is not None]

    async def settled() -> None:
        while not all(r.peers.metrics.get("offence.invalid_message") >= 1 for r in others):
            await asyncio.sleep(0.05)
        while True:
            try:
                others[0].chain.transaction_location(net.suite.hash(valid))
                return
            except NotFound:
                await asyncio.sleep(0.05)

    await asyncio.wait_for(settled(), 10)
    assert sender.runner.peers.metrics.get("offence.invalid_message") == 0


def _check_sync_refuses_uncertified_blocks(net: Network, source: Member, fresh: Path) -> None:
    """A synced block is committed only with a certificate of a quorum for it."""
    assert source.chain is not None
    block = source.chain.block_at(1)
    certificate = decode_certificate(block.certificate)
    chain = Chain.open(fresh, net.genesis, map_size=2**26)
    try:
        node = Node(chain, MempoolConfig(), net.genesis.validators[0].address, verify_threads=1)
        app = BftApplication(node, schedule_from_genesis(net.genesis))
        with pytest.raises(InvalidBlock):
            app.commit_synced(encode_block(replace(block, certificate=b"")))
        two_of_four = replace(certificate, signatures=certificate.signatures[:2])
        with pytest.raises(InvalidCommitCertificate):
            app.commit_synced(encode_block(replace(block, certificate=two_of_four.encode())))
        assert chain.height == 0
        assert app.commit_synced(encode_block(block)) is not None
        assert chain.block_hash_at(1) == block_hash(block, net.suite)
        node.close()
    finally:
        chain.close()


def test_four_validators_commit_agree_survive_and_sync(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path, "ecdsa", faults=True))


def test_four_sm_validators_commit(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path, "sm", faults=False))


def test_sync_messages_round_trip() -> None:
    status = ChainStatus(7, Hash32(b"\x01" * 32))
    assert decode_status(encode_status(status)) == status
    request = BlockRequest(3, 64)
    assert decode_block_request(encode_block_request(request)) == request
    assert decode_block_response(encode_block_response([b"a", b"bc"])) == [b"a", b"bc"]


def test_sync_state_asks_the_peer_furthest_ahead_once() -> None:
    from baychain.primitives import PeerId

    sync = SyncState()
    sync.note_status(PeerId("a"), ChainStatus(3, Hash32(b"\x00" * 32)), 0)
    assert sync.next_request(2, 0) is None  # one behind: consensus catches up itself
    sync.note_status(PeerId("b"), ChainStatus(200, Hash32(b"\x00" * 32)), 0)
    assert sync.next_request(2, 0) == (PeerId("b"), BlockRequest(3, 64))
    assert sync.next_request(2, 10) is None  # in flight
    sync.answered(PeerId("b"))
    assert sync.next_request(66, 20) == (PeerId("b"), BlockRequest(67, 64))
    sync.forget(PeerId("b"))
    assert sync.next_request(66, 30) is None
