"""Type stub of the Rust extension ``baychain._evm`` (source: ``rust/src``).

Use it through :mod:`baychain.execution.engine`, which documents the contract.
"""

from collections.abc import Iterable, Sequence
from typing import Any, final

REVM_VERSION: str

_AccountRow = tuple[bytes, int, int, bytes, bytes | None, bool]
"""(address, balance, nonce, code_hash, code if deployed, destroyed)."""

_StorageRow = tuple[bytes, int, int]
"""(address, slot, new value)."""

_LogRow = tuple[bytes, list[bytes], bytes]
"""(address, topics, data)."""

@final
class TxOutcome:
    @property
    def valid(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def error_kind(self) -> str | None: ...
    @property
    def success(self) -> bool: ...
    @property
    def gas_used(self) -> int: ...
    @property
    def output(self) -> bytes: ...
    @property
    def created_address(self) -> bytes | None: ...
    @property
    def logs(self) -> list[_LogRow]: ...
    @property
    def accounts(self) -> list[_AccountRow]: ...
    @property
    def storage(self) -> list[_StorageRow]: ...

def execute_block(env: Any, txs: Iterable[Any], db: Any) -> list[TxOutcome]: ...
def merge_diffs(outcomes: Sequence[TxOutcome]) -> tuple[list[_AccountRow], list[_StorageRow]]: ...
def create_address(sender: bytes, nonce: int) -> bytes: ...
