"""genesis.json and node.toml: good files load, bad ones are refused naming the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from baychain.crypto import get_suite
from baychain.errors import ConfigError, GenesisError
from baychain.node.genesis import load_genesis, parse_genesis
from baychain.node.host.datadir import init_node_dir, load_validator_key
from baychain.node.host.settings import load_config, parse_config, render_config

SUITE = get_suite("sm")
PUBLIC_KEY = SUITE.public_key(b"\x01" * 32)


def good_genesis() -> dict[str, Any]:
    return {
        "chain_id": 7,
        "crypto": "sm",
        "hardfork": "cancun",
        "block_gas_limit": 30_000_000,
        "base_fee_per_gas": 0,
        "block_interval_ms": 500,
        "validators": [{"name": "a", "public_key": "0x" + PUBLIC_KEY.hex(), "power": 1}],
        "alloc": {"0x" + "11" * 20: {"balance": "0x10", "storage": {"0x1": "0x2"}}},
    }


def test_a_valid_genesis_round_trips_through_json() -> None:
    genesis = parse_genesis(good_genesis())
    assert genesis.validators[0].address == SUITE.address(PUBLIC_KEY)
    assert genesis.alloc[0][1].storage == ((1, 2),)
    assert parse_genesis(json.loads(json.dumps(genesis.to_json()))) == genesis


@pytest.mark.parametrize(
    "field", ["chain_id", "crypto", "hardfork", "block_gas_limit", "base_fee_per_gas",
              "block_interval_ms", "validators", "alloc"],
)
def test_a_missing_field_is_named(field: str) -> None:
    document = good_genesis()
    del document[field]
    with pytest.raises(GenesisError, match=field):
        parse_genesis(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"crypto": "rsa"}, "crypto must be one of"),
        ({"hardfork": "london"}, "hardfork must be one of"),
        ({"chain_id": 0}, "chain_id must be between"),
        ({"chain_id": "seven"}, "chain_id must be an integer"),
        ({"validators": []}, "at least one validator"),
        ({"validators": [{"public_key": "0x1234"}]}, "64 bytes"),
        ({"alloc": {"0x12": {"balance": 1}}}, "20 bytes"),
        ({"alloc": {"0x" + "11" * 20: {}}}, "balance"),
    ],
)
def test_malformed_fields_are_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    document = good_genesis() | change
    with pytest.raises(GenesisError, match=message):
        parse_genesis(document)


def test_genesis_file_errors_say_which_file(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="not found"):
        load_genesis(tmp_path / "missing.json")
    broken = tmp_path / "genesis.json"
    broken.write_text("{ not json")
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_genesis(broken)


def test_config_defaults_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    overrides = {"node": {"name": "n1"}, "rpc": {"port": 9000}, "p2p": {"port": 9001}}
    path.write_text(render_config(overrides))
    config = load_config(path)
    assert (config.rpc_port, config.p2p_port, config.name) == (9000, 9001, "n1")
    assert config.data_dir == tmp_path / "data"
    with pytest.raises(ConfigError, match="unknown key 'prot'"):
        parse_config({"rpc": {"prot": 1}}, root=tmp_path)
    with pytest.raises(ConfigError, match="unknown section"):
        parse_config({"rcp": {}}, root=tmp_path)
    with pytest.raises(ConfigError, match="port must be between"):
        parse_config({"rpc": {"port": 70000}}, root=tmp_path)
    with pytest.raises(ConfigError, match="must be a int"):
        parse_config({"rpc": {"port": "8545"}}, root=tmp_path)


def test_init_writes_a_chain_and_refuses_to_overwrite_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BAYCHAIN_KEY_PASSWORD", raising=False)
    result = init_node_dir(tmp_path / "c", crypto="sm", dev_accounts=3)
    genesis = load_genesis(tmp_path / "c" / "genesis.json")
    assert genesis == result.genesis
    assert len(genesis.alloc) == 3
    accounts = json.loads((tmp_path / "c" / "dev-accounts.json").read_text())["accounts"]
    assert {a["address"] for a in accounts} == {"0x" + a.hex() for a, _ in genesis.alloc}
    assert (tmp_path / "c" / "keys" / "password").stat().st_mode & 0o777 == 0o600
    config = load_config(tmp_path / "c" / "node.toml")
    key = load_validator_key(config, "sm")
    assert SUITE.address(SUITE.public_key(key)) == genesis.validators[0].address
    with pytest.raises(ConfigError, match="already holds a chain"):
        init_node_dir(tmp_path / "c", crypto="sm")


def test_rpc_limits_come_from_node_toml(tmp_path: Path) -> None:
    from baychain.rpc.limits import RpcLimits

    defaults = parse_config({}, root=tmp_path)
    assert RpcLimits(**dict(defaults.rpc_limits)) == RpcLimits()
    tuned = parse_config({"rpc": {"max_batch_length": 5, "max_connections": 9}}, root=tmp_path)
    limits = RpcLimits(**dict(tuned.rpc_limits))
    assert (limits.max_batch_length, limits.max_connections) == (5, 9)
    with pytest.raises(ConfigError, match="max_batch_length must be between 1"):
        parse_config({"rpc": {"max_batch_length": 0}}, root=tmp_path)


def test_other_number_forms_parse_like_the_canonical_hex() -> None:
    canonical = good_genesis() | {"alloc": {
        "0x" + "11" * 20: {"balance": "0x10"},
        "0x" + "22" * 20: {"balance": "0x10"},
        "0x" + "33" * 20: {"balance": "0x0", "storage": {"0x1": "0xff", "0x2": "0x0"}},
    }}
    other = good_genesis() | {"alloc": {
        "0X" + "11" * 20: {"balance": 16},
        "22" * 20: {"balance": "16", "nonce": 0},
        "0x" + "33" * 20: {"balance": 0, "storage": {"1": 255, "0x2": "0"}},
    }}
    parsed = parse_genesis(canonical)
    assert parsed == parse_genesis(other)
    assert parsed.alloc[0][1] is parsed.alloc[1][1]  # equal balance-only entries are shared
    assert parsed.alloc[2][1].storage == ((1, 255),)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"balance": "0xzz"}, r"alloc\[0x1111111111111111111111111111111111111111\].balance"),
        ({"balance": "0x1" + "0" * 64}, "balance or nonce out of range"),
        ({"balance": "0x1", "storage": {"0x1": "0x1" + "0" * 64}}, "uint256 range"),
        ({"balance": "0x1", "storage": {"0xq": "0x1"}}, "storage key"),
        ({"balance": "0x1", "storage": []}, "slot -> value"),
        ("0x1", "must be an object"),
    ],
)
def test_bad_alloc_entries_are_named(entry: Any, message: str) -> None:
    with pytest.raises(GenesisError, match=message):
        parse_genesis(good_genesis() | {"alloc": {"0x" + "11" * 20: entry}})


def test_an_address_written_twice_is_refused() -> None:
    alloc = {"0x" + "ab" * 20: {"balance": "0x1"}, "0x" + "AB" * 20: {"balance": "0x1"}}
    with pytest.raises(GenesisError, match="appears twice"):
        parse_genesis(good_genesis() | {"alloc": alloc})
    with pytest.raises(GenesisError, match="not valid hex"):
        parse_genesis(good_genesis() | {"alloc": {"0x" + "zz" * 20: {"balance": "0x1"}}})


def test_secrets_are_written_owner_only_and_a_password_file_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from baychain.node.localnet.network_dir import init_network_dir

    def mode(path: Path) -> int:
        return path.stat().st_mode & 0o777

    monkeypatch.delenv("BAYCHAIN_KEY_PASSWORD", raising=False)
    with caplog.at_level("WARNING", logger="baychain.node"):
        init_node_dir(tmp_path / "c", crypto="ecdsa", dev_accounts=2)
    chain = tmp_path / "c"
    assert mode(chain / "dev-accounts.json") == 0o600
    assert (mode(chain / "keys" / "validator.json"), mode(chain / "keys" / "password")) == (
        0o600,
        0o600,
    )
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warning) == 1 and str(chain / "keys" / "password") in warning[0]
    assert "BAYCHAIN_KEY_PASSWORD" in warning[0]

    caplog.clear()
    monkeypatch.setenv("BAYCHAIN_KEY_PASSWORD", "from the environment")
    with caplog.at_level("WARNING", logger="baychain.node"):
        init_node_dir(tmp_path / "e", crypto="ecdsa")
    assert not (tmp_path / "e" / "keys" / "password").exists()
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []

    net = tmp_path / "net"
    init_network_dir(net, nodes=2, crypto="ecdsa", dev_accounts=2)
    assert mode(net / "dev-accounts.json") == 0o600
    assert mode(net / "ca" / "ca.key") == 0o600
    for node in ("node0", "node1"):
        assert mode(net / node / "tls" / "node.key") == 0o600
        assert mode(net / node / "keys" / "validator.json") == 0o600
