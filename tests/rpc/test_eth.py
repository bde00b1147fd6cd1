"""Blocks, transactions, receipts, state and fees over a node with history (both suites)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from evm_fixtures import create_address
from rpc_rig import TOKEN, Rig, RpcError, hex_of

from baychain.crypto import keccak256
from baychain.ledger.header import header_hash


@pytest.fixture(params=["ecdsa", "sm"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", request.param)
    made.make_history()
    yield made
    made.close()


def test_node_and_chain_identity(rig: Rig) -> None:
    assert rig.call("eth_chainId") == hex(rig.genesis.chain_id)
    assert rig.call("net_version") == str(rig.genesis.chain_id)
    assert rig.call("eth_blockNumber") == "0x3"
    assert rig.call("eth_syncing") is False
    assert rig.call("eth_accounts") == []
    assert rig.call("net_listening") is True
    assert rig.call("net_peerCount") == "0x0"
    assert rig.call("web3_clientVersion").startswith("BayChain/v")
    assert rig.call("web3_sha3", "0x68656c6c6f") == hex_of(keccak256(b"hello"))


def test_blocks_by_number_tag_and_hash_agree(rig: Rig) -> None:
    latest = rig.call("eth_getBlockByNumber", "latest", False)
    assert latest["number"] == "0x3" and latest["transactions"] == []
    for tag in ("pending", "safe", "finalized"):  # a BFT chain: all final, no pending block
        assert rig.call("eth_getBlockByNumber", tag, False) == latest
    genesis = rig.call("eth_getBlockByNumber", "earliest", False)
    assert genesis["number"] == "0x0" and genesis["parentHash"] == "0x" + "00" * 32
    first = rig.call("eth_getBlockByNumber", "0x1", True)
    assert [tx["hash"] for tx in first["transactions"]] == [
        rig.deploy, rig.first_transfer, rig.reverted, rig.payment
    ]
    assert rig.call("eth_getBlockByHash", first["hash"], True) == first
    header = rig.chain.block_at(1).header
    assert first["hash"] == hex_of(header_hash(header, rig.chain.suite))
    assert first["timestamp"] == hex(header.timestamp_ms // 1000)
    assert first["difficulty"] == "0x0" and first["uncles"] == []
    assert first["nonce"] == "0x" + "00" * 8 and first["mixHash"] == first["parentHash"]
    second = rig.call("eth_getBlockByNumber", "0x2", False)
    assert second["parentHash"] == first["hash"]
    assert rig.call("eth_getBlockByNumber", "0x99", False) is None
    assert rig.call("eth_getBlockByHash", "0x" + "ab" * 32, False) is None
    assert rig.call("eth_getBlockTransactionCountByNumber", "0x1") == "0x4"
    assert rig.call("eth_getBlockTransactionCountByHash", first["hash"]) == "0x4"
    assert rig.call("eth_getBlockTransactionCountByNumber", "0x99") is None
    assert rig.call("eth_getBlockTransactionCountByHash", "0x" + "ab" * 32) is None


def test_transactions_by_hash_and_position(rig: Rig) -> None:
    tx = rig.call("eth_getTransactionByHash", rig.first_transfer)
    assert tx["blockNumber"] == "0x1" and tx["transactionIndex"] == "0x1"
    assert tx["from"] == hex_of(rig.alice.address) and tx["to"] == hex_of(rig.token)
    assert tx["input"] == hex_of(TOKEN.call_data("transfer", rig.bob.address, 5))
    assert tx["type"] == ("0x2" if rig.crypto == "ecdsa" else "0x53")
    if rig.crypto == "sm":
        assert len(tx["publicKey"]) == 2 + 128
    deploy = rig.call("eth_getTransactionByHash", rig.deploy)
    assert deploy["to"] is None
    block_hash = tx["blockHash"]
    assert rig.call("eth_getTransactionByBlockHashAndIndex", block_hash, "0x1") == tx
    assert rig.call("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x1") == tx
    assert rig.call("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x9") is None
    assert rig.call("eth_getTransactionByBlockHashAndIndex", "0x" + "cd" * 32, "0x0") is None
    assert rig.call("eth_getTransactionByHash", "0x" + "ef" * 32) is None

    pending = rig.send(rig.alice, rig.bob.address, value=1, gas=21_000)
    seen = rig.call("eth_getTransactionByHash", pending)
    assert seen["blockHash"] is None and seen["blockNumber"] is None
    assert seen["transactionIndex"] is None and seen["gasPrice"] == seen["maxFeePerGas"]
    assert rig.call("eth_getTransactionReceipt", pending) is None


def test_receipts_number_logs_across_the_block(rig: Rig) -> None:
    deployed = rig.call("eth_getTransactionReceipt", rig.deploy)
    assert deployed["contractAddress"] == hex_of(create_address(rig.alice.address, 0))
    assert deployed["status"] == "0x1" and deployed["to"] is None
    assert [log["logIndex"] for log in deployed["logs"]] == ["0x0"]  # the mint
    moved = rig.call("eth_getTransactionReceipt", rig.first_transfer)
    assert [log["logIndex"] for log in moved["logs"]] == ["0x1"]
    assert moved["logs"][0]["topics"][0] == hex_of(TOKEN.event_topic("Transfer"))
    assert int(moved["cumulativeGasUsed"], 16) == int(deployed["gasUsed"], 16) + int(
        moved["gasUsed"], 16
    )
    failed = rig.call("eth_getTransactionReceipt", rig.reverted)
    assert failed["status"] == "0x0" and failed["logs"] == []
    system = rig.call("eth_getTransactionReceipt", rig.system_call)
    assert system["status"] == "0x1"
    by_block = rig.call("eth_getBlockReceipts", "0x1")
    assert [r["transactionHash"] for r in by_block] == [
        rig.deploy, rig.first_transfer, rig.reverted, rig.payment
    ]
    assert by_block[1] == moved
    assert rig.call("eth_getBlockReceipts", moved["blockHash"]) == by_block
    assert rig.call("eth_getBlockReceipts", "0x99") is None
    assert rig.call("eth_getBlockReceipts", "0x" + "12" * 32) is None


def test_state_is_served_at_the_head_only(rig: Rig) -> None:
    carol = hex_of(rig.carol.address)
    balance = int(rig.call("eth_getBalance", carol, "latest"), 16)
    assert balance == int(rig.call("eth_getBalance", carol), 16) > 7
    head = rig.call("eth_getBlockByNumber", "latest", False)
    assert rig.call("eth_getBalance", carol, head["number"]) == hex(balance)
    assert rig.call("eth_getBalance", carol, {"blockHash": head["hash"]}) == hex(balance)
    assert rig.call("eth_getBalance", carol, {"blockNumber": "0x3"}) == hex(balance)
    with pytest.raises(RpcError) as old:
        rig.call("eth_getBalance", carol, "0x1")
    assert old.value.code == -32000 and "historical state is not available" in old.value.message
    with pytest.raises(RpcError) as early:
        rig.call("eth_getCode", hex_of(rig.token), "earliest")
    assert early.value.code == -32000
    with pytest.raises(RpcError) as future:
        rig.call("eth_getBalance", carol, "0x99")
    assert future.value.code == -32001
    with pytest.raises(RpcError) as unknown:
        rig.call("eth_getBalance", carol, "0x" + "77" * 32)
    assert unknown.value.code == -32001

    assert rig.call("eth_getCode", hex_of(rig.token)) == hex_of(TOKEN.deployed_bytecode)
    assert rig.call("eth_getCode", carol) == "0x"
    name_slot = rig.call("eth_getStorageAt", hex_of(rig.token), "0x0", "latest")
    assert len(name_slot) == 66 and name_slot.startswith("0x426179")  # short string "Bay"
    alice = hex_of(rig.alice.address)
    assert rig.call("eth_getTransactionCount", alice, "latest") == "0x4"
    rig.send(rig.alice, rig.bob.address, value=1, gas=21_000)
    assert rig.call("eth_getTransactionCount", alice, "pending") == "0x5"
    assert rig.call("eth_getTransactionCount", alice, "latest") == "0x4"


def test_fee_suggestions_and_history(rig: Rig) -> None:
    assert rig.call("eth_gasPrice") == "0x0"  # base fee 0, everyone paid no tip
    assert rig.call("eth_maxPriorityFeePerGas") == "0x0"
    history = rig.call("eth_feeHistory", "0x2", "latest", [25, 75])
    assert history["oldestBlock"] == "0x2"
    assert history["baseFeePerGas"] == ["0x0", "0x0", "0x0"]
    assert len(history["gasUsedRatio"]) == 2 and history["gasUsedRatio"][1] == 0
    assert 0 < history["gasUsedRatio"][0] < 1
    assert history["reward"] == [["0x0", "0x0"], ["0x0", "0x0"]]
    clamped = rig.call("eth_feeHistory", 50, "0x1", [])
    assert clamped["oldestBlock"] == "0x0" and len(clamped["gasUsedRatio"]) == 2
    assert "reward" not in clamped
    with pytest.raises(RpcError):
        rig.call("eth_feeHistory", "0x1", "0x99", [])


def test_tips_paid_show_in_suggestions_and_history(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "chain", "ecdsa")
    try:
        for nonce, tip in enumerate((1, 2, 3, 100)):
            raw = rig.alice.sign(chain_id=rig.genesis.chain_id, nonce=nonce, to=rig.bob.address,
                                 max_fee_per_gas=tip, max_priority_fee_per_gas=tip)
            rig.call("eth_sendRawTransaction", hex_of(raw))
        rig.seal()
        assert rig.call("eth_maxPriorityFeePerGas") == "0x2"  # 60th percentile of 1, 2, 3, 100
        history = rig.call("eth_feeHistory", "0x1", "latest", [0, 50, 100])
        assert history["reward"] == [["0x1", "0x2", "0x64"]]
    finally:
        rig.close()
