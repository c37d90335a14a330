//! State recovery from L1 alone: every chain's priority requests (from its contract's events)
//! and every block's `commitBlocks` input (from the calldata the `BlockCommitted` events point
//! to), replayed through the same audit as live blocks — so a recovered state is also a checked
//! one — and finally compared with each contract's last executed chain root.

use crate::replay::{Audited, Auditor, Mismatch};
use alloy::primitives::Address;
use alloy::providers::Provider;
use alloy::sol_types::SolValue;
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
    /// The recomputed stored block of the last block is not the one the contract holds.
    #[error(
        "chain {chain}: the recovered block {number} hashes to {replayed}, the contract holds {onchain}"
    )]
    StoredBlock {
        /// Chain.
        chain: ChainId,
        /// Block.
        number: u32,
        /// keccak of the recomputed StoredBlockInfo.
        replayed: String,
        /// `storedBlockHashes(number)`.
        onchain: String,
    },
    /// The target database cannot take the recovered state.
    #[error("{0}")]
    Target(String),
    /// The target database.
    #[error("database: {0}")]
    Storage(#[from] rollup_storage::StorageError),
}

/// How far [`from_l1`] replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// The last block executed on every chain (what a node continues from).
    ExecutedEverywhere,
    /// The last block executed on this chain (what its exodus exits prove against). Every
    /// earlier block was proven on every chain before it could execute here, so every chain
    /// holds its commit input.
    ExecutedOn(ChainId),
}

/// What [`from_l1`] rebuilt.
pub struct Recovered {
    /// The replica after the last block executed on every chain.
    pub auditor: Auditor,
    /// That block's audit (none: nothing executed yet).
    pub last: Option<Audited>,
    /// Chains (ascending) with their committed counts, where blocks beyond the recovered one
    /// are committed but not executed.
    pub committed_beyond: Vec<(ChainId, u32)>,
    /// L2 transactions (operations) replayed.
    pub ops: usize,
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

/// Rebuilds the state of every chain from L1 alone up to `until`, and checks it against the
/// contracts: the executed chain root of every chain that executed exactly that far (at least
/// the one asked for), and the hash of the last block's `StoredBlockInfo` on every chain (so the
/// recovered block chain continues where the contracts are). `progress(done, total)` is called
/// after each block.
pub async fn from_l1<P: Provider + Clone>(
    sources: &[ChainSource<P>],
    network: &NetworkConfig,
    capacity: usize,
    until: Until,
    progress: &dyn Fn(u32, u32),
) -> Result<Recovered, RecoverError> {
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
    let mut committed = Vec::new();
    let mut executed = Vec::new();
    for s in &sources {
        let rollup = Rollup::new(s.contract, s.provider.clone());
        executed.push(rollup.totalBlocksExecuted().call().await?);
        committed.push((s.chain, rollup.totalBlocksCommitted().call().await?));
    }
    let up_to = match until {
        Until::ExecutedEverywhere => *executed.iter().min().expect("some chain"),
        Until::ExecutedOn(c) => {
            let i = sources
                .iter()
                .position(|s| s.chain == c)
                .ok_or_else(|| RecoverError::Config(format!("chain {c} is not connected")))?;
            executed[i]
        }
    };
    let mut inputs = Vec::with_capacity(sources.len());
    let mut requests = HashMap::new();
    for s in &sources {
        inputs.push(rollup_l1::history::committed_inputs(&s.provider, s.contract, up_to).await?);
        requests.insert(s.chain, priority_requests(s).await?);
    }
    let lookup = |c: ChainId, serial: u64| requests.get(&c).and_then(|r| r.get(&serial)).cloned();
    let mut last = None;
    let mut ops = 0;
    for n in 0..up_to as usize {
        let block: Vec<_> = sources
            .iter()
            .zip(&inputs)
            .map(|(s, list)| (s.chain, list[n].1.clone()))
            .collect();
        ops += block
            .iter()
            .map(|(_, i)| {
                rollup_types::op::decode_pubdata(&i.pubdata).map_or(0, |o| {
                    o.iter()
                        .filter(|o| !matches!(o, rollup_types::op::Op::Noop))
                        .count()
                })
            })
            .sum::<usize>();
        last = Some(auditor.audit(&block, &lookup)?);
        progress(n as u32 + 1, up_to);
    }
    let roots = auditor.chain_roots();
    for ((s, replayed), done) in sources.iter().zip(roots).zip(&executed) {
        if *done != up_to {
            continue;
        }
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
    if let Some(last) = &last {
        for (i, s) in sources.iter().enumerate() {
            let replayed = alloy::primitives::keccak256(last.stored_block(i).abi_encode());
            let onchain = Rollup::new(s.contract, s.provider.clone())
                .storedBlockHashes(last.number)
                .call()
                .await?;
            if onchain != replayed {
                return Err(RecoverError::StoredBlock {
                    chain: s.chain,
                    number: last.number,
                    replayed: replayed.to_string(),
                    onchain: onchain.to_string(),
                });
            }
        }
    }
    Ok(Recovered {
        auditor,
        last,
        committed_beyond: committed.into_iter().filter(|(_, c)| *c > up_to).collect(),
        ops,
    })
}

/// Writes the recovered state into an empty node database as a snapshot a node starts from.
/// Refused when the database is not empty, or when blocks beyond the recovered one are
/// committed but not executed (a node could not continue from it: revert them on L1 first).
/// Returns the snapshot's block (0: nothing executed, the empty database is the genesis state).
pub async fn write_snapshot(
    storage: &rollup_storage::Storage,
    recovered: &Recovered,
) -> Result<u32, RecoverError> {
    if !storage.is_empty().await? {
        return Err(RecoverError::Target(
            "the target database is not empty: recover into a new one".into(),
        ));
    }
    if !recovered.committed_beyond.is_empty() {
        return Err(RecoverError::Target(format!(
            "blocks are committed but not executed beyond the recovered one (chain, committed): {:?}; revert them on L1 first",
            recovered.committed_beyond
        )));
    }
    let Some(last) = &recovered.last else {
        return Ok(0);
    };
    let chains = recovered.auditor.state().chain_ids();
    let stored: Vec<_> = chains
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, last.stored_block(i)))
        .collect();
    storage
        .insert_snapshot(&rollup_storage::Snapshot {
            number: last.number,
            state: recovered.auditor.state().snapshot(),
            final_root: last.final_root,
            sync_hash: last.sync_hash,
            stored: rollup_l1::encode::stored_blocks_json(&stored),
        })
        .await?;
    Ok(last.number)
}
