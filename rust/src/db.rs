//! The state reader: revm's `DatabaseRef` answered by a Python object.
//!
//! The Python object (the `StateReader` protocol of `baychain.execution.evm`) has four
//! methods, called on demand; each call attaches to the interpreter (takes the GIL) for just
//! that call, so the engine may run the EVM itself detached from it (see `call.rs`):
//!
//! - `account(address: bytes) -> (balance: int, nonce: int, code_hash: bytes) | None`
//! - `code(code_hash: bytes) -> bytes`
//! - `storage(address: bytes, slot: int) -> int`
//! - `block_hash(number: int) -> bytes` (32 bytes; the zero hash when unknown)
//!
//! revm's `CacheDB` sits in front of this reader, so each account, slot, code and block hash
//! is asked for at most once per `run_transactions` call. An exception raised by a method (or a
//! malformed answer) aborts the whole block: it is a fault of the state layer, not of a
//! transaction, and it is re-raised to the caller unchanged.

use std::fmt;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use revm::bytecode::Bytecode;
use revm::database_interface::{DBErrorMarker, DatabaseRef};
use revm::primitives::{Address, Bytes, StorageKey, StorageValue, B256, KECCAK_EMPTY};
use revm::state::AccountInfo;

use crate::convert::{as_bytes, to_b256, to_u256, to_u64, u256_to_py, value_error};

/// A Python exception raised while reading state; it ends the block.
pub struct DbError(pub PyErr);

impl fmt::Debug for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbError({})", self.0)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "state reader failed: {}", self.0)
    }
}

impl std::error::Error for DbError {}

impl DBErrorMarker for DbError {}

impl From<PyErr> for DbError {
    fn from(err: PyErr) -> Self {
        DbError(err)
    }
}

/// The Python state reader with its four bound methods looked up once.
///
/// It holds no GIL-bound reference (`Py`, not `Bound`), so it can live in an EVM that runs
/// detached from the interpreter; every method attaches for the length of one Python call
/// (cheap when the GIL is already held, as on the block path).
pub struct PyStateDb {
    account: Py<PyAny>,
    code: Py<PyAny>,
    storage: Py<PyAny>,
    block_hash: Py<PyAny>,
}

impl PyStateDb {
    /// Look up the reader's methods; raise `AttributeError` if one is missing.
    pub fn new(reader: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Self {
            account: reader.getattr("account")?.unbind(),
            code: reader.getattr("code")?.unbind(),
            storage: reader.getattr("storage")?.unbind(),
            block_hash: reader.getattr("block_hash")?.unbind(),
        })
    }
}

impl DatabaseRef for PyStateDb {
    type Error = DbError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, DbError> {
        Python::attach(|py| self.account_in(py, address))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, DbError> {
        if code_hash == KECCAK_EMPTY || code_hash.is_zero() {
            return Ok(Bytecode::default());
        }
        Python::attach(|py| {
            let answer = self
                .code
                .bind(py)
                .call1((PyBytes::new(py, code_hash.as_slice()),))?;
            let raw = as_bytes(&answer, "db.code() result")?;
            Bytecode::new_raw_checked(Bytes::copy_from_slice(raw))
                .map_err(|e| DbError(value_error(format!("db.code() returned invalid code: {e}"))))
        })
    }

    fn storage_ref(&self, address: Address, index: StorageKey) -> Result<StorageValue, DbError> {
        Python::attach(|py| {
            let slot = u256_to_py(py, &index)?;
            let answer = self
                .storage
                .bind(py)
                .call1((PyBytes::new(py, address.as_slice()), slot))?;
            Ok(to_u256(&answer, "db.storage() result")?)
        })
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, DbError> {
        Python::attach(|py| {
            let answer = self.block_hash.bind(py).call1((number,))?;
            Ok(to_b256(&answer, "db.block_hash() result")?)
        })
    }
}

impl PyStateDb {
    fn account_in(&self, py: Python<'_>, address: Address) -> Result<Option<AccountInfo>, DbError> {
        let answer = self
            .account
            .bind(py)
            .call1((PyBytes::new(py, address.as_slice()),))?;
        if answer.is_none() {
            return Ok(None);
        }
        let what = "db.account() result";
        let (balance, nonce, code_hash): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>) =
            answer.extract().map_err(|_| {
                value_error(format!(
                    "{what} must be (balance, nonce, code_hash) or None"
                ))
            })?;
        let balance = to_u256(&balance, "account balance")?;
        let nonce = to_u64(&nonce, "account nonce")?;
        let mut code_hash = to_b256(&code_hash, "account code_hash")?;
        if code_hash.is_zero() {
            code_hash = KECCAK_EMPTY;
        }
        // Code is fetched lazily through `code_by_hash_ref`, only when a transaction runs it.
        let code = (code_hash == KECCAK_EMPTY).then(Bytecode::default);
        Ok(Some(AccountInfo {
            balance,
            nonce,
            code_hash,
            code,
            ..Default::default()
        }))
    }
}
