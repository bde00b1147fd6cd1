"""Well-known development keys: never use them on a chain that holds value.

- ``ecdsa``: account ``i`` of the public dev mnemonic
  ``"test test test test test test test test test test test junk"`` at
  ``m/44'/60'/0'/0/i``, the accounts Hardhat, Foundry and their users know
  (account 0 is ``0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266``).
- ``sm``: key ``i`` is ``int(SM3(b"baychain-dev-sm2" || i as 4 big-endian bytes))
  mod (n - 2) + 1``, which lies in SM2's private key range [1, n-2].
"""

from __future__ import annotations

from baychain.crypto import mnemonic, sm2
from baychain.crypto.sm3 import sm3
from baychain.errors import ConfigError

DEV_SM2_DOMAIN = b"baychain-dev-sm2"
"""Domain-separation prefix of the ``sm`` dev key derivation."""

_ETHEREUM_ACCOUNTS_PARENT = "m/44'/60'/0'/0"


def dev_ecdsa_keys(count: int) -> list[bytes]:
    """Return the first ``count`` secp256k1 keys of the dev mnemonic."""
    seed = mnemonic.mnemonic_to_seed(mnemonic.DEV_MNEMONIC)
    parent = mnemonic.master_key(seed)
    for index in mnemonic.parse_path(_ETHEREUM_ACCOUNTS_PARENT):
        parent = mnemonic.derive_child(parent, index)
    return [mnemonic.derive_child(parent, i).private_key for i in range(count)]


def dev_sm2_key(index: int) -> bytes:
    """Return SM2 dev key ``index`` (see the module docstring for the rule)."""
    if not 0 <= index < 2**32:
        raise ConfigError(f"a dev key index is in [0, 2**32), got {index}")
    digest = sm3(DEV_SM2_DOMAIN + index.to_bytes(4, "big"))
    scalar = int.from_bytes(digest, "big") % (sm2.SM2_N - 2) + 1
    return scalar.to_bytes(sm2.PRIVATE_KEY_SIZE, "big")


def dev_sm2_keys(count: int) -> list[bytes]:
    """Return SM2 dev keys 0 .. ``count - 1``."""
    return [dev_sm2_key(i) for i in range(count)]
