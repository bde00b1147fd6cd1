"""Keystores: round trips for both suites and ciphers, wrong passwords, altered files."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from baychain.crypto import get_suite, keystore, sm4
from baychain.errors import CryptoError, DecodingError, InvalidKey, WrongPassword

FAST_N = keystore.MIN_SCRYPT_N
"""The cheapest scrypt cost a keystore may have (the default is 2**17)."""
CIPHERS = [
    pytest.param(
        keystore.CIPHER_GCM,
        marks=pytest.mark.skipif(not sm4.gcm_available(), reason="OpenSSL lacks SM4-GCM"),
    ),
    keystore.CIPHER_CBC_HMAC,
]


def _make(suite_name: str, cipher: str, password: str = "correct horse") -> tuple[bytes, Any]:
    suite = get_suite(suite_name)
    key = suite.new_private_key()
    return key, keystore.encrypt_key(suite, key, password, cipher=cipher, scrypt_n=FAST_N)


@pytest.mark.parametrize("suite_name", ["ecdsa", "sm"])
@pytest.mark.parametrize("cipher", CIPHERS)
def test_round_trip_through_json(suite_name: str, cipher: str) -> None:
    suite = get_suite(suite_name)
    key, document = _make(suite_name, cipher)
    text = json.dumps(document)
    assert key.hex() not in text
    loaded = json.loads(text)
    assert loaded["address"] == "0x" + suite.address(suite.public_key(key)).hex()
    assert loaded["cipher"]["name"] == cipher
    assert keystore.decrypt_key(suite, loaded, "correct horse") == key


@pytest.mark.parametrize("cipher", CIPHERS)
def test_wrong_password(cipher: str) -> None:
    _, document = _make("sm", cipher)
    with pytest.raises(WrongPassword, match="wrong password") as info:
        keystore.decrypt_key(get_suite("sm"), document, "Correct horse")
    assert info.value.address == document["address"]


def test_password_is_unicode_normalised() -> None:
    suite = get_suite("ecdsa")
    key = suite.new_private_key()
    document = keystore.encrypt_key(suite, key, "caf\u00e9", scrypt_n=FAST_N)
    assert keystore.decrypt_key(suite, document, "cafe\u0301") == key


@pytest.mark.parametrize("cipher", CIPHERS)
def test_altered_address_fails_authentication(cipher: str) -> None:
    _, document = _make("ecdsa", cipher)
    altered = copy.deepcopy(document)
    altered["address"] = "0x" + "11" * 20
    with pytest.raises(WrongPassword):
        keystore.decrypt_key(get_suite("ecdsa"), altered, "correct horse")


def test_default_cipher_is_gcm_when_available() -> None:
    expected = keystore.CIPHER_GCM if sm4.gcm_available() else keystore.CIPHER_CBC_HMAC
    assert keystore.default_cipher() == expected


def test_fresh_salt_and_nonce_each_time() -> None:
    suite = get_suite("sm")
    key = suite.new_private_key()
    first = keystore.encrypt_key(suite, key, "pw", scrypt_n=FAST_N)
    second = keystore.encrypt_key(suite, key, "pw", scrypt_n=FAST_N)
    assert first["kdf"]["salt"] != second["kdf"]["salt"]
    assert first["cipher"]["ciphertext"] != second["cipher"]["ciphertext"]


def test_suite_mismatch() -> None:
    _, document = _make("ecdsa", keystore.CIPHER_CBC_HMAC)
    with pytest.raises(InvalidKey, match="'ecdsa' key but this chain uses the 'sm'"):
        keystore.decrypt_key(get_suite("sm"), document, "correct horse")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("version",), 2, "version"),
        (("version",), True, "version"),
        (("address",), "0xzz", "not hex"),
        (("address",), "0x1234", "20 bytes"),
        (("kdf", "name"), "pbkdf2", "kdf"),
        (("kdf", "n"), 1000, "power of two"),
        (("kdf", "n"), 2, "too weak"),
        (("kdf", "n"), 2**13, "too weak"),
        (("kdf", "r"), 1, "too weak"),
        (("kdf", "r"), 1024, "r must be"),
        (("kdf", "p"), 0, "p must be"),
        (("kdf", "p"), 17, "p must be"),
        (("kdf", "n"), 2**24, "bytes"),
        (("kdf", "salt"), None, "kdf.salt"),
        (("cipher", "name"), "aes-128-ctr", "cipher"),
        (("cipher", "mac"), "00", "mac"),
    ],
)
def test_malformed_documents(path: tuple[str, ...], value: Any, message: str) -> None:
    _, document = _make("sm", keystore.CIPHER_CBC_HMAC)
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(DecodingError, match=message):
        keystore.decrypt_key(get_suite("sm"), document, "correct horse")


def test_refuses_invalid_key_and_unknown_cipher() -> None:
    with pytest.raises(InvalidKey):
        keystore.encrypt_key(get_suite("sm"), bytes(32), "pw", scrypt_n=FAST_N)
    with pytest.raises(CryptoError, match="unknown keystore cipher"):
        keystore.encrypt_key(
            get_suite("sm"),
            get_suite("sm").new_private_key(),
            "pw",
            cipher="rot13",
            scrypt_n=FAST_N,
        )


def test_weak_scrypt_parameters_are_refused_with_a_reason() -> None:
    suite = get_suite("sm")
    key = suite.new_private_key()
    with pytest.raises(DecodingError, match=r"scrypt n=1024 is too weak: at least 16384"):
        keystore.encrypt_key(suite, key, "pw", scrypt_n=2**10)
    document = keystore.encrypt_key(suite, key, "pw", scrypt_n=FAST_N)
    document["kdf"]["n"] = 2
    with pytest.raises(DecodingError, match="too weak") as refused:
        keystore.decrypt_key(suite, document, "pw")
    assert "re-encrypt" in str(refused.value)
