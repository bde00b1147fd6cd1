//! Simulating one call (`eth_call`, `eth_estimateGas`) without holding the GIL, under a deadline.
//!
//! A call is a client's request, not consensus work, so two things differ from `block.rs`:
//!
//! - **Detached from the interpreter.** The EVM runs inside `Python::detach`, so the node's
//!   other threads (the event loop that serves every client and drives block production, the
//!   block executor) run Python while a call computes. The state reader re-attaches for each
//!   read it answers (`db.rs`), so reads still go through the Python state layer.
//! - **A wall-clock budget.** The instructions that can repeat work without bound — JUMP and
//!   JUMPI (every loop), the CALL and CREATE family (every new frame) — are replaced by guards
//!   that count themselves and, every `CHECKS_PER_CLOCK_READ` of them, read the clock. Past
//!   the deadline a guard fails like an out-of-gas instruction: its frame ends, its caller's
//!   next guarded instruction fails too, and so on up, so the call unwinds at once and
//!   `run_call` raises `TimeoutError` instead of returning an outcome (geth's `RPCEVMTimeout`
//!   cancels the EVM the same way). Code without such instructions is a straight line, bounded
//!   by its size; a precompile or a state read in progress is not interrupted (gas bounds
//!   both). An inspector's per-step hook would do the same at twice the cost of a tight loop.
//!
//! The outcome is the one `run_transactions` would give for the same transaction at the top of
//! a block (validation, execution, fees), with its state diff; nothing is kept.

use std::cell::Cell;
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyTimeoutError};
use pyo3::prelude::*;
use revm::bytecode::opcode::{
    CALL, CALLCODE, CREATE, CREATE2, DELEGATECALL, JUMP, JUMPI, STATICCALL,
};
use revm::context::result::EVMError;
use revm::context::{Context, TxEnv};
use revm::database::CacheDB;
use revm::interpreter::instructions::{contract, control};
use revm::interpreter::{
    Host, Instruction, InstructionContext, InstructionExecResult, InstructionResult,
    InterpreterTypes,
};
use revm::{ExecuteEvm, MainBuilder, MainContext};

use crate::block::{describe_invalid, diff_and_normalize, executed};
use crate::db::{DbError, PyStateDb};
use crate::env::{read_block_env, read_tx, sender_attribute, BlockInputs};
use crate::outcome::TxOutcome;

/// Guarded instructions between two clock reads: a read costs tens of nanoseconds, a loop
/// iteration at least a few, so the checks cost well under 1% and overshoot by microseconds.
const CHECKS_PER_CLOCK_READ: u32 = 1_024;

/// The opcodes replaced by guards.
const GUARDED: [u8; 8] = [
    JUMP,
    JUMPI,
    CALL,
    CALLCODE,
    DELEGATECALL,
    STATICCALL,
    CREATE,
    CREATE2,
];

/// The deadline of the call running on this thread (the EVM runs on the calling thread).
struct Deadline {
    at: Cell<Option<Instant>>,
    checks: Cell<u32>,
    expired: Cell<bool>,
}

thread_local! {
    static DEADLINE: Deadline = const {
        Deadline { at: Cell::new(None), checks: Cell::new(0), expired: Cell::new(false) }
    };
}

/// Sets this thread's deadline for its lifetime, and clears it when dropped.
struct DeadlineGuard;

impl DeadlineGuard {
    fn set(limit: Duration) -> Self {
        DEADLINE.with(|d| {
            d.at.set(Some(Instant::now() + limit));
            d.checks.set(0);
            d.expired.set(false);
        });
        DeadlineGuard
    }

    fn expired(&self) -> bool {
        DEADLINE.with(|d| d.expired.get())
    }
}

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        DEADLINE.with(|d| {
            d.at.set(None);
            d.expired.set(false);
        });
    }
}

/// True once this thread's deadline has passed (read from the clock every few calls).
#[inline]
fn past_deadline() -> bool {
    DEADLINE.with(|d| {
        if d.expired.get() {
            return true;
        }
        let Some(at) = d.at.get() else {
            return false;
        };
        let checks = d.checks.get() + 1;
        if checks < CHECKS_PER_CLOCK_READ {
            d.checks.set(checks);
            return false;
        }
        d.checks.set(0);
        let expired = Instant::now() >= at;
        d.expired.set(expired);
        expired
    })
}

/// The instruction `OP` behind the deadline check.
fn guarded<const OP: u8, IT: InterpreterTypes, H: Host + ?Sized>(
    context: InstructionContext<'_, H, IT>,
) -> InstructionExecResult {
    if past_deadline() {
        return Err(InstructionResult::OutOfGas);
    }
    match OP {
        JUMP => control::jump(context),
        JUMPI => control::jumpi(context),
        CREATE => contract::create::<false, _, _>(context),
        CREATE2 => contract::create::<true, _, _>(context),
        _ => contract::call::<OP, _, _>(context),
    }
}

/// The guard of each opcode of `GUARDED`, in the same order.
fn guards<IT: InterpreterTypes, H: Host + ?Sized>() -> [Instruction<IT, H>; 8] {
    [
        Instruction::new(guarded::<JUMP, IT, H>),
        Instruction::new(guarded::<JUMPI, IT, H>),
        Instruction::new(guarded::<CALL, IT, H>),
        Instruction::new(guarded::<CALLCODE, IT, H>),
        Instruction::new(guarded::<DELEGATECALL, IT, H>),
        Instruction::new(guarded::<STATICCALL, IT, H>),
        Instruction::new(guarded::<CREATE, IT, H>),
        Instruction::new(guarded::<CREATE2, IT, H>),
    ]
}

/// Execute the call `tx` on the state `db` reads, under `env`, detached from the interpreter.
///
/// `tx` is read like one transaction of `run_transactions`. `time_limit_ms` bounds the
/// wall-clock time of the execution (None: no bound). Returns the transaction's outcome
/// (`valid=False` with an `error_kind` when it fails validation). Raises `TimeoutError` when
/// the time limit passes, `ValueError` for malformed input, re-raises any exception of the
/// state reader, and raises `RuntimeError` if revm itself faults.
#[pyfunction]
#[pyo3(signature = (env, tx, db, time_limit_ms=None))]
pub fn run_call<'py>(
    py: Python<'py>,
    env: &Bound<'py, PyAny>,
    tx: &Bound<'py, PyAny>,
    db: &Bound<'py, PyAny>,
    time_limit_ms: Option<u64>,
) -> PyResult<Bound<'py, TxOutcome>> {
    let inputs = read_block_env(env)?;
    let tx_env = read_tx(tx, &sender_attribute(tx)?)?;
    let reader = PyStateDb::new(db)?;
    let limit = time_limit_ms.map(Duration::from_millis);
    // revm's EVM is not `Send` (its shared memory is an `Rc`), so it is built, run and dropped
    // inside the detached closure; only the outcome (or the error) comes out.
    let outcome = py.detach(move || execute(&inputs, tx_env, reader, limit))?;
    let Some(outcome) = outcome else {
        return Err(PyTimeoutError::new_err(format!(
            "the call ran past its time limit of {} ms",
            time_limit_ms.unwrap_or_default()
        )));
    };
    Bound::new(py, outcome)
}

/// Run `tx` at the top of a block over `reader`: its outcome, or None when `limit` passed.
fn execute(
    inputs: &BlockInputs,
    tx: TxEnv,
    reader: PyStateDb,
    limit: Option<Duration>,
) -> PyResult<Option<TxOutcome>> {
    let mut evm = Context::mainnet()
        .with_db(CacheDB::new(reader))
        .modify_cfg_chained(|cfg| {
            cfg.set_spec_and_mainnet_gas_params(inputs.spec);
            cfg.chain_id = inputs.chain_id;
        })
        .with_block(inputs.block.clone())
        .build_mainnet();
    let deadline = limit.map(|limit| {
        let table = evm.instruction.instruction_table_mut();
        for (opcode, guard) in GUARDED.into_iter().zip(guards()) {
            table[usize::from(opcode)] = guard;
        }
        DeadlineGuard::set(limit)
    });
    let result = evm.transact(tx.clone());
    if deadline.as_ref().is_some_and(DeadlineGuard::expired) {
        return Ok(None);
    }
    let outcome = match result {
        Ok(done) => {
            let mut state = done.state;
            let (accounts, storage) =
                diff_and_normalize(&evm.ctx.journaled_state.database, &mut state);
            executed(done.result, accounts, storage)
        }
        Err(EVMError::Transaction(err)) => {
            let (kind, message) = describe_invalid(&err, &tx, inputs);
            TxOutcome::invalid(kind, message)
        }
        Err(EVMError::Database(DbError(err))) => return Err(err),
        Err(other) => return Err(PyRuntimeError::new_err(format!("revm fault: {other}"))),
    };
    Ok(Some(outcome))
}
