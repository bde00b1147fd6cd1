//! LtHash16 lane vectors, computed with the GIL released.
//!
//! The same construction as `baychain.state.lthash` (which documents it and stays the
//! reference): an entry `(key, value)` expands to SHAKE-128(`b"baychain/state-entry/v1" || key
//! || value`) read to 2048 bytes, that is 1024 little-endian 16-bit lanes; vectors add and
//! subtract lane-wise modulo 2**16. Vectors cross to Python as their 2048 bytes.
//!
//! Python API:
//!
//! - `lthash_elements(entries) -> list[bytes]`: the vector of each `(key, value)` entry.
//! - `lthash_sum(entries) -> bytes`: the lane-wise sum of the entries' vectors (without keeping
//!   them: a genesis of a million accounts would otherwise hold gigabytes).
//! - `lthash_combine(total, added, removed) -> bytes`: `total + sum(added) - sum(removed)`, each
//!   argument a 2048-byte vector (`ValueError` for any other length).

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::Shake128;

use crate::convert::value_error;

const LANES: usize = 1024;
const VECTOR_BYTES: usize = 2 * LANES;
const DOMAIN: &[u8] = b"baychain/state-entry/v1";

type Lanes = [u16; LANES];

/// The expanded digest of one state entry, as its 2048 bytes.
fn element_bytes(key: &[u8], value: &[u8]) -> [u8; VECTOR_BYTES] {
    let mut hasher = Shake128::default();
    hasher.update(DOMAIN);
    hasher.update(key);
    hasher.update(value);
    let mut out = [0u8; VECTOR_BYTES];
    hasher.finalize_xof().read(&mut out);
    out
}

/// Add the vector `raw` (2048 bytes) to `total` lane-wise, or subtract it.
fn accumulate(total: &mut Lanes, raw: &[u8], subtract: bool) {
    for (lane, pair) in total.iter_mut().zip(raw.chunks_exact(2)) {
        let item = u16::from_le_bytes([pair[0], pair[1]]);
        *lane = if subtract {
            lane.wrapping_sub(item)
        } else {
            lane.wrapping_add(item)
        };
    }
}

fn to_bytes(total: &Lanes) -> [u8; VECTOR_BYTES] {
    let mut out = [0u8; VECTOR_BYTES];
    for (pair, lane) in out.chunks_exact_mut(2).zip(total) {
        pair.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

fn check_vector(raw: &[u8], what: &str) -> PyResult<()> {
    if raw.len() != VECTOR_BYTES {
        return Err(value_error(format!(
            "{what} must be a {VECTOR_BYTES}-byte LtHash16 vector, got {} bytes",
            raw.len()
        )));
    }
    Ok(())
}

/// The lane vector of each `(key, value)` entry, in order.
#[pyfunction]
pub fn lthash_elements<'py>(
    py: Python<'py>,
    entries: Vec<(PyBackedBytes, PyBackedBytes)>,
) -> Vec<Bound<'py, PyBytes>> {
    let vectors: Vec<[u8; VECTOR_BYTES]> = py.detach(|| {
        entries
            .iter()
            .map(|(key, value)| element_bytes(key, value))
            .collect()
    });
    vectors.iter().map(|v| PyBytes::new(py, v)).collect()
}

/// The lane-wise sum of the vectors of the `(key, value)` entries.
#[pyfunction]
pub fn lthash_sum<'py>(
    py: Python<'py>,
    entries: Vec<(PyBackedBytes, PyBackedBytes)>,
) -> Bound<'py, PyBytes> {
    let total = py.detach(|| {
        let mut total: Lanes = [0; LANES];
        for (key, value) in &entries {
            accumulate(&mut total, &element_bytes(key, value), false);
        }
        to_bytes(&total)
    });
    PyBytes::new(py, &total)
}

/// `total + sum(added) - sum(removed)`, lane-wise modulo 2**16.
#[pyfunction]
pub fn lthash_combine<'py>(
    py: Python<'py>,
    total: PyBackedBytes,
    added: Vec<PyBackedBytes>,
    removed: Vec<PyBackedBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    check_vector(&total, "total")?;
    for vector in &added {
        check_vector(vector, "an added vector")?;
    }
    for vector in &removed {
        check_vector(vector, "a removed vector")?;
    }
    let out = py.detach(|| {
        let mut lanes: Lanes = [0; LANES];
        accumulate(&mut lanes, &total, false);
        for vector in &added {
            accumulate(&mut lanes, vector, false);
        }
        for vector in &removed {
            accumulate(&mut lanes, vector, true);
        }
        to_bytes(&lanes)
    });
    Ok(PyBytes::new(py, &out))
}
