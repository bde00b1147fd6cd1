"""Merkle trees and proofs: RFC 6962 vectors, the count-binding root, and the proof laws."""

from __future__ import annotations

import hashlib
import json
from typing import Any, cast

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from baychain import _evm
from baychain.crypto import dev_private_keys, get_suite
from baychain.crypto.suite import CryptoSuite
from baychain.errors import DecodingError
from baychain.ledger.merkle import (
    MerkleProof,
    build_proof,
    merkle_root,
    receipts_root,
    suite_merkle_root,
    transactions_root,
    tree_hash,
    verify_proof,
)
from baychain.ledger.receipt import Receipt, encode_receipt
from baychain.ledger.signing import UnsignedTransaction, sign_transaction
from baychain.primitives import Address, Hash32

ECDSA = get_suite("ecdsa")
SM = get_suite("sm")


def _sha256(data: bytes) -> Hash32:
    return Hash32(hashlib.sha256(data).digest())


class _Sha256Suite:
    """Just enough of a suite to build proofs with RFC 6962's own hash."""

    name = "sha256"
    hash_name = "sha256"
    hash = staticmethod(_sha256)


# RFC 6962 reference vectors (Certificate Transparency / trillian test data, SHA-256).
RFC_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]  # fmt: skip
RFC_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
RFC_PATH_0_OF_8 = [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
]


@pytest.mark.parametrize("count", range(9))
def test_rfc6962_tree_hashes(count: int) -> None:
    assert tree_hash(RFC_LEAVES[:count], _sha256).hex() == RFC_ROOTS[count]


def test_rfc6962_audit_path() -> None:
    proof = build_proof(RFC_LEAVES, 0, cast(CryptoSuite, _Sha256Suite()))
    assert [s.hex() for s in proof.siblings] == RFC_PATH_0_OF_8


def _reference_tree_hash(leaves: list[bytes]) -> bytes:
    """RFC 6962, section 2.1, written recursively as the RFC states it."""
    if not leaves:
        return ECDSA.hash(b"")
    if len(leaves) == 1:
        return ECDSA.hash(b"\x00" + leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return ECDSA.hash(
        b"\x01" + _reference_tree_hash(leaves[:k]) + _reference_tree_hash(leaves[k:])
    )


def _reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962, section 2.1.1, PATH(m, D[n])."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*_reference_path(index, leaves[:k]), _reference_tree_hash(leaves[k:])]
    return [*_reference_path(index - k, leaves[k:]), _reference_tree_hash(leaves[:k])]


leaf_lists = st.lists(st.binary(max_size=40), min_size=1, max_size=40, unique=True)


@given(leaf_lists, st.data())
def test_matches_the_recursive_definition(leaves: list[bytes], data: st.DataObject) -> None:
    assert tree_hash(leaves, ECDSA.hash) == _reference_tree_hash(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    assert list(build_proof(leaves, index, ECDSA).siblings) == _reference_path(index, leaves)


def test_root_binds_the_count() -> None:
    leaves = [b"a", b"b", b"c"]
    tree = tree_hash(leaves, ECDSA.hash)
    assert merkle_root(leaves, ECDSA.hash) == ECDSA.hash(b"\x02" + (3).to_bytes(8, "big") + tree)
    assert merkle_root([], ECDSA.hash) == ECDSA.hash(b"\x02" + bytes(8) + ECDSA.hash(b""))


def test_bare_rfc6962_ambiguity_is_closed() -> None:
    # Leaf 1 of 2 has the same audit path as "leaf 2 of 3"; the bound root tells them apart.
    leaves = [b"a", b"b"]
    proof = build_proof(leaves, 1, ECDSA)
    root = merkle_root(leaves, ECDSA.hash)
    assert verify_proof(proof, b"b", root)
    for index, count in ((2, 3), (4, 5), (8, 9)):
        forged = MerkleProof(proof.suite, index, count, proof.siblings)
        assert not verify_proof(forged, b"b", root)


@settings(max_examples=200)
@given(leaf_lists, st.data())
def test_proof_verifies_exactly_what_it_was_built_for(
    leaves: list[bytes], data: st.DataObject
) -> None:
    suite = data.draw(st.sampled_from([ECDSA, SM]))
    index = data.draw(st.integers(0, len(leaves) - 1))
    root = merkle_root(leaves, suite.hash)
    proof = build_proof(leaves, index, suite)
    assert verify_proof(proof, leaves[index], root)
    # Any other leaf (the others in the tree included) fails.
    other_leaf = data.draw(st.binary(max_size=40))
    assume(other_leaf != leaves[index])
    assert not verify_proof(proof, other_leaf, root)
    # Any other index or count fails.
    other_index = data.draw(st.integers(0, 70))
    other_count = data.draw(st.integers(1, 70))
    assume((other_index, other_count) != (index, len(leaves)))
    moved = MerkleProof(proof.suite, other_index, other_count, proof.siblings)
    assert not verify_proof(moved, leaves[index], root)
    # Any other root fails, and so does the other suite's hash.
    other_root = data.draw(st.binary(min_size=32, max_size=32))
    assume(other_root != root)
    assert not verify_proof(proof, leaves[index], other_root)
    other_suite = "sm" if suite.name == "ecdsa" else "ecdsa"
    assert not verify_proof(MerkleProof(other_suite, index, len(leaves), proof.siblings),
                            leaves[index], root)  # fmt: skip


@given(leaf_lists, st.data())
def test_tampered_siblings_fail(leaves: list[bytes], data: st.DataObject) -> None:
    assume(len(leaves) > 1)
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = build_proof(leaves, index, ECDSA)
    root = merkle_root(leaves, ECDSA.hash)
    siblings = list(proof.siblings)
    at = data.draw(st.integers(0, len(siblings) - 1))
    siblings[at] = Hash32(bytes(b ^ 0x01 for b in siblings[at]))
    tampered = MerkleProof(proof.suite, index, len(leaves), tuple(siblings))
    assert not verify_proof(tampered, leaves[index], root)
    assert not verify_proof(MerkleProof(proof.suite, index, len(leaves), proof.siblings[:-1]),
                            leaves[index], root)  # fmt: skip
    assert not verify_proof(
        MerkleProof(proof.suite, index, len(leaves), (*proof.siblings, proof.siblings[0])),
        leaves[index], root,
    )  # fmt: skip


@given(leaf_lists, st.data())
def test_root_changes_when_any_leaf_changes(leaves: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1))
    replacement = data.draw(st.binary(max_size=40))
    assume(replacement != leaves[index])
    changed = [*leaves[:index], replacement, *leaves[index + 1 :]]
    assert merkle_root(changed, ECDSA.hash) != merkle_root(leaves, ECDSA.hash)
    assert merkle_root(leaves[:-1], ECDSA.hash) != merkle_root(leaves, ECDSA.hash)


@given(leaf_lists, st.data())
def test_proof_encodings_round_trip(leaves: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1))
    proof = build_proof(leaves, index, data.draw(st.sampled_from([ECDSA, SM])))
    assert MerkleProof.decode(proof.encode()) == proof
    assert MerkleProof.from_dict(json.loads(json.dumps(proof.to_dict()))) == proof


def test_proof_dict_shape() -> None:
    proof = build_proof([b"a", b"b", b"c"], 2, ECDSA)
    obj = proof.to_dict()
    assert obj == {
        "suite": "ecdsa",
        "leafIndex": 2,
        "leafCount": 3,
        "siblings": ["0x" + proof.siblings[0].hex()],
    }


GOOD = {"suite": "ecdsa", "leafIndex": 0, "leafCount": 2, "siblings": ["0x" + "11" * 32]}


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"suite": "rsa"}, "unknown suite"),
        ({"suite": 1}, "'suite' must be a string"),
        ({"leafIndex": 2}, "not below leaf count"),
        ({"leafIndex": True}, "'leafIndex' must be an integer"),
        ({"leafCount": "2"}, "'leafCount' must be an integer"),
        ({"siblings": "0x11"}, "list of hex strings"),
        ({"siblings": ["0x" + "11" * 31]}, "31 bytes"),
        ({"siblings": ["0xzz"]}, "not valid hex"),
        ({"siblings": ["0x" + "11" * 32] * 65}, "at most 64"),
    ],
)
def test_from_dict_rejects(changes: dict[str, Any], phrase: str) -> None:
    with pytest.raises(DecodingError, match=phrase):
        MerkleProof.from_dict({**GOOD, **changes})
    with pytest.raises(DecodingError, match="JSON object"):
        MerkleProof.from_dict([GOOD])


def test_decode_rejects() -> None:
    good = build_proof([b"a", b"b"], 1, ECDSA).encode()
    assert MerkleProof.decode(good).leaf_index == 1
    with pytest.raises(DecodingError, match="trailing"):
        MerkleProof.decode(good + b"\x00")
    with pytest.raises(DecodingError, match="unknown suite"):
        MerkleProof.decode(MerkleProof("rsa", 0, 1, ()).encode())
    with pytest.raises(DecodingError, match="not below"):
        MerkleProof.decode(MerkleProof("ecdsa", 1, 1, ()).encode())


def test_verify_never_raises_on_nonsense() -> None:
    root = merkle_root([b"a"], ECDSA.hash)
    assert verify_proof(MerkleProof("ecdsa", 0, 1, ()), b"a", root)
    assert not verify_proof(MerkleProof("rsa", 0, 1, ()), b"a", root)
    assert not verify_proof(MerkleProof("ecdsa", 1, 1, ()), b"a", root)
    assert not verify_proof(MerkleProof("ecdsa", -1, 1, ()), b"a", root)
    assert not verify_proof(MerkleProof("ecdsa", 0, 2**64, ()), b"a", root)


def test_build_proof_index_range() -> None:
    with pytest.raises(IndexError):
        build_proof([b"a"], 1, ECDSA)
    with pytest.raises(IndexError):
        build_proof([], 0, ECDSA)


def test_ledger_roots_and_proofs() -> None:
    key = dev_private_keys("ecdsa", 1)[0]
    txs = [
        sign_transaction(UnsignedTransaction(2, 1, n, 0, 0, 21_000, Address(b"\x01" * 20), n),
                         key, ECDSA)
        for n in range(5)
    ]  # fmt: skip
    root = transactions_root(txs, ECDSA)
    assert root == merkle_root([tx.hash for tx in txs], ECDSA.hash)
    proof = build_proof([tx.hash for tx in txs], 3, ECDSA)
    assert verify_proof(proof, txs[3].hash, root)
    assert not verify_proof(proof, txs[2].hash, root)

    receipts = [Receipt(2, 1, 21_000 * (n + 1), 21_000, (), None, b"") for n in range(5)]
    receipts_root_value = receipts_root(receipts, SM)
    encodings = [encode_receipt(r) for r in receipts]
    assert receipts_root_value == merkle_root(encodings, SM.hash)
    assert verify_proof(build_proof(encodings, 4, SM), encodings[4], receipts_root_value)


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=80), max_size=70), st.sampled_from(["ecdsa", "sm"]))
def test_native_root_is_the_reference_root(leaves: list[bytes], suite_name: str) -> None:
    suite = get_suite(suite_name)
    assert suite_merkle_root(leaves, suite) == merkle_root(leaves, suite.hash)


@pytest.mark.parametrize("count", [255, 256, 257, 1000, 1025])
def test_native_root_of_many_leaves(count: int) -> None:
    leaves = [n.to_bytes(4, "big") * (n % 20) for n in range(count)]
    for suite in (ECDSA, SM):
        assert suite_merkle_root(leaves, suite) == merkle_root(leaves, suite.hash)


def test_a_suite_without_a_native_hash_gets_the_reference_root() -> None:
    suite = cast(CryptoSuite, _Sha256Suite())
    assert suite_merkle_root(RFC_LEAVES, suite) == merkle_root(RFC_LEAVES, _sha256)


def test_native_root_refuses_an_unknown_hash_name() -> None:
    with pytest.raises(ValueError, match="unknown Merkle hash"):
        _evm.merkle_root([b"leaf"], "sha256")
