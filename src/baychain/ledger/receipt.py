"""Receipts: what executing one transaction produced.

Encoding (BayChain's own; Ethereum's receipt has no ``gas_used``, address or
output): ``rlp([tx_type, status, cumulative_gas_used, gas_used, [log, ...],
contract_address or b"", output])``. A block's receipts root commits to these
encodings (:func:`baychain.ledger.merkle.receipts_root`), so every field,
``output`` included, is agreed by all nodes; the EVM computes it
deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from baychain.codec import rlp
from baychain.errors import DecodingError
from baychain.ledger.log import Log, log_from_item, log_to_item
from baychain.primitives import Address

__all__ = [
    "STATUS_FAILURE",
    "STATUS_SUCCESS",
    "Receipt",
    "cache_encoding",
    "decode_receipt",
    "encode_receipt",
]

STATUS_SUCCESS = 1
"""EIP-658 status of a transaction that completed."""

STATUS_FAILURE = 0
"""EIP-658 status of a transaction that reverted or ran out of gas."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of one transaction in a block."""

    tx_type: int
    status: int
    """:data:`STATUS_SUCCESS` (1) or :data:`STATUS_FAILURE` (0), as EIP-658."""
    cumulative_gas_used: int
    """Gas used in the block up to and including this transaction."""
    gas_used: int
    logs: tuple[Log, ...]
    contract_address: Address | None
    """The created contract's address for a successful creation, else None."""
    output: bytes
    """Return data on success, revert data on failure; kept for RPC and debugging."""
    _encoding: bytes | None = field(default=None, init=False, repr=False, compare=False, hash=False)
    """The encoding once made (receipts are immutable); set only by :func:`cache_encoding`."""

    @property
    def succeeded(self) -> bool:
        """True when the transaction completed without reverting."""
        return self.status == STATUS_SUCCESS


def encode_receipt(receipt: Receipt) -> bytes:
    """Return the canonical encoding of ``receipt``, computed once per receipt.

    A block's receipts are encoded for its receipts root and again for the store.
    """
    cached = receipt._encoding
    if cached is None:
        cached = _encode(receipt)
        cache_encoding(receipt, cached)
    return cached


def cache_encoding(receipt: Receipt, encoding: bytes) -> None:
    """Record ``encoding`` as what :func:`encode_receipt` returns for ``receipt``.

    For a producer that already holds the encoding (the EVM engine writes it as it
    builds a receipt's fields); ``encoding`` must be exactly the canonical encoding.
    """
    # A cache, not a field: set past the frozen dataclass's __setattr__, as its __init__ does.
    object.__setattr__(receipt, "_encoding", encoding)


def _encode(receipt: Receipt) -> bytes:
    uint = rlp.encode_uint
    return rlp.encode(
        [
            uint(receipt.tx_type),
            uint(receipt.status),
            uint(receipt.cumulative_gas_used),
            uint(receipt.gas_used),
            [log_to_item(log) for log in receipt.logs],
            b"" if receipt.contract_address is None else receipt.contract_address,
            receipt.output,
        ]
    )


def decode_receipt(data: bytes) -> Receipt:
    """Decode a receipt made by :func:`encode_receipt`; raise DecodingError naming the field."""
    fields = rlp.decode_list(rlp.decode(data), 7, name="receipt")
    status = rlp.decode_uint(fields[1], name="receipt status", max_bytes=1)
    if status not in (STATUS_SUCCESS, STATUS_FAILURE):
        raise DecodingError(f"receipt status must be 0 or 1, got {status}")
    logs = rlp.decode_list(fields[4], name="receipt logs")
    return Receipt(
        tx_type=rlp.decode_uint(fields[0], name="receipt tx_type", max_bytes=1),
        status=status,
        cumulative_gas_used=rlp.decode_uint(fields[2], name="cumulative_gas_used", max_bytes=8),
        gas_used=rlp.decode_uint(fields[3], name="gas_used", max_bytes=8),
        logs=tuple(log_from_item(item, name=f"log {i}") for i, item in enumerate(logs)),
        contract_address=rlp.decode_address(fields[5], name="contract_address"),
        output=rlp.decode_bytes(fields[6], name="receipt output"),
    )
