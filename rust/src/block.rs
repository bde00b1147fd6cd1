//! Executing a block's transactions in order with revm.
//!
//! One revm instance runs the whole block over a `CacheDB` in front of the Python state
//! reader. Each transaction is executed with `transact` (validation, execution, fee payment
//! as in revm's mainnet handler for the pinned spec), which also *finalizes* revm's journal:
//! the EIP-2929 warm sets and transient storage (EIP-1153) start empty for every transaction.
//! A valid transaction's changes are then committed to the cache, so the next transaction
//! sees them; an invalid one leaves no trace.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use revm::context::result::{EVMError, ExecutionResult, InvalidTransaction, Output};
use revm::context::{Context, TxEnv};
use revm::database::{AccountState, CacheDB};
use revm::primitives::{Address, KECCAK_EMPTY};
use revm::state::EvmState;
use revm::{DatabaseCommit, ExecuteEvm, MainBuilder, MainContext};

use crate::db::{DbError, PyStateDb};
use crate::env::{read_block_env, read_tx, sender_attribute, BlockInputs};
use crate::outcome::{AccountChange, StorageChange, TxOutcome};

pub(crate) type StateCache = CacheDB<PyStateDb>;

/// Name and explain a validation failure (`error_kind`, `error`).
///
/// Each `error_kind` token names one typed error of `baychain.errors` through the table
/// `ENGINE_REFUSALS` in `src/baychain/execution/evm.py` (the rules themselves are written
/// once in Python in `baychain.ledger.validity`); a new token needs an entry there, and
/// `tests/execution/test_engine_refusals.py` fails until it has one.
pub(crate) fn describe_invalid(
    err: &InvalidTransaction,
    tx: &TxEnv,
    block: &BlockInputs,
) -> (&'static str, String) {
    let chain_id = block.chain_id;
    use InvalidTransaction as E;
    match err {
        E::NonceTooLow { tx, state } => (
            "nonce_too_low",
            format!("nonce too low: expected {state}, got {tx}"),
        ),
        E::NonceTooHigh { tx, state } => (
            "nonce_too_high",
            format!("nonce too high: expected {state}, got {tx}"),
        ),
        E::LackOfFundForMaxFee { fee, balance } => (
            "insufficient_funds",
            format!(
                "insufficient funds: balance {balance}, needs {fee} (value + gas limit * max fee)"
            ),
        ),
        E::GasPriceLessThanBasefee => (
            "fee_too_low",
            format!(
                "fee cap {} is below the base fee {}",
                tx.gas_price, block.block.basefee
            ),
        ),
        E::PriorityFeeGreaterThanMaxFee => (
            "priority_fee_above_max_fee",
            "max priority fee per gas is above max fee per gas".to_string(),
        ),
        E::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        } => (
            "intrinsic_gas_too_low",
            format!("intrinsic gas too low: needs {initial_gas}, gas limit is {gas_limit}"),
        ),
        E::GasFloorMoreThanGasLimit {
            gas_floor,
            gas_limit,
        } => (
            "intrinsic_gas_too_low",
            format!(
                "intrinsic gas too low: EIP-7623 floor is {gas_floor}, gas limit is {gas_limit}"
            ),
        ),
        E::CallerGasLimitMoreThanBlock => (
            "gas_limit_exceeds_block",
            format!("gas limit {} exceeds the block gas limit", tx.gas_limit),
        ),
        E::InvalidChainId => (
            "wrong_chain_id",
            format!(
                "wrong chain id: expected {chain_id}, got {}",
                tx.chain_id.map_or("none".to_string(), |id| id.to_string())
            ),
        ),
        E::MissingChainId => (
            "wrong_chain_id",
            "a typed transaction must carry a chain id".to_string(),
        ),
        E::RejectCallerWithCode => (
            "sender_not_eoa",
            "sender has deployed code (EIP-3607)".to_string(),
        ),
        E::CreateInitCodeSizeLimit => (
            "initcode_too_large",
            "init code exceeds 49152 bytes (EIP-3860)".to_string(),
        ),
        other => ("invalid", other.to_string()),
    }
}

/// Compute the transaction's state diff from revm's post-transaction state, before it is
/// committed to `cache` (which still holds the pre-transaction state of every loaded account).
///
/// EIP-161: a touched account left empty is deleted. `CacheDB` does not do that on commit, so
/// such accounts are marked self-destructed here, which `CacheDB::commit` turns into removal.
pub(crate) fn diff_and_normalize(
    cache: &StateCache,
    state: &mut EvmState,
) -> (Vec<AccountChange>, Vec<StorageChange>) {
    let mut accounts = Vec::new();
    let mut storage = Vec::new();
    for (address, account) in state.iter_mut() {
        if !account.is_touched() {
            continue;
        }
        let before = cache
            .cache
            .accounts
            .get(address)
            .filter(|a| !matches!(a.account_state, AccountState::NotExisting))
            .map(|a| &a.info);
        if account.is_selfdestructed() {
            accounts.push(AccountChange::destroyed(*address));
            continue;
        }
        if account.is_empty() {
            if before.is_some() {
                accounts.push(AccountChange::destroyed(*address));
            }
            account.mark_selfdestruct();
            continue;
        }
        let created = account.is_created();
        if created || before != Some(&account.info) {
            let info = &account.info;
            let code = if created && info.code_hash != KECCAK_EMPTY {
                info.code.as_ref().map(|c| c.original_bytes())
            } else {
                None
            };
            accounts.push(AccountChange {
                address: *address,
                balance: info.balance,
                nonce: info.nonce,
                code_hash: info.code_hash,
                code,
                // A creation starts from empty storage even where the address already had
                // slots (e.g. from genesis); `destroyed` makes the commit wipe them first.
                destroyed: created,
            });
        }
        for (slot, value) in account.storage.iter() {
            if value.is_changed() {
                storage.push((*address, *slot, value.present_value));
            }
        }
    }
    accounts.sort_unstable_by_key(|a| a.address);
    storage.sort_unstable_by_key(|(a, s, _)| (*a, *s));
    (accounts, storage)
}

/// Turn a valid transaction's execution result into its outcome.
pub(crate) fn executed(
    result: ExecutionResult,
    accounts: Vec<AccountChange>,
    storage: Vec<StorageChange>,
) -> TxOutcome {
    let gas_used = result.tx_gas_used();
    let (success, output, created_address, logs) = match result {
        ExecutionResult::Success { output, logs, .. } => match output {
            Output::Call(data) => (true, data, None, logs),
            Output::Create(data, address) => (true, data, address, logs),
        },
        // Receipts of failed transactions carry no logs.
        ExecutionResult::Revert { output, .. } => (false, output, None, Vec::new()),
        ExecutionResult::Halt { .. } => (false, Default::default(), None, Vec::new()),
    };
    TxOutcome {
        valid: true,
        error: None,
        error_kind: None,
        success,
        gas_used,
        output,
        created_address,
        logs,
        accounts,
        storage,
    }
}

/// Execute `txs` in order on top of the state `db` reads, under block environment `env`.
///
/// Each transaction is read by attribute (see `env.rs`): the engine's `TxInput`, or a ledger
/// `Transaction` as it is (its `sender` stands for `caller`); one block holds one kind.
///
/// Returns one `TxOutcome` per transaction. Raises `ValueError` for malformed input (unknown
/// spec, wrong lengths, out-of-range ints, unsupported tx types), re-raises any exception of
/// the state reader, and raises `RuntimeError` if revm itself faults.
#[pyfunction]
pub fn run_transactions<'py>(
    py: Python<'py>,
    env: &Bound<'py, PyAny>,
    txs: &Bound<'py, PyAny>,
    db: &Bound<'py, PyAny>,
) -> PyResult<Vec<Bound<'py, TxOutcome>>> {
    let inputs = read_block_env(env)?;
    let block_gas_limit = inputs.block.gas_limit;
    let tx_objects = txs.try_iter()?.collect::<PyResult<Vec<_>>>()?;
    let tx_envs = match tx_objects.first() {
        None => Vec::new(),
        Some(first) => {
            let sender_attr = sender_attribute(first)?;
            tx_objects
                .iter()
                .map(|tx| read_tx(tx, &sender_attr))
                .collect::<PyResult<Vec<TxEnv>>>()?
        }
    };

    let mut evm = Context::mainnet()
        .with_db(CacheDB::new(PyStateDb::new(db)?))
        .modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(inputs.spec);
            cfg.chain_id = inputs.chain_id;
        })
        .with_block(inputs.block.clone())
        .build_mainnet();

    let mut outcomes = Vec::with_capacity(tx_envs.len());
    let mut block_gas_used: u64 = 0;
    for tx in tx_envs {
        let remaining = block_gas_limit.saturating_sub(block_gas_used);
        let outcome = if tx.gas_limit > remaining && tx.gas_limit <= block_gas_limit {
            TxOutcome::invalid(
                "block_gas_exhausted",
                format!(
                    "block gas limit reached: gas limit {} exceeds the {remaining} gas left",
                    tx.gas_limit
                ),
            )
        } else {
            match evm.transact(tx.clone()) {
                Ok(done) => {
                    let mut state = done.state;
                    let (accounts, storage) =
                        diff_and_normalize(&evm.ctx.journaled_state.database, &mut state);
                    evm.ctx.journaled_state.database.commit(state);
                    let outcome = executed(done.result, accounts, storage);
                    block_gas_used += outcome.gas_used;
                    outcome
                }
                Err(EVMError::Transaction(err)) => {
                    let (kind, message) = describe_invalid(&err, &tx, &inputs);
                    TxOutcome::invalid(kind, message)
                }
                Err(EVMError::Database(DbError(err))) => return Err(err),
                Err(other) => {
                    return Err(PyRuntimeError::new_err(format!("revm fault: {other}")));
                }
            }
        };
        outcomes.push(Bound::new(py, outcome)?);
    }
    Ok(outcomes)
}

/// The address a CREATE from `sender` at `nonce` deploys to (keccak256(rlp([sender, nonce]))).
#[pyfunction]
pub fn create_address<'py>(sender: &Bound<'py, PyAny>, nonce: u64) -> PyResult<Bound<'py, PyAny>> {
    let address: Address = crate::convert::to_address(sender, "sender")?;
    Ok(crate::convert::bytes_to_py(
        sender.py(),
        address.create(nonce).as_slice(),
    ))
}
