"""node.toml: one node's local settings (ports, paths, limits). Nothing here affects consensus.

::

    [node]
    name = "node0"
    data_dir = "data"            # relative paths are relative to the directory of node.toml
    key_file = "keys/validator.json"
    password_file = "keys/password"   # or set BAYCHAIN_KEY_PASSWORD
    log_file = "logs/node.log"

    [rpc]
    host = "127.0.0.1"
    port = 8545
    max_body_bytes = 5242880     # bounds that protect the node (docs/json-rpc.md)
    max_batch_length = 1000
    max_log_block_range = 10000
    max_log_results = 10000
    max_filters = 1000
    max_subscriptions_per_connection = 100
    max_connections = 256

    [p2p]
    host = "127.0.0.1"
    port = 30300
    peers = []                   # other validators' p2p addresses, "host:port" (BFT chains)
    tls_dir = "tls"              # node.crt, node.key, ca.crt (network.write_tls_files)

    [consensus]                  # used when genesis has more than one validator
    signer_state_file = "data/signer-state.json"
    empty_blocks = true          # false: wait for transactions before proposing
    propose_ms = 3000            # round timeouts: base + round * delta (TimeoutConfig)
    propose_delta_ms = 500
    prevote_ms = 1000
    prevote_delta_ms = 500
    precommit_ms = 1000
    precommit_delta_ms = 500
    gossip_ms = 2000

    [mempool]
    max_txs = 50000
    max_bytes = 67108864
    max_tx_bytes = 131072
    max_per_sender = 1024

    [block]
    max_txs = 10000              # transactions per block (also bounded by the gas limit)

    [storage]
    map_size_gib = 64

Every key has the default shown; unknown sections or keys are rejected so a
typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baychain.consensus.config import TimeoutConfig
from baychain.errors import ConfigError

_DEFAULTS: dict[str, dict[str, Any]] = {
    "node": {
        "name": "node0",
        "data_dir": "data",
        "key_file": "keys/validator.json",
        "password_file": "keys/password",
        "log_file": "logs/node.log",
    },
    "rpc": {
        "host": "127.0.0.1",
        "port": 8545,
        "max_body_bytes": 5 * 2**20,
        "max_batch_length": 1_000,
        "max_log_block_range": 10_000,
        "max_log_results": 10_000,
        "max_filters": 1_000,
        "max_subscriptions_per_connection": 100,
        "max_connections": 256,
    },
    "p2p": {"host": "127.0.0.1", "port": 30300, "peers": [], "tls_dir": "tls"},
    "consensus": {
        "signer_state_file": "data/signer-state.json",
        "empty_blocks": True,
        "propose_ms": 3000,
        "propose_delta_ms": 500,
        "prevote_ms": 1000,
        "prevote_delta_ms": 500,
        "precommit_ms": 1000,
        "precommit_delta_ms": 500,
        "gossip_ms": 2000,
    },
    "mempool": {
        "max_txs": 50_000,
        "max_bytes": 64 * 2**20,
        "max_tx_bytes": 128 * 2**10,
        "max_per_sender": 1_024,
    },
    "block": {"max_txs": 10_000},
    "storage": {"map_size_gib": 64},
}


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """The validated settings of one node, with paths made absolute."""

    root: Path
    name: str
    data_dir: Path
    key_file: Path
    password_file: Path
    log_file: Path
    rpc_host: str
    rpc_port: int
    p2p_host: str
    p2p_port: int
    mempool_max_txs: int
    mempool_max_bytes: int
    mempool_max_tx_bytes: int
    mempool_max_per_sender: int
    block_max_txs: int
    map_size_bytes: int
    p2p_peers: tuple[tuple[str, int], ...] = ()
    """Other validators' p2p addresses as (host, port)."""
    tls_dir: Path = Path("tls")
    signer_state_file: Path = Path("data/signer-state.json")
    empty_blocks: bool = True
    timeouts: TimeoutConfig = field(default_factory=TimeoutConfig)
    rpc_limits: tuple[tuple[str, int], ...] = ()
    """[rpc] bounds by RpcLimits field name (the RPC layer builds RpcLimits from them)."""

    @property
    def genesis_file(self) -> Path:
        """genesis.json sits beside node.toml."""
        return self.root / "genesis.json"


def load_config(path: Path) -> NodeConfig:
    """Read node.toml; raise ConfigError naming any bad section or key."""
    try:
        document = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"no node configuration at {path}; create one with `baychain init --dir {path.parent}`"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    return parse_config(document, root=path.parent.resolve(), source=str(path))


RPC_LIMIT_KEYS = (
    "max_body_bytes",
    "max_batch_length",
    "max_log_block_range",
    "max_log_results",
    "max_filters",
    "max_subscriptions_per_connection",
    "max_connections",
)
"""The [rpc] keys that bound what clients may ask of the node."""


def parse_config(document: dict[str, Any], *, root: Path, source: str = "node.toml") -> NodeConfig:
    """Merge ``document`` over the defaults and validate every value."""
    merged: dict[str, dict[str, Any]] = {name: dict(keys) for name, keys in _DEFAULTS.items()}
    for section, keys in document.items():
        if section not in _DEFAULTS:
            raise ConfigError(f"{source}: unknown section [{section}]")
        if not isinstance(keys, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        for key, value in keys.items():
            if key not in _DEFAULTS[section]:
                raise ConfigError(f"{source}: unknown key {key!r} in [{section}]")
            expected = type(_DEFAULTS[section][key])
            wrong_bool = isinstance(value, bool) and expected is not bool
            if not isinstance(value, expected) or wrong_bool:
                raise ConfigError(f"{source}: [{section}] {key} must be a {expected.__name__}")
            merged[section][key] = value

    def positive(section: str, key: str, maximum: int = 2**40) -> int:
        value: int = merged[section][key]
        if not 1 <= value <= maximum:
            raise ConfigError(f"{source}: [{section}] {key} must be between 1 and {maximum}")
        return value

    def port(section: str) -> int:
        value: int = merged[section]["port"]
        if not 0 <= value <= 65_535:
            raise ConfigError(f"{source}: [{section}] port must be between 0 and 65535")
        return value

    def path(key: str, section: str = "node") -> Path:
        return (root / str(merged[section][key])).resolve()

    def peer(entry: object) -> tuple[str, int]:
        host, _, port_text = str(entry).rpartition(":")
        if not isinstance(entry, str) or not host or not port_text.isdigit():
            raise ConfigError(f'{source}: [p2p] peers entries must be "host:port", got {entry!r}')
        if not 1 <= int(port_text) <= 65_535:
            raise ConfigError(f"{source}: [p2p] peer port out of range in {entry!r}")
        return host, int(port_text)

    timeouts = TimeoutConfig(
        **{
            key: positive("consensus", key, 3_600_000)
            for key in (
                "propose_ms",
                "propose_delta_ms",
                "prevote_ms",
                "prevote_delta_ms",
                "precommit_ms",
                "precommit_delta_ms",
                "gossip_ms",
            )
        }
    )

    return NodeConfig(
        root=root,
        name=str(merged["node"]["name"]),
        data_dir=path("data_dir"),
        key_file=path("key_file"),
        password_file=path("password_file"),
        log_file=path("log_file"),
        rpc_host=str(merged["rpc"]["host"]),
        rpc_port=port("rpc"),
        p2p_host=str(merged["p2p"]["host"]),
        p2p_port=port("p2p"),
        mempool_max_txs=positive("mempool", "max_txs"),
        mempool_max_bytes=positive("mempool", "max_bytes"),
        mempool_max_tx_bytes=positive("mempool", "max_tx_bytes", 16 * 2**20),
        mempool_max_per_sender=positive("mempool", "max_per_sender"),
        block_max_txs=positive("block", "max_txs", 1_000_000),
        map_size_bytes=positive("storage", "map_size_gib", 2**20) * 2**30,
        p2p_peers=tuple(peer(entry) for entry in merged["p2p"]["peers"]),
        tls_dir=path("tls_dir", "p2p"),
        signer_state_file=path("signer_state_file", "consensus"),
        empty_blocks=bool(merged["consensus"]["empty_blocks"]),
        timeouts=timeouts,
        rpc_limits=tuple((key, positive("rpc", key)) for key in RPC_LIMIT_KEYS),
    )


def render_config(name: str, rpc_port: int, p2p_port: int) -> str:
    """Return the text of a fresh node.toml with the given identity and ports."""
    return (
        "# BayChain node configuration. Every key is optional; the values shown are\n"
        "# the defaults unless init chose otherwise. Paths are relative to this file.\n"
        "[node]\n"
        f'name = "{name}"\n'
        'data_dir = "data"\n'
        'key_file = "keys/validator.json"\n'
        'password_file = "keys/password"\n'
        'log_file = "logs/node.log"\n\n'
        "[rpc]\n"
        'host = "127.0.0.1"\n'
        f"port = {rpc_port}\n\n"
        "[p2p]\n"
        'host = "127.0.0.1"\n'
        f"port = {p2p_port}\n\n"
        "[mempool]\n"
        "max_txs = 50000\n"
        "max_bytes = 67108864\n"
        "max_tx_bytes = 131072\n"
        "max_per_sender = 1024\n\n"
        "[block]\n"
        "max_txs = 10000\n\n"
        "[storage]\n"
        "map_size_gib = 64\n"
    )
