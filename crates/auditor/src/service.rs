//! The auditor as a service: it reads each chain's priority requests with its own watchers,
//! takes the next block's commit inputs from the node's API (`rollup_blockInputs`), audits them
//! on its replica, and either signs and stores an approval or stores a halt with its evidence.
//! It also follows every chain's commits: each committed block's stored hash on the contract
//! must be the one its approval implies, so a commit that went around the gate (or carried other
//! data) halts the network too. While halted it approves nothing; only an operator's `resume`
//! lifts the halt.

use crate::replay::Auditor;
use crate::store::{AuditStore, StoreError};
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use rollup_l1::bindings::Rollup;
use rollup_l1::bindings::Rollup::CommitBlockInfo;
use rollup_l1::watcher::{Cursor, Event, Watcher, WatcherConfig};
use rollup_types::ChainId;
use serde_json::{Value, json};

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The auditor's database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node's API is unreachable or answered an error (retried).
    #[error("node API: {0}")]
    Node(String),
    /// The node's API answered something malformed.
    #[error("node API answer: {0}")]
    Answer(String),
    /// L1.
    #[error("L1: {0}")]
    L1(#[from] rollup_l1::L1Error),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

/// What one round did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing new to audit.
    Idle,
    /// Block approved.
    Approved(u32),
    /// Block refused; the network is halted.
    Refused(u32),
    /// Halted earlier; waiting for an operator.
    Halted,
    /// A chain committed a block the auditor did not approve (or other data); halted.
    Unapproved {
        /// The chain.
        chain: ChainId,
        /// The block.
        number: u32,
    },
}

/// The auditor service.
pub struct Service<P> {
    auditor: Auditor,
    store: AuditStore,
    node: HttpClient,
    key: PrivateKeySigner,
    network_id: B256,
    watchers: Vec<(ChainId, Watcher<P>)>,
    contracts: Vec<(ChainId, Rollup::RollupInstance<P>)>,
}

impl<P: Provider + Clone> Service<P> {
    /// A service restored from `store`, reading the node's API at `node_url`, signing with `key`
    /// for the network `network_id`, watching `chains` (chain, provider, contract).
    pub fn new(
        auditor: Auditor,
        store: AuditStore,
        node_url: &str,
        key: PrivateKeySigner,
        network_id: B256,
        chains: Vec<(ChainId, P, Address)>,
        watch: WatcherConfig,
    ) -> Result<Self, ServiceError> {
        Ok(Service {
            auditor,
            store,
            node: HttpClientBuilder::default()
                .build(node_url)
                .map_err(|e| ServiceError::Node(e.to_string()))?,
            key,
            network_id,
            watchers: chains
                .iter()
                .map(|(c, p, a)| (*c, Watcher::new(p.clone(), *a, watch)))
                .collect(),
            contracts: {
                let mut v: Vec<_> = chains
                    .into_iter()
                    .map(|(c, p, a)| (c, Rollup::new(a, p)))
                    .collect();
                v.sort_by_key(|(c, _)| *c);
                v
            },
        })
    }

    /// The auditor's address (the one senders check approvals against).
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The replica.
    pub fn auditor(&self) -> &Auditor {
        &self.auditor
    }

    /// Reads new priority requests of every chain into the store.
    pub async fn sync_requests(&mut self) -> Result<(), ServiceError> {
        for (chain, watcher) in &self.watchers {
            let mut cursor: Cursor = match self.store.cursor(*chain).await? {
                Some(json) => serde_json::from_str(&json)
                    .map_err(|e| ServiceError::Answer(format!("stored cursor: {e}")))?,
                None => Cursor::from_block(0),
            };
            loop {
                let batch = watcher.poll(&cursor).await?;
                if batch.cursor == cursor {
                    break;
                }
                let requests: Vec<(u64, Vec<u8>)> = batch
                    .events
                    .iter()
                    .filter_map(|w| match &w.event {
                        Event::PriorityRequest { serial, tx, .. } => {
                            Some((*serial, tx.encode().ok()?))
                        }
                        _ => None,
                    })
                    .collect();
                let json = serde_json::to_string(&batch.cursor)
                    .map_err(|e| ServiceError::Answer(e.to_string()))?;
                self.store.record_requests(*chain, &requests, &json).await?;
                cursor = batch.cursor;
            }
        }
        Ok(())
    }

    /// Compares every chain's newly committed blocks with the approvals: the contract's
    /// `storedBlockHashes(n)` must be the hash the approved audit of `n` implies. Anything else —
    /// a block never approved, or other data under its number — halts the network with the
    /// evidence.
    pub async fn check_commits(&mut self) -> Result<Option<Outcome>, ServiceError> {
        if self.store.active_halt().await?.is_some() {
            return Ok(None);
        }
        for (index, (chain, rollup)) in self.contracts.iter().enumerate() {
            let committed = rollup.totalBlocksCommitted().call().await.map_err(l1)?;
            let checked = self.store.l1_checked(*chain).await?;
            // A revert lowers the count; re-commits are compared again.
            let from = checked.min(committed) + 1;
            for n in from..=committed {
                let onchain = rollup.storedBlockHashes(n).call().await.map_err(l1)?;
                let expected = self.store.stored_hash(n, index).await?;
                if expected != Some(onchain.0) {
                    let reason = format!(
                        "chain {chain} committed block {n}, which the auditor did not approve as committed"
                    );
                    let evidence = json!({
                        "block": n,
                        "chain": chain.0,
                        "onchain_stored_hash": onchain.to_string(),
                        "approved_stored_hash": expected.map(|h| format!("0x{}", hex::encode(h))),
                    });
                    self.store.halt(n, &reason, &evidence.to_string()).await?;
                    return Ok(Some(Outcome::Unapproved {
                        chain: *chain,
                        number: n,
                    }));
                }
            }
            if committed != checked {
                self.store.set_l1_checked(*chain, committed).await?;
            }
        }
        Ok(None)
    }

    /// After `rollup-node revert`: the lowest approved block no chain holds committed, if the
    /// node now serves other inputs under its number (it discarded the block once every chain
    /// had reverted it, and sealed another), is forgotten with every approval above it, and the
    /// replica is rebuilt from the approvals that remain — so the new block is audited afresh.
    /// Safe against a lying node: only approvals no chain holds are forgotten, the signatures
    /// already given stay what they were, and a chain that later commits a forgotten block
    /// disagrees with the approvals kept and halts the network (`check_commits`).
    pub async fn rewind_reverted(&mut self) -> Result<bool, ServiceError> {
        let last = self.auditor.last_block();
        let mut committed = 0;
        for (_, rollup) in &self.contracts {
            committed = committed.max(rollup.totalBlocksCommitted().call().await.map_err(l1)?);
        }
        let first = committed + 1;
        if first > last {
            return Ok(false);
        }
        let v: Value = self
            .node
            .request("rollup_blockInputs", rpc_params![first])
            .await
            .map_err(|e| ServiceError::Node(e.to_string()))?;
        if v.is_null() {
            return Ok(false);
        }
        let now = crate::store::encode_inputs(&parse_inputs(&v)?);
        if self.store.audited_inputs(first).await?.as_deref() == Some(now.as_slice()) {
            return Ok(false);
        }
        tracing::warn!(
            from = first,
            last,
            "the node holds other blocks from {first} on, which no chain has committed: forgetting their approvals"
        );
        self.store.forget_from(first).await?;
        let (network, capacity) = (self.auditor.network().clone(), self.auditor.capacity());
        self.auditor = self.store.restore(&network, capacity).await?;
        Ok(true)
    }

    /// Audits the next block if the node has sealed it.
    pub async fn audit_next(&mut self) -> Result<Outcome, ServiceError> {
        if self.store.active_halt().await?.is_some() {
            return Ok(Outcome::Halted);
        }
        let n = self.auditor.last_block() + 1;
        let v: Value = self
            .node
            .request("rollup_blockInputs", rpc_params![n])
            .await
            .map_err(|e| ServiceError::Node(e.to_string()))?;
        if v.is_null() {
            return Ok(Outcome::Idle);
        }
        let inputs = parse_inputs(&v)?;
        let requests = self.store.requests().await?;
        let lookup = |c: ChainId, s: u64| requests.get(&(c, s)).cloned();
        match self.auditor.audit(&inputs, &lookup) {
            Ok(audited) => {
                // The approval every contract checks: the sync hash this auditor computed itself
                // from the inputs, which fixes what each chain will store.
                let sig = rollup_l1::approval::sign(
                    &self.key,
                    self.network_id,
                    n,
                    alloy::primitives::B256::from(audited.sync_hash),
                )
                .map_err(|e| ServiceError::Sign(e.to_string()))?;
                self.store.record_audited(&inputs, &audited, &sig).await?;
                Ok(Outcome::Approved(n))
            }
            Err(mismatch) => {
                let evidence = json!({
                    "block": n,
                    "mismatch": format!("{mismatch:?}"),
                    "inputs": format!("0x{}", hex::encode(crate::store::encode_inputs(&inputs))),
                    "auditor_final_root": format!("0x{}", hex::encode(self.auditor.final_root())),
                });
                self.store
                    .halt(n, &mismatch.to_string(), &evidence.to_string())
                    .await?;
                Ok(Outcome::Refused(n))
            }
        }
    }
}

impl<P: Provider + Clone> Service<P> {
    /// One round: new requests, the chains' commits against the approvals, then the next block.
    pub async fn round(&mut self) -> Result<Outcome, ServiceError> {
        self.sync_requests().await?;
        if let Some(halt) = self.check_commits().await? {
            return Ok(halt);
        }
        if self.store.active_halt().await?.is_none() {
            self.rewind_reverted().await?;
        }
        self.audit_next().await
    }

    /// Runs rounds every `poll` for ever, logging what each did (a refusal as an error: the
    /// network stays halted until an operator resumes it). Failed rounds are retried.
    pub async fn run(mut self, poll: std::time::Duration) {
        loop {
            // Catch up without pausing while blocks are waiting.
            loop {
                match self.round().await {
                    Ok(Outcome::Approved(n)) => {
                        tracing::info!(block = n, "approved");
                        continue;
                    }
                    Ok(Outcome::Refused(n)) => tracing::error!(
                        block = n,
                        "REFUSED: the network is halted until an operator resumes it (rollup-auditor status)"
                    ),
                    Ok(Outcome::Unapproved { chain, number }) => tracing::error!(
                        %chain,
                        block = number,
                        "a chain COMMITTED A BLOCK THE AUDITOR DID NOT APPROVE: the network is halted (rollup-auditor status)"
                    ),
                    Ok(Outcome::Halted | Outcome::Idle) => {}
                    Err(e) => tracing::warn!(error = %e, "auditor round failed; retrying"),
                }
                break;
            }
            tokio::time::sleep(poll).await;
        }
    }
}

fn l1(e: alloy::contract::Error) -> ServiceError {
    ServiceError::L1(rollup_l1::L1Error::Rpc(e.to_string()))
}

fn parse_inputs(v: &Value) -> Result<Vec<(ChainId, CommitBlockInfo)>, ServiceError> {
    let bad = |what: &str| ServiceError::Answer(format!("rollup_blockInputs: {what}"));
    v["inputs"]
        .as_array()
        .ok_or_else(|| bad("no inputs"))?
        .iter()
        .map(|i| {
            let chain = i["chain"]
                .as_u64()
                .and_then(|c| u8::try_from(c).ok())
                .ok_or_else(|| bad("chain"))?;
            let data = i["data"].as_str().ok_or_else(|| bad("data"))?;
            let bytes = hex::decode(data.trim_start_matches("0x")).map_err(|_| bad("data hex"))?;
            let info = CommitBlockInfo::abi_decode(&bytes).map_err(|e| bad(&e.to_string()))?;
            Ok((ChainId(chain), info))
        })
        .collect()
}
