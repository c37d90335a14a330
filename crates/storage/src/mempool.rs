//! The mempool's limits, sender index, expiry and outcomes (`migrations/0004_mempool_limits.sql`).
//!
//! The storage crate does not know the transaction format: callers pass each entry's
//! [`TxKey`] (its sender and nonce) and the limits; this module makes admission atomic under
//! them and answers the questions the keeper's selection asks in bounded work.

use crate::{Result, Storage, StorageError, hash32};
use sqlx::Row;
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Who sends a mempool entry and with which nonce: the chain whose nonce it uses, the signing
/// account, the nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxKey {
    /// Rollup chain id.
    pub chain: u8,
    /// Account id.
    pub account: u32,
    /// Nonce on `chain`.
    pub nonce: u32,
}

/// The bounds admission enforces, atomically with the insert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Most entries in the whole mempool.
    pub capacity: u64,
    /// Most entries of one account (over every chain).
    pub per_account: u64,
    /// An admitted entry expires this many milliseconds after admission.
    pub ttl_ms: i64,
}

/// What [`Storage::admit_tx`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Stored; it expires at `expires_ms`.
    Added {
        /// Unix milliseconds.
        expires_ms: i64,
    },
    /// The mempool holds it already.
    Known,
    /// The account holds its whole share already.
    AccountFull {
        /// The account's entries.
        pending: u64,
    },
    /// The mempool is full.
    Full {
        /// Entries in the mempool.
        pending: u64,
    },
}

/// A sender's queue as selection sees it first: one row per (chain, account).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderHead {
    /// Chain of the nonces.
    pub chain: u8,
    /// Account.
    pub account: u32,
    /// The lowest nonce waiting.
    pub first_nonce: u32,
    /// Arrival position of the sender's oldest entry (selection order).
    pub first_seq: i64,
}

/// One mempool entry with its index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolTx {
    /// Transaction hash.
    pub hash: [u8; 32],
    /// Sender and nonce.
    pub key: TxKey,
    /// Canonical encoding.
    pub tx: Vec<u8>,
}

/// Timing of a mempool entry, for status queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolTiming {
    /// When it was admitted (Unix ms; `None` until the keeper indexed an entry stored without).
    pub added_ms: Option<i64>,
    /// When it expires (Unix ms; `None` as above).
    pub expires_ms: Option<i64>,
}

/// Why a transaction left the mempool without a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `expired` or `rejected`.
    pub status: String,
    /// Why, in words.
    pub reason: String,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// Outcome status of an entry that was not sealed within its lifetime.
pub const EXPIRED: &str = "expired";
/// Outcome status of an entry the rules refused at sealing.
pub const REJECTED: &str = "rejected";

fn key_of(chain: i64, account: i64, nonce: i64) -> Result<TxKey> {
    let bad = || StorageError::Corrupt(format!("mempool key ({chain}, {account}, {nonce})"));
    Ok(TxKey {
        chain: u8::try_from(chain).map_err(|_| bad())?,
        account: u32::try_from(account).map_err(|_| bad())?,
        nonce: u32::try_from(nonce).map_err(|_| bad())?,
    })
}

impl Storage {
    /// Admits a transaction under `limits`, in one database transaction: refused when already
    /// there, when its account holds `per_account` entries (unless `next_nonce` — its nonce is
    /// the account's next on its chain — and no entry holds that nonce yet), or when the mempool
    /// holds `capacity`; otherwise stored with its key and an expiry `ttl_ms` from now. Any
    /// earlier outcome of the same hash is forgotten (it is pending again).
    pub async fn admit_tx(
        &self,
        hash: &[u8; 32],
        tx: &[u8],
        key: TxKey,
        next_nonce: bool,
        limits: AdmissionLimits,
    ) -> Result<Admission> {
        let mut t = self.begin().await?;
        // The lock row first: everything below runs as if alone (see the migration).
        sqlx::query("UPDATE mempool_admission SET admitted = admitted + 1 WHERE id = 0")
            .execute(&mut *t)
            .await?;
        let exists = sqlx::query("SELECT 1 FROM mempool WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&mut *t)
            .await?
            .is_some();
        if exists {
            return Ok(Admission::Known);
        }
        let mine: i64 = sqlx::query("SELECT COUNT(*) FROM mempool WHERE account = $1")
            .bind(key.account as i64)
            .fetch_one(&mut *t)
            .await?
            .try_get(0)?;
        if mine as u64 >= limits.per_account {
            // The account's next nonce is let past a full share once per chain (while no entry
            // holds it): it is what unblocks the rest, and it leaves at the next seal. Without
            // this, a sender whose share is full of transactions behind a gap could not send
            // the missing one until they expired.
            let taken = sqlx::query(
                "SELECT 1 FROM mempool WHERE chain = $1 AND account = $2 AND nonce = $3",
            )
            .bind(key.chain as i64)
            .bind(key.account as i64)
            .bind(key.nonce as i64)
            .fetch_optional(&mut *t)
            .await?
            .is_some();
            if !next_nonce || taken {
                return Ok(Admission::AccountFull {
                    pending: mine as u64,
                });
            }
        }
        let (all, seq): (i64, i64) =
            sqlx::query("SELECT COUNT(*), COALESCE(MAX(seq), 0) + 1 FROM mempool")
                .fetch_one(&mut *t)
                .await
                .and_then(|r| Ok((r.try_get(0)?, r.try_get(1)?)))?;
        if all as u64 >= limits.capacity {
            return Ok(Admission::Full {
                pending: all as u64,
            });
        }
        let added = now_ms();
        let expires_ms = added.saturating_add(limits.ttl_ms);
        sqlx::query(
            "INSERT INTO mempool (hash, seq, tx, chain, account, nonce, added_ms, expires_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(hash.to_vec())
        .bind(seq)
        .bind(tx.to_vec())
        .bind(key.chain as i64)
        .bind(key.account as i64)
        .bind(key.nonce as i64)
        .bind(added)
        .bind(expires_ms)
        .execute(&mut *t)
        .await?;
        sqlx::query("DELETE FROM tx_outcomes WHERE hash = $1")
            .bind(hash.to_vec())
            .execute(&mut *t)
            .await?;
        t.commit().await?;
        Ok(Admission::Added { expires_ms })
    }

    /// How many entries account `account` holds (over every chain).
    pub async fn account_pending(&self, account: u32) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM mempool WHERE account = $1")
            .bind(account as i64)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    /// Up to `limit` entries stored without a key (see the migration), oldest first.
    pub async fn unindexed_txs(&self, limit: usize) -> Result<Vec<([u8; 32], Vec<u8>)>> {
        let rows =
            sqlx::query("SELECT hash, tx FROM mempool WHERE account IS NULL ORDER BY seq LIMIT $1")
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| Ok((hash32(r.try_get(0)?, "tx hash")?, r.try_get(1)?)))
            .collect()
    }

    /// Gives entries stored without a key their key, and a lifetime of `ttl_ms` from now.
    pub async fn index_txs(&self, keys: &[([u8; 32], TxKey)], ttl_ms: i64) -> Result<()> {
        if keys.is_empty() {
            return Ok(()); // no write transaction: SQLite's lock is shared with the API
        }
        let now = now_ms();
        let mut t = self.begin().await?;
        for (hash, key) in keys {
            sqlx::query(
                "UPDATE mempool SET chain = $1, account = $2, nonce = $3, added_ms = $4, expires_ms = $5
                 WHERE hash = $6 AND account IS NULL",
            )
            .bind(key.chain as i64)
            .bind(key.account as i64)
            .bind(key.nonce as i64)
            .bind(now)
            .bind(now.saturating_add(ttl_ms))
            .bind(hash.to_vec())
            .execute(&mut *t)
            .await?;
        }
        t.commit().await?;
        Ok(())
    }

    /// Up to `limit` entries whose expiry is at or before `now_ms`, soonest first.
    pub async fn expired_txs(&self, now_ms: i64, limit: usize) -> Result<Vec<PoolTx>> {
        let rows = sqlx::query(
            "SELECT hash, chain, account, nonce, tx FROM mempool
             WHERE expires_ms IS NOT NULL AND expires_ms <= $1 ORDER BY expires_ms, seq LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(pool_tx).collect()
    }

    /// Removes entries from the mempool and records why each left (`(hash, status, reason)`),
    /// atomically; an entry no longer there (sealed meanwhile) gets no outcome. Fenced by the
    /// handle's lease, if any (the keeper's judgement, [`Storage::fenced`]).
    pub async fn drop_txs(&self, outcomes: &[([u8; 32], &str, String)]) -> Result<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut t = self.begin().await?;
        self.check_fence(&mut t).await?;
        let mut seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM tx_outcomes")
            .fetch_one(&mut *t)
            .await?
            .try_get(0)?;
        for (hash, status, reason) in outcomes {
            let gone = sqlx::query("DELETE FROM mempool WHERE hash = $1")
                .bind(hash.to_vec())
                .execute(&mut *t)
                .await?
                .rows_affected();
            if gone == 0 {
                continue;
            }
            seq += 1;
            sqlx::query("DELETE FROM tx_outcomes WHERE hash = $1")
                .bind(hash.to_vec())
                .execute(&mut *t)
                .await?;
            sqlx::query(
                "INSERT INTO tx_outcomes (hash, seq, status, reason, at_ms) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(hash.to_vec())
            .bind(seq)
            .bind(status.to_string())
            .bind(reason.clone())
            .bind(now)
            .execute(&mut *t)
            .await?;
        }
        t.commit().await?;
        Ok(())
    }

    /// Why `hash` left the mempool without a block, if it did (and the record is kept).
    pub async fn tx_outcome(&self, hash: &[u8; 32]) -> Result<Option<Outcome>> {
        let row = sqlx::query("SELECT status, reason, at_ms FROM tx_outcomes WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Outcome {
                status: r.try_get(0)?,
                reason: r.try_get(1)?,
                at_ms: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Forgets outcomes recorded before `before_ms`, and all but the newest `keep`.
    pub async fn prune_outcomes(&self, before_ms: i64, keep: u64) -> Result<u64> {
        let mut t = self.begin().await?;
        let old = sqlx::query("DELETE FROM tx_outcomes WHERE at_ms < $1")
            .bind(before_ms)
            .execute(&mut *t)
            .await?
            .rows_affected();
        let newest: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM tx_outcomes")
            .fetch_one(&mut *t)
            .await?
            .try_get(0)?;
        // `seq` only grows, so at most `keep` rows lie above `newest - keep` (fewer where
        // some were deleted in between).
        let excess = sqlx::query("DELETE FROM tx_outcomes WHERE seq <= $1")
            .bind(newest.saturating_sub(keep.min(i64::MAX as u64) as i64))
            .execute(&mut *t)
            .await?
            .rows_affected();
        t.commit().await?;
        Ok(old + excess)
    }

    /// The mempool's senders (one row per chain and account, indexed entries only), oldest
    /// first by their earliest entry, at most `limit`.
    pub async fn mempool_senders(&self, limit: usize) -> Result<Vec<SenderHead>> {
        let rows = sqlx::query(
            "SELECT chain, account, MIN(nonce), MIN(seq) AS first_seq FROM mempool
             WHERE account IS NOT NULL GROUP BY chain, account ORDER BY first_seq LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let key = key_of(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)?;
                Ok(SenderHead {
                    chain: key.chain,
                    account: key.account,
                    first_nonce: key.nonce,
                    first_seq: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// A sender's entries on `chain` in nonce order (equal nonces by arrival), at most `limit`.
    pub async fn sender_txs(&self, chain: u8, account: u32, limit: usize) -> Result<Vec<PoolTx>> {
        let rows = sqlx::query(
            "SELECT hash, chain, account, nonce, tx FROM mempool
             WHERE chain = $1 AND account = $2 ORDER BY nonce, seq LIMIT $3",
        )
        .bind(chain as i64)
        .bind(account as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(pool_tx).collect()
    }

    /// A mempool entry's encoding; `None` when it is not in the mempool.
    pub async fn pool_entry(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT tx FROM mempool WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(r.try_get(0)?)).transpose()
    }

    /// When a mempool entry was admitted and expires; `None` when it is not in the mempool.
    pub async fn pool_timing(&self, hash: &[u8; 32]) -> Result<Option<PoolTiming>> {
        let row = sqlx::query("SELECT added_ms, expires_ms FROM mempool WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(PoolTiming {
                added_ms: r.try_get(0)?,
                expires_ms: r.try_get(1)?,
            })
        })
        .transpose()
    }
}

fn pool_tx(r: sqlx::any::AnyRow) -> Result<PoolTx> {
    Ok(PoolTx {
        hash: hash32(r.try_get(0)?, "tx hash")?,
        key: key_of(r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)?,
        tx: r.try_get(4)?,
    })
}
