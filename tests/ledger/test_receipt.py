"""Logs, receipts and the logs bloom: canonical encodings and the Ethereum bloom rule."""

from __future__ import annotations

import pytest
import rlp as pyrlp  # reference RLP, as an oracle for the log encoding only
from eth_bloom.bloom import BloomFilter
from hypothesis import given
from hypothesis import strategies as st

from baychain.codec import rlp
from baychain.crypto import keccak256
from baychain.errors import DecodingError
from baychain.ledger.bloom import bloom, bloom_may_contain
from baychain.ledger.log import Log, decode_log, encode_log
from baychain.ledger.receipt import Receipt, decode_receipt, encode_receipt
from baychain.primitives import Address, Hash32

addresses = st.binary(min_size=20, max_size=20).map(Address)
hashes = st.binary(min_size=32, max_size=32).map(Hash32)
logs = st.builds(
    Log,
    address=addresses,
    topics=st.lists(hashes, max_size=4).map(tuple),
    data=st.binary(max_size=100),
)
receipts = st.builds(
    Receipt,
    tx_type=st.sampled_from([0, 1, 2, 0x53]),
    status=st.sampled_from([0, 1]),
    cumulative_gas_used=st.integers(0, 2**64 - 1),
    gas_used=st.integers(0, 2**64 - 1),
    logs=st.lists(logs, max_size=4).map(tuple),
    contract_address=st.none() | addresses,
    output=st.binary(max_size=100),
)

LOG = Log(Address(b"\x11" * 20), (Hash32(b"\x22" * 32),), b"payload")
RECEIPT = Receipt(2, 1, 50_000, 21_000, (LOG,), None, b"")


@given(logs)
def test_log_round_trip_matches_ethereum_layout(log: Log) -> None:
    encoded = encode_log(log)
    assert decode_log(encoded) == log
    assert encoded == pyrlp.encode([log.address, list(log.topics), log.data])


@given(receipts)
def test_receipt_round_trip(receipt: Receipt) -> None:
    assert decode_receipt(encode_receipt(receipt)) == receipt


@given(receipts)
def test_receipt_encoding_is_cached_without_changing_equality(receipt: Receipt) -> None:
    twin = Receipt(
        receipt.tx_type, receipt.status, receipt.cumulative_gas_used, receipt.gas_used,
        receipt.logs, receipt.contract_address, receipt.output,
    )  # fmt: skip
    first = encode_receipt(receipt)
    assert encode_receipt(receipt) is first  # the second call reuses the first encoding
    assert receipt == twin and hash(receipt) == hash(twin)
    assert encode_receipt(twin) == first
    assert first == pyrlp.encode(
        [
            rlp.encode_uint(receipt.tx_type), rlp.encode_uint(receipt.status),
            rlp.encode_uint(receipt.cumulative_gas_used), rlp.encode_uint(receipt.gas_used),
            [[log.address, list(log.topics), log.data] for log in receipt.logs],
            receipt.contract_address or b"", receipt.output,
        ]
    )  # fmt: skip


def test_receipt_layout() -> None:
    encoded = encode_receipt(RECEIPT)
    assert rlp.decode(encoded) == [
        b"\x02", b"\x01", rlp.encode_uint(50_000), rlp.encode_uint(21_000),
        [[b"\x11" * 20, [b"\x22" * 32], b"payload"]], b"", b"",
    ]  # fmt: skip
    assert RECEIPT.succeeded
    failed = Receipt(0, 0, 1, 1, (), Address(b"\x33" * 20), b"\x08\xc3\x79\xa0")
    assert not failed.succeeded
    assert decode_receipt(encode_receipt(failed)) == failed


def _mutate(index: int, value: rlp.Item) -> bytes:
    fields = rlp.decode_list(rlp.decode(encode_receipt(RECEIPT)))
    fields[index] = value
    return rlp.encode(fields)


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (_mutate(1, b"\x02"), "status must be 0 or 1"),
        (_mutate(1, b"\x00"), "leading zero"),
        (_mutate(2, b"\x01" * 9), "cumulative_gas_used is 9 bytes"),
        (_mutate(5, b"\x33" * 19), "contract_address must be 20 bytes"),
        (_mutate(4, [[b"\x11" * 20, [b"\x22" * 32] * 5, b""]]), "5 topics"),
        (_mutate(4, [[b"\x11" * 20, [b"\x22" * 31], b""]]), "topic must be 32 bytes"),
        (_mutate(4, [[b"\x11" * 21, [], b""]]), "address must be 20 bytes"),
        (rlp.encode([b""] * 6), "7 items"),
        (encode_receipt(RECEIPT) + b"\x00", "trailing"),
    ],
)
def test_receipt_rejects(data: bytes, phrase: str) -> None:
    with pytest.raises(DecodingError, match=phrase):
        decode_receipt(data)


def test_bloom_of_nothing_is_zero() -> None:
    assert bloom([]) == bytes(256)


def test_bloom_sets_the_yellow_paper_bits() -> None:
    digest = keccak256(LOG.address)
    expected = 0
    for i in (0, 2, 4):
        expected |= 1 << (int.from_bytes(digest[i : i + 2], "big") % 2048)
    address_only = bloom([Log(LOG.address, (), b"")])
    assert int.from_bytes(address_only, "big") == expected
    assert bin(expected).count("1") in (1, 2, 3)


@given(st.lists(logs, max_size=5))
def test_bloom_matches_eth_bloom(some_logs: list[Log]) -> None:
    oracle = BloomFilter()
    for log in some_logs:
        oracle.add(log.address)
        for topic in log.topics:
            oracle.add(topic)
    assert bloom(some_logs) == int(oracle).to_bytes(256, "big")
    for log in some_logs:
        assert bloom_may_contain(bloom(some_logs), log.address)
        assert all(bloom_may_contain(bloom(some_logs), t) for t in log.topics)


def test_bloom_may_contain_says_no() -> None:
    assert not bloom_may_contain(bloom([LOG]), b"\x99" * 20)
