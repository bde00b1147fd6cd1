//! What one transaction did: its receipt fields and its state diff, and the block-level merge.
//!
//! State diff rows (all lists are sorted by address, then slot, so every node builds the same
//! bytes from the same block):
//!
//! - account: `(address, balance, nonce, code_hash, code, destroyed)`. `code` is the runtime code
//!   when the transaction deployed it, else `None`. `destroyed=True` means: delete the account
//!   and all of its storage (an EIP-6780 self-destruct in the creating transaction, an empty
//!   account touched and so removed by EIP-161, or a contract created at an address that may
//!   hold storage from before: a creation always starts from empty storage).
//! - storage: `(address, slot, value)` for each slot whose value the transaction changed; a
//!   value of 0 means the slot is deleted.
//!
//! One rule applies a row of either a transaction diff or the merged block diff:
//! `if destroyed: delete the account and its storage`; then, if `(balance, nonce, code_hash)`
//! is not empty (0, 0, keccak256(b"")), write that account info; then apply the storage rows.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use revm::primitives::{Address, Bytes, Log, B256, KECCAK_EMPTY, U256};

use crate::convert::{bytes_to_py, u256_to_py};
use crate::rlp::{push_bytes, push_list, push_uint};

/// A change to one account's info (see the module docs).
#[derive(Clone, Debug)]
pub struct AccountChange {
    pub address: Address,
    pub balance: U256,
    pub nonce: u64,
    pub code_hash: B256,
    pub code: Option<Bytes>,
    pub destroyed: bool,
}

impl AccountChange {
    /// The row for an account that no longer exists after the transaction.
    pub fn destroyed(address: Address) -> Self {
        Self {
            address,
            balance: U256::ZERO,
            nonce: 0,
            code_hash: KECCAK_EMPTY,
            code: None,
            destroyed: true,
        }
    }

    fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let code = match &self.code {
            Some(code) => bytes_to_py(py, code),
            None => py.None().into_bound(py),
        };
        PyTuple::new(
            py,
            [
                bytes_to_py(py, self.address.as_slice()),
                u256_to_py(py, &self.balance)?,
                self.nonce.into_pyobject(py)?.into_any(),
                bytes_to_py(py, self.code_hash.as_slice()),
                code,
                pyo3::types::PyBool::new(py, self.destroyed)
                    .to_owned()
                    .into_any(),
            ],
        )
    }
}

/// A storage write: (address, slot, new value).
pub type StorageChange = (Address, U256, U256);

fn storage_to_py<'py>(py: Python<'py>, rows: &[StorageChange]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (address, slot, value) in rows {
        let row = PyTuple::new(
            py,
            [
                bytes_to_py(py, address.as_slice()),
                u256_to_py(py, slot)?,
                u256_to_py(py, value)?,
            ],
        )?;
        list.append(row)?;
    }
    Ok(list)
}

fn accounts_to_py<'py>(py: Python<'py>, rows: &[AccountChange]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for row in rows {
        list.append(row.to_py(py)?)?;
    }
    Ok(list)
}

/// The result of one transaction of `run_transactions`.
///
/// `valid=False` means the transaction failed validation and was not applied: `error` says why
/// (`error_kind` is a stable token for it), and every other field is empty. A valid transaction
/// has `success` (receipt status 1) or not (reverted or halted: status 0; its gas is still
/// charged and its nonce still bumped).
///
/// The list attributes are built on each access; read each once.
#[pyclass(frozen, module = "baychain._evm")]
pub struct TxOutcome {
    #[pyo3(get)]
    pub valid: bool,
    #[pyo3(get)]
    pub error: Option<String>,
    #[pyo3(get)]
    pub error_kind: Option<&'static str>,
    #[pyo3(get)]
    pub success: bool,
    #[pyo3(get)]
    pub gas_used: u64,
    pub output: Bytes,
    pub created_address: Option<Address>,
    pub logs: Vec<Log>,
    pub accounts: Vec<AccountChange>,
    pub storage: Vec<StorageChange>,
}

impl TxOutcome {
    /// The outcome of a transaction that failed validation.
    pub fn invalid(kind: &'static str, error: String) -> Self {
        Self {
            valid: false,
            error: Some(error),
            error_kind: Some(kind),
            success: false,
            gas_used: 0,
            output: Bytes::new(),
            created_address: None,
            logs: Vec::new(),
            accounts: Vec::new(),
            storage: Vec::new(),
        }
    }
}

#[pymethods]
impl TxOutcome {
    /// Return data of a successful call, or the revert data of a reverted one.
    #[getter]
    fn output<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        bytes_to_py(py, &self.output)
    }

    /// The address of the contract a successful creation deployed.
    #[getter]
    fn created_address<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.created_address.map(|a| bytes_to_py(py, a.as_slice()))
    }

    /// Logs of a successful transaction: `(address, (topic, ...), data)`.
    #[getter]
    fn logs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for log in &self.logs {
            let topics = PyTuple::new(py, log.data.topics().iter().map(|t| t.as_slice()))?;
            let row = PyTuple::new(
                py,
                [
                    bytes_to_py(py, log.address.as_slice()),
                    topics.into_any(),
                    bytes_to_py(py, &log.data.data),
                ],
            )?;
            list.append(row)?;
        }
        Ok(list)
    }

    /// The canonical encoding of this transaction's receipt (`baychain.ledger.receipt`):
    /// `rlp([tx_type, status, cumulative_gas_used, gas_used, [log, ...], contract_address or
    /// b"", output])`, each log `rlp([address, [topic, ...], data])`, integers minimal
    /// big-endian. `status` is 1 for success, else 0.
    fn receipt_encoding<'py>(
        &self,
        py: Python<'py>,
        tx_type: u8,
        cumulative_gas_used: u64,
    ) -> Bound<'py, PyAny> {
        let mut logs = Vec::new();
        let mut item = Vec::new();
        let mut topics = Vec::new();
        for log in &self.logs {
            topics.clear();
            for topic in log.data.topics() {
                push_bytes(&mut topics, topic.as_slice());
            }
            item.clear();
            push_bytes(&mut item, log.address.as_slice());
            push_list(&mut item, &topics);
            push_bytes(&mut item, &log.data.data);
            push_list(&mut logs, &item);
        }
        let mut fields = Vec::with_capacity(logs.len() + self.output.len() + 64);
        push_uint(&mut fields, u64::from(tx_type));
        push_uint(&mut fields, u64::from(self.success));
        push_uint(&mut fields, cumulative_gas_used);
        push_uint(&mut fields, self.gas_used);
        push_list(&mut fields, &logs);
        push_bytes(
            &mut fields,
            self.created_address
                .as_ref()
                .map_or(&[][..], |a| a.as_slice()),
        );
        push_bytes(&mut fields, &self.output);
        let mut out = Vec::with_capacity(fields.len() + 9);
        push_list(&mut out, &fields);
        bytes_to_py(py, &out)
    }

    /// Account rows of this transaction's state diff.
    #[getter]
    fn accounts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        accounts_to_py(py, &self.accounts)
    }

    /// Storage rows of this transaction's state diff.
    #[getter]
    fn storage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        storage_to_py(py, &self.storage)
    }

    fn __repr__(&self) -> String {
        if self.valid {
            format!(
                "TxOutcome(valid=True, success={}, gas_used={}, logs={}, accounts={}, storage={})",
                if self.success { "True" } else { "False" },
                self.gas_used,
                self.logs.len(),
                self.accounts.len(),
                self.storage.len()
            )
        } else {
            format!(
                "TxOutcome(valid=False, error={:?})",
                self.error.as_deref().unwrap_or("")
            )
        }
    }
}

/// Merge the diffs of a block's outcomes, in order, into one block diff.
///
/// Later rows win; a destroyed row drops the earlier storage rows of its account, and an
/// account destroyed and then written again in the same block keeps `destroyed=True` with its
/// final info (apply with the rule in the module docs). Code is kept from the transaction that
/// deployed it. Returns `(accounts, storage)`, sorted like the per-transaction lists.
#[pyfunction]
pub fn merge_diffs<'py>(
    py: Python<'py>,
    outcomes: Vec<Bound<'py, TxOutcome>>,
) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
    let mut accounts: BTreeMap<Address, AccountChange> = BTreeMap::new();
    let mut storage: BTreeMap<(Address, U256), U256> = BTreeMap::new();
    for outcome in &outcomes {
        let outcome = outcome.get();
        for change in &outcome.accounts {
            if change.destroyed {
                let gone: Vec<(Address, U256)> = storage
                    .range((change.address, U256::ZERO)..=(change.address, U256::MAX))
                    .map(|(key, _)| *key)
                    .collect();
                for key in gone {
                    storage.remove(&key);
                }
                accounts.insert(change.address, change.clone());
                continue;
            }
            let merged = match accounts.get(&change.address) {
                Some(earlier) => AccountChange {
                    destroyed: earlier.destroyed,
                    code: change.code.clone().or_else(|| {
                        (earlier.code_hash == change.code_hash)
                            .then(|| earlier.code.clone())
                            .flatten()
                    }),
                    ..change.clone()
                },
                None => change.clone(),
            };
            accounts.insert(change.address, merged);
        }
        for (address, slot, value) in &outcome.storage {
            storage.insert((*address, *slot), *value);
        }
    }
    let account_rows: Vec<AccountChange> = accounts.into_values().collect();
    let storage_rows: Vec<StorageChange> =
        storage.into_iter().map(|((a, s), v)| (a, s, v)).collect();
    Ok((
        accounts_to_py(py, &account_rows)?,
        storage_to_py(py, &storage_rows)?,
    ))
}

/// The code every outcome deployed, in order: `(code_hash, code)` for each account row that
/// carries code. Unlike the merged diff of `merge_diffs`, this keeps code an account deployed
/// before it was destroyed and re-created in the same block (the code table keeps all code).
#[pyfunction]
pub fn deployed_code<'py>(
    py: Python<'py>,
    outcomes: Vec<Bound<'py, TxOutcome>>,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for outcome in &outcomes {
        for change in &outcome.get().accounts {
            if let Some(code) = change.code.as_ref().filter(|code| !code.is_empty()) {
                let row = PyTuple::new(
                    py,
                    [
                        bytes_to_py(py, change.code_hash.as_slice()),
                        bytes_to_py(py, code),
                    ],
                )?;
                list.append(row)?;
            }
        }
    }
    Ok(list)
}
