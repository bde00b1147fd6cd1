"""The node settings table: the one source of node.toml's keys, defaults, bounds and docs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from baychain.consensus.config import TimeoutConfig
from baychain.errors import ConfigError
from baychain.node.host.datadir import (
    DEFAULT_BLOCK_GAS_LIMIT,
    DEFAULT_BLOCK_INTERVAL_MS,
    DEFAULT_CHAIN_ID,
    DEFAULT_HARDFORK,
)
from baychain.node.host.settings import (
    SECTIONS,
    SETTINGS,
    Setting,
    parse_config,
    render_config,
)
from baychain.node.localnet.network_dir import render_network_config
from baychain.node.pool.config import MempoolConfig
from baychain.rpc.limits import RpcLimits

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def rendered_defaults() -> dict[tuple[str, str], str]:
    """(section, key) -> each default as a fresh node.toml writes it (``"data"``, ``true``)."""
    values: dict[tuple[str, str], str] = {}
    section = ""
    for line in render_config().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith("#"):
            key, value = line.split(" = ", 1)
            values[section, key] = value
    return values


def documented_rows() -> dict[tuple[str, str], tuple[str, str]]:
    """(section, key) -> (default, range) of each row of the node.toml table in the docs."""
    text = DOC.read_text().split("## node.toml", 1)[1]
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    section = ""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 5 or cells[1] in ("key", "---"):
            continue
        if cells[0]:
            section = cells[0].strip("`[]")
        key = cells[1].strip("`")
        assert (section, key) not in rows, f"docs list [{section}] {key} twice"
        rows[section, key] = (cells[2].strip("`"), cells[3])
    return rows


def test_every_setting_is_documented_with_its_default_and_range() -> None:
    rows = documented_rows()
    rendered = rendered_defaults()
    table = {(s.section, s.key): s for s in SETTINGS}
    assert sorted(set(table) - set(rows)) == [], "settings missing from docs/configuration.md"
    assert sorted(set(rows) - set(table)) == [], "docs/configuration.md lists unknown keys"
    for name, setting in table.items():
        default, bounds = rows[name]
        assert default == rendered[name], f"docs give another default for {name}"
        expected = f"{setting.bounds[0]}–{setting.bounds[1]}" if setting.bounds else ""
        assert bounds == expected, f"docs give another range for {name}"


def test_the_genesis_defaults_in_the_docs_are_init_s() -> None:
    text = DOC.read_text().split("## node.toml", 1)[0]
    row = re.compile(r"^\| `(\w+)` \|[^|]*\| ([^|]*) \|$", re.M)
    rows = {match[1]: match[2] for match in row.finditer(text)}
    assert rows["chain_id"].startswith(f"{DEFAULT_CHAIN_ID} ")
    assert rows["hardfork"] == f"`{DEFAULT_HARDFORK}`"
    assert rows["block_gas_limit"] == f"{DEFAULT_BLOCK_GAS_LIMIT:,}"
    assert rows["block_interval_ms"].startswith(f"{DEFAULT_BLOCK_INTERVAL_MS} ")


def test_the_table_is_consistent() -> None:
    assert [s.section for s in SETTINGS] == sorted(
        (s.section for s in SETTINGS), key=list(SECTIONS).index
    ), "settings are grouped by section, in the order of SECTIONS"
    assert len({(s.section, s.key) for s in SETTINGS}) == len(SETTINGS)
    for setting in SETTINGS:
        assert setting.doc and "\n" not in setting.doc
        if setting.bounds is not None:
            assert isinstance(setting.default, int) and setting.value_type is int
            assert setting.bounds[0] <= setting.default <= setting.bounds[1]
        if setting.value_type is list:
            assert isinstance(setting.default, tuple)
        else:
            assert type(setting.default) is setting.value_type


def test_a_rendered_file_sets_every_key_to_its_default() -> None:
    text = render_config()
    document = tomllib.loads(text)
    assert {(section, key) for section, keys in document.items() for key in keys} == {
        (s.section, s.key) for s in SETTINGS
    }
    for setting in SETTINGS:
        assert f"# {setting.doc}\n{setting.key} = " in text
    root = Path("/chain")
    assert parse_config(document, root=root) == parse_config({}, root=root)


def test_overrides_are_rendered_and_checked() -> None:
    text = render_config({"node": {"name": 'n "1"'}, "rpc": {"port": 9000}})
    config = parse_config(tomllib.loads(text), root=Path("/chain"))
    assert (config.name, config.rpc_port) == ('n "1"', 9000)
    with pytest.raises(ConfigError, match="unknown key 'prot'"):
        render_config({"rpc": {"prot": 9000}})
    with pytest.raises(ConfigError, match=r"\[rpc\] port must be between 0 and 65535"):
        render_config({"rpc": {"port": 70_000}})


def test_a_network_node_toml_names_its_peers_and_tls_dir() -> None:
    root = Path("/net/node1")
    peers = ["127.0.0.1:30300", "127.0.0.1:30302"]
    config = parse_config(
        tomllib.loads(render_network_config("node1", 8546, 30301, peers)), root=root
    )
    assert (config.name, config.rpc_port, config.p2p_port) == ("node1", 8546, 30301)
    assert config.p2p_peers == (("127.0.0.1", 30300), ("127.0.0.1", 30302))
    assert config.tls_dir == root / "tls"
    solo = parse_config(tomllib.loads(render_network_config("node0", 8545, 30300, [])), root=root)
    assert solo.p2p_peers == ()


def test_defaults_owned_elsewhere_are_the_table_s() -> None:
    config = parse_config({}, root=Path("/chain"))
    assert config.timeouts == TimeoutConfig()
    assert RpcLimits(**dict(config.rpc_limits)) == RpcLimits()
    pool = MempoolConfig()
    assert (
        config.mempool.max_pool_txs,
        config.mempool.max_pool_bytes,
        config.mempool.max_tx_bytes,
        config.mempool.max_per_sender,
    ) == (pool.max_pool_txs, pool.max_pool_bytes, pool.max_tx_bytes, pool.max_per_sender)


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.bounds], ids=lambda s: s.key)
def test_each_bound_is_enforced_with_the_same_message(setting: Setting) -> None:
    assert setting.bounds is not None
    least, greatest = setting.bounds
    message = rf"\[{setting.section}\] {setting.key} must be between {least} and {greatest}"
    for value in (least - 1, greatest + 1):
        with pytest.raises(ConfigError, match=message):
            parse_config({setting.section: {setting.key: value}}, root=Path("/chain"))
    parse_config({setting.section: {setting.key: greatest}}, root=Path("/chain"))
