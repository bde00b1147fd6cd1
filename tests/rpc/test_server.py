"""HTTP and WebSocket on one port, their bounds, and bad clients that leave the node serving.

Part one runs :class:`RpcServer` in-process with tight limits; part two starts a
real ``baychain node`` process and talks to it over HTTP and WebSocket with
aiohttp's client and raw sockets: subscriptions, a socket closed in the middle
of a subscription, a client that never reads, a huge batch, a body too large,
and a half-sent request. After each, the node still answers and still seals blocks.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rpc_rig import TOKEN, Rig, hex_of

from baychain.crypto import dev_private_keys
from baychain.node.localnet.processes import free_port_base
from baychain.rpc.limits import RpcLimits
from baychain.rpc.server import RpcServer
from baychain.sdk.client import Signer


def body(method: str, *params: Any, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}


# -- in-process: bounds of the transport ------------------------------------------------


@asynccontextmanager
async def serving(rig: Rig) -> AsyncIterator[RpcServer]:
    server = RpcServer(rig.service, "127.0.0.1", 0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", "ecdsa",
               RpcLimits(max_connections=2, max_body_bytes=4_096, max_batch_length=10))
    yield made
    made.close()


def test_http_and_websocket_share_one_url(rig: Rig) -> None:
    async def scenario() -> None:
        async with serving(rig) as server, aiohttp.ClientSession() as client:
            async with client.post(server.url, json=body("eth_chainId")) as answer:
                assert (await answer.json())["result"] == hex(rig.genesis.chain_id)
            async with client.post(server.url, json={"jsonrpc": "2.0", "method": "x"}) as quiet:
                assert quiet.status == 204
            async with client.get(server.url) as plain:
                assert plain.status == 405
            async with client.ws_connect(server.ws_url) as ws:
                await ws.send_str(json.dumps(body("eth_subscribe", "newHeads")))
                subscription = json.loads((await ws.receive(timeout=5)).data)["result"]
                rig.seal()
                note = json.loads((await ws.receive(timeout=5)).data)
                assert note["params"]["subscription"] == subscription
                assert note["params"]["result"]["number"] == "0x1"
                await ws.send_str("{broken")
                assert json.loads((await ws.receive(timeout=5)).data)["error"]["code"] == -32700

    asyncio.run(scenario())


def test_oversized_bodies_and_too_many_connections_are_refused(rig: Rig) -> None:
    async def scenario() -> None:
        async with serving(rig) as server, aiohttp.ClientSession() as client:
            huge = json.dumps(body("web3_sha3", "0x" + "00" * 4_000))
            async with client.post(server.url, data=huge) as refused:
                assert refused.status == 413

            async def chunks() -> AsyncIterator[bytes]:
                for _ in range(10):
                    yield b" " * 1_000

            async with client.post(server.url, data=chunks()) as streamed:
                assert streamed.status == 413
            async with client.ws_connect(server.ws_url) as ws:
                await ws.send_str(huge)
                closing = await ws.receive(timeout=5)
                assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                assert ws.close_code == 1009
            async with (
                client.ws_connect(server.ws_url),
                client.ws_connect(server.ws_url),
                client.post(server.url, json=body("eth_chainId")) as busy,
            ):
                assert busy.status == 503
            async with client.post(server.url, json=body("eth_chainId")) as again:
                assert again.status == 200

    asyncio.run(scenario())


def test_an_oversized_body_is_never_read(rig: Rig) -> None:
    # Seen in the RPC-abuse campaign: after answering 413 the server went on reading (and
    # discarding) the rest of each oversized body, gigabytes per minute.
    async def scenario() -> bytes:
        async with serving(rig) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            announced = 100 * rig.service.limits.max_body_bytes
            writer.write(
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {announced}\r\n\r\n".encode()
                + b"[" * 65_536
            )
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(65_536), 5)
            # the server hangs up at once rather than waiting for the announced body
            rest = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return answer + rest

    assert b" 413 " in asyncio.run(scenario()).split(b"\r\n", 1)[0]


def test_stopping_closes_open_websockets_at_once(rig: Rig) -> None:
    async def scenario() -> None:
        server = RpcServer(rig.service, "127.0.0.1", 0)
        await server.start()
        async with aiohttp.ClientSession() as client, client.ws_connect(server.ws_url) as ws:
            await ws.send_str(json.dumps(body("eth_subscribe", "newHeads")))
            await ws.receive(timeout=5)
            started = time.monotonic()
            await server.stop()
            assert time.monotonic() - started < 2
            closing = await ws.receive(timeout=5)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 1001
        assert len(rig.service.subscriptions) == 0

    asyncio.run(scenario())


async def post_with(server: RpcServer, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as client, client.post(
        server.url, json=body("eth_chainId"), headers=headers
    ) as answer:
        return answer.status


def test_browser_origins_and_foreign_host_names_are_refused(rig: Rig) -> None:
    async def scenario() -> None:
        async with serving(rig) as server:
            port = server.port
            assert await post_with(server, {}) == 200  # curl, web3.py, ethers in node
            assert await post_with(server, {"Origin": "https://evil.example"}) == 403
            assert await post_with(server, {"Origin": "null"}) == 403
            async with aiohttp.ClientSession() as client:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await client.ws_connect(server.ws_url, origin="https://evil.example")
                assert refused.value.status == 403
                async with client.ws_connect(server.ws_url) as ws:  # no Origin: a tool
                    await ws.send_str(json.dumps(body("eth_chainId")))
                    assert "result" in json.loads((await ws.receive(timeout=5)).data)
            # DNS rebinding: a page on rebind.example whose name now points at 127.0.0.1
            assert await post_with(server, {"Host": f"rebind.example:{port}"}) == 403
            for host in (f"localhost:{port}", "LOCALHOST", f"127.0.0.1:{port}", f"[::1]:{port}",
                         f"192.0.2.7:{port}"):  # an address is no name to rebind
                assert await post_with(server, {"Host": host}) == 200, host

    asyncio.run(scenario())


def test_an_operator_opens_origins_and_host_names(rig: Rig) -> None:
    from baychain.rpc.server import RpcAccess

    async def scenario() -> None:
        access = RpcAccess(allowed_origins=("https://app.example",),
                           allowed_hosts=("node.example",))
        server = RpcServer(rig.service, "127.0.0.1", 0, access)
        await server.start()
        try:
            assert await post_with(server, {"Origin": "https://app.example"}) == 200
            assert await post_with(server, {"Origin": "https://app.example.evil"}) == 403
            assert await post_with(server, {"Host": "node.example"}) == 200
            assert await post_with(server, {"Host": "localhost"}) == 403  # the list replaces
        finally:
            await server.stop()
        anyone = RpcServer(rig.service, "127.0.0.1", 0,
                           RpcAccess(allowed_origins=("*",), allowed_hosts=("*",)))
        await anyone.start()
        try:
            assert await post_with(anyone, {"Origin": "https://x.example", "Host": "y"}) == 200
        finally:
            await anyone.stop()

    asyncio.run(scenario())


def slow_body(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A POST whose headers arrive and whose body never does."""
    sock = socket.create_connection(("127.0.0.1", port), source_address=(source, 0))
    sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{")
    return sock


def slow_headers(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


def test_slow_clients_from_one_address_leave_room_for_others(tmp_path: Path) -> None:
    from baychain.rpc.server import RpcAccess

    made = Rig(tmp_path / "chain", "ecdsa", RpcLimits(max_connections=8))
    access = RpcAccess(read_timeout_ms=1_500, connections_per_address=4)

    async def scenario() -> None:
        server = RpcServer(made.service, "127.0.0.1", 0, access)
        await server.start()
        slow = [slow_body(server.port) for _ in range(8)] + [slow_headers(server.port)]
        try:
            await asyncio.sleep(0.2)
            other = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
            async with aiohttp.ClientSession(connector=other) as client:
                started = time.monotonic()
                async with client.post(server.url, json=body("eth_chainId")) as answer:
                    assert answer.status == 200
                assert time.monotonic() - started < 1
            async with aiohttp.ClientSession() as client:
                async with client.post(server.url, json=body("eth_chainId")) as full:
                    assert full.status == 503  # this address holds its four slots
                await asyncio.sleep(2)  # the read timeout ends the slow ones
                async with client.post(server.url, json=body("eth_chainId")) as again:
                    assert again.status == 200
            statuses = []
            for sock in slow:
                sock.settimeout(1)
                reply = await asyncio.to_thread(sock.recv, 1_000)
                statuses.append(reply.split(b" ", 2)[1] if reply else b"closed")
            assert statuses.count(b"408") == 4 and statuses.count(b"503") == 4, statuses
            assert statuses[-1] == b"closed"  # headers that never ended
        finally:
            for sock in slow:
                sock.close()
            await server.stop()

    try:
        asyncio.run(scenario())
    finally:
        made.close()


def test_an_idle_websocket_without_subscriptions_is_closed(tmp_path: Path) -> None:
    from baychain.rpc.server import RpcAccess

    made = Rig(tmp_path / "chain", "ecdsa")

    async def scenario() -> None:
        # (a short read timeout too: it bounds requests, not WebSockets)
        access = RpcAccess(ws_idle_timeout_ms=500, read_timeout_ms=200)
        server = RpcServer(made.service, "127.0.0.1", 0, access)
        await server.start()
        try:
            async with aiohttp.ClientSession() as client, \
                    client.ws_connect(server.ws_url) as idle, \
                    client.ws_connect(server.ws_url) as subscribed:
                await subscribed.send_str(json.dumps(body("eth_subscribe", "newHeads")))
                await subscribed.receive(timeout=5)
                closing = await idle.receive(timeout=5)
                assert closing.type == aiohttp.WSMsgType.CLOSE
                await asyncio.sleep(0.7)
                made.seal()  # the subscribed one stays open and is notified
                note = json.loads((await subscribed.receive(timeout=5)).data)
                assert note["method"] == "eth_subscription"
        finally:
            await server.stop()

    try:
        asyncio.run(scenario())
    finally:
        made.close()


def test_http_filters_are_bounded_per_client_address(tmp_path: Path) -> None:
    from baychain.rpc.server import RpcAccess

    made = Rig(tmp_path / "chain", "ecdsa", RpcLimits(max_filters=4))

    async def new_filter(server: RpcServer, source: str) -> dict[str, Any]:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector) as client, client.post(
            server.url, json=body("eth_newBlockFilter")
        ) as answer:
            reply: dict[str, Any] = await answer.json()
            return reply

    async def scenario() -> None:
        server = RpcServer(made.service, "127.0.0.1", 0, RpcAccess(filters_per_client=2))
        await server.start()
        try:
            greedy = [await new_filter(server, "127.0.0.2") for _ in range(3)]
            assert ["result" in answer for answer in greedy] == [True, True, False]
            assert greedy[2]["error"]["code"] == -32005
            assert "this client" in greedy[2]["error"]["message"]
            others = [await new_filter(server, "127.0.0.3") for _ in range(2)]
            assert all("result" in answer for answer in others)
            late = await new_filter(server, "127.0.0.4")
            assert late["error"]["code"] == -32005 and "node-wide" in late["error"]["message"]
            async with aiohttp.ClientSession() as client, client.post(  # ids are node-wide
                server.url, json=body("eth_getFilterChanges", greedy[0]["result"])
            ) as polled:
                assert (await polled.json())["result"] == []
        finally:
            await server.stop()

    try:
        asyncio.run(scenario())
    finally:
        made.close()


# -- a real node process --------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the ephemeral range."""
    return free_port_base(1)


class NodeProcess:
    """``baychain init`` then ``baychain node`` with the listener given on the command line."""

    def __init__(self, directory: Path) -> None:
        made = subprocess.run(
            [sys.executable, "-m", "baychain", "init", "--dir", str(directory),
             "--dev-accounts", "2", "--block-interval-ms", "200", "--rpc-port", str(free_port())],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert made.returncode == 0, made.stderr
        self.port = free_port()  # not the one in node.toml: --rpc-port overrides it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "baychain", "node", "--dir", str(directory),
             "--rpc-host", "127.0.0.1", "--rpc-port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while not self._answers():
            assert self.process.poll() is None and time.monotonic() < deadline, "no start"
            time.sleep(0.1)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> str:
        self.process.terminate()
        output, _ = self.process.communicate(timeout=30)
        return output


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    running = NodeProcess(tmp_path_factory.mktemp("node") / "chain")
    yield running
    output = running.stop()
    assert running.process.returncode == 0, output
    assert "Traceback" not in output, output


async def rpc(client: aiohttp.ClientSession, url: str, method: str, *params: Any) -> Any:
    async with client.post(url, json=body(method, *params)) as answer:
        reply = await answer.json()
    assert "error" not in reply, reply
    return reply["result"]


async def still_serving(client: aiohttp.ClientSession, node: NodeProcess) -> None:
    """The node answers at once and keeps sealing blocks."""
    start = int(await rpc(client, node.url, "eth_blockNumber"), 16)
    deadline = time.monotonic() + 10
    while int(await rpc(client, node.url, "eth_blockNumber"), 16) < start + 2:
        assert time.monotonic() < deadline, "block production stalled"
        await asyncio.sleep(0.1)


def test_subscriptions_over_a_real_websocket(node: NodeProcess) -> None:
    key = dev_private_keys("ecdsa", 1)[0]
    alice = Signer.from_key("ecdsa", key)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as client, client.ws_connect(node.ws_url) as ws:
            chain_id = int(await rpc(client, node.url, "eth_chainId"), 16)
            await ws.send_str(json.dumps([body("eth_subscribe", "newHeads", id_=1),
                                          body("eth_subscribe", "logs", {}, id_=2),
                                          body("eth_subscribe", "newPendingTransactions",
                                               id_=3)]))
            ids = {a["id"]: a["result"] for a in json.loads((await ws.receive(timeout=5)).data)}
            raw = alice.sign(chain_id=chain_id, nonce=0, to=None, gas_limit=3_000_000,
                             data=TOKEN.deploy_data("Bay", "BAY", 10**6))
            tx_hash = await rpc(client, node.url, "eth_sendRawTransaction", hex_of(raw))
            seen: dict[str, list[Any]] = {name: [] for name in ids.values()}
            deadline = time.monotonic() + 15
            while not (seen[ids[2]] and len(seen[ids[1]]) >= 2 and seen[ids[3]]):
                assert time.monotonic() < deadline, seen
                message = json.loads((await ws.receive(timeout=5)).data)
                seen[message["params"]["subscription"]].append(message["params"]["result"])
            assert seen[ids[3]][0] == tx_hash
            assert seen[ids[2]][0]["transactionHash"] == tx_hash
            numbers = [int(head["number"], 16) for head in seen[ids[1]]]
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)

    asyncio.run(scenario())


def test_bad_clients_get_standard_answers_and_the_node_keeps_serving(node: NodeProcess) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as client:
            async with client.post(node.url, data=b"{not json") as broken:
                assert (await broken.json())["error"]["code"] == -32700
            huge_batch = [body("eth_blockNumber", id_=i) for i in range(1_001)]
            async with client.post(node.url, json=huge_batch) as batch:
                assert (await batch.json())["error"]["code"] == -32600
            full_batch = [body("eth_blockNumber", id_=i) for i in range(1_000)]
            async with client.post(node.url, json=full_batch) as batch:
                assert len(await batch.json()) == 1_000
            too_big = b'{"jsonrpc": "2.0", "id": 1, "method": "web3_sha3", "params": ["0x' + (
                b"00" * (3 * 2**20)) + b'"]}'
            async with client.post(node.url, data=too_big) as refused:
                assert refused.status == 413
            wrong = body("eth_getBlockByHash", "0x" + "ab" * 32, False)
            async with client.post(node.url, json=wrong) as unknown:
                assert (await unknown.json())["result"] is None
            await still_serving(client, node)

    asyncio.run(scenario())


def ws_frame(text: bytes) -> bytes:
    """A masked client text frame (RFC 6455, section 5.2)."""
    mask = b"\x11\x22\x33\x44"
    length = len(text)
    header = b"\x81" + (bytes([0x80 | length]) if length < 126
                        else bytes([0x80 | 126]) + length.to_bytes(2, "big"))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(text))


def raw_subscriber(port: int) -> socket.socket:
    """A WebSocket client on a bare socket, subscribed to newHeads, that reads nothing more."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4_096)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    assert b"101" in sock.recv(1_024).split(b"\r\n")[0]
    sock.sendall(ws_frame(json.dumps(body("eth_subscribe", "newHeads")).encode()))
    return sock


def test_vanishing_and_stalling_clients_do_not_stall_the_node(node: NodeProcess) -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as client:
            vanishing = raw_subscriber(node.port)
            await asyncio.sleep(0.5)  # notifications are flowing to it
            vanishing.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
            vanishing.close()  # reset mid-subscription, without a close frame
            async with client.ws_connect(node.ws_url) as ws:
                await ws.send_str(json.dumps(body("eth_subscribe", "newHeads")))
                await ws.receive(timeout=5)
            # the aiohttp client closed politely; now one that never reads again
            stalled = raw_subscriber(node.port)
            half_sent = socket.create_connection(("127.0.0.1", node.port), timeout=5)
            half_sent.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
            try:
                await still_serving(client, node)
                assert await rpc(client, node.url, "eth_chainId")
            finally:
                stalled.close()
                half_sent.close()
            await still_serving(client, node)

    asyncio.run(scenario())
