"""SystemConfig (0x...1000): chain parameters on the ledger, changed only by its administrators.

Keys are up to 32 bytes, values 32-byte words. Genesis makes every genesis
validator an administrator; governance will later put committee votes in front
of these methods. Methods (``rlp([name, *args])`` call data, see ``system.py``):

=========================  ======================================  ===========
method                     effect                                  who
=========================  ======================================  ===========
``get(key)``               returns the 32-byte value (zero if unset)  anyone
``set(key, value)``        sets a value, logs ``ConfigChanged``    admin
``is_admin(address)``      returns 1 or 0                          anyone
``add_admin(address)``     makes an administrator                  admin
``remove_admin(address)``  removes one (never the last)            admin
=========================  ======================================  ===========
"""

from __future__ import annotations

from collections.abc import Iterable

from baychain.codec import rlp
from baychain.crypto import keccak256
from baychain.execution.system import SystemCall, SystemContract, SystemRevert, system_address
from baychain.primitives import Address, Hash32

SYSTEM_CONFIG_ADDRESS = system_address(0)
CONFIG_CHANGED_TOPIC = keccak256(b"ConfigChanged(bytes32)")
ADMIN_CHANGED_TOPIC = keccak256(b"AdminChanged(address,bool)")
_ADMIN_COUNT_SLOT = 0


def value_slot(key: bytes) -> int:
    """Storage slot holding the value of ``key``."""
    return int.from_bytes(keccak256(b"config:" + key), "big")


def admin_slot(address: bytes) -> int:
    """Storage slot that is 1 when ``address`` is an administrator."""
    return int.from_bytes(keccak256(b"admin:" + address), "big")


def genesis_storage(admins: Iterable[Address]) -> list[tuple[int, int]]:
    """The contract's storage at genesis with ``admins`` as administrators."""
    unique = sorted(set(admins))
    return [(_ADMIN_COUNT_SLOT, len(unique)), *((admin_slot(a), 1) for a in unique)]


class SystemConfig(SystemContract):
    """Administrator-controlled key/value chain parameters."""

    address = SYSTEM_CONFIG_ADDRESS
    name = "SystemConfig"

    def methods(self) -> dict[str, int]:
        return {"get": 1, "set": 2, "is_admin": 1, "add_admin": 1, "remove_admin": 1}

    def invoke(self, call: SystemCall, method: str, args: list[bytes]) -> rlp.Encodable:
        if method == "get":
            return call.sload(value_slot(_key(args[0]))).to_bytes(32, "big")
        if method == "is_admin":
            return rlp.encode_uint(call.sload(admin_slot(_address(args[0]))))
        self._require_admin(call)
        if method == "set":
            key = _key(args[0])
            if len(args[1]) != 32:
                raise SystemRevert("SystemConfig.set: value must be a 32-byte word")
            call.sstore(value_slot(key), int.from_bytes(args[1], "big"))
            call.emit([CONFIG_CHANGED_TOPIC, Hash32(key.ljust(32, b"\x00"))], args[1])
            return b""
        target = _address(args[0])
        is_admin = call.sload(admin_slot(target)) == 1
        count = call.sload(_ADMIN_COUNT_SLOT)
        if method == "add_admin" and not is_admin:
            call.sstore(admin_slot(target), 1)
            call.sstore(_ADMIN_COUNT_SLOT, count + 1)
        elif method == "remove_admin" and is_admin:
            if count <= 1:
                raise SystemRevert("SystemConfig.remove_admin: cannot remove the last admin")
            call.sstore(admin_slot(target), 0)
            call.sstore(_ADMIN_COUNT_SLOT, count - 1)
        else:
            return b""
        flag = (1 if method == "add_admin" else 0).to_bytes(32, "big")
        call.emit([ADMIN_CHANGED_TOPIC, Hash32(bytes(12) + target)], flag)
        return b""

    def _require_admin(self, call: SystemCall) -> None:
        if call.sload(admin_slot(call.sender)) != 1:
            raise SystemRevert(f"SystemConfig: 0x{call.sender.hex()} is not an administrator")


def _key(raw: bytes) -> bytes:
    if not 1 <= len(raw) <= 32:
        raise SystemRevert("SystemConfig: a key is 1 to 32 bytes")
    return raw


def _address(raw: bytes) -> Address:
    if len(raw) != 20:
        raise SystemRevert("SystemConfig: an address is 20 bytes")
    return Address(raw)
