//! Leadership of what only one node server may do at a time — the state keeper's sealing and
//! each chain's sender (`sender-<chain>`) — by a lease in the shared database
//! (`rollup_storage::Lease`): every server runs the same components; the lease's holder acts,
//! the others follow the stored blocks and take the lease over when its holder stops renewing
//! it. The holder's writes are fenced by its lease (`Storage::fenced`), so a deposed leader —
//! paused past its lease, cut off — writes nothing when it resumes.

use rollup_storage::{Lease, Storage, StorageError};
use std::time::Duration;

/// The lease of the state keeper.
pub const KEEPER: &str = "keeper";

/// Who this server is and how long its leases last.
#[derive(Clone, Debug)]
pub struct Leadership {
    /// This server's holder name (unique per server: `node_id` in the configuration).
    pub holder: String,
    /// A lease's lifetime; the holder renews it every round, a successor waits this long
    /// after the holder's last renewal.
    pub ttl: Duration,
}

impl Leadership {
    /// After one round: `lease` (what this server held before it) renewed, or taken if it is
    /// free or expired; `None` while another server holds it.
    pub async fn keep(
        &self,
        storage: &Storage,
        name: &str,
        lease: Option<Lease>,
    ) -> Result<Option<Lease>, StorageError> {
        let expires_in = |secs: f64| {
            metrics::gauge!(crate::metrics::LEASE_EXPIRES_IN, "lease" => name.to_string())
                .set(secs);
        };
        if let Some(l) = lease {
            if storage.renew_lease(&l, self.ttl).await? {
                expires_in(self.ttl.as_secs_f64());
                return Ok(Some(l));
            }
            tracing::warn!(lease = name, holder = %self.holder, epoch = l.epoch, "lease lost");
        }
        let got = storage.acquire_lease(name, &self.holder, self.ttl).await?;
        if let Some(l) = &got {
            tracing::info!(lease = name, holder = %self.holder, epoch = l.epoch, "leading");
            expires_in(self.ttl.as_secs_f64());
        } else if let Some(held) = storage.lease(name).await? {
            expires_in((held.expires_ms - rollup_storage::now_ms()) as f64 / 1000.0);
        }
        Ok(got)
    }
}

/// Whether `e` is a leader's write refused because its lease is lost.
pub fn is_fenced(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<StorageError>(),
            Some(StorageError::Fenced(_))
        )
    })
}

/// Whether `e` is the database unreachable or changing hands — a failover in progress
/// (`StorageError::retryable`): the component's loop that met it retries, from what the
/// database holds, instead of stopping the process.
pub fn is_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<StorageError>()
            .is_some_and(StorageError::retryable)
    })
}
