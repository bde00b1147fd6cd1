//! `baychain._evm`: BayChain's execution engine, a thin PyO3 layer over revm.
//!
//! It executes a block's transactions against state it reads from a Python object and returns,
//! per transaction, the receipt fields and the state diff. It owns no storage, no networking
//! and no policy (see DESIGN.md, "The Rust extension is narrow").
//!
//! Python API (typed in `src/baychain/_evm.pyi`):
//!
//! - `run_transactions(env, txs, db) -> list[TxOutcome]`
//! - `run_call(env, tx, db, time_limit_ms=None) -> TxOutcome`: one simulated call, run without
//!   the GIL under a wall-clock limit (see `call.rs`)
//! - `merge_diffs(outcomes) -> (accounts, storage)`: the block-level state diff
//! - `deployed_code(outcomes) -> [(code_hash, code), ...]`: all code the outcomes deployed
//! - `create_address(sender, nonce) -> bytes`: the address a CREATE deploys to
//! - `merkle_root(leaves, hash_name) -> bytes`: a block's transactions or receipts root, without
//!   the GIL (see `merkle.rs`)
//! - `lthash_elements`, `lthash_sum`, `lthash_combine`: LtHash16 state-entry vectors and their
//!   sums, without the GIL (see `lthash.rs`)
//! - `sm2_verify(public_key, message, signature) -> bool`: SM2 verification (see `sm2.rs`)
//! - `secp256k1_recover(digest, signature, allow_high_s=False) -> bytes | None` and
//!   `keccak_recover_signers(messages, signatures)`: secp256k1 key recovery (see `ecdsa.rs`)
//! - `TxOutcome`: read-only result of one transaction
//! - `REVM_VERSION`: the revm crate version compiled in

mod block;
mod call;
mod convert;
mod db;
mod ecdsa;
mod env;
mod lthash;
mod merkle;
mod outcome;
mod rlp;
mod sm2;

use pyo3::prelude::*;

/// The revm release this module was built against (kept in step with Cargo.toml).
const REVM_VERSION: &str = "43";

#[pymodule]
fn _evm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(block::run_transactions, m)?)?;
    m.add_function(wrap_pyfunction!(block::create_address, m)?)?;
    m.add_function(wrap_pyfunction!(call::run_call, m)?)?;
    m.add_function(wrap_pyfunction!(outcome::merge_diffs, m)?)?;
    m.add_function(wrap_pyfunction!(outcome::deployed_code, m)?)?;
    m.add_function(wrap_pyfunction!(merkle::merkle_root, m)?)?;
    m.add_function(wrap_pyfunction!(lthash::lthash_elements, m)?)?;
    m.add_function(wrap_pyfunction!(lthash::lthash_sum, m)?)?;
    m.add_function(wrap_pyfunction!(lthash::lthash_combine, m)?)?;
    m.add_function(wrap_pyfunction!(sm2::sm2_verify, m)?)?;
    m.add_function(wrap_pyfunction!(ecdsa::secp256k1_recover, m)?)?;
    m.add_function(wrap_pyfunction!(ecdsa::keccak_recover_signers, m)?)?;
    m.add_class::<outcome::TxOutcome>()?;
    m.add("REVM_VERSION", REVM_VERSION)?;
    Ok(())
}
