"""The py-evm oracle on its own: known results computed by hand from the Yellow Paper and EIPs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from evm_fixtures import create_address, load_artifact, revert_reason_data
from pyevm_oracle import (
    DEV_KEYS,
    EMPTY_ACCOUNT,
    OracleEnv,
    OracleTx,
    alloc_state_root,
    default_block_hash,
    dev_address,
    run_block_pyevm,
    run_transactions_pyevm,
)

ALICE, BOB = dev_address(DEV_KEYS[0]), dev_address(DEV_KEYS[1])
CAROL = bytes.fromhex("00000000000000000000000000000000000ca201")
COINBASE = bytes.fromhex("c0ffee0000000000000000000000000000000001")
ETHER = 10**18
TX_BASE_GAS = 21_000  # G_transaction, Yellow Paper appendix G
ENV = OracleEnv(number=7, timestamp=1_700_000_000, coinbase=COINBASE, prevrandao=b"\x5a" * 32)
ALLOC: dict[bytes, tuple[int, int, bytes, dict[int, int]]] = {
    ALICE: (100 * ETHER, 0, b"", {}),
    BOB: (5 * ETHER, 3, b"", {}),
}


def test_value_transfer_to_a_new_account_costs_21000_gas_and_creates_it() -> None:
    tx = OracleTx(caller=ALICE, to=CAROL, nonce=0, value=ETHER, gas_limit=TX_BASE_GAS)
    [outcome], post = run_block_pyevm(ENV, [tx], ALLOC)
    assert outcome.valid and outcome.success
    assert outcome.gas_used == TX_BASE_GAS
    assert outcome.output == b"" and outcome.logs == () and outcome.created_address is None
    assert post[ALICE] == (99 * ETHER, 1, b"", {})
    assert post[CAROL] == (ETHER, 0, b"", {})
    # a zero fee leaves the coinbase empty, and EIP-161 removes an empty touched account
    assert post[COINBASE] == EMPTY_ACCOUNT


def test_gas_price_with_zero_base_fee_pays_the_whole_price_to_the_coinbase() -> None:
    price = 7
    legacy = OracleTx(caller=BOB, to=CAROL, nonce=3, value=1, gas_limit=50_000,
                      tx_type=0, gas_price=price, max_fee_per_gas=None,
                      max_priority_fee_per_gas=None)
    [outcome], post = run_block_pyevm(ENV, [legacy], ALLOC)
    assert outcome.valid and outcome.gas_used == TX_BASE_GAS
    assert post[BOB].balance == 5 * ETHER - 1 - TX_BASE_GAS * price
    assert post[COINBASE].balance == TX_BASE_GAS * price


def test_token_deploy_and_transfer() -> None:
    token = load_artifact("Token")
    supply = 1_000_000 * ETHER
    deploy = OracleTx(caller=ALICE, to=None, nonce=0, gas_limit=2_000_000,
                      data=token.deploy_data("Bay Token", "BAY", supply))
    address = create_address(ALICE, 0)
    transfer = OracleTx(caller=ALICE, to=address, nonce=1, gas_limit=100_000,
                        data=token.call_data("transfer", BOB, 250))
    balance = OracleTx(caller=BOB, to=address, nonce=3, gas_limit=100_000,
                       data=token.call_data("balanceOf", BOB))
    outcomes, post = run_block_pyevm(ENV, [deploy, transfer, balance], ALLOC)

    assert [o.success for o in outcomes] == [True, True, True]
    assert outcomes[0].created_address == address
    assert post[address].code == token.deployed_bytecode
    assert post[address].nonce == 1  # a new contract starts at nonce 1 (EIP-161)
    transfer_topic = token.event_topic("Transfer")
    mint_log, move_log = outcomes[0].logs[0], outcomes[1].logs[0]
    assert mint_log.address == address
    assert mint_log.topics == (transfer_topic, bytes(32), bytes(12) + ALICE)
    assert int.from_bytes(mint_log.data, "big") == supply
    assert move_log.topics == (transfer_topic, bytes(12) + ALICE, bytes(12) + BOB)
    assert token.decode_output("balanceOf", outcomes[2].output) == (250,)


def test_nonce_too_low_is_invalid_and_changes_nothing() -> None:
    first = OracleTx(caller=ALICE, to=CAROL, nonce=0, value=1, gas_limit=TX_BASE_GAS)
    replay = OracleTx(caller=ALICE, to=CAROL, nonce=0, value=1, gas_limit=TX_BASE_GAS)
    outcomes, post = run_block_pyevm(ENV, [first, replay], ALLOC)
    assert outcomes[0].valid
    assert not outcomes[1].valid and "nonce" in (outcomes[1].error or "").lower()
    assert outcomes[1].gas_used == 0
    assert post[CAROL].balance == 1 and post[ALICE].nonce == 1


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"chain_id": 1}, "chain id"),
        ({"gas_limit": 20_000}, "intrinsic"),
        ({"gas_limit": 31_000_000}, "gas limit"),
        ({"value": 10**30}, "balance"),
        ({"max_fee_per_gas": 1, "max_priority_fee_per_gas": 2}, "priority"),
    ],
)
def test_invalid_transactions_are_reported_not_executed(
    change: dict[str, Any], needle: str
) -> None:
    tx = replace(OracleTx(caller=ALICE, to=CAROL, nonce=0, value=1, gas_limit=TX_BASE_GAS),
                 **change)
    [outcome], post = run_block_pyevm(ENV, [tx], ALLOC)
    assert not outcome.valid
    assert needle in (outcome.error or "").lower()
    assert post == {}


def test_revert_reason_and_block_context_are_visible() -> None:
    probe = load_artifact("Probe")
    address = create_address(ALICE, 0)
    txs = [
        OracleTx(caller=ALICE, to=None, nonce=0, gas_limit=3_000_000,
                 data=probe.deploy_data(False)),
        OracleTx(caller=ALICE, to=address, nonce=1, data=probe.call_data("failWithReason")),
        OracleTx(caller=ALICE, to=address, nonce=2, data=probe.call_data("blockInfo")),
    ]
    outcomes, _ = run_block_pyevm(ENV, txs, ALLOC)
    deployed, reverted, info = outcomes
    assert deployed.success
    assert not reverted.success and reverted.valid
    assert reverted.output == revert_reason_data("Probe: refused with a reason")
    assert reverted.logs == ()
    assert probe.decode_output("blockInfo", info.output) == (
        ENV.number, ENV.timestamp, ENV.chain_id, COINBASE,
        default_block_hash(ENV.number - 1), 0, int.from_bytes(ENV.prevrandao, "big"),
        ENV.gas_limit,
    )


def test_unknown_caller_is_a_test_bug() -> None:
    with pytest.raises(LookupError):
        run_block_pyevm(ENV, [OracleTx(caller=CAROL, to=ALICE, nonce=0)], ALLOC)


def test_reported_post_state_accounts_for_every_change_to_the_state_root() -> None:
    token, probe = load_artifact("Token"), load_artifact("Probe")
    token_at, probe_at = create_address(ALICE, 0), create_address(ALICE, 2)
    txs = [
        OracleTx(caller=ALICE, to=None, nonce=0, gas_limit=2_000_000,
                 data=token.deploy_data("Bay", "BAY", 10**6)),
        OracleTx(caller=ALICE, to=token_at, nonce=1, data=token.call_data("transfer", CAROL, 5)),
        OracleTx(caller=ALICE, to=None, nonce=2, value=50, gas_limit=3_000_000,
                 data=probe.deploy_data(False)),
        OracleTx(caller=BOB, to=probe_at, nonce=3, data=probe.call_data("set", 1, 2)),
        OracleTx(caller=BOB, to=probe_at, nonce=4, data=probe.call_data("clear", 1)),
        OracleTx(caller=BOB, to=probe_at, nonce=5, value=9,
                 data=probe.call_data("spawnAndDestroy", 3)),
        OracleTx(caller=BOB, to=probe_at, nonce=6, data=probe.call_data("spawn", 4)),
        OracleTx(caller=BOB, to=None, nonce=7, value=8, gas_limit=3_000_000,
                 data=probe.deploy_data(True)),
        OracleTx(caller=ALICE, to=probe_at, nonce=3, data=probe.call_data("destroy")),
        OracleTx(caller=ALICE, to=CAROL, nonce=4, value=1, gas_limit=TX_BASE_GAS,
                 tx_type=0, gas_price=3, max_fee_per_gas=None),
    ]
    block = run_transactions_pyevm(ENV, txs, ALLOC)
    assert all(o.success for o in block.outcomes), [o.error for o in block.outcomes]
    assert block.state_root != alloc_state_root(ALLOC)
    assert alloc_state_root({**ALLOC, **block.post_state}) == block.state_root


def test_only_cancun_is_oracled() -> None:
    @dataclass(frozen=True)
    class PragueEnv(OracleEnv):
        spec: str = "prague"

    with pytest.raises(ValueError, match="Cancun only"):
        run_block_pyevm(PragueEnv(number=1, timestamp=1, coinbase=COINBASE), [], ALLOC)
