"""The abusive JSON-RPC clients of ``bench/faults/rpc_abuse.py``, one asyncio coroutine each.

Run as its own process (so that its CPU and its sockets are not the measuring
side's), from one source address (``--source``, 127.0.0.1 by default: every
per-address bound of the node applies to all of it together):

    python bench/faults/rpc_abusers.py --abuse slowloris --port 8545 --duration-s 30 \
        --out stats.json

It prints ``READY`` once its first connections are open, runs for ``--duration-s``,
closes everything and writes its counts (JSON) to ``--out``.

The abuses (docs/reliability.md, "RPC abuse"):

- ``slowloris``: ``SLOWLORIS_CONNECTIONS`` connections; half trickle a request's
  headers, half send complete headers and trickle the body, one byte every
  ``TRICKLE_S``. A connection the node closes is opened again.
- ``oversized-bodies``: ``OVERSIZED_WORKERS`` loops posting bodies of
  ``max_body_bytes + 1`` bytes as fast as they go, half with a ``Content-Length``,
  half chunked (no length: the node must count what it reads).
- ``deep-json``: ``DEEP_WORKERS`` loops posting ``[`` x 100,000 then ``]`` x 100,000.
- ``call-batches``: ``BATCH_WORKERS`` concurrent batches of 1,000 ``eth_call`` each,
  each call running the 10-byte keccak loop ``0x5b602060002050600056`` as creation code
  (no ``to``, no ``gas``: the node's gas cap and time budget are all that stop it); a
  batch answered is sent again.
- ``subscription-flood``: ``FLOOD_SOCKETS`` WebSockets (more than the node's
  per-address bound), each sending ``FLOOD_SUBSCRIPTIONS`` ``eth_subscribe``
  (newHeads and logs alternately, one more than the default limit) and then never
  reading: its receive buffer is shrunk and the stream stops reading after 1 KiB.

Simplification: the HTTP is written by hand (it has to be, to misbehave), and only
the status line of an answer is parsed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import socket
import struct
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ABUSES = ("slowloris", "oversized-bodies", "deep-json", "subscription-flood", "call-batches")
"""In the order a campaign runs them: call-batches last, because the node goes on running
batches whose client left (the ``after`` phase shows for how long)."""

SLOWLORIS_CONNECTIONS = 400
TRICKLE_S = 1.0
"""Seconds between the bytes a slowloris connection trickles."""
OVERSIZED_WORKERS = 8
DEEP_WORKERS = 8
DEEP_NESTING = 100_000
BATCH_WORKERS = 4
BATCH_LENGTH = 1_000
KECCAK_LOOP = "0x5b602060002050600056"
"""JUMPDEST PUSH1 0x20 PUSH1 0 KECCAK256 POP PUSH1 0 JUMP: hashes until out of gas."""
FLOOD_SOCKETS = 48
FLOOD_SUBSCRIPTIONS = 101
FLOOD_RCVBUF_BYTES = 4_096
CONNECT_TIMEOUT_S = 5.0
DEFAULT_MAX_BODY_BYTES = 5_242_880


class Abuser:
    """One abuse against ``host:port`` from ``source`` until ``deadline`` (monotonic)."""

    def __init__(self, host: str, port: int, source: str, deadline: float, max_body: int) -> None:
        self.host = host
        self.port = port
        self.source = source
        self.deadline = deadline
        self.max_body = max_body
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.held_s: list[float] = []
        self.extra: dict[str, Any] = {}
        self.ready = asyncio.Event()

    def remaining(self) -> float:
        """Seconds left."""
        return self.deadline - time.monotonic()

    async def connect(
        self, *, rcvbuf: int | None = None, limit: int = 65_536
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection from :attr:`source`."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.bind((self.source, 0))
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(
                loop.sock_connect(sock, (self.host, self.port)), CONNECT_TIMEOUT_S
            )
        except BaseException:
            sock.close()
            raise
        self.counts["connections_opened"] += 1
        return await asyncio.open_connection(sock=sock, limit=limit)

    def head(self, method: str = "POST", extra: str = "") -> bytes:
        """A request head (no body)."""
        return (
            f"{method} / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\n{extra}\r\n"
        ).encode()

    async def read_status(self, reader: asyncio.StreamReader, timeout_s: float) -> str:
        """The status code of the answer ("eof" when the node closed first, "timeout")."""
        try:
            line = await asyncio.wait_for(reader.readline(), max(0.1, timeout_s))
        except TimeoutError:
            return "timeout"
        except ConnectionError:
            return "reset"
        parts = line.split()
        return parts[1].decode() if len(parts) >= 2 else "eof"

    async def read_answer(self, reader: asyncio.StreamReader) -> tuple[str, bytes]:
        """Status and body of an answer with a Content-Length (or up to EOF)."""
        status = await self.read_status(reader, self.remaining())
        if not status.isdigit():
            return status, b""
        length = None
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await (reader.readexactly(length) if length is not None else reader.read())
        return status, body

    async def run_workers(self, count: int, worker: Callable[[int], Awaitable[None]]) -> None:
        """``count`` copies of ``worker`` until the deadline (then they are cancelled)."""
        tasks = [asyncio.create_task(self._forever(worker, i)) for i in range(count)]
        self.ready.set()
        await asyncio.sleep(max(0.0, self.remaining()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _forever(self, worker: Callable[[int], Awaitable[None]], index: int) -> None:
        while self.remaining() > 0:
            try:
                await worker(index)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
                self.counts[f"error_{type(error).__name__}"] += 1
                await asyncio.sleep(0.05)

    # ----- slowloris -----------------------------------------------------------------

    async def slowloris(self) -> None:
        """Hold many connections by trickling headers or bodies."""
        tasks = []
        for i in range(SLOWLORIS_CONNECTIONS):
            tasks.append(asyncio.create_task(self._forever(self._trickle, i)))
            if i % 50 == 49:
                await asyncio.sleep(0.05)
        self.ready.set()
        await asyncio.sleep(max(0.0, self.remaining()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _trickle(self, index: int) -> None:
        reader, writer = await self.connect()
        opened = time.monotonic()
        body_mode = index % 2 == 1
        status_task = asyncio.create_task(self.read_status(reader, self.remaining() + 1))
        try:
            if body_mode:
                writer.write(self.head(extra="Content-Length: 100000\r\n"))
                trickle = b"[" * 100_000
            else:
                writer.write(b"POST / HTTP/1.1\r\n")
                trickle = b"X-Slow: " + b"a" * 100_000
            for byte in trickle:
                if status_task.done() or self.remaining() <= 0:
                    break
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.wait({status_task}, timeout=TRICKLE_S)
            if status_task.done():
                kind = "body" if body_mode else "headers"
                self.statuses[f"{kind}:{status_task.result()}"] += 1
                self.held_s.append(time.monotonic() - opened)
            else:
                self.counts["held_open_at_end"] += 1
        except (ConnectionError, OSError):
            self.counts["closed_while_writing"] += 1
            self.held_s.append(time.monotonic() - opened)
        finally:
            status_task.cancel()
            writer.transport.abort()
        # Like a patient attacker, wait a little before taking the slot again.
        await asyncio.sleep(min(TRICKLE_S, max(0.0, self.remaining())))

    # ----- oversized bodies ----------------------------------------------------------

    async def oversized(self, index: int) -> None:
        """Post one body just over the limit (Content-Length or chunked)."""
        reader, writer = await self.connect()
        chunked = index % 2 == 1
        size = self.max_body + 1
        piece = b" " * 65_536
        status_task = asyncio.create_task(self.read_status(reader, self.remaining() + 1))
        sent = 0
        try:
            if chunked:
                writer.write(self.head(extra="Transfer-Encoding: chunked\r\n"))
            else:
                writer.write(self.head(extra=f"Content-Length: {size}\r\n"))
            while sent < size and not status_task.done():
                chunk = piece[: min(len(piece), size - sent)]
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await writer.drain()
                sent += len(chunk)
            if chunked and not status_task.done():
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            self.counts["closed_while_writing"] += 1
        try:
            status = await status_task
        finally:
            writer.transport.abort()
        self.counts["bytes_sent"] += sent
        self.statuses[f"{'chunked' if chunked else 'length'}:{status}"] += 1

    # ----- deep JSON -----------------------------------------------------------------

    async def deep_json(self, index: int) -> None:
        """Post one 100,000-deep array."""
        body = b"[" * DEEP_NESTING + b"]" * DEEP_NESTING
        reader, writer = await self.connect()
        try:
            writer.write(self.head(extra=f"Content-Length: {len(body)}\r\nConnection: close\r\n"))
            writer.write(body)
            await writer.drain()
            status, answer = await self.read_answer(reader)
        finally:
            writer.transport.abort()
        self.statuses[status] += 1
        self.counts["bytes_sent"] += len(body)
        with contextlib.suppress(ValueError):
            error = json.loads(answer).get("error") or {}
            self.counts[f"rpc_error_{error.get('code')}"] += 1

    # ----- call batches --------------------------------------------------------------

    async def call_batch(self, index: int) -> None:
        """Post one batch of expensive calls and wait for its answer."""
        batch = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_call",
             "params": [{"data": KECCAK_LOOP}, "latest"]}
            for i in range(BATCH_LENGTH)
        ]  # fmt: skip
        body = json.dumps(batch).encode()
        reader, writer = await self.connect()
        started = time.monotonic()
        try:
            writer.write(self.head(extra=f"Content-Length: {len(body)}\r\nConnection: close\r\n"))
            writer.write(body)
            await writer.drain()
            self.counts["batches_sent"] += 1
            status, answer = await self.read_answer(reader)
        finally:
            writer.transport.abort()
        self.held_s.append(time.monotonic() - started)
        self.statuses[status] += 1
        self.counts["batches_answered"] += 1
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            for entry in json.loads(answer):
                error = entry.get("error")
                if error is None:
                    self.counts["calls_ok"] += 1
                else:
                    message = str(error.get("message", ""))
                    kind = "timeout" if "timeout" in message else message.split(":")[0][:40]
                    self.counts[f"calls_error_{error.get('code')}_{kind}"] += 1

    async def single_call(self) -> None:
        """One expensive call alone, timed, before the batches (what one call costs)."""
        request = {"jsonrpc": "2.0", "id": 1, "method": "eth_call",
                   "params": [{"data": KECCAK_LOOP}, "latest"]}  # fmt: skip
        body = json.dumps(request).encode()
        reader, writer = await self.connect()
        started = time.monotonic()
        try:
            writer.write(self.head(extra=f"Content-Length: {len(body)}\r\nConnection: close\r\n"))
            writer.write(body)
            await writer.drain()
            _, answer = await self.read_answer(reader)
        finally:
            writer.transport.abort()
        self.extra["single_call_s"] = round(time.monotonic() - started, 3)
        with contextlib.suppress(ValueError, AttributeError):
            error = json.loads(answer).get("error")
            self.extra["single_call_answer"] = "ok" if error is None else str(error)[:120]

    # ----- subscription flood --------------------------------------------------------

    async def subscription_flood(self) -> None:
        """Open the sockets, subscribe, then hold them without reading."""
        sockets: list[asyncio.StreamWriter] = []
        for i in range(FLOOD_SOCKETS):
            try:
                writer = await self._subscribe_socket(i)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
                self.counts[f"error_{type(error).__name__}"] += 1
                continue
            if writer is not None:
                sockets.append(writer)
        self.ready.set()
        await asyncio.sleep(max(0.0, self.remaining()))
        for writer in sockets:  # is the node still holding it?
            try:
                writer.write(_ws_frame(_PING_REQUEST))
                await asyncio.wait_for(writer.drain(), 1.0)
                alive = not writer.is_closing()
            except (OSError, TimeoutError):
                alive = False
            self.counts["sockets_open_at_end" if alive else "sockets_closed_by_node"] += 1
            writer.transport.abort()

    async def _subscribe_socket(self, index: int) -> asyncio.StreamWriter | None:
        reader, writer = await self.connect(rcvbuf=FLOOD_RCVBUF_BYTES, limit=1_024)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await self.read_status(reader, CONNECT_TIMEOUT_S)
        self.statuses[status] += 1
        if status != "101":
            writer.transport.abort()
            return None
        for n in range(FLOOD_SUBSCRIPTIONS):
            params: list[Any] = ["newHeads"] if n % 2 == 0 else ["logs", {}]
            request = {"jsonrpc": "2.0", "id": n, "method": "eth_subscribe", "params": params}
            writer.write(_ws_frame(json.dumps(request).encode()))
        await writer.drain()
        self.counts["subscribe_requests_sent"] += FLOOD_SUBSCRIPTIONS
        return writer


_PING_REQUEST = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber"}).encode()


def _ws_frame(payload: bytes) -> bytes:
    """One masked text frame (RFC 6455 section 5.2), as a client must send it."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        head = struct.pack("!BB", 0x81, 0x80 | len(payload))
    elif len(payload) < 65_536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, len(payload))
    return head + mask + masked


async def run_abuse(
    abuse: str, host: str, port: int, source: str, duration_s: float, max_body: int
) -> dict[str, Any]:
    """Run ``abuse`` for ``duration_s``; return its counts."""
    abuser = Abuser(host, port, source, time.monotonic() + duration_s, max_body)

    async def announce() -> None:
        await abuser.ready.wait()
        print("READY", flush=True)

    announcer = asyncio.create_task(announce())
    started = time.monotonic()
    if abuse == "slowloris":
        await abuser.slowloris()
    elif abuse == "oversized-bodies":
        await abuser.run_workers(OVERSIZED_WORKERS, abuser.oversized)
    elif abuse == "deep-json":
        await abuser.run_workers(DEEP_WORKERS, abuser.deep_json)
    elif abuse == "call-batches":
        await abuser.single_call()
        await abuser.run_workers(BATCH_WORKERS, abuser.call_batch)
    elif abuse == "subscription-flood":
        await abuser.subscription_flood()
    else:
        raise ValueError(f"unknown abuse {abuse!r}")
    announcer.cancel()
    held = sorted(abuser.held_s)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "abuse": abuse,
        "source": source,
        "ran_s": round(time.monotonic() - started, 1),
        "counts": dict(abuser.counts),
        "statuses": dict(abuser.statuses),
        "held_s_median": round(held[len(held) // 2], 2) if held else None,
        "held_s_max": round(held[-1], 2) if held else None,
        "abuser_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        **abuser.extra,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run one abuse, write its counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--abuse", choices=ABUSES, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--source", default="127.0.0.1", help="source address of every socket")
    parser.add_argument("--duration-s", type=float, default=30.0)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    stats = asyncio.run(
        run_abuse(args.abuse, args.host, args.port, args.source, args.duration_s,
                  args.max_body_bytes)
    )  # fmt: skip
    args.out.write_text(json.dumps(stats, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
