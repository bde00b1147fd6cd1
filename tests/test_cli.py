"""The `baychain` command line as a user runs it: init, node, status, and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from baychain.crypto import dev_private_keys
from baychain.node.localnet.processes import free_port_base
from baychain.sdk.client import Client, Signer


def baychain(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baychain", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the ephemeral range."""
    return free_port_base(1)


def test_init_node_status_on_an_sm_chain(tmp_path: Path) -> None:
    directory = tmp_path / "mychain"
    port = free_port()
    made = baychain("init", "--dir", str(directory), "--crypto", "sm", "--dev-accounts", "5",
                    "--block-interval-ms", "200", "--rpc-port", str(port))
    assert made.returncode == 0, made.stderr
    assert "DEVELOPMENT ACCOUNTS" in made.stdout
    accounts = json.loads((directory / "dev-accounts.json").read_text())["accounts"]
    assert len(accounts) == 5
    assert accounts[0]["private_key"] == "0x" + dev_private_keys("sm", 1)[0].hex()

    node = subprocess.Popen(
        [sys.executable, "-m", "baychain", "node", "--dir", str(directory)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        client = Client(f"http://127.0.0.1:{port}", timeout_s=5)
        deadline = time.monotonic() + 60
        while not client.is_up():
            assert node.poll() is None and time.monotonic() < deadline, "node did not start"
            time.sleep(0.1)
        signer = Signer.from_key("sm", dev_private_keys("sm", 1)[0])
        raw = signer.sign(chain_id=client.chain_id(), nonce=0, to=signer.address[::-1], value=5)
        receipt = client.wait_for_receipt(client.send_raw(raw))
        assert receipt["status"] == "0x1"
        assert client.balance(signer.address[::-1]) == 5

        status = baychain("status", "--dir", str(directory), "--json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["crypto"] == "sm" and report["chain_id"] == client.chain_id()
        assert report["height"] >= int(receipt["blockNumber"], 16)
        assert report["head_hash"].startswith("0x") and len(report["state_root"]) == 66
    finally:
        node.terminate()
        output, _ = node.communicate(timeout=30)
    assert node.returncode == 0, output
    assert "node stopped at height" in output
    assert "Traceback" not in output


def test_expected_errors_are_one_clear_line_without_traceback(tmp_path: Path) -> None:
    missing = baychain("status", "--dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert "baychain init" in missing.stderr and "Traceback" not in missing.stderr

    directory = tmp_path / "c"
    assert baychain("init", "--dir", str(directory)).returncode == 0
    again = baychain("init", "--dir", str(directory))
    assert again.returncode == 1 and "already holds a chain" in again.stderr

    genesis = json.loads((directory / "genesis.json").read_text())
    del genesis["hardfork"]
    (directory / "genesis.json").write_text(json.dumps(genesis))
    broken = baychain("status", "--dir", str(directory))
    assert broken.returncode == 1
    assert "hardfork" in broken.stderr and "Traceback" not in broken.stderr


@pytest.mark.parametrize("damage", ["overwritten", "truncated"])
def test_a_damaged_store_is_refused_and_left_alone(tmp_path: Path, damage: str) -> None:
    directory = tmp_path / "c"
    assert baychain("init", "--dir", str(directory)).returncode == 0
    assert baychain("status", "--dir", str(directory)).returncode == 0
    data_file = directory / "data" / "data.mdb"
    if damage == "overwritten":
        data_file.write_bytes(b"\x00not an lmdb file" * 512)
    else:  # a copy that stopped half-way: LMDB alone would die of SIGBUS reading it
        os.truncate(data_file, data_file.stat().st_size // 2)
    damaged = data_file.read_bytes()
    result = baychain("status", "--dir", str(directory))
    assert result.returncode == 1, result.stderr
    assert "ledger store" in result.stderr and "Traceback" not in result.stderr
    assert data_file.read_bytes() == damaged
