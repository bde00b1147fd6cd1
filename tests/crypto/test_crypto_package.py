"""The package surface: get_suite, SUITE_NAMES, dev keys and the pinned __all__."""

from __future__ import annotations

import pytest

import baychain.crypto as crypto
from baychain import _evm
from baychain.crypto import SUITE_NAMES, dev_private_keys, get_suite, keccak256
from baychain.crypto.devkeys import dev_sm2_key
from baychain.crypto.sm2 import SM2_N
from baychain.crypto.sm3 import sm3
from baychain.errors import ConfigError
from baychain.ledger.merkle import merkle_root
from baychain.ledger.transactions import DYNAMIC_FEE_TX_TYPE, SM2_TX_TYPE, accepted_tx_types
from baychain.primitives import Hash32


def test_public_api_is_pinned() -> None:
    assert set(crypto.__all__) == {
        "SUITE_NAMES",
        "CryptoSuite",
        "EcdsaSuite",
        "SmSuite",
        "dev_private_keys",
        "get_suite",
        "keccak256",
    }
    for name in crypto.__all__:
        assert hasattr(crypto, name)


def test_get_suite_returns_singletons() -> None:
    assert SUITE_NAMES == ("ecdsa", "sm")
    for name in SUITE_NAMES:
        assert get_suite(name) is get_suite(name)
        assert get_suite(name).name == name


def test_unknown_suite_names_the_choices() -> None:
    expected = "unknown crypto suite 'sm2'; choose one of 'ecdsa', 'sm'"
    with pytest.raises(ConfigError, match=expected):
        get_suite("sm2")


def test_keccak_is_exported() -> None:
    assert keccak256(b"").hex().startswith("c5d24601")


def test_ecdsa_dev_keys_are_the_hardhat_accounts() -> None:
    keys = dev_private_keys("ecdsa", 3)
    assert [k.hex()[:8] for k in keys] == ["ac0974be", "59c6995e", "5de4111a"]


def test_sm_dev_keys_follow_the_documented_rule() -> None:
    keys = dev_private_keys("sm", 3)
    for i, key in enumerate(keys):
        digest = sm3(b"baychain-dev-sm2" + i.to_bytes(4, "big"))
        assert int.from_bytes(key, "big") == int.from_bytes(digest, "big") % (SM2_N - 2) + 1
    assert len(set(keys)) == 3
    suite = get_suite("sm")
    assert suite.verify(suite.public_key(keys[0]), b"m", suite.sign(keys[0], b"m"))
    assert dev_sm2_key(2) == keys[2]


def test_dev_keys_bad_arguments() -> None:
    assert dev_private_keys("sm", 0) == []
    with pytest.raises(ConfigError):
        dev_private_keys("rsa", 1)
    with pytest.raises(ConfigError):
        dev_private_keys("ecdsa", -1)


@pytest.mark.parametrize(
    ("name", "hash_name", "tx_type"),
    [("ecdsa", "keccak256", DYNAMIC_FEE_TX_TYPE), ("sm", "sm3", SM2_TX_TYPE)],
)
def test_each_suite_names_its_hash_and_its_transaction_type(
    name: str, hash_name: str, tx_type: int
) -> None:
    suite = get_suite(name)
    assert suite.hash_name == hash_name
    native = _evm.merkle_root([b"leaf"], suite.hash_name)
    assert Hash32(native) == merkle_root([b"leaf"], suite.hash)
    assert suite.transaction_type == tx_type
    assert suite.transaction_type in accepted_tx_types(suite)
