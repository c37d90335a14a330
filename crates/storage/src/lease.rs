//! Leadership leases with fencing (`migrations/0007_leases.sql`). Several node servers run the
//! same components on one database; the state keeper and each chain's sender act only while
//! their process holds the lease of that name. A lease is taken when it is free or expired,
//! renewed by its holder, and its `epoch` grows whenever the holder changes.
//!
//! Fencing: a [`Storage`] handle made with [`Storage::fenced`] checks its lease inside the same
//! database transaction as each leader's write ([`Storage::insert_block`],
//! [`Storage::drop_txs`], [`Storage::save_l1_tx`]) and refuses with [`StorageError::Fenced`]
//! once the lease is another's, or expired. On PostgreSQL the check holds the lease row
//! (`FOR SHARE`) until the write commits, so a takeover waits for it; SQLite serialises every
//! write transaction already. A leader paused past its lease therefore writes nothing when it
//! resumes, even before anyone else took over.

use crate::{Result, Storage, StorageError, now_ms};
use sqlx::Row;
use std::time::Duration;

/// A lease as its holder knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// What it is for (`keeper`, `sender-1`, …).
    pub name: String,
    /// Who holds it (a process's id).
    pub holder: String,
    /// Grows with every new holder.
    pub epoch: u64,
}

/// A lease as the database holds it (for status and metrics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseState {
    /// Its holder (empty: never taken).
    pub holder: String,
    /// Its epoch.
    pub epoch: u64,
    /// When it expires (Unix ms).
    pub expires_ms: i64,
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)
}

impl Storage {
    /// Takes lease `name` for `holder` for `ttl` if it is free, expired or already `holder`'s
    /// (then renewed); `None` while another holds it.
    pub async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let now = now_ms();
        let mut t = self.begin().await?;
        sqlx::query(
            "INSERT INTO leases (name, holder, epoch, expires_ms) VALUES ($1, '', 0, 0) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_string())
        .execute(&mut *t)
        .await?;
        // One statement: on PostgreSQL a concurrent acquirer waits for this row and then finds
        // it taken (the condition is evaluated again on the updated row).
        let row = sqlx::query(
            "UPDATE leases SET epoch = CASE WHEN holder = $2 THEN epoch ELSE epoch + 1 END, \
             holder = $2, expires_ms = $4 \
             WHERE name = $1 AND (holder = $2 OR expires_ms <= $3) RETURNING epoch",
        )
        .bind(name.to_string())
        .bind(holder.to_string())
        .bind(now)
        .bind(now.saturating_add(ttl_ms(ttl)))
        .fetch_optional(&mut *t)
        .await?;
        t.commit().await?;
        row.map(|r| {
            let epoch: i64 = r.try_get(0)?;
            Ok(Lease {
                name: name.to_string(),
                holder: holder.to_string(),
                epoch: epoch as u64,
            })
        })
        .transpose()
    }

    /// Extends `lease` by `ttl` from now; `false` if it is lost (expired or another's): its
    /// holder must stop acting as leader.
    pub async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        let now = now_ms();
        let n = sqlx::query(
            "UPDATE leases SET expires_ms = $4 WHERE name = $1 AND holder = $2 AND epoch = $3 \
             AND expires_ms > $5",
        )
        .bind(lease.name.clone())
        .bind(lease.holder.clone())
        .bind(lease.epoch as i64)
        .bind(now.saturating_add(ttl_ms(ttl)))
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Gives `lease` up (a clean shutdown): another process may take it at once.
    pub async fn release_lease(&self, lease: &Lease) -> Result<()> {
        sqlx::query(
            "UPDATE leases SET expires_ms = 0 WHERE name = $1 AND holder = $2 AND epoch = $3",
        )
        .bind(lease.name.clone())
        .bind(lease.holder.clone())
        .bind(lease.epoch as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lease `name` as stored, if it was ever taken.
    pub async fn lease(&self, name: &str) -> Result<Option<LeaseState>> {
        let row = sqlx::query("SELECT holder, epoch, expires_ms FROM leases WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let epoch: i64 = r.try_get(1)?;
            Ok(LeaseState {
                holder: r.try_get(0)?,
                epoch: epoch as u64,
                expires_ms: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// This handle with its leader writes fenced by `lease` (see the module docs).
    pub fn fenced(&self, lease: Lease) -> Storage {
        Storage {
            fence: Some(std::sync::Arc::new(lease)),
            ..self.clone()
        }
    }

    /// Inside a leader write's transaction: fails with [`StorageError::Fenced`] unless the
    /// handle's lease (if any) is still its holder's and unexpired, and keeps it so until the
    /// transaction ends.
    pub(crate) async fn check_fence(
        &self,
        t: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<()> {
        let Some(lease) = &self.fence else {
            return Ok(());
        };
        let sql = if self.sqlite {
            "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_ms > $4"
        } else {
            "SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_ms > $4 FOR SHARE"
        };
        let held = sqlx::query(sql)
            .bind(lease.name.clone())
            .bind(lease.holder.clone())
            .bind(lease.epoch as i64)
            .bind(now_ms())
            .fetch_optional(&mut **t)
            .await?
            .is_some();
        if held {
            Ok(())
        } else {
            Err(StorageError::Fenced(lease.name.clone()))
        }
    }
}
