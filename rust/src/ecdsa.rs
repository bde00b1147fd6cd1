//! secp256k1 public-key recovery (SEC 1 v2, 4.1.6) through libsecp256k1, with the GIL released.
//!
//! The curve arithmetic is libsecp256k1 (the `secp256k1` crate's bundled copy), the library
//! coincurve also wraps, so a signature recovers to the same key through either. On top of
//! libsecp256k1's own rules this module applies BayChain's acceptance rules for Ethereum
//! signatures (`baychain.crypto.ecdsa`): a signature is 65 bytes `r || s || recid`, r and s in
//! [1, n-1], s at most n/2 (EIP-2) unless the caller allows a high s, and recid 0 or 1
//! (Ethereum's y parity). Nothing here raises for malformed input: any rule broken, or no key
//! recoverable, gives `None`, and the Python caller says which rule failed.
//!
//! Python API:
//!
//! - `secp256k1_recover(digest, signature, allow_high_s=False) -> bytes | None`: the 64-byte
//!   public key `x || y` that signed the 32-byte `digest`.
//! - `keccak_recover_signers(messages, signatures) -> list[tuple[bytes, bytes] | None]`: for
//!   each pair, the signer of `keccak256(message)` (low s only) as `(public_key, address)`,
//!   the address being the last 20 bytes of `keccak256(public_key)`. One call checks a whole
//!   batch of transactions with the GIL released throughout.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyTuple};
use revm::primitives::keccak256;
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{Message, SECP256K1};

/// Bytes of a signed digest.
const DIGEST_SIZE: usize = 32;

/// Bytes of a signature `r || s || recid`.
const SIGNATURE_SIZE: usize = 65;

/// Bytes of a public key `x || y` (the SEC1 uncompressed point without its `04` tag).
const PUBLIC_KEY_SIZE: usize = 64;

/// Bytes of an Ethereum address (the tail of the public key's keccak-256).
const ADDRESS_SIZE: usize = 20;

/// The order n of the secp256k1 base point (SEC 2, 2.4.1), big-endian.
const CURVE_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
];

/// floor(n / 2), big-endian: the largest s EIP-2 allows.
const HALF_CURVE_ORDER: [u8; 32] = [
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0,
];

/// True iff the 32-byte big-endian `scalar` is in [1, n-1] (byte order compares as numbers).
fn is_nonzero_scalar(scalar: &[u8]) -> bool {
    scalar < &CURVE_ORDER[..] && scalar.iter().any(|&byte| byte != 0)
}

/// The public key `x || y` that signed `digest`, or None if a rule fails (see the module doc).
fn recover(digest: &[u8], signature: &[u8], allow_high_s: bool) -> Option<[u8; PUBLIC_KEY_SIZE]> {
    let digest: [u8; DIGEST_SIZE] = digest.try_into().ok()?;
    if signature.len() != SIGNATURE_SIZE {
        return None;
    }
    let (r, s, recid) = (&signature[..32], &signature[32..64], signature[64]);
    // r and s are non-zero scalars modulo n (SEC 1, 4.1.4 step 1).
    if !(is_nonzero_scalar(r) && is_nonzero_scalar(s)) {
        return None;
    }
    // One encoding per signature: s in the lower half of the range (EIP-2).
    if !allow_high_s && s > &HALF_CURVE_ORDER[..] {
        return None;
    }
    // Ethereum's y parity: recovery ids 2 and 3 (r >= p - n) are never produced.
    let recid = match recid {
        0 => RecoveryId::Zero,
        1 => RecoveryId::One,
        _ => return None,
    };
    let signature = RecoverableSignature::from_compact(&signature[..64], recid).ok()?;
    let key = SECP256K1
        .recover_ecdsa(Message::from_digest(digest), &signature)
        .ok()?;
    let point = key.serialize_uncompressed(); // 04 || x || y
    let mut public_key = [0u8; PUBLIC_KEY_SIZE];
    public_key.copy_from_slice(&point[1..]);
    Some(public_key)
}

/// The signer of `keccak256(message)` as (public key, address), low s only.
fn recover_signer(
    message: &[u8],
    signature: &[u8],
) -> Option<([u8; PUBLIC_KEY_SIZE], [u8; ADDRESS_SIZE])> {
    let public_key = recover(keccak256(message).as_slice(), signature, false)?;
    let mut address = [0u8; ADDRESS_SIZE];
    address.copy_from_slice(&keccak256(public_key)[32 - ADDRESS_SIZE..]);
    Some((public_key, address))
}

/// Return the 64-byte public key that made `signature` (`r || s || recid`) over the 32-byte
/// `digest`, or None when the signature breaks a rule of the module doc or recovers no key.
#[pyfunction]
#[pyo3(signature = (digest, signature, allow_high_s = false))]
pub fn secp256k1_recover<'py>(
    py: Python<'py>,
    digest: PyBackedBytes,
    signature: PyBackedBytes,
    allow_high_s: bool,
) -> Option<Bound<'py, PyBytes>> {
    let public_key = py.detach(|| recover(&digest, &signature, allow_high_s))?;
    Some(PyBytes::new(py, &public_key))
}

/// For each `(message, signature)` pair, the `(public_key, address)` that signed
/// `keccak256(message)` with a low s, or None where no key is recovered. The two lists must be
/// equally long (else `ValueError`); items are `bytes` or `bytearray` (else `TypeError`).
#[pyfunction]
pub fn keccak_recover_signers<'py>(
    py: Python<'py>,
    messages: Vec<PyBackedBytes>,
    signatures: Vec<PyBackedBytes>,
) -> PyResult<Vec<Option<Bound<'py, PyTuple>>>> {
    if messages.len() != signatures.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{} messages but {} signatures",
            messages.len(),
            signatures.len()
        )));
    }
    let signers: Vec<_> = py.detach(|| {
        messages
            .iter()
            .zip(&signatures)
            .map(|(message, signature)| recover_signer(message, signature))
            .collect()
    });
    signers
        .into_iter()
        .map(|signer| {
            signer
                .map(|(public_key, address)| {
                    PyTuple::new(
                        py,
                        [PyBytes::new(py, &public_key), PyBytes::new(py, &address)],
                    )
                })
                .transpose()
        })
        .collect()
}
