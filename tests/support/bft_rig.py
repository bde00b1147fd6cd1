"""A small in-process BFT network with scripted attackers, for block serving and sync tests.

Honest members are real ``Chain`` + ``Node`` + ``BftDriver`` on their own data dirs; an
attacker is a bare :class:`~baychain.network.PeerManager` holding a validator's key and
certificate, so it passes the handshake like any member and then sends whatever raw
frames its test scripts. Voting powers are chosen per test, so one honest validator can
commit alone (say powers ``[10, 1]``) while the others watch.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from baychain.consensus import FileSignerStore, TimeoutConfig
from baychain.crypto import get_suite
from baychain.network import (
    MessageKind,
    NodeIdentity,
    PeerAddress,
    PeerManager,
    TlsCredentials,
    TransportConfig,
    create_consortium_ca,
    issue_node_certificate,
    write_tls_files,
)
from baychain.network.backoff import Backoff
from baychain.node.bft.driver import BftDriver
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, Validator
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Hash32, PeerId

CHAIN_ID = 4244
TIMEOUTS = TimeoutConfig(
    propose_ms=600,
    propose_delta_ms=200,
    prevote_ms=200,
    prevote_delta_ms=100,
    precommit_ms=200,
    precommit_delta_ms=100,
    gossip_ms=300,
)

Handler = Callable[[PeerId, MessageKind, bytes], Awaitable[None] | None]


def free_ports(count: int) -> list[int]:
    """``count`` ports free on 127.0.0.1 right now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class Received:
    """What an attacker's transport delivered, by kind."""

    frames: list[tuple[PeerId, MessageKind, bytes]] = field(default_factory=list)

    def of(self, kind: MessageKind) -> list[bytes]:
        return [payload for _, k, payload in self.frames if k is kind]


class Rig:
    """Validators ``0..n-1`` with the given powers; start each as honest or as an attacker."""

    def __init__(self, root: Path, powers: list[int], crypto: str = "ecdsa") -> None:
        self.root = root
        self.suite = get_suite(crypto)
        self.keys = [self.suite.new_private_key() for _ in powers]
        self.genesis = Genesis(
            chain_id=CHAIN_ID,
            crypto=crypto,
            hardfork="cancun",
            block_gas_limit=30_000_000,
            base_fee_per_gas=0,
            block_interval_ms=100,
            validators=tuple(
                Validator(
                    f"v{i}",
                    self.suite.public_key(key),
                    power,
                    self.suite.address(self.suite.public_key(key)),
                )
                for i, (key, power) in enumerate(zip(self.keys, powers, strict=True))
            ),
        )
        ca = create_consortium_ca("test consortium")
        self.ports = free_ports(len(powers))
        self.tls = [
            TlsCredentials.load(
                write_tls_files(
                    root / f"node{i}" / "tls",
                    issue_node_certificate(ca, f"node{i}"),
                    ca.certificate,
                )
            )
            for i in range(len(powers))
        ]
        self.drivers: dict[int, BftDriver] = {}
        self.chains: dict[int, Chain] = {}
        self.attackers: dict[int, PeerManager] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._genesis_hash: Hash32 | None = None

    def peer_id(self, index: int) -> PeerId:
        return self.identity(index).peer_id

    def identity(self, index: int) -> NodeIdentity:
        if self._genesis_hash is None:
            probe = Chain.open(self.root / "genesis-probe", self.genesis, map_size=2**24)
            try:
                self._genesis_hash = probe.block_hash_at(0)
            finally:
                probe.close()
        return NodeIdentity.from_private_key(
            self.suite, self.keys[index], CHAIN_ID, self._genesis_hash
        )

    def _transport(self, index: int, dial: list[int]) -> TransportConfig:
        return TransportConfig(
            listen_port=self.ports[index],
            peers=tuple(PeerAddress("127.0.0.1", self.ports[j]) for j in dial),
            backoff=Backoff(initial_seconds=0.1, max_seconds=0.5),
        )

    def start(self, index: int, dial: list[int] | None = None) -> BftDriver:
        """Start validator ``index`` as an honest node dialing ``dial`` (default: all)."""
        dial = [j for j in range(len(self.keys)) if j != index] if dial is None else dial
        directory = self.root / f"node{index}"
        chain = Chain.open(directory / "data", self.genesis, map_size=2**26)
        address = self.suite.address(self.suite.public_key(self.keys[index]))
        node = Node(chain, MempoolConfig(), address, verify_threads=1)
        driver = BftDriver(
            node,
            self.keys[index],
            self.tls[index],
            self._transport(index, dial),
            FileSignerStore(directory / "signer-state"),
            timeouts=TIMEOUTS,
        )
        self.chains[index] = chain
        self.drivers[index] = driver
        self._tasks[index] = asyncio.create_task(driver.run())
        return driver

    async def start_attacker(
        self, index: int, handler: Handler, dial: list[int] | None = None
    ) -> PeerManager:
        """Start validator ``index`` as a bare transport whose inbound frames go to ``handler``."""
        dial = [j for j in range(len(self.keys)) if j != index] if dial is None else dial
        peers = PeerManager(
            self.identity(index),
            self.tls[index],
            self._transport(index, dial),
            allowed={v.public_key for v in self.genesis.validators},
            handler=handler,
        )
        await peers.start()
        self.attackers[index] = peers
        return peers

    async def stop_all(self) -> None:
        for driver in self.drivers.values():
            driver.stop()
        for task in self._tasks.values():
            await asyncio.wait_for(task, 15)
        for driver in self.drivers.values():
            driver.node.close()
        for chain in self.chains.values():
            chain.close()
        for peers in self.attackers.values():
            await peers.close()


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait (polling) until ``condition()`` holds; fail naming ``what`` after ``timeout`` s.

    The timeout is a generous bound on a loaded machine, not a performance assertion.
    """

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
