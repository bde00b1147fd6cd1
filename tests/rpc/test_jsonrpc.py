"""JSON-RPC framing and the first eth_ methods, over an in-process node."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from baychain.crypto import dev_private_keys
from baychain.node.chain import Chain
from baychain.node.datadir import init_node_dir
from baychain.node.mempool_config import MempoolConfig
from baychain.node.node import Node
from baychain.rpc.eth import EthApi
from baychain.rpc.jsonrpc import Dispatcher
from baychain.sdk.client import Signer


@pytest.fixture
def rpc(tmp_path: Path) -> tuple[Dispatcher, Node, Signer]:
    result = init_node_dir(tmp_path, crypto="ecdsa", dev_accounts=1)
    chain = Chain.open(tmp_path / "data", result.genesis)
    node = Node(chain, MempoolConfig(), result.validator_address)
    dispatcher = Dispatcher()
    EthApi(node).register(dispatcher)
    yield dispatcher, node, Signer.from_key("ecdsa", dev_private_keys("ecdsa", 1)[0])  # type: ignore[misc]
    chain.close()


def ask(dispatcher: Dispatcher, body: Any) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    answer = asyncio.run(dispatcher.handle_text(text))
    return None if answer is None else json.loads(answer)


def request(method: str, *params: Any, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}


def test_framing_errors_use_the_standard_codes(rpc: tuple[Dispatcher, Node, Signer]) -> None:
    dispatcher, _, _ = rpc
    assert ask(dispatcher, "{not json")["error"]["code"] == -32700
    assert ask(dispatcher, {"id": 1, "method": "eth_chainId"})["error"]["code"] == -32600
    assert ask(dispatcher, [])["error"]["code"] == -32600
    missing = ask(dispatcher, request("eth_nothing"))
    assert missing["error"]["code"] == -32601 and "eth_nothing" in missing["error"]["message"]
    wrong_count = ask(dispatcher, request("eth_blockNumber", 1, 2))
    assert wrong_count["error"]["code"] == -32602
    bad_param = ask(dispatcher, request("eth_getBalance", "0x12", "latest"))
    assert bad_param["error"]["code"] == -32602 and "address" in bad_param["error"]["message"]
    assert ask(dispatcher, {"jsonrpc": "2.0", "method": "eth_chainId"}) is None  # notification


def test_batches_answer_each_request_in_order(rpc: tuple[Dispatcher, Node, Signer]) -> None:
    dispatcher, node, _ = rpc
    answers = ask(dispatcher, [request("eth_chainId", id_=1), request("nope", id_=2),
                               request("eth_blockNumber", id_=3)])
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert answers[0]["result"] == hex(node.genesis.chain_id)
    assert answers[1]["error"]["code"] == -32601
    assert answers[2]["result"] == "0x0"


def test_a_transaction_round_trip_and_precise_rejections(
    rpc: tuple[Dispatcher, Node, Signer],
) -> None:
    dispatcher, node, signer = rpc
    chain_id = node.genesis.chain_id
    raw = signer.sign(chain_id=chain_id, nonce=0, to=signer.address[::-1], value=9)
    sent = ask(dispatcher, request("eth_sendRawTransaction", "0x" + raw.hex()))
    tx_hash = sent["result"]
    assert ask(dispatcher, request("eth_getTransactionReceipt", tx_hash))["result"] is None
    pending = ask(dispatcher, request("eth_getTransactionCount", "0x" + signer.address.hex(),
                                      "pending"))
    assert pending["result"] == "0x1"
    node.seal_block(10_000)
    receipt = ask(dispatcher, request("eth_getTransactionReceipt", tx_hash))["result"]
    assert receipt["status"] == "0x1" and receipt["blockNumber"] == "0x1"
    assert receipt["gasUsed"] == hex(21_000) and receipt["logs"] == []
    block = ask(dispatcher, request("eth_getBlockByNumber", "latest", True))["result"]
    assert block["transactions"][0]["hash"] == tx_hash
    assert block["hash"] == receipt["blockHash"]
    by_hash = ask(dispatcher, request("eth_getBlockByHash", block["hash"], False))["result"]
    assert by_hash["transactions"] == [tx_hash]

    again = ask(dispatcher, request("eth_sendRawTransaction", "0x" + raw.hex()))
    assert again["error"]["code"] == -32000 and "nonce too low" in again["error"]["message"]
    foreign = signer.sign(chain_id=chain_id + 1, nonce=1, to=signer.address)
    wrong = ask(dispatcher, request("eth_sendRawTransaction", "0x" + foreign.hex()))
    assert wrong["error"]["code"] == -32000 and "chain id" in wrong["error"]["message"]
    garbage = ask(dispatcher, request("eth_sendRawTransaction", "0x02c0ffee"))
    assert garbage["error"]["code"] == -32000
    assert ask(dispatcher, request("eth_getBlockByNumber", "0x99", False))["result"] is None
