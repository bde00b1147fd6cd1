"""The baychain_ namespace: node info, validators, certificates, and proofs verified offline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rpc_rig import Rig, RpcError, hex_of

from baychain.crypto import get_suite
from baychain.ledger.header import decode_header
from baychain.ledger.log import Log
from baychain.ledger.merkle import MerkleProof, verify_proof
from baychain.ledger.receipt import decode_receipt


@pytest.fixture(params=["ecdsa", "sm"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", request.param)
    made.make_history()
    yield made
    made.close()


def unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def verify_offline(document: dict[str, Any], suite_name: str) -> bool:
    """What a user does with a proof and nothing else (docs/json-rpc.md shows this code)."""
    header_bytes = unhex(document["header"])
    header = decode_header(header_bytes)
    if get_suite(suite_name).hash(header_bytes) != unhex(document["blockHash"]):
        return False
    root = (header.transactions_root if document["rootName"] == "transactionsRoot"
            else header.receipts_root)
    proof = MerkleProof.from_dict(document["proof"])
    return verify_proof(proof, unhex(document["leaf"]), root)


def test_node_info_and_validators(rig: Rig) -> None:
    info = rig.call("baychain_nodeInfo")
    assert info["crypto"] == rig.crypto and info["chainId"] == hex(rig.genesis.chain_id)
    assert info["consensus"] == "solo"
    assert info["genesisHash"] == rig.call("eth_getBlockByNumber", "0x0", False)["hash"]
    assert info["validator"] == hex_of(rig.node.validator_address)
    (validator,) = rig.call("baychain_validators")
    assert validator["address"] == info["validator"] and validator["power"] == "0x1"
    status = rig.call("baychain_status")
    assert status["height"] == "0x3" and status["crypto"] == rig.crypto


def test_commit_certificates_are_served_per_block(rig: Rig) -> None:
    certificate = rig.call("baychain_getCommitCertificate", "0x1")
    block = rig.call("eth_getBlockByNumber", "0x1", False)
    assert certificate == {"blockNumber": "0x1", "blockHash": block["hash"], "certificate": "0x"}
    assert rig.call("baychain_getCommitCertificate", block["hash"]) == certificate
    assert rig.call("baychain_getCommitCertificate", "0x99") is None


def test_transaction_proofs_verify_offline_and_only_for_their_leaf(rig: Rig) -> None:
    document = rig.call("baychain_getTransactionProof", rig.payment)
    assert document["leaf"] == rig.payment and document["blockNumber"] == "0x1"
    assert document["root"] == rig.call("eth_getBlockByNumber", "0x1", False)["transactionsRoot"]
    assert verify_offline(document, rig.crypto)
    forged = {**document, "leaf": rig.deploy}
    assert not verify_offline(forged, rig.crypto)
    wrong_header = {**document, "blockHash": "0x" + "00" * 32}
    assert not verify_offline(wrong_header, rig.crypto)
    assert rig.call("baychain_getTransactionProof", "0x" + "ab" * 32) is None


def test_receipt_and_event_proofs_verify_offline(rig: Rig) -> None:
    document = rig.call("baychain_getReceiptProof", rig.reverted)
    assert verify_offline(document, rig.crypto)
    receipt = decode_receipt(unhex(document["leaf"]))
    assert receipt.status == 0
    event = rig.call("baychain_getEventProof", rig.first_transfer, "0x1")
    assert verify_offline(event, rig.crypto)
    log = event["log"]
    proven = decode_receipt(unhex(event["leaf"])).logs[event["logPosition"]]
    assert proven == Log(
        address=unhex(log["address"]),  # type: ignore[arg-type]
        topics=tuple(unhex(topic) for topic in log["topics"]),  # type: ignore[arg-type]
        data=unhex(log["data"]),
    )
    assert log == rig.call("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x1"})[1]
    with pytest.raises(RpcError) as not_its_log:
        rig.call("baychain_getEventProof", rig.first_transfer, "0x0")
    assert not_its_log.value.code == -32602
    assert rig.call("baychain_getEventProof", "0x" + "ab" * 32, "0x0") is None
