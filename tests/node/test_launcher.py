"""`baychain up` / `down`: the network directory, network.json and real node processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from baychain.crypto import dev_private_keys, get_suite
from baychain.errors import ConfigError, LaunchError
from baychain.node.host.datadir import load_validator_key
from baychain.node.host.settings import load_config, parse_config
from baychain.node.localnet.launcher import check_ports_free, down, running_pids
from baychain.node.localnet.network_dir import init_network_dir, read_network_dir
from baychain.node.localnet.processes import free_port_base

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port_range(count: int) -> int:
    """A base port such that ``base .. base+count-1`` are free on loopback right now."""
    return free_port_base(count)


def baychain(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the command line in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "baychain", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(SRC)),
    )


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys under a password file, as `baychain up` makes them (not the environment)."""
    monkeypatch.delenv("BAYCHAIN_KEY_PASSWORD", raising=False)


def test_layout_has_one_genesis_whose_validators_are_the_node_keys(
    tmp_path: Path, password: None
) -> None:
    layout = init_network_dir(tmp_path / "net", nodes=4, crypto="sm", dev_accounts=3)
    root = tmp_path / "net"
    suite = get_suite("sm")
    genesis_text = (root / "genesis.json").read_text()
    assert [v.name for v in layout.genesis.validators] == ["node0", "node1", "node2", "node3"]
    for index, validator in enumerate(layout.genesis.validators):
        node_dir = root / f"node{index}"
        assert (node_dir / "genesis.json").read_text() == genesis_text
        config = load_config(node_dir / "node.toml")
        key = load_validator_key(config, "sm")
        assert suite.public_key(key) == validator.public_key
        assert (node_dir / "data").is_dir() and (node_dir / "logs").is_dir()
    funded = {address for address, _ in layout.genesis.alloc}
    expected = {suite.address(suite.public_key(k)) for k in dev_private_keys("sm", 3)}
    assert funded == expected == {a.address for a in layout.dev_accounts}


def test_each_node_gets_its_ports_and_every_other_node_as_a_peer(
    tmp_path: Path, password: None
) -> None:
    init_network_dir(
        tmp_path / "net", nodes=4, crypto="ecdsa", base_rpc_port=9000, base_p2p_port=9100
    )
    all_p2p = {f"127.0.0.1:{9100 + i}" for i in range(4)}
    for index in range(4):
        document = tomllib.loads((tmp_path / "net" / f"node{index}" / "node.toml").read_text())
        assert document["rpc"]["port"] == 9000 + index
        assert document["p2p"]["port"] == 9100 + index
        assert set(document["p2p"]["peers"]) == all_p2p - {f"127.0.0.1:{9100 + index}"}
        assert document["p2p"]["tls_dir"] == "tls"
        assert document["consensus"]["signer_state_file"] == "data/signer-state.json"
        config = load_config(tmp_path / "net" / f"node{index}" / "node.toml")
        assert set(config.p2p_peers) == {("127.0.0.1", 9100 + i) for i in range(4) if i != index}
        assert config.tls_dir == (tmp_path / "net" / f"node{index}" / "tls").resolve()


def test_node_certificates_verify_against_the_consortium_ca(tmp_path: Path, password: None) -> None:
    init_network_dir(tmp_path / "net", nodes=3, crypto="ecdsa", dev_accounts=0)
    root = tmp_path / "net"
    ca = x509.load_pem_x509_certificate((root / "ca" / "ca.crt").read_bytes())
    ca_key = ca.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    assert oct((root / "ca" / "ca.key").stat().st_mode & 0o777) == "0o600"
    for index in range(3):
        tls = root / f"node{index}" / "tls"
        certificate = x509.load_pem_x509_certificate((tls / "node.crt").read_bytes())
        certificate.verify_directly_issued_by(ca)
        assert (tls / "ca.crt").read_bytes() == (root / "ca" / "ca.crt").read_bytes()
        assert oct((tls / "node.key").stat().st_mode & 0o777) == "0o600"


def test_one_node_is_a_plain_solo_chain(tmp_path: Path, password: None) -> None:
    layout = init_network_dir(tmp_path / "solo", nodes=1, crypto="ecdsa")
    node_dir = tmp_path / "solo" / "node0"
    config = parse_config(tomllib.loads((node_dir / "node.toml").read_text()), root=node_dir)
    assert config.rpc_port == 8545 and config.p2p_port == 30300
    assert len(layout.genesis.validators) == 1
    assert not (node_dir / "tls").exists() and not (tmp_path / "solo" / "ca").exists()


def test_refuses_to_overwrite_a_network(tmp_path: Path, password: None) -> None:
    init_network_dir(tmp_path / "net", nodes=2, crypto="ecdsa")
    before = (tmp_path / "net" / "genesis.json").read_text()
    with pytest.raises(ConfigError, match="not empty"):
        init_network_dir(tmp_path / "net", nodes=2, crypto="ecdsa")
    assert (tmp_path / "net" / "genesis.json").read_text() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nodes": 0}, "--nodes"),
        ({"nodes": 2, "base_rpc_port": 9000, "base_p2p_port": 9001}, "overlap"),
        ({"nodes": 2, "base_rpc_port": 65_535}, "--base-rpc-port"),
    ],
)
def test_rejects_bad_arguments(
    tmp_path: Path, password: None, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        init_network_dir(tmp_path / "net", crypto="ecdsa", **options)
    assert not (tmp_path / "net").exists()


def test_read_network_dir_gives_back_what_init_made(tmp_path: Path, password: None) -> None:
    made = init_network_dir(tmp_path / "net", nodes=3, crypto="sm", base_rpc_port=7000)
    assert read_network_dir(tmp_path / "net") == made


def test_network_json_shape(tmp_path: Path, password: None) -> None:
    layout = init_network_dir(
        tmp_path / "net", nodes=2, crypto="ecdsa", dev_accounts=2, base_rpc_port=9000
    )
    document = layout.document({"node0": 1234})
    assert document["chain_id"] == layout.genesis.chain_id and document["crypto"] == "ecdsa"
    first, second = document["nodes"]
    assert first == {
        "name": "node0",
        "role": "validator",
        "rpc": "http://127.0.0.1:9000",
        "ws": "ws://127.0.0.1:9000",
        "p2p": "127.0.0.1:30300",
        "pid": 1234,
        "dir": str(tmp_path / "net" / "node0"),
    }
    assert second["pid"] is None
    suite = get_suite("ecdsa")
    for account in document["dev_accounts"]:
        key = bytes.fromhex(account["private_key"][2:])
        assert account["address"] == "0x" + suite.address(suite.public_key(key)).hex()
    json.dumps(document)


def test_a_port_in_use_is_named_before_anything_starts(tmp_path: Path, password: None) -> None:
    base = free_port_range(4)
    layout = init_network_dir(
        tmp_path / "net", nodes=2, crypto="ecdsa", base_rpc_port=base, base_p2p_port=base + 2
    )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", base + 3))
        busy.listen()
        with pytest.raises(LaunchError, match=f"node1's p2p port 127.0.0.1:{base + 3} is in use"):
            check_ports_free(layout)


def test_down_never_signals_a_pid_that_is_not_the_node(tmp_path: Path, password: None) -> None:
    layout = init_network_dir(tmp_path / "net", nodes=1, crypto="ecdsa")
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "net" / "network.json").write_text(
            json.dumps(layout.document({"node0": stranger.pid}))
        )
        assert running_pids(tmp_path / "net") == {}
        [report] = down(tmp_path / "net", timeout_s=1)
        assert report.outcome == "not running"
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_down_without_network_json_says_nothing_was_started(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="nothing was started"):
        down(tmp_path)


def test_up_one_node_detached_then_down(tmp_path: Path, password: None) -> None:
    base = free_port_range(2)
    net = tmp_path / "net"
    started = baychain(
        "up", "--nodes", "1", "--detach", "--dir", str(net), "--block-interval-ms", "200",
        "--base-rpc-port", str(base), "--base-p2p-port", str(base + 1),
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "DEVELOPMENT KEYS" in started.stdout
        assert f"http://127.0.0.1:{base}" in started.stdout
        document = json.loads((net / "network.json").read_text())
        pid = document["nodes"][0]["pid"]
        assert running_pids(net) == {"node0": pid}
        again = baychain("up", "--dir", str(net), "--detach")
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        stopped = baychain("down", "--dir", str(net))
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "node0: stopped" in stopped.stdout
    assert not Path(f"/proc/{pid}").exists() or running_pids(net) == {}
    assert json.loads((net / "network.json").read_text())["nodes"][0]["pid"] is None
    restarted = baychain("up", "--dir", str(net), "--detach")
    try:
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert "Restarting" in restarted.stdout
    finally:
        assert baychain("down", "--dir", str(net)).returncode == 0


def test_up_reports_a_node_that_exits_at_start(tmp_path: Path, password: None) -> None:
    base = free_port_range(2)
    net = tmp_path / "net"
    init_network_dir(net, nodes=1, crypto="ecdsa", base_rpc_port=base, base_p2p_port=base + 1)
    (net / "node0" / "keys" / "password").write_text("not the password\n")
    result = baychain("up", "--dir", str(net), "--timeout", "60")
    assert result.returncode == 1
    assert "node0 exited during start" in result.stderr
    assert "stdout.log" in result.stderr


def test_up_in_the_foreground_stops_every_node_on_ctrl_c(tmp_path: Path, password: None) -> None:
    base = free_port_range(2)
    net = tmp_path / "net"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "baychain", "up", "--nodes", "1", "--dir", str(net),
         "--block-interval-ms", "200", "--base-rpc-port", str(base),
         "--base-p2p-port", str(base + 1)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONPATH=str(SRC), PYTHONUNBUFFERED="1"),
    )  # fmt: skip
    assert launcher.stdout is not None
    seen = []
    try:
        for line in launcher.stdout:
            seen.append(line)
            if "Press Ctrl-C" in line:
                break
        pid = json.loads((net / "network.json").read_text())["nodes"][0]["pid"]
        assert running_pids(net) == {"node0": pid}, "".join(seen)
        launcher.send_signal(signal.SIGINT)
        rest, _ = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            down(net, timeout_s=5)
    assert launcher.returncode == 0, "".join(seen) + rest
    assert "node0 stopped" in rest
    assert running_pids(net) == {}
    assert json.loads((net / "network.json").read_text())["nodes"][0]["pid"] is None
