//! The state keeper: restore from the newest snapshot by replay, then seal blocks (each stored
//! with each chain's calls, a state snapshot every `snapshot_every` blocks).

use crate::lead::Leadership;
use crate::recipe::Recipe;
use crate::{Base, Shared};
use anyhow::{Context, bail};
use rollup_l1::bindings::Rollup::StoredBlockInfo;
use rollup_l1::encode::ChainCalls;
use rollup_prover::job::block_jobs;
use rollup_state::{BlockContext, BuildOptions, NetworkConfig, NetworkState, build_block};
use rollup_storage::{Lease, Snapshot, Storage, StoredBlock, StoredCalls};
use rollup_types::BlockNumber;
use rollup_types::tx::Tx;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The options a block is sealed with: sub-blocks of `capacity` chunks, at most `sub_blocks` of
/// them per chain, at most `capacity` cross-chain links per chain (the binding circuit's slots).
fn seal_opts(capacity: usize, sub_blocks: usize) -> BuildOptions {
    BuildOptions::new(true, capacity, sub_blocks, capacity)
}

/// The options a stored block is rebuilt with: the split of its sealing, without the limits it
/// was sealed under (they held then; a smaller `sub_blocks` configured since must not make a
/// stored block unreplayable).
fn replay_opts(capacity: usize, witness: bool) -> BuildOptions {
    BuildOptions {
        witness,
        proof_chunks: capacity,
        ..Default::default()
    }
}

/// How many of the newest blocks a process keeps in memory ([`Shared::blocks`]).
pub const RECENT: usize = 16;
/// How often the keeper snapshots the state by default (`snapshot_interval`, in blocks).
pub const SNAPSHOT_EVERY: u32 = 32;

/// Keeps `block` among the newest in memory, without its witness (the jobs hold it), and
/// forgets the oldest beyond [`RECENT`].
fn remember(blocks: &mut BTreeMap<u32, Arc<rollup_state::Block>>, mut block: rollup_state::Block) {
    for cb in &mut block.chains {
        cb.witness = None;
        cb.fee_witness = None;
    }
    blocks.insert(block.number.0, Arc::new(block));
    while blocks.len() > RECENT {
        blocks.pop_first();
    }
}

/// Each chain's calls of `block`, in the stored form.
fn calls_of(block: &rollup_state::Block) -> anyhow::Result<Vec<StoredCalls>> {
    block
        .chains
        .iter()
        .map(|cb| {
            let [commit, execute, prove] = ChainCalls::of(block, cb.chain)?.to_bytes();
            Ok(StoredCalls {
                chain: cb.chain.0,
                commit,
                execute,
                prove,
            })
        })
        .collect()
}

/// The snapshot of `state`, the state after `block`.
pub fn snapshot_of(state: &NetworkState, block: &rollup_state::Block) -> anyhow::Result<Snapshot> {
    let stored = block
        .chains
        .iter()
        .map(|cb| Ok((cb.chain, rollup_l1::encode::stored_block(block, cb.chain)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Snapshot {
        number: block.number.0,
        state: state.snapshot(),
        final_root: rollup_crypto::field::fr_to_be_bytes(&block.new_final_root),
        sync_hash: block.sync_hash,
        stored: rollup_l1::encode::stored_blocks_json(&stored),
    })
}

/// Each chain's `StoredBlockInfo` of a snapshot's block (what the next commit refers to), checked
/// to be of that block and complete for `network`.
pub fn snapshot_stored(
    snap: &Snapshot,
    network: &NetworkConfig,
) -> anyhow::Result<BTreeMap<rollup_types::ChainId, StoredBlockInfo>> {
    let stored = rollup_l1::encode::parse_stored_blocks_json(&snap.stored)?;
    for (chain, info) in &stored {
        anyhow::ensure!(
            info.blockNumber == snap.number && info.syncHash.0 == snap.sync_hash,
            "chain {chain}'s stored block is not the snapshot's block"
        );
    }
    for c in &network.chains {
        anyhow::ensure!(
            stored.contains_key(c),
            "the snapshot has no stored block of chain {c}"
        );
    }
    Ok(stored)
}

/// What chain `chain` is sent of block `n`, as stored with the block; `None` while the block is
/// not stored (or, stored without calls by an older binary, not replayed since).
pub async fn chain_calls(
    storage: &Storage,
    n: u32,
    chain: rollup_types::ChainId,
) -> anyhow::Result<Option<ChainCalls>> {
    let Some(c) = storage.block_calls(n, chain.0).await? else {
        return Ok(None);
    };
    Ok(Some(ChainCalls::from_bytes(
        &c.commit, &c.execute, &c.prove,
    )?))
}

/// What chain `chain`'s contract stores for block `n` (n ≥ 1) once committed: from the calls
/// stored with the block, or for a recovered database's base — a block that exists only on L1
/// and in its snapshot — from that snapshot.
pub async fn stored_block(
    storage: &Storage,
    network: &NetworkConfig,
    n: u32,
    chain: rollup_types::ChainId,
) -> anyhow::Result<StoredBlockInfo> {
    if let Some(calls) = chain_calls(storage, n, chain).await? {
        return Ok(calls.stored().clone());
    }
    if let Some(snap) = storage.snapshot_at_most(n).await?
        && snap.number == n
    {
        return snapshot_stored(&snap, network)?
            .remove(&chain)
            .with_context(|| format!("the snapshot has no stored block of {chain}"));
    }
    bail!("block {n} is not stored with its calls")
}

/// The state the stored blocks start from: genesis, or the newest snapshot of block `at_most`
/// or before (state recovery's, or one the keeper took), whose rebuilt `final_root` must be the
/// one it was taken at. A snapshot of a stored block must also be of that block (its roots): one
/// that is not is passed over for an older one.
async fn start_state(
    storage: &Storage,
    network: &NetworkConfig,
    mut at_most: u32,
) -> anyhow::Result<(NetworkState, Option<Base>)> {
    let snap = loop {
        let Some(snap) = storage.snapshot_at_most(at_most).await? else {
            return Ok((NetworkState::genesis(network).context("genesis")?, None));
        };
        match storage.block(snap.number).await? {
            Some(b) if b.final_root != snap.final_root || b.sync_hash != snap.sync_hash => {
                tracing::warn!(
                    block = snap.number,
                    "a snapshot that is not of the stored block: passed over"
                );
                anyhow::ensure!(snap.number > 0, "a snapshot of block 0");
                at_most = snap.number - 1;
            }
            _ => break snap,
        }
    };
    let mut state = NetworkState::from_snapshot(network, &snap.state)
        .with_context(|| format!("the snapshot at block {}", snap.number))?;
    let root = rollup_crypto::field::fr_to_be_bytes(&state.final_root());
    if root != snap.final_root {
        bail!(
            "the snapshot at block {} rebuilds to another final root than recorded",
            snap.number
        );
    }
    let stored = snapshot_stored(&snap, network)?;
    Ok((
        state,
        Some(Base {
            number: snap.number,
            sync_hash: snap.sync_hash,
            stored,
        }),
    ))
}

/// Rebuilds the state from the stored blocks (genesis or the newest snapshot, then every recipe
/// after it through the builder), checking each block's `final_root` and `sync_hash` against the
/// stored ones; re-queues the proving jobs of a block stored without them (a crash between the
/// two writes) and stores the calls of blocks stored before calls were. With the keeper's
/// snapshots, a restart replays at most `snapshot_interval` blocks however long the history.
pub async fn restore(
    storage: Storage,
    network: NetworkConfig,
    capacity: usize,
) -> anyhow::Result<Shared> {
    // Blocks stored without their calls (before `block_calls` existed, or by an older binary
    // during an upgrade) get them by replay: start before the first of them.
    let first_without = storage.blocks_without_calls().await?.first().copied();
    let at_most = first_without.map_or(u32::MAX, |n| n - 1);
    let (state, base) = start_state(&storage, &network, at_most).await?;
    if let Some(b) = &base {
        tracing::info!(block = b.number, "starting from the snapshot");
    }
    let shared = Shared {
        state: Mutex::new(state),
        storage,
        network,
        blocks: Mutex::new(BTreeMap::new()),
        capacity,
        sub_blocks: 1,
        batch: Default::default(),
        auditor: std::sync::RwLock::new(crate::gate::AuditorStatus::NotWatched),
        base,
        mempool: Default::default(),
        snapshot_every: SNAPSHOT_EVERY,
    };
    let last = replay_stored(&shared, true).await?;
    forget_sealed(&shared, last).await?;
    tracing::info!(blocks = last, "state restored");
    Ok(shared)
}

/// Removes block `last`'s transactions from the mempool: a keeper that crashed (or lost its
/// lease) after storing its newest block and before they left the mempool (see `seal`) leaves
/// them there, and the next keeper — this process restarted, or another server taking the
/// lease over — would otherwise drop them later as "rejected" (their nonces are used) while
/// they are in fact sealed.
async fn forget_sealed(shared: &Shared, last: u32) -> anyhow::Result<()> {
    if let Some(stored) = shared.storage.block(last).await? {
        let recipe = Recipe::decode(&stored.data).with_context(|| format!("block {last}"))?;
        let hashes: Vec<[u8; 32]> = recipe.txs.iter().filter_map(|t| t.hash().ok()).collect();
        shared.storage.remove_txs(&hashes).await?;
    }
    Ok(())
}

/// Replays the stored blocks this process has not seen yet (all of them at start; in a process
/// without the state keeper, the ones another process sealed since). Returns the newest.
pub async fn catch_up(shared: &Shared) -> anyhow::Result<u32> {
    replay_stored(shared, false).await
}

/// [`catch_up`]; with `at_restore`, the blocks stored before the explorer's index existed get
/// theirs as they replay (later blocks are stored with it). Blocks stored without their calls
/// get them whenever they replay.
async fn replay_stored(shared: &Shared, at_restore: bool) -> anyhow::Result<u32> {
    let mut state = shared.state.lock().await;
    let known = shared
        .blocks
        .lock()
        .await
        .last_key_value()
        .map_or(shared.base.as_ref().map_or(0, |b| b.number), |(n, _)| *n);
    let last = shared.storage.last_block().await?;
    let unindexed: BTreeSet<u32> = if at_restore {
        shared
            .storage
            .unindexed_blocks()
            .await?
            .into_iter()
            .collect()
    } else {
        Default::default()
    };

    for n in known + 1..=last {
        let stored = shared
            .storage
            .block(n)
            .await?
            .with_context(|| format!("block {n} missing"))?;
        // The witness (a root recomputation per update) only for a block whose jobs are
        // missing: the stored jobs hold it otherwise.
        let needs_jobs = !has_jobs(&shared.storage, n).await?;
        let block = replay(&mut state, &stored, shared.capacity, needs_jobs)?;
        if unindexed.contains(&n) {
            let index = crate::explorer::block_index(&block, &state)?;
            shared.storage.index_block(n, &index).await?;
        }
        // Any process replaying a block stored without its calls (an older keeper's, during
        // an upgrade) stores them: the drivers send only from them.
        let first_chain = shared.chains()[0].0;
        if shared.storage.block_calls(n, first_chain).await?.is_none() {
            shared.storage.insert_calls(n, &calls_of(&block)?).await?;
        }
        if needs_jobs {
            queue_jobs(&shared.storage, &block, shared.capacity, &shared.network).await?;
        }
        remember(&mut *shared.blocks.lock().await, block);
    }
    Ok(last.max(known))
}

/// Rebuilds one stored block on `state` through the builder and checks its roots.
fn replay(
    state: &mut NetworkState,
    stored: &StoredBlock,
    capacity: usize,
    witness: bool,
) -> anyhow::Result<rollup_state::Block> {
    let n = stored.number;
    let recipe = Recipe::decode(&stored.data).with_context(|| format!("block {n}"))?;
    let block = build_block(
        state,
        &recipe.ctx,
        recipe.txs.clone(),
        replay_opts(capacity, witness),
    );
    if !block.rejected.is_empty() || block.txs.len() != recipe.txs.len() {
        bail!("block {n} does not replay: {:?}", block.rejected);
    }
    let root = rollup_crypto::field::fr_to_be_bytes(&block.new_final_root);
    if root != stored.final_root || block.sync_hash != stored.sync_hash {
        bail!("block {n} replays to other roots than stored: state or code changed");
    }
    Ok(block)
}

/// What [`discard`] did.
#[derive(Debug, PartialEq, Eq)]
pub struct Discarded {
    /// The blocks removed.
    pub blocks: std::ops::RangeInclusive<u32>,
    /// L2 transactions returned to the mempool.
    pub returned: usize,
    /// Priority requests dropped, to be read again from L1.
    pub requests: usize,
}

/// The operator's action after the auditor refused block `from`: discards the sealed blocks
/// `from..=last` (with the node stopped), so they are sealed again from a state rebuilt from the
/// blocks before. Their L2 transactions go back to the front of the mempool; priority requests
/// not consumed before `from` are dropped and every chain's watcher re-reads them from L1 (a
/// request only the node's database held — a forged deposit — does not come back).
///
/// Refused when any of those blocks is committed on a chain, or a commit of one is in flight
/// (`committed` holds each chain's `totalBlocksCommitted`, read by the caller from L1).
pub async fn discard(
    storage: &Storage,
    network: &NetworkConfig,
    capacity: usize,
    from: u32,
    committed: &[(rollup_types::ChainId, u32)],
) -> anyhow::Result<Discarded> {
    let last = storage.last_block().await?;
    anyhow::ensure!(
        from >= 1 && from <= last,
        "no block {from} to discard (blocks 1..={last} are stored)"
    );
    for (chain, c) in committed {
        anyhow::ensure!(
            *c < from,
            "chain {chain} has committed block {c}: blocks from {from} cannot be discarded"
        );
    }
    for n in from..=last {
        for (chain, stage) in storage.stages(n).await? {
            anyhow::ensure!(
                stage == rollup_storage::Stage::Sealed,
                "block {n} is {stage:?} on chain {chain}: it cannot be discarded"
            );
        }
    }
    for chain in &network.chains {
        for json in storage.l1_txs(chain.0).await? {
            let r: rollup_l1::sender::TxRecord = serde_json::from_str(&json)?;
            // A confirmed commit is not in flight: the chain's count (checked above) says
            // whether it still holds it (after `rollup-node revert` it does not).
            let in_flight = !r.status.is_final();
            let block = crate::driver::parse_label(&r.label)
                .filter(|(kind, _, _)| *kind == "commit")
                .map(|(_, _, last)| last);
            if let Some(b) = block
                && b >= from
                && in_flight
            {
                bail!(
                    "chain {chain} has a commit of block {b} in flight ({:?}): wait for it",
                    r.status
                );
            }
        }
    }
    // A recovered database holds no block up to its snapshot: those exist only on L1, executed.
    anyhow::ensure!(
        storage.block(from).await?.is_some(),
        "block {from} was recovered from L1 and is executed: it cannot be discarded"
    );
    // The state before `from`: the newest snapshot before it (the keeper's snapshots of the
    // discarded blocks go with them), then the blocks after that.
    let (mut state, base) = start_state(storage, network, from - 1).await?;
    let base = base.map_or(0, |b| b.number);
    for n in base + 1..from {
        let stored = storage
            .block(n)
            .await?
            .with_context(|| format!("block {n} missing"))?;
        replay(&mut state, &stored, capacity, false)?;
    }
    let mut returned = Vec::new();
    for n in from..=last {
        let stored = storage
            .block(n)
            .await?
            .with_context(|| format!("block {n} missing"))?;
        for tx in Recipe::decode(&stored.data)?.txs {
            if !tx.is_priority() {
                returned.push((tx.hash()?, tx.encode()?));
            }
        }
    }
    let mut requests = Vec::new();
    let mut dropped = 0;
    for chain in &network.chains {
        let next = state
            .chain(*chain)
            .context("configured chain")?
            .next_priority_serial();
        let ops = storage.priority_ops(chain.0, next).await?;
        if let Some(first) = ops.iter().map(|(_, _, b)| *b).min() {
            dropped += ops.len();
            let cursor = rollup_l1::watcher::Cursor::from_block(first);
            requests.push((chain.0, next, serde_json::to_string(&cursor)?));
        }
    }
    storage.discard_from(from, &returned, &requests).await?;
    tracing::warn!(
        from,
        last,
        returned = returned.len(),
        requests = dropped,
        "blocks discarded"
    );
    Ok(Discarded {
        blocks: from..=last,
        returned: returned.len(),
        requests: dropped,
    })
}

/// In a process without the state keeper: follows the blocks the keeper (elsewhere) seals.
pub async fn follow(shared: Arc<Shared>, interval: Duration) -> anyhow::Result<()> {
    loop {
        match catch_up(&shared).await {
            Ok(_) => {}
            Err(e) if crate::lead::is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable; following again shortly");
            }
            Err(e) => return Err(e),
        }
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

/// Seals one block from the pending priority requests and up to `max_txs` mempool transactions
/// that can execute (selected under `shared.mempool`: [`crate::mempool::select`], after expiring
/// the entries past their lifetime); `None` when there is nothing to include. The block
/// (recipe) and its proving jobs are stored before it is returned.
pub async fn seal(shared: &Shared, max_txs: usize) -> anyhow::Result<Option<u32>> {
    seal_as(shared, &shared.storage, max_txs).await
}

/// [`seal`], its judgements (expiries, rejections) and the block written through `writer` — the
/// leader's handle fenced by its lease (`crate::lead`): a deposed keeper's block is refused,
/// and its state stays as it was (the block is built on a copy, adopted only once stored).
pub async fn seal_as(
    shared: &Shared,
    writer: &Storage,
    max_txs: usize,
) -> anyhow::Result<Option<u32>> {
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
    // Housekeeping first (index, expire), then the entries that can execute now — never just
    // the oldest ones, which a stuck sender could fill (`crate::mempool`).
    crate::mempool::sweep(writer, &state, &shared.mempool).await?;
    let selection =
        crate::mempool::select(&shared.storage, &state, &shared.mempool, max_txs).await?;
    for (hash, _, reason) in &selection.dropped {
        tracing::warn!(tx = hex::encode(hash), %reason, "dropping a mempool entry");
    }
    writer.drop_txs(&selection.dropped).await?;
    let mut by_hash = Vec::with_capacity(selection.txs.len());
    for (hash, tx) in selection.txs {
        by_hash.push(hash);
        txs.push(tx);
    }
    if txs.is_empty() {
        return Ok(None);
    }
    let blocks = shared.blocks.lock().await;
    let (number, prev_sync_hash) = match blocks.last_key_value() {
        Some((n, b)) => (n + 1, b.sync_hash),
        None => match shared.storage.last_block().await? {
            0 => (1, rollup_state::genesis_sync_hash()),
            n if shared.base.as_ref().is_some_and(|b| b.number == n) => {
                (n + 1, shared.base.as_ref().expect("checked").sync_hash)
            }
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
    let block = build_block(
        &mut trial,
        &ctx,
        txs.clone(),
        seal_opts(shared.capacity, shared.sub_blocks),
    );
    // Mempool entries the block rejected leave the pool with the rule's reason (readable through
    // `rollup_txStatus`); deferred ones stay for the next block, until they expire.
    let first_pool_tx = txs.len() - by_hash.len();
    let rejected: Vec<([u8; 32], &str, String)> = block
        .rejected
        .iter()
        .filter(|(i, _)| *i >= first_pool_tx)
        .map(|(i, e)| {
            tracing::info!(tx = hex::encode(by_hash[i - first_pool_tx]), error = %e, "rejected");
            (
                by_hash[i - first_pool_tx],
                rollup_storage::REJECTED,
                e.to_string(),
            )
        })
        .collect();
    if block.rejected.iter().any(|(i, _)| *i < first_pool_tx) {
        bail!("a priority request was rejected: {:?}", block.rejected);
    }
    if block.txs.is_empty() {
        writer.drop_txs(&rejected).await?;
        return Ok(None);
    }
    let recipe = Recipe {
        ctx,
        txs: block.txs.clone(),
    };
    writer
        .insert_block(
            &StoredBlock {
                number,
                data: recipe.encode(),
                final_root: rollup_crypto::field::fr_to_be_bytes(&block.new_final_root),
                sync_hash: block.sync_hash,
            },
            &calls_of(&block)?,
            &crate::explorer::block_index(&block, &trial)?,
        )
        .await?;
    queue_jobs(&shared.storage, &block, shared.capacity, &shared.network).await?;
    let included: Vec<[u8; 32]> = block
        .txs
        .iter()
        .filter_map(|t| t.hash().ok())
        .filter(|h| by_hash.contains(h))
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
    // so a transaction is never in neither. A crash in between leaves them in the mempool, and
    // `restore` removes them.
    let snapshot = (shared.snapshot_every > 0 && number % shared.snapshot_every == 0)
        .then(|| snapshot_of(&trial, &block))
        .transpose()?;
    remember(&mut *shared.blocks.lock().await, block);
    *state = trial;
    shared.storage.remove_txs(&included).await?;
    writer.drop_txs(&rejected).await?;
    // The snapshot's bytes were taken under the state lock; the API and the next seal need
    // not wait for their write.
    drop(state);
    if let Some(snap) = snapshot {
        // After the block: a restart starts here. The one before stays (a discard of the
        // newest blocks starts from it); older ones go, but never a recovered database's base.
        writer.insert_snapshot(&snap).await?;
        writer
            .prune_snapshots(number.saturating_sub(shared.snapshot_every))
            .await?;
        tracing::info!(
            block = number,
            bytes = snap.state.len(),
            "state snapshot stored"
        );
    }
    Ok(Some(number))
}

/// One round of a keeper under `lead`: keep the keeper lease (`lease`: what this server held
/// before), then, leading, seal what can be sealed (after replaying what an earlier leader
/// stored, when the lease is new), else follow the stored blocks. Returns the lease held after
/// the round and the block sealed, if any.
pub async fn round(
    shared: &Shared,
    lead: &Leadership,
    lease: Option<Lease>,
    max_txs: usize,
) -> anyhow::Result<(Option<Lease>, Option<u32>)> {
    round_as(shared, lead, lease, Some(max_txs)).await
}

/// [`round`], sealing up to `seal` mempool transactions — or, with `None`, only keeping (or
/// taking) the lease and following: the rounds between two seals.
async fn round_as(
    shared: &Shared,
    lead: &Leadership,
    lease: Option<Lease>,
    seal: Option<usize>,
) -> anyhow::Result<(Option<Lease>, Option<u32>)> {
    let before = lease.as_ref().map(|l| l.epoch);
    let Some(lease) = lead
        .keep(&shared.storage, crate::lead::KEEPER, lease)
        .await?
    else {
        metrics::gauge!(crate::metrics::LEADER, "lease" => crate::lead::KEEPER).set(0.0);
        catch_up(shared).await?;
        return Ok((None, None));
    };
    metrics::gauge!(crate::metrics::LEADER, "lease" => crate::lead::KEEPER).set(1.0);
    if before != Some(lease.epoch) {
        let last = catch_up(shared).await?;
        forget_sealed(shared, last).await?;
    }
    let Some(max_txs) = seal else {
        return Ok((Some(lease), None));
    };
    match seal_as(shared, &shared.storage.fenced(lease.clone()), max_txs).await {
        Ok(sealed) => Ok((Some(lease), sealed)),
        Err(e) if crate::lead::is_fenced(&e) => {
            tracing::warn!(error = %e, "not sealing: the keeper lease is lost");
            Ok((None, None))
        }
        Err(e) => Err(e),
    }
}

/// Seals blocks every `interval` while there is something to include — while this server
/// holds the keeper lease (`crate::lead`); otherwise it follows the blocks the leader stores.
pub async fn run(
    shared: Arc<Shared>,
    interval: Duration,
    max_txs: usize,
    lead: Leadership,
) -> anyhow::Result<()> {
    let mut lease = None;
    // The lease is renewed (or taken, or followed) several times per lifetime however long the
    // seal interval is, so a slow sealing pace does not slow a takeover; blocks are sealed
    // every `interval`.
    let tick = interval.min(lead.ttl / 3).max(Duration::from_millis(50));
    let mut next_seal = tokio::time::Instant::now();
    loop {
        let now = tokio::time::Instant::now();
        let seal = (now >= next_seal).then_some(max_txs);
        if seal.is_some() {
            next_seal = now + interval;
        }
        match round_as(&shared, &lead, lease.take(), seal).await {
            Ok((held, _)) => lease = held,
            // A failover of the database: once it is back, the next round starts as a new
            // lease would — replaying what was stored (a block whose write succeeded unseen
            // included) before sealing again.
            Err(e) if crate::lead::is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable; the keeper retries");
            }
            Err(e) => return Err(e),
        }
        if let Ok(n) = shared.storage.mempool_len().await {
            metrics::gauge!(crate::metrics::MEMPOOL).set(n as f64);
        }
        tokio::time::sleep(tick).await;
    }
}
