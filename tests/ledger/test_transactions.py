"""Transactions: published vectors, py-evm as an oracle, and every rejection path."""

from __future__ import annotations

from typing import Any

import pytest
from eth.vm.forks.cancun import transactions as py_evm_transactions
from eth_keys.datatypes import PrivateKey as EthKeysPrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from baychain.codec import rlp
from baychain.crypto import dev_private_keys, get_suite, keccak256
from baychain.crypto.ecdsa import SECP256K1_N, sign_digest
from baychain.errors import (
    DecodingError,
    GasLimitPriceOverflow,
    InvalidSignature,
    InvalidTransaction,
    InvalidTransactionSignature,
    MalformedTransaction,
    UnsupportedTransactionType,
    WrongChainId,
)
from baychain.ledger.signing import (
    UnsignedTransaction,
    sign_transaction,
    signing_payload,
    unsigned_of,
)
from baychain.ledger.transactions import (
    ACCESS_LIST_TX_TYPE,
    DYNAMIC_FEE_TX_TYPE,
    LEGACY_TX_TYPE,
    SM2_TX_TYPE,
    accepted_tx_types,
    decode_transaction,
    decode_transactions,
)
from baychain.primitives import Address, Hash32

# py-evm, the oracle; typed loosely because its NewTypes are not ours.
CancunTransactionBuilder: Any = py_evm_transactions.CancunTransactionBuilder

ECDSA = get_suite("ecdsa")
SM = get_suite("sm")

# EIP-155, "Example": the transaction, its signing hash, its signed bytes and sender.
EIP155_KEY = bytes.fromhex("46" * 32)
EIP155_SIGNING_HASH = "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
EIP155_RAW = bytes.fromhex(
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
    "8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f"
    "761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
)
EIP155_SENDER = bytes.fromhex("9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F")
EIP155_UNSIGNED = UnsignedTransaction(
    tx_type=LEGACY_TX_TYPE,
    chain_id=1,
    nonce=9,
    max_priority_fee_per_gas=20 * 10**9,
    max_fee_per_gas=20 * 10**9,
    gas_limit=21000,
    to=Address(b"\x35" * 20),
    value=10**18,
)

KEY = dev_private_keys("ecdsa", 1)[0]
SM_KEY, SM_OTHER_KEY = dev_private_keys("sm", 2)
CHAIN_ID = 1337
ACCESS = ((Address(b"\x11" * 20), (Hash32(b"\x00" * 32), Hash32(b"\x01" * 32))),)


def _unsigned(tx_type: int, **changes: Any) -> UnsignedTransaction:
    fields: dict[str, Any] = {
        "tx_type": tx_type,
        "chain_id": CHAIN_ID,
        "nonce": 3,
        "max_priority_fee_per_gas": 2 * 10**9,
        "max_fee_per_gas": 2 * 10**9 if tx_type in (0, 1) else 30 * 10**9,
        "gas_limit": 100_000,
        "to": Address(b"\x42" * 20),
        "value": 12345,
        "data": b"\x00\x01\x02hello",
        "access_list": () if tx_type == 0 else ACCESS,
    }
    fields.update(changes)
    return UnsignedTransaction(**fields)


# -- published vector --------------------------------------------------------------


def test_eip155_example_decodes() -> None:
    tx = decode_transaction(EIP155_RAW, ECDSA, 1)
    assert tx.sender == EIP155_SENDER
    assert (tx.nonce, tx.gas_limit, tx.value) == (9, 21000, 10**18)
    assert tx.max_fee_per_gas == tx.max_priority_fee_per_gas == 20 * 10**9
    assert tx.to == b"\x35" * 20
    assert tx.v == 37
    assert tx.chain_id == 1
    assert tx.hash == keccak256(EIP155_RAW)
    assert tx.raw == EIP155_RAW
    assert tx.public_key == ECDSA.public_key(EIP155_KEY)
    assert unsigned_of(tx) == EIP155_UNSIGNED


def test_eip155_example_signs_to_the_published_bytes() -> None:
    assert keccak256(signing_payload(EIP155_UNSIGNED)).hex() == EIP155_SIGNING_HASH
    assert sign_transaction(EIP155_UNSIGNED, EIP155_KEY, ECDSA).raw == EIP155_RAW


def test_eip155_example_matches_py_evm() -> None:
    oracle = CancunTransactionBuilder.decode(EIP155_RAW)
    tx = decode_transaction(EIP155_RAW, ECDSA, 1)
    assert tx.hash == oracle.hash
    assert tx.sender == oracle.sender


# -- py-evm as an oracle for types 0, 1 and 2 ---------------------------------------


def _py_evm_signed(unsigned: UnsignedTransaction, key: bytes) -> bytes:
    """Sign the same fields with py-evm + eth_keys (RFC 6979, so the bytes must match)."""
    private_key = EthKeysPrivateKey(key)
    to = b"" if unsigned.to is None else unsigned.to
    access = [(a, [int.from_bytes(k, "big") for k in ks]) for a, ks in unsigned.access_list]
    common = {"nonce": unsigned.nonce, "gas": unsigned.gas_limit, "to": to,
              "value": unsigned.value, "data": unsigned.data}  # fmt: skip
    builder = CancunTransactionBuilder
    if unsigned.tx_type == LEGACY_TX_TYPE:
        legacy = builder.create_unsigned_transaction(gas_price=unsigned.max_fee_per_gas, **common)
        signed = legacy.as_signed_transaction(private_key, chain_id=unsigned.chain_id)
        return rlp.encode(rlp.decode(signed.encode()))
    if unsigned.tx_type == ACCESS_LIST_TX_TYPE:
        typed = builder.new_unsigned_access_list_transaction(
            chain_id=unsigned.chain_id, gas_price=unsigned.max_fee_per_gas,
            access_list=access, **common,
        )  # fmt: skip
    else:
        typed = builder.new_unsigned_dynamic_fee_transaction(
            chain_id=unsigned.chain_id,
            max_priority_fee_per_gas=unsigned.max_priority_fee_per_gas,
            max_fee_per_gas=unsigned.max_fee_per_gas, access_list=access, **common,
        )  # fmt: skip
    encoded: bytes = typed.as_signed_transaction(private_key).encode()
    return encoded


def _assert_matches_oracle(tx: Any) -> None:
    oracle = CancunTransactionBuilder.decode(tx.raw)
    assert tx.hash == oracle.hash
    assert tx.sender == oracle.sender
    assert tx.nonce == oracle.nonce
    assert tx.gas_limit == oracle.gas
    assert tx.value == oracle.value
    assert tx.data == oracle.data
    assert (tx.to or b"") == oracle.to
    assert tx.chain_id == oracle.chain_id
    assert (tx.r, tx.s) == (oracle.r, oracle.s)
    assert tx.max_fee_per_gas == oracle.max_fee_per_gas
    assert tx.max_priority_fee_per_gas == oracle.max_priority_fee_per_gas


@pytest.mark.parametrize("tx_type", [LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE, DYNAMIC_FEE_TX_TYPE])
def test_sign_matches_py_evm_byte_for_byte(tx_type: int) -> None:
    unsigned = _unsigned(tx_type)
    tx = sign_transaction(unsigned, KEY, ECDSA)
    assert tx.raw == _py_evm_signed(unsigned, KEY)
    assert tx.tx_type == tx_type
    assert tx.sender == ECDSA.address(ECDSA.public_key(KEY))
    assert decode_transaction(tx.raw, ECDSA, CHAIN_ID) == tx
    assert unsigned_of(tx) == unsigned
    _assert_matches_oracle(tx)


def test_create_transaction_round_trip() -> None:
    unsigned = _unsigned(DYNAMIC_FEE_TX_TYPE, to=None, data=b"\x60\x00" * 40)
    tx = sign_transaction(unsigned, KEY, ECDSA)
    assert tx.is_create
    assert tx.raw == _py_evm_signed(unsigned, KEY)
    _assert_matches_oracle(tx)


addresses = st.binary(min_size=20, max_size=20).map(Address)
access_lists = st.lists(
    st.tuples(addresses, st.lists(st.binary(min_size=32, max_size=32).map(Hash32), max_size=3)
              .map(tuple)),
    max_size=3,
).map(tuple)  # fmt: skip


@st.composite
def unsigned_transactions(draw: st.DrawFn) -> UnsignedTransaction:
    tx_type = draw(st.sampled_from([LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE, DYNAMIC_FEE_TX_TYPE]))
    gas_limit = draw(st.integers(0, 2**64 - 1))
    # gas x fee cap fits 256 bits (past it, see test_gas_limit_times_fee_cap_must_fit_256_bits)
    fee_cap = draw(st.integers(0, (2**256 - 1) // max(gas_limit, 1)))
    tip = fee_cap if tx_type != DYNAMIC_FEE_TX_TYPE else draw(st.integers(0, fee_cap))
    return UnsignedTransaction(
        tx_type=tx_type,
        chain_id=draw(st.integers(1, 2**32)),  # py-evm reads chain id 0 as "none"
        nonce=draw(st.integers(0, 2**64 - 2)),
        max_priority_fee_per_gas=tip,
        max_fee_per_gas=fee_cap,
        gas_limit=gas_limit,
        to=draw(st.none() | addresses),
        value=draw(st.integers(0, 2**256 - 1)),
        data=draw(st.binary(max_size=100)),
        access_list=() if tx_type == LEGACY_TX_TYPE else draw(access_lists),
    )


@settings(max_examples=60, deadline=None)
@given(unsigned_transactions(), st.integers(1, SECP256K1_N - 1))
def test_round_trip_and_oracle(unsigned: UnsignedTransaction, scalar: int) -> None:
    key = scalar.to_bytes(32, "big")
    tx = sign_transaction(unsigned, key, ECDSA)
    assert decode_transaction(tx.raw, ECDSA, unsigned.chain_id) == tx
    assert unsigned_of(tx) == unsigned
    assert tx.raw == _py_evm_signed(unsigned, key)
    _assert_matches_oracle(tx)


# -- SM2 transactions ---------------------------------------------------------------


def test_sm2_round_trip() -> None:
    unsigned = _unsigned(SM2_TX_TYPE)
    tx = sign_transaction(unsigned, SM_KEY, SM)
    public_key = SM.public_key(SM_KEY)
    assert tx.raw[0] == SM2_TX_TYPE
    assert tx.public_key == public_key
    assert tx.sender == SM.address(public_key)
    assert tx.hash == SM.hash(tx.raw)
    assert tx.v == 0
    assert decode_transaction(tx.raw, SM, CHAIN_ID) == tx
    assert unsigned_of(tx) == unsigned
    signature = tx.r.to_bytes(32, "big") + tx.s.to_bytes(32, "big")
    assert SM.verify(public_key, signing_payload(unsigned, public_key), signature)


def _sm2_fields(raw: bytes) -> list[rlp.Item]:
    return rlp.decode_list(rlp.decode(raw[1:]))


def test_sm2_tampered_field_fails_verification() -> None:
    tx = sign_transaction(_unsigned(SM2_TX_TYPE), SM_KEY, SM)
    fields = _sm2_fields(tx.raw)
    fields[6] = rlp.encode_uint(tx.value + 1)
    with pytest.raises(InvalidTransactionSignature):
        decode_transaction(bytes([SM2_TX_TYPE]) + rlp.encode(fields), SM, CHAIN_ID)


def test_sm2_someone_elses_public_key_fails() -> None:
    tx = sign_transaction(_unsigned(SM2_TX_TYPE), SM_KEY, SM)
    for bad_key in (SM.public_key(SM_OTHER_KEY), b"\x00" * 64):
        fields = _sm2_fields(tx.raw)
        fields[9] = bad_key
        with pytest.raises(InvalidTransactionSignature) as caught:
            decode_transaction(bytes([SM2_TX_TYPE]) + rlp.encode(fields), SM, CHAIN_ID)
        assert isinstance(caught.value, InvalidSignature)


def test_sm2_field_sizes() -> None:
    tx = sign_transaction(_unsigned(SM2_TX_TYPE), SM_KEY, SM)
    for index, size in ((9, 65), (10, 63)):
        fields = _sm2_fields(tx.raw)
        fields[index] = b"\x01" * size
        with pytest.raises(MalformedTransaction):
            decode_transaction(bytes([SM2_TX_TYPE]) + rlp.encode(fields), SM, CHAIN_ID)


def test_suites_accept_only_their_envelopes() -> None:
    assert accepted_tx_types(ECDSA) == {0, 1, 2}
    assert accepted_tx_types(SM) == {SM2_TX_TYPE}
    sm_tx = sign_transaction(_unsigned(SM2_TX_TYPE), SM_KEY, SM)
    with pytest.raises(UnsupportedTransactionType, match="'sm' chain"):
        decode_transaction(sm_tx.raw, ECDSA, CHAIN_ID)
    for tx_type in (0, 1, 2):
        ecdsa_tx = sign_transaction(_unsigned(tx_type), KEY, ECDSA)
        with pytest.raises(UnsupportedTransactionType, match="0x53") as caught:
            decode_transaction(ecdsa_tx.raw, SM, CHAIN_ID)
        assert caught.value.tx_type == tx_type
    with pytest.raises(UnsupportedTransactionType):
        sign_transaction(_unsigned(SM2_TX_TYPE), SM_KEY, ECDSA)


# -- rejections ---------------------------------------------------------------------


def _typed_raw(tx_type: int, fields: list[rlp.Encodable], key: bytes = KEY,
               *, high_s: bool = False) -> bytes:  # fmt: skip
    """Sign ``fields`` (everything before the signature) as ``tx_type``, however odd they are."""
    prefix = bytes([tx_type])
    signature = sign_digest(key, keccak256(prefix + rlp.encode(fields)))
    r, s, y = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    if high_s:
        s, y = SECP256K1_N - s, y ^ 1
    return prefix + rlp.encode(
        [*fields, rlp.encode_uint(y), r.lstrip(b"\0"), rlp.encode_uint(s)]
    )


def _dynamic_fields(**changes: rlp.Encodable) -> list[rlp.Encodable]:
    uint = rlp.encode_uint
    fields: dict[str, rlp.Encodable] = {
        "chain_id": uint(CHAIN_ID), "nonce": uint(1), "tip": uint(1), "fee_cap": uint(2),
        "gas": uint(21000), "to": b"\x42" * 20, "value": uint(5), "data": b"",
        "access_list": [],
    }  # fmt: skip
    fields.update(changes)
    return list(fields.values())


def test_well_formed_helper_is_accepted() -> None:
    tx = decode_transaction(_typed_raw(2, _dynamic_fields()), ECDSA, CHAIN_ID)
    assert tx.sender == ECDSA.address(ECDSA.public_key(KEY))


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        (b"", "empty"),
        (b"\x80", "neither a type nor an RLP list"),
        (b"\x00" + EIP155_RAW, "type 0x00 has no typed envelope"),
        (b"\xbf", "neither a type nor an RLP list"),
        (EIP155_RAW[:-1], "truncated"),
        (EIP155_RAW + b"\x00", "trailing"),
        (b"\x02", "truncated"),
        (b"\x02\xc0", "12 items"),
        (b"\x01" + rlp.encode([b""] * 12), "11 items"),
    ],
)
def test_malformed_envelopes(raw: bytes, phrase: str) -> None:
    with pytest.raises(MalformedTransaction, match=phrase) as caught:
        decode_transaction(raw, ECDSA, 1)
    assert isinstance(caught.value, DecodingError)
    assert isinstance(caught.value, InvalidTransaction)


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"nonce": b"\x00\x01"}, "nonce has leading zero"),
        ({"nonce": b"\x01" * 9}, "nonce is 9 bytes"),
        ({"gas": b"\x01" * 9}, "gas_limit is 9 bytes"),
        ({"value": b"\x01" * 33}, "value is 33 bytes"),
        ({"tip": b"\x00"}, "max_priority_fee_per_gas has leading zero"),
        ({"to": b"\x42" * 19}, "to must be 20 bytes or empty"),
        ({"to": [b"\x42" * 20]}, "to must be an RLP string"),
        ({"data": []}, "data must be an RLP string"),
        ({"access_list": [[b"\x11" * 20]]}, r"access_list\[0\] must have 2 items"),
        ({"access_list": [[b"\x11" * 20, [b"\x01" * 31]]]}, "storage key must be 32 bytes"),
        ({"access_list": [[b"\x11" * 21, []]]}, "address must be 20 bytes"),
        ({"access_list": b"\x01"}, "access_list must be an RLP list"),
    ],
)
def test_non_canonical_or_out_of_range_fields(
    changes: dict[str, rlp.Encodable], phrase: str
) -> None:
    raw = _typed_raw(2, _dynamic_fields(**changes))
    with pytest.raises(MalformedTransaction, match=phrase):
        decode_transaction(raw, ECDSA, CHAIN_ID)


def test_extra_field_is_rejected() -> None:
    raw = _typed_raw(2, [*_dynamic_fields(), b"\x01"])
    with pytest.raises(MalformedTransaction, match="12 items, got 13"):
        decode_transaction(raw, ECDSA, CHAIN_ID)
    legacy = rlp.decode_list(rlp.decode(EIP155_RAW))
    with pytest.raises(MalformedTransaction, match="9 items, got 10"):
        decode_transaction(rlp.encode([*legacy, b""]), ECDSA, 1)


@pytest.mark.parametrize(
    ("tx_type", "phrase"),
    [
        (0x03, "EIP-4844"),
        (0x04, "EIP-7702"),
        (0x05, "unknown"),
        (0x7F, "unknown"),
        (SM2_TX_TYPE, "SM2"),
    ],
)
def test_unsupported_types(tx_type: int, phrase: str) -> None:
    raw = bytes([tx_type]) + rlp.encode([b""] * 11)
    with pytest.raises(UnsupportedTransactionType, match=phrase) as caught:
        decode_transaction(raw, ECDSA, CHAIN_ID)
    assert caught.value.tx_type == tx_type


def test_wrong_chain_id() -> None:
    with pytest.raises(WrongChainId) as caught:
        decode_transaction(EIP155_RAW, ECDSA, 5)
    assert (caught.value.expected, caught.value.got) == (5, 1)
    typed = sign_transaction(_unsigned(DYNAMIC_FEE_TX_TYPE), KEY, ECDSA)
    with pytest.raises(WrongChainId) as caught:
        decode_transaction(typed.raw, ECDSA, CHAIN_ID + 1)
    assert (caught.value.expected, caught.value.got) == (CHAIN_ID + 1, CHAIN_ID)


def test_pre_eip155_signature_is_refused() -> None:
    unsigned = CancunTransactionBuilder.create_unsigned_transaction(
        nonce=0, gas_price=1, gas=21000, to=b"\x35" * 20, value=1, data=b""
    )
    signed = unsigned.as_signed_transaction(EthKeysPrivateKey(KEY))
    assert signed.v in (27, 28)
    with pytest.raises(WrongChainId, match="pre-EIP-155") as caught:
        decode_transaction(signed.encode(), ECDSA, 1)
    assert caught.value.got is None


def _legacy_with(**changes: int) -> bytes:
    fields = rlp.decode_list(rlp.decode(EIP155_RAW))
    positions = {"v": 6, "r": 7, "s": 8}
    for name, value in changes.items():
        fields[positions[name]] = rlp.encode_uint(value)
    return rlp.encode(fields)


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"v": 30}, "legacy v"),
        ({"r": 0}, "r and s"),
        ({"s": 0}, "r and s"),
        ({"r": SECP256K1_N}, "r and s"),
        ({"s": SECP256K1_N - 0x67CBE9D8997F761AECB703304B3800CCF555C9F3DC64214B297FB1966A3B6D83},
         "EIP-2"),
    ],
)  # fmt: skip
def test_bad_legacy_signatures(changes: dict[str, int], phrase: str) -> None:
    with pytest.raises(InvalidTransactionSignature, match=phrase) as caught:
        decode_transaction(_legacy_with(**changes), ECDSA, 1)
    assert isinstance(caught.value, InvalidSignature)


def test_high_s_typed_is_rejected_though_it_recovers() -> None:
    raw = _typed_raw(2, _dynamic_fields(), high_s=True)
    with pytest.raises(InvalidTransactionSignature, match="EIP-2"):
        decode_transaction(raw, ECDSA, CHAIN_ID)


def test_bad_y_parity() -> None:
    good = rlp.decode_list(rlp.decode(_typed_raw(2, _dynamic_fields())[1:]))
    for y_parity, error in ((b"\x02", InvalidTransactionSignature), (b"\x00", MalformedTransaction),
                            (b"\x01\x00", MalformedTransaction)):  # fmt: skip
        fields = [*good[:9], y_parity, *good[10:]]
        with pytest.raises(error):
            decode_transaction(b"\x02" + rlp.encode(fields), ECDSA, CHAIN_ID)


def test_changed_field_changes_the_sender_not_the_checks() -> None:
    good = decode_transaction(_typed_raw(2, _dynamic_fields()), ECDSA, CHAIN_ID)
    fields = rlp.decode_list(rlp.decode(good.raw[1:]))
    fields[6] = rlp.encode_uint(6)  # value 5 -> 6 under the same signature
    other = decode_transaction(b"\x02" + rlp.encode(fields), ECDSA, CHAIN_ID)
    assert other.sender != good.sender


def test_eip2681_nonce_limit() -> None:
    ok = _typed_raw(2, _dynamic_fields(nonce=rlp.encode_uint(2**64 - 2)))
    assert decode_transaction(ok, ECDSA, CHAIN_ID).nonce == 2**64 - 2
    raw = _typed_raw(2, _dynamic_fields(nonce=rlp.encode_uint(2**64 - 1)))
    with pytest.raises(InvalidTransaction, match="EIP-2681"):
        decode_transaction(raw, ECDSA, CHAIN_ID)


def test_tip_above_fee_cap() -> None:
    raw = _typed_raw(2, _dynamic_fields(tip=rlp.encode_uint(3), fee_cap=rlp.encode_uint(2)))
    with pytest.raises(InvalidTransaction, match="exceeds max fee"):
        decode_transaction(raw, ECDSA, CHAIN_ID)


def test_sign_rejects_impossible_field_combinations() -> None:
    with pytest.raises(ValueError, match="one gas price"):
        sign_transaction(_unsigned(LEGACY_TX_TYPE, max_fee_per_gas=5), KEY, ECDSA)
    with pytest.raises(ValueError, match="no access list"):
        sign_transaction(_unsigned(LEGACY_TX_TYPE, access_list=ACCESS), KEY, ECDSA)
    with pytest.raises(MalformedTransaction, match="nonce"):
        sign_transaction(_unsigned(DYNAMIC_FEE_TX_TYPE, nonce=2**64), KEY, ECDSA)
    with pytest.raises(ValueError, match="public key"):
        signing_payload(_unsigned(SM2_TX_TYPE))


def test_effective_gas_price() -> None:
    tx = sign_transaction(
        _unsigned(DYNAMIC_FEE_TX_TYPE, max_priority_fee_per_gas=2, max_fee_per_gas=10), KEY, ECDSA
    )
    assert tx.effective_gas_price(5) == 7
    assert tx.effective_gas_price(9) == 10


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_transactions_fail_cleanly(data: st.DataObject) -> None:
    tx_type = data.draw(st.sampled_from([0, 1, 2]))
    raw = bytearray(sign_transaction(_unsigned(tx_type), KEY, ECDSA).raw)
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255))
    try:
        tx = decode_transaction(bytes(raw), ECDSA, CHAIN_ID)
    except InvalidTransaction:
        return
    assert tx.raw == bytes(raw)
    assert tx.hash == keccak256(bytes(raw))


def _describe(decoded: object) -> tuple[str, object]:
    if isinstance(decoded, InvalidTransaction):
        return type(decoded).__name__, str(decoded)
    return "ok", decoded


def _one_by_one(raws: list[bytes], suite: Any) -> list[tuple[str, object]]:
    described: list[tuple[str, object]] = []
    for raw in raws:
        try:
            described.append(_describe(decode_transaction(raw, suite, CHAIN_ID)))
        except InvalidTransaction as error:
            described.append(_describe(error))
    return described


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_batch_decoding_equals_one_by_one(data: st.DataObject) -> None:
    """decode_transactions gives, in order, what decode_transaction returns or raises."""
    suite, key, types = data.draw(
        st.sampled_from([(ECDSA, KEY, [0, 1, 2]), (SM, SM_KEY, [SM2_TX_TYPE])])
    )
    raws = []
    for _ in range(data.draw(st.integers(0, 8))):
        tx_type = data.draw(st.sampled_from(types))
        raw = bytearray(sign_transaction(_unsigned(tx_type), key, suite).raw)
        if data.draw(st.booleans()):  # break it somewhere: decoding or the signature fails
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] = data.draw(st.integers(0, 255))
        raws.append(bytes(raw))
    batch = decode_transactions(raws, suite, CHAIN_ID)
    assert [_describe(item) for item in batch] == _one_by_one(raws, suite)


def test_batch_decoding_refuses_bad_signatures_in_place() -> None:
    good = [sign_transaction(_unsigned(2, nonce=n), KEY, ECDSA).raw for n in range(2)]
    high_s = _typed_raw(2, _dynamic_fields(), high_s=True)
    batch = decode_transactions([good[0], high_s, b"", good[1]], ECDSA, CHAIN_ID)
    assert [type(item).__name__ for item in batch] == [
        "Transaction", "InvalidTransactionSignature", "MalformedTransaction", "Transaction"
    ]  # fmt: skip
    assert "EIP-2" in str(batch[1])
    assert decode_transactions([], ECDSA, CHAIN_ID) == []


U256_MAX = 2**256 - 1


@pytest.mark.parametrize(
    ("tx_type", "suite", "key"),
    [(LEGACY_TX_TYPE, ECDSA, KEY), (ACCESS_LIST_TX_TYPE, ECDSA, KEY),
     (DYNAMIC_FEE_TX_TYPE, ECDSA, KEY), (SM2_TX_TYPE, SM, SM_KEY)],
)  # fmt: skip
def test_gas_limit_times_fee_cap_must_fit_256_bits(tx_type: int, suite: Any, key: bytes) -> None:
    """The reference tests' GASLIMIT_PRICE_PRODUCT_OVERFLOW (ttGasPrice): gas x price > 2**256-1."""
    gas = 100_000
    one_price = tx_type in (LEGACY_TX_TYPE, ACCESS_LIST_TX_TYPE)
    access = () if tx_type == LEGACY_TX_TYPE else ACCESS

    def fees(fee_cap: int) -> dict[str, int]:
        return {"max_fee_per_gas": fee_cap, "max_priority_fee_per_gas": fee_cap if one_price else 1}

    top = U256_MAX // gas
    tx = sign_transaction(_unsigned(tx_type, gas_limit=gas, access_list=access, **fees(top)),
                          key, suite)  # fmt: skip
    assert tx.gas_limit * tx.max_fee_per_gas <= U256_MAX
    with pytest.raises(GasLimitPriceOverflow, match="overflows 256 bits") as caught:
        sign_transaction(_unsigned(tx_type, gas_limit=gas, access_list=access, **fees(top + 1)),
                         key, suite)  # fmt: skip
    assert (caught.value.gas_limit, caught.value.fee_cap) == (gas, top + 1)
