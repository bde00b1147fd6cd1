"""Seed corpora: valid encodings of real transactions, blocks and peer messages.

Transactions are signed with the dev keys (``Signer`` and ``sign_transaction``: every
envelope type of both suites, with and without access lists, calls and creations).
Blocks come from a small in-process chain per suite, built the way
``tests/node/test_block_rules.py`` builds one (``init_node_dir``, ``Chain.build_block``),
in a temporary directory removed afterwards. Everything is cached per process.
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from baychain.codec import rlp
from baychain.consensus.messages import Decision, DecisionRequest, Message, encode_message
from baychain.consensus.types import Proposal, Round, Vote, VoteType
from baychain.crypto import dev_private_keys, get_suite
from baychain.ledger.block import Block, encode_block
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.ledger.transactions import (
    ACCESS_LIST_TX_TYPE,
    DYNAMIC_FEE_TX_TYPE,
    LEGACY_TX_TYPE,
    SM2_TX_TYPE,
    decode_transaction,
)
from baychain.network.frames import MessageKind, encode_frame
from baychain.network.handshake import Hello, encode_goodbye, encode_hello, encode_proof
from baychain.node.bft.sync import (
    BlockRequest,
    ChainStatus,
    encode_block_request,
    encode_block_response,
    encode_status,
)
from baychain.primitives import Address, Hash32, Height
from baychain.sdk.client import Signer

CHAIN_ID = 20_261
"""Chain id of every seed (the default of ``baychain init``)."""

_TO = Address(bytes.fromhex("5fbdb2315678afecb367f032d93f642f64180aa3"))


@lru_cache(maxsize=2)
def transactions(suite_name: str) -> tuple[bytes, ...]:
    """Signed transactions of every envelope type ``suite_name``'s chains accept."""
    suite = get_suite(suite_name)
    keys = dev_private_keys(suite_name, 2)
    signer = Signer.from_key(suite_name, keys[0])
    raws = [
        signer.sign(chain_id=CHAIN_ID, nonce=0, to=_TO, value=1),
        signer.sign(chain_id=CHAIN_ID, nonce=7, to=None, data=bytes.fromhex("6080604052"),
                    gas_limit=100_000, max_fee_per_gas=10**9, max_priority_fee_per_gas=1),
        signer.sign(chain_id=CHAIN_ID, nonce=2**32, to=_TO, value=10**18, data=b"\xa9\x05\x9c\xbb"),
    ]  # fmt: skip
    access_list = ((_TO, (Hash32(b"\x00" * 32), Hash32(b"\x01" * 32))), (signer.address, ()))
    types = (
        (LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE, DYNAMIC_FEE_TX_TYPE)
        if suite.recovers_public_key
        else (SM2_TX_TYPE,)
    )
    for tx_type in types:
        price = 5 if tx_type in (LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE) else 7
        tip = price if tx_type in (LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE) else 3
        unsigned = UnsignedTransaction(
            tx_type=tx_type,
            chain_id=CHAIN_ID,
            nonce=1,
            max_priority_fee_per_gas=tip,
            max_fee_per_gas=price,
            gas_limit=60_000,
            to=_TO,
            value=3,
            data=b"\x01\x02",
            access_list=() if tx_type == LEGACY_TX_TYPE else access_list,
        )
        raws.append(sign_transaction(unsigned, keys[1], suite).raw)
    for raw in raws:  # every seed is valid
        decode_transaction(raw, suite, CHAIN_ID)
    return tuple(raws)


@lru_cache(maxsize=2)
def blocks(suite_name: str) -> tuple[bytes, ...]:
    """Encoded blocks of a real chain: an empty one, one with transactions, one with a
    certificate attached."""
    # Imported here: building a chain needs the node layer, the other seeds do not.
    from baychain.node.chain import Chain
    from baychain.node.host.datadir import init_node_dir

    keys = dev_private_keys(suite_name, 1)
    signer = Signer.from_key(suite_name, keys[0])
    suite = get_suite(suite_name)
    with tempfile.TemporaryDirectory(prefix="baychain-fuzz-") as tmp:
        result = init_node_dir(Path(tmp) / "chain", crypto=suite_name, dev_accounts=2)
        genesis = result.genesis
        chain = Chain.open(Path(tmp) / "chain" / "data", genesis)
        try:
            txs = [
                decode_transaction(
                    signer.sign(chain_id=genesis.chain_id, nonce=n, to=_TO, value=n + 1),
                    suite,
                    genesis.chain_id,
                )
                for n in range(3)
            ]
            start = genesis.timestamp_ms
            empty = chain.build_block([], start + 1_000, result.validator_address).block
            full = chain.build_block(txs, start + 1_000, result.validator_address).block
        finally:
            chain.close()
    certified = Block(full.header, full.transactions, b"\x01" * 97)
    return tuple(encode_block(block) for block in (empty, full, certified))


def consensus_messages() -> list[bytes]:
    """One message of each kind (votes for a block and nil, a proposal carrying a block)."""
    block = blocks("ecdsa")[1]
    block_hash = Hash32(get_suite("ecdsa").hash(block))
    validator = Address(b"\x42" * 20)
    signature = b"\x07" * 65
    messages: list[Message] = [
        Vote(VoteType.PREVOTE, Height(3), Round(0), block_hash, validator, signature),
        Vote(VoteType.PRECOMMIT, Height(2**40), Round(2**31), None, validator, b"\x01" * 64),
        Proposal(Height(1), Round(0), block_hash, -1, block, validator, signature),
        Proposal(Height(9), Round(4), block_hash, 2, b"\x00" * 22, validator, signature),
        Decision(Height(1), block, b"\x02" * 120),
        DecisionRequest(Height(12)),
    ]
    return [encode_message(message) for message in messages]


def hello() -> Hello:
    """A well-formed Hello."""
    return Hello((1,), CHAIN_ID, Hash32(b"\x11" * 32), b"\x22" * 64, b"\x33" * 32)


def handshake_messages() -> list[bytes]:
    """HELLO, PROOF and GOODBYE payloads."""
    return [
        encode_hello(hello()),
        encode_hello(Hello((1, 2, 255), 2**63, Hash32(b"\x00" * 32), b"\x01" * 64, b"\x02" * 32)),
        encode_proof(b"\x05" * 65),
        encode_proof(b""),
        encode_goodbye("duplicate", "already connected"),
        encode_goodbye("banned", "é" * 40),
    ]


def sync_payloads() -> list[bytes]:
    """STATUS, BLOCK_REQUEST and BLOCK_RESPONSE payloads."""
    encoded = list(blocks("ecdsa"))
    return [
        encode_status(ChainStatus(0, Hash32(b"\x00" * 32))),
        encode_status(ChainStatus(2**63, Hash32(b"\xab" * 32))),
        encode_block_request(BlockRequest(1, 64)),
        encode_block_request(BlockRequest(12345, 1)),
        encode_block_response(encoded),
        encode_block_response([]),
    ]


def frame_streams() -> list[bytes]:
    """Byte streams of consecutive frames (after the target's leading control byte)."""
    frames = [
        encode_frame(MessageKind.HELLO, handshake_messages()[0]),
        encode_frame(MessageKind.PROOF, handshake_messages()[2]),
        encode_frame(MessageKind.KEEPALIVE, b""),
        encode_frame(MessageKind.CONSENSUS, consensus_messages()[0]),
        encode_frame(MessageKind.TRANSACTIONS, rlp.encode(list(transactions("ecdsa")))),
        encode_frame(MessageKind.STATUS, sync_payloads()[0], version=7),
        encode_frame(0xEE, b"unknown kind"),
    ]
    return [b"".join(frames), frames[2], frames[0] + frames[1], frames[4][:-3]]


def json_bodies() -> list[bytes]:
    """JSON-RPC bodies: single calls, notifications, batches, and broken ones."""
    return [
        b'{"jsonrpc":"2.0","id":1,"method":"echo","params":[1,"a",null]}',
        b'{"jsonrpc":"2.0","method":"echo","params":[]}',
        b'{"jsonrpc":"2.0","id":"x","method":"eth_chainId"}',
        b'[{"jsonrpc":"2.0","id":1,"method":"count","params":[1]},'
        b'{"jsonrpc":"2.0","id":2,"method":"count","params":[2]},'
        b'{"jsonrpc":"2.0","id":3,"method":"echo"}]',
        b'{"jsonrpc":"2.0","id":1.5,"method":"echo","params":{"a":1}}',
        b'{"jsonrpc":"2.0","id":[],"method":"echo"}',
        b"[]",
        b'{"jsonrpc":"1.0"}',
        b'{"jsonrpc":"2.0","id":1,"method":"none","params":null}',
        '{"jsonrpc":"2.0","id":"\u00e9","method":"echo","params":["\\ud800"]}'.encode(),
    ]
