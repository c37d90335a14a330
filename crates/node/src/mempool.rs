//! The mempool's rules: what the API admits, how long an entry may wait, and which entries the
//! keeper hands the block builder. They close a denial of service: before them the API admitted
//! any future nonce, the builder deferred such a transaction for ever, and the keeper read only
//! the oldest `max_txs` entries — so one account's 64 far-future nonces stopped every L2
//! transaction.
//!
//! * **Admission** ([`Limits`], checked by the API atomically with the insert): a nonce at most
//!   `nonce_window − 1` ahead of the account's nonce on its chain (after the last sealed block);
//!   at most `per_account` entries per account over every chain; at most `capacity` entries in
//!   all. Each has its own error code (`crate::api::code`).
//! * **Expiry**: an entry not sealed within `ttl_secs` of admission leaves the mempool with the
//!   outcome `expired` and a reason (`rollup_txStatus`); an entry the rules refuse at sealing
//!   leaves with `rejected` and the rule's reason. Outcomes are kept `outcome_retention_secs`,
//!   at most `max_outcomes` of them.
//! * **Selection** ([`select`]): per sender (chain, account), in nonce order, starting at the
//!   account's nonce: only a sender whose next nonce is waiting contributes, so a sender stuck
//!   behind a missing nonce is looked past instead of filling the block. Senders take turns (one
//!   transaction each per round) so no account fills a block others wait for. Work per seal is
//!   bounded: `scan_senders` sender rows, one query per contributing sender (at most `max_txs`
//!   of them), at most `per_account + 1` entries each, [`SWEEP_BATCH`] entries indexed and
//!   expired.
//!
//! The account's next nonce on a chain passes a full share once (while no entry holds it): it is
//! what the rest of the account's entries wait for.

use rollup_state::NetworkState;
use rollup_storage::{AdmissionLimits, EXPIRED, PoolTx, REJECTED, Storage, TxKey};
use rollup_types::tx::Tx;
use rollup_types::{AccountId, ChainId};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most entries the keeper indexes, and most it expires, per seal: a backlog larger than this
/// is worked off over the following seals.
pub const SWEEP_BATCH: usize = 1024;

/// The `[mempool]` section of the node's configuration (`docs/CONFIG.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MempoolConfig {
    /// Most entries in the whole mempool.
    pub capacity: u64,
    /// Most entries of one account, over every chain.
    pub per_account: u64,
    /// Admitted nonces: from the account's nonce to `nonce_window − 1` beyond it.
    pub nonce_window: u32,
    /// An entry not sealed this many seconds after admission expires.
    pub ttl_secs: u64,
    /// Senders the keeper examines per seal, oldest first.
    pub scan_senders: usize,
    /// How long the outcome of an expired or rejected entry stays readable.
    pub outcome_retention_secs: u64,
    /// Most outcomes kept (the newest).
    pub max_outcomes: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            capacity: 10_000,
            per_account: 16,
            nonce_window: 16,
            ttl_secs: 600,
            scan_senders: 1024,
            outcome_retention_secs: 86_400,
            max_outcomes: 100_000,
        }
    }
}

/// The largest `capacity` accepted: the keeper's per-seal queries grow with it.
pub const MAX_CAPACITY: u64 = 1_000_000;
/// The longest `ttl_secs` accepted (a week).
pub const MAX_TTL_SECS: u64 = 7 * 86_400;

impl MempoolConfig {
    /// Checks the bounds against each other and against `max_txs` (the keeper's per-block
    /// count).
    pub fn validate(&self, max_txs: usize) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=MAX_CAPACITY).contains(&self.capacity),
            "mempool.capacity {} must be in 1..={MAX_CAPACITY}",
            self.capacity
        );
        anyhow::ensure!(
            self.capacity >= max_txs as u64,
            "mempool.capacity {} is below max_txs {max_txs}: a block could never fill",
            self.capacity
        );
        anyhow::ensure!(
            (1..=self.capacity).contains(&self.per_account),
            "mempool.per_account {} must be in 1..=capacity ({})",
            self.per_account,
            self.capacity
        );
        // A nonce further ahead than an account may hold entries could never have its gap
        // filled while it waits.
        anyhow::ensure!(
            self.nonce_window >= 1 && u64::from(self.nonce_window) <= self.per_account,
            "mempool.nonce_window {} must be in 1..=per_account ({})",
            self.nonce_window,
            self.per_account
        );
        anyhow::ensure!(
            (1..=MAX_TTL_SECS).contains(&self.ttl_secs),
            "mempool.ttl_secs {} must be in 1..={MAX_TTL_SECS}",
            self.ttl_secs
        );
        anyhow::ensure!(
            (1..=MAX_CAPACITY as usize).contains(&self.scan_senders),
            "mempool.scan_senders {} must be in 1..={MAX_CAPACITY}",
            self.scan_senders
        );
        anyhow::ensure!(
            self.outcome_retention_secs >= 1,
            "mempool.outcome_retention_secs must be positive"
        );
        anyhow::ensure!(
            (1..=10 * MAX_CAPACITY).contains(&self.max_outcomes),
            "mempool.max_outcomes {} must be in 1..={}",
            self.max_outcomes,
            10 * MAX_CAPACITY
        );
        Ok(())
    }

    /// The storage-side admission bounds.
    pub fn limits(&self) -> AdmissionLimits {
        AdmissionLimits {
            capacity: self.capacity,
            per_account: self.per_account,
            ttl_ms: self.ttl_ms(),
        }
    }

    fn ttl_ms(&self) -> i64 {
        (self.ttl_secs.min(MAX_TTL_SECS) * 1000) as i64
    }
}

/// The mempool key of a transaction users may submit (key changes and signed L2
/// transactions); `None` for priority requests, which come only from L1.
pub fn tx_key(tx: &Tx) -> Option<TxKey> {
    match tx {
        Tx::ChangePubKey { tx, .. } => Some(TxKey {
            chain: tx.chain.0,
            account: tx.account.0,
            nonce: tx.nonce.0,
        }),
        Tx::L2 { tx, .. } => Some(TxKey {
            chain: tx.chain().0,
            account: tx.account().0,
            nonce: tx.nonce().0,
        }),
        Tx::Deposit(_) | Tx::FullExit(_) => None,
    }
}

/// The account's nonce on the key's chain in `state`; `None` when the chain is not connected or
/// the account does not exist.
fn state_nonce(state: &NetworkState, chain: u8, account: u32) -> Option<u32> {
    let chain = ChainId::new(chain).ok()?;
    state
        .chain(chain)?
        .account(AccountId(account))
        .map(|a| a.nonce.0)
}

/// The keeper's housekeeping before it selects: indexes entries stored without a key (giving
/// them their full lifetime from now), expires entries past their lifetime — with a reason
/// read from `state` — and prunes old outcomes. Bounded by [`SWEEP_BATCH`].
pub async fn sweep(
    storage: &Storage,
    state: &NetworkState,
    cfg: &MempoolConfig,
) -> anyhow::Result<()> {
    let mut keys = Vec::new();
    let mut dropped = Vec::new();
    for (hash, bytes) in storage.unindexed_txs(SWEEP_BATCH).await? {
        match Tx::decode(&bytes).map(|tx| tx_key(&tx)) {
            Ok(Some(key)) => keys.push((hash, key)),
            Ok(None) => dropped.push((hash, REJECTED, "only L1 creates this transaction".into())),
            Err(e) => dropped.push((hash, REJECTED, format!("undecodable: {e}"))),
        }
    }
    storage.index_txs(&keys, cfg.ttl_ms()).await?;
    let now = rollup_storage::now_ms();
    for e in storage.expired_txs(now, SWEEP_BATCH).await? {
        let TxKey {
            chain,
            account,
            nonce,
        } = e.key;
        let reason = match state_nonce(state, chain, account) {
            Some(expected) if nonce > expected => format!(
                "not sealed within {}s: nonce {nonce} waited for the account's nonce on chain \
                 {chain} to reach it, but it stayed at {expected} (a transaction with nonce \
                 {expected} is missing)",
                cfg.ttl_secs
            ),
            _ => format!("not sealed within {}s", cfg.ttl_secs),
        };
        tracing::info!(tx = hex::encode(e.hash), %reason, "expired");
        dropped.push((e.hash, EXPIRED, reason));
    }
    let expired = dropped.iter().filter(|d| d.1 == EXPIRED).count();
    storage.drop_txs(&dropped).await?;
    metrics::counter!(crate::metrics::TXS_EXPIRED).increment(expired as u64);
    let horizon =
        now.saturating_sub((cfg.outcome_retention_secs.min(i64::MAX as u64 / 1000) * 1000) as i64);
    storage.prune_outcomes(horizon, cfg.max_outcomes).await?;
    Ok(())
}

/// What [`select`] hands the builder.
#[derive(Debug, Default)]
pub struct Selection {
    /// Entries to try, in block order.
    pub txs: Vec<([u8; 32], Tx)>,
    /// Entries to drop without trying: `(hash, status, reason)`.
    pub dropped: Vec<([u8; 32], &'static str, String)>,
}

/// Picks up to `max_txs` entries that can execute on `state`, per sender in nonce order from
/// the account's nonce, senders taking turns (see the module docs); at most `max_txs`
/// contributing senders are read. Besides those, it passes on entries of the senders read whose
/// nonce is used already (or whose account does not exist), at most `max_txs` of them, first:
/// the builder rejects them with its reason and they leave the mempool.
pub async fn select(
    storage: &Storage,
    state: &NetworkState,
    cfg: &MempoolConfig,
    max_txs: usize,
) -> anyhow::Result<Selection> {
    let mut sel = Selection::default();
    let mut runs: Vec<VecDeque<([u8; 32], Tx)>> = Vec::new();
    let mut stale = Vec::new();
    for head in storage.mempool_senders(cfg.scan_senders).await? {
        // Each sender contributes at least one per round: `max_txs` of them fill a block.
        if runs.len() >= max_txs {
            break;
        }
        let expected = state_nonce(state, head.chain, head.account);
        if let Some(n) = expected
            && head.first_nonce > n
        {
            continue; // its next nonce is missing: it waits (until the nonce comes, or expiry)
        }
        let mut run = VecDeque::new();
        let mut next = expected;
        // An account holds at most its share on a chain, plus the next nonce let past it.
        let entries = storage
            .sender_txs(head.chain, head.account, cfg.per_account as usize + 1)
            .await?;
        for PoolTx { hash, key, tx } in entries {
            let tx = match Tx::decode(&tx) {
                Ok(tx) if tx_key(&tx) == Some(key) => tx,
                Ok(_) => {
                    sel.dropped
                        .push((hash, REJECTED, "stored under another sender".into()));
                    continue;
                }
                Err(e) => {
                    sel.dropped
                        .push((hash, REJECTED, format!("undecodable: {e}")));
                    continue;
                }
            };
            match (expected, next) {
                // Nonce used already, or no such account: the builder says why.
                (None, _) => stale.push((hash, tx)),
                (Some(e), _) if key.nonce < e => stale.push((hash, tx)),
                (_, Some(n)) if key.nonce == n => {
                    run.push_back((hash, tx));
                    next = n.checked_add(1);
                }
                // A second entry with the nonce just taken: it runs if the first fails.
                (_, Some(n)) if n > 0 && key.nonce == n - 1 => run.push_back((hash, tx)),
                (_, None) if key.nonce == u32::MAX => run.push_back((hash, tx)),
                _ => break, // a gap: the rest waits
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
    }
    stale.truncate(max_txs);
    sel.txs.extend(stale);
    // Round robin over the senders, each run in nonce order.
    let mut taken = 0;
    while taken < max_txs && !runs.is_empty() {
        runs.retain_mut(|run| {
            if taken < max_txs
                && let Some(t) = run.pop_front()
            {
                sel.txs.push(t);
                taken += 1;
            }
            !run.is_empty()
        });
    }
    Ok(sel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bounds_are_checked() {
        let ok = MempoolConfig::default();
        ok.validate(64).unwrap();
        let bad = |f: fn(&mut MempoolConfig), max_txs: usize, what: &str| {
            let mut c = MempoolConfig::default();
            f(&mut c);
            let e = c.validate(max_txs).unwrap_err().to_string();
            assert!(e.contains(what), "{e}");
        };
        bad(|c| c.capacity = 0, 1, "mempool.capacity");
        bad(|c| c.capacity = MAX_CAPACITY + 1, 64, "mempool.capacity");
        bad(|c| c.capacity = 63, 64, "below max_txs");
        bad(|c| c.per_account = 0, 64, "mempool.per_account");
        bad(
            |c| c.per_account = c.capacity + 1,
            64,
            "mempool.per_account",
        );
        bad(|c| c.nonce_window = 0, 64, "mempool.nonce_window");
        bad(|c| c.nonce_window = 17, 64, "mempool.nonce_window");
        bad(|c| c.ttl_secs = 0, 64, "mempool.ttl_secs");
        bad(|c| c.ttl_secs = MAX_TTL_SECS + 1, 64, "mempool.ttl_secs");
        bad(|c| c.scan_senders = 0, 64, "mempool.scan_senders");
        bad(
            |c| c.outcome_retention_secs = 0,
            64,
            "outcome_retention_secs",
        );
        bad(|c| c.max_outcomes = 0, 64, "mempool.max_outcomes");
        // The edges themselves are fine.
        let edge = MempoolConfig {
            capacity: 64,
            per_account: 64,
            nonce_window: 64,
            ttl_secs: MAX_TTL_SECS,
            scan_senders: 1,
            outcome_retention_secs: 1,
            max_outcomes: 1,
        };
        edge.validate(64).unwrap();
        assert_eq!(edge.limits().ttl_ms, MAX_TTL_SECS as i64 * 1000);
    }
}
