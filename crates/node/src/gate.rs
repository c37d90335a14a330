//! The auditor gate: no chain's sender commits a block the independent auditor has not approved,
//! and while the auditor is halted (or its status is unknown) no sender sends anything at all.
//!
//! The approval is the auditor's signature over the block's number and sync hash — what fixes
//! every chain's commit ([`rollup_l1::approval`]) — and every contract checks it in
//! `commitBlocks` against its governance-set auditor, so an operator that skips this code still
//! cannot commit without the auditor. The gate checks the signature first (against the
//! configured auditor address and the contracts' network id), so a bad approval is logged here
//! instead of being sent and refused, and passes it into the commit calldata. There is no switch
//! to skip it: the `chains` component does not start without an auditor.
//!
//! The gate fails closed: an auditor that cannot be reached counts as "not approved" for commits
//! and "unknown" for the status, which pauses proofs and executions too — they are safe to delay,
//! and a halt the auditor raised while unreachable must not be missed.

use crate::Shared;
use alloy::primitives::{Address, B256};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// What the node knows of the auditor (shown by `rollup_status`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "state"
)]
pub enum AuditorStatus {
    /// This process does not watch an auditor (no `chains` component here).
    NotWatched,
    /// Not reached yet, or unreachable: senders wait.
    Unknown {
        /// Why.
        reason: String,
    },
    /// Approving.
    Running {
        /// The newest block it approved.
        last_approved: u32,
    },
    /// Refused a block: every sender stops until an operator resumes the network.
    Halted {
        /// The refused block.
        block: u32,
        /// The auditor's reason.
        reason: String,
    },
}

impl AuditorStatus {
    /// Whether senders may act.
    pub fn running(&self) -> bool {
        matches!(self, AuditorStatus::Running { .. })
    }
}

/// A block number and the sync hash its commit carries.
type ApprovalKey = (u32, [u8; 32]);

/// The gate of one node process (shared by its drivers).
pub struct Gate {
    client: HttpClient,
    auditor: Address,
    network_id: B256,
    status: RwLock<AuditorStatus>,
    /// Verified approvals by (block, sync hash): a block discarded and sealed again under the
    /// same number needs a new one.
    approved: Mutex<BTreeMap<ApprovalKey, Vec<u8>>>,
}

impl Gate {
    /// A gate asking the auditor API at `url`, trusting only approvals signed by `auditor` for
    /// the network `network_id`.
    pub fn new(url: &str, auditor: Address, network_id: B256) -> anyhow::Result<Gate> {
        Ok(Gate {
            client: HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(10))
                .build(url)
                .map_err(|e| anyhow::anyhow!("auditor_url {url:?}: {e}"))?,
            auditor,
            network_id,
            status: RwLock::new(AuditorStatus::Unknown {
                reason: "not reached yet".into(),
            }),
            approved: Mutex::new(BTreeMap::new()),
        })
    }

    /// The last known status.
    pub fn status(&self) -> AuditorStatus {
        self.status.read().expect("not poisoned").clone()
    }

    fn set(&self, shared: &Shared, s: AuditorStatus) {
        let halted = matches!(s, AuditorStatus::Halted { .. });
        let mut cur = self.status.write().expect("not poisoned");
        if *cur != s {
            match &s {
                AuditorStatus::Halted { block, reason } => tracing::error!(
                    block,
                    %reason,
                    "the auditor REFUSED a block: every sender is halted until an operator resumes the network"
                ),
                AuditorStatus::Unknown { reason } => {
                    tracing::warn!(%reason, "auditor status unknown; senders wait")
                }
                _ => {}
            }
            *cur = s.clone();
        }
        drop(cur);
        *shared.auditor.write().expect("not poisoned") = s;
        metrics::gauge!(crate::metrics::AUDITOR_HALTED).set(if halted { 1.0 } else { 0.0 });
    }

    /// Asks the auditor for its status once.
    pub async fn refresh(&self, shared: &Shared) {
        let s = match self
            .client
            .request::<Value, _>("auditor_status", rpc_params![])
            .await
        {
            Ok(v) => parse_status(&v, self.auditor),
            Err(e) => AuditorStatus::Unknown {
                reason: format!("auditor unreachable: {e}"),
            },
        };
        self.set(shared, s);
    }

    /// Keeps the status fresh every `poll`.
    pub async fn run(self: Arc<Self>, shared: Arc<Shared>, poll: Duration) -> anyhow::Result<()> {
        loop {
            self.refresh(&shared).await;
            tokio::time::sleep(poll).await;
        }
    }

    /// The auditor's approval of block `n` with `sync_hash` — the sync hash the contract will
    /// compute from the commit being sent ([`rollup_l1::encode::commit_sync_hash`]) — if it gave
    /// one: the signature every contract checks in `commitBlocks`. A signature that does not
    /// verify is logged as an error and counts as no approval.
    pub async fn approval(&self, n: u32, sync_hash: B256) -> Option<Vec<u8>> {
        let key = (n, sync_hash.0);
        if let Some(sig) = self.approved.lock().expect("not poisoned").get(&key) {
            return Some(sig.clone());
        }
        let v: Value = match self
            .client
            .request("auditor_approval", rpc_params![n])
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(block = n, error = %e, "auditor unreachable; not committing");
                return None;
            }
        };
        let sig = v.as_str()?;
        let Ok(sig) = hex::decode(sig.trim_start_matches("0x")) else {
            tracing::error!(block = n, "auditor approval is not hex; not committing");
            return None;
        };
        match rollup_l1::approval::verify(self.auditor, self.network_id, n, sync_hash, &sig) {
            Ok(()) => {
                tracing::info!(block = n, "auditor approval verified");
                self.approved
                    .lock()
                    .expect("not poisoned")
                    .insert(key, sig.clone());
                Some(sig)
            }
            Err(e) => {
                tracing::error!(block = n, error = %e, "auditor approval does not match the block; not committing");
                None
            }
        }
    }
}

fn parse_status(v: &Value, expected: Address) -> AuditorStatus {
    let address = v["address"]
        .as_str()
        .and_then(|a| a.parse::<Address>().ok());
    if address != Some(expected) {
        return AuditorStatus::Unknown {
            reason: format!(
                "the auditor API answers as {:?}, not the configured auditor {expected}",
                v["address"]
            ),
        };
    }
    if let Some(h) = v["halted"].as_object() {
        return AuditorStatus::Halted {
            block: h.get("block").and_then(Value::as_u64).unwrap_or(0) as u32,
            reason: h
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
        };
    }
    match v["lastApproved"].as_u64() {
        Some(n) => AuditorStatus::Running {
            last_approved: n as u32,
        },
        None => AuditorStatus::Unknown {
            reason: "malformed auditor_status".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_answers_are_read_strictly() {
        let me = Address::repeat_byte(1);
        let ok = json!({"address": me.to_string(), "lastApproved": 4, "halted": null});
        assert_eq!(
            parse_status(&ok, me),
            AuditorStatus::Running { last_approved: 4 }
        );
        let halted = json!({"address": me.to_string(), "lastApproved": 4,
            "halted": {"block": 5, "reason": "final root", "evidence": "{}"}});
        assert_eq!(
            parse_status(&halted, me),
            AuditorStatus::Halted {
                block: 5,
                reason: "final root".into()
            }
        );
        // Another auditor's API (or a stranger's) is not trusted, even when it says all is well.
        let other = json!({"address": Address::repeat_byte(2).to_string(), "lastApproved": 9, "halted": null});
        assert!(!parse_status(&other, me).running());
        let malformed = json!({"address": me.to_string()});
        assert!(!parse_status(&malformed, me).running());
    }
}
