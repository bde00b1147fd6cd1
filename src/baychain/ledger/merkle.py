"""Binary Merkle trees with domain separation, and self-contained inclusion proofs.

The tree is RFC 6962's (Certificate Transparency), section 2.1, with the chain's
hash ``H`` in place of SHA-256 (:func:`tree_hash`; checked against RFC 6962
vectors with SHA-256):

- the tree hash of no leaves is ``H(b"")``;
- a leaf hashes as ``H(0x00 || leaf)`` and an inner node as ``H(0x01 || left || right)``,
  so no leaf can pose as an inner node (second-preimage resistance);
- ``n > 1`` leaves split at ``k``, the largest power of two below ``n``: the root is
  the node of the roots of the first ``k`` leaves and of the remaining ``n - k``.
  Computed bottom-up, this is pairing neighbours level by level and carrying an
  unpaired last node up unchanged.

The root a header commits to (:func:`merkle_root`) also binds the leaf count:
``H(0x02 || n as 8 bytes big-endian || tree_hash)``. A bare RFC 6962 audit path
does not fix ``n``: the path of leaf 1 of 2 also "proves" leaf 2 of 3, leaf 4 of
5, ... under the same tree hash, so a proof could lie about a transaction's
position. With the count in the root, a verifier holding only the root knows
both the count and the index a proof claims.

A :class:`MerkleProof` is the RFC 6962 audit path (siblings from the leaf up)
plus the suite name, the leaf's index and the leaf count, so :func:`verify_proof`
needs nothing but the proof, the leaf and the root (it walks the path as
RFC 9162, section 2.1.3.2, describes).

A header's ``transactions_root`` is the root over its transaction hashes and its
``receipts_root`` the root over its receipts' encodings. Both are computed by the
extension (``baychain._evm.merkle_root``, the same tree, without the GIL) for the
suites whose hash it has; the functions here stay the reference it is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from baychain import _evm
from baychain.codec import rlp
from baychain.crypto import SUITE_NAMES, get_suite
from baychain.crypto.suite import CryptoSuite
from baychain.errors import DecodingError
from baychain.ledger.receipt import Receipt, encode_receipt
from baychain.ledger.transactions import Transaction
from baychain.primitives import Hash32, parse_hex

__all__ = [
    "MAX_PROOF_SIBLINGS",
    "NATIVE_HASHES",
    "MerkleProof",
    "build_proof",
    "merkle_root",
    "receipts_root",
    "suite_merkle_root",
    "transactions_root",
    "tree_hash",
    "verify_proof",
]

HashFn = Callable[[bytes], Hash32]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
COUNT_PREFIX = b"\x02"

MAX_PROOF_SIBLINGS = 64
"""A tree of up to 2**64 leaves has paths of at most 64 siblings."""

NATIVE_HASHES = frozenset({"keccak256", "sm3"})
"""The :attr:`~baychain.crypto.suite.CryptoSuite.hash_name` values
``baychain._evm.merkle_root`` computes natively."""


def _leaf_hashes(leaves: Sequence[bytes], hash_fn: HashFn) -> list[Hash32]:
    return [hash_fn(LEAF_PREFIX + leaf) for leaf in leaves]


def _next_level(level: list[Hash32], hash_fn: HashFn) -> list[Hash32]:
    """Pair neighbours; an unpaired last node moves up unchanged."""
    upper = [hash_fn(NODE_PREFIX + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) & 1:
        upper.append(level[-1])
    return upper


def tree_hash(leaves: Sequence[bytes], hash_fn: HashFn) -> Hash32:
    """Return the RFC 6962 Merkle tree hash of ``leaves`` under ``hash_fn``."""
    if not leaves:
        return hash_fn(b"")
    level = _leaf_hashes(leaves, hash_fn)
    while len(level) > 1:
        level = _next_level(level, hash_fn)
    return level[0]


def _bind_count(tree: bytes, count: int, hash_fn: HashFn) -> Hash32:
    """The committed root: the tree hash bound to its leaf count."""
    return hash_fn(COUNT_PREFIX + count.to_bytes(8, "big") + tree)


def merkle_root(leaves: Sequence[bytes], hash_fn: HashFn) -> Hash32:
    """Return ``H(0x02 || len(leaves) as 8 bytes || tree_hash(leaves))``."""
    return _bind_count(tree_hash(leaves, hash_fn), len(leaves), hash_fn)


def suite_merkle_root(leaves: Sequence[bytes], suite: CryptoSuite) -> Hash32:
    """Return ``merkle_root(leaves, suite.hash)``, computed natively where the extension can."""
    if suite.hash_name not in NATIVE_HASHES:
        return merkle_root(leaves, suite.hash)
    return Hash32(_evm.merkle_root(leaves, suite.hash_name))


def transactions_root(transactions: Sequence[Transaction], suite: CryptoSuite) -> Hash32:
    """Return the root over the transactions' hashes (a header's ``transactions_root``)."""
    return suite_merkle_root([tx.hash for tx in transactions], suite)


def receipts_root(receipts: Sequence[Receipt], suite: CryptoSuite) -> Hash32:
    """Return the root over the receipts' encodings (a header's ``receipts_root``)."""
    return suite_merkle_root([encode_receipt(receipt) for receipt in receipts], suite)


@dataclass(frozen=True, slots=True)
class MerkleProof:
    """An inclusion proof of the leaf at ``leaf_index`` among ``leaf_count`` leaves."""

    suite: str
    """Name of the crypto suite whose hash built the tree (``"ecdsa"`` or ``"sm"``)."""
    leaf_index: int
    leaf_count: int
    siblings: tuple[Hash32, ...]
    """The audit path: sibling hashes from the leaf's level up to the root's children."""

    def encode(self) -> bytes:
        """Return ``rlp([suite, leaf_index, leaf_count, [sibling, ...]])``."""
        return rlp.encode(
            [
                self.suite.encode("ascii"),
                rlp.encode_uint(self.leaf_index),
                rlp.encode_uint(self.leaf_count),
                list(self.siblings),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> MerkleProof:
        """Decode :meth:`encode`'s output; raise DecodingError naming what is wrong."""
        fields = rlp.decode_list(rlp.decode(data), 4, name="Merkle proof")
        suite = rlp.decode_bytes(fields[0], name="proof suite", max_len=16)
        siblings = rlp.decode_list(fields[3], name="proof siblings")
        return _checked(
            suite.decode("ascii", errors="replace"),
            rlp.decode_uint(fields[1], name="proof leaf_index", max_bytes=8),
            rlp.decode_uint(fields[2], name="proof leaf_count", max_bytes=8),
            [rlp.decode_fixed(s, 32, name="proof sibling") for s in siblings],
        )

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict: ``suite``, ``leafIndex``, ``leafCount``, ``siblings`` (hex)."""
        return {
            "suite": self.suite,
            "leafIndex": self.leaf_index,
            "leafCount": self.leaf_count,
            "siblings": ["0x" + sibling.hex() for sibling in self.siblings],
        }

    @classmethod
    def from_dict(cls, obj: object) -> MerkleProof:
        """Parse :meth:`to_dict`'s output (after a JSON round trip); raise DecodingError."""
        if not isinstance(obj, dict):
            raise DecodingError("a Merkle proof must be a JSON object")
        suite, siblings = obj.get("suite"), obj.get("siblings")
        if not isinstance(suite, str):
            raise DecodingError("Merkle proof 'suite' must be a string")
        if not isinstance(siblings, list) or not all(isinstance(s, str) for s in siblings):
            raise DecodingError("Merkle proof 'siblings' must be a list of hex strings")
        hashes = [parse_hex(s, name="Merkle proof sibling") for s in siblings]
        return _checked(suite, _int_field(obj, "leafIndex"), _int_field(obj, "leafCount"), hashes)


def _int_field(obj: dict[object, object], name: str) -> int:
    """Return ``obj[name]`` if it is a JSON integer (not a bool); raise DecodingError."""
    value = obj.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DecodingError(f"Merkle proof '{name}' must be an integer")
    return value


def _checked(suite: str, index: int, count: int, siblings: list[bytes]) -> MerkleProof:
    """Build a proof from parsed parts, rejecting values no tree can produce."""
    if suite not in SUITE_NAMES:
        raise DecodingError(f"Merkle proof names unknown suite {suite!r}")
    if not 0 <= index < count:
        raise DecodingError(f"Merkle proof leaf index {index} is not below leaf count {count}")
    if len(siblings) > MAX_PROOF_SIBLINGS:
        raise DecodingError(f"Merkle proof has {len(siblings)} siblings, at most 64")
    for sibling in siblings:
        if len(sibling) != 32:
            raise DecodingError(f"Merkle proof sibling is {len(sibling)} bytes, not 32")
    return MerkleProof(suite, index, count, tuple(Hash32(s) for s in siblings))


def build_proof(leaves: Sequence[bytes], index: int, suite: CryptoSuite) -> MerkleProof:
    """Return the proof that ``leaves[index]`` is in ``merkle_root(leaves, suite.hash)``."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf index {index} is outside 0..{len(leaves) - 1}")
    level = _leaf_hashes(leaves, suite.hash)
    siblings = []
    position = index
    while len(level) > 1:
        if position ^ 1 < len(level):
            siblings.append(level[position ^ 1])
        level = _next_level(level, suite.hash)
        position >>= 1
    return MerkleProof(suite.name, index, len(leaves), tuple(siblings))


def verify_proof(proof: MerkleProof, leaf: bytes, root: bytes) -> bool:
    """Return True iff ``proof`` shows ``leaf`` at ``proof.leaf_index`` under ``root``.

    Uses the hash of the suite the proof names; returns False (never raises) for a
    suite this build does not know or a proof no tree of ``leaf_count`` leaves has.
    """
    if proof.suite not in SUITE_NAMES or not 0 <= proof.leaf_index < proof.leaf_count < 2**64:
        return False
    hash_fn = get_suite(proof.suite).hash
    # RFC 9162, 2.1.3.2: walk up with fn (our position) and sn (the last position).
    fn, sn = proof.leaf_index, proof.leaf_count - 1
    node = hash_fn(LEAF_PREFIX + leaf)
    for sibling in proof.siblings:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            node = hash_fn(NODE_PREFIX + sibling + node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = hash_fn(NODE_PREFIX + node + sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _bind_count(node, proof.leaf_count, hash_fn) == root
