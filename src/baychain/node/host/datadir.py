"""A node's directory: genesis.json, node.toml, the encrypted validator key, the store, logs.

::

    DIR/
      genesis.json          the chain (shared by every node of it)
      node.toml             this node's settings
      keys/validator.json   the validator's private key, SM4-encrypted (scrypt-derived key)
      keys/password         the key's password, only when BAYCHAIN_KEY_PASSWORD was not set
      dev-accounts.json     development keys funded in genesis (only with --dev-accounts)
      data/                 the LMDB store
      logs/node.log

The key's password comes from the environment variable ``BAYCHAIN_KEY_PASSWORD``
when set, otherwise from ``password_file``. A development ``init`` writes a
random password to that file (mode 0600) and logs a warning saying so: whoever
can read the directory (a backup, a copied disk) holds both the key and its
password. Production deployments should keep the password out of the directory
and provide it through the environment (docs/security.md). Every secret here is
written owner-only (:func:`baychain.files.write_private`), ``dev-accounts.json``
included.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baychain.crypto import dev_private_keys, get_suite
from baychain.crypto.keystore import decrypt_key, encrypt_key
from baychain.errors import ConfigError
from baychain.files import write_private
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.node.host.settings import (
    DEFAULT_NODE_NAME,
    DEFAULT_P2P_PORT,
    DEFAULT_RPC_PORT,
    NodeConfig,
    render_config,
)
from baychain.primitives import Address

log = logging.getLogger("baychain.node")

PASSWORD_ENV = "BAYCHAIN_KEY_PASSWORD"
DEFAULT_CHAIN_ID = 20_261
DEFAULT_BLOCK_GAS_LIMIT = 60_000_000
DEFAULT_BLOCK_INTERVAL_MS = 1_000
DEFAULT_HARDFORK = "cancun"
MAX_DEV_ACCOUNTS = 1_000
"""Most development accounts a new chain may fund."""
DEV_ACCOUNT_BALANCE_WEI = 10**6 * 10**18
"""One million coins per development account."""


@dataclass(frozen=True, slots=True)
class DevAccount:
    """A funded development account (its key is public knowledge)."""

    address: Address
    private_key: bytes


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``init_node_dir`` created."""

    directory: Path
    genesis: Genesis
    validator_address: Address
    dev_accounts: tuple[DevAccount, ...]


def init_node_dir(
    directory: Path,
    *,
    crypto: str,
    dev_accounts: int = 0,
    chain_id: int = DEFAULT_CHAIN_ID,
    block_interval_ms: int = DEFAULT_BLOCK_INTERVAL_MS,
    block_gas_limit: int = DEFAULT_BLOCK_GAS_LIMIT,
    hardfork: str = DEFAULT_HARDFORK,
    rpc_port: int = DEFAULT_RPC_PORT,
    p2p_port: int = DEFAULT_P2P_PORT,
) -> InitResult:
    """Create a single-validator chain in ``directory``; refuse to overwrite an existing one."""
    if (directory / "genesis.json").exists() or (directory / "node.toml").exists():
        raise ConfigError(
            f"{directory} already holds a chain (genesis.json or node.toml exists); "
            "choose another --dir or remove it first"
        )
    genesis, accounts = create_genesis(
        crypto,
        ((DEFAULT_NODE_NAME, directory / "keys"),),
        dev_accounts=dev_accounts,
        chain_id=chain_id,
        block_interval_ms=block_interval_ms,
        block_gas_limit=block_gas_limit,
        hardfork=hardfork,
    )
    (directory / "genesis.json").write_text(json.dumps(genesis.to_json(), indent=2) + "\n")
    (directory / "node.toml").write_text(
        render_config(
            {
                "node": {"name": DEFAULT_NODE_NAME},
                "rpc": {"port": rpc_port},
                "p2p": {"port": p2p_port},
            }
        )
    )
    if accounts:
        write_private(
            directory / "dev-accounts.json",
            json.dumps(dev_accounts_document(accounts), indent=2) + "\n",
        )
    password_file = directory / "keys" / "password"
    if password_file.exists():
        log.warning(
            "warning: the validator key's password is stored beside the key, in %s; "
            "for anything but development, remove it and set %s instead (docs/security.md)",
            password_file,
            PASSWORD_ENV,
        )
    return InitResult(directory, genesis, genesis.validators[0].address, accounts)


def create_genesis(
    crypto: str,
    validators: Sequence[tuple[str, Path]],
    *,
    dev_accounts: int = 0,
    extra_alloc: tuple[tuple[Address, GenesisAccount], ...] = (),
    chain_id: int = DEFAULT_CHAIN_ID,
    block_interval_ms: int = DEFAULT_BLOCK_INTERVAL_MS,
    block_gas_limit: int = DEFAULT_BLOCK_GAS_LIMIT,
    hardfork: str = DEFAULT_HARDFORK,
) -> tuple[Genesis, tuple[DevAccount, ...]]:
    """The genesis of a new chain, with its funded development accounts.

    ``validators`` names each genesis validator and the keys directory its fresh
    consensus key is written to (:func:`write_validator_key`); each has power 1.
    The alloc funds the first ``dev_accounts`` development accounts and adds
    ``extra_alloc``. The base fee is 0. Bad arguments (a development-account count
    out of range, an address funded twice) raise :class:`ConfigError` before any
    key is written.
    """
    suite = get_suite(crypto)
    if not 0 <= dev_accounts <= MAX_DEV_ACCOUNTS:
        raise ConfigError(f"--dev-accounts must be between 0 and {MAX_DEV_ACCOUNTS}")
    accounts = make_dev_accounts(crypto, dev_accounts)
    alloc = merge_alloc(dev_alloc(accounts), extra_alloc)
    entries = []
    for name, keys_dir in validators:
        key = suite.new_private_key()
        write_validator_key(keys_dir, crypto, key)
        public_key = suite.public_key(key)
        entries.append(Validator(name, public_key, 1, suite.address(public_key)))
    genesis = Genesis(
        chain_id=chain_id,
        crypto=crypto,
        hardfork=hardfork,
        block_gas_limit=block_gas_limit,
        base_fee_per_gas=0,
        block_interval_ms=block_interval_ms,
        validators=tuple(entries),
        alloc=alloc,
    )
    return genesis, accounts


def merge_alloc(
    base: tuple[tuple[Address, GenesisAccount], ...],
    extra: tuple[tuple[Address, GenesisAccount], ...],
) -> tuple[tuple[Address, GenesisAccount], ...]:
    """``base`` and ``extra`` as one alloc sorted by address; raise ConfigError on a repeat."""
    merged = dict(base)
    for address, account in extra:
        if address in merged:
            raise ConfigError(
                f"genesis account 0x{address.hex()} is given twice (a development account "
                "or a repeated extra allocation); each address may be funded once"
            )
        merged[address] = account
    return tuple(sorted(merged.items()))


def write_validator_key(keys_dir: Path, crypto: str, private_key: bytes) -> None:
    """Write ``keys_dir/validator.json`` (SM4 keystore) and, if needed, ``keys_dir/password``.

    The password is ``BAYCHAIN_KEY_PASSWORD`` when set (and then no password file is
    written); otherwise a fresh random one stored beside the key with mode 0600.
    """
    suite = get_suite(crypto)
    keys_dir.mkdir(parents=True, exist_ok=True)
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = secrets.token_urlsafe(24)
        write_private(keys_dir / "password", password + "\n")
    keystore = encrypt_key(suite, private_key, password)
    write_private(keys_dir / "validator.json", json.dumps(keystore, indent=2) + "\n")


def make_dev_accounts(crypto: str, count: int) -> tuple[DevAccount, ...]:
    """The first ``count`` well-known development accounts of suite ``crypto``."""
    suite = get_suite(crypto)
    return tuple(
        DevAccount(suite.address(suite.public_key(key)), key)
        for key in dev_private_keys(crypto, count)
    )


def dev_alloc(accounts: tuple[DevAccount, ...]) -> tuple[tuple[Address, GenesisAccount], ...]:
    """Genesis allocations funding each development account with DEV_ACCOUNT_BALANCE_WEI."""
    return tuple(sorted((a.address, GenesisAccount(DEV_ACCOUNT_BALANCE_WEI)) for a in accounts))


def dev_accounts_document(accounts: tuple[DevAccount, ...]) -> dict[str, Any]:
    """The JSON written to dev-accounts.json."""
    return {
        "warning": "DEVELOPMENT KEYS: publicly known, never use them on a real chain",
        "accounts": [
            {"address": "0x" + a.address.hex(), "private_key": "0x" + a.private_key.hex()}
            for a in accounts
        ],
    }


def load_validator_key(config: NodeConfig, crypto: str) -> bytes:
    """Decrypt the node's validator key with the password from the environment or file."""
    suite = get_suite(crypto)
    try:
        keystore = json.loads(config.key_file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"validator key not found at {config.key_file}") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"validator key file {config.key_file} is unreadable: {error}") from None
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        try:
            password = config.password_file.read_text().strip()
        except FileNotFoundError:
            raise ConfigError(
                f"no key password: set {PASSWORD_ENV} or create {config.password_file}"
            ) from None
    return decrypt_key(suite, keystore, password)
