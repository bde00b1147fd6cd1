//! SM2 signature verification (GB/T 32918.2-2016, clause 7) on the recommended curve
//! (GB/T 32918.5-2017), with the default signer ID `"1234567812345678"` (GM/T 0009-2012).
//!
//! The curve arithmetic is the RustCrypto `sm2` crate. Verification only handles public data
//! (key, message, signature), so the double-scalar multiplication of step B6 uses the
//! variable-time wNAF combination, as verifiers usually do. Measured on one core of the dev
//! machine (32-byte message, through Python): this path ~4.9k verifies/s, the crate's own
//! constant-time `VerifyingKey::verify` ~4.0k/s, Tongsuo through tongsuopy ~3.1k/s.
//!
//! Python API: `sm2_verify(public_key, message, signature) -> bool`. It never raises for
//! malformed bytes: a key that is not 64 bytes naming a curve point, or a signature that is not
//! 64 bytes `r || s` with r, s in [1, n-1], gives `False`. Arguments are `bytes` or `bytearray`
//! (anything else is a `TypeError`). The GIL is released while it runs.

use ::sm2::dsa::Signature;
use ::sm2::elliptic_curve::group::Group;
use ::sm2::elliptic_curve::ops::{LinearCombination, Reduce};
use ::sm2::elliptic_curve::point::AffineCoordinates;
use ::sm2::elliptic_curve::sec1::ToSec1Point;
use ::sm2::{FieldBytes, ProjectivePoint, PublicKey, Scalar};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use sm3::digest::Digest;
use sm3::Sm3;

/// The default signer ID (GM/T 0009-2012); BayChain signs and verifies with no other.
const DEFAULT_USER_ID: &str = "1234567812345678";

/// Bytes of a public key `xA || yA` (no SEC1 tag).
const PUBLIC_KEY_SIZE: usize = 64;

/// Bytes of a signature `r || s`.
const SIGNATURE_SIZE: usize = 64;

/// Parse `xA || yA` as a point on the curve (both coordinates canonical, below p).
fn parse_public_key(raw: &[u8]) -> Option<PublicKey> {
    if raw.len() != PUBLIC_KEY_SIZE {
        return None;
    }
    let mut sec1 = [0u8; 1 + PUBLIC_KEY_SIZE];
    sec1[0] = 0x04; // SEC1 "uncompressed point" tag
    sec1[1..].copy_from_slice(raw);
    PublicKey::from_sec1_bytes(&sec1).ok()
}

/// ENTL_A: the bit length of the ID as two big-endian bytes (clause 5.5).
const ENTL_BITS: u16 = (DEFAULT_USER_ID.len() * 8) as u16;

/// Curve parameters a, b, xG, yG of GB/T 32918.5-2017 clause 4, big-endian, as hashed into Z.
const CURVE_A: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
const CURVE_B: [u8; 32] = hex32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
const GENERATOR_X: [u8; 32] =
    hex32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
const GENERATOR_Y: [u8; 32] =
    hex32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

/// Decode 64 upper-case hex digits at compile time (a malformed constant fails the build).
const fn hex32(digits: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not an upper-case hex digit"),
        }
    }
    let digits = digits.as_bytes();
    assert!(digits.len() == 64, "a 32-byte constant needs 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(digits[2 * i]) << 4) | nibble(digits[2 * i + 1]);
        i += 1;
    }
    out
}

/// Z_A = SM3(ENTL_A || ID_A || a || b || xG || yG || xA || yA) (clause 5.5).
fn compute_z(public_key: &PublicKey) -> [u8; 32] {
    let point = public_key.as_affine().to_sec1_point(false);
    let mut hasher = Sm3::new();
    hasher.update(ENTL_BITS.to_be_bytes());
    hasher.update(DEFAULT_USER_ID.as_bytes());
    for parameter in [CURVE_A, CURVE_B, GENERATOR_X, GENERATOR_Y] {
        hasher.update(parameter);
    }
    hasher.update(&point.as_bytes()[1..]); // xA || yA, after the SEC1 tag byte
    hasher.finalize().into()
}

/// GB/T 32918.2 clause 7.1, steps B1-B7, with a variable-time B6.
fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Some(key) = parse_public_key(public_key) else {
        return false;
    };
    if signature.len() != SIGNATURE_SIZE {
        return false;
    }
    // B1-B2: r and s in [1, n-1] (Signature::from_slice rejects 0 and values >= n).
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    let (r, s) = (*signature.r(), *signature.s());
    // B3-B4: e = SM3(Z_A || M), read as an integer mod n.
    let mut hasher = Sm3::new_with_prefix(compute_z(&key));
    hasher.update(message);
    let e = <Scalar as Reduce<FieldBytes>>::reduce(&hasher.finalize());
    // B5: t = (r + s) mod n, fail if t = 0.
    let t = r + s;
    if bool::from(t.is_zero()) {
        return false;
    }
    // B6: (x1, y1) = [s]G + [t]P_A; the point at infinity fails.
    let point = ProjectivePoint::lincomb_vartime(&[
        (ProjectivePoint::generator(), s),
        (key.to_projective(), t),
    ]);
    if bool::from(point.is_identity()) {
        return false;
    }
    // B7: accept iff (e + x1) mod n == r.
    let x1 = <Scalar as Reduce<FieldBytes>>::reduce(&point.to_affine().x());
    r == e + x1
}

/// Return True iff `signature` (`r || s`) is a valid SM2 signature of `message` under the
/// 64-byte `public_key` (`xA || yA`), with e = SM3(Z_A || M) and the default ID.
#[pyfunction]
pub fn sm2_verify(
    py: Python<'_>,
    public_key: PyBackedBytes,
    message: PyBackedBytes,
    signature: PyBackedBytes,
) -> bool {
    py.detach(|| verify(&public_key, &message, &signature))
}
