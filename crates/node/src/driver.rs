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
//!
//! And leadership (`crate::lead`): with several node servers on one database, only the holder
//! of the chain's `sender-<chain>` lease opens a sender and sends; the others watch. A new
//! holder opens its sender on the records in the database (the previous holder's included), so
//! nothing is sent twice and no nonce is lost.

use crate::Shared;
use crate::gate::Gate;
use crate::lead::Leadership;
use crate::store::DbTxStore;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use rollup_l1::L1Error;
use rollup_l1::bindings::Rollup;
use rollup_l1::encode::{self, ChainCalls};
use rollup_l1::sender::{Sender, SenderConfig, TxStatus};
use rollup_l1::watcher::{Cursor, Event, Watcher, WatcherConfig};
use rollup_prover::BlockProofs;
use rollup_prover::job::WireError;
use rollup_prover::verifier::proof_words;
use rollup_storage::{AuthFact, L1Chain, Lease, Stage, StageTx, Token};
use rollup_types::ChainId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a refused stage transaction waits before it is tried again.
const RETRY_REFUSED: Duration = Duration::from_secs(20);

/// How many ready blocks one commit, prove or execute transaction takes (zkSync Lite batched up
/// to 10): at most `max_blocks`, and fewer while the transaction's gas estimate exceeds
/// `gas_budget` (halving; a single block is always sent, and its own limit is the chain's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchLimits {
    /// Most blocks per stage transaction.
    pub max_blocks: usize,
    /// Most gas per stage transaction (estimated before sending).
    pub gas_budget: u64,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_blocks: 8,
            gas_budget: 15_000_000,
        }
    }
}

/// The label of a stage transaction moving blocks `first..=last`: `commit 5` or `commit 5-7`.
fn label(kind: &str, first: u32, last: u32) -> String {
    if first == last {
        format!("{kind} {first}")
    } else {
        format!("{kind} {first}-{last}")
    }
}

/// The kind and block range of a stage transaction's label ([`label`]).
pub fn parse_label(label: &str) -> Option<(&str, u32, u32)> {
    let (kind, range) = label.split_once(' ')?;
    let (first, last) = match range.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = range.parse().ok()?;
            (n, n)
        }
    };
    (first <= last).then_some((kind, first, last))
}

/// One chain's driver.
pub struct Driver {
    shared: Arc<Shared>,
    chain: ChainId,
    rollup: Rollup::RollupInstance<DynProvider>,
    watcher: Watcher<DynProvider>,
    cursor: Cursor,
    /// The sender, open while this server holds the chain's sender lease.
    sender: Option<Sender<DynProvider, DbTxStore>>,
    /// What the sender is opened with.
    provider: DynProvider,
    operator: PrivateKeySigner,
    /// This server's leadership, and the sender lease it holds.
    lead: Leadership,
    lease: Option<Lease>,
    genesis: Rollup::StoredBlockInfo,
    refused: HashMap<String, Instant>,
    gate: Arc<Gate>,
    /// When the chain's L1 facts were last read ([`Driver::refresh_facts`]).
    facts_at: Option<Instant>,
    /// When the chain's gas price was last read ([`Driver::refresh_gas_price`]).
    gas_at: Option<Instant>,
    /// Tokens already read (the contract's `tokenCount` then).
    tokens_known: u16,
    /// Per stage (committed, proven, synced, executed): the highest block whose row this
    /// driver has raised to it, so a round writes only the blocks that moved.
    staged: [u32; 4],
}

/// How often a driver reads its chain's L1 facts (oracle set, tokens) again.
const FACTS_EVERY: Duration = Duration::from_secs(30);
/// How often a driver reads its chain's gas price for the fee policy.
const GAS_EVERY: Duration = Duration::from_secs(10);

impl Driver {
    /// A driver of the rollup contract at `contract` on `chain`, sending as `operator` while
    /// this server (`lead`) holds the chain's sender lease, committing what `gate` lets through.
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
        lead: Leadership,
    ) -> anyhow::Result<Driver> {
        let cursor = match shared.storage.cursor(chain.0).await? {
            Some(json) => serde_json::from_str(&json)?,
            None => Cursor::from_block(start_block),
        };
        let genesis_root = rollup_state::NetworkState::genesis(&shared.network)?.final_root();
        Ok(Driver {
            rollup: Rollup::new(contract, provider.clone()),
            watcher: Watcher::new(provider.clone(), contract, watch),
            genesis: encode::genesis_stored_block(&genesis_root),
            shared,
            chain,
            cursor,
            sender: None,
            provider,
            operator,
            lead,
            lease: None,
            refused: HashMap::new(),
            gate,
            facts_at: None,
            gas_at: None,
            staged: [0; 4],
            tokens_known: 0,
        })
    }

    /// Reads new priority requests, stage transactions and key-change facts into the database
    /// (with the cursor, atomically).
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
            let Some(stage_txs) = self.stage_txs(&batch.events).await else {
                // A receipt not available yet: the batch is read again next round.
                return Ok(());
            };
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
            let facts: Vec<AuthFact> = batch
                .events
                .iter()
                .filter_map(|w| match &w.event {
                    Event::AuthFact { owner, nonce, fact } => Some(AuthFact {
                        owner: owner.0.0,
                        nonce: *nonce,
                        fact: fact.0,
                        l1_block: w.block,
                    }),
                    _ => None,
                })
                .collect();
            self.shared
                .storage
                .record_batch(
                    self.chain.0,
                    &ops,
                    &stage_txs,
                    &facts,
                    &serde_json::to_string(&batch.cursor)?,
                )
                .await?;
            self.cursor = batch.cursor;
        }
    }

    /// The stage transactions among `events`, each with its receipt's gas (one receipt per L1
    /// transaction, however many blocks it moved) and its L1 block's time; `None` when a
    /// receipt or block cannot be read now.
    async fn stage_txs(&self, events: &[rollup_l1::watcher::Watched]) -> Option<Vec<StageTx>> {
        let mut gas: HashMap<alloy::primitives::B256, u64> = HashMap::new();
        let mut mined: HashMap<u64, u64> = HashMap::new();
        let mut out = Vec::new();
        for w in events {
            let (number, stage) = match &w.event {
                Event::BlockCommitted { number, .. } => (*number, Stage::Committed),
                Event::BlockProven { number, .. } => (*number, Stage::Proven),
                Event::BlockSynced { number, .. } => (*number, Stage::Synced),
                Event::BlockExecuted { number } => (*number, Stage::Executed),
                _ => continue,
            };
            let used = match gas.get(&w.tx_hash) {
                Some(g) => *g,
                None => match self
                    .rollup
                    .provider()
                    .get_transaction_receipt(w.tx_hash)
                    .await
                {
                    Ok(Some(r)) => {
                        gas.insert(w.tx_hash, r.gas_used);
                        r.gas_used
                    }
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::warn!(chain = %self.chain, error = %e, "stage receipt");
                        return None;
                    }
                },
            };
            let at = match mined.get(&w.block) {
                Some(t) => *t,
                None => match self
                    .rollup
                    .provider()
                    .get_block_by_number(w.block.into())
                    .await
                {
                    Ok(Some(b)) => {
                        mined.insert(w.block, b.header.timestamp);
                        b.header.timestamp
                    }
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::warn!(chain = %self.chain, error = %e, "stage block");
                        return None;
                    }
                },
            };
            out.push(StageTx {
                number,
                chain: self.chain.0,
                stage,
                l1_hash: w.tx_hash.0,
                l1_block: w.block,
                gas_used: used,
                at_ms: i64::try_from(at).unwrap_or(i64::MAX / 1000) * 1000,
            });
        }
        Some(out)
    }

    /// Reads what the explorer shows of this chain's L1 side — EVM chain id, contract, oracle
    /// set, registered tokens — into the database, every [`FACTS_EVERY`].
    async fn refresh_facts(&mut self) -> anyhow::Result<()> {
        if self.facts_at.is_some_and(|at| at.elapsed() < FACTS_EVERY) {
            return Ok(());
        }
        let r = &self.rollup;
        let evm_chain_id = r.provider().get_chain_id().await?;
        let oracles = r.oracleSet().call().await?;
        let threshold = r.oracleThreshold().call().await?;
        self.shared
            .storage
            .save_l1_chain(&L1Chain {
                chain: self.chain.0,
                evm_chain_id,
                contract: r.address().0.0,
                oracles: oracles.iter().map(|a| a.0.0).collect(),
                oracle_threshold: threshold,
            })
            .await?;
        let count = r.tokenCount().call().await?;
        let mut tokens = Vec::new();
        for id in self.tokens_known.max(1)..count {
            let address = r.tokenAddress(id).call().await?;
            let decimals = r.tokenDecimals(id).call().await?;
            // The symbol is the token's own claim (ERC-20's optional metadata): shown, never
            // trusted; one that has none is shown by its id.
            let symbol = rollup_l1::bindings::TestToken::new(address, r.provider().clone())
                .symbol()
                .call()
                .await
                .ok()
                .filter(|s| !s.is_empty() && s.len() <= 32);
            tokens.push(Token {
                chain: self.chain.0,
                token: id,
                address: address.0.0,
                symbol,
                decimals,
            });
        }
        self.shared.storage.save_tokens(&tokens).await?;
        self.tokens_known = count;
        self.facts_at = Some(Instant::now());
        Ok(())
    }

    /// Records the chain's gas price (what the API prices fees at), every [`GAS_EVERY`].
    async fn refresh_gas_price(&mut self) -> anyhow::Result<()> {
        if self.gas_at.is_some_and(|at| at.elapsed() < GAS_EVERY) {
            return Ok(());
        }
        let wei = self.rollup.provider().get_gas_price().await?;
        self.shared
            .storage
            .save_gas_price(self.chain.0, wei)
            .await?;
        self.gas_at = Some(Instant::now());
        Ok(())
    }

    /// What this chain is sent of block `n` ([`crate::keeper::chain_calls`]).
    async fn calls(&self, n: u32) -> anyhow::Result<Option<ChainCalls>> {
        crate::keeper::chain_calls(&self.shared.storage, n, self.chain).await
    }

    /// [`Driver::calls`] of a block that must be stored (below a count the chain reached).
    async fn stored_calls(&self, n: u32) -> anyhow::Result<ChainCalls> {
        self.calls(n)
            .await?
            .ok_or_else(|| anyhow::anyhow!("block {n} is not stored with its calls"))
    }

    async fn stored(&self, n: u32) -> anyhow::Result<Rollup::StoredBlockInfo> {
        if n == 0 {
            return Ok(self.genesis.clone());
        }
        crate::keeper::stored_block(&self.shared.storage, &self.shared.network, n, self.chain).await
    }

    /// Whether a stage transaction of `kind` is pending (one at a time per kind: the next batch
    /// starts where it ends), or the one labelled `label` with calldata `data` went through; a
    /// reverted one counts as refused (keyed by kind and first block, so a batch that grew since
    /// waits out the same pause). Finished records of the same label with other calldata are
    /// another block under the same number (the earlier one was reverted on L1 and discarded:
    /// see `rollup-node revert`), so they do not hold this one back.
    fn in_flight(&mut self, kind: &str, key: &str, label: &str, data: &[u8]) -> bool {
        let mut busy = false;
        let Some(sender) = &self.sender else {
            return true; // not leading: nothing is sent
        };
        for r in sender.records() {
            let same_kind = parse_label(&r.label).is_some_and(|(k, _, _)| k == kind);
            if same_kind && !r.status.is_final() {
                busy = true;
            }
            if r.label != label || r.data.as_ref() != data {
                continue;
            }
            match &r.status {
                TxStatus::Confirmed { success: false, .. } => {
                    self.refused
                        .entry(key.to_string())
                        .or_insert_with(Instant::now);
                }
                TxStatus::Failed { .. } | TxStatus::Dropped => {}
                _ => busy = true,
            }
        }
        busy
    }

    /// Sends the stage transaction of `kind` for blocks `first..` — `make(k)` is its calldata
    /// for the first `k` of the `count` ready blocks — with as many blocks as fit the batch
    /// limits.
    async fn send_batch(
        &mut self,
        kind: &str,
        first: u32,
        count: usize,
        make: impl Fn(usize) -> Vec<u8>,
    ) -> anyhow::Result<()> {
        let key = label(kind, first, first);
        if let Some(at) = self.refused.get(&key)
            && at.elapsed() < RETRY_REFUSED
        {
            return Ok(());
        }
        // One stage transaction of a kind at a time: no estimate while one is pending.
        let pending = self.sender.as_ref().is_none_or(|s| {
            s.records().iter().any(|r| {
                !r.status.is_final() && parse_label(&r.label).is_some_and(|(k, _, _)| k == kind)
            })
        });
        if pending {
            return Ok(());
        }
        let mut k = count.min(self.shared.batch.max_blocks).max(1);
        while k > 1 {
            let request = alloy::rpc::types::TransactionRequest::default()
                .from(self.operator.address())
                .to(*self.rollup.address())
                .input(Bytes::from(make(k)).into());
            match self.provider.estimate_gas(request).await {
                Ok(g) if g <= self.shared.batch.gas_budget => break,
                // Over the budget, or refused as a whole (one block of it may be the cause):
                // fewer blocks.
                _ => k /= 2,
            }
        }
        let data = make(k);
        let label = label(kind, first, first + k as u32 - 1);
        if self.in_flight(kind, &key, &label, &data) {
            return Ok(());
        }
        let to = *self.rollup.address();
        let Some(sender) = self.sender.as_mut() else {
            return Ok(());
        };
        match sender
            .submit(&label, to, Bytes::from(data), U256::ZERO)
            .await
        {
            Ok(id) => {
                metrics::counter!(crate::metrics::L1_SENT, "chain" => self.chain.to_string(), "kind" => kind.to_string())
                    .increment(1);
                tracing::info!(chain = %self.chain, %label, id, "sent");
                self.refused.remove(&key);
                Ok(())
            }
            Err(L1Error::Reverted(reason)) => {
                metrics::counter!(crate::metrics::L1_REFUSED, "chain" => self.chain.to_string())
                    .increment(1);
                tracing::error!(chain = %self.chain, %label, %reason, "refused by the contract");
                self.refused.insert(key, Instant::now());
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
        // Shown by the explorer, never acted on: a failure waits for the next round.
        if let Err(e) = self.refresh_facts().await {
            tracing::warn!(chain = %self.chain, error = %e, "reading the chain's L1 facts");
        }
        // Fees wait for it (the API refuses to price without it), the chain's work does not.
        if let Err(e) = self.refresh_gas_price().await {
            tracing::warn!(chain = %self.chain, error = %e, "reading the chain's gas price");
        }
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
        // Only the blocks that reached a stage since the last round: one statement per stage
        // that moved, however long the history.
        for (i, (stage, count)) in [
            (Stage::Committed, committed),
            (Stage::Proven, proven),
            (Stage::Synced, synced),
            (Stage::Executed, executed),
        ]
        .into_iter()
        .enumerate()
        {
            let upto = count.min(last);
            // Blocks reverted on L1 are sealed again under their numbers: written afresh.
            self.staged[i] = self.staged[i].min(upto);
            if upto > self.staged[i] {
                self.shared
                    .storage
                    .advance_stages(self.staged[i] + 1..=upto, self.chain.0, stage)
                    .await?;
                self.staged[i] = upto;
            }
        }
        if !self.lead().await? {
            return Ok(());
        }
        // Every stored block is ready to send: its calls are stored in its transaction.
        match self.act(committed, proven, synced, executed, last).await {
            Ok(()) => Ok(()),
            // A write refused by the fence (or any failure) after the lease was lost: another
            // server sends now; this one only watches.
            Err(e) if !self.still_leading().await => {
                tracing::warn!(chain = %self.chain, error = %e, "sender lease lost; not sending");
                self.sender = None;
                self.lease = None;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Keeps this chain's sender lease (`crate::lead`). A new lease opens the sender on the
    /// records in the database — they may be another server's, whose transactions it then
    /// follows up, under the nonces they used — with every write fenced by the lease; a lost
    /// one closes it. Whether this server sends.
    async fn lead(&mut self) -> anyhow::Result<bool> {
        let name = format!("sender-{}", self.chain.0);
        let before = self.lease.as_ref().map(|l| l.epoch);
        self.lease = self
            .lead
            .keep(&self.shared.storage, &name, self.lease.take())
            .await?;
        let leading = self.lease.is_some();
        metrics::gauge!(crate::metrics::LEADER, "lease" => name).set(if leading {
            1.0
        } else {
            0.0
        });
        let Some(lease) = self.lease.clone() else {
            self.sender = None;
            return Ok(false);
        };
        if before != Some(lease.epoch) || self.sender.is_none() {
            let store = DbTxStore::new(self.shared.storage.fenced(lease), self.chain.0);
            self.sender = Some(
                Sender::open(
                    self.provider.clone(),
                    self.operator.clone(),
                    store,
                    SenderConfig {
                        bump_after: Duration::from_secs(30),
                        ..SenderConfig::default()
                    },
                )
                .await?,
            );
            self.refused.clear();
        }
        Ok(true)
    }

    /// Whether the sender lease is still this server's.
    async fn still_leading(&self) -> bool {
        match &self.lease {
            Some(l) => self
                .shared
                .storage
                .renew_lease(l, self.lead.ttl)
                .await
                .unwrap_or(false),
            None => false,
        }
    }

    /// The leader's part of a round: upkeep of sent transactions, then the next stage
    /// action(s), from the contract's counters, for blocks up to `last` (the newest one this
    /// process has replayed).
    async fn act(
        &mut self,
        committed: u32,
        proven: u32,
        synced: u32,
        executed: u32,
        last: u32,
    ) -> anyhow::Result<()> {
        if let Some(sender) = self.sender.as_mut() {
            sender.tick().await?;
        }
        if !self.gate.status().running() {
            return Ok(());
        }
        let max = self.shared.batch.max_blocks as u32;
        if committed < last {
            let prev = self.stored(committed).await?;
            let (mut infos, mut approvals) = (Vec::new(), Vec::new());
            let mut stored = prev.clone();
            for n in committed + 1..=last.min(committed + max) {
                let Some(calls) = self.calls(n).await? else {
                    // A block an older keeper stored without them: a replay stores them.
                    tracing::warn!(chain = %self.chain, block = n, "block stored without its calls; waiting for a replay to store them");
                    break;
                };
                let info = calls.commit.clone();
                // The approval must be of what this chain will compute from exactly this
                // calldata, after the blocks before it in the batch.
                let sync_hash = encode::commit_sync_hash(&stored, &info);
                let Some(approval) = self.gate.approval(n, sync_hash).await else {
                    metrics::counter!(crate::metrics::AUDIT_WAITS, "chain" => self.chain.to_string())
                        .increment(1);
                    break;
                };
                stored = calls.stored().clone();
                infos.push(info);
                approvals.push(approval.into());
            }
            if !infos.is_empty() {
                let count = infos.len();
                self.send_batch("commit", committed + 1, count, |k| {
                    Rollup::commitBlocksCall {
                        lastCommitted: prev.clone(),
                        blocks: infos[..k].to_vec(),
                        approvals: approvals[..k].to_vec(),
                    }
                    .abi_encode()
                })
                .await?;
            }
        }
        if proven < committed.min(last) {
            // Per ready block: its input, its chain proofs, its binding proof.
            let mut ready = Vec::new();
            for n in proven + 1..=committed.min(last).min(proven + max) {
                let Some(payloads) = self.shared.storage.proofs(n).await? else {
                    break;
                };
                let calls = self.stored_calls(n).await?;
                ready.push(self.proof_parts(n, &calls, &payloads)?);
            }
            if !ready.is_empty() {
                let count = ready.len();
                self.send_batch("prove", proven + 1, count, |k| {
                    let blocks = &ready[..k];
                    Rollup::proveBlocksCall {
                        inputs: blocks.iter().map(|b| b.0.clone()).collect(),
                        chainProofs: blocks.iter().flat_map(|b| b.1.clone()).collect(),
                        bindingProofs: blocks.iter().map(|b| b.2).collect(),
                    }
                    .abi_encode()
                })
                .await?;
            }
        }
        if executed < synced.min(last) {
            let mut infos = Vec::new();
            for n in executed + 1..=synced.min(last).min(executed + max) {
                infos.push(self.stored_calls(n).await?.execute);
            }
            let count = infos.len();
            self.send_batch("execute", executed + 1, count, |k| {
                Rollup::executeBlocksCall {
                    blocks: infos[..k].to_vec(),
                }
                .abi_encode()
            })
            .await?;
        }
        Ok(())
    }

    /// One block's part of a `proveBlocks` call from its stored proofs (in job order): its input
    /// on this chain, its chain proofs, its binding proof. Proofs that do not reassemble into
    /// the block's sub-blocks are an error (a corrupt job table), never sent.
    fn proof_parts(
        &self,
        number: u32,
        calls: &ChainCalls,
        payloads: &[Vec<u8>],
    ) -> anyhow::Result<(Rollup::ProofInput, Vec<[U256; 8]>, [U256; 8])> {
        let proofs = BlockProofs::from_stored(payloads)?;
        // A block's chains are the network's, ascending.
        let chains = self.shared.chains();
        let same_chains = proofs.chains.len() == chains.len()
            && proofs
                .chains
                .iter()
                .zip(&chains)
                .all(|(p, c)| p[0].statement.chain == *c);
        if !same_chains {
            return Err(WireError::Malformed {
                what: "block proofs",
                detail: format!("not of block {number}'s chains"),
            }
            .into());
        }
        let bounds: Vec<encode::Boundaries> = proofs
            .boundaries()
            .into_iter()
            .map(|(roots, carries)| encode::Boundaries { roots, carries })
            .collect();
        Ok((
            encode::fill_proof_input(&calls.prove, &bounds)?,
            proofs
                .chain_proofs()
                .map(|p| encode::proof(&proof_words(&p.proof)))
                .collect(),
            encode::proof(&proof_words(&proofs.binding.proof)),
        ))
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
                } else if crate::lead::is_unavailable(&e) {
                    // A database failover: the sender is opened again on the records the
                    // database holds once it is back (what this process believed it wrote
                    // may not be there).
                    tracing::warn!(chain = %self.chain, error = %e, "database unavailable; retrying");
                    self.sender = None;
                    self.lease = None;
                    // A failover may have lost recent stage writes: write them all again.
                    self.staged = [0; 4];
                } else {
                    return Err(e);
                }
            }
            tokio::time::sleep(poll).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_a_kind_and_a_block_range() {
        assert_eq!(label("commit", 5, 5), "commit 5");
        assert_eq!(label("prove", 5, 7), "prove 5-7");
        assert_eq!(parse_label("commit 5"), Some(("commit", 5, 5)));
        assert_eq!(parse_label("prove 5-7"), Some(("prove", 5, 7)));
        for bad in [
            "commit",
            "commit x",
            "commit 7-5",
            "commit 5-",
            "execute -3",
        ] {
            assert_eq!(parse_label(bad), None, "{bad}");
        }
    }

    #[test]
    fn batch_limits_default_and_parse_from_toml() {
        let b: BatchLimits = toml::from_str("max_blocks = 3").unwrap();
        assert_eq!(
            b,
            BatchLimits {
                max_blocks: 3,
                ..Default::default()
            }
        );
        assert!(toml::from_str::<BatchLimits>("max_block = 3").is_err());
    }
}
