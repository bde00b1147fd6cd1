"""A node with some history behind an in-process RpcService, for the JSON-RPC tests.

Test modules make their own fixture: ``Rig(tmp_path, crypto)`` then
``rig.make_history()``; ``rig.close()`` at the end.

History (block 1): a Token deployment, a transfer (a Transfer log), a transfer
that reverts, a value payment; (block 2): two more transfers and a call to the
SystemConfig system contract. Block 3 is empty.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from evm_fixtures import Artifact, create_address, load_artifact

from baychain.crypto import dev_private_keys
from baychain.execution.system import encode_call
from baychain.execution.system_config import SYSTEM_CONFIG_ADDRESS
from baychain.ledger.block import Block
from baychain.node.chain import Chain
from baychain.node.host.datadir import init_node_dir
from baychain.node.node import Node
from baychain.node.pool.config import MempoolConfig
from baychain.primitives import Address
from baychain.rpc.limits import RpcLimits
from baychain.rpc.service import RpcService
from baychain.rpc.session import Session
from baychain.sdk.client import Signer

TOKEN: Artifact = load_artifact("Token")
SUPPLY = 10**24


class RpcError(Exception):
    """An error answer, with its code, message and data."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['code']}: {error['message']}")
        self.code: int = error["code"]
        self.message: str = error["message"]
        self.data: Any = error.get("data")


class Rig:
    """A chain with three dev accounts, a node, and the RPC service over it."""

    def __init__(self, directory: Path, crypto: str, limits: RpcLimits | None = None) -> None:
        result = init_node_dir(directory, crypto=crypto, dev_accounts=3)
        self.crypto = crypto
        self.genesis = result.genesis
        self.chain = Chain.open(directory / "data", result.genesis)
        self.node = Node(self.chain, MempoolConfig(), result.validator_address)
        self.now = 0.0
        self.service = RpcService(self.node, limits, clock=lambda: self.now)
        keys = dev_private_keys(crypto, 3)
        self.alice, self.bob, self.carol = (Signer.from_key(crypto, key) for key in keys)
        self.nonces: dict[Address, int] = {}
        self.clock_ms = 1_700_000_000_000
        self.token = Address(create_address(self.alice.address, 0))

    def close(self) -> None:
        self.service.close()
        self.node.close()
        self.chain.close()

    # -- talking JSON-RPC --------------------------------------------------

    def raw(self, body: Any, session: Session | None = None) -> Any:
        text = body if isinstance(body, str | bytes) else json.dumps(body)
        answer = asyncio.run(self.service.handle(text, session))
        return None if answer is None else json.loads(answer)

    def answer(self, method: str, *params: Any, session: Session | None = None) -> Any:
        return self.raw({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)},
                        session)

    def call(self, method: str, *params: Any, session: Session | None = None) -> Any:
        """The result of ``method``; raise RpcError for an error answer."""
        answer = self.answer(method, *params, session=session)
        if "error" in answer:
            raise RpcError(answer["error"])
        return answer["result"]

    # -- making history ----------------------------------------------------

    def sign(self, signer: Signer, to: Address | None, data: bytes = b"", value: int = 0,
             gas: int = 3_000_000, nonce: int | None = None) -> bytes:
        if nonce is None:
            nonce = self.nonces.get(signer.address, 0)
            self.nonces[signer.address] = nonce + 1
        return signer.sign(chain_id=self.genesis.chain_id, nonce=nonce, to=to, value=value,
                           data=data, gas_limit=gas)

    def send(self, signer: Signer, to: Address | None, data: bytes = b"", value: int = 0,
             gas: int = 3_000_000) -> str:
        raw = self.sign(signer, to, data, value, gas)
        tx_hash: str = self.call("eth_sendRawTransaction", "0x" + raw.hex())
        return tx_hash

    def seal(self) -> Block:
        self.clock_ms += 1_000
        return self.node.seal_block(self.clock_ms).block

    def transfer(self, signer: Signer, to: Address, amount: int) -> str:
        return self.send(signer, self.token, TOKEN.call_data("transfer", to, amount), gas=200_000)

    def make_history(self) -> None:
        self.deploy = self.send(self.alice, None, TOKEN.deploy_data("Bay", "BAY", SUPPLY))
        self.first_transfer = self.transfer(self.alice, self.bob.address, 5)
        self.reverted = self.transfer(self.bob, self.alice.address, 10**30)
        self.payment = self.send(self.alice, self.carol.address, value=7, gas=21_000)
        self.seal()
        self.transfer(self.alice, self.carol.address, 11)
        self.transfer(self.bob, self.carol.address, 2)
        self.system_call = self.send(
            self.carol, SYSTEM_CONFIG_ADDRESS, encode_call("get", b"block_gas"), gas=100_000
        )
        self.seal()
        self.seal()


def hex_of(value: bytes) -> str:
    return "0x" + value.hex()
