//! What a chain's L1 history says about the L2 state, from L1 data alone: the pubdata of every
//! committed block, read back from the calldata of the `commitBlocks` transactions that the
//! contract's `BlockCommitted` events point to. Recovery and exodus exits start here.

use crate::bindings::Rollup;
use crate::{L1Error, rpc};
use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolCall, SolEvent};
use std::collections::BTreeMap;

/// The pubdata of blocks `1..=up_to` as committed to the rollup contract at `contract`, in block
/// order. A block committed more than once (reverted, then committed again) counts as its last
/// commit. Commits must be direct calls of `commitBlocks` (the operator's sender makes them so).
pub async fn committed_pubdata<P: Provider>(
    provider: &P,
    contract: Address,
    up_to: u32,
) -> Result<Vec<(u32, Bytes)>, L1Error> {
    Ok(committed_inputs(provider, contract, up_to)
        .await?
        .into_iter()
        .map(|(n, info)| (n, info.pubdata))
        .collect())
}

/// The whole `commitBlocks` input (pubdata, every chain's hashes, final root, timestamp) of
/// blocks `1..=up_to` as committed to the contract at `contract`, in block order; same rules as
/// [`committed_pubdata`].
pub async fn committed_inputs<P: Provider>(
    provider: &P,
    contract: Address,
    up_to: u32,
) -> Result<Vec<(u32, Rollup::CommitBlockInfo)>, L1Error> {
    let filter = Filter::new()
        .address(contract)
        .event_signature(Rollup::BlockCommitted::SIGNATURE_HASH)
        .from_block(0);
    let logs = provider.get_logs(&filter).await.map_err(rpc)?;
    let mut by_tx: Vec<alloy::primitives::B256> = Vec::new();
    for log in &logs {
        let hash = log
            .transaction_hash
            .ok_or_else(|| L1Error::Rpc("log without transaction hash".into()))?;
        if by_tx.last() != Some(&hash) {
            by_tx.push(hash);
        }
    }
    let mut blocks: BTreeMap<u32, Rollup::CommitBlockInfo> = BTreeMap::new();
    for hash in by_tx {
        let tx = provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(rpc)?
            .ok_or_else(|| L1Error::Rpc(format!("transaction {hash} not found")))?;
        let input = alloy::consensus::Transaction::input(&tx);
        let call = Rollup::commitBlocksCall::abi_decode(input).map_err(|e| {
            L1Error::Invalid(format!("{hash} is not a direct commitBlocks call: {e}"))
        })?;
        for b in call.blocks {
            blocks.insert(b.blockNumber, b);
        }
    }
    let out: Vec<(u32, Rollup::CommitBlockInfo)> =
        blocks.into_iter().filter(|(n, _)| *n <= up_to).collect();
    if out.len() != up_to as usize || out.iter().enumerate().any(|(i, (n, _))| *n != i as u32 + 1) {
        return Err(L1Error::Invalid(format!(
            "the commits on chain do not cover blocks 1..={up_to}"
        )));
    }
    Ok(out)
}
