//! The operator's tool for a block some chain refused (`rollup-node revert`): the network stops
//! at such a block — no chain may execute it, and the chains that proved it may not drop it on
//! the operator's word alone. This reverts blocks `from..` on every chain where the contract
//! allows it, then discards them locally, so their L2 transactions go back to the mempool and the
//! next block sealed under number `from` goes through.
//!
//! What each contract allows: a synced block never goes (it is proven everywhere and must be
//! executed — the command refuses); committed, unproven blocks go on the operator's say; proven,
//! unsynced blocks go only with a threshold of the oracles' abandonments of block `from`, which
//! the oracles sign only once its prove window has passed on every chain without every chain
//! proving it (`oracle`). The command reads those from the oracles' board and says when they
//! can be expected if they are not there yet.

use crate::keeper;
use alloy::primitives::{B256, Bytes};
use alloy::providers::DynProvider;
use anyhow::{Context, bail, ensure};
use rollup_l1::bindings::Rollup;
use rollup_state::NetworkConfig;
use rollup_storage::Storage;
use rollup_types::ChainId;

/// What `revert` did.
#[derive(Debug)]
pub struct Reverted {
    /// Per chain whose contract held blocks from `from` on: (chain, its committed count before,
    /// whether an abandonment was needed).
    pub chains: Vec<(ChainId, u32, bool)>,
    /// The local discard.
    pub discarded: keeper::Discarded,
}

/// Reverts blocks `from` and later on every chain (`chains`: each chain's contract through a
/// provider that signs as an operator), then discards them locally. The node must be stopped.
pub async fn revert(
    storage: &Storage,
    network: &NetworkConfig,
    capacity: usize,
    from: u32,
    chains: &[(ChainId, Rollup::RollupInstance<DynProvider>)],
) -> anyhow::Result<Reverted> {
    ensure!(from >= 1, "block 0 is the genesis");
    let mut plan = Vec::new();
    for (chain, r) in chains {
        let committed = r.totalBlocksCommitted().call().await?;
        let proven = r.totalBlocksProven().call().await?;
        let synced = r.totalBlocksSynced().call().await?;
        ensure!(
            synced < from,
            "block {synced} is synced on chain {chain}: every chain proved it, so it is executed, \
             never reverted (revert from {} at the lowest)",
            synced + 1
        );
        if committed < from {
            continue;
        }
        // What each contract stores of the blocks, as stored with them when they were sealed.
        let mut stored = Vec::new();
        for n in (from..=committed).rev() {
            let calls = keeper::chain_calls(storage, n, *chain)
                .await?
                .with_context(|| format!("block {n} is not stored by this node"))?;
            stored.push(calls.stored().clone());
        }
        let mut abandonment: Vec<Bytes> = Vec::new();
        if proven >= from {
            let h: B256 = r.provenSyncHash(from).call().await?;
            let threshold = r.oracleThreshold().call().await? as usize;
            let sigs = storage.abandonments(from, &h.0).await?;
            if sigs.len() < threshold {
                let deadline = r.proveDeadline(from).call().await?;
                bail!(
                    "block {from} is proven on chain {chain}: reverting it needs {threshold} oracle \
                     abandonments, and the board holds {}. Oracles abandon it once every chain's \
                     clock is past its prove deadline {deadline} (unix time) without every chain \
                     having proven it; run this again then",
                    sigs.len()
                );
            }
            abandonment = sigs
                .into_iter()
                .take(threshold)
                .map(|(_, s)| s.into())
                .collect();
        }
        plan.push((*chain, r, committed, stored, abandonment));
    }
    // Every check passed on every chain before anything is sent.
    let mut done = Vec::new();
    for (chain, r, committed, stored, abandonment) in plan {
        let needed = !abandonment.is_empty();
        let receipt = r
            .revertBlocks(stored, abandonment)
            .send()
            .await
            .with_context(|| format!("chain {chain}: revertBlocks"))?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "chain {chain}: revertBlocks reverted");
        tracing::warn!(%chain, from, committed, abandoned = needed, "blocks reverted on L1");
        done.push((chain, committed, needed));
    }
    let mut committed = Vec::new();
    for (chain, r) in chains {
        committed.push((*chain, r.totalBlocksCommitted().call().await?));
    }
    storage.reset_stages(from).await?;
    let discarded = keeper::discard(storage, network, capacity, from, &committed).await?;
    Ok(Reverted {
        chains: done,
        discarded,
    })
}
