"""node.toml: one node's local settings (ports, paths, limits). Nothing here affects consensus.

:data:`SETTINGS` is the one table of every key node.toml may hold: its section,
its TOML type, its default, its bounds and a one-line doc. Everything else is
derived from it: :func:`parse_config` validates a document against it,
:func:`render_config` writes a node.toml from it (every key, each under a comment
from its doc) and ``docs/configuration.md`` documents it, checked against it by
``tests/node/test_settings.py``. Run ``render_config()`` to see a complete file.

Defaults that belong to another part are taken from it, not copied: the round
timeouts from :class:`~baychain.consensus.config.TimeoutConfig`, the p2p listen
address from :class:`~baychain.network.config.TransportConfig`, the pool bounds
from :mod:`baychain.node.pool.config`, the block size from
:data:`baychain.node.node.DEFAULT_BLOCK_MAX_TXS`, the store size from
:mod:`baychain.state.store`. The JSON-RPC bounds are defined here and
:class:`~baychain.rpc.limits.RpcLimits` takes its defaults from
:data:`RPC_LIMIT_DEFAULTS`.

Unknown sections or keys are rejected so a typo never silently falls back to a
default; a value of the wrong type or out of its bounds is rejected naming the key.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baychain.consensus.config import TimeoutConfig
from baychain.errors import ConfigError
from baychain.network.config import TransportConfig
from baychain.node.node import DEFAULT_BLOCK_MAX_TXS
from baychain.node.pool.config import (
    MAX_PER_SENDER,
    MAX_POOL_BYTES,
    MAX_POOL_TXS,
    MAX_QUEUED_BYTES_PER_SENDER,
    MAX_QUEUED_PER_SENDER,
    MAX_TX_BYTES,
    QUEUED_LIFETIME_BLOCKS,
    QUEUED_MIN_GAS_PRICE_WEI,
    MempoolConfig,
)
from baychain.state.store import DEFAULT_MAP_SIZE_BYTES

__all__ = [
    "DEFAULT_NODE_NAME",
    "DEFAULT_P2P_PORT",
    "DEFAULT_RPC_PORT",
    "RPC_ACCESS_DEFAULTS",
    "RPC_ACCESS_KEYS",
    "RPC_LIMIT_DEFAULTS",
    "RPC_LIMIT_KEYS",
    "SECTIONS",
    "SETTINGS",
    "NodeConfig",
    "Setting",
    "load_config",
    "parse_config",
    "render_config",
]

DEFAULT_NODE_NAME = "node0"
"""The name of a node, and of the only validator of a chain made by ``baychain init``."""
DEFAULT_RPC_PORT = 8545
"""JSON-RPC port (HTTP and WebSocket); the port Ethereum tools try first."""
DEFAULT_P2P_PORT = TransportConfig().listen_port
"""Peer transport port of a BFT validator (the transport's own default)."""

_MAX_COUNT = 2**40
"""Upper bound of the counts and sizes that have no tighter natural one."""
_MAX_TIMEOUT_MS = 3_600_000
"""One hour: the longest round timeout node.toml accepts."""
_PORTS = (0, 65_535)
_GIB = 2**30

SettingValue = str | int | bool | tuple[str, ...]
"""A default: a TOML string, integer, boolean or (for a list key) a tuple of strings."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One key of node.toml."""

    section: str
    key: str
    value_type: type
    """The TOML type a value must have: ``str``, ``int``, ``bool`` or ``list``."""
    default: SettingValue
    doc: str
    """One line for the comment in a rendered node.toml and the docs table."""
    bounds: tuple[int, int] | None = None
    """Least and greatest value (inclusive) of an ``int`` key."""


SECTIONS: dict[str, str] = {
    "node": "this node's name and files",
    "rpc": "the JSON-RPC listener and the bounds that protect the node (docs/json-rpc.md)",
    "p2p": "the peer transport of BFT chains",
    "consensus": "BFT consensus, used when genesis has more than one validator",
    "mempool": "the transaction pool",
    "block": "block production",
    "storage": "the ledger store",
}
"""The sections of node.toml in the order a rendered file has them, each with a doc."""

_TIMEOUTS = TimeoutConfig()

SETTINGS: tuple[Setting, ...] = (
    Setting("node", "name", str, DEFAULT_NODE_NAME, "shown in logs"),
    Setting("node", "data_dir", str, "data", "the LMDB store"),
    Setting("node", "key_file", str, "keys/validator.json", "the SM4-encrypted validator key"),
    Setting(
        "node",
        "password_file",
        str,
        "keys/password",
        "the key's password, if BAYCHAIN_KEY_PASSWORD is not set",
    ),
    Setting("node", "log_file", str, "logs/node.log", "log file (the log also goes to stdout)"),
    Setting("rpc", "host", str, "127.0.0.1", "JSON-RPC listen address; 0.0.0.0 opens it"),
    Setting("rpc", "port", int, DEFAULT_RPC_PORT, "JSON-RPC port (HTTP and WebSocket)", _PORTS),
    Setting(
        "rpc",
        "max_body_bytes",
        int,
        5 * 2**20,
        "largest request body or WebSocket message (HTTP 413 / close 1009 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc", "max_batch_length", int, 1_000, "requests per batch (-32600 above)", (1, _MAX_COUNT)
    ),
    Setting(
        "rpc",
        "max_log_block_range",
        int,
        10_000,
        "blocks one eth_getLogs query may span (-32005 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "max_log_results",
        int,
        10_000,
        "logs one eth_getLogs query may return (-32005 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "max_filters",
        int,
        1_000,
        "filters installed over HTTP, node-wide (-32005 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "max_subscriptions_per_connection",
        int,
        100,
        "subscriptions one WebSocket may hold (-32005 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "max_connections",
        int,
        256,
        "concurrent HTTP requests plus open WebSockets (HTTP 503 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "max_call_gas",
        int,
        50_000_000,
        "gas cap of one eth_call / eth_estimateGas (the block gas limit, if lower, caps it too)",
        (21_000, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "max_call_time_ms",
        int,
        5_000,
        "wall-clock budget of one eth_call, or of one eth_estimateGas search (-32000 after)",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "rpc",
        "max_calls",
        int,
        16,
        "eth_call / eth_estimateGas running or waiting at once, node-wide (-32005 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "max_calls_per_client",
        int,
        4,
        "eth_call / eth_estimateGas of one client address running or waiting (-32005 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "allowed_origins",
        list,
        (),
        'browser origins that may call (a request with another Origin gets 403); ["*"]: any',
    ),
    Setting(
        "rpc",
        "allowed_hosts",
        list,
        ("localhost", "127.0.0.1", "::1"),
        'Host header names accepted besides IP addresses and [rpc] host; ["*"]: any',
    ),
    Setting(
        "rpc",
        "read_timeout_ms",
        int,
        10_000,
        "time a client has to send a request's headers, and again its body (HTTP 408 after)",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "rpc",
        "ws_idle_timeout_ms",
        int,
        300_000,
        "a WebSocket with no subscription that sends nothing for this long is closed",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "rpc",
        "connections_per_address",
        int,
        32,
        "HTTP requests in progress plus open WebSockets of one client address (HTTP 503 above)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "rpc",
        "filters_per_client",
        int,
        100,
        "filters one client address may install over HTTP (-32005 above)",
        (1, _MAX_COUNT),
    ),
    Setting("p2p", "host", str, TransportConfig().listen_host, "peer transport listen address"),
    Setting("p2p", "port", int, DEFAULT_P2P_PORT, "peer transport port", _PORTS),
    Setting("p2p", "peers", list, (), 'the other validators\' p2p addresses, ["host:port", ...]'),
    Setting("p2p", "tls_dir", str, "tls", "node.crt, node.key and the consortium's ca.crt"),
    Setting(
        "consensus",
        "signer_state_file",
        str,
        "data/signer-state.json",
        "what this validator last signed (it never signs a conflicting vote after a restart)",
    ),
    Setting(
        "consensus",
        "empty_blocks",
        bool,
        True,
        "propose blocks without transactions (false: wait for transactions)",
    ),
    Setting(
        "consensus",
        "propose_ms",
        int,
        _TIMEOUTS.propose_ms,
        "time to wait for a round's proposal, in ms",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "consensus",
        "propose_delta_ms",
        int,
        _TIMEOUTS.propose_delta_ms,
        "added to propose_ms for each further round, in ms",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "consensus",
        "prevote_ms",
        int,
        _TIMEOUTS.prevote_ms,
        "time to wait after prevotes of a quorum, in ms",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "consensus",
        "prevote_delta_ms",
        int,
        _TIMEOUTS.prevote_delta_ms,
        "added to prevote_ms for each further round, in ms",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "consensus",
        "precommit_ms",
        int,
        _TIMEOUTS.precommit_ms,
        "time to wait after precommits of a quorum, in ms",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "consensus",
        "precommit_delta_ms",
        int,
        _TIMEOUTS.precommit_delta_ms,
        "added to precommit_ms for each further round, in ms",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "consensus",
        "gossip_ms",
        int,
        _TIMEOUTS.gossip_ms,
        "period of re-sending this node's latest consensus messages, in ms",
        (1, _MAX_TIMEOUT_MS),
    ),
    Setting(
        "mempool",
        "max_txs",
        int,
        MAX_POOL_TXS,
        "transactions held (pending + queued)",
        (1, _MAX_COUNT),
    ),
    Setting(
        "mempool",
        "max_bytes",
        int,
        MAX_POOL_BYTES,
        "bytes of raw transactions held",
        (1, _MAX_COUNT),
    ),
    Setting(
        "mempool",
        "max_tx_bytes",
        int,
        MAX_TX_BYTES,
        "largest transaction accepted, in bytes",
        (1, 16 * 2**20),
    ),
    Setting(
        "mempool",
        "max_per_sender",
        int,
        MAX_PER_SENDER,
        "transactions held per sender",
        (1, _MAX_COUNT),
    ),
    Setting(
        "mempool",
        "max_queued_per_sender",
        int,
        MAX_QUEUED_PER_SENDER,
        "transactions one sender may hold behind a nonce gap",
        (0, _MAX_COUNT),
    ),
    Setting(
        "mempool",
        "max_queued_bytes_per_sender",
        int,
        MAX_QUEUED_BYTES_PER_SENDER,
        "bytes one sender may hold behind a nonce gap",
        (0, _MAX_COUNT),
    ),
    Setting(
        "mempool",
        "queued_lifetime_blocks",
        int,
        QUEUED_LIFETIME_BLOCKS,
        "blocks a transaction behind a nonce gap may wait before it is dropped",
        (1, _MAX_COUNT),
    ),
    Setting(
        "mempool",
        "queued_min_gas_price_wei",
        int,
        QUEUED_MIN_GAS_PRICE_WEI,
        "gas price at which a queued transaction's gas is charged against its sender's funds",
        (0, _MAX_COUNT),
    ),
    Setting(
        "block",
        "max_txs",
        int,
        DEFAULT_BLOCK_MAX_TXS,
        "transactions per block (also bounded by the gas limit); a full block is sealed at once",
        (1, 1_000_000),
    ),
    Setting(
        "storage",
        "map_size_gib",
        int,
        DEFAULT_MAP_SIZE_BYTES // _GIB,
        "the store's maximum size in GiB (address space, not disk)",
        (1, 2**20),
    ),
)
"""Every key of node.toml, section by section in the order of :data:`SECTIONS`."""

_BY_NAME: dict[tuple[str, str], Setting] = {(s.section, s.key): s for s in SETTINGS}

RPC_LIMIT_DEFAULTS: Mapping[str, int] = {
    s.key: s.default
    for s in SETTINGS
    if s.section == "rpc" and s.key.startswith("max_") and isinstance(s.default, int)
}
"""The [rpc] bounds (``max_*``) by RpcLimits field name, with the default of each."""

RPC_LIMIT_KEYS = tuple(RPC_LIMIT_DEFAULTS)
"""The [rpc] keys that bound what clients may ask of the node (RpcLimits field names)."""

RPC_ACCESS_KEYS = (
    "allowed_origins",
    "allowed_hosts",
    "read_timeout_ms",
    "ws_idle_timeout_ms",
    "connections_per_address",
    "filters_per_client",
)
"""The [rpc] keys of the transport's access rules (``rpc.server.RpcAccess`` field names)."""

RPC_ACCESS_DEFAULTS: Mapping[str, SettingValue] = {
    key: _BY_NAME["rpc", key].default for key in RPC_ACCESS_KEYS
}
"""The default of each [rpc] access key."""


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
    mempool: MempoolConfig
    """The ``[mempool]`` bounds."""
    block_max_txs: int
    map_size_bytes: int
    p2p_peers: tuple[tuple[str, int], ...]
    """Other validators' p2p addresses as (host, port)."""
    tls_dir: Path
    signer_state_file: Path
    empty_blocks: bool
    timeouts: TimeoutConfig
    rpc_limits: tuple[tuple[str, int], ...]
    """[rpc] bounds by RpcLimits field name (the RPC layer builds RpcLimits from them)."""
    rpc_access: tuple[tuple[str, SettingValue], ...] = ()
    """[rpc] access rules by RpcAccess field name (lists as tuples); empty: the defaults."""

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


def parse_config(document: dict[str, Any], *, root: Path, source: str = "node.toml") -> NodeConfig:
    """Merge ``document`` over the defaults and validate every value."""
    values = _merge(document, source)

    def path(section: str, key: str) -> Path:
        return (root / str(values[section, key])).resolve()

    def peer(entry: object) -> tuple[str, int]:
        host, _, port_text = str(entry).rpartition(":")
        if not isinstance(entry, str) or not host or not port_text.isdigit():
            raise ConfigError(f'{source}: [p2p] peers entries must be "host:port", got {entry!r}')
        if not 1 <= int(port_text) <= 65_535:
            raise ConfigError(f"{source}: [p2p] peer port out of range in {entry!r}")
        return host, int(port_text)

    return NodeConfig(
        root=root,
        name=str(values["node", "name"]),
        data_dir=path("node", "data_dir"),
        key_file=path("node", "key_file"),
        password_file=path("node", "password_file"),
        log_file=path("node", "log_file"),
        rpc_host=str(values["rpc", "host"]),
        rpc_port=values["rpc", "port"],
        p2p_host=str(values["p2p", "host"]),
        p2p_port=values["p2p", "port"],
        mempool=MempoolConfig(
            max_tx_bytes=values["mempool", "max_tx_bytes"],
            max_pool_txs=values["mempool", "max_txs"],
            max_pool_bytes=values["mempool", "max_bytes"],
            max_per_sender=values["mempool", "max_per_sender"],
            max_queued_per_sender=values["mempool", "max_queued_per_sender"],
            max_queued_bytes_per_sender=values["mempool", "max_queued_bytes_per_sender"],
            queued_lifetime_blocks=values["mempool", "queued_lifetime_blocks"],
            queued_min_gas_price_wei=values["mempool", "queued_min_gas_price_wei"],
        ),
        block_max_txs=values["block", "max_txs"],
        map_size_bytes=values["storage", "map_size_gib"] * _GIB,
        p2p_peers=tuple(peer(entry) for entry in values["p2p", "peers"]),
        tls_dir=path("p2p", "tls_dir"),
        signer_state_file=path("consensus", "signer_state_file"),
        empty_blocks=bool(values["consensus", "empty_blocks"]),
        timeouts=TimeoutConfig(
            propose_ms=values["consensus", "propose_ms"],
            propose_delta_ms=values["consensus", "propose_delta_ms"],
            prevote_ms=values["consensus", "prevote_ms"],
            prevote_delta_ms=values["consensus", "prevote_delta_ms"],
            precommit_ms=values["consensus", "precommit_ms"],
            precommit_delta_ms=values["consensus", "precommit_delta_ms"],
            gossip_ms=values["consensus", "gossip_ms"],
        ),
        rpc_limits=tuple((key, values["rpc", key]) for key in RPC_LIMIT_KEYS),
        rpc_access=tuple(
            (key, tuple(value) if isinstance(value := values["rpc", key], list) else value)
            for key in RPC_ACCESS_KEYS
        ),
    )


def render_config(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The text of a node.toml setting every key, to ``overrides[section][key]`` or its default.

    Each section and key is written under a comment from its doc. Raise
    :class:`ConfigError` when an override names an unknown key or has a bad value,
    exactly as :func:`parse_config` would for the written file.
    """
    given = {section: dict(keys) for section, keys in (overrides or {}).items()}
    _merge(given, "render_config overrides")
    lines = [
        "# BayChain node configuration; every key is explained in docs/configuration.md.",
        "# Every key is optional: the values shown are the defaults unless init chose",
        "# otherwise. Paths are relative to this file.",
    ]
    for section, section_doc in SECTIONS.items():
        lines += ["", f"# {section_doc}", f"[{section}]"]
        for setting in SETTINGS:
            if setting.section == section:
                value = given.get(section, {}).get(setting.key, setting.default)
                lines += [f"# {setting.doc}", f"{setting.key} = {_toml_value(value)}"]
    return "\n".join(lines) + "\n"


def _merge(document: Mapping[str, Any], source: str) -> dict[tuple[str, str], Any]:
    """Every setting's value: from ``document`` where given, else its default; all checked."""
    values: dict[tuple[str, str], Any] = {(s.section, s.key): s.default for s in SETTINGS}
    for section, keys in document.items():
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{section}]")
        if not isinstance(keys, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        for key, value in keys.items():
            setting = _BY_NAME.get((section, key))
            if setting is None:
                raise ConfigError(f"{source}: unknown key {key!r} in [{section}]")
            expected = setting.value_type
            wrong_bool = isinstance(value, bool) and expected is not bool
            if not isinstance(value, expected) or wrong_bool:
                raise ConfigError(f"{source}: [{section}] {key} must be a {expected.__name__}")
            values[section, key] = value
    for setting in SETTINGS:
        if setting.bounds is not None:
            least, greatest = setting.bounds
            if not least <= values[setting.section, setting.key] <= greatest:
                raise ConfigError(
                    f"{source}: [{setting.section}] {setting.key} must be between "
                    f"{least} and {greatest}"
                )
    return values


def _toml_value(value: object) -> str:
    """``value`` as TOML: a basic string, an integer, a boolean or an array of strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string without ASCII escaping is a valid TOML basic string.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")
