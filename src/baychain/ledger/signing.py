"""Signing transactions: from the fields a sender chose to the canonical signed envelope.

The SDK, the tools and the tests build transactions here; nodes only decode
(:func:`baychain.ledger.transactions.decode_transaction`). Envelope layouts and
signing payloads are those described in :mod:`baychain.ledger.transactions`:

- legacy (EIP-155): the signer signs ``rlp([nonce, gas_price, gas, to, value,
  data, chain_id, 0, 0])`` and ``v = chain_id * 2 + 35 + recid``;
- types 1 and 2 (EIP-2930, EIP-1559): ``type || rlp([...fields up to the access
  list])``, the recovery id travelling as ``y_parity``;
- type 0x53 (SM2): ``0x53 || rlp([...nine fields..., public_key])``.
"""

from __future__ import annotations

from dataclasses import dataclass

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.ledger.access_list import AccessList, encode_access_list
from baychain.ledger.transactions import (
    ACCESS_LIST_TX_TYPE,
    LEGACY_TX_TYPE,
    SM2_TX_TYPE,
    Transaction,
    accepted_tx_types,
    decode_transaction,
    refuse_type,
)
from baychain.primitives import Address

__all__ = ["UnsignedTransaction", "sign_transaction", "signing_payload", "unsigned_of"]


@dataclass(frozen=True, slots=True)
class UnsignedTransaction:
    """The fields a sender signs. For types 0 and 1 the gas price goes in both fee fields."""

    tx_type: int
    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: Address | None
    value: int
    data: bytes = b""
    access_list: AccessList = ()


def _unsigned_fields(tx: UnsignedTransaction) -> list[rlp.Encodable]:
    """The RLP fields of ``tx`` up to (and including) its access list, in envelope order."""
    uint = rlp.encode_uint
    if tx.tx_type in (LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE):
        if tx.max_fee_per_gas != tx.max_priority_fee_per_gas:
            raise ValueError("types 0 and 1 have one gas price: set both fee fields to it")
        fees = [uint(tx.max_fee_per_gas)]
    else:
        fees = [uint(tx.max_priority_fee_per_gas), uint(tx.max_fee_per_gas)]
    to = b"" if tx.to is None else tx.to
    body: list[rlp.Encodable] = [
        uint(tx.nonce), *fees, uint(tx.gas_limit), to, uint(tx.value), tx.data
    ]
    if tx.tx_type == LEGACY_TX_TYPE:
        if tx.access_list:
            raise ValueError("a legacy transaction has no access list")
        return body
    return [uint(tx.chain_id), *body, encode_access_list(tx.access_list)]


def signing_payload(unsigned: UnsignedTransaction, public_key: bytes | None = None) -> bytes:
    """Return the bytes the sender signs (an ``ecdsa`` signer signs their keccak-256).

    Type 0x53 signs its signer's 64-byte ``public_key`` too, so it is required there.
    """
    fields = _unsigned_fields(unsigned)
    if unsigned.tx_type == LEGACY_TX_TYPE:
        return rlp.encode([*fields, rlp.encode_uint(unsigned.chain_id), b"", b""])
    if unsigned.tx_type == SM2_TX_TYPE:
        if public_key is None:
            raise ValueError("an SM2 transaction's signing payload includes the public key")
        fields.append(public_key)
    return bytes((unsigned.tx_type,)) + rlp.encode(fields)


def sign_transaction(
    unsigned: UnsignedTransaction, private_key: bytes, suite: CryptoSuite
) -> Transaction:
    """Sign ``unsigned`` with ``private_key`` and return it as a decoded transaction.

    The result's ``raw`` is the canonical envelope; it is passed back through
    :func:`decode_transaction`, so a signed transaction passes exactly the checks
    any node applies. Raise ``ValueError`` for fields no envelope of that type can
    carry, and the decoding errors for values out of range.
    """
    if unsigned.tx_type not in accepted_tx_types(suite):
        raise refuse_type(unsigned.tx_type, suite)
    fields = _unsigned_fields(unsigned)
    if unsigned.tx_type == SM2_TX_TYPE:
        public_key = suite.public_key(private_key)
        signature = suite.sign(private_key, signing_payload(unsigned, public_key))
        raw = bytes((SM2_TX_TYPE,)) + rlp.encode([*fields, public_key, signature])
        return decode_transaction(raw, suite, unsigned.chain_id)
    signature = suite.sign(private_key, signing_payload(unsigned))
    r_s = [signature[:32].lstrip(b"\0"), signature[32:64].lstrip(b"\0")]
    if unsigned.tx_type == LEGACY_TX_TYPE:
        v = unsigned.chain_id * 2 + 35 + signature[64]
        raw = rlp.encode([*fields, rlp.encode_uint(v), *r_s])
    else:
        y_parity = rlp.encode_uint(signature[64])
        raw = bytes((unsigned.tx_type,)) + rlp.encode([*fields, y_parity, *r_s])
    return decode_transaction(raw, suite, unsigned.chain_id)


def unsigned_of(tx: Transaction) -> UnsignedTransaction:
    """Return the fields of ``tx`` its sender signed (legacy: ``chain_id`` is never None here)."""
    if tx.chain_id is None:
        raise ValueError("a transaction without a chain id has no EIP-155 signing payload")
    return UnsignedTransaction(
        tx_type=tx.tx_type,
        chain_id=tx.chain_id,
        nonce=tx.nonce,
        max_priority_fee_per_gas=tx.max_priority_fee_per_gas,
        max_fee_per_gas=tx.max_fee_per_gas,
        gas_limit=tx.gas_limit,
        to=tx.to,
        value=tx.value,
        data=tx.data,
        access_list=tx.access_list,
    )
