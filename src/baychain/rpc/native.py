"""The ``baychain_`` namespace: what Ethereum's API has no words for.

- ``baychain_status``: head height and hash, state root, suite, pool size.
- ``baychain_nodeInfo``: client, chain parameters, genesis hash, this node's validator.
- ``baychain_validators``: the validator set (name, address, public key, voting power).
- ``baychain_getCommitCertificate(block)``: the certificate that finalised a block
  (empty ``0x`` on a solo chain, whose single validator seals without votes).
- ``baychain_getTransactionProof(txHash)``: a Merkle proof that the transaction's
  hash is in its block's ``transactionsRoot``.
- ``baychain_getReceiptProof(txHash)``: a proof that the encoded receipt is in
  the block's ``receiptsRoot``.
- ``baychain_getEventProof(txHash, logIndex)``: the receipt proof of the
  transaction that emitted the log with that block-wide ``logIndex``, and the
  log's position in the receipt.

Each proof carries the encoded block header, so a verifier holding only the
answer checks, offline: the header hashes to ``blockHash`` (which the commit
certificate signs), and ``ledger.merkle.verify_proof(MerkleProof.from_dict(
proof), leaf, root)`` holds for the root in that header (``docs/json-rpc.md``
has the code).
"""

from __future__ import annotations

from typing import Any

from baychain.ledger.header import encode_header
from baychain.ledger.receipt import decode_receipt
from baychain.node.genesis import genesis_params_hash
from baychain.node.node import Node
from baychain.node.reads import ChainReads, InclusionProof
from baychain.rpc import params
from baychain.rpc.eth import CLIENT_VERSION
from baychain.rpc.formatting import data, format_log, quantity
from baychain.rpc.jsonrpc import Dispatcher, InvalidParams
from baychain.rpc.resolve import height_of
from baychain.rpc.workers import Workers

__all__ = ["NativeApi"]

METHODS = (
    "baychain_status",
    "baychain_nodeInfo",
    "baychain_validators",
    "baychain_getCommitCertificate",
    "baychain_getTransactionProof",
    "baychain_getReceiptProof",
    "baychain_getEventProof",
)


class NativeApi:
    """Handlers of the ``baychain_`` methods over one node."""

    def __init__(self, node: Node, queries: ChainReads, workers: Workers) -> None:
        self.node = node
        self.queries = queries
        self.workers = workers

    def register(self, dispatcher: Dispatcher) -> None:
        """Register every ``baychain_`` handler."""
        for name in METHODS:
            dispatcher.register(name, getattr(self, name))

    async def baychain_status(self) -> dict[str, Any]:
        status = self.node.status()
        return {
            "height": quantity(status.height),
            "headHash": data(status.head_hash),
            "stateRoot": data(status.state_root),
            "crypto": status.crypto,
            "chainId": quantity(status.chain_id),
            "hardfork": status.hardfork,
            "pending": status.pending,
            "queued": status.queued,
        }

    async def baychain_nodeInfo(self) -> dict[str, Any]:
        genesis = self.node.genesis
        genesis_hash = await self.workers.run(self.queries.block_hash, 0)
        return {
            "clientVersion": CLIENT_VERSION,
            "chainId": quantity(genesis.chain_id),
            "crypto": genesis.crypto,
            "hardfork": genesis.hardfork,
            "consensus": "solo" if len(genesis.validators) == 1 else "bft",
            "genesisHash": None if genesis_hash is None else data(genesis_hash),
            "chainParamsHash": data(genesis_params_hash(genesis)),
            "blockIntervalMs": genesis.block_interval_ms,
            "blockGasLimit": quantity(genesis.block_gas_limit),
            "baseFeePerGas": quantity(genesis.base_fee_per_gas),
            "validator": data(self.node.validator_address),
        }

    async def baychain_validators(self) -> list[dict[str, Any]]:
        return [
            {
                "name": validator.name,
                "address": data(validator.address),
                "publicKey": data(validator.public_key),
                "power": quantity(validator.power),
            }
            for validator in self.node.genesis.validators
        ]

    async def baychain_getCommitCertificate(self, block: Any) -> dict[str, Any] | None:
        height = height_of(self.queries, params.block_ref(block))
        return await self.workers.run(self._certificate, height)

    def _certificate(self, height: int | None) -> dict[str, Any] | None:
        found = None if height is None else self.queries.block(height)
        block_hash = None if height is None else self.queries.block_hash(height)
        if found is None or block_hash is None:
            return None
        return {
            "blockNumber": quantity(found.header.height),
            "blockHash": data(block_hash),
            "certificate": data(found.certificate),
        }

    async def baychain_getTransactionProof(self, tx_hash: Any) -> dict[str, Any] | None:
        wanted = params.hash32(tx_hash, "transaction hash")
        proof = await self.workers.run(self.queries.transaction_proof, wanted)
        return None if proof is None else _proof_document(proof, "transactionsRoot", wanted)

    async def baychain_getReceiptProof(self, tx_hash: Any) -> dict[str, Any] | None:
        wanted = params.hash32(tx_hash, "transaction hash")
        proof = await self.workers.run(self.queries.receipt_proof, wanted)
        return None if proof is None else _proof_document(proof, "receiptsRoot", wanted)

    async def baychain_getEventProof(self, tx_hash: Any, log_index: Any) -> dict[str, Any] | None:
        wanted = params.hash32(tx_hash, "transaction hash")
        index = params.quantity(log_index, "logIndex", bits=64)
        proof = await self.workers.run(self.queries.receipt_proof, wanted)
        if proof is None:
            return None
        document = _proof_document(proof, "receiptsRoot", wanted)
        entries = await self.workers.run(self.queries.block_logs, proof.header.height)
        entry = next((e for e in entries if e.log_index == index), None)
        if entry is None or entry.tx_hash != wanted:
            raise InvalidParams(f"transaction {tx_hash} emitted no log with logIndex {index}")
        first = min(e.log_index for e in entries if e.tx_hash == wanted)
        position = index - first
        if decode_receipt(proof.leaf).logs[position] != entry.log:  # pragma: no cover
            raise InvalidParams("the log does not match its receipt")
        document["logIndex"] = quantity(index)
        document["logPosition"] = position
        document["log"] = format_log(entry)
        return document


def _proof_document(proof: InclusionProof, root_name: str, tx_hash: bytes) -> dict[str, Any]:
    header = proof.header
    root = header.transactions_root if root_name == "transactionsRoot" else header.receipts_root
    return {
        "transactionHash": data(tx_hash),
        "blockNumber": quantity(header.height),
        "blockHash": data(proof.block_hash),
        "header": data(encode_header(header)),
        "root": data(root),
        "rootName": root_name,
        "leaf": data(proof.leaf),
        "proof": proof.proof.to_dict(),
    }
