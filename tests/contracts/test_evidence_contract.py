"""Evidence.sol on a real chain: a solo node in-process, the Rust EVM, both crypto suites.

Each test deploys the committed artifact, sends anchors as signed transactions, seals
blocks and reads receipts; views (``recordOf``, ``isAnchored``) run as simulated calls
on the committed state, the way ``eth_call`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from evm_fixtures import create_address, load_artifact

from baychain.crypto import dev_private_keys
from baychain.execution.simulate import CallRequest, context_at, simulate_call
from baychain.ledger.block import Block
from baychain.ledger.receipt import Receipt
from baychain.node.chain import Chain
from baychain.node.host.datadir import init_node_dir
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Address
from baychain.sdk.abi import decode
from baychain.sdk.client import Signer

EVIDENCE = load_artifact("Evidence")
MAX_METADATA_BYTES = 1024  # Evidence.MAX_METADATA_BYTES
DIGEST = bytes.fromhex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")


class EvidenceChain:
    """A fresh solo chain with two funded dev accounts and Evidence deployed by the first."""

    def __init__(self, directory: Path, crypto: str) -> None:
        init = init_node_dir(directory, crypto=crypto, dev_accounts=2)
        self.chain = Chain.open(directory / "data", init.genesis)
        self.node = Node(self.chain, MempoolConfig(), init.validator_address)
        self.chain_id = init.genesis.chain_id
        self.alice, self.bob = (Signer.from_key(crypto, k) for k in dev_private_keys(crypto, 2))
        self.nonces: dict[Address, int] = {}
        self.clock_ms = 1_700_000_000_000
        deploy = self.send(self.alice, None, EVIDENCE.deploy_data())
        self.seal()
        self.address = Address(create_address(self.alice.address, 0))
        assert self.node.receipt(deploy).receipt.contract_address == self.address

    def send(self, signer: Signer, to: Address | None, data: bytes) -> bytes:
        nonce = self.nonces.get(signer.address, 0)
        raw = signer.sign(
            chain_id=self.chain_id, nonce=nonce, to=to, data=data, gas_limit=3_000_000
        )
        self.nonces[signer.address] = nonce + 1
        return self.node.submit_transaction(raw).hash

    def anchor(self, signer: Signer, digest: bytes, metadata: str) -> bytes:
        return self.send(signer, self.address, EVIDENCE.call_data("anchor", digest, metadata))

    def seal(self) -> Block:
        self.clock_ms += 1_000
        return self.node.seal_block(self.clock_ms).block

    def receipt(self, tx_hash: bytes) -> Receipt:
        return self.node.receipt(tx_hash).receipt

    def view(self, function: str, *args: Any) -> tuple[bool, bytes]:
        """(success, output) of calling ``function`` on the head state."""
        context = context_at(self.chain.head, self.chain_id, "cancun", base_fee=0)
        request = CallRequest(
            caller=self.bob.address,
            to=self.address,
            gas_limit=1_000_000,
            data=EVIDENCE.call_data(function, *args),
        )
        with self.chain.state() as state:
            outcome = simulate_call(state, context, request)
        return outcome.success, outcome.output

    def read(self, function: str, *args: Any) -> tuple[Any, ...]:
        success, output = self.view(function, *args)
        assert success, output.hex()
        return EVIDENCE.decode_output(function, output)


@pytest.fixture(params=["ecdsa", "sm"])
def evidence(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EvidenceChain]:
    made = EvidenceChain(tmp_path / "chain", request.param)
    yield made
    made.chain.close()


def test_anchor_records_submitter_block_time_and_metadata_and_logs_it(
    evidence: EvidenceChain,
) -> None:
    e = evidence
    metadata = '{"file": "contract.pdf", "hash": "sha256"}'
    tx = e.anchor(e.alice, DIGEST, metadata)
    block = e.seal()

    receipt = e.receipt(tx)
    assert receipt.status == 1
    (log,) = receipt.logs
    assert log.address == e.address
    assert log.topics == (EVIDENCE.event_topic("Anchored"), DIGEST, bytes(12) + e.alice.address)
    assert decode(["string"], log.data) == (metadata,)

    assert e.read("recordOf", DIGEST) == (
        e.alice.address,
        block.header.height,
        block.header.timestamp_ms // 1000,
        metadata,
    )
    assert e.read("isAnchored", DIGEST) == (True,)
    assert e.read("isAnchored", bytes(31) + b"\x01") == (False,)
    assert e.read("anchoredCount") == (1,)
    assert e.read("MAX_METADATA_BYTES") == (MAX_METADATA_BYTES,)


def test_a_digest_anchors_once_and_the_first_record_stands(evidence: EvidenceChain) -> None:
    e = evidence
    first = e.anchor(e.alice, DIGEST, "first")
    same_block = e.anchor(e.bob, DIGEST, "same block")
    first_block = e.seal()
    later = e.anchor(e.bob, DIGEST, "later")
    other = e.anchor(e.bob, b"\x01" * 32, "")
    e.seal()

    refusal = EVIDENCE.error_data("AlreadyAnchored", DIGEST)
    assert e.receipt(first).status == 1
    for tx in (same_block, later):
        receipt = e.receipt(tx)
        assert (receipt.status, receipt.output, receipt.logs) == (0, refusal, ())
    assert e.receipt(other).status == 1
    assert e.read("recordOf", DIGEST)[:3] == (
        e.alice.address,
        first_block.header.height,
        first_block.header.timestamp_ms // 1000,
    )
    assert e.read("recordOf", DIGEST)[3] == "first"
    assert e.read("anchoredCount") == (2,)


def test_zero_digest_and_oversized_metadata_revert(evidence: EvidenceChain) -> None:
    e = evidence
    zero = e.anchor(e.alice, bytes(32), "x")
    too_long = e.anchor(e.alice, DIGEST, "a" * (MAX_METADATA_BYTES + 1))
    # the bound counts UTF-8 bytes: 513 two-byte characters are 1026 bytes
    too_long_utf8 = e.anchor(e.alice, DIGEST, "é" * (MAX_METADATA_BYTES // 2 + 1))
    at_bound = e.anchor(e.alice, DIGEST, "é" * (MAX_METADATA_BYTES // 2))
    e.seal()

    assert e.receipt(zero).output == EVIDENCE.error_data("ZeroDigest")
    limit = MAX_METADATA_BYTES
    assert e.receipt(too_long).output == EVIDENCE.error_data("MetadataTooLong", limit + 1, limit)
    assert e.receipt(too_long_utf8).output == EVIDENCE.error_data(
        "MetadataTooLong", limit + 2, limit
    )
    assert [e.receipt(tx).status for tx in (zero, too_long, too_long_utf8)] == [0, 0, 0]
    assert e.receipt(at_bound).status == 1
    assert e.read("recordOf", DIGEST)[3] == "é" * (MAX_METADATA_BYTES // 2)
    assert e.read("isAnchored", bytes(32)) == (False,)
    assert e.read("anchoredCount") == (1,)


def test_record_of_an_unknown_digest_reverts_with_not_anchored(evidence: EvidenceChain) -> None:
    assert evidence.view("recordOf", DIGEST) == (
        False,
        EVIDENCE.error_data("NotAnchored", DIGEST),
    )
