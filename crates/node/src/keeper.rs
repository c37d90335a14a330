//! The state keeper: restore by replay, then seal blocks.

use crate::Shared;
use crate::recipe::Recipe;
use anyhow::{Context, bail};
use rollup_prover::job::block_jobs;
use rollup_state::{BlockContext, BuildOptions, NetworkConfig, NetworkState, build_block};
use rollup_storage::{Storage, StoredBlock};
use rollup_types::BlockNumber;
use rollup_types::tx::Tx;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

fn opts(capacity: usize, witness: bool) -> BuildOptions {
    BuildOptions {
        witness,
        max_chunks: capacity,
    }
}

/// Rebuilds the state from the stored blocks (genesis, then every recipe through the builder),
/// checking each block's `final_root` and `sync_hash` against the stored ones; re-queues the
/// proving jobs of a block stored without them (a crash between the two writes).
pub async fn restore(
    storage: Storage,
    network: NetworkConfig,
    capacity: usize,
) -> anyhow::Result<Shared> {
    let shared = Shared {
        state: Mutex::new(NetworkState::genesis(&network).context("genesis")?),
        storage,
        network,
        blocks: Mutex::new(BTreeMap::new()),
        capacity,
    };
    let last = catch_up(&shared).await?;
    tracing::info!(blocks = last, "state restored");
    Ok(shared)
}

/// Replays the stored blocks this process has not seen yet (all of them at start; in a process
/// without the state keeper, the ones another process sealed since). Returns the newest.
pub async fn catch_up(shared: &Shared) -> anyhow::Result<u32> {
    let mut state = shared.state.lock().await;
    let known = shared
        .blocks
        .lock()
        .await
        .last_key_value()
        .map_or(0, |(n, _)| *n);
    let last = shared.storage.last_block().await?;
    for n in known + 1..=last {
        let stored = shared
            .storage
            .block(n)
            .await?
            .with_context(|| format!("block {n} missing"))?;
        let recipe = Recipe::decode(&stored.data).with_context(|| format!("block {n}"))?;
        let proven = shared.storage.proofs(n).await?.is_some();
        let block = build_block(
            &mut state,
            &recipe.ctx,
            recipe.txs.clone(),
            opts(shared.capacity, !proven),
        );
        if !block.rejected.is_empty() || block.txs.len() != recipe.txs.len() {
            bail!("block {n} does not replay: {:?}", block.rejected);
        }
        let root = rollup_crypto::field::fr_to_be_bytes(&block.new_final_root);
        if root != stored.final_root || block.sync_hash != stored.sync_hash {
            bail!("block {n} replays to other roots than stored: state or code changed");
        }
        if !proven && !has_jobs(&shared.storage, n).await? {
            queue_jobs(&shared.storage, &block, shared.capacity, &shared.network).await?;
        }
        shared.blocks.lock().await.insert(n, Arc::new(block));
    }
    Ok(last.max(known))
}

/// In a process without the state keeper: follows the blocks the keeper (elsewhere) seals.
pub async fn follow(shared: Arc<Shared>, interval: Duration) -> anyhow::Result<()> {
    loop {
        catch_up(&shared).await?;
        tokio::time::sleep(interval).await;
    }
}

async fn has_jobs(storage: &Storage, n: u32) -> anyhow::Result<bool> {
    // A block with jobs has proofs or some job row; `proofs` is None for both "no rows" and
    // "not done", so look at the claimable/finished state via a zero-lease probe instead.
    Ok(storage.job_count(n).await? > 0)
}

async fn queue_jobs(
    storage: &Storage,
    block: &rollup_state::Block,
    capacity: usize,
    network: &NetworkConfig,
) -> anyhow::Result<()> {
    let mut chains = network.chains.clone();
    chains.sort();
    let jobs = block_jobs(block, capacity, &chains)?;
    let payloads: Vec<Vec<u8>> = jobs.iter().map(|j| j.to_bytes()).collect();
    storage.add_jobs(block.number.0, &payloads).await?;
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seals one block from the pending priority requests and up to `max_txs` mempool transactions;
/// `None` when there is nothing to include. The block (recipe) and its proving jobs are stored
/// before it is returned.
pub async fn seal(shared: &Shared, max_txs: usize) -> anyhow::Result<Option<u32>> {
    let mut state = shared.state.lock().await;
    let mut txs = Vec::new();
    for chain in shared.chains() {
        let next = state
            .chain(chain)
            .context("configured chain")?
            .next_priority_serial();
        for (serial, bytes, _) in shared.storage.priority_ops(chain.0, next).await? {
            let tx = Tx::decode(&bytes)
                .with_context(|| format!("stored priority request {chain}/{serial}"))?;
            txs.push(tx);
        }
    }
    let pool = shared.storage.mempool(max_txs).await?;
    let mut by_hash = Vec::with_capacity(pool.len());
    for (hash, bytes) in &pool {
        match Tx::decode(bytes) {
            Ok(tx) => {
                by_hash.push(*hash);
                txs.push(tx);
            }
            Err(e) => {
                tracing::warn!(hash = hex::encode(hash), error = %e, "dropping undecodable mempool entry");
                shared.storage.remove_txs(&[*hash]).await?;
            }
        }
    }
    if txs.is_empty() {
        return Ok(None);
    }
    let blocks = shared.blocks.lock().await;
    let (number, prev_sync_hash) = match blocks.last_key_value() {
        Some((n, b)) => (n + 1, b.sync_hash),
        None => match shared.storage.last_block().await? {
            0 => (1, rollup_state::genesis_sync_hash()),
            n => {
                let b = shared.storage.block(n).await?.context("last block")?;
                (n + 1, b.sync_hash)
            }
        },
    };
    drop(blocks);
    let ctx = BlockContext {
        number: BlockNumber(number),
        timestamp: now(),
        prev_sync_hash,
    };
    let mut trial = state.clone();
    let block = build_block(&mut trial, &ctx, txs.clone(), opts(shared.capacity, true));
    // Mempool entries the block rejected leave the pool; deferred ones stay for the next block.
    let first_pool_tx = txs.len() - by_hash.len();
    let rejected: Vec<[u8; 32]> = block
        .rejected
        .iter()
        .filter(|(i, _)| *i >= first_pool_tx)
        .map(|(i, e)| {
            tracing::info!(tx = hex::encode(by_hash[i - first_pool_tx]), error = %e, "rejected");
            by_hash[i - first_pool_tx]
        })
        .collect();
    if block.rejected.iter().any(|(i, _)| *i < first_pool_tx) {
        bail!("a priority request was rejected: {:?}", block.rejected);
    }
    if block.txs.is_empty() {
        shared.storage.remove_txs(&rejected).await?;
        return Ok(None);
    }
    let recipe = Recipe {
        ctx,
        txs: block.txs.clone(),
    };
    shared
        .storage
        .insert_block(
            &StoredBlock {
                number,
                data: recipe.encode(),
                final_root: rollup_crypto::field::fr_to_be_bytes(&block.new_final_root),
                sync_hash: block.sync_hash,
            },
            &shared.chains().iter().map(|c| c.0).collect::<Vec<_>>(),
        )
        .await?;
    queue_jobs(&shared.storage, &block, shared.capacity, &shared.network).await?;
    let included: Vec<[u8; 32]> = block
        .txs
        .iter()
        .filter_map(|t| t.hash().ok())
        .filter(|h| by_hash.contains(h))
        .chain(rejected)
        .collect();
    metrics::counter!(crate::metrics::BLOCKS_SEALED).increment(1);
    metrics::counter!(crate::metrics::TXS_SEALED).increment(block.txs.len() as u64);
    metrics::counter!(crate::metrics::TXS_REJECTED).increment(block.rejected.len() as u64);
    metrics::gauge!(crate::metrics::LAST_BLOCK).set(number);
    tracing::info!(
        block = number,
        txs = block.txs.len(),
        deferred = block.deferred.len(),
        "block sealed"
    );
    // The block is visible (status queries, drivers) before its transactions leave the mempool,
    // so a transaction is never in neither. A crash in between leaves them in the mempool, where
    // the next seal rejects them (their nonces are used) and drops them.
    shared.blocks.lock().await.insert(number, Arc::new(block));
    *state = trial;
    shared.storage.remove_txs(&included).await?;
    Ok(Some(number))
}

/// Seals blocks every `interval` while there is something to include.
pub async fn run(shared: Arc<Shared>, interval: Duration, max_txs: usize) -> anyhow::Result<()> {
    loop {
        seal(&shared, max_txs).await?;
        metrics::gauge!(crate::metrics::MEMPOOL).set(shared.storage.mempool_len().await? as f64);
        tokio::time::sleep(interval).await;
    }
}
