"""eth_subscribe in-process: newHeads, logs, newPendingTransactions, bounds and slow clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rpc_rig import Rig, RpcError, hex_of

from baychain.rpc.limits import RpcLimits
from baychain.rpc.session import Session


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", "ecdsa",
               RpcLimits(max_subscriptions_per_connection=4, max_queued_messages=5))
    made.make_history()
    yield made
    made.close()


def taken(session: Session) -> list[dict[str, Any]]:
    """The messages queued for the client, decoded."""
    if not session.queued:
        return []
    return [json.loads(text) for text in asyncio.run(session.drain()) or []]


def results(session: Session, subscription: str) -> list[Any]:
    messages = taken(session)
    assert all(m["method"] == "eth_subscription" for m in messages)
    return [m["params"]["result"] for m in messages if m["params"]["subscription"] == subscription]


def test_new_heads_follow_committed_blocks(rig: Rig) -> None:
    socket = rig.service.open_session()
    heads = rig.call("eth_subscribe", "newHeads", session=socket)
    assert heads.startswith("0x") and taken(socket) == []
    rig.seal()
    (head,) = results(socket, heads)
    block = rig.call("eth_getBlockByNumber", "latest", False)
    assert head == {key: value for key, value in block.items()
                    if key not in ("transactions", "uncles", "size", "totalDifficulty")}
    assert rig.call("eth_unsubscribe", heads, session=socket) is True
    assert rig.call("eth_unsubscribe", heads, session=socket) is False
    rig.seal()
    assert taken(socket) == []


def test_log_subscriptions_filter_like_get_logs(rig: Rig) -> None:
    socket = rig.service.open_session()
    to_carol = rig.call("eth_subscribe", "logs",
                        {"address": hex_of(rig.token),
                         "topics": [None, None, hex_of(bytes(12) + rig.carol.address)]},
                        session=socket)
    every = rig.call("eth_subscribe", "logs", session=socket)
    rig.transfer(rig.alice, rig.bob.address, 1)
    sent = rig.transfer(rig.alice, rig.carol.address, 2)
    rig.seal()
    messages = taken(socket)
    mine = [m["params"]["result"] for m in messages if m["params"]["subscription"] == to_carol]
    all_logs = [m["params"]["result"] for m in messages if m["params"]["subscription"] == every]
    assert [log["transactionHash"] for log in mine] == [sent]
    assert all_logs == rig.call("eth_getLogs", {"fromBlock": "latest"})
    assert mine[0] == all_logs[1]
    with pytest.raises(RpcError) as hashed:
        rig.call("eth_subscribe", "logs", {"blockHash": "0x" + "00" * 32}, session=socket)
    assert hashed.value.code == -32602


def test_pending_transactions_are_pushed_as_hashes_or_whole(rig: Rig) -> None:
    socket = rig.service.open_session()
    hashes = rig.call("eth_subscribe", "newPendingTransactions", session=socket)
    whole = rig.call("eth_subscribe", "newPendingTransactions", True, session=socket)
    sent = rig.send(rig.bob, rig.alice.address, value=3, gas=21_000)
    messages = taken(socket)
    by_id = {m["params"]["subscription"]: m["params"]["result"] for m in messages}
    assert by_id[hashes] == sent
    assert by_id[whole]["hash"] == sent and by_id[whole]["blockHash"] is None


def test_subscriptions_are_bounded_checked_and_end_with_the_connection(rig: Rig) -> None:
    socket = rig.service.open_session()
    for _ in range(4):
        rig.call("eth_subscribe", "newHeads", session=socket)
    with pytest.raises(RpcError) as full:
        rig.call("eth_subscribe", "newHeads", session=socket)
    assert full.value.code == -32005
    with pytest.raises(RpcError) as unknown:
        rig.call("eth_subscribe", "syncing", session=socket)
    assert unknown.value.code == -32602 and "newHeads" in unknown.value.message
    other = rig.service.open_session()
    with pytest.raises(RpcError) as options:
        rig.call("eth_subscribe", "newHeads", {"x": 1}, session=other)
    assert options.value.code == -32602
    theirs = rig.call("eth_subscribe", "newHeads", session=other)
    assert rig.call("eth_unsubscribe", theirs, session=socket) is False  # not socket's to end
    filter_id = rig.call("eth_newBlockFilter", session=socket)
    rig.service.close_session(socket)
    assert len(rig.service.subscriptions) == 1
    with pytest.raises(RpcError):
        rig.call("eth_getFilterChanges", filter_id)  # a connection's filters end with it too
    with pytest.raises(RpcError) as over_http:
        rig.call("eth_subscribe", "newHeads")
    assert over_http.value.code == -32601


def test_a_client_that_stops_reading_is_cut_off_not_buffered(rig: Rig) -> None:
    dropped: list[bool] = []
    socket = rig.service.open_session(on_overflow=lambda: dropped.append(True))
    rig.call("eth_subscribe", "newPendingTransactions", session=socket)
    for _ in range(7):  # five fit in the outbox
        rig.send(rig.alice, rig.bob.address, value=1, gas=21_000)
    assert dropped == [True] and socket.closed and socket.queued == 0
    assert asyncio.run(socket.drain()) is None
    rig.seal()  # the node carries on
    assert rig.call("eth_blockNumber") == "0x4"
