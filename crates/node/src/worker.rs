//! A prover worker: claims jobs from the database under a lease, proves, stores the proof.

use rollup_prover::Keys;
use rollup_prover::job::{Job, prove_job};
use rollup_storage::Storage;
use std::sync::Arc;
use std::time::Duration;

/// How long a claimed job stays with a silent worker before another may take it, by default
/// (`job_lease_ms`). A working worker renews it four times per lease, so a killed worker's job is
/// free again within a minute while a slow proof is never taken away from a live one.
pub const LEASE: Duration = Duration::from_secs(60);

/// Claims and proves jobs until the process ends. `keys`: (chain keys, binding keys); `lease`:
/// how long a claimed job stays with this worker without a renewal.
pub async fn run(
    storage: Storage,
    keys: Arc<(Keys, Keys)>,
    name: String,
    lease: Duration,
) -> anyhow::Result<()> {
    loop {
        match work_once(&storage, &keys, &name, lease).await {
            Ok(true) => {}
            Ok(false) => tokio::time::sleep(Duration::from_millis(200)).await,
            // A database failover: the job's lease runs out and it is claimed again (by this
            // worker or another) once the database is back.
            Err(e) if crate::lead::is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable; the worker retries");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Proves one job if there is one; `false` when the queue is empty.
pub async fn work_once(
    storage: &Storage,
    keys: &Arc<(Keys, Keys)>,
    name: &str,
    lease: Duration,
) -> anyhow::Result<bool> {
    let Some(claimed) = storage.claim_job(name, lease).await? else {
        return Ok(false);
    };
    let job = match Job::from_bytes(&claimed.payload) {
        Ok(j) => j,
        Err(e) => {
            storage
                .fail_job(claimed.number, claimed.job, name, &e.to_string(), false)
                .await?;
            return Ok(true);
        }
    };
    let binding = job.chain().is_none();
    let keys2 = keys.clone();
    let started = std::time::Instant::now();
    let mut proving = tokio::task::spawn_blocking(move || {
        let k = if binding { &keys2.1 } else { &keys2.0 };
        prove_job(k, job)
    });
    // Four renewals per lease: one missed (a slow database round trip) does not lose the job.
    let mut renew = tokio::time::interval(lease / 4);
    renew.tick().await; // the first tick is immediate
    let result = loop {
        tokio::select! {
            r = &mut proving => break r?,
            _ = renew.tick() => {
                // A renewal missed while the database fails over costs nothing unless the
                // lease runs out meanwhile (then the proof is discarded at the end).
                match storage.renew_job(claimed.number, claimed.job, name).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(block = claimed.number, job = claimed.job, "lease lost while proving"),
                    Err(e) if e.retryable() => tracing::warn!(block = claimed.number, error = %e, "job lease not renewed"),
                    Err(e) => return Err(e.into()),
                }
            }
        }
    };
    let kind = if binding { "binding" } else { "chain" };
    match result {
        Ok(proved) => {
            if !storage
                .finish_job(claimed.number, claimed.job, name, &proved.to_bytes())
                .await?
            {
                tracing::warn!(
                    block = claimed.number,
                    job = claimed.job,
                    "lease lost; proof discarded"
                );
            } else {
                metrics::counter!(crate::metrics::PROOFS, "kind" => kind).increment(1);
                metrics::histogram!(crate::metrics::PROVING_SECONDS, "kind" => kind)
                    .record(started.elapsed().as_secs_f64());
                tracing::info!(
                    block = claimed.number,
                    job = claimed.job,
                    attempt = claimed.attempt,
                    secs = started.elapsed().as_secs_f64(),
                    "proved"
                );
            }
        }
        Err(e) => {
            metrics::counter!(crate::metrics::PROOF_FAILURES, "kind" => kind).increment(1);
            tracing::error!(block = claimed.number, job = claimed.job, error = %e, "proving failed");
            storage
                .fail_job(
                    claimed.number,
                    claimed.job,
                    name,
                    &e.to_string(),
                    e.retryable(),
                )
                .await?;
        }
    }
    Ok(true)
}
