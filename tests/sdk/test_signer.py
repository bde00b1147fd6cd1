"""The SDK's Signer builds the transaction type its chain's suite asks for."""

from __future__ import annotations

import pytest

from baychain.crypto import dev_private_keys, get_suite
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, SM2_TX_TYPE, decode_transaction
from baychain.primitives import Address
from baychain.sdk.client import Signer

CHAIN_ID = 77


@pytest.mark.parametrize(
    ("suite_name", "tx_type"), [("ecdsa", DYNAMIC_FEE_TX_TYPE), ("sm", SM2_TX_TYPE)]
)
def test_a_signed_transaction_decodes_on_its_chain_with_its_sender(
    suite_name: str, tx_type: int
) -> None:
    suite = get_suite(suite_name)
    signer = Signer.from_key(suite_name, dev_private_keys(suite_name, 1)[0])
    raw = signer.sign(chain_id=CHAIN_ID, nonce=3, to=Address(b"\x01" * 20), value=5)
    tx = decode_transaction(raw, suite, CHAIN_ID)
    assert (tx.tx_type, tx.nonce, tx.value, tx.sender) == (tx_type, 3, 5, signer.address)
