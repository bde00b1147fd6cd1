"""What the bench measures: a chain it starts (and always stops), reached over JSON-RPC.

A :class:`Target` starts a node (or a network) and hands back an :class:`Endpoint`: the
JSON-RPC and WebSocket URLs, the pids of the node processes (for CPU and memory sampling)
and a manifest of what is running (software versions, node count, consensus, crypto,
block interval, block gas limit, chain id, mining mode). Targets:

- :class:`BayChainTarget`: a local BayChain network of 1..64 validators on loopback
  (``baychain up`` without the command line), solo with one node, BFT (Tendermint) beyond.
- :class:`HardhatTarget`, :class:`GanacheTarget`: the peers, from the npm install of
  :mod:`.peers`, each one Node.js process in its own process group, default mining.
- :class:`ExternalTarget`: any Ethereum JSON-RPC endpoint; nothing is started.

Every started target funds the first ``dev_accounts`` keys of the public development
mnemonic (:func:`baychain.crypto.dev_private_keys`) with the same balance, so one
workload signs for all of them. ``stop()`` is idempotent and leaves no process behind.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

import baychain
from baychain.bench.errors import BenchError
from baychain.bench.manifest import tool_version
from baychain.bench.peers import installed_version, package_dir
from baychain.bench.process import HOST, GroupProcess, free_port_base, log_tail
from baychain.crypto import dev_private_keys
from baychain.crypto.mnemonic import DEV_MNEMONIC
from baychain.errors import BayChainError, ConfigError, LaunchError
from baychain.node.genesis import GenesisAccount
from baychain.node.host.datadir import DEV_ACCOUNT_BALANCE_WEI
from baychain.node.localnet.launcher import COMMIT_TIMEOUT_S, RunningNetwork, start_network
from baychain.node.localnet.network_dir import init_network_dir
from baychain.primitives import Address
from baychain.sdk.client import Client

__all__ = [
    "MAX_DEV_ACCOUNTS",
    "READY_TIMEOUT_S",
    "BayChainTarget",
    "BenchError",
    "Endpoint",
    "ExternalTarget",
    "GanacheTarget",
    "HardhatTarget",
    "Target",
    "rpc_call",
]

READY_TIMEOUT_S = 120.0
"""How long a peer has to answer ``eth_chainId`` after its process starts."""
MAX_DEV_ACCOUNTS = 1_000
"""The most development accounts a target funds (init_network_dir's limit)."""
HARDHAT_CHAIN_ID = 31_337
GANACHE_CHAIN_ID = 1_337
_PROBE_TIMEOUT_S = 2.0
_POLL_S = 0.2


@dataclass(frozen=True)
class Endpoint:
    """A running target as the load generator sees it."""

    name: str
    """``"baychain"``, ``"hardhat"``, ``"ganache"`` or ``"external"``."""
    rpc_url: str
    """JSON-RPC over HTTP, e.g. ``http://127.0.0.1:8545``."""
    ws_url: str | None
    """JSON-RPC over WebSocket (newHeads); None when unknown (then poll eth_blockNumber)."""
    pids: tuple[int, ...]
    """The node processes to sample (their children are sampled too); empty for external."""
    manifest: dict[str, Any]
    """What is running: software, node_count, consensus, crypto, block_interval_ms,
    block_gas_limit, chain_id, mining, dev_accounts, ... (what the target knows)."""
    submit_urls: tuple[str, ...] = ()
    """Where transactions may be sent: every node of a network, each sending group
    using one, as each organisation's clients use their own node. Empty: ``rpc_url``."""


class Target(Protocol):
    """Something the bench can start, measure over JSON-RPC and stop."""

    name: str

    def start(self) -> Endpoint:
        """Start (or reach) the chain; raise :class:`BenchError` with the reason on failure."""
        ...

    def stop(self) -> None:
        """Stop every process the target started; idempotent."""
        ...


def rpc_call(url: str, method: str, *params: Any, timeout_s: float = 10.0) -> Any:
    """Call one JSON-RPC method; raise :class:`BenchError` naming the URL when it fails."""
    try:
        return Client(url, timeout_s=timeout_s).call(method, *params)
    except (OSError, ValueError, BayChainError) as error:
        raise BenchError(f"{method} on {url} failed: {error}") from None


def _answers(url: str) -> bool:
    try:
        Client(url, timeout_s=_PROBE_TIMEOUT_S).call("eth_chainId")
    except (OSError, ValueError, BayChainError):
        return False
    return True


def _height_probe(url: str) -> int | None:
    try:
        return Client(url, timeout_s=_PROBE_TIMEOUT_S).block_number()
    except (OSError, ValueError, BayChainError):
        return None


def _chain_facts(url: str) -> dict[str, Any]:
    """client_version, chain_id and block_gas_limit as the endpoint reports them."""
    latest = rpc_call(url, "eth_getBlockByNumber", "latest", False)
    try:
        client_version = str(rpc_call(url, "web3_clientVersion"))
    except BenchError:
        client_version = "unknown (web3_clientVersion not answered)"
    return {
        "client_version": client_version,
        "chain_id": int(rpc_call(url, "eth_chainId"), 16),
        "block_gas_limit": int(latest["gasLimit"], 16),
    }


def _check_dev_accounts(count: int) -> None:
    if not 0 <= count <= MAX_DEV_ACCOUNTS:
        raise BenchError(f"dev_accounts must be between 0 and {MAX_DEV_ACCOUNTS}, got {count}")


class BayChainTarget:
    """A local BayChain network: ``nodes`` validators, started in ``workdir`` and stopped."""

    name = "baychain"

    def __init__(
        self,
        workdir: Path,
        *,
        nodes: int = 1,
        crypto: str = "ecdsa",
        dev_accounts: int,
        block_interval_ms: int = 200,
        block_gas_limit: int | None = None,
        extra_alloc: tuple[tuple[Address, GenesisAccount], ...] = (),
        log_level: str = "WARNING",
        start_timeout_s: float = COMMIT_TIMEOUT_S,
        out: TextIO | None = None,
    ) -> None:
        """Describe the network; nothing happens before :meth:`start`.

        ``workdir`` must be absent or empty: it becomes the network directory (genesis,
        node directories, logs) and is kept after :meth:`stop` for its logs.
        ``extra_alloc`` funds more genesis accounts (a benchmark population).
        """
        _check_dev_accounts(dev_accounts)
        self.workdir = workdir
        self.nodes = nodes
        self.crypto = crypto
        self.dev_accounts = dev_accounts
        self.block_interval_ms = block_interval_ms
        self.block_gas_limit = block_gas_limit
        self.extra_alloc = extra_alloc
        self.log_level = log_level
        self.start_timeout_s = start_timeout_s
        self._out = out
        self._network: RunningNetwork | None = None

    def start(self) -> Endpoint:
        """Create the network directory on free loopback ports, start it, wait for a commit."""
        if self._network is not None:
            raise BenchError("this BayChain target is already started")
        out = self._out or sys.stdout
        base_rpc, base_p2p = _two_port_ranges(self.nodes)
        options: dict[str, Any] = {
            "nodes": self.nodes,
            "crypto": self.crypto,
            "dev_accounts": self.dev_accounts,
            "block_interval_ms": self.block_interval_ms,
            "base_rpc_port": base_rpc,
            "base_p2p_port": base_p2p,
        }
        if self.block_gas_limit is not None:
            options["block_gas_limit"] = self.block_gas_limit
        if self.extra_alloc:
            options["extra_alloc"] = self.extra_alloc
        try:
            layout = init_network_dir(self.workdir, **options)
        except ConfigError as error:
            raise BenchError(f"cannot create the BayChain network: {error}") from None
        out.write(f"baychain: starting {self.nodes} node(s) ({self.crypto}) in {self.workdir}\n")
        out.flush()
        try:
            network = start_network(layout, log_level=self.log_level)
        except LaunchError as error:
            raise BenchError(f"cannot start the BayChain network: {error}") from None
        self._network = network
        try:
            network.wait_until_committing(_height_probe, timeout_s=self.start_timeout_s, out=out)
            facts = _chain_facts(layout.nodes[0].rpc_url)
        except BaseException as error:
            self.stop()
            if isinstance(error, LaunchError):
                raise BenchError(f"the BayChain network did not start: {error}") from None
            raise
        genesis = layout.genesis
        manifest: dict[str, Any] = {
            "software": f"BayChain {baychain.__version__}",
            **facts,
            "node_count": self.nodes,
            "consensus": "solo" if self.nodes == 1 else "bft (Tendermint)",
            "crypto": genesis.crypto,
            "hardfork": genesis.hardfork,
            "mining": "interval",
            "block_interval_ms": genesis.block_interval_ms,
            "base_fee_per_gas": genesis.base_fee_per_gas,
            "dev_accounts": self.dev_accounts,
            "extra_alloc_accounts": len(self.extra_alloc),
            "log_level": self.log_level,
            "submission": f"spread over the JSON-RPC of all {self.nodes} nodes"
            if self.nodes > 1
            else "the node's JSON-RPC",
        }
        node = layout.nodes[0]
        pids = tuple(process.pid for process in network.processes.values())
        submit_urls = tuple(each.rpc_url for each in layout.nodes)
        return Endpoint(self.name, node.rpc_url, node.ws_url, pids, manifest, submit_urls)

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after the launcher's timeout); idempotent."""
        network, self._network = self._network, None
        if network is not None:
            with open(os.devnull, "w") as quiet:
                network.stop(out=self._out or quiet)


def _two_port_ranges(count: int) -> tuple[int, int]:
    """Free bases for ``count`` JSON-RPC ports and ``count`` p2p ports that do not overlap."""
    rpc = free_port_base(count)
    for _ in range(20):
        p2p = free_port_base(count)
        if abs(rpc - p2p) >= count:
            return rpc, p2p
    raise BenchError(f"found no two separate ranges of {count} free loopback ports")


class _NpmPeer(ABC):
    """A peer node run as ``node <cli.js> ...`` from the npm install in ``peers_dir``.

    Each start gets a run directory under ``peers_dir/runs`` (a Hardhat project must
    resolve ``hardhat`` from its own folder); it is removed on stop.
    """

    name: str
    package: str
    cli: str
    """The command-line script inside the package."""
    title: str
    """The software's name as people write it."""

    def __init__(
        self,
        peers_dir: Path,
        *,
        dev_accounts: int,
        start_timeout_s: float = READY_TIMEOUT_S,
        out: TextIO | None = None,
    ) -> None:
        """Describe the peer; :meth:`start` needs :func:`~.peers.ensure_peers` done first."""
        _check_dev_accounts(dev_accounts)
        self.peers_dir = peers_dir
        self.dev_accounts = dev_accounts
        self.start_timeout_s = start_timeout_s
        self._out = out
        self._process: GroupProcess | None = None
        self._run_dir: Path | None = None

    @abstractmethod
    def arguments(self, port: int) -> list[str]:
        """The CLI's arguments to listen on ``HOST:port`` with the dev accounts funded."""

    @abstractmethod
    def prepare(self, run_dir: Path) -> None:
        """Write what the peer reads from its working directory."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """Manifest entries this peer knows from its configuration."""

    def start(self) -> Endpoint:
        """Start the peer on a free loopback port and wait until it answers JSON-RPC."""
        if self._run_dir is not None:
            raise BenchError(f"this {self.title} target is already started")
        version = installed_version(self.peers_dir, self.package)
        node = shutil.which("node")
        if node is None:
            raise BenchError(f"{self.title} needs Node.js: `node` is not on PATH")
        runs = self.peers_dir / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        self._run_dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=runs))
        try:
            return self._launch(node, version, self._run_dir)
        except BaseException:
            self.stop()
            raise

    def _launch(self, node: str, version: str, run_dir: Path) -> Endpoint:
        out = self._out or sys.stdout
        self.prepare(run_dir)
        port = free_port_base(1)
        url = f"http://{HOST}:{port}"
        out.write(f"{self.name}: starting {self.title} {version} on {url}\n")
        out.flush()
        environment = dict(
            os.environ, CI="true", HARDHAT_DISABLE_TELEMETRY_PROMPT="true", NO_COLOR="1"
        )
        script = package_dir(self.peers_dir, self.package) / self.cli
        process = GroupProcess(
            [node, str(script), *self.arguments(port)],
            cwd=run_dir,
            log=run_dir / f"{self.name}.log",
            env=environment,
        )
        self._process = process
        _wait_until_answering(process, url, self.title, self.start_timeout_s)
        facts = _chain_facts(url)
        out.write(f"{self.name}: ready (chain id {facts['chain_id']})\n")
        out.flush()
        manifest: dict[str, Any] = {
            "software": f"{self.title} {version}",
            **facts,
            "runtime": f"node {tool_version(node)}",
            "node_count": 1,
            "consensus": "none (single development node)",
            "crypto": "ecdsa",
            **self.describe(),
            "dev_accounts": self.dev_accounts,
        }
        return Endpoint(self.name, url, f"ws://{HOST}:{port}", (process.pid,), manifest)

    def stop(self) -> None:
        """Stop the peer's process group and remove its run directory; idempotent."""
        process, self._process = self._process, None
        if process is not None:
            process.stop()
        run_dir, self._run_dir = self._run_dir, None
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)


def _wait_until_answering(process: GroupProcess, url: str, title: str, timeout_s: float) -> None:
    """Poll ``eth_chainId`` until it answers; BenchError with the log's tail if it never does."""
    deadline = time.monotonic() + timeout_s
    while not _answers(url):
        status = process.exit_status()
        if status is not None:
            raise BenchError(
                f"{title} exited during start (status {status}); "
                f"the end of its log:\n{log_tail(process.log)}"
            )
        if time.monotonic() > deadline:
            raise BenchError(
                f"{title} did not answer on {url} within {timeout_s:.0f}s; "
                f"the end of its log:\n{log_tail(process.log)}"
            )
        time.sleep(_POLL_S)


class HardhatTarget(_NpmPeer):
    """Hardhat Network (``hardhat node``): automine, chain id 31337, request logging off."""

    name = "hardhat"
    package = "hardhat"
    cli = "internal/cli/cli.js"
    title = "Hardhat"

    def arguments(self, port: int) -> list[str]:
        """``node --hostname HOST --port PORT`` (the accounts are in hardhat.config.js)."""
        return ["node", "--hostname", HOST, "--port", str(port)]

    def prepare(self, run_dir: Path) -> None:
        """Write hardhat.config.js: the dev mnemonic's accounts, default mining, no logging.

        The accounts are listed by private key: Hardhat's own derivation from the mnemonic
        takes about 45 s for 1,000 accounts, ours 0.2 s, and the keys are the same.
        ``hardhat node`` logs every request to its console unless ``loggingEnabled`` is
        false; the bench turns that off so the peer is measured, not its console.
        """
        accounts = [
            {"privateKey": "0x" + key.hex(), "balance": str(DEV_ACCOUNT_BALANCE_WEI)}
            for key in dev_private_keys("ecdsa", self.dev_accounts)
        ]
        config = {
            "networks": {
                "hardhat": {
                    "chainId": HARDHAT_CHAIN_ID,
                    "accounts": accounts,
                    "loggingEnabled": False,
                }
            }
        }
        (run_dir / "hardhat.config.js").write_text(
            f"module.exports = {json.dumps(config, indent=2)};\n"
        )

    def describe(self) -> dict[str, Any]:
        """Hardhat's mining mode and logging."""
        return {"mining": "automine", "block_interval_ms": None, "logging": "off"}


class GanacheTarget(_NpmPeer):
    """Ganache (``ganache``): instamine (eager), chain id 1337, quiet logging."""

    name = "ganache"
    package = "ganache"
    cli = "dist/node/cli.js"
    title = "Ganache"

    def arguments(self, port: int) -> list[str]:
        """Ganache 7's ``--server.*``, ``--wallet.*`` and ``--chain.chainId`` flags."""
        return [
            "--server.host",
            HOST,
            "--server.port",
            str(port),
            "--wallet.mnemonic",
            DEV_MNEMONIC,
            "--wallet.totalAccounts",
            str(self.dev_accounts),
            # in ether: the same balance every target gives a development account
            "--wallet.defaultBalance",
            str(DEV_ACCOUNT_BALANCE_WEI // 10**18),
            "--chain.chainId",
            str(GANACHE_CHAIN_ID),
            "--logging.quiet",
        ]

    def prepare(self, run_dir: Path) -> None:
        """Nothing: Ganache takes every setting on its command line."""

    def describe(self) -> dict[str, Any]:
        """Ganache's mining mode and logging."""
        return {"mining": "instamine (eager)", "block_interval_ms": None, "logging": "quiet"}


class ExternalTarget:
    """Any Ethereum JSON-RPC endpoint; the bench starts and stops nothing."""

    name = "external"

    def __init__(self, rpc_url: str, ws_url: str | None = None) -> None:
        """Point at ``rpc_url`` (and ``ws_url`` for newHeads, if it has one)."""
        self.rpc_url = rpc_url
        self.ws_url = ws_url

    def start(self) -> Endpoint:
        """Check the endpoint answers; the manifest holds what it reports about itself."""
        facts = _chain_facts(self.rpc_url)
        manifest = {"software": facts["client_version"], **facts}
        return Endpoint(self.name, self.rpc_url, self.ws_url, (), manifest)

    def stop(self) -> None:
        """Nothing to stop."""
