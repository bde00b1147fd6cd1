"""System contracts: SystemConfig via real signed transactions on a chain, fees and reverts."""

from __future__ import annotations

from pathlib import Path

import pytest

from baychain.codec import rlp
from baychain.crypto import dev_private_keys, get_suite
from baychain.execution.system import encode_call, revert_data
from baychain.execution.system_config import (
    CONFIG_CHANGED_TOPIC,
    SYSTEM_CONFIG_ADDRESS,
    value_slot,
)
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, Transaction
from baychain.node.chain import Chain
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.primitives import Address

SUITE = get_suite("ecdsa")
ADMIN_KEY, USER_KEY = dev_private_keys("ecdsa", 2)
ADMIN = SUITE.address(SUITE.public_key(ADMIN_KEY))
USER = SUITE.address(SUITE.public_key(USER_KEY))
PROPOSER = Address(b"\x99" * 20)
BASE_FEE = 7


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    admin_public = SUITE.public_key(ADMIN_KEY)
    genesis = Genesis(
        chain_id=5, crypto="ecdsa", hardfork="cancun", block_gas_limit=10_000_000,
        base_fee_per_gas=BASE_FEE, block_interval_ms=1000,
        validators=(Validator("admin", admin_public, 1, ADMIN),),
        alloc=((ADMIN, GenesisAccount(10**20)), (USER, GenesisAccount(10**20))),
    )
    opened = Chain.open(tmp_path, genesis)
    yield opened  # type: ignore[misc]
    opened.close()


def call(key: bytes, nonce: int, data: bytes, gas: int = 200_000, value: int = 0) -> Transaction:
    unsigned = UnsignedTransaction(DYNAMIC_FEE_TX_TYPE, 5, nonce, 2, 100, gas,
                                   SYSTEM_CONFIG_ADDRESS, value, data)
    return sign_transaction(unsigned, key, SUITE)


def test_an_admin_sets_a_parameter_and_pays_fees_like_an_evm_call(chain: Chain) -> None:
    word = (12345).to_bytes(32, "big")
    tx = call(ADMIN_KEY, 0, encode_call("set", b"max_block_txs", word))
    proposed = chain.build_block([tx], 1_000, PROPOSER)
    chain.commit(proposed)
    (receipt,) = proposed.receipts
    assert receipt.status == 1
    (log,) = receipt.logs
    assert log.address == SYSTEM_CONFIG_ADDRESS and log.topics[0] == CONFIG_CHANGED_TOPIC
    assert log.data == word
    with chain.state() as view:
        assert view.storage(SYSTEM_CONFIG_ADDRESS, value_slot(b"max_block_txs")) == 12345
        assert view.nonce(ADMIN) == 1
        assert view.balance(ADMIN) == 10**20 - receipt.gas_used * (BASE_FEE + 2)
        assert view.balance(PROPOSER) == receipt.gas_used * 2  # the tip; the base fee burns


def test_a_non_admin_is_reverted_with_a_reason_and_still_pays(chain: Chain) -> None:
    tx = call(USER_KEY, 0, encode_call("set", b"k", bytes(32)))
    proposed = chain.build_block([tx], 1_000, PROPOSER)
    chain.commit(proposed)
    (receipt,) = proposed.receipts
    assert receipt.status == 0
    assert receipt.output == revert_data(
        f"SystemConfig: 0x{USER.hex()} is not an administrator"
    )
    with chain.state() as view:
        assert view.nonce(USER) == 1
        assert view.storage(SYSTEM_CONFIG_ADDRESS, value_slot(b"k")) == 0


def test_admins_can_be_added_but_the_last_one_not_removed(chain: Chain) -> None:
    txs = [
        call(ADMIN_KEY, 0, encode_call("add_admin", USER)),
        call(USER_KEY, 0, encode_call("remove_admin", ADMIN)),
        call(USER_KEY, 1, encode_call("remove_admin", USER)),
    ]
    proposed = chain.build_block(txs, 1_000, PROPOSER)
    assert [r.status for r in proposed.receipts] == [1, 1, 0]
    assert b"cannot remove the last admin" in proposed.receipts[2].output


@pytest.mark.parametrize(
    ("data", "gas", "value", "reason"),
    [
        (b"\xff", 200_000, 0, b"malformed call data"),
        (encode_call("nope"), 200_000, 0, b"no method"),
        (encode_call("get"), 200_000, 0, b"takes 1 arguments"),
        (encode_call("get", b"k"), 200_000, 1, b"does not accept value"),
        (encode_call("set", b"k", bytes(32)), 30_000, 0, b"out of gas"),
    ],
)
def test_bad_calls_revert_cleanly(chain: Chain, data: bytes, gas: int, value: int,
                                  reason: bytes) -> None:
    proposed = chain.build_block([call(ADMIN_KEY, 0, data, gas, value)], 1_000, PROPOSER)
    (receipt,) = proposed.receipts
    assert receipt.status == 0 and reason in receipt.output
    if reason == b"out of gas":
        assert receipt.gas_used == gas


def test_system_and_evm_transactions_interleave_on_one_state(chain: Chain) -> None:
    word = (1).to_bytes(32, "big")
    unsigned = UnsignedTransaction(DYNAMIC_FEE_TX_TYPE, 5, 1, 0, 100, 21_000, USER, 5)
    txs = [
        call(ADMIN_KEY, 0, encode_call("set", b"a", word)),
        sign_transaction(unsigned, ADMIN_KEY, SUITE),
        call(ADMIN_KEY, 2, encode_call("get", b"a")),
        call(ADMIN_KEY, 1, encode_call("get", b"a")),  # stale nonce: refused, block goes on
    ]
    proposed = chain.build_block(txs, 1_000, PROPOSER)
    assert [r.status for r in proposed.receipts] == [1, 1, 1]
    assert rlp.decode(proposed.receipts[2].output) == word
    assert len(proposed.rejected) == 1 and "nonce too low" in str(proposed.rejected[0][1])
    chain.commit(proposed)
    assert chain.account(USER).balance == 10**20 + 5
