"""A solo node in-process: transactions in, blocks out, receipts and state read, restart-safe."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from evm_fixtures import Artifact, create_address, load_artifact, revert_reason_data

from baychain.crypto import dev_private_keys
from baychain.errors import InvalidBlock, NonceTooLow, WrongChainId
from baychain.ledger.block import Block
from baychain.ledger.header import header_hash
from baychain.ledger.merkle import build_proof, verify_proof
from baychain.ledger.receipt import encode_receipt
from baychain.node.chain import Chain
from baychain.node.host.datadir import init_node_dir
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Address, Hash32
from baychain.sdk.client import Signer
from baychain.state import chain_store

TOKEN: Artifact = load_artifact("Token")
PROBE: Artifact = load_artifact("Probe")


class Harness:
    """A freshly initialised chain with two funded dev accounts and a node over it."""

    def __init__(self, directory: Path, crypto: str) -> None:
        result = init_node_dir(directory, crypto=crypto, dev_accounts=2)
        self.directory = directory
        self.genesis = result.genesis
        self.validator = result.validator_address
        keys = dev_private_keys(crypto, 2)
        self.alice = Signer.from_key(crypto, keys[0])
        self.bob = Signer.from_key(crypto, keys[1])
        self.nonces: dict[Address, int] = {}
        self.clock_ms = 1_000_000
        self.open()

    def open(self) -> None:
        self.chain = Chain.open(self.directory / "data", self.genesis)
        self.node = Node(self.chain, MempoolConfig(), self.validator)

    def close(self) -> None:
        self.chain.close()

    def send(
        self,
        signer: Signer,
        to: Address | None,
        data: bytes = b"",
        value: int = 0,
        gas: int = 3_000_000,
    ) -> bytes:
        nonce = self.nonces.get(signer.address, 0)
        raw = signer.sign(
            chain_id=self.genesis.chain_id,
            nonce=nonce,
            to=to,
            value=value,
            data=data,
            gas_limit=gas,
        )
        tx = self.node.submit_transaction(raw)
        self.nonces[signer.address] = nonce + 1
        return tx.hash

    def seal(self) -> Block:
        self.clock_ms += 1_000
        return self.node.seal_block(self.clock_ms).block


@pytest.fixture(params=["ecdsa", "sm"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    h = Harness(tmp_path / "chain", request.param)
    yield h  # type: ignore[misc]
    h.close()


def test_deploy_call_revert_and_logs_commit_with_receipts(harness: Harness) -> None:
    h = harness
    supply = 10**24
    deploy = h.send(h.alice, None, TOKEN.deploy_data("Bay", "BAY", supply))
    token = Address(create_address(h.alice.address, 0))
    transfer = h.send(h.alice, token, TOKEN.call_data("transfer", h.bob.address, 5))
    too_much = h.send(h.bob, token, TOKEN.call_data("transfer", h.alice.address, 10**30))
    pay = h.send(h.alice, h.bob.address, value=7)
    block = h.seal()
    assert [tx.hash for tx in block.transactions] == [deploy, transfer, too_much, pay]

    deployed = h.node.receipt(deploy).receipt
    assert deployed.status == 1 and deployed.contract_address == token
    assert h.node.code(token) == TOKEN.deployed_bytecode

    moved = h.node.receipt(transfer).receipt
    assert moved.status == 1
    (log,) = moved.logs
    assert log.address == token and log.topics[0] == TOKEN.event_topic("Transfer")
    assert int.from_bytes(log.data, "big") == 5

    refused = h.node.receipt(too_much).receipt
    assert refused.status == 0 and refused.logs == ()
    assert refused.output.startswith(revert_reason_data("")[:4])

    with h.chain.store.read() as reader:
        height = block.header.height
        assert chain_store.log_heights(reader, b"logs_address", token, 0, height) == [height]
        assert chain_store.log_heights(reader, b"logs_address", token, 0, height - 1) == []
        topic = TOKEN.event_topic("Transfer")
        assert chain_store.log_heights(reader, b"logs_topic", topic, height, height) == [height]
    assert h.node.account(h.bob.address).balance == 10**24 + 7
    assert h.node.account(h.alice.address).nonce == 3


def test_rejections_say_why_and_change_nothing(harness: Harness) -> None:
    h = harness
    h.send(h.alice, h.bob.address, value=1)
    h.seal()
    stale = h.alice.sign(
        chain_id=h.genesis.chain_id, nonce=0, to=h.bob.address, value=1, gas_limit=21_000
    )
    with pytest.raises(NonceTooLow, match="next nonce is 1"):
        h.node.submit_transaction(stale)
    foreign = h.alice.sign(
        chain_id=h.genesis.chain_id + 1, nonce=1, to=h.bob.address, gas_limit=21_000
    )
    with pytest.raises(WrongChainId):
        h.node.submit_transaction(foreign)
    assert h.node.status().pending == 0


def test_restart_resumes_at_the_same_head_and_state_root(harness: Harness) -> None:
    h = harness
    for _ in range(3):
        h.send(h.alice, h.bob.address, value=3)
        h.seal()
    before = h.node.status()
    h.close()
    h.open()
    after = h.node.status()
    assert (after.height, after.head_hash, after.state_root) == (
        before.height,
        before.head_hash,
        before.state_root,
    )
    h.send(h.alice, h.bob.address, value=3)
    assert h.seal().header.height == before.height + 1


def test_a_validator_re_executes_a_block_to_the_same_header(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    h.send(h.alice, None, PROBE.deploy_data(False))
    h.send(h.alice, h.bob.address, value=11)
    candidates = h.node.mempool.select_for_block(h.genesis.block_gas_limit)
    proposed = h.chain.build_block(candidates, h.clock_ms + 500, h.validator)

    replica = Chain.open(tmp_path / "replica", h.genesis)
    try:
        checked = replica.validate_block(proposed.block)
        assert checked.block_hash == proposed.block_hash
        tampered = Block(
            replace(proposed.block.header, state_root=Hash32(b"\x00" * 32)),
            proposed.block.transactions,
            b"",
        )
        with pytest.raises(InvalidBlock, match="does not match its re-execution"):
            replica.validate_block(tampered)
    finally:
        replica.close()


def test_receipt_inclusion_proof_verifies_against_the_header(harness: Harness) -> None:
    h = harness
    hashes = [h.send(h.alice, h.bob.address, value=v) for v in (1, 2, 3)]
    block = h.seal()
    receipts = h.chain.receipts_at(block.header.height)
    leaves = [encode_receipt(r) for r in receipts]
    proof = build_proof(leaves, 1, h.chain.suite)
    assert verify_proof(proof, leaves[1], block.header.receipts_root)
    assert not verify_proof(proof, leaves[0], block.header.receipts_root)
    tx_proof = build_proof(hashes, 2, h.chain.suite)
    assert verify_proof(tx_proof, hashes[2], block.header.transactions_root)
    assert h.chain.block_hash_at(block.header.height) == header_hash(block.header, h.chain.suite)
