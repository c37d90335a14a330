//! State recovery from L1 alone: every chain's priority requests (from its contract's events)
//! and every block's `commitBlocks` input (from the calldata the `BlockCommitted` events point
//! to), replayed through the same audit as live blocks — so a recovered state is also a checked
//! one — and finally compared with each contract's last executed chain root.

use crate::replay::{Auditor, Mismatch};
use alloy::primitives::Address;
use alloy::providers::Provider;
use rollup_l1::L1Error;
use rollup_l1::bindings::Rollup;
use rollup_l1::watcher::{Cursor, Event, Watcher, WatcherConfig};
use rollup_state::NetworkConfig;
use rollup_types::ChainId;
use rollup_types::tx::Tx;
use std::collections::HashMap;

/// One chain to recover from.
pub struct ChainSource<P> {
    /// The chain.
    pub chain: ChainId,
    /// Its JSON-RPC provider.
    pub provider: P,
    /// Its rollup contract.
    pub contract: Address,
}

/// Why recovery failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// Reading L1 failed.
    #[error("L1: {0}")]
    L1(#[from] L1Error),
    /// A contract call failed.
    #[error("contract: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// The committed data does not replay (the L1 history is not a valid rollup history).
    #[error("L1 history does not replay: {0}")]
    Mismatch(#[from] Mismatch),
    /// The replayed state disagrees with a contract's executed root.
    #[error("chain {chain}: replayed root {replayed} but the contract executed {onchain}")]
    Root {
        /// Chain.
        chain: ChainId,
        /// From the replay.
        replayed: String,
        /// From the contract.
        onchain: String,
    },
    /// Bad configuration (chains, genesis).
    #[error("configuration: {0}")]
    Config(String),
}

/// Every priority request on the chain's queue, by serial, read from the contract's events.
pub async fn priority_requests<P: Provider + Clone>(
    source: &ChainSource<P>,
) -> Result<HashMap<u64, Tx>, RecoverError> {
    let watcher = Watcher::new(
        source.provider.clone(),
        source.contract,
        WatcherConfig {
            confirmations: 0,
            max_range: 5_000,
        },
    );
    let mut cursor = Cursor::from_block(0);
    let mut out = HashMap::new();
    loop {
        let batch = watcher.poll(&cursor).await?;
        for w in batch.events {
            if let Event::PriorityRequest { serial, tx, .. } = w.event {
                out.insert(serial, tx);
            }
        }
        if batch.cursor == cursor {
            return Ok(out);
        }
        cursor = batch.cursor;
    }
}

/// Rebuilds the state of every chain up to the last block executed on all of them, from L1
/// alone. `progress(done, total)` is called after each block.
pub async fn from_l1<P: Provider + Clone>(
    sources: &[ChainSource<P>],
    network: &NetworkConfig,
    capacity: usize,
    progress: &dyn Fn(u32, u32),
) -> Result<Auditor, RecoverError> {
    let mut auditor =
        Auditor::genesis(network, capacity).map_err(|e| RecoverError::Config(e.to_string()))?;
    let mut chains: Vec<ChainId> = sources.iter().map(|s| s.chain).collect();
    chains.sort();
    if chains != auditor.state().chain_ids() {
        return Err(RecoverError::Config(format!(
            "sources for chains {chains:?}, network has {:?}",
            auditor.state().chain_ids()
        )));
    }
    let mut sources: Vec<&ChainSource<P>> = sources.iter().collect();
    sources.sort_by_key(|s| s.chain);
    let mut up_to = u32::MAX;
    for s in &sources {
        let executed = Rollup::new(s.contract, s.provider.clone())
            .totalBlocksExecuted()
            .call()
            .await?;
        up_to = up_to.min(executed);
    }
    let mut inputs = Vec::with_capacity(sources.len());
    let mut requests = HashMap::new();
    for s in &sources {
        inputs.push(rollup_l1::history::committed_inputs(&s.provider, s.contract, up_to).await?);
        requests.insert(s.chain, priority_requests(s).await?);
    }
    let lookup = |c: ChainId, serial: u64| requests.get(&c).and_then(|r| r.get(&serial)).cloned();
    for n in 0..up_to as usize {
        let block: Vec<_> = sources
            .iter()
            .zip(&inputs)
            .map(|(s, list)| (s.chain, list[n].1.clone()))
            .collect();
        auditor.audit(&block, &lookup)?;
        progress(n as u32 + 1, up_to);
    }
    let roots = auditor.chain_roots();
    for (s, replayed) in sources.iter().zip(roots) {
        let onchain = Rollup::new(s.contract, s.provider.clone())
            .lastExecutedChainRoot()
            .call()
            .await?;
        if onchain.0 != replayed {
            return Err(RecoverError::Root {
                chain: s.chain,
                replayed: format!("0x{}", hex::encode(replayed)),
                onchain: format!("{onchain}"),
            });
        }
    }
    Ok(auditor)
}
