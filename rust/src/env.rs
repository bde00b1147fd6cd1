//! Reading the block environment and the transactions from Python objects.
//!
//! Both are read by attribute, so the frozen dataclasses `BlockEnv` and `TxInput` of
//! `baychain.execution.engine` (or any object with the same attributes) can be passed as they
//! are; so can a ledger `Transaction`, whose `sender` is read in place of `caller`. Malformed
//! input raises `ValueError`; it never becomes an invalid-transaction outcome.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;
use revm::context::{BlockEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::transaction::{AccessList, AccessListItem};
use revm::primitives::eip4844::{
    BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN, BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Bytes, TxKind, U256};

use crate::convert::{as_bytes, to_address, to_b256, to_u128, to_u256, to_u64, value_error};

/// Transaction types the engine runs. 0x53 (BayChain's SM2-signed envelope) carries the same
/// fee fields as an EIP-1559 transaction and executes as one.
const LEGACY: u8 = 0x00;
const ACCESS_LIST: u8 = 0x01;
const DYNAMIC_FEE: u8 = 0x02;
const SM2: u8 = 0x53;

/// The block-wide inputs: revm's block environment plus the pinned fork and chain id.
pub struct BlockInputs {
    pub block: BlockEnv,
    pub spec: SpecId,
    pub chain_id: u64,
}

/// Map a fork name to its `SpecId`; only the forks BayChain runs are accepted.
fn parse_spec(name: &str) -> PyResult<SpecId> {
    match name {
        "cancun" => Ok(SpecId::CANCUN),
        "prague" => Ok(SpecId::PRAGUE),
        other => Err(value_error(format!(
            "unsupported spec {other:?}: expected \"cancun\" or \"prague\""
        ))),
    }
}

/// Read `env` (number, timestamp, coinbase, gas_limit, base_fee, prevrandao, chain_id, spec).
pub fn read_block_env(env: &Bound<'_, PyAny>) -> PyResult<BlockInputs> {
    let spec_obj = env.getattr("spec")?;
    let spec_name = spec_obj
        .cast::<PyString>()
        .map_err(|_| value_error("env.spec must be a str".into()))?
        .to_cow()?;
    let spec = parse_spec(&spec_name)?;
    let fraction = if spec.is_enabled_in(SpecId::PRAGUE) {
        BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE
    } else {
        BLOB_BASE_FEE_UPDATE_FRACTION_CANCUN
    };
    let block = BlockEnv {
        number: U256::from(to_u64(&env.getattr("number")?, "env.number")?),
        beneficiary: to_address(&env.getattr("coinbase")?, "env.coinbase")?,
        timestamp: U256::from(to_u64(&env.getattr("timestamp")?, "env.timestamp")?),
        gas_limit: to_u64(&env.getattr("gas_limit")?, "env.gas_limit")?,
        basefee: to_u64(&env.getattr("base_fee")?, "env.base_fee")?,
        difficulty: U256::ZERO,
        prevrandao: Some(to_b256(&env.getattr("prevrandao")?, "env.prevrandao")?),
        // No blob transactions on BayChain: excess blob gas stays 0 (BLOBBASEFEE reads 1).
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(0, fraction)),
        ..Default::default()
    };
    let chain_id = to_u64(&env.getattr("chain_id")?, "env.chain_id")?;
    Ok(BlockInputs {
        block,
        spec,
        chain_id,
    })
}

/// Read an EIP-2930 access list: an iterable of `(address, iterable of 32-byte keys)`.
fn read_access_list(obj: &Bound<'_, PyAny>) -> PyResult<AccessList> {
    let mut items = Vec::new();
    for entry in obj.try_iter()? {
        let entry = entry?;
        let (address, keys): (Bound<'_, PyAny>, Bound<'_, PyAny>) = entry
            .extract()
            .map_err(|_| value_error("access list entries must be (address, keys)".into()))?;
        let mut storage_keys = Vec::new();
        for key in keys.try_iter()? {
            storage_keys.push(to_b256(&key?, "access list storage key")?);
        }
        items.push(AccessListItem {
            address: to_address(&address, "access list address")?,
            storage_keys,
        });
    }
    Ok(AccessList(items))
}

/// The attribute that names a transaction's sender: `caller` on the engine's `TxInput`, else
/// `sender` (a `baychain.ledger.transactions.Transaction`, whose sender is recovered). Chosen
/// once per block, from its first transaction.
pub fn sender_attribute<'py>(first: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    let py = first.py();
    let name = if first.hasattr(intern!(py, "caller"))? {
        intern!(py, "caller")
    } else {
        intern!(py, "sender")
    };
    Ok(name.clone())
}

/// Read one transaction (tx_type, the sender from `sender_attr`, to, value, data, gas_limit,
/// max_fee_per_gas, max_priority_fee_per_gas, nonce, access_list, chain_id) into revm's
/// `TxEnv`.
///
/// For types 0 and 1 the gas price is `max_fee_per_gas` and the priority fee is ignored, as
/// in `baychain.ledger.transactions.Transaction` where both equal the gas price.
pub fn read_tx(tx: &Bound<'_, PyAny>, sender_attr: &Bound<'_, PyString>) -> PyResult<TxEnv> {
    let sender = tx.getattr(sender_attr)?;
    let sender_name = if sender_attr.to_cow()? == "caller" {
        "tx.caller"
    } else {
        "tx.sender"
    };
    let tx_type = to_u64(&tx.getattr("tx_type")?, "tx.tx_type")?;
    let revm_type = match u8::try_from(tx_type) {
        Ok(LEGACY) => LEGACY,
        Ok(ACCESS_LIST) => ACCESS_LIST,
        Ok(DYNAMIC_FEE) | Ok(SM2) => DYNAMIC_FEE,
        _ => {
            return Err(value_error(format!(
                "transaction type 0x{tx_type:02x} cannot be executed (expected 0, 1, 2 or 0x53)"
            )))
        }
    };
    let to = tx.getattr("to")?;
    let kind = if to.is_none() {
        TxKind::Create
    } else {
        TxKind::Call(to_address(&to, "tx.to")?)
    };
    let access_list = read_access_list(&tx.getattr("access_list")?)?;
    if revm_type == LEGACY && !access_list.0.is_empty() {
        return Err(value_error(
            "a legacy transaction has no access list".into(),
        ));
    }
    let chain_id_obj = tx.getattr("chain_id")?;
    let chain_id = if chain_id_obj.is_none() {
        None
    } else {
        Some(to_u64(&chain_id_obj, "tx.chain_id")?)
    };
    let max_fee = to_u128(&tx.getattr("max_fee_per_gas")?, "tx.max_fee_per_gas")?;
    let priority_fee = if revm_type == DYNAMIC_FEE {
        Some(to_u128(
            &tx.getattr("max_priority_fee_per_gas")?,
            "tx.max_priority_fee_per_gas",
        )?)
    } else {
        None
    };
    Ok(TxEnv {
        tx_type: revm_type,
        caller: to_address(&sender, sender_name)?,
        gas_limit: to_u64(&tx.getattr("gas_limit")?, "tx.gas_limit")?,
        gas_price: max_fee,
        kind,
        value: to_u256(&tx.getattr("value")?, "tx.value")?,
        data: Bytes::copy_from_slice(as_bytes(&tx.getattr("data")?, "tx.data")?),
        nonce: to_u64(&tx.getattr("nonce")?, "tx.nonce")?,
        chain_id,
        access_list,
        gas_priority_fee: priority_fee,
        ..Default::default()
    })
}
