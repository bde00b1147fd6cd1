"""Every answer validated against the Ethereum execution-apis OpenRPC schema.

Each served method is called on a node with history (a deployed Token, transfers
with logs, a revert, a payment, a system-contract call) and its result validated
against the method's result schema in ``tests/rpc/schema/`` (source and licence
in its README). Methods the specification does not define (``web3_``,
``net_listening``, ``net_peerCount``, subscriptions, ``baychain_``) are checked
against the schemas written below, built from the specification's own pieces
where it has them. A method served but not checked here fails the test.

On ``sm`` chains, transactions have BayChain's type ``0x53``; the specification
knows no such type, so the SM run accepts ``0x53`` wherever it accepts ``0x2``
(the SM2 transaction carries exactly the EIP-1559 fields, plus ``publicKey``).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rpc_rig import TOKEN, Rig, hex_of

from baychain.execution.system import encode_call
from baychain.execution.system_config import SYSTEM_CONFIG_ADDRESS
from baychain.rpc.session import Session

SPEC_FILE = Path(__file__).parent / "schema" / "ethereum-execution-apis-openrpc.json"
QUANTITY = {"type": "string", "pattern": "^0x(0|[1-9a-f][0-9a-f]*)$"}
HASH = {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}
DATA = {"type": "string", "pattern": "^0x([0-9a-f]{2})*$"}
ADDRESS = {"type": "string", "pattern": "^0x[0-9a-f]{40}$"}
PROOF_DOCUMENT = {
    "type": "object",
    "required": ["transactionHash", "blockNumber", "blockHash", "header", "root", "rootName",
                 "leaf", "proof"],
    "properties": {
        "transactionHash": HASH, "blockNumber": QUANTITY, "blockHash": HASH, "header": DATA,
        "root": HASH, "rootName": {"enum": ["transactionsRoot", "receiptsRoot"]}, "leaf": DATA,
        "proof": {
            "type": "object",
            "required": ["suite", "leafIndex", "leafCount", "siblings"],
            "additionalProperties": False,
            "properties": {"suite": {"enum": ["ecdsa", "sm"]},
                           "leafIndex": {"type": "integer", "minimum": 0},
                           "leafCount": {"type": "integer", "minimum": 1},
                           "siblings": {"type": "array", "items": HASH}},
        },
        "logIndex": QUANTITY, "logPosition": {"type": "integer", "minimum": 0},
    },
}
NATIVE_RESULTS: dict[str, Any] = {
    "web3_clientVersion": {"type": "string", "minLength": 1},
    "web3_sha3": HASH,
    "net_listening": {"type": "boolean"},
    "net_peerCount": QUANTITY,
    "eth_subscribe": QUANTITY,
    "eth_unsubscribe": {"type": "boolean"},
    "baychain_status": {
        "type": "object",
        "required": ["height", "headHash", "stateRoot", "crypto", "chainId", "hardfork",
                     "pending", "queued"],
        "properties": {"height": QUANTITY, "headHash": HASH, "stateRoot": HASH,
                       "chainId": QUANTITY, "pending": {"type": "integer"},
                       "queued": {"type": "integer"}},
    },
    "baychain_nodeInfo": {
        "type": "object",
        "required": ["clientVersion", "chainId", "crypto", "hardfork", "consensus",
                     "genesisHash", "blockGasLimit", "baseFeePerGas", "validator"],
        "properties": {"chainId": QUANTITY, "genesisHash": HASH, "chainParamsHash": HASH,
                       "blockGasLimit": QUANTITY, "baseFeePerGas": QUANTITY,
                       "validator": ADDRESS, "blockIntervalMs": {"type": "integer"}},
    },
    "baychain_validators": {
        "type": "array", "minItems": 1,
        "items": {"type": "object", "required": ["name", "address", "publicKey", "power"],
                  "properties": {"address": ADDRESS, "publicKey": DATA, "power": QUANTITY}},
    },
    "baychain_getCommitCertificate": {
        "oneOf": [{"type": "null"}, {
            "type": "object", "required": ["blockNumber", "blockHash", "certificate"],
            "additionalProperties": False,
            "properties": {"blockNumber": QUANTITY, "blockHash": HASH, "certificate": DATA},
        }],
    },
    "baychain_getTransactionProof": {"oneOf": [{"type": "null"}, PROOF_DOCUMENT]},
    "baychain_getReceiptProof": {"oneOf": [{"type": "null"}, PROOF_DOCUMENT]},
}


@cache
def spec_results() -> dict[str, Any]:
    spec = json.loads(SPEC_FILE.read_text())
    return {method["name"]: method["result"]["schema"] for method in spec["methods"]}


def for_suite(schema: Any, crypto: str) -> Any:
    """The schema, with type 0x53 accepted wherever type 0x2 is on an sm chain."""
    if crypto != "sm":
        return schema
    widened = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("pattern") == "^0x2$":
                node["pattern"] = "^0x(2|53)$"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(widened)
    return widened


def result_schema(method: str, crypto: str) -> Any:
    results = spec_results()
    if method in results:
        return for_suite(results[method], crypto)
    if method == "baychain_getEventProof":
        log = results["eth_getLogs"]["oneOf"][1]["items"]
        event = copy.deepcopy(PROOF_DOCUMENT)
        event["required"] = [*event["required"], "logIndex", "logPosition", "log"]
        event["properties"]["log"] = log
        return {"oneOf": [{"type": "null"}, event]}
    return NATIVE_RESULTS[method]


def new_heads_schema() -> Any:
    """A block's schema without what a header notification leaves out."""
    block = copy.deepcopy(spec_results()["eth_getBlockByNumber"]["oneOf"][1])
    block["required"] = [f for f in block["required"]
                         if f not in ("transactions", "uncles", "size")]
    return block


def pending_tx_schema(crypto: str) -> Any:
    """A transaction's schema with the block fields null, as they are while it is pending.

    The specification describes committed transactions only; geth, like BayChain,
    answers a pending one with ``blockHash``, ``blockNumber`` and ``transactionIndex``
    null (and no ``blockTimestamp``).
    """
    pending = copy.deepcopy(spec_results()["eth_getTransactionByHash"]["oneOf"][1])
    pending["required"] = ["from", "hash", "blockHash", "blockNumber", "transactionIndex"]
    for field in ("blockHash", "blockNumber", "transactionIndex"):
        pending["properties"][field] = {"oneOf": [{"type": "null"}, pending["properties"][field]]}
    return for_suite(pending, crypto)


@pytest.fixture(params=["ecdsa", "sm"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", request.param)
    made.make_history()
    yield made
    made.close()


def calls(rig: Rig, socket: Session) -> list[tuple[str, tuple[Any, ...], Session | None]]:
    """(method, params, session) for every served method; some more than once."""
    first = rig.call("eth_getBlockByNumber", "0x1", False)
    alice, token = hex_of(rig.alice.address), hex_of(rig.token)
    transfer = TOKEN.call_data("transfer", rig.bob.address, 1)
    unknown = "0x" + "ab" * 32
    log_filter = rig.call("eth_newFilter", {"fromBlock": "0x0", "address": token})
    block_filter = rig.call("eth_newBlockFilter")
    pending_filter = rig.call("eth_newPendingTransactionFilter")
    subscription = rig.call("eth_subscribe", "newHeads", session=socket)
    pending_tx = rig.send(rig.carol, rig.alice.address, value=1, gas=21_000)
    rig.transfer(rig.alice, rig.carol.address, 3)
    rig.seal()
    return [
        ("web3_clientVersion", (), None),
        ("web3_sha3", ("0x1234",), None),
        ("net_version", (), None),
        ("net_listening", (), None),
        ("net_peerCount", (), None),
        ("eth_chainId", (), None),
        ("eth_syncing", (), None),
        ("eth_blockNumber", (), None),
        ("eth_accounts", (), None),
        ("eth_gasPrice", (), None),
        ("eth_maxPriorityFeePerGas", (), None),
        ("eth_feeHistory", ("0x4", "latest", [10, 90]), None),
        ("eth_feeHistory", ("0x2", "0x1", []), None),
        ("eth_getBalance", (alice, "latest"), None),
        ("eth_getCode", (token, "latest"), None),
        ("eth_getCode", (alice, "pending"), None),
        ("eth_getStorageAt", (token, "0x2", "latest"), None),
        ("eth_getTransactionCount", (alice, "latest"), None),
        ("eth_getTransactionCount", (alice, "pending"), None),
        ("eth_getBlockByNumber", ("0x1", True), None),
        ("eth_getBlockByNumber", ("0x0", False), None),
        ("eth_getBlockByNumber", ("0x99", False), None),
        ("eth_getBlockByHash", (first["hash"], True), None),
        ("eth_getBlockByHash", (unknown, False), None),
        ("eth_getBlockTransactionCountByNumber", ("0x1",), None),
        ("eth_getBlockTransactionCountByHash", (first["hash"],), None),
        ("eth_getBlockTransactionCountByHash", (unknown,), None),
        ("eth_getTransactionByHash", (rig.deploy,), None),
        ("eth_getTransactionByHash", (rig.first_transfer,), None),
        ("eth_getTransactionByHash", (unknown,), None),
        ("eth_getTransactionByBlockNumberAndIndex", ("0x1", "0x3"), None),
        ("eth_getTransactionByBlockHashAndIndex", (first["hash"], "0x0"), None),
        ("eth_getTransactionByBlockHashAndIndex", (first["hash"], "0x9"), None),
        ("eth_getTransactionReceipt", (rig.deploy,), None),
        ("eth_getTransactionReceipt", (rig.first_transfer,), None),
        ("eth_getTransactionReceipt", (rig.reverted,), None),
        ("eth_getTransactionReceipt", (rig.system_call,), None),
        ("eth_getTransactionReceipt", (unknown,), None),
        ("eth_getBlockReceipts", ("0x1",), None),
        ("eth_getBlockReceipts", ("0x99",), None),
        ("eth_sendRawTransaction",
         ("0x" + rig.sign(rig.bob, rig.alice.address, value=1, gas=21_000).hex(),), None),
        ("eth_call", ({"to": token, "input": hex_of(TOKEN.call_data("totalSupply"))},), None),
        ("eth_call", ({"to": hex_of(SYSTEM_CONFIG_ADDRESS),
                       "input": hex_of(encode_call("get", b"k"))}, "latest"), None),
        ("eth_estimateGas", ({"from": alice, "to": token, "input": hex_of(transfer)},), None),
        ("eth_getLogs", ({"fromBlock": "0x0", "toBlock": "latest"},), None),
        ("eth_getLogs", ({"blockHash": first["hash"], "topics": [None]},), None),
        ("eth_newFilter", ({"address": token},), None),
        ("eth_newBlockFilter", (), None),
        ("eth_newPendingTransactionFilter", (), None),
        ("eth_getFilterChanges", (log_filter,), None),
        ("eth_getFilterChanges", (block_filter,), None),
        ("eth_getFilterChanges", (pending_filter,), None),
        ("eth_getFilterLogs", (log_filter,), None),
        ("eth_uninstallFilter", (block_filter,), None),
        ("eth_subscribe", ("logs", {"address": token}), socket),
        ("eth_unsubscribe", (subscription,), socket),
        ("baychain_status", (), None),
        ("baychain_nodeInfo", (), None),
        ("baychain_validators", (), None),
        ("baychain_getCommitCertificate", ("0x1",), None),
        ("baychain_getCommitCertificate", ("0x99",), None),
        ("baychain_getTransactionProof", (pending_tx,), None),
        ("baychain_getTransactionProof", (unknown,), None),
        ("baychain_getReceiptProof", (rig.first_transfer,), None),
        ("baychain_getEventProof", (rig.first_transfer, "0x1"), None),
    ]


def test_every_served_method_answers_in_the_specified_shape(rig: Rig) -> None:
    socket = rig.service.open_session()
    checked = set()
    for method, params, session in calls(rig, socket):
        result = rig.call(method, *params, session=session)
        schema = result_schema(method, rig.crypto)
        jsonschema.Draft7Validator.check_schema(schema)
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(result), key=str)
        assert not errors, f"{method}{params}: {errors[0].message} at {list(errors[0].path)}"
        checked.add(method)
    assert checked == set(rig.service.dispatcher.methods)


def test_notifications_answer_in_the_specified_shape(rig: Rig) -> None:
    socket = rig.service.open_session()
    heads = rig.call("eth_subscribe", "newHeads", session=socket)
    logs = rig.call("eth_subscribe", "logs", session=socket)
    pending = rig.call("eth_subscribe", "newPendingTransactions", True, session=socket)
    rig.transfer(rig.alice, rig.bob.address, 1)
    rig.seal()
    messages = [json.loads(text) for text in asyncio.run(socket.drain()) or []]
    log_schema = spec_results()["eth_getLogs"]["oneOf"][1]["items"]
    schemas = {heads: new_heads_schema(), logs: log_schema, pending: pending_tx_schema(rig.crypto)}
    seen = set()
    for message in messages:
        params = message["params"]
        jsonschema.validate(params["result"], schemas[params["subscription"]])
        seen.add(params["subscription"])
    assert seen == {heads, logs, pending}
