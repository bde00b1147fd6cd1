"""eth_getLogs (criteria, block hash, limits) and the polling filters (changes, expiry, bounds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rpc_rig import TOKEN, Rig, RpcError, hex_of

from baychain.rpc.limits import RpcLimits

TRANSFER = hex_of(TOKEN.event_topic("Transfer"))


def padded(address: bytes) -> str:
    return hex_of(bytes(12) + address)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", "ecdsa")
    made.make_history()
    yield made
    made.close()


@pytest.fixture
def tight(tmp_path: Path) -> Iterator[Rig]:
    limits = RpcLimits(max_log_block_range=3, max_log_results=2, max_filters=3,
                       filter_timeout_s=60, max_pending_filter_hashes=2)
    made = Rig(tmp_path / "chain", "ecdsa", limits)
    made.make_history()
    yield made
    made.close()


def test_get_logs_matches_addresses_and_topic_positions(rig: Rig) -> None:
    everything = rig.call("eth_getLogs", {"fromBlock": "earliest", "toBlock": "latest"})
    assert [log["logIndex"] for log in everything] == ["0x0", "0x1", "0x0", "0x1"]
    assert [log["blockNumber"] for log in everything] == ["0x1", "0x1", "0x2", "0x2"]
    assert all(log["address"] == hex_of(rig.token) and not log["removed"] for log in everything)
    assert everything[1]["transactionHash"] == rig.first_transfer
    assert rig.call("eth_getLogs", {"address": hex_of(rig.token)}) == []  # latest..latest
    by_address = {"fromBlock": "0x0", "toBlock": "0x99", "address": [hex_of(rig.token)]}
    assert rig.call("eth_getLogs", by_address) == everything
    from_alice = rig.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest",
                                          "topics": [TRANSFER, padded(rig.alice.address)]})
    assert [log["transactionHash"] for log in from_alice] == [
        rig.first_transfer, everything[2]["transactionHash"]
    ]
    either = rig.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "topics": [
        None, [padded(rig.bob.address), padded(bytes(20))]]})
    assert [log["logIndex"] for log in either] == ["0x0", "0x1"]  # the mint and bob's send
    to_carol = rig.call("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x2",
                                        "topics": [None, None, padded(rig.carol.address)]})
    assert len(to_carol) == 2
    too_specific = [TRANSFER, None, None, "0x" + "00" * 32]  # Transfer has 3 topics, not 4
    assert rig.call("eth_getLogs", {"fromBlock": "0x0", "topics": too_specific}) == []
    nobody = rig.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest",
                                      "address": "0x" + "99" * 20})
    assert nobody == []


def test_get_logs_by_block_hash(rig: Rig) -> None:
    block = rig.call("eth_getBlockByNumber", "0x2", False)
    logs = rig.call("eth_getLogs", {"blockHash": block["hash"]})
    assert [log["blockHash"] for log in logs] == [block["hash"]] * 2
    with pytest.raises(RpcError) as unknown:
        rig.call("eth_getLogs", {"blockHash": "0x" + "55" * 32})
    assert unknown.value.code == -32001
    assert rig.call("eth_getLogs", {"fromBlock": "0x50"}) == []  # after the head: nothing


def test_get_logs_limits_answer_32005(tight: Rig) -> None:
    with pytest.raises(RpcError) as wide:
        tight.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    assert wide.value.code == -32005 and "at most 3" in wide.value.message
    with pytest.raises(RpcError) as many:
        tight.call("eth_getLogs", {"fromBlock": "0x1", "toBlock": "0x3"})
    assert many.value.code == -32005 and "more than 2 logs" in many.value.message
    assert len(tight.call("eth_getLogs", {"fromBlock": "0x2", "toBlock": "0x3"})) == 2


def test_block_and_log_filters_report_what_is_new(rig: Rig) -> None:
    blocks = rig.call("eth_newBlockFilter")
    transfers = rig.call("eth_newFilter", {"address": hex_of(rig.token), "topics": [TRANSFER]})
    old = rig.call("eth_newFilter", {"fromBlock": "0x1", "toBlock": "0x1"})
    assert rig.call("eth_getFilterChanges", blocks) == []
    assert rig.call("eth_getFilterChanges", transfers) == []
    sent = rig.transfer(rig.carol, rig.alice.address, 1)
    rig.seal()
    rig.seal()
    new_blocks = rig.call("eth_getFilterChanges", blocks)
    assert new_blocks == [rig.call("eth_getBlockByNumber", hex(h), False)["hash"] for h in (4, 5)]
    assert rig.call("eth_getFilterChanges", blocks) == []
    (log,) = rig.call("eth_getFilterChanges", transfers)
    assert log["transactionHash"] == sent and log["blockNumber"] == "0x4"
    assert rig.call("eth_getFilterChanges", transfers) == []
    assert len(rig.call("eth_getFilterLogs", transfers)) == 0  # range: latest..latest (block 5)
    assert [entry["blockNumber"] for entry in rig.call("eth_getFilterLogs", old)] == ["0x1"] * 2
    assert rig.call("eth_getFilterChanges", old) == []  # block 1 is not new
    with pytest.raises(RpcError) as not_logs:
        rig.call("eth_getFilterLogs", blocks)
    assert not_logs.value.code == -32602
    assert rig.call("eth_uninstallFilter", blocks) is True
    assert rig.call("eth_uninstallFilter", blocks) is False
    with pytest.raises(RpcError) as gone:
        rig.call("eth_getFilterChanges", blocks)
    assert (gone.value.code, gone.value.message) == (-32000, "filter not found")


def test_pending_transaction_filters_buffer_hashes(tight: Rig) -> None:
    pending = tight.call("eth_newPendingTransactionFilter")
    sent = [tight.send(tight.alice, tight.bob.address, value=1, gas=21_000) for _ in range(3)]
    assert tight.call("eth_getFilterChanges", pending) == sent[1:]  # the newest two are kept
    assert tight.call("eth_getFilterChanges", pending) == []


def test_filters_expire_and_are_bounded(tight: Rig) -> None:
    first = tight.call("eth_newBlockFilter")
    tight.now = 50
    second = tight.call("eth_newBlockFilter")
    tight.call("eth_newPendingTransactionFilter")
    with pytest.raises(RpcError) as full:
        tight.call("eth_newBlockFilter")
    assert full.value.code == -32005 and "too many filters" in full.value.message
    tight.now = 100  # the first was last used at 0: idle for more than 60 s
    with pytest.raises(RpcError):
        tight.call("eth_getFilterChanges", first)
    assert tight.call("eth_getFilterChanges", second) == []  # used at 50: still alive
    tight.call("eth_newBlockFilter")  # the expired one made room


def test_log_filter_polls_return_whole_blocks_within_the_result_limit(tight: Rig) -> None:
    everything = tight.call("eth_newFilter", {})
    for _ in range(2):  # two blocks with two Transfer logs each
        tight.transfer(tight.alice, tight.bob.address, 1)
        tight.transfer(tight.alice, tight.carol.address, 1)
        tight.seal()
    tight.transfer(tight.alice, tight.bob.address, 1)
    tight.seal()
    pages = [tight.call("eth_getFilterChanges", everything) for _ in range(4)]
    assert [[log["blockNumber"] for log in page] for page in pages] == [
        ["0x4", "0x4"], ["0x5", "0x5"], ["0x6"], []
    ]
