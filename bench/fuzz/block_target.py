"""Fuzz targets ``block`` and ``block_sm``: :func:`baychain.ledger.block.decode_block` and
:func:`~baychain.ledger.block.decode_header_only`.

Properties of an accepted input: re-encoding gives it back; its header is what
``decode_header_only`` reads (which must accept every block ``decode_block`` accepts);
decoding with a ``known`` lookup of already-checked transactions gives the same block.
"""

from __future__ import annotations

from functools import lru_cache, partial

from baychain.crypto import get_suite
from baychain.errors import BayChainError
from baychain.ledger.block import decode_block, decode_header_only, encode_block
from baychain.ledger.transactions import Transaction, decode_transaction
from baychain.primitives import Hash32
from fuzz.harness import PROPERTY_CHECK_MAX_BYTES, PropertyViolation, Target
from fuzz.seeds import CHAIN_ID, blocks, transactions


@lru_cache(maxsize=2)
def _known(suite_name: str) -> dict[Hash32, Transaction]:
    suite = get_suite(suite_name)
    found = {}
    for raw in transactions(suite_name):
        tx = decode_transaction(raw, suite, CHAIN_ID)
        found[tx.hash] = tx
    return found


def check(suite_name: str, data: bytes) -> None:
    """Decode ``data`` as a block of a ``suite_name`` chain and check it."""
    suite = get_suite(suite_name)
    try:
        header = decode_header_only(data)
    except BayChainError:
        header = None
    block = decode_block(data, suite, CHAIN_ID)
    if header is None:
        raise PropertyViolation("decode_block accepts a block decode_header_only refuses")
    if block.header != header:
        raise PropertyViolation("decode_block and decode_header_only disagree on the header")
    if encode_block(block) != data:
        raise PropertyViolation("encode_block(decode_block(data)) != data")
    if len(data) > PROPERTY_CHECK_MAX_BYTES:
        return
    if decode_block(data, suite, CHAIN_ID, _known(suite_name).get) != block:
        raise PropertyViolation("decoding with known transactions gives another block")


def _seeds(suite_name: str) -> list[bytes]:
    return list(blocks(suite_name))


TARGETS = [
    Target(f"block{'' if name == 'ecdsa' else '_sm'}", partial(check, name), partial(_seeds, name))
    for name in ("ecdsa", "sm")
]
