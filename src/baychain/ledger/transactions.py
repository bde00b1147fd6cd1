"""Signed transactions: the envelopes a chain accepts, decoded once with their sender.

Envelopes (all values RLP-encoded; see ``baychain.codec.rlp``):

- ``LEGACY`` (type 0, EIP-155): ``rlp([nonce, gas_price, gas, to, value, data, v, r, s])``
- ``ACCESS_LIST`` (type 1, EIP-2930): ``0x01 || rlp([chain_id, nonce, gas_price, gas, to,
  value, data, access_list, y_parity, r, s])``
- ``DYNAMIC_FEE`` (type 2, EIP-1559): ``0x02 || rlp([chain_id, nonce, max_priority_fee,
  max_fee, gas, to, value, data, access_list, y_parity, r, s])``
- ``SM2`` (type 0x53, BayChain): ``0x53 || rlp([chain_id, nonce, max_priority_fee,
  max_fee, gas, to, value, data, access_list, public_key, signature])`` where
  ``public_key`` is the signer's 64-byte SM2 key and ``signature`` is r || s
  (64 bytes) over ``0x53 || rlp([...the nine fields before public_key..., public_key])``.

``ecdsa`` chains accept types 0, 1 and 2; ``sm`` chains accept only type 0x53.
Which set applies follows from the suite: a suite that recovers public keys from
signatures takes the Ethereum envelopes, one that does not takes 0x53.
A transaction's hash is the suite's hash of its full encoding.

Decoding checks, in order: the envelope and its type; canonical RLP with the
exact field count; field widths (``nonce`` and ``gas`` fit 64 bits, amounts and
``chain_id`` 256 bits, ``to`` is 20 bytes or empty, access-list entries are
20-byte addresses with 32-byte keys); the chain id (legacy ``v`` must be
``chain_id * 2 + 35/36``: pre-EIP-155 signatures are refused, a consortium chain
needs replay protection); EIP-2681 (``nonce < 2**64 - 1``); EIP-1559 (tip at
most the fee cap); ``gas * fee cap`` within 256 bits; the signature (low ``s`` per
EIP-2, enforced by the suite).
The range and chain-id rules are the checks of :mod:`baychain.ledger.validity`;
intrinsic gas is checked separately (``validity.check_intrinsic_gas``); signing
lives in :mod:`baychain.ledger.signing`.

Signatures from a recovering suite are 65 bytes ``r || s || recid``; the signed
digest is ``suite.hash(signing payload)`` (keccak-256 on ``ecdsa``, as Ethereum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from baychain.codec import rlp
from baychain.crypto.suite import CryptoSuite
from baychain.errors import (
    DecodingError,
    InvalidKey,
    InvalidSignature,
    InvalidTransaction,
    InvalidTransactionSignature,
    MalformedTransaction,
    UnsupportedTransactionType,
    WrongChainId,
)
from baychain.ledger.access_list import AccessList, decode_access_list
from baychain.ledger.validity import (
    check_chain_id,
    check_gas_fee_product,
    check_nonce_limit,
    check_priority_fee,
)
from baychain.primitives import Address, Hash32

__all__ = [
    "ACCESS_LIST_TX_TYPE",
    "DYNAMIC_FEE_TX_TYPE",
    "LEGACY_TX_TYPE",
    "SM2_TX_TYPE",
    "AccessList",
    "Transaction",
    "accepted_tx_types",
    "decode_transaction",
    "decode_transactions",
    "refuse_type",
]

LEGACY_TX_TYPE = 0x00
ACCESS_LIST_TX_TYPE = 0x01
DYNAMIC_FEE_TX_TYPE = 0x02
SM2_TX_TYPE = 0x53

_ETHEREUM_TYPES = frozenset({LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE, DYNAMIC_FEE_TX_TYPE})
_SM_TYPES = frozenset({SM2_TX_TYPE})
_REFUSED_REASONS = {
    0x03: "EIP-4844 blob transactions need a blob data-availability layer BayChain lacks",
    0x04: "EIP-7702 set-code transactions are Prague rules; BayChain pins Cancun",
}


@dataclass(frozen=True, slots=True)
class Transaction:
    """A decoded, signature-checked transaction.

    Built only by the decoding and signing functions of this module, so that
    ``sender`` is always the address the signature proves. Fee fields follow
    EIP-1559 naming for every type: for legacy and EIP-2930 transactions
    ``max_fee_per_gas == max_priority_fee_per_gas == gas_price``.
    """

    tx_type: int
    chain_id: int | None
    """None only for a legacy transaction signed without EIP-155 replay protection,
    which :func:`decode_transaction` refuses: decoded transactions always carry one."""
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: Address | None
    """None for a contract creation."""
    value: int
    data: bytes
    access_list: AccessList
    v: int
    """Legacy: the EIP-155 ``v``; types 1/2: y-parity; SM2: 0."""
    r: int
    s: int
    public_key: bytes
    """The signer's 64-byte public key (recovered for secp256k1, carried for SM2)."""
    sender: Address
    hash: Hash32
    raw: bytes
    """The exact bytes the transaction was decoded from (its canonical encoding)."""

    @property
    def is_create(self) -> bool:
        """True when the transaction deploys a contract."""
        return self.to is None

    def effective_gas_price(self, base_fee: int) -> int:
        """Price per gas paid at ``base_fee`` (EIP-1559: min(max_fee, base_fee + tip))."""
        return min(self.max_fee_per_gas, base_fee + self.max_priority_fee_per_gas)


class _RecoveringSuite(Protocol):
    """What a suite with ``recovers_public_key`` offers beyond :class:`CryptoSuite`."""

    def recover_signers(
        self, messages: Sequence[bytes], signatures: Sequence[bytes]
    ) -> list[tuple[bytes, Address] | InvalidSignature]: ...


@dataclass(slots=True)
class _Unverified:
    """A decoded transaction that passed every check but its signature's."""

    tx_type: int
    nonce: int
    tip: int
    fee_cap: int
    gas_limit: int
    to: Address | None
    value: int
    data: bytes
    access_list: AccessList
    v: int
    r: int
    s: int
    message: bytes
    """What the signature signs (the suite hashes it): the signing payload."""
    signature: bytes
    """``r || s || recid`` (65 bytes) on a recovering suite, ``r || s`` for SM2."""
    public_key: bytes
    """The SM2 signer's carried key; empty on a recovering suite."""
    raw: bytes

    def signed(
        self, chain_id: int, public_key: bytes, sender: Address, tx_hash: Hash32
    ) -> Transaction:
        """The :class:`Transaction` once the signature proved ``sender``."""
        return Transaction(
            tx_type=self.tx_type,
            chain_id=chain_id,
            nonce=self.nonce,
            max_priority_fee_per_gas=self.tip,
            max_fee_per_gas=self.fee_cap,
            gas_limit=self.gas_limit,
            to=self.to,
            value=self.value,
            data=self.data,
            access_list=self.access_list,
            v=self.v,
            r=self.r,
            s=self.s,
            public_key=public_key,
            sender=sender,
            hash=tx_hash,
            raw=self.raw,
        )


def accepted_tx_types(suite: CryptoSuite) -> frozenset[int]:
    """Return the envelope types a chain using ``suite`` accepts."""
    return _ETHEREUM_TYPES if suite.recovers_public_key else _SM_TYPES


def refuse_type(tx_type: int, suite: CryptoSuite) -> UnsupportedTransactionType:
    """Return the error for an envelope type ``suite``'s chains do not accept, with the reason."""
    if tx_type in _REFUSED_REASONS:
        reason = _REFUSED_REASONS[tx_type]
    elif tx_type in _ETHEREUM_TYPES:
        reason = f"this chain uses the '{suite.name}' suite: sign with SM2 as type 0x53"
    elif tx_type in _SM_TYPES:
        reason = f"SM2 transactions need an 'sm' chain; this one uses '{suite.name}'"
    else:
        reason = "unknown transaction type"
    return UnsupportedTransactionType(tx_type, reason)


def decode_transaction(raw: bytes, suite: CryptoSuite, chain_id: int) -> Transaction:
    """Decode and check a signed transaction for the chain ``chain_id`` using ``suite``.

    Raise :class:`MalformedTransaction` for bytes that are not a canonical envelope,
    :class:`UnsupportedTransactionType`, :class:`WrongChainId`,
    :class:`InvalidTransactionSignature`, :class:`~baychain.errors.NonceLimitExceeded`
    (EIP-2681) or :class:`~baychain.errors.PriorityFeeAboveMaxFee` (EIP-1559). All are
    :class:`InvalidTransaction`.
    """
    (decoded,) = decode_transactions((raw,), suite, chain_id)
    if isinstance(decoded, InvalidTransaction):
        raise decoded
    return decoded


def decode_transactions(
    raws: Sequence[bytes], suite: CryptoSuite, chain_id: int
) -> list[Transaction | InvalidTransaction]:
    """Decode and check a batch: for each raw transaction, in order, what
    :func:`decode_transaction` returns, or the :class:`InvalidTransaction` it raises.

    On a recovering suite the signers of the whole batch are recovered in one
    call (``recover_signers``: hashing and recovery with the GIL released).
    """
    checked: list[_Unverified | InvalidTransaction] = []
    for raw in raws:
        try:
            checked.append(_decode_unverified(bytes(raw), suite, chain_id))
        except InvalidTransaction as error:
            checked.append(error)
    unverified = [item for item in checked if isinstance(item, _Unverified)]
    signers = iter(_signers(suite, unverified))
    decoded: list[Transaction | InvalidTransaction] = []
    for item in checked:
        if isinstance(item, InvalidTransaction):
            decoded.append(item)
            continue
        signer = next(signers)
        if isinstance(signer, InvalidTransaction):
            decoded.append(signer)
            continue
        decoded.append(item.signed(chain_id, signer[0], signer[1], suite.hash(item.raw)))
    return decoded


def _signers(
    suite: CryptoSuite, unverified: list[_Unverified]
) -> list[tuple[bytes, Address] | InvalidTransactionSignature]:
    """The (public key, sender) each signature proves, or the error refusing it."""
    signers: list[tuple[bytes, Address] | InvalidTransactionSignature] = []
    if suite.recovers_public_key:
        recovered = cast(_RecoveringSuite, suite).recover_signers(
            [item.message for item in unverified], [item.signature for item in unverified]
        )
        for signer in recovered:
            if isinstance(signer, InvalidSignature):
                signer = InvalidTransactionSignature(f"invalid transaction signature: {signer}")
            signers.append(signer)
        return signers
    for item in unverified:
        try:
            sender = suite.signer_address(item.message, item.signature, item.public_key)
        except (InvalidSignature, InvalidKey) as exc:
            signers.append(InvalidTransactionSignature(f"invalid transaction signature: {exc}"))
            continue
        signers.append((item.public_key, sender))
    return signers


def _decode_unverified(raw: bytes, suite: CryptoSuite, chain_id: int) -> _Unverified:
    """Every check of :func:`decode_transaction` but the signature's, in its order."""
    try:
        if not raw:
            raise DecodingError("empty input")
        tx_type = raw[0]
        if tx_type >= 0xC0:
            tx_type = LEGACY_TX_TYPE
        elif tx_type >= 0x80:
            raise DecodingError(f"first byte 0x{tx_type:02x} is neither a type nor an RLP list")
        elif tx_type == LEGACY_TX_TYPE:
            raise DecodingError("type 0x00 has no typed envelope: legacy is a bare list")
        if tx_type not in accepted_tx_types(suite):
            raise refuse_type(tx_type, suite)
        if tx_type == LEGACY_TX_TYPE:
            return _decode_legacy(raw, chain_id)
        return _decode_typed(raw, tx_type, suite, chain_id)
    except MalformedTransaction:
        raise
    except DecodingError as exc:
        raise MalformedTransaction(f"malformed transaction: {exc}") from None


def _common_checks(nonce: int, tip: int, fee_cap: int, gas_limit: int) -> None:
    """The stateless range rules every envelope shares."""
    # EIP-2681: the sender's nonce must still be incrementable.
    check_nonce_limit(nonce)
    # EIP-1559: the priority fee is part of, so at most, the fee cap.
    check_priority_fee(tip, fee_cap)
    # the most the gas can cost is a 256-bit amount (GASLIMIT_PRICE_PRODUCT_OVERFLOW)
    check_gas_fee_product(gas_limit, fee_cap)


def _recoverable_signature(r: int, s: int, recid: int) -> bytes:
    """``r || s || recid`` (65 bytes) from a decoded signature (``r`` and ``s`` < 2**256)."""
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((recid,))


def _decode_legacy(raw: bytes, chain_id: int) -> _Unverified:
    """Decode an EIP-155 legacy transaction (``raw`` starts with an RLP list prefix)."""
    fields = rlp.decode_list(rlp.decode(raw), 9, name="legacy transaction")
    nonce = rlp.decode_uint(fields[0], name="nonce", max_bytes=8)
    gas_price = rlp.decode_uint(fields[1], name="gas_price")
    gas_limit = rlp.decode_uint(fields[2], name="gas_limit", max_bytes=8)
    to = rlp.decode_address(fields[3], name="to")
    value = rlp.decode_uint(fields[4], name="value")
    data = rlp.decode_bytes(fields[5], name="data")
    v = rlp.decode_uint(fields[6], name="v")
    r = rlp.decode_uint(fields[7], name="r")
    s = rlp.decode_uint(fields[8], name="s")
    # EIP-155: v = chain_id * 2 + 35 + y_parity; 27/28 carry no chain id at all.
    if v in (27, 28):
        raise WrongChainId(chain_id, None)
    if v < 35:
        raise InvalidTransactionSignature(f"legacy v must be chain_id * 2 + 35 or 36, got {v}")
    check_chain_id(chain_id, (v - 35) >> 1)
    _common_checks(nonce, gas_price, gas_price, gas_limit)
    # The fields are canonical, so the signing payload reuses their bytes as they are.
    payload = rlp.encode([*fields[:6], rlp.encode_uint(chain_id), b"", b""])
    return _Unverified(
        tx_type=LEGACY_TX_TYPE,
        nonce=nonce,
        tip=gas_price,
        fee_cap=gas_price,
        gas_limit=gas_limit,
        to=to,
        value=value,
        data=data,
        access_list=(),
        v=v,
        r=r,
        s=s,
        message=payload,
        signature=_recoverable_signature(r, s, (v - 35) & 1),
        public_key=b"",
        raw=raw,
    )


def _decode_typed(raw: bytes, tx_type: int, suite: CryptoSuite, chain_id: int) -> _Unverified:
    """Decode a type 1, 2 or 0x53 envelope; ``raw[0]`` is the type."""
    # Types 1 and 0x53 have 11 fields; type 2 has a separate tip and fee cap.
    count = 12 if tx_type == DYNAMIC_FEE_TX_TYPE else 11
    body = raw[1:]
    fields, offsets = rlp.decode_list_with_offsets(
        body, count, name=f"type 0x{tx_type:02x} transaction"
    )
    tx_chain_id = rlp.decode_uint(fields[0], name="chain_id")
    nonce = rlp.decode_uint(fields[1], name="nonce", max_bytes=8)
    # Type 1 has one gas price where the others have tip and fee cap.
    fee_at = 3 if tx_type == ACCESS_LIST_TX_TYPE else 4
    tip = rlp.decode_uint(fields[2], name="max_priority_fee_per_gas")
    fee_cap = tip if fee_at == 3 else rlp.decode_uint(fields[3], name="max_fee_per_gas")
    gas_limit = rlp.decode_uint(fields[fee_at], name="gas_limit", max_bytes=8)
    to = rlp.decode_address(fields[fee_at + 1], name="to")
    value = rlp.decode_uint(fields[fee_at + 2], name="value")
    data = rlp.decode_bytes(fields[fee_at + 3], name="data")
    access_list = decode_access_list(fields[fee_at + 4])
    public_key = b""
    if tx_type == SM2_TX_TYPE:
        public_key = rlp.decode_fixed(fields[9], 64, name="public_key")
        signature = rlp.decode_fixed(fields[10], suite.signature_size, name="signature")
        v, r, s = 0, int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    else:
        v = rlp.decode_uint(fields[-3], name="y_parity", max_bytes=1)
        r = rlp.decode_uint(fields[-2], name="r")
        s = rlp.decode_uint(fields[-1], name="s")
    check_chain_id(chain_id, tx_chain_id)
    _common_checks(nonce, tip, fee_cap, gas_limit)
    # The signed fields lead the list, and canonical decoding guarantees that re-encoding
    # them gives back their bytes: the signing payload is a slice of the envelope.
    if tx_type == SM2_TX_TYPE:
        message = raw[:1] + rlp.wrap_list(body[offsets[0] : offsets[10]])
    else:
        if v > 1:
            raise InvalidTransactionSignature(f"y_parity must be 0 or 1, got {v}")
        message = raw[:1] + rlp.wrap_list(body[offsets[0] : offsets[count - 3]])
        signature = _recoverable_signature(r, s, v)
    return _Unverified(
        tx_type=tx_type,
        nonce=nonce,
        tip=tip,
        fee_cap=fee_cap,
        gas_limit=gas_limit,
        to=to,
        value=value,
        data=data,
        access_list=access_list,
        v=v,
        r=r,
        s=s,
        message=message,
        signature=signature,
        public_key=public_key,
        raw=raw,
    )
