//! Merkle roots of a block's transactions and receipts, computed with the GIL released.
//!
//! The same tree as `baychain.ledger.merkle` (which documents it and stays the reference): RFC
//! 6962's tree hash with the chain's hash `H`, leaves `H(0x00 || leaf)`, inner nodes
//! `H(0x01 || left || right)`, an unpaired last node carried up unchanged, `H(b"")` for no
//! leaves; the committed root binds the leaf count: `H(0x02 || n as 8 bytes big-endian ||
//! tree hash)`.
//!
//! Python API:
//!
//! - `merkle_root(leaves, hash_name) -> bytes`: the committed root of `leaves` (`bytes` each)
//!   under `hash_name`, `"keccak256"` or `"sm3"` (any other name raises `ValueError`).

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use revm::primitives::alloy_primitives::Keccak256;
use sm3::digest::Digest;
use sm3::Sm3;

use crate::convert::value_error;

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;
const COUNT_PREFIX: u8 = 0x02;

/// A 32-byte hash function over the concatenation of byte strings.
type HashParts = fn(&[&[u8]]) -> [u8; 32];

fn keccak_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().0
}

fn sm3_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sm3::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The RFC 6962 tree hash of `leaves`, bottom-up.
fn tree_hash(leaves: &[PyBackedBytes], hash: HashParts) -> [u8; 32] {
    if leaves.is_empty() {
        return hash(&[]);
    }
    let mut level: Vec<[u8; 32]> = leaves
        .iter()
        .map(|leaf| hash(&[&[LEAF_PREFIX], leaf]))
        .collect();
    while level.len() > 1 {
        let upper = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => hash(&[&[NODE_PREFIX], left, right]),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two nodes"),
            })
            .collect();
        level = upper;
    }
    level[0]
}

/// The committed root of `leaves` under the hash named `hash_name` (see the module docs).
#[pyfunction]
pub fn merkle_root<'py>(
    py: Python<'py>,
    leaves: Vec<PyBackedBytes>,
    hash_name: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let hash: HashParts = match hash_name {
        "keccak256" => keccak_parts,
        "sm3" => sm3_parts,
        other => {
            return Err(value_error(format!(
                "unknown Merkle hash {other:?}: expected \"keccak256\" or \"sm3\""
            )))
        }
    };
    let root = py.detach(|| {
        let tree = tree_hash(&leaves, hash);
        let count = (leaves.len() as u64).to_be_bytes();
        hash(&[&[COUNT_PREFIX], &count, &tree])
    });
    Ok(PyBytes::new(py, &root))
}
