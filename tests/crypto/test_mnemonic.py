"""BIP-39 seeds and BIP-32 derivation against the dev mnemonic and BIP-32 test vector 1."""

from __future__ import annotations

import pytest

from baychain.crypto import mnemonic
from baychain.crypto.ecdsa import EcdsaSuite
from baychain.errors import DecodingError, InvalidKey

SUITE = EcdsaSuite()

DEV_ACCOUNTS = [
    (
        0,
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        "f39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    ),
    (
        1,
        "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        "70997970c51812dc3a010c7d01b50e0d17dc79c8",
    ),
]


@pytest.mark.parametrize(("index", "key", "address"), DEV_ACCOUNTS)
def test_dev_mnemonic_accounts(index: int, key: str, address: str) -> None:
    derived = mnemonic.ethereum_account_key(mnemonic.DEV_MNEMONIC, index)
    assert derived.hex() == key
    assert SUITE.address(SUITE.public_key(derived)).hex() == address


def test_bip39_seed_vector() -> None:
    # BIP-39 reference vectors (trezor/python-mnemonic), passphrase "TREZOR".
    seed = mnemonic.mnemonic_to_seed(
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
        "abandon about",
        "TREZOR",
    )
    assert seed.hex() == (
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c"
        "92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
    )


def test_passphrase_and_whitespace() -> None:
    base = mnemonic.mnemonic_to_seed(mnemonic.DEV_MNEMONIC)
    assert mnemonic.mnemonic_to_seed("  " + mnemonic.DEV_MNEMONIC.replace(" ", "   ")) == base
    assert mnemonic.mnemonic_to_seed(mnemonic.DEV_MNEMONIC, "x") != base


def test_bip32_vector_1() -> None:
    # BIP-32 test vector 1: seed 000102...0f, chain m/0H/1/2H/2/1000000000.
    seed = bytes(range(16))
    assert mnemonic.master_key(seed).private_key.hex() == (
        "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"
    )
    assert mnemonic.derive_private_key(seed, "m/0H/1/2H/2/1000000000").hex() == (
        "471b76e389e528d6de6d816857e012c5455051cad6660850e58372a6c3e6e7c8"
    )


def test_parse_path() -> None:
    assert mnemonic.parse_path("m/44'/60'/0'/0/7") == (
        44 + mnemonic.HARDENED,
        60 + mnemonic.HARDENED,
        mnemonic.HARDENED,
        0,
        7,
    )
    assert mnemonic.parse_path("m") == ()
    for bad in ("44'/60'", "m/x", "m/1''", "m/2147483648", "m//1", "m/-1"):
        with pytest.raises(DecodingError):
            mnemonic.parse_path(bad)


def test_seed_length_and_child_index_bounds() -> None:
    with pytest.raises(InvalidKey):
        mnemonic.master_key(bytes(15))
    node = mnemonic.master_key(bytes(16))
    with pytest.raises(InvalidKey):
        mnemonic.derive_child(node, 2**32)


def test_extended_key_repr_hides_the_secret() -> None:
    node = mnemonic.master_key(bytes(16))
    assert node.private_key.hex() not in repr(node)
