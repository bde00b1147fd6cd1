"""Assembly: from a chain directory to a running node process.

::

    node.toml + genesis.json ──> settings, Genesis
    keys/validator.json      ──> the validator key (decrypted)
    data/                    ──> Chain (opened, checked against genesis)
                                 Node (pool, signature intake, the commit path)
                                 driver: SoloDriver (one genesis validator) or
                                         BftDriver (more: TLS peers, signer state)
                                 services: the JSON-RPC server, and whatever else the
                                           caller plugs in

:func:`run_node` is the whole start-up sequence; ``baychain node`` parses its
arguments and calls it. The services are passed in as factories because they live
in higher layers (the JSON-RPC server is ``baychain.rpc``, which builds on this
package, never the other way round): the node process runs them beside consensus,
starts them before the driver and stops them after it, and knows them only through
the :class:`Service` protocol.

Logging goes to stdout and to the configured log file. SIGINT and SIGTERM stop the
driver after the job in progress; the services are then stopped, the signature
threads joined and the store closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from baychain.consensus.signer_file import FileSignerStore
from baychain.consensus.solo import SoloPolicy
from baychain.errors import ConfigError
from baychain.network.config import PeerAddress, TransportConfig
from baychain.network.pki import TlsCredentials, TlsFiles
from baychain.node.bft.driver import BftDriver
from baychain.node.chain import Chain
from baychain.node.genesis import load_genesis
from baychain.node.host.datadir import load_validator_key
from baychain.node.host.settings import NodeConfig, load_config
from baychain.node.node import Node
from baychain.node.solo.driver import SoloDriver

__all__ = [
    "LOG_FORMAT",
    "Service",
    "ServiceFactory",
    "build_driver",
    "run_node",
    "serve",
    "setup_logging",
]

log = logging.getLogger("baychain")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""One line per record, in stdout and in the node's log file alike."""


class Service(Protocol):
    """Something the node process runs beside consensus (e.g. the JSON-RPC server)."""

    @property
    def description(self) -> str:
        """What it is and where it listens, for the "node ready" log line."""

    async def start(self) -> None:
        """Start serving; raise :class:`~baychain.errors.ConfigError` if it cannot."""

    async def stop(self) -> None:
        """Stop serving and release what it holds."""


ServiceFactory = Callable[[Node, NodeConfig], Service]
"""Builds a service over the assembled node and its settings."""


def run_node(
    directory: Path,
    *,
    services: Sequence[ServiceFactory] = (),
    rpc_host: str | None = None,
    rpc_port: int | None = None,
    log_level: str = "INFO",
) -> None:
    """Run the node of chain directory ``directory`` until SIGINT or SIGTERM.

    ``rpc_host`` / ``rpc_port`` override ``[rpc] host`` / ``port`` of node.toml.
    Raise :class:`~baychain.errors.ConfigError` (or another
    :class:`~baychain.errors.BayChainError`) for what a user must fix: a bad setting,
    a key that is not a genesis validator, a damaged store, a port in use.
    """
    config = load_config(directory / "node.toml")
    if rpc_host is not None:
        config = replace(config, rpc_host=rpc_host)
    if rpc_port is not None:
        config = replace(config, rpc_port=rpc_port)
    setup_logging(config, log_level)
    genesis = load_genesis(config.genesis_file)
    key = load_validator_key(config, genesis.crypto)
    chain = Chain.open(config.data_dir, genesis, map_size=config.map_size_bytes)
    try:
        validator = chain.suite.address(chain.suite.public_key(key))
        if validator not in {v.address for v in genesis.validators}:
            raise ConfigError(f"this node's key 0x{validator.hex()} is not a genesis validator")
        node = Node(chain, config.mempool, validator, max_block_txs=config.block_max_txs)
        try:
            asyncio.run(serve(node, config, key, services))
        finally:
            node.close()
    finally:
        chain.close()


async def serve(
    node: Node, config: NodeConfig, key: bytes, services: Sequence[ServiceFactory] = ()
) -> None:
    """Start the services, run the consensus driver until a stop signal, stop them all."""
    driver = build_driver(node, config, key)
    started: list[Service] = []
    try:
        for factory in services:
            service = factory(node, config)
            await service.start()
            started.append(service)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, driver.stop)
        status = node.status()
        log.info(
            "node %s ready: chain id %d, %s suite, head %d, %s",
            config.name,
            status.chain_id,
            status.crypto,
            status.height,
            ", ".join(service.description for service in started) or "no services",
        )
        await driver.run()
    finally:
        for service in reversed(started):
            await service.stop()
        log.info("node stopped at height %d", node.chain.height)


def build_driver(node: Node, config: NodeConfig, key: bytes) -> SoloDriver | BftDriver:
    """The consensus driver: solo for a one-validator genesis, BFT over TLS peers for more."""
    genesis = node.genesis
    if len(genesis.validators) == 1:
        return SoloDriver(
            node, SoloPolicy(genesis.block_interval_ms, full_block_txs=config.block_max_txs)
        )
    tls = TlsCredentials.load(
        TlsFiles(
            config.tls_dir / "node.crt", config.tls_dir / "node.key", config.tls_dir / "ca.crt"
        )
    )
    transport = TransportConfig(
        listen_host=config.p2p_host,
        listen_port=config.p2p_port,
        peers=tuple(PeerAddress(host, port) for host, port in config.p2p_peers),
    )
    config.signer_state_file.parent.mkdir(parents=True, exist_ok=True)
    return BftDriver(
        node,
        key,
        tls,
        transport,
        FileSignerStore(config.signer_state_file),
        timeouts=config.timeouts,
        empty_blocks=config.empty_blocks,
    )


def setup_logging(config: NodeConfig, level: str) -> None:
    """Log at ``level`` to stdout (line-buffered) and to ``[node] log_file``."""
    config.log_file.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(LOG_FORMAT)
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(formatter)
    to_file = logging.FileHandler(config.log_file)
    to_file.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [stream, to_file]
    root.setLevel(level)
    with contextlib.suppress(AttributeError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
