"""JSON-RPC load benchmark: pre-signed transfers in batched sends; committed tx/s and latency.

It starts its own node (``baychain init`` + ``baychain node`` in a temporary
directory, on a free loopback port), signs every transaction before the clock
starts, then sends them in JSON-RPC batches from a few concurrent HTTP clients.
Commits are observed through a WebSocket ``newHeads`` subscription; each
block's transaction hashes are read with ``eth_getBlockByNumber``.

- committed tx/s: transactions in committed blocks / (last commit - first submit)
- latency: per transaction, from the moment its batch was sent to the arrival of
  the ``newHeads`` notification of the block that holds it (p50/p95/p99)
- success: committed / sent (a rejected send counts as a failure)
- CPU per transaction (with ``--network-dir``): user + system CPU seconds each node
  process used from the first submit to the last commit, over the committed
  transactions; on a shared machine this is steadier than wall-clock tx/s

Workloads: ``eth`` (value transfers between the dev accounts) and ``erc20``
(``Token.sol`` ``transfer`` calls: before the clock starts, the first account
deploys the token from its committed artifact and gives every sender a share).

Run:  python bench/rpc_bench.py [--txs 20000] [--accounts 200] [--batch 200] [--clients 4]
                                [--crypto ecdsa|sm] [--block-interval-ms 200]
                                [--workload eth|erc20]
Against a running network instead (e.g. ``baychain up --dev-accounts 200 --detach``):
      python bench/rpc_bench.py --rpc-url http://127.0.0.1:8545 --nodes 4 [--crypto ...]
      python bench/rpc_bench.py --network-dir ./baychain-net [--spread] [--workload erc20]
                                [--rate 2000]
``--network-dir`` reads the network's ``network.json`` for node 0's URL and the node
pids; ``--spread`` sends sender i's transactions to node i mod n, as clients of several
member organisations would use their own node (otherwise all load goes to node 0, which
gossips it); ``--rate`` offers a fixed load instead of sending everything at once.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from baychain.crypto import dev_private_keys
from baychain.sdk.client import Signer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def rpc(session: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with session.post(url, json=body) as response:
        answer = await response.json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


class Observer:
    """Follows newHeads and records when each transaction's block arrived."""

    def __init__(self, http_url: str, ws_url: str) -> None:
        self.http_url, self.ws_url = http_url, ws_url
        self.committed_at: dict[str, float] = {}
        self.last_commit = 0.0
        self.ready = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        async with session.ws_connect(self.ws_url) as ws:
            await ws.send_json(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            )
            await ws.receive_json()
            self.ready.set()
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.receive_json(), timeout=0.5)
                except TimeoutError:
                    continue
                arrived = time.perf_counter()
                head = message["params"]["result"]
                block = await rpc(
                    session, self.http_url, "eth_getBlockByNumber", head["number"], False
                )
                for tx_hash in block["transactions"]:
                    self.committed_at[tx_hash] = arrived
                if block["transactions"]:
                    self.last_commit = arrived


def route_batches(
    raws: list[bytes], batch: int, urls: list[str], senders: int
) -> list[tuple[str, list[bytes]]]:
    """Batches of ``raws`` with the endpoint each goes to. ``raws`` holds one nonce round of
    ``senders`` senders after another; sender i's transactions all go to
    ``urls[i % len(urls)]``, as a client sticks to its own organisation's node, and the
    endpoints take turns."""
    lanes: list[list[bytes]] = [[] for _ in urls]
    for index, raw in enumerate(raws):
        lanes[index % senders % len(urls)].append(raw)
    per_lane = [
        [(url, lane[i : i + batch]) for i in range(0, len(lane), batch)]
        for url, lane in zip(urls, lanes, strict=True)
    ]
    return [item for turn in itertools.zip_longest(*per_lane) for item in turn if item]


async def load(
    http_url: str,
    ws_url: str,
    raws: list[bytes],
    batch: int,
    clients: int,
    timeout_s: float,
    send_urls: list[str],
    cpu: CpuMeter,
    senders: int,
    rate: float | None = None,
) -> dict[str, Any]:
    """Send ``raws`` in batches from ``clients`` concurrent clients, as fast as they go or,
    with ``rate``, batch i not before i * batch / rate seconds after the start (an
    offered load of ``rate`` tx/s, so latency is not dominated by queueing)."""
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        observer = Observer(http_url, ws_url)
        stop = asyncio.Event()
        watcher = asyncio.create_task(observer.run(session, stop))
        await observer.ready.wait()
        sent_at: dict[str, float] = {}
        failures: list[str] = []
        queue: asyncio.Queue[tuple[int, str, list[bytes]]] = asyncio.Queue()
        for index, (url, item) in enumerate(route_batches(raws, batch, send_urls, senders)):
            queue.put_nowait((index, url, item))

        async def client() -> None:
            while not queue.empty():
                index, url, chunk = queue.get_nowait()
                if rate:
                    due = first_submit + index * batch / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                body = [
                    {
                        "jsonrpc": "2.0",
                        "id": i,
                        "method": "eth_sendRawTransaction",
                        "params": ["0x" + raw.hex()],
                    }
                    for i, raw in enumerate(chunk)
                ]
                started = time.perf_counter()
                async with session.post(url, json=body) as response:
                    answers = await response.json()
                for answer in answers:
                    if "result" in answer:
                        sent_at[answer["result"]] = started
                    else:
                        failures.append(answer["error"]["message"])

        cpu.start()
        first_submit = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if all(h in observer.committed_at for h in sent_at):
                break
            await asyncio.sleep(0.05)
        cpu.stop()
        stop.set()
        await watcher
    latencies = [
        observer.committed_at[h] - t for h, t in sent_at.items() if h in observer.committed_at
    ]
    committed = len(latencies)
    elapsed = max(observer.last_commit - first_submit, 1e-9)
    return {
        "sent": len(raws),
        "committed": committed,
        "success_rate": committed / len(raws),
        "committed_tps": committed / elapsed,
        "seconds": elapsed,
        "latency_p50_ms": 1000 * percentile(latencies, 0.50) if latencies else None,
        "latency_p95_ms": 1000 * percentile(latencies, 0.95) if latencies else None,
        "latency_p99_ms": 1000 * percentile(latencies, 0.99) if latencies else None,
        "latency_mean_ms": 1000 * statistics.fmean(latencies) if latencies else None,
        "first_failures": failures[:3],
        **cpu.report(committed),
    }


class CpuMeter:
    """User + system CPU seconds of the node processes (and of this load generator)
    between :meth:`start` and :meth:`stop`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.own = psutil.Process()
        self.used: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        sample = {name: _cpu_seconds(p) for name, p in self.processes.items()}
        sample["load generator"] = _cpu_seconds(self.own)
        return sample

    def start(self) -> None:
        self._started = self._sample()

    def stop(self) -> None:
        ended = self._sample()
        self.used = {name: ended[name] - self._started[name] for name in ended}

    def report(self, committed: int) -> dict[str, Any]:
        if not self.processes or not committed:
            return {}
        nodes = [name for name in self.used if name != "load generator"]
        return {
            "cpu_s": {name: round(seconds, 2) for name, seconds in self.used.items()},
            "cpu_ms_per_tx": {
                name: round(1000 * seconds / committed, 3) for name, seconds in self.used.items()
            },
            "cpu_ms_per_tx_all_nodes": round(
                1000 * sum(self.used[name] for name in nodes) / committed, 3
            ),
        }


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def start_node(
    directory: Path, crypto: str, accounts: int, interval_ms: int, port: int
) -> subprocess.Popen[bytes]:
    base = [sys.executable, "-m", "baychain"]
    subprocess.run(
        [
            *base,
            "init",
            "--dir",
            str(directory),
            "--crypto",
            crypto,
            "--dev-accounts",
            str(accounts),
            "--block-interval-ms",
            str(interval_ms),
            "--rpc-port",
            str(port),
        ],
        check=True,
        capture_output=True,
    )
    log = (directory / "bench-node.log").open("wb")
    return subprocess.Popen(
        [*base, "node", "--dir", str(directory)], stdout=log, stderr=subprocess.STDOUT
    )


def _post(url: str, method: str, *params: Any) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        answer: bytes = response.read()
        return answer


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the node exited during start; see bench-node.log")
        try:
            _post(url, "eth_chainId")
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the node did not answer within 60 s")


TOKEN_ARTIFACTS = (
    Path(__file__).resolve().parent.parent / "src" / "baychain" / "artifacts" / "Token.json",
    Path(__file__).resolve().parent.parent / "contracts" / "artifacts" / "Token.json",
)
TOKEN_SUPPLY = 10**30
TOKEN_DEPLOY_GAS = 3_000_000
TOKEN_TRANSFER_GAS = 40_000
"""Gas limit of a benchmark ``transfer``: one between two holders uses 34,433 gas (every
recipient holds tokens after the setup). Blocks are packed by gas limit, so a tight
limit, as wallets set from ``eth_estimateGas``, fits 1,500 transfers in a 60M-gas block."""
TOKEN_SHARE_GAS = 100_000
"""Gas limit of a setup transfer to a first-time holder (about 51,500 gas)."""
TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")  # transfer(address,uint256)


def token_creation_code() -> bytes:
    """Token.sol's creation code with constructor("Bench", "BNCH", TOKEN_SUPPLY)."""
    artifact = next((path for path in TOKEN_ARTIFACTS if path.exists()), None)
    if artifact is None:
        raise SystemExit(f"no Token.json artifact in {[str(p) for p in TOKEN_ARTIFACTS]}")
    code = bytes.fromhex(json.loads(artifact.read_text())["bytecode"].removeprefix("0x"))

    def word(value: int) -> bytes:
        return value.to_bytes(32, "big")

    def text(value: str) -> bytes:
        raw = value.encode()
        return word(len(raw)) + raw.ljust(-(-len(raw) // 32) * 32, b"\0")

    name, symbol = text("Bench"), text("BNCH")
    return code + word(96) + word(96 + len(name)) + word(TOKEN_SUPPLY) + name + symbol


def transfer_call(to: bytes, amount: int) -> bytes:
    return TRANSFER_SELECTOR + to.rjust(32, b"\0") + amount.to_bytes(32, "big")


def wait_receipts(url: str, tx_hashes: list[str], timeout_s: float = 120.0) -> list[Any]:
    """Poll until every transaction has a receipt; return them in order."""
    deadline = time.monotonic() + timeout_s
    receipts: dict[str, Any] = {}
    while time.monotonic() < deadline:
        for tx_hash in tx_hashes:
            if tx_hash not in receipts:
                found = json.loads(_post(url, "eth_getTransactionReceipt", tx_hash))["result"]
                if found is not None:
                    receipts[tx_hash] = found
        if len(receipts) == len(tx_hashes):
            return [receipts[h] for h in tx_hashes]
        time.sleep(0.2)
    raise SystemExit(f"{len(tx_hashes) - len(receipts)} setup transactions did not commit")


def send_all(url: str, raws: list[bytes]) -> list[str]:
    body = json.dumps(
        [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_sendRawTransaction",
                "params": ["0x" + raw.hex()],
            }
            for i, raw in enumerate(raws)
        ]
    )
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answers = json.loads(response.read())
    failed = [a["error"] for a in answers if "error" in a]
    if failed:
        raise SystemExit(f"setup transactions refused: {failed[:3]}")
    return [a["result"] for a in sorted(answers, key=lambda a: a["id"])]


def deploy_token(url: str, chain_id: int, signers: list[Signer], nonce: int) -> bytes:
    """Deploy Token.sol from ``signers[0]`` and give every other signer a share; wait for
    both steps to commit; return the token's address."""
    deployer = signers[0]
    deploy = deployer.sign(
        chain_id=chain_id,
        nonce=nonce,
        to=None,
        data=token_creation_code(),
        gas_limit=TOKEN_DEPLOY_GAS,
    )
    (receipt,) = wait_receipts(url, send_all(url, [deploy]))
    if receipt["status"] != "0x1" or not receipt["contractAddress"]:
        raise SystemExit(f"the token deployment failed: {receipt}")
    token = bytes.fromhex(receipt["contractAddress"][2:])
    share = TOKEN_SUPPLY // (2 * len(signers))
    gifts = [
        deployer.sign(
            chain_id=chain_id,
            nonce=nonce + 1 + i,
            to=token,
            data=transfer_call(s.address, share),
            gas_limit=TOKEN_SHARE_GAS,
        )
        for i, s in enumerate(signers[1:])
    ]
    for receipt in wait_receipts(url, send_all(url, gifts)):
        if receipt["status"] != "0x1":
            raise SystemExit(f"a token share transfer failed: {receipt}")
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--crypto", choices=("ecdsa", "sm"), default="ecdsa")
    parser.add_argument("--workload", choices=("eth", "erc20"), default="eth")
    parser.add_argument(
        "--rate", type=float, help="offered load in tx/s (default: send as fast as possible)"
    )
    parser.add_argument("--block-interval-ms", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--rpc-url",
        help="load a running node instead of starting one "
        "(its dev accounts must include --accounts of the well-known dev keys)",
    )
    parser.add_argument("--nodes", type=int, default=1, help="node count, for the manifest")
    parser.add_argument(
        "--network-dir",
        type=Path,
        help="load a running `baychain up` "
        "network: node 0's URL, every node's pid (for CPU time) from its "
        "network.json",
    )
    parser.add_argument(
        "--spread",
        action="store_true",
        help="with --network-dir: send batches to every node's JSON-RPC endpoint in turn",
    )
    args = parser.parse_args()

    keys = dev_private_keys(args.crypto, args.accounts)
    signers = [Signer.from_key(args.crypto, key) for key in keys]
    per_sender = -(-args.txs // args.accounts)
    pids: dict[str, int] = {}
    send_urls: list[str] = []
    if args.network_dir is not None:
        network = json.loads((args.network_dir / "network.json").read_text())
        pids = {node["name"]: node["pid"] for node in network["nodes"] if node.get("pid")}
        urls = [node["rpc"] for node in network["nodes"]]
        args.rpc_url = args.rpc_url or urls[0]
        args.nodes = len(urls)
        send_urls = urls if args.spread else []

    def run_load(url: str) -> dict[str, Any]:
        chain_id = int(json.loads(_post(url, "eth_chainId"))["result"], 16)

        def pending_nonces() -> list[int]:
            return [
                int(
                    json.loads(
                        _post(url, "eth_getTransactionCount", "0x" + s.address.hex(), "pending")
                    )["result"],
                    16,
                )
                for s in signers
            ]

        nonces = pending_nonces()
        token = None
        if args.workload == "erc20":
            print(f"deploying Token and funding {len(signers) - 1} senders ...", flush=True)
            token = deploy_token(url, chain_id, signers, nonces[0])
            nonces = pending_nonces()
        print(f"signing {per_sender * args.accounts} transfers ...", flush=True)
        raws = [
            signer.sign(chain_id=chain_id, nonce=nonces[i] + n, to=signers[i - 1].address, value=1)
            if token is None
            else signer.sign(
                chain_id=chain_id,
                nonce=nonces[i] + n,
                to=token,
                data=transfer_call(signers[i - 1].address, 1),
                gas_limit=TOKEN_TRANSFER_GAS,
            )
            for n in range(per_sender)
            for i, signer in enumerate(signers)
        ][: args.txs]
        print(
            f"sending {len(raws)} in batches of {args.batch} from {args.clients} clients"
            f" to {len(send_urls) or 1} endpoint(s)",
            flush=True,
        )
        ws_url = "ws://" + url.split("://", 1)[1]
        return asyncio.run(
            load(
                url,
                ws_url,
                raws,
                args.batch,
                args.clients,
                args.timeout,
                send_urls or [url],
                CpuMeter(pids),
                len(signers),
                args.rate,
            )
        )

    if args.rpc_url:
        result = run_load(args.rpc_url)
    else:
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="baychain-rpc-bench-") as temp:
            directory = Path(temp) / "chain"
            process = start_node(
                directory, args.crypto, args.accounts, args.block_interval_ms, port
            )
            pids = {"node0": process.pid}
            try:
                url = f"http://127.0.0.1:{port}"
                wait_up(url, process)
                result = run_load(url)
            finally:
                process.terminate()
                process.wait(timeout=30)
    manifest = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "crypto": args.crypto,
        "nodes": args.nodes,
        "consensus": "solo" if args.nodes == 1 else "bft",
        "block_interval_ms": None if args.rpc_url else args.block_interval_ms,
        "workload": "ERC-20 transfers" if args.workload == "erc20" else "ETH transfers",
        "accounts": args.accounts,
        "batch": args.batch,
        "clients": args.clients,
        "endpoints": len(send_urls) or 1,
        "offered_tps": args.rate,
        "commit_criterion": "block in newHeads",
    }
    print(json.dumps({"manifest": manifest, "result": result}, indent=2))


if __name__ == "__main__":
    main()
