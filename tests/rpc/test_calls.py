"""eth_call and eth_estimateGas: views, reverts (code 3), halts, gas estimates, system contracts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from evm_fixtures import create_address, load_artifact, revert_reason_data
from rpc_rig import TOKEN, Rig, RpcError, hex_of

from baychain.codec import rlp
from baychain.execution.system import encode_call
from baychain.execution.system_config import SYSTEM_CONFIG_ADDRESS
from baychain.primitives import Address

PROBE = load_artifact("Probe")
INVALID_OPCODE_RUNTIME = bytes.fromhex("60fe60005360016000f3")  # deploys the one-byte code 0xfe


@pytest.fixture(params=["ecdsa", "sm"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path / "chain", request.param)
    made.make_history()
    made.probe = Address(create_address(made.carol.address, 1))  # type: ignore[attr-defined]
    made.send(made.carol, None, PROBE.deploy_data(False))
    made.send(made.carol, None, INVALID_OPCODE_RUNTIME)
    made.broken = Address(create_address(made.carol.address, 2))  # type: ignore[attr-defined]
    made.seal()
    yield made
    made.close()


def call_object(rig: Rig, to: Address | None, data: bytes, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"input": hex_of(data), **extra}
    if to is not None:
        body["to"] = hex_of(to)
    return body


def test_view_calls_read_the_head_state(rig: Rig) -> None:
    balance = rig.call("eth_call", call_object(rig, rig.token,
                                               TOKEN.call_data("balanceOf", rig.bob.address)))
    assert int(balance, 16) == 3  # received 5, sent 2; the reverted transfer moved nothing
    legacy_field = {"to": hex_of(rig.token),
                    "data": hex_of(TOKEN.call_data("balanceOf", rig.bob.address))}
    assert rig.call("eth_call", legacy_field, "latest") == balance
    head = rig.call("eth_getBlockByNumber", "latest", False)
    info = rig.call("eth_call", call_object(rig, rig.probe, PROBE.call_data("blockInfo")),
                    {"blockHash": head["hash"]})
    number, timestamp, chain_id, coinbase, parent, base_fee, _, gas_limit = PROBE.decode_output(
        "blockInfo", bytes.fromhex(info[2:])
    )
    assert (number, timestamp, chain_id) == (4, int(head["timestamp"], 16), rig.genesis.chain_id)
    assert hex_of(coinbase) == head["miner"] and hex_of(parent) == head["parentHash"]
    assert base_fee == 0 and gas_limit == int(head["gasLimit"], 16)
    created = rig.call("eth_call", call_object(rig, None, PROBE.deploy_data(False)))
    assert created == hex_of(PROBE.deployed_bytecode)


def test_calls_commit_nothing(rig: Rig) -> None:
    before = rig.call("eth_getStorageAt", hex_of(rig.probe), "0x0")
    nonce = rig.call("eth_getTransactionCount", hex_of(rig.alice.address))
    rig.call("eth_call", call_object(rig, rig.probe, PROBE.call_data("set", 1, 2),
                                     **{"from": hex_of(rig.alice.address)}))
    assert rig.call("eth_getStorageAt", hex_of(rig.probe), "0x0") == before
    assert rig.call("eth_getTransactionCount", hex_of(rig.alice.address)) == nonce


def test_reverts_answer_code_3_with_reason_and_data(rig: Rig) -> None:
    with pytest.raises(RpcError) as reason:
        rig.call("eth_call", call_object(rig, rig.token,
                                         TOKEN.call_data("transfer", rig.alice.address, 10**30),
                                         **{"from": hex_of(rig.bob.address)}))
    assert reason.value.code == 3
    assert reason.value.message == "execution reverted: Token: balance too low"
    assert reason.value.data == hex_of(revert_reason_data("Token: balance too low"))
    caller = rig.carol.address
    with pytest.raises(RpcError) as custom:
        rig.call("eth_call", call_object(rig, rig.probe, PROBE.call_data("failWithCustomError", 9),
                                         **{"from": hex_of(caller)}))
    assert (custom.value.code, custom.value.message) == (3, "execution reverted")
    assert custom.value.data == hex_of(PROBE.error_data("Refused", caller, 9))
    with pytest.raises(RpcError) as estimated:
        rig.call("eth_estimateGas", call_object(rig, rig.probe, PROBE.call_data("failWithReason")))
    assert estimated.value.code == 3
    assert estimated.value.message == "execution reverted: Probe: refused with a reason"


def test_halts_and_refusals_answer_32000(rig: Rig) -> None:
    with pytest.raises(RpcError) as halted:
        rig.call("eth_call", call_object(rig, rig.broken, b""))
    assert halted.value.code == -32000 and "halted" in halted.value.message
    with pytest.raises(RpcError) as starved:
        starving = call_object(rig, rig.probe, PROBE.call_data("set", 1, 2), gas="0x7530")
        rig.call("eth_call", starving)
    assert starved.value.code == -32000 and "halted" in starved.value.message
    with pytest.raises(RpcError) as capped:
        rig.call("eth_estimateGas", call_object(rig, rig.broken, b""))
    assert capped.value.code == -32000
    assert "gas required exceeds allowance" in capped.value.message
    pauper = "0x" + "42" * 20
    with pytest.raises(RpcError) as poor:
        rig.call("eth_call", {"from": pauper, "to": hex_of(rig.bob.address), "value": "0x1"})
    assert poor.value.code == -32000 and "funds" in poor.value.message.lower()
    with pytest.raises(RpcError) as intrinsic:
        rig.call("eth_call", {"to": hex_of(rig.bob.address), "gas": "0x100"})
    assert intrinsic.value.code == -32000
    with pytest.raises(RpcError) as old:
        rig.call("eth_call", call_object(rig, rig.token, b""), "0x1")
    assert old.value.code == -32000 and "historical" in old.value.message
    with pytest.raises(RpcError) as overrides:
        rig.call("eth_call", call_object(rig, rig.token, b""), "latest", {"0x00": {}})
    assert overrides.value.code == -32602


def test_estimate_is_the_least_gas_that_succeeds(rig: Rig) -> None:
    alice = hex_of(rig.alice.address)
    plain = rig.call("eth_estimateGas", {"from": alice, "to": hex_of(rig.bob.address),
                                         "value": "0x1"})
    assert plain == hex(21_000)
    store = call_object(rig, rig.probe, PROBE.call_data("set", 77, 5), **{"from": alice})
    estimate = int(rig.call("eth_estimateGas", store), 16)
    assert estimate > 21_000 + 20_000
    rig.call("eth_call", {**store, "gas": hex(estimate)})
    with pytest.raises(RpcError):
        rig.call("eth_call", {**store, "gas": hex(estimate - 1)})
    # ... and a transaction sent with exactly that gas succeeds on chain
    tx_hash = rig.send(rig.alice, rig.probe, PROBE.call_data("set", 77, 5), gas=estimate)
    rig.seal()
    assert rig.call("eth_getTransactionReceipt", tx_hash)["status"] == "0x1"


def test_estimates_with_a_price_are_capped_by_the_balance(rig: Rig) -> None:
    balance = int(rig.call("eth_getBalance", hex_of(rig.carol.address)), 16)
    body = {"from": hex_of(rig.carol.address), "to": hex_of(rig.bob.address),
            "maxPriorityFeePerGas": "0x0"}
    # affords 30,000 gas (a transfer's 21,000), far from the block gas limit
    affordable = {**body, "maxFeePerGas": hex(balance // 30_000)}
    assert rig.call("eth_estimateGas", affordable) == hex(21_000)
    with pytest.raises(RpcError) as poor:
        rig.call("eth_estimateGas", {**body, "maxFeePerGas": hex(balance // 20_000)})
    assert poor.value.code == -32000


def test_system_contracts_answer_calls_too(rig: Rig) -> None:
    validator = rig.node.validator_address
    is_admin = rig.call("eth_call", call_object(rig, SYSTEM_CONFIG_ADDRESS,
                                                encode_call("is_admin", validator)))
    assert rlp.decode(bytes.fromhex(is_admin[2:])) == b"\x01"
    with pytest.raises(RpcError) as refused:
        rig.call("eth_call", call_object(rig, SYSTEM_CONFIG_ADDRESS,
                                         encode_call("set", b"k", bytes(32)),
                                         **{"from": hex_of(rig.alice.address)}))
    assert refused.value.code == 3 and "not an administrator" in refused.value.message
    allowed = call_object(rig, SYSTEM_CONFIG_ADDRESS, encode_call("set", b"k", bytes(32)),
                          **{"from": hex_of(validator)})
    assert rig.call("eth_call", allowed) == hex_of(rlp.encode(b""))
    estimate = int(rig.call("eth_estimateGas", allowed), 16)
    rig.call("eth_call", {**allowed, "gas": hex(estimate)})
    with pytest.raises(RpcError):
        rig.call("eth_call", {**allowed, "gas": hex(estimate - 1)})
