"""A small JSON-RPC client for a BayChain node, and helpers to sign what it sends.

Apps talk to a chain through this module exactly as an outside user would::

    client = Client("http://127.0.0.1:8545")
    signer = Signer.from_key("ecdsa", private_key)
    raw = signer.sign(chain_id=client.chain_id(), nonce=client.nonce(signer.address),
                      to=recipient, value=10**18)
    receipt = client.wait_for_receipt(client.send_raw(raw))
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from baychain.crypto import get_suite
from baychain.crypto.suite import CryptoSuite
from baychain.errors import BayChainError
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.primitives import Address


class RpcCallError(BayChainError):
    """The node answered a JSON-RPC call with an error."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        self.method = method
        self.code = code
        self.data = data
        super().__init__(f"{method} failed ({code}): {message}")


class Client:
    """Calls JSON-RPC methods on one node over HTTP."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._next_id = 0

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method``; return its result or raise RpcCallError."""
        self._next_id += 1
        body = json.dumps(
            {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}
        ).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            error = answer["error"]
            raise RpcCallError(
                method, error.get("code", 0), error.get("message", ""), error.get("data")
            )
        return answer["result"]

    def chain_id(self) -> int:
        """The chain's EIP-155 id."""
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        """The height of the last committed block."""
        return int(self.call("eth_blockNumber"), 16)

    def nonce(self, address: Address, block: str = "pending") -> int:
        """The next nonce of ``address`` (counting pool transactions by default)."""
        return int(self.call("eth_getTransactionCount", "0x" + address.hex(), block), 16)

    def balance(self, address: Address) -> int:
        """The balance of ``address`` in wei."""
        return int(self.call("eth_getBalance", "0x" + address.hex(), "latest"), 16)

    def send_raw(self, raw: bytes) -> bytes:
        """Submit a signed transaction; return its hash."""
        return bytes.fromhex(self.call("eth_sendRawTransaction", "0x" + raw.hex())[2:])

    def receipt(self, tx_hash: bytes) -> dict[str, Any] | None:
        """The receipt of a committed transaction, or None while it is pending."""
        result: dict[str, Any] | None = self.call("eth_getTransactionReceipt", "0x" + tx_hash.hex())
        return result

    def wait_for_receipt(self, tx_hash: bytes, timeout_s: float = 30.0) -> dict[str, Any]:
        """Poll until the transaction is committed; raise TimeoutError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            receipt = self.receipt(tx_hash)
            if receipt is not None:
                return receipt
            time.sleep(0.05)
        raise TimeoutError(f"transaction 0x{tx_hash.hex()} not committed after {timeout_s}s")

    def is_up(self) -> bool:
        """True when the node answers."""
        try:
            self.call("eth_chainId")
        except (OSError, urllib.error.URLError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class Signer:
    """A private key of a chain's suite that builds and signs transactions."""

    suite: CryptoSuite
    private_key: bytes
    address: Address

    @classmethod
    def from_key(cls, suite_name: str, private_key: bytes) -> Signer:
        """The signer of ``private_key`` on a chain using suite ``suite_name``."""
        suite = get_suite(suite_name)
        return cls(suite, private_key, suite.address(suite.public_key(private_key)))

    def sign(
        self,
        *,
        chain_id: int,
        nonce: int,
        to: Address | None,
        value: int = 0,
        data: bytes = b"",
        gas_limit: int = 21_000,
        max_fee_per_gas: int = 0,
        max_priority_fee_per_gas: int = 0,
    ) -> bytes:
        """Return the raw bytes of a signed transaction of the suite's ``transaction_type``
        (EIP-1559 on ecdsa chains, SM2-signed on sm chains)."""
        unsigned = UnsignedTransaction(
            tx_type=self.suite.transaction_type,
            chain_id=chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=max_priority_fee_per_gas,
            max_fee_per_gas=max_fee_per_gas,
            gas_limit=gas_limit,
            to=to,
            value=value,
            data=data,
        )
        return sign_transaction(unsigned, self.private_key, self.suite).raw
