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

Run:  python bench/rpc_bench.py [--txs 20000] [--accounts 200] [--batch 200] [--clients 4]
                                [--crypto ecdsa|sm] [--block-interval-ms 200]
Against a running network instead (e.g. ``baychain up --dev-accounts 200 --detach``):
      python bench/rpc_bench.py --rpc-url http://127.0.0.1:8545 --nodes 4 [--crypto ...]
"""

from __future__ import annotations

import argparse
import asyncio
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
            await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                                "params": ["newHeads"]})
            await ws.receive_json()
            self.ready.set()
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.receive_json(), timeout=0.5)
                except TimeoutError:
                    continue
                arrived = time.perf_counter()
                head = message["params"]["result"]
                block = await rpc(session, self.http_url, "eth_getBlockByNumber",
                                  head["number"], False)
                for tx_hash in block["transactions"]:
                    self.committed_at[tx_hash] = arrived
                if block["transactions"]:
                    self.last_commit = arrived


async def load(http_url: str, ws_url: str, raws: list[bytes], batch: int, clients: int,
               timeout_s: float) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=clients + 4)
    async with aiohttp.ClientSession(connector=connector) as session:
        observer = Observer(http_url, ws_url)
        stop = asyncio.Event()
        watcher = asyncio.create_task(observer.run(session, stop))
        await observer.ready.wait()
        sent_at: dict[str, float] = {}
        failures: list[str] = []
        batches = [raws[i:i + batch] for i in range(0, len(raws), batch)]
        queue: asyncio.Queue[list[bytes]] = asyncio.Queue()
        for item in batches:
            queue.put_nowait(item)

        async def client() -> None:
            while not queue.empty():
                chunk = queue.get_nowait()
                body = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
                         "params": ["0x" + raw.hex()]} for i, raw in enumerate(chunk)]
                started = time.perf_counter()
                async with session.post(http_url, json=body) as response:
                    answers = await response.json()
                for answer in answers:
                    if "result" in answer:
                        sent_at[answer["result"]] = started
                    else:
                        failures.append(answer["error"]["message"])

        first_submit = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            if all(h in observer.committed_at for h in sent_at):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await watcher
    latencies = [observer.committed_at[h] - t for h, t in sent_at.items()
                 if h in observer.committed_at]
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
    }


def start_node(directory: Path, crypto: str, accounts: int, interval_ms: int,
               port: int) -> subprocess.Popen[bytes]:
    base = [sys.executable, "-m", "baychain"]
    subprocess.run([*base, "init", "--dir", str(directory), "--crypto", crypto,
                    "--dev-accounts", str(accounts), "--block-interval-ms", str(interval_ms),
                    "--rpc-port", str(port)], check=True, capture_output=True)
    log = (directory / "bench-node.log").open("wb")
    return subprocess.Popen([*base, "node", "--dir", str(directory)], stdout=log,
                            stderr=subprocess.STDOUT)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--crypto", choices=("ecdsa", "sm"), default="ecdsa")
    parser.add_argument("--block-interval-ms", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--rpc-url", help="load a running node instead of starting one "
                        "(its dev accounts must include --accounts of the well-known dev keys)")
    parser.add_argument("--nodes", type=int, default=1, help="node count, for the manifest")
    args = parser.parse_args()

    keys = dev_private_keys(args.crypto, args.accounts)
    signers = [Signer.from_key(args.crypto, key) for key in keys]
    per_sender = -(-args.txs // args.accounts)

    def run_load(url: str) -> dict[str, Any]:
        chain_id = int(json.loads(_post(url, "eth_chainId"))["result"], 16)
        nonces = [int(json.loads(_post(url, "eth_getTransactionCount", "0x" + s.address.hex(),
                                       "pending"))["result"], 16) for s in signers]
        print(f"signing {per_sender * args.accounts} transfers ...", flush=True)
        raws = [
            signer.sign(chain_id=chain_id, nonce=nonces[i] + n, to=signers[i - 1].address,
                        value=1)
            for n in range(per_sender) for i, signer in enumerate(signers)
        ][: args.txs]
        print(f"sending {len(raws)} in batches of {args.batch} from {args.clients} clients",
              flush=True)
        ws_url = "ws://" + url.split("://", 1)[1]
        return asyncio.run(load(url, ws_url, raws, args.batch, args.clients, args.timeout))

    if args.rpc_url:
        result = run_load(args.rpc_url)
    else:
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="baychain-rpc-bench-") as temp:
            directory = Path(temp) / "chain"
            process = start_node(directory, args.crypto, args.accounts,
                                 args.block_interval_ms, port)
            try:
                url = f"http://127.0.0.1:{port}"
                wait_up(url, process)
                result = run_load(url)
            finally:
                process.terminate()
                process.wait(timeout=30)
    manifest = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(), "crypto": args.crypto, "nodes": args.nodes,
        "consensus": "solo" if args.nodes == 1 else "bft",
        "block_interval_ms": None if args.rpc_url else args.block_interval_ms,
        "workload": "ETH transfers", "accounts": args.accounts, "batch": args.batch,
        "clients": args.clients, "commit_criterion": "block in newHeads",
    }
    print(json.dumps({"manifest": manifest, "result": result}, indent=2))


if __name__ == "__main__":
    main()
