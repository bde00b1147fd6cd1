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
random password to that file (mode 0600); production deployments should keep
the password out of the directory and provide it through the environment.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from baychain.crypto import dev_private_keys, get_suite
from baychain.crypto.keystore import decrypt_key, encrypt_key
from baychain.errors import ConfigError
from baychain.node.genesis import Genesis, GenesisAccount, Validator
from baychain.node.host.settings import NodeConfig, render_config
from baychain.primitives import Address

PASSWORD_ENV = "BAYCHAIN_KEY_PASSWORD"
DEFAULT_CHAIN_ID = 20_261
DEFAULT_BLOCK_GAS_LIMIT = 60_000_000
DEFAULT_BLOCK_INTERVAL_MS = 1_000
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
    hardfork: str = "cancun",
    rpc_port: int = 8545,
    p2p_port: int = 30300,
) -> InitResult:
    """Create a single-validator chain in ``directory``; refuse to overwrite an existing one."""
    suite = get_suite(crypto)
    if (directory / "genesis.json").exists() or (directory / "node.toml").exists():
        raise ConfigError(
            f"{directory} already holds a chain (genesis.json or node.toml exists); "
            "choose another --dir or remove it first"
        )
    if not 0 <= dev_accounts <= 1_000:
        raise ConfigError("--dev-accounts must be between 0 and 1000")
    directory.mkdir(parents=True, exist_ok=True)
    keys_dir = directory / "keys"
    keys_dir.mkdir(exist_ok=True)

    validator_key = suite.new_private_key()
    write_validator_key(keys_dir, crypto, validator_key)
    accounts = make_dev_accounts(crypto, dev_accounts)
    public_key = suite.public_key(validator_key)
    genesis = Genesis(
        chain_id=chain_id,
        crypto=crypto,
        hardfork=hardfork,
        block_gas_limit=block_gas_limit,
        base_fee_per_gas=0,
        block_interval_ms=block_interval_ms,
        validators=(Validator("node0", public_key, 1, suite.address(public_key)),),
        alloc=dev_alloc(accounts),
    )
    (directory / "genesis.json").write_text(json.dumps(genesis.to_json(), indent=2) + "\n")
    (directory / "node.toml").write_text(render_config("node0", rpc_port, p2p_port))
    if accounts:
        (directory / "dev-accounts.json").write_text(
            json.dumps(dev_accounts_document(accounts), indent=2) + "\n"
        )
    return InitResult(directory, genesis, suite.address(public_key), accounts)


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
        _write_private(keys_dir / "password", password + "\n")
    keystore = encrypt_key(suite, private_key, password)
    _write_private(keys_dir / "validator.json", json.dumps(keystore, indent=2) + "\n")


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


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
