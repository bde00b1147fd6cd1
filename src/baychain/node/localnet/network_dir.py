"""A local consortium's directory: one genesis, one CA, one sub-directory per node.

``baychain up`` runs every node of a small network on this machine. The layout::

    DIR/
      genesis.json          the chain, with one validator per node
      dev-accounts.json     the development accounts funded in genesis (public keys!)
      ca/ca.crt, ca/ca.key  the consortium CA (networks of more than one node)
      network.json          written by the launcher: where each node listens, its pid
      node0/ ... nodeN-1/   each a complete node directory (node/host/datadir.py):
        genesis.json        a copy of DIR/genesis.json (`baychain node --dir DIR/nodeI` runs alone)
        node.toml           its ports; with more than one node also [p2p] peers / tls_dir
                            and [consensus] signer_state_file
        keys/validator.json, keys/password   its consensus key, SM4-encrypted
        tls/node.crt, tls/node.key, tls/ca.crt   its consortium certificate (multi-node only)
        data/, logs/

Node ``I`` listens for JSON-RPC on ``base_rpc_port + I`` and for peers on
``base_p2p_port + I``, both on 127.0.0.1. A one-node network is a plain solo chain
(no peers, no certificates). Nothing here runs a process; :mod:`.launcher` does.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baychain.crypto import get_suite
from baychain.errors import ConfigError
from baychain.files import write_private
from baychain.network.pki import (
    CertifiedKey,
    create_consortium_ca,
    issue_node_certificate,
    write_tls_files,
)
from baychain.node.genesis import Genesis, GenesisAccount, load_genesis
from baychain.node.host.datadir import (
    DEFAULT_BLOCK_GAS_LIMIT,
    DEFAULT_BLOCK_INTERVAL_MS,
    DEFAULT_CHAIN_ID,
    DEFAULT_HARDFORK,
    DevAccount,
    create_genesis,
    dev_accounts_document,
    merge_alloc,
)
from baychain.node.host.settings import (
    DEFAULT_P2P_PORT,
    DEFAULT_RPC_PORT,
    parse_config,
    render_config,
)
from baychain.node.localnet.processes import HOST
from baychain.primitives import Address

__all__ = [
    "DEFAULT_BASE_P2P_PORT",
    "DEFAULT_BASE_RPC_PORT",
    "DEFAULT_DEV_ACCOUNTS",
    "HOST",
    "MAX_NODES",
    "NETWORK_FILE",
    "TLS_DIR",
    "NetworkLayout",
    "NodeEndpoints",
    "init_network_dir",
    "merge_alloc",
    "node_name",
    "read_network_dir",
]

DEFAULT_BASE_RPC_PORT = DEFAULT_RPC_PORT
"""Node ``I`` of a local network gets JSON-RPC port ``base_rpc_port + I``."""
DEFAULT_BASE_P2P_PORT = DEFAULT_P2P_PORT
"""Node ``I`` of a local network gets p2p port ``base_p2p_port + I``."""
DEFAULT_DEV_ACCOUNTS = 5
"""Development accounts a local network funds unless told otherwise."""
MAX_NODES = 64
NETWORK_FILE = "network.json"
CA_NAME = "BayChain local consortium CA"
TLS_DIR = "tls"
"""Each node's certificate, key and CA certificate, relative to its directory ([p2p] tls_dir)."""


@dataclass(frozen=True, slots=True)
class NodeEndpoints:
    """One node of a local network: its directory and where it listens."""

    name: str
    directory: Path
    rpc_port: int
    p2p_port: int

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC HTTP endpoint."""
        return f"http://{HOST}:{self.rpc_port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket endpoint (the JSON-RPC listener upgrades ``GET /``)."""
        return f"ws://{HOST}:{self.rpc_port}"

    @property
    def p2p_address(self) -> str:
        """``host:port`` of the peer listener."""
        return f"{HOST}:{self.p2p_port}"


@dataclass(frozen=True, slots=True)
class NetworkLayout:
    """What a network directory holds: the chain, its nodes and the dev accounts."""

    directory: Path
    genesis: Genesis
    nodes: tuple[NodeEndpoints, ...]
    dev_accounts: tuple[DevAccount, ...]

    @property
    def network_file(self) -> Path:
        """DIR/network.json."""
        return self.directory / NETWORK_FILE

    def document(self, pids: dict[str, int | None]) -> dict[str, Any]:
        """The network.json document, with each node's pid (None when not running)."""
        return {
            "chain_id": self.genesis.chain_id,
            "crypto": self.genesis.crypto,
            "directory": str(self.directory),
            "nodes": [
                {
                    "name": node.name,
                    "role": "validator",
                    "rpc": node.rpc_url,
                    "ws": node.ws_url,
                    "p2p": node.p2p_address,
                    "pid": pids.get(node.name),
                    "dir": str(node.directory),
                }
                for node in self.nodes
            ],
            "dev_accounts": dev_accounts_document(self.dev_accounts)["accounts"],
        }


def node_name(index: int) -> str:
    """The name (and sub-directory) of node ``index``: ``node0``, ``node1``, ..."""
    return f"node{index}"


def init_network_dir(
    directory: Path,
    *,
    nodes: int,
    crypto: str,
    dev_accounts: int = DEFAULT_DEV_ACCOUNTS,
    chain_id: int = DEFAULT_CHAIN_ID,
    base_rpc_port: int = DEFAULT_BASE_RPC_PORT,
    base_p2p_port: int = DEFAULT_BASE_P2P_PORT,
    block_interval_ms: int = DEFAULT_BLOCK_INTERVAL_MS,
    block_gas_limit: int = DEFAULT_BLOCK_GAS_LIMIT,
    hardfork: str = DEFAULT_HARDFORK,
    extra_alloc: tuple[tuple[Address, GenesisAccount], ...] = (),
) -> NetworkLayout:
    """Create a ``nodes``-validator network in ``directory``; refuse a non-empty directory.

    Every node gets a fresh consensus key (its genesis validator entry), and with
    more than one node a certificate from a fresh consortium CA and the p2p
    addresses of all the other nodes. ``extra_alloc`` adds genesis accounts beside
    the development accounts (e.g. a benchmark population). Raise
    :class:`ConfigError` for bad arguments, including an address that is both a
    development account and in ``extra_alloc`` or twice in ``extra_alloc``.
    """
    get_suite(crypto)  # an unknown suite is refused before anything else
    if not 1 <= nodes <= MAX_NODES:
        raise ConfigError(f"--nodes must be between 1 and {MAX_NODES}, got {nodes}")
    for option, base in (("--base-rpc-port", base_rpc_port), ("--base-p2p-port", base_p2p_port)):
        if not 1 <= base <= 65_535 - nodes + 1:
            raise ConfigError(f"{option} {base} leaves no room for {nodes} ports below 65536")
    if abs(base_rpc_port - base_p2p_port) < nodes:
        raise ConfigError("the JSON-RPC and p2p port ranges overlap; move one of the bases")
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ConfigError(
            f"{directory} already exists and is not empty; choose another --dir, "
            "or remove it first (run `baychain down --dir` if its network is running)"
        )

    endpoints = tuple(
        NodeEndpoints(node_name(i), directory / node_name(i), base_rpc_port + i, base_p2p_port + i)
        for i in range(nodes)
    )
    genesis, accounts = create_genesis(
        crypto,
        [(node.name, node.directory / "keys") for node in endpoints],
        dev_accounts=dev_accounts,
        extra_alloc=extra_alloc,
        chain_id=chain_id,
        block_interval_ms=block_interval_ms,
        block_gas_limit=block_gas_limit,
        hardfork=hardfork,
    )
    genesis_text = json.dumps(genesis.to_json(), indent=2) + "\n"
    (directory / "genesis.json").write_text(genesis_text)
    accounts_text = json.dumps(dev_accounts_document(accounts), indent=2) + "\n"
    # private keys, if publicly known ones: owner-only like every key
    write_private(directory / "dev-accounts.json", accounts_text)
    if nodes > 1:
        ca = create_consortium_ca(CA_NAME)
        _write_ca(directory / "ca", ca)
    for node in endpoints:
        (node.directory / "data").mkdir(exist_ok=True)
        (node.directory / "logs").mkdir(exist_ok=True)
        (node.directory / "genesis.json").write_text(genesis_text)
        peers = [other.p2p_address for other in endpoints if other is not node]
        if nodes > 1:
            certificate = issue_node_certificate(ca, node.name, hosts=(HOST,))
            write_tls_files(node.directory / TLS_DIR, certificate, ca.certificate)
        (node.directory / "node.toml").write_text(
            render_network_config(node.name, node.rpc_port, node.p2p_port, peers)
        )
    return NetworkLayout(directory, genesis, endpoints, accounts)


def render_network_config(name: str, rpc_port: int, p2p_port: int, peers: list[str]) -> str:
    """node.toml of one network node: its name and ports, and with peers, them and its TLS files."""
    overrides: dict[str, dict[str, Any]] = {
        "node": {"name": name},
        "rpc": {"port": rpc_port},
        "p2p": {"port": p2p_port},
    }
    if peers:
        overrides["p2p"] |= {"peers": peers, "tls_dir": TLS_DIR}
    return render_config(overrides)


def read_network_dir(directory: Path) -> NetworkLayout:
    """Read back a directory made by :func:`init_network_dir` (for a restart or ``down``)."""
    genesis = load_genesis(directory / "genesis.json")
    nodes = []
    for validator in genesis.validators:
        node_dir = directory / validator.name
        config_file = node_dir / "node.toml"
        try:
            document = tomllib.loads(config_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(
                f"{directory} is not a complete network directory: {config_file}: {error}"
            ) from None
        config = parse_config(document, root=node_dir, source=str(config_file))
        nodes.append(NodeEndpoints(validator.name, node_dir, config.rpc_port, config.p2p_port))
    return NetworkLayout(directory, genesis, tuple(nodes), _read_dev_accounts(directory))


def _write_ca(directory: Path, ca: CertifiedKey) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "ca.crt").write_bytes(ca.certificate_pem())
    write_private(directory / "ca.key", ca.private_key_pem())


def _read_dev_accounts(directory: Path) -> tuple[DevAccount, ...]:
    path = directory / "dev-accounts.json"
    if not path.exists():
        return ()
    try:
        entries = json.loads(path.read_text())["accounts"]
        return tuple(
            DevAccount(Address(_hex(e["address"])), _hex(e["private_key"])) for e in entries
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{path} is unreadable: {error}") from None


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))
