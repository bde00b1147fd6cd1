"""Fuzz targets ``tx_ecdsa`` and ``tx_sm``: :func:`baychain.ledger.transactions.decode_transaction`.

Properties of an accepted input: the transaction keeps its exact bytes and their
suite hash, its sender is the address of its public key, and the batch decoder
(``decode_transactions``) returns the same transaction.
"""

from __future__ import annotations

from functools import partial

from baychain.crypto import get_suite
from baychain.ledger.transactions import decode_transaction, decode_transactions
from fuzz.harness import PROPERTY_CHECK_MAX_BYTES, PropertyViolation, Target
from fuzz.seeds import CHAIN_ID, transactions


def check(suite_name: str, data: bytes) -> None:
    """Decode ``data`` as a transaction of a ``suite_name`` chain and check it."""
    suite = get_suite(suite_name)
    tx = decode_transaction(data, suite, CHAIN_ID)
    if tx.raw != data or tx.hash != suite.hash(data):
        raise PropertyViolation("the decoded transaction lost its bytes or hash")
    if tx.sender != suite.address(tx.public_key):
        raise PropertyViolation("sender is not the address of the public key")
    if len(data) > PROPERTY_CHECK_MAX_BYTES:
        return
    if decode_transactions([data], suite, CHAIN_ID) != [tx]:
        raise PropertyViolation("decode_transactions disagrees with decode_transaction")


_TYPES = (b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\x53", b"\x7f")

TARGETS = [
    Target(
        f"tx_{name}",
        partial(check, name),
        partial(lambda name: list(transactions(name)), name),
        dictionary=_TYPES,
    )
    for name in ("ecdsa", "sm")
]
