"""System contracts: platform logic written in Python, living at fixed addresses.

A transaction whose ``to`` is a registered system address is executed by the
contract's Python code instead of the EVM. Governance, permissions and other
platform services build on this; ``SystemConfig`` (``system_config.py``) is the
first such contract.

Rules, the same on every node (so they are part of consensus):

- The sender pays exactly as for an EVM call: its nonce must match, it must
  afford ``gas_limit * price + value``, the nonce increments, fees go to the
  proposer (priority fee) and the base fee is burned.
- Gas used is the intrinsic gas of the transaction plus ``SYSTEM_CALL_GAS``
  plus the contract's own charges (``SystemCall.charge``). If that exceeds the
  gas limit the call fails, consuming the whole gas limit.
- A call that raises :class:`SystemRevert` (or runs out of gas) has status 0 and
  changes nothing but the sender's nonce and balance; its revert data is
  ``Error(string)`` ABI-encoded like Solidity's ``revert("...")``.
- System contracts do not accept value: a call with value reverts.
- Calldata and return data are RLP: ``rlp([method_name, arg, ...])`` in, an RLP
  item out. EVM contracts cannot call system contracts (only transactions can).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from baychain.codec import rlp
from baychain.errors import BayChainError, DecodingError
from baychain.ledger.log import Log
from baychain.primitives import Address, Hash32

SYSTEM_CALL_GAS = 5_000
"""Gas charged for dispatching to a system contract, on top of intrinsic gas."""
STORAGE_READ_GAS = 2_100
"""Gas per storage slot read (EIP-2929's cold SLOAD cost)."""
STORAGE_WRITE_GAS = 20_000
"""Gas per storage slot written (the EVM's SSTORE-set cost)."""
LOG_GAS = 375
"""Gas per emitted log (the EVM's LOG base cost)."""

_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)


def system_address(index: int) -> Address:
    """The fixed address of system contract number ``index``: 0x...1000 + index."""
    return Address((0x1000 + index).to_bytes(20, "big"))


class SystemRevert(BayChainError):
    """Raised by a system contract to revert the call with a reason."""


class OutOfGas(SystemRevert):
    """The call needed more gas than its limit."""


def revert_data(reason: str) -> bytes:
    """Solidity-style ``Error(string)`` revert data for ``reason``."""
    text = reason.encode()
    padded = text + b"\x00" * (-len(text) % 32)
    return (
        _ERROR_SELECTOR
        + (32).to_bytes(32, "big")
        + len(text).to_bytes(32, "big")
        + padded
    )


class StorageAccess(ABC):
    """The storage the call sees: the state so far in this block."""

    @abstractmethod
    def load(self, address: Address, slot: int) -> int:
        """Value of a slot (0 if unset)."""


@dataclass
class SystemCall:
    """One executing call: its caller, its gas meter, and its buffered effects."""

    contract: Address
    sender: Address
    gas_available: int
    storage: StorageAccess
    gas_used: int = 0
    writes: dict[int, int] = field(default_factory=dict)
    logs: list[Log] = field(default_factory=list)

    def charge(self, gas: int) -> None:
        """Consume ``gas``; raise OutOfGas past the limit."""
        self.gas_used += gas
        if self.gas_used > self.gas_available:
            raise OutOfGas("out of gas")

    def sload(self, slot: int) -> int:
        """Read one of the contract's slots (its own earlier writes included)."""
        self.charge(STORAGE_READ_GAS)
        if slot in self.writes:
            return self.writes[slot]
        return self.storage.load(self.contract, slot)

    def sstore(self, slot: int, value: int) -> None:
        """Write one of the contract's slots (applied only if the call succeeds)."""
        self.charge(STORAGE_WRITE_GAS)
        self.writes[slot] = value

    def emit(self, topics: Iterable[Hash32], data: bytes) -> None:
        """Emit a log from the contract's address."""
        self.charge(LOG_GAS)
        self.logs.append(Log(address=self.contract, topics=tuple(topics), data=data))


class SystemContract(ABC):
    """A contract implemented in Python at a fixed address."""

    address: Address
    name: str

    @abstractmethod
    def methods(self) -> dict[str, int]:
        """Method name -> number of arguments, for dispatch validation."""

    @abstractmethod
    def invoke(self, call: SystemCall, method: str, args: list[bytes]) -> rlp.Encodable:
        """Run ``method``; return the RLP-encodable result or raise SystemRevert."""

    def dispatch(self, call: SystemCall, data: bytes) -> bytes:
        """Decode ``rlp([method, *args])``, check it, invoke it, encode the result."""
        try:
            items = rlp.decode_list(rlp.decode(data), name="call data")
            if not items:
                raise SystemRevert(f"{self.name}: empty call data")
            method = rlp.decode_bytes(items[0], name="method", max_len=64).decode("ascii")
            args = [rlp.decode_bytes(item, name="argument") for item in items[1:]]
        except (DecodingError, UnicodeDecodeError) as error:
            raise SystemRevert(f"{self.name}: malformed call data ({error})") from None
        arity = self.methods().get(method)
        if arity is None:
            raise SystemRevert(f"{self.name}: no method {method!r}")
        if arity != len(args):
            raise SystemRevert(f"{self.name}.{method} takes {arity} arguments, got {len(args)}")
        return rlp.encode(self.invoke(call, method, args))


def encode_call(method: str, *args: bytes) -> bytes:
    """Call data for a system contract method (what SDKs send)."""
    return rlp.encode([method.encode("ascii"), *args])


class SystemRegistry:
    """The system contracts of a chain, by address."""

    def __init__(self, contracts: Iterable[SystemContract] = ()) -> None:
        self._by_address: dict[Address, SystemContract] = {}
        for contract in contracts:
            self.register(contract)

    def register(self, contract: SystemContract) -> None:
        """Add ``contract``; raise ValueError if its address is taken."""
        if contract.address in self._by_address:
            raise ValueError(f"two system contracts at 0x{contract.address.hex()}")
        self._by_address[contract.address] = contract

    def get(self, address: Address | None) -> SystemContract | None:
        """The contract at ``address``, if it is a system address."""
        return None if address is None else self._by_address.get(address)

    def __contains__(self, address: object) -> bool:
        return address in self._by_address

    def __iter__(self) -> Iterator[SystemContract]:
        return iter(sorted(self._by_address.values(), key=lambda c: c.address))
