"""Four BFT validators as real processes (`baychain up --nodes 4 --detach`) on loopback.

One network serves the module. The fault scenario runs as one test because each
step starts from the state the previous one left (which nodes are up):

1. load is committed by all four;
2. SIGKILL one validator: the other three (> 2/3) keep committing;
3. restart it: it catches up to the others' blocks (same hashes);
4. stop a second validator: the chain still commits, which needs the restarted
   node's votes (3 of 4), so it votes again;
5. with two of four down no block commits; restoring one resumes commits;
6. every node holds the same block at every height (no fork).

Waits poll with generous deadlines; the only fixed wait is the "no block commits"
window of step 5, which is what that step measures.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from baychain.network.pki import (
    CertifiedKey,
    create_consortium_ca,
    issue_node_certificate,
    write_tls_files,
)
from baychain.node.localnet.processes import free_port_base
from baychain.primitives import Address
from baychain.sdk.client import Client, Signer

SRC = Path(__file__).resolve().parents[2] / "src"

WAIT_S = 90.0
"""Deadline of any single wait for progress (a slow, shared CI machine)."""
NO_COMMIT_WINDOW_S = 6.0
"""How long the chain must stay still with two of four validators down."""


def _free_base(count: int) -> int:
    return free_port_base(count)


def _environment() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONUNBUFFERED="1")
    env.pop("BAYCHAIN_KEY_PASSWORD", None)
    return env


@dataclass
class Network:
    """The running network: its directory, each node's RPC client and process id."""

    directory: Path
    clients: list[Client]
    pids: list[int]
    chain_id: int
    crypto: str
    dev_keys: list[bytes]
    restarted: list[subprocess.Popen[bytes]]

    def height(self, index: int) -> int | None:
        try:
            return self.clients[index].block_number()
        except OSError:
            return None

    def block_hash(self, index: int, height: int) -> str:
        block = self.clients[index].call("eth_getBlockByNumber", hex(height), False)
        return str(block["hash"])

    def kill(self, index: int, signum: int = signal.SIGKILL) -> None:
        """Signal node ``index`` and wait until its process is gone (SIGKILL after 20 s)."""
        pid = self.pids[index]
        os.kill(pid, signum)
        deadline = time.monotonic() + 20.0
        while _alive(pid, self.restarted):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + WAIT_S
            time.sleep(0.05)

    def stable_height(self, indexes: tuple[int, ...], settle_s: float = 1.5) -> int:
        """The height the given nodes agree on and keep for ``settle_s`` (in-flight votes land)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            heights = {self.height(i) for i in indexes}
            if len(heights) == 1 and None not in heights:
                [height] = heights
                time.sleep(settle_s)
                if {self.height(i) for i in indexes} == {height}:
                    assert height is not None
                    return height
            time.sleep(0.1)
        raise AssertionError(f"nodes {indexes} did not settle on a height\n{self.log_tails()}")

    def restart(self, index: int) -> None:
        node_dir = self.directory / f"node{index}"
        with (node_dir / "logs" / "stdout.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "baychain", "node", "--dir", str(node_dir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_environment(),
                start_new_session=True,
            )
        self.restarted.append(process)
        self.pids[index] = process.pid
        _wait_for(lambda: self.height(index) is not None, f"node{index} to answer JSON-RPC")

    def wait_for_height(self, index: int, target: int) -> None:
        _wait_for(
            lambda: (self.height(index) or -1) >= target,
            f"node{index} to reach height {target}",
            self.directory,
        )

    def log_tails(self) -> str:
        return "\n".join(
            f"== node{i}\n" + _tail(self.directory / f"node{i}" / "logs" / "stdout.log")
            for i in range(len(self.clients))
        )


def _alive(pid: int, children: list[subprocess.Popen[bytes]]) -> bool:
    """True while ``pid`` runs (a zombie counts as gone; our own children are reaped)."""
    for child in children:
        if child.pid == pid:
            return child.poll() is None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_for(condition: Callable[[], bool], what: str, directory: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            logs = ""
            if directory is not None:
                logs = "\n".join(_tail(p) for p in sorted(directory.glob("node*/logs/stdout.log")))
            raise AssertionError(f"timed out after {WAIT_S:.0f}s waiting for {what}\n{logs}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    directory = tmp_path_factory.mktemp("bft") / "net"
    base = _free_base(8)
    started = subprocess.run(
        [sys.executable, "-m", "baychain", "up", "--nodes", "4", "--detach",
         "--dir", str(directory), "--dev-accounts", "2", "--timeout", str(WAIT_S),
         "--base-rpc-port", str(base), "--base-p2p-port", str(base + 4)],
        capture_output=True, text=True, timeout=WAIT_S + 60, check=False, env=_environment(),
    )  # fmt: skip
    document = (
        json.loads((directory / "network.json").read_text())
        if (directory / "network.json").exists()
        else None
    )
    net = None
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert document is not None
        net = Network(
            directory=directory,
            clients=[Client(node["rpc"], timeout_s=5.0) for node in document["nodes"]],
            pids=[node["pid"] for node in document["nodes"]],
            chain_id=document["chain_id"],
            crypto=document["crypto"],
            dev_keys=[bytes.fromhex(a["private_key"][2:]) for a in document["dev_accounts"]],
            restarted=[],
        )
        yield net
    finally:
        subprocess.run(
            [sys.executable, "-m", "baychain", "down", "--dir", str(directory), "--timeout", "10"],
            capture_output=True, timeout=120, check=False, env=_environment(),
        )  # fmt: skip
        for process in net.restarted if net is not None else []:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def _submit_transfers(net: Network, count: int) -> list[bytes]:
    signer = Signer.from_key(net.crypto, net.dev_keys[0])
    recipient = Signer.from_key(net.crypto, net.dev_keys[1]).address
    client = net.clients[0]
    nonce = client.nonce(signer.address)
    hashes = []
    for offset in range(count):
        raw = signer.sign(
            chain_id=net.chain_id, nonce=nonce + offset, to=Address(recipient), value=10**15
        )
        hashes.append(client.send_raw(raw))
    return hashes


def test_the_chain_survives_a_crash_catches_up_and_halts_without_a_quorum(
    network: Network,
) -> None:
    net = network
    # 1. Load reaches every node.
    receipts = [net.clients[0].wait_for_receipt(h, WAIT_S) for h in _submit_transfers(net, 10)]
    last = max(int(r["blockNumber"], 16) for r in receipts)
    for index in range(4):
        net.wait_for_height(index, last)
        assert net.block_hash(index, last) == net.block_hash(0, last)

    # 2. One validator crashes; three of four still commit, including new load.
    net.kill(3)
    crashed_at = net.height(0) or 0
    pending = _submit_transfers(net, 5)
    net.wait_for_height(0, crashed_at + 2)
    for tx_hash in pending:
        net.clients[1].wait_for_receipt(tx_hash, WAIT_S)

    # 3. Restarted, it catches up with the same blocks.
    net.restart(3)
    target = net.height(0) or 0
    net.wait_for_height(3, target)
    assert net.block_hash(3, target) == net.block_hash(0, target)

    # 4. A second validator stops: commits need node3's vote now.
    net.kill(2, signal.SIGTERM)
    resumed_at = max(net.height(i) or 0 for i in (0, 1, 3))
    net.wait_for_height(0, resumed_at + 2)
    net.wait_for_height(3, resumed_at + 2)

    # 5. Two of four down: no commit. Restoring one resumes commits.
    net.kill(1)
    stalled = net.stable_height((0, 3))
    time.sleep(NO_COMMIT_WINDOW_S)
    assert net.height(0) == stalled and net.height(3) == stalled, net.log_tails()
    net.restart(1)
    net.wait_for_height(0, stalled + 2)

    # 6. No fork: every live node holds the same block at every height.
    top = min(net.height(i) or 0 for i in (0, 1, 3))
    net.wait_for_height(1, top)
    for height in range(1, top + 1):
        hashes = {net.block_hash(i, height) for i in (0, 1, 3)}
        assert len(hashes) == 1, f"fork at height {height}: {hashes}"
    net.restart(2)
    net.wait_for_height(2, top)
    assert net.block_hash(2, top) == net.block_hash(0, top)


def _ca_of(directory: Path) -> CertifiedKey:
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate((directory / "ca" / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((directory / "ca" / "ca.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return CertifiedKey(certificate, key)


def _tls_attempt(address: tuple[str, int], node: CertifiedKey, tmp_path: Path) -> str:
    """Connect with ``node``'s certificate and say how the node's side ends the TLS handshake."""
    files = write_tls_files(tmp_path, node, node.certificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the point here is the node judging *our* certificate
    context.load_cert_chain(str(files.certificate), str(files.private_key))
    with socket.create_connection(address, timeout=10) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                # TLS 1.3: the server checks the client certificate after the client's
                # Finished, so a refusal shows up as an alert on the first read.
                tls.settimeout(2.0)
                data = tls.recv(1)
        except ssl.SSLError as error:
            return f"refused: {error.reason}"
        except TimeoutError:
            return "accepted"
        except ConnectionResetError:
            return "refused: reset"
    return "accepted" if data else "refused: closed"


def test_a_peer_without_a_consortium_certificate_is_refused(
    network: Network, tmp_path: Path
) -> None:
    document = json.loads((network.directory / "network.json").read_text())
    host, port = document["nodes"][0]["p2p"].rsplit(":", 1)
    address = (host, int(port))
    outsider_ca = create_consortium_ca("some other consortium")
    outsider = issue_node_certificate(outsider_ca, "intruder")
    outcome = _tls_attempt(address, outsider, tmp_path / "outsider")
    assert outcome.startswith("refused"), outcome
    # Control: a certificate from the consortium CA gets through TLS (the node then
    # waits for the identity handshake), so the refusal above is about the CA.
    member = issue_node_certificate(_ca_of(network.directory), "member")
    assert _tls_attempt(address, member, tmp_path / "member") == "accepted"
