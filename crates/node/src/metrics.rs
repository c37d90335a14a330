//! Prometheus metrics (the `metrics` facade, exported by `metrics-exporter-prometheus` on its own
//! HTTP listener: `GET http://<metrics_addr>/metrics`). The names are constants here so that the
//! list in `docs/CONFIG.md` and the code cannot drift apart silently.

use std::net::SocketAddr;

/// Blocks sealed by the state keeper.
pub const BLOCKS_SEALED: &str = "rollup_blocks_sealed_total";
/// Transactions (L2 and priority) included in sealed blocks.
pub const TXS_SEALED: &str = "rollup_txs_sealed_total";
/// Mempool transactions the keeper rejected at sealing.
pub const TXS_REJECTED: &str = "rollup_txs_rejected_total";
/// The newest sealed block.
pub const LAST_BLOCK: &str = "rollup_last_block";
/// Transactions waiting in the mempool.
pub const MEMPOOL: &str = "rollup_mempool_txs";
/// 1 while this server holds the lease (label `lease`: `keeper`, `sender-<chain>`), else 0.
pub const LEADER: &str = "rollup_leader";
/// Seconds until the lease (label `lease`) expires unless its holder renews it, as this server
/// last saw it: about `lease_ms` while a live server holds it, falling towards 0 and below when
/// its holder stopped renewing (a takeover is due).
pub const LEASE_EXPIRES_IN: &str = "rollup_lease_expires_in_seconds";
/// Mempool transactions that expired unsealed.
pub const TXS_EXPIRED: &str = "rollup_txs_expired_total";
/// API submissions, label `result` = accepted | refused | malformed | known | l1_only |
/// fee_too_low | nonce_too_far | account_quota | mempool_full | internal.
pub const API_SUBMISSIONS: &str = "rollup_api_submissions_total";
/// Proofs made by this process's workers, label `kind` = chain | binding.
pub const PROOFS: &str = "rollup_proofs_total";
/// Seconds per proof, label `kind`.
pub const PROVING_SECONDS: &str = "rollup_proving_seconds";
/// Proving jobs that failed, label `kind`.
pub const PROOF_FAILURES: &str = "rollup_proof_failures_total";
/// A chain contract's block counters, labels `chain` and `stage` = committed | proven | synced |
/// executed.
pub const CHAIN_BLOCKS: &str = "rollup_chain_blocks";
/// Stage transactions sent, labels `chain` and `kind` = commit | prove | execute.
pub const L1_SENT: &str = "rollup_l1_txs_sent_total";
/// Stage transactions the contract refused, label `chain`.
pub const L1_REFUSED: &str = "rollup_l1_txs_refused_total";
/// 1 while the auditor has halted the network (a refused block), else 0.
pub const AUDITOR_HALTED: &str = "rollup_auditor_halted";
/// Commits held back because the auditor has not approved the block (yet), label `chain`.
pub const AUDIT_WAITS: &str = "rollup_commits_awaiting_approval_total";
/// Attestations this oracle signed.
pub const ORACLE_SIGNED: &str = "rollup_oracle_attestations_total";
/// Abandonments signed by this oracle.
pub const ORACLE_ABANDONED: &str = "rollup_oracle_abandonments_total";
/// Threshold sets this oracle relayed, label `chain`.
pub const ORACLE_RELAYED: &str = "rollup_oracle_relays_total";

/// Installs the global recorder and serves `/metrics` on `addr` (from inside the runtime).
pub fn install(addr: SocketAddr) -> anyhow::Result<()> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full(PROVING_SECONDS.into()),
            &[1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0],
        )?
        .install()?;
    describe();
    tracing::info!(%addr, "metrics at /metrics");
    Ok(())
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(BLOCKS_SEALED, "Blocks sealed by the state keeper");
    describe_counter!(TXS_SEALED, "Transactions included in sealed blocks");
    describe_counter!(TXS_REJECTED, "Mempool transactions rejected at sealing");
    describe_gauge!(LAST_BLOCK, "Newest sealed block");
    describe_gauge!(MEMPOOL, "Transactions waiting in the mempool");
    describe_gauge!(LEADER, "1 while this server holds the lease");
    describe_gauge!(
        LEASE_EXPIRES_IN,
        "Seconds until the lease expires unless renewed, as this server last saw it"
    );
    describe_counter!(TXS_EXPIRED, "Mempool transactions that expired unsealed");
    describe_counter!(API_SUBMISSIONS, "API submissions by result");
    describe_counter!(PROOFS, "Proofs made, by kind");
    describe_histogram!(PROVING_SECONDS, "Seconds per proof, by kind");
    describe_counter!(PROOF_FAILURES, "Failed proving jobs, by kind");
    describe_gauge!(CHAIN_BLOCKS, "Contract block counters, by chain and stage");
    describe_counter!(L1_SENT, "Stage transactions sent, by chain and kind");
    describe_counter!(
        L1_REFUSED,
        "Stage transactions refused by the contract, by chain"
    );
    describe_gauge!(AUDITOR_HALTED, "1 while the auditor has halted the network");
    describe_counter!(
        AUDIT_WAITS,
        "Commit rounds held back awaiting the auditor's approval, by chain"
    );
    describe_counter!(ORACLE_SIGNED, "Attestations signed by this oracle");
    describe_counter!(
        ORACLE_ABANDONED,
        "Abandonments (blocks never proven on every chain in time) signed by this oracle"
    );
    describe_counter!(ORACLE_RELAYED, "Attestation sets relayed, by chain");
}
