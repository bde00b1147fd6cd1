"""JSON-RPC framing: standard error codes, batches, notifications, parameter checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rpc_rig import Rig, hex_of

from baychain.errors import (
    CorruptStore,
    ExecutionReverted,
    HistoricalStateUnavailable,
    NonceTooLow,
    NotFound,
    StoreError,
)
from baychain.rpc.jsonrpc import Dispatcher, InvalidParams, LimitExceeded, error_for
from baychain.rpc.limits import RpcLimits


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", "ecdsa", RpcLimits(max_batch_length=5))
    yield made
    made.close()


def request(method: str, *params: Any, id_: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}


def test_framing_errors_use_the_standard_codes(fresh: Rig) -> None:
    assert fresh.raw("{not json")["error"]["code"] == -32700
    assert fresh.raw(b"\xff\xfe")["error"]["code"] == -32700
    for invalid in (
        {"id": 1, "method": "eth_chainId"},
        {"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        {"jsonrpc": "2.0", "id": [1], "method": "eth_chainId"},
        42,
        [],
    ):
        assert fresh.raw(invalid)["error"]["code"] == -32600, invalid
    missing = fresh.raw(request("eth_nothing"))
    assert missing["error"]["code"] == -32601 and "eth_nothing" in missing["error"]["message"]
    by_name = fresh.raw({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": {"a": 1}})
    assert by_name["error"]["code"] == -32602
    no_params = fresh.raw({"jsonrpc": "2.0", "id": "x", "method": "eth_chainId"})
    assert no_params == {"jsonrpc": "2.0", "id": "x", "result": hex(fresh.genesis.chain_id)}


def test_wrong_counts_and_types_name_the_parameter(fresh: Rig) -> None:
    too_many = fresh.raw(request("eth_blockNumber", 1, 2))["error"]
    assert too_many["code"] == -32602 and "expected 0, got 2" in too_many["message"]
    too_few = fresh.raw(request("eth_getBalance"))["error"]
    assert too_few["code"] == -32602 and "1 to 2" in too_few["message"]
    cases = [
        (("eth_getBalance", "0x12", "latest"), "address"),
        (("eth_getBalance", 12, "latest"), "address"),
        (("eth_getBalance", "0x" + "00" * 20, "newest"), "block"),
        (("eth_getStorageAt", "0x" + "00" * 20, "slot1", "latest"), "slot"),
        (("eth_getBlockByNumber", "latest", "yes"), "full"),
        (("eth_getBlockByHash", "0x1234", False), "block hash"),
        (("eth_getTransactionReceipt", "0x" + "0" * 63), "transaction hash"),
        (("eth_sendRawTransaction", "0xabc"), "transaction"),
        (("eth_sendRawTransaction", "0xab cd"), "transaction"),  # even length, not hex
        (("eth_call", {"to": "0x1"}, "latest"), "transaction.to"),
        (("eth_call", {"gasPrice": "0x1", "maxFeePerGas": "0x1"}), "gasPrice"),
        (("eth_call", {"input": "0x00", "data": "0x01"}), "input and data"),
        (("eth_getLogs", {"topics": [[1]]}), "filter.topics[0][0]"),
        (("eth_getLogs", {"topics": ["0x00"] * 5}), "filter.topics"),
        (("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x1"}), "fromBlock"),
        (("eth_getLogs", {"blockHash": "0x" + "00" * 32, "fromBlock": "0x1"}), "blockHash"),
        (("eth_feeHistory", "0x2", "latest", [50, 10]), "rewardPercentiles"),
        (("eth_getFilterChanges", "filter"), "filter id"),
        (("eth_subscribe", "newHeads"), "WebSocket"),
    ]
    for (method, *params), named in cases:
        error = fresh.raw(request(method, *params))["error"]
        assert error["code"] in (-32602, -32601), (method, error)
        assert named in error["message"], (method, error)


def test_batches_answer_each_request_in_order_and_are_bounded(fresh: Rig) -> None:
    answers = fresh.raw([request("eth_chainId", id_=1), request("nope", id_=2),
                         {"jsonrpc": "2.0", "method": "eth_chainId"},  # a notification
                         request("eth_blockNumber", id_=3), 17])
    assert [a["id"] for a in answers] == [1, 2, 3, None]
    assert answers[0]["result"] == hex(fresh.genesis.chain_id)
    assert answers[1]["error"]["code"] == -32601
    assert answers[2]["result"] == "0x0"
    assert answers[3]["error"]["code"] == -32600
    too_long = fresh.raw([request("eth_chainId", id_=i) for i in range(6)])
    assert too_long["error"]["code"] == -32600 and "longer than 5" in too_long["error"]["message"]
    assert fresh.raw([{"jsonrpc": "2.0", "method": "eth_chainId"}]) is None
    assert fresh.raw({"jsonrpc": "2.0", "method": "eth_chainId"}) is None


def test_transaction_rejections_are_precise_32000_answers(fresh: Rig) -> None:
    raw = fresh.sign(fresh.alice, fresh.bob.address, value=9, gas=21_000)
    tx_hash = fresh.call("eth_sendRawTransaction", "0x" + raw.hex())
    again = fresh.answer("eth_sendRawTransaction", "0x" + raw.hex())["error"]
    assert again["code"] == -32000 and "already known" in again["message"]
    fresh.seal()
    assert fresh.call("eth_getTransactionReceipt", tx_hash)["status"] == "0x1"
    stale = fresh.answer("eth_sendRawTransaction", "0x" + raw.hex())["error"]
    assert stale["code"] == -32000 and "nonce too low" in stale["message"]
    foreign = fresh.alice.sign(chain_id=fresh.genesis.chain_id + 1, nonce=1, to=fresh.bob.address)
    wrong = fresh.answer("eth_sendRawTransaction", "0x" + foreign.hex())["error"]
    assert wrong["code"] == -32000 and "wrong chain id" in wrong["message"]
    poor = fresh.sign(fresh.alice, fresh.bob.address, value=10**40, gas=21_000)
    funds = fresh.answer("eth_sendRawTransaction", "0x" + poor.hex())["error"]
    assert funds["code"] == -32000 and "insufficient funds" in funds["message"]
    garbage = fresh.answer("eth_sendRawTransaction", "0x02c0ffee")["error"]
    assert garbage["code"] == -32000 and "malformed" in garbage["message"]


def test_errors_map_to_codes_at_one_boundary() -> None:
    assert error_for(InvalidParams("x")).code == -32602
    reverted = error_for(ExecutionReverted(b"\x01\x02", "why"))
    assert (reverted.code, reverted.data) == (3, "0x0102")
    assert reverted.message == "execution reverted: why"
    assert error_for(NotFound("gone")).code == -32001
    assert error_for(NonceTooLow(3, 2)).code == -32000
    assert error_for(HistoricalStateUnavailable(1, 5)).code == -32000
    assert error_for(StoreError("disk")).code == -32603
    internal = error_for(ZeroDivisionError("secret detail"))
    assert internal.code == -32603 and "secret" not in internal.message


def test_a_handler_bug_is_an_internal_error_and_the_dispatcher_keeps_serving() -> None:
    import asyncio

    dispatcher = Dispatcher()

    async def broken() -> None:
        raise TypeError("takes 1 positional argument")  # not a params error

    async def fine(value: int, extra: int = 0, *rest: int) -> int:
        return value + extra + sum(rest)

    dispatcher.register("broken", broken)
    dispatcher.register("fine", fine)

    def ask(body: dict[str, Any]) -> Any:
        return json.loads(asyncio.run(dispatcher.handle_text(json.dumps(body))) or "null")

    assert ask(request("broken"))["error"]["code"] == -32603
    assert ask(request("fine", 1, 2, 3))["result"] == 6
    answer = ask(request("fine"))
    assert answer["error"]["code"] == -32602 and "at least 1" in answer["error"]["message"]


def test_runs_of_a_batched_method_go_to_its_batch_handler() -> None:
    import asyncio

    dispatcher = Dispatcher()
    runs: list[list[list[Any]]] = []

    async def double(value: int) -> int:
        return 2 * value

    async def double_all(calls: list[list[Any]]) -> list[Any]:
        runs.append(calls)
        return [InvalidParams("odd") if value % 2 else 2 * value for value, in calls]

    async def other() -> str:
        return "other"

    dispatcher.register("double", double, batch_handler=double_all)
    dispatcher.register("other", other)

    def ask(body: Any) -> Any:
        return json.loads(asyncio.run(dispatcher.handle_text(json.dumps(body))) or "null")

    answers = ask([
        request("double", 1, id_=1), request("double", 2, id_=2),
        {"jsonrpc": "2.0", "method": "double", "params": [4]},  # a notification, in the run
        request("double", id_=3),  # wrong arity: answered alone, and it ends the run
        request("double", 6, id_=4), request("other", id_=5), request("double", 8, id_=6),
    ])  # fmt: skip
    assert runs == [[[1], [2], [4]], [[6]], [[8]]]
    assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6]
    assert answers[0]["error"]["code"] == -32602 and answers[0]["error"]["message"] == "odd"
    assert [answers[i]["result"] for i in (1, 3, 4, 5)] == [4, 12, "other", 16]
    assert answers[2]["error"]["code"] == -32602
    assert ask(request("double", 5))["result"] == 10  # a lone request takes the plain handler
    assert len(runs) == 3

    async def busy(calls: list[list[Any]]) -> list[Any]:
        raise LimitExceeded("the node is busy")

    dispatcher.register("double", double, batch_handler=busy)
    answers = ask([request("double", 1, id_=1), request("double", 2, id_=2)])
    assert [a["error"]["code"] for a in answers] == [-32005, -32005]


def test_a_batch_of_sends_answers_as_sends_one_by_one(tmp_path: Path) -> None:
    """A run of eth_sendRawTransaction in one batch: the same answers and pool, in order."""
    rigs = [Rig(tmp_path / name, "ecdsa") for name in ("single", "batch")]
    single, batched = rigs
    try:
        raws = [single.sign(single.alice, single.bob.address, value=1, gas=21_000)
                for _ in range(5)]  # fmt: skip
        bob = [single.sign(single.bob, single.alice.address, value=2, gas=21_000)
               for _ in range(3)]  # fmt: skip
        foreign = single.alice.sign(chain_id=single.genesis.chain_id + 1, nonce=5,
                                    to=single.bob.address)  # fmt: skip
        gap = single.sign(single.bob, single.alice.address, gas=21_000, nonce=900)
        params = [hex_of(raw) for raw in (raws[0], bob[0], raws[1], raws[1], bob[1], foreign,
                                          raws[2], gap, bob[2])]  # fmt: skip
        params[3:3] = ["0xzz", "0x02c0ffee"]  # not hex; malformed
        body = [request("eth_sendRawTransaction", p, id_=i) for i, p in enumerate(params)]
        body.insert(4, request("eth_blockNumber", id_="between"))
        expected = [single.raw(item) for item in body]
        got = batched.raw(body)
        assert got == expected
        kinds = {a["error"]["message"].split(":")[0] for a in got if "error" in a}
        assert len(kinds) >= 5  # invalid params, malformed, known, chain id, nonce gap
        assert [a.get("result") for a in got].count(None) == 5
        pools = [[tx.hash for tx in rig.node.mempool.pending_transactions()] for rig in rigs]
        assert pools[0] == pools[1] and len(pools[0]) == 6
    finally:
        for rig in rigs:
            rig.close()


def test_deeply_nested_json_is_a_parse_error_not_a_crash() -> None:
    import asyncio

    dispatcher = Dispatcher()

    async def echo(*values: Any) -> Any:
        return list(values)

    dispatcher.register("echo", echo)

    def ask(text: str) -> Any:
        return json.loads(asyncio.run(dispatcher.handle_text(text)) or "null")

    bomb = "[" * 100_000 + "]" * 100_000
    answer = ask(bomb)
    assert answer["error"] == {"code": -32700, "message": "parse error: nesting too deep"}
    inside = '{"jsonrpc": "2.0", "id": 1, "method": "echo", "params": [' + "[" * 64
    inside += "]" * 64 + "]}"
    assert ask(inside)["error"]["message"] == "parse error: nesting too deep"
    brackets_in_strings = json.dumps(request("echo", "[" * 1_000, "{" * 1_000))
    assert ask(brackets_in_strings)["result"] == ["[" * 1_000, "{" * 1_000]
    allowed = json.dumps(request("echo", json.loads("[" * 60 + "]" * 60)))
    assert "result" in ask(allowed)


def test_a_rust_panic_is_an_internal_error_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    # pyo3 raises pyo3_runtime.PanicException, which derives from BaseException.
    panic = type("PanicException", (BaseException,), {"__module__": "pyo3_runtime"})
    dispatcher = Dispatcher()

    async def panics() -> None:
        raise panic("called `Option::unwrap()` on a `None` value at src/block.rs:12")

    async def fine() -> int:
        return 1

    dispatcher.register("panics", panics)
    dispatcher.register("fine", fine)
    with caplog.at_level("ERROR", logger="baychain.rpc"):
        answer = json.loads(asyncio.run(dispatcher.handle_text(json.dumps(request("panics")))))
    assert answer["error"]["code"] == -32603
    assert "unwrap" not in answer["error"]["message"]
    assert "unwrap" in caplog.text
    batch = [request("panics", id_=1), request("fine", id_=2)]
    answers = json.loads(asyncio.run(dispatcher.handle_text(json.dumps(batch))) or "[]")
    assert [a.get("result") for a in answers] == [None, 1]


@pytest.mark.parametrize("error", [
    StoreError("/home/op/chain/data/data.mdb: MDB_MAP_FULL"),
    CorruptStore("/home/op/chain/data: block 7 has no header"),
    OSError("[Errno 5] Input/output error: '/home/op/chain/data/data.mdb'"),
])
def test_internal_errors_answer_a_reference_not_internals(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="baychain.rpc"):
        answer = error_for(error)
    assert answer.code == -32603
    assert "/home/op" not in answer.message and "mdb" not in answer.message.lower()
    reference = answer.message.rsplit(" ", 1)[-1]
    assert answer.message == f"internal error: see the node's log for reference {reference}"
    assert reference in caplog.text and "/home/op" in caplog.text
    assert error_for(StoreError("x")).message != answer.message  # one reference per error
