//! One chain's driver: the watcher (priority requests into the database, with the cursor) and
//! the stage machine that commits, proves and executes each block on this chain in order, through
//! the chain's persistent sender.
//!
//! What to do next is read from the contract's counters (`totalBlocksCommitted`, `…Proven`,
//! `…Synced`, `…Executed`) on every round, not from remembered events, so a restart or an L1
//! reorg simply leads to the right next action. A stage transaction that the contract refuses is
//! logged and retried only after a pause; a refused commit is exactly how a chain stops a block
//! it disagrees with (its priority operations were forged), and then no chain executes it.
//!
//! Before all of that sits the auditor [`Gate`]: a block is committed only with the auditor's
//! verified approval of exactly the inputs being sent, and while the auditor is halted (or
//! unknown) the driver sends nothing — it still reads its chain and keeps its records current.

use crate::Shared;
use crate::gate::Gate;
use crate::store::DbTxStore;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use rollup_l1::L1Error;
use rollup_l1::bindings::Rollup;
use rollup_l1::encode;
use rollup_l1::sender::{Sender, SenderConfig, TxStatus};
use rollup_l1::watcher::{Cursor, Event, Watcher, WatcherConfig};
use rollup_prover::Proved;
use rollup_prover::verifier::proof_words;
use rollup_storage::Stage;
use rollup_types::ChainId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a refused stage transaction waits before it is tried again.
const RETRY_REFUSED: Duration = Duration::from_secs(20);

/// One chain's driver.
pub struct Driver {
    shared: Arc<Shared>,
    chain: ChainId,
    rollup: Rollup::RollupInstance<DynProvider>,
    watcher: Watcher<DynProvider>,
    cursor: Cursor,
    sender: Sender<DynProvider, DbTxStore>,
    genesis: Rollup::StoredBlockInfo,
    refused: HashMap<String, Instant>,
    gate: Arc<Gate>,
}

impl Driver {
    /// A driver of the rollup contract at `contract` on `chain`, sending as `operator`, committing
    /// what `gate` lets through.
    #[allow(clippy::too_many_arguments)]
    pub async fn new(
        shared: Arc<Shared>,
        gate: Arc<Gate>,
        chain: ChainId,
        provider: DynProvider,
        contract: Address,
        operator: PrivateKeySigner,
        watch: WatcherConfig,
        start_block: u64,
    ) -> anyhow::Result<Driver> {
        let cursor = match shared.storage.cursor(chain.0).await? {
            Some(json) => serde_json::from_str(&json)?,
            None => Cursor::from_block(start_block),
        };
        let store = DbTxStore::new(shared.storage.clone(), chain.0);
        let sender = Sender::open(
            provider.clone(),
            operator,
            store,
            SenderConfig {
                bump_after: Duration::from_secs(30),
                ..SenderConfig::default()
            },
        )
        .await?;
        let genesis_root = rollup_state::NetworkState::genesis(&shared.network)?.final_root();
        Ok(Driver {
            rollup: Rollup::new(contract, provider.clone()),
            watcher: Watcher::new(provider, contract, watch),
            genesis: encode::genesis_stored_block(&genesis_root),
            shared,
            chain,
            cursor,
            sender,
            refused: HashMap::new(),
            gate,
        })
    }

    /// Reads new priority requests into the database (with the cursor, atomically).
    async fn watch(&mut self) -> anyhow::Result<()> {
        loop {
            let batch = match self.watcher.poll(&self.cursor).await {
                Ok(b) => b,
                Err(e) if e.retryable() => {
                    tracing::warn!(chain = %self.chain, error = %e, "watcher");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            if batch.cursor == self.cursor {
                return Ok(());
            }
            let ops: Vec<(u64, Vec<u8>, u64)> = batch
                .events
                .iter()
                .filter_map(|w| match &w.event {
                    Event::PriorityRequest { serial, tx, .. } => Some((
                        *serial,
                        tx.encode().expect("decoded requests encode"),
                        w.block,
                    )),
                    _ => None,
                })
                .collect();
            self.shared
                .storage
                .record_watch(self.chain.0, &ops, &serde_json::to_string(&batch.cursor)?)
                .await?;
            self.cursor = batch.cursor;
        }
    }

    async fn block(&self, n: u32) -> Option<Arc<rollup_state::Block>> {
        self.shared.blocks.lock().await.get(&n).cloned()
    }

    async fn stored(&self, n: u32) -> anyhow::Result<Rollup::StoredBlockInfo> {
        if n == 0 {
            return Ok(self.genesis.clone());
        }
        if let Some(base) = &self.shared.base
            && base.number == n
        {
            return base.stored.get(&self.chain).cloned().ok_or_else(|| {
                anyhow::anyhow!("the snapshot has no stored block of {}", self.chain)
            });
        }
        let b = self
            .block(n)
            .await
            .ok_or_else(|| anyhow::anyhow!("block {n} not in memory"))?;
        Ok(encode::stored_block(&b, self.chain)?)
    }

    /// Whether a transaction labelled `label` with calldata `data` is pending or went through; a
    /// reverted one counts as refused. Records of the same label with other calldata are another
    /// block under the same number (the earlier one was reverted on L1 and discarded: see
    /// `rollup-node revert`), so they do not hold this one back.
    fn in_flight(&mut self, label: &str, data: &[u8]) -> bool {
        let mut busy = false;
        for r in self
            .sender
            .records()
            .iter()
            .filter(|r| r.label == label && r.data.as_ref() == data)
        {
            match &r.status {
                TxStatus::Confirmed { success: false, .. } => {
                    self.refused
                        .entry(label.to_string())
                        .or_insert_with(Instant::now);
                }
                TxStatus::Failed { .. } | TxStatus::Dropped => {}
                _ => busy = true,
            }
        }
        busy
    }

    async fn send(&mut self, label: String, data: Vec<u8>) -> anyhow::Result<()> {
        if let Some(at) = self.refused.get(&label)
            && at.elapsed() < RETRY_REFUSED
        {
            return Ok(());
        }
        if self.in_flight(&label, &data) {
            return Ok(());
        }
        let to = *self.rollup.address();
        match self
            .sender
            .submit(&label, to, Bytes::from(data), U256::ZERO)
            .await
        {
            Ok(id) => {
                let kind = label.split(' ').next().unwrap_or_default().to_string();
                metrics::counter!(crate::metrics::L1_SENT, "chain" => self.chain.to_string(), "kind" => kind)
                    .increment(1);
                tracing::info!(chain = %self.chain, %label, id, "sent");
                self.refused.remove(&label);
                Ok(())
            }
            Err(L1Error::Reverted(reason)) => {
                metrics::counter!(crate::metrics::L1_REFUSED, "chain" => self.chain.to_string())
                    .increment(1);
                tracing::error!(chain = %self.chain, %label, %reason, "refused by the contract");
                self.refused.insert(label, Instant::now());
                Ok(())
            }
            Err(e) if e.retryable() => {
                tracing::warn!(chain = %self.chain, %label, error = %e, "send failed; retrying");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One round: watch, upkeep of sent transactions, then the next stage action(s).
    pub async fn step(&mut self) -> anyhow::Result<()> {
        self.watch().await?;
        self.sender.tick().await?;
        let r = &self.rollup;
        let committed = r.totalBlocksCommitted().call().await?;
        let proven = r.totalBlocksProven().call().await?;
        let synced = r.totalBlocksSynced().call().await?;
        let executed = r.totalBlocksExecuted().call().await?;
        for (stage, v) in [
            ("committed", committed),
            ("proven", proven),
            ("synced", synced),
            ("executed", executed),
        ] {
            metrics::gauge!(crate::metrics::CHAIN_BLOCKS, "chain" => self.chain.to_string(), "stage" => stage)
                .set(v);
        }
        let last = self.shared.storage.last_block().await?;
        for n in 1..=last.min(committed) {
            let stage = if n <= executed {
                Stage::Executed
            } else if n <= synced {
                Stage::Synced
            } else if n <= proven {
                Stage::Proven
            } else {
                Stage::Committed
            };
            self.shared
                .storage
                .advance_stage(n, self.chain.0, stage)
                .await?;
        }
        if !self.gate.status().running() {
            return Ok(());
        }
        if committed < last {
            let n = committed + 1;
            let block = self
                .block(n)
                .await
                .ok_or_else(|| anyhow::anyhow!("block {n}"))?;
            let last = self.stored(committed).await?;
            let info = encode::commit_info(&block, self.chain)?;
            // The approval must be of what this chain will compute from exactly this calldata.
            let sync_hash = encode::commit_sync_hash(&last, &info);
            if let Some(approval) = self.gate.approval(n, sync_hash).await {
                let info = Rollup::commitBlocksCall {
                    lastCommitted: last,
                    blocks: vec![info],
                    approvals: vec![approval.into()],
                };
                self.send(format!("commit {n}"), info.abi_encode()).await?;
            } else {
                metrics::counter!(crate::metrics::AUDIT_WAITS, "chain" => self.chain.to_string())
                    .increment(1);
            }
        }
        if proven < committed
            && let Some(proofs) = self.shared.storage.proofs(proven + 1).await?
        {
            let n = proven + 1;
            let words = proofs
                .iter()
                .map(|p| Ok(proof_words(&Proved::from_bytes(p)?.0.proof)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let block = self
                .block(n)
                .await
                .ok_or_else(|| anyhow::anyhow!("block {n}"))?;
            let call = Rollup::proveBlocksCall {
                inputs: vec![encode::proof_input(&block, self.chain, &words)?],
            };
            self.send(format!("prove {n}"), call.abi_encode()).await?;
        }
        if executed < synced {
            let n = executed + 1;
            let block = self
                .block(n)
                .await
                .ok_or_else(|| anyhow::anyhow!("block {n}"))?;
            let call = Rollup::executeBlocksCall {
                blocks: vec![encode::execute_info(&block, self.chain)?],
            };
            self.send(format!("execute {n}"), call.abi_encode()).await?;
        }
        Ok(())
    }

    /// Runs rounds every `poll` until an error that needs an operator.
    pub async fn run(mut self, poll: Duration) -> anyhow::Result<()> {
        loop {
            if let Err(e) = self.step().await {
                // Transport trouble is retried; anything else stops the driver (and the node).
                if e.downcast_ref::<L1Error>().is_some_and(L1Error::retryable)
                    || e.downcast_ref::<alloy::contract::Error>().is_some()
                {
                    tracing::warn!(chain = %self.chain, error = %e, "driver round failed; retrying");
                } else {
                    return Err(e);
                }
            }
            tokio::time::sleep(poll).await;
        }
    }
}
