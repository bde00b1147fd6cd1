//! Conversions between Python values and EVM primitives.
//!
//! Addresses and hashes travel as `bytes` of exactly 20 and 32 bytes; 256-bit words travel as
//! Python `int` in `[0, 2**256)`. A value of the wrong shape raises `ValueError` naming the
//! field, so a caller learns which input was wrong.

use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt};
use revm::primitives::{Address, B256, U256};

/// Build the `ValueError` every conversion raises.
pub fn value_error(message: String) -> PyErr {
    PyValueError::new_err(message)
}

/// Borrow the contents of a `bytes` object.
pub fn as_bytes<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<&'a [u8]> {
    match obj.cast::<PyBytes>() {
        Ok(b) => Ok(b.as_bytes()),
        Err(_) => Err(value_error(format!("{what} must be bytes"))),
    }
}

/// A 20-byte address.
pub fn to_address(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Address> {
    let raw = as_bytes(obj, what)?;
    if raw.len() != 20 {
        return Err(value_error(format!(
            "{what} must be 20 bytes, got {}",
            raw.len()
        )));
    }
    Ok(Address::from_slice(raw))
}

/// A 32-byte hash.
pub fn to_b256(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<B256> {
    let raw = as_bytes(obj, what)?;
    if raw.len() != 32 {
        return Err(value_error(format!(
            "{what} must be 32 bytes, got {}",
            raw.len()
        )));
    }
    Ok(B256::from_slice(raw))
}

/// An unsigned integer that fits in 64 bits.
pub fn to_u64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    obj.extract::<u64>()
        .map_err(|_| value_error(format!("{what} must be an int in [0, 2**64)")))
}

/// An unsigned integer that fits in 128 bits (gas prices).
pub fn to_u128(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u128> {
    obj.extract::<u128>()
        .map_err(|_| value_error(format!("{what} must be an int in [0, 2**128)")))
}

/// A 256-bit word from a Python int: a fast path for values below 2**128, `int.to_bytes`
/// for the rest.
pub fn to_u256(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<U256> {
    if let Ok(small) = obj.extract::<u128>() {
        return Ok(U256::from(small));
    }
    let py = obj.py();
    let range_error = || value_error(format!("{what} must be an int in [0, 2**256)"));
    if !obj.is_instance_of::<PyInt>() {
        return Err(range_error());
    }
    let raw = obj
        .call_method1(intern!(py, "to_bytes"), (32, intern!(py, "big")))
        .map_err(|_| range_error())?;
    Ok(U256::from_be_slice(as_bytes(&raw, what)?))
}

/// A Python int from a 256-bit word.
pub fn u256_to_py<'py>(py: Python<'py>, value: &U256) -> PyResult<Bound<'py, PyAny>> {
    let limbs = value.as_limbs();
    if limbs[2] == 0 && limbs[3] == 0 {
        let small = (u128::from(limbs[1]) << 64) | u128::from(limbs[0]);
        return Ok(small.into_pyobject(py)?.into_any());
    }
    let raw = PyBytes::new(py, &value.to_be_bytes::<32>());
    py.get_type::<PyInt>()
        .call_method1(intern!(py, "from_bytes"), (raw, intern!(py, "big")))
}

/// `bytes` from a byte slice.
pub fn bytes_to_py<'py>(py: Python<'py>, raw: &[u8]) -> Bound<'py, PyAny> {
    PyBytes::new(py, raw).into_any()
}
