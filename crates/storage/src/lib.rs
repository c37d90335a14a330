//! The node's durable storage, through sqlx's `Any` driver so that one code path and one
//! migration set (`migrations/`) serve both backends: SQLite (embedded, the default:
//! `sqlite://path/to/node.db`) and PostgreSQL (`postgres://…`, for production and for several
//! processes sharing one database, e.g. prover workers on other machines).
//!
//! Everything the node acts on is written here first: the mempool (with its limits, expiry and
//! the outcome of every entry that left it without a block: [`Storage::admit_tx`]), the
//! priority requests read from L1 together with the watcher's cursor (one transaction, so a
//! restart neither loses nor repeats an event), sealed blocks and their stage on every chain,
//! proving jobs (claimed by workers under a lease, so a dead worker's job goes to another), and
//! the L1 senders' transactions.
//!
//! Queries use `$n` placeholders, which both SQLite and PostgreSQL accept, and only `BIGINT`,
//! `BYTEA` and `TEXT` columns (integers are `i64` on the Rust side).

mod auth;
mod explorer;
mod gas;
mod lease;
mod mempool;

pub use auth::*;
pub use explorer::*;
pub use lease::*;
pub use mempool::*;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Storage errors. [`StorageError::retryable`] tells callers whether to try again.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database refused or failed a statement, or the connection broke.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The URL names no supported backend.
    #[error("unsupported database url {0:?} (sqlite:// or postgres://)")]
    Url(String),
    /// A stored value is not what the schema promises.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A leader's write refused: its lease (named here) is lost — expired or another's
    /// (`lease`).
    #[error("lease {0:?} lost: this process no longer leads")]
    Fenced(String),
}

impl StorageError {
    /// Whether retrying may succeed — the database is unreachable or changing hands, as during
    /// a failover: a broken or exhausted connection, a server shutting down or starting, or a
    /// standby that still refuses writes (before its promotion) — as opposed to a constraint
    /// violation, a bad URL, corrupt data or a lost lease.
    pub fn retryable(&self) -> bool {
        match self {
            StorageError::Db(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            StorageError::Db(sqlx::Error::Database(e)) => {
                e.code().is_some_and(|c| retryable_sqlstate(&c))
            }
            _ => false,
        }
    }
}

/// PostgreSQL's SQLSTATEs of a server that is unreachable or changing hands: class 08
/// (connection exception), 57P01–57P03 (shutting down, crashed, starting up) and 25006 (a
/// read-only transaction: a standby not yet promoted).
fn retryable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "25006")
}

type Result<T> = std::result::Result<T, StorageError>;

/// A block's stage on one chain; stages only move forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Sealed by the node, not yet on L1.
    Sealed = 0,
    /// Committed on the chain.
    Committed = 1,
    /// Proven on the chain.
    Proven = 2,
    /// Synced (the oracles attested every chain proved it).
    Synced = 3,
    /// Executed on the chain.
    Executed = 4,
}

impl Stage {
    fn from_i64(v: i64) -> Result<Stage> {
        Ok(match v {
            0 => Stage::Sealed,
            1 => Stage::Committed,
            2 => Stage::Proven,
            3 => Stage::Synced,
            4 => Stage::Executed,
            _ => return Err(StorageError::Corrupt(format!("stage {v}"))),
        })
    }
}

/// A sealed block as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredBlock {
    /// Number.
    pub number: u32,
    /// The node's encoding of the block.
    pub data: Vec<u8>,
    /// `final_root` after it.
    pub final_root: [u8; 32],
    /// Its `sync_hash`.
    pub sync_hash: [u8; 32],
}

/// A proving job handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Block number.
    pub number: u32,
    /// Job index within the block (chains in order, then the binding job).
    pub job: u32,
    /// The job (`rollup_prover::job::Job::to_bytes`).
    pub payload: Vec<u8>,
    /// How many times it has been claimed, this one included.
    pub attempt: u32,
}

const QUEUED: i64 = 0;
const CLAIMED: i64 = 1;
const DONE: i64 = 2;
const FAILED: i64 = 3;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn hash32(v: Vec<u8>, what: &str) -> Result<[u8; 32]> {
    v.try_into()
        .map_err(|_| StorageError::Corrupt(format!("{what} is not 32 bytes")))
}

/// A state snapshot (see `migrations/0003_snapshots.sql`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The block after which the state was taken.
    pub number: u32,
    /// `rollup_state::NetworkState::snapshot` bytes.
    pub state: Vec<u8>,
    /// `final_root` after that block.
    pub final_root: [u8; 32],
    /// `sync_hash` of that block.
    pub sync_hash: [u8; 32],
    /// JSON: each chain's StoredBlockInfo of that block.
    pub stored: String,
}

/// What a chain's driver sends of a stored block (see `migrations/0010_block_calls.sql`): the
/// L1 crate's ABI encodings, opaque here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCalls {
    /// The chain.
    pub chain: u8,
    /// `commitBlocks` input.
    pub commit: Vec<u8>,
    /// `executeBlocks` input.
    pub execute: Vec<u8>,
    /// `proveBlocks` input before the proofs.
    pub prove: Vec<u8>,
}

/// A connection pool with the schema migrated.
#[derive(Clone, Debug)]
pub struct Storage {
    pool: AnyPool,
    sqlite: bool,
    /// The lease a leader's writes are fenced by ([`Storage::fenced`]).
    fence: Option<std::sync::Arc<Lease>>,
}

impl Storage {
    /// Connects to `url` (`sqlite://file` — created if missing — or `postgres://…`) and brings
    /// the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        install_default_drivers();
        let url = if let Some(path) = url.strip_prefix("sqlite://") {
            if path.contains('?') {
                url.to_string()
            } else {
                format!("sqlite://{path}?mode=rwc")
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.to_string()
        } else {
            return Err(StorageError::Url(url.to_string()));
        };
        let sqlite = url.starts_with("sqlite:");
        // SQLite allows one writer at a time: one connection per process, and other processes
        // (the oracles, the devnet's observer) wait for the lock rather than fail. WAL lets
        // readers run beside the writer; synchronous stays FULL so a crash loses nothing.
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA busy_timeout = 30000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Storage {
            pool,
            sqlite,
            fence: None,
        })
    }

    /// A transaction. On SQLite it takes the write lock up front (`BEGIN IMMEDIATE`): a deferred
    /// transaction that reads and then writes fails at once, without waiting, when another
    /// process wrote in between.
    async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(if self.sqlite {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            self.pool.begin().await?
        })
    }

    // ---- mempool ---------------------------------------------------------------------------

    /// Adds a transaction (by its hash) with no limit and no key; `false` if it is already there.
    /// For the operator's tools and tests: the API admits through [`Storage::admit_tx`], and the
    /// keeper indexes such an entry (and starts its lifetime) before it selects.
    pub async fn add_tx(&self, hash: &[u8; 32], tx: &[u8]) -> Result<bool> {
        let mut t = self.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM mempool WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&mut *t)
            .await?
            .is_some();
        if exists {
            return Ok(false);
        }
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM mempool")
            .fetch_one(&mut *t)
            .await?
            .try_get(0)?;
        sqlx::query("INSERT INTO mempool (hash, seq, tx) VALUES ($1, $2, $3)")
            .bind(hash.to_vec())
            .bind(seq)
            .bind(tx.to_vec())
            .execute(&mut *t)
            .await?;
        t.commit().await?;
        Ok(true)
    }

    /// Up to `limit` transactions in arrival order: (hash, tx).
    pub async fn mempool(&self, limit: usize) -> Result<Vec<([u8; 32], Vec<u8>)>> {
        let rows = sqlx::query("SELECT hash, tx FROM mempool ORDER BY seq LIMIT $1")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| Ok((hash32(r.try_get(0)?, "tx hash")?, r.try_get(1)?)))
            .collect()
    }

    /// How many transactions wait in the mempool.
    pub async fn mempool_len(&self) -> Result<u64> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM mempool")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(n as u64)
    }

    /// Whether the mempool holds `hash`.
    pub async fn in_mempool(&self, hash: &[u8; 32]) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM mempool WHERE hash = $1")
            .bind(hash.to_vec())
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Removes transactions (included in a block, or rejected).
    pub async fn remove_txs(&self, hashes: &[[u8; 32]]) -> Result<()> {
        let mut t = self.begin().await?;
        for h in hashes {
            sqlx::query("DELETE FROM mempool WHERE hash = $1")
                .bind(h.to_vec())
                .execute(&mut *t)
                .await?;
        }
        t.commit().await?;
        Ok(())
    }

    // ---- L1 watcher ------------------------------------------------------------------------

    /// Records the priority requests of one watcher batch and the cursor after it, atomically
    /// ([`Storage::record_batch`] with no stage transactions).
    pub async fn record_watch(
        &self,
        chain: u8,
        ops: &[(u64, Vec<u8>, u64)],
        cursor: &str,
    ) -> Result<()> {
        self.record_batch(chain, ops, &[], &[], cursor).await
    }

    /// Records the priority requests, stage transactions and key-change facts of one watcher
    /// batch and the cursor after it, atomically. A request (or fact) already stored must be
    /// identical: a different one means the chain changed under the node, which is an error,
    /// never an overwrite.
    pub async fn record_batch(
        &self,
        chain: u8,
        ops: &[(u64, Vec<u8>, u64)],
        stage_txs: &[StageTx],
        facts: &[AuthFact],
        cursor: &str,
    ) -> Result<()> {
        let mut t = self.begin().await?;
        explorer::write_stage_txs(&mut t, stage_txs).await?;
        auth::write_facts(&mut t, chain, facts).await?;
        // Every node server's watcher records the same batches, concurrently: insert what is
        // missing (a row another inserted meanwhile is not an error), then compare with what is
        // stored.
        for (serial, tx, l1_block) in ops {
            sqlx::query(
                "INSERT INTO priority_ops (chain, serial, tx, l1_block) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (chain, serial) DO NOTHING",
            )
            .bind(chain as i64)
            .bind(*serial as i64)
            .bind(tx.clone())
            .bind(*l1_block as i64)
            .execute(&mut *t)
            .await?;
            let stored: Vec<u8> =
                sqlx::query("SELECT tx FROM priority_ops WHERE chain = $1 AND serial = $2")
                    .bind(chain as i64)
                    .bind(*serial as i64)
                    .fetch_one(&mut *t)
                    .await?
                    .try_get(0)?;
            if stored != *tx {
                return Err(StorageError::Corrupt(format!(
                    "chain {chain} priority request {serial} differs from the stored one"
                )));
            }
        }
        sqlx::query(
            "INSERT INTO watcher_cursors (chain, cursor) VALUES ($1, $2) \
             ON CONFLICT (chain) DO UPDATE SET cursor = $2",
        )
        .bind(chain as i64)
        .bind(cursor.to_string())
        .execute(&mut *t)
        .await?;
        t.commit().await?;
        Ok(())
    }

    /// The stored cursor of a chain's watcher.
    pub async fn cursor(&self, chain: u8) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT cursor FROM watcher_cursors WHERE chain = $1")
                .bind(chain as i64)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?,
        )
    }

    /// A chain's priority requests from `serial` on: (serial, tx, L1 block).
    pub async fn priority_ops(&self, chain: u8, serial: u64) -> Result<Vec<(u64, Vec<u8>, u64)>> {
        let rows = sqlx::query(
            "SELECT serial, tx, l1_block FROM priority_ops WHERE chain = $1 AND serial >= $2 ORDER BY serial",
        )
        .bind(chain as i64)
        .bind(serial as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let serial: i64 = r.try_get(0)?;
                let block: i64 = r.try_get(2)?;
                Ok((serial as u64, r.try_get(1)?, block as u64))
            })
            .collect()
    }

    /// One priority request of a chain: (tx, L1 block), if the watcher stored it.
    pub async fn priority_op(&self, chain: u8, serial: u64) -> Result<Option<(Vec<u8>, u64)>> {
        sqlx::query("SELECT tx, l1_block FROM priority_ops WHERE chain = $1 AND serial = $2")
            .bind(chain as i64)
            .bind(serial as i64)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| {
                let block: i64 = r.try_get(1)?;
                Ok((r.try_get(0)?, block as u64))
            })
            .transpose()
    }

    // ---- blocks ----------------------------------------------------------------------------

    /// Stores a sealed block, its `Sealed` stage on every chain and its index (summary,
    /// transactions by hash, touched accounts), atomically — fenced by the handle's lease, if
    /// any ([`Storage::fenced`]).
    pub async fn insert_block(
        &self,
        block: &StoredBlock,
        calls: &[StoredCalls],
        index: &BlockIndex,
    ) -> Result<()> {
        let mut t = self.begin().await?;
        self.check_fence(&mut t).await?;
        Self::write_calls(&mut t, block.number, calls, false).await?;
        sqlx::query(
            "INSERT INTO blocks (number, data, final_root, sync_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(block.number as i64)
        .bind(block.data.clone())
        .bind(block.final_root.to_vec())
        .bind(block.sync_hash.to_vec())
        .bind(now())
        .execute(&mut *t)
        .await?;
        for c in calls {
            sqlx::query(
                "INSERT INTO block_stages (number, chain, stage, updated_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(block.number as i64)
            .bind(c.chain as i64)
            .bind(Stage::Sealed as i64)
            .bind(now())
            .execute(&mut *t)
            .await?;
        }
        explorer::write_index(&mut t, block.number, index).await?;
        t.commit().await?;
        Ok(())
    }

    async fn write_calls(
        t: &mut sqlx::Transaction<'static, sqlx::Any>,
        number: u32,
        calls: &[StoredCalls],
        if_missing: bool,
    ) -> Result<()> {
        let insert = if if_missing {
            "INSERT INTO block_calls (number, chain, commit_info, execute_info, prove_input) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (number, chain) DO NOTHING"
        } else {
            "INSERT INTO block_calls (number, chain, commit_info, execute_info, prove_input) VALUES ($1, $2, $3, $4, $5)"
        };
        for c in calls {
            sqlx::query(insert)
                .bind(number as i64)
                .bind(c.chain as i64)
                .bind(c.commit.clone())
                .bind(c.execute.clone())
                .bind(c.prove.clone())
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Stores the calls of a block stored without them (before `block_calls` existed); calls
    /// already stored stay as they are.
    pub async fn insert_calls(&self, number: u32, calls: &[StoredCalls]) -> Result<()> {
        let mut t = self.begin().await?;
        Self::write_calls(&mut t, number, calls, true).await?;
        t.commit().await?;
        Ok(())
    }

    /// What chain `chain`'s driver sends of block `number`; `None` if the block is not stored
    /// (or was stored before `block_calls` existed and not replayed since).
    pub async fn block_calls(&self, number: u32, chain: u8) -> Result<Option<StoredCalls>> {
        let row = sqlx::query(
            "SELECT commit_info, execute_info, prove_input FROM block_calls WHERE number = $1 AND chain = $2",
        )
        .bind(number as i64)
        .bind(chain as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(StoredCalls {
                chain,
                commit: r.try_get(0)?,
                execute: r.try_get(1)?,
                prove: r.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Stored blocks without calls (stored before `block_calls` existed), ascending.
    pub async fn blocks_without_calls(&self) -> Result<Vec<u32>> {
        let rows = sqlx::query(
            "SELECT number FROM blocks WHERE number NOT IN (SELECT number FROM block_calls) ORDER BY number",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| Ok(r.try_get::<i64, _>(0)? as u32))
            .collect()
    }

    /// A stored block.
    pub async fn block(&self, number: u32) -> Result<Option<StoredBlock>> {
        let row = sqlx::query("SELECT data, final_root, sync_hash FROM blocks WHERE number = $1")
            .bind(number as i64)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StoredBlock {
                number,
                data: r.try_get(0)?,
                final_root: hash32(r.try_get(1)?, "final root")?,
                sync_hash: hash32(r.try_get(2)?, "sync hash")?,
            })
        })
        .transpose()
    }

    /// The newest block's number: the newest stored block, else the newest snapshot's block
    /// (0 when there is neither).
    pub async fn last_block(&self) -> Result<u32> {
        let v: i64 = sqlx::query(
            "SELECT MAX(n) FROM (SELECT COALESCE(MAX(number), 0) AS n FROM blocks \
             UNION ALL SELECT COALESCE(MAX(number), 0) AS n FROM snapshots) AS t",
        )
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(v as u32)
    }

    /// Stores a state snapshot: state recovery writes one into an empty database, the state
    /// keeper one every few blocks (a restart replays only the blocks after the newest). A
    /// snapshot of the same block already stored stays.
    pub async fn insert_snapshot(&self, s: &Snapshot) -> Result<()> {
        // Fenced like the block it follows: a deposed keeper's late snapshot is refused.
        let mut t = self.begin().await?;
        self.check_fence(&mut t).await?;
        sqlx::query(
            "INSERT INTO snapshots (number, state, final_root, sync_hash, stored) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (number) DO NOTHING",
        )
        .bind(s.number as i64)
        .bind(s.state.clone())
        .bind(s.final_root.to_vec())
        .bind(s.sync_hash.to_vec())
        .bind(s.stored.clone())
        .execute(&mut *t)
        .await?;
        t.commit().await?;
        Ok(())
    }

    /// The newest snapshot.
    pub async fn snapshot(&self) -> Result<Option<Snapshot>> {
        self.snapshot_at_most(u32::MAX).await
    }

    /// The newest snapshot of block `number` or before.
    pub async fn snapshot_at_most(&self, number: u32) -> Result<Option<Snapshot>> {
        let row = sqlx::query(
            "SELECT number, state, final_root, sync_hash, stored FROM snapshots WHERE number <= $1 ORDER BY number DESC LIMIT 1",
        )
        .bind(number as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let number: i64 = r.try_get(0)?;
            Ok(Snapshot {
                number: number as u32,
                state: r.try_get(1)?,
                final_root: hash32(r.try_get(2)?, "snapshot final root")?,
                sync_hash: hash32(r.try_get(3)?, "snapshot sync hash")?,
                stored: r.try_get(4)?,
            })
        })
        .transpose()
    }

    /// Deletes the snapshots of blocks before `number`, except the oldest snapshot (a recovered
    /// database's: the blocks before it exist only on L1).
    pub async fn prune_snapshots(&self, number: u32) -> Result<u64> {
        Ok(sqlx::query(
            "DELETE FROM snapshots WHERE number < $1 AND number > (SELECT MIN(number) FROM snapshots)",
        )
        .bind(number as i64)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Whether the database holds nothing yet (no block, snapshot, request or transaction):
    /// where state recovery may write.
    pub async fn is_empty(&self) -> Result<bool> {
        for q in [
            "SELECT COUNT(*) FROM blocks",
            "SELECT COUNT(*) FROM snapshots",
            "SELECT COUNT(*) FROM priority_ops",
            "SELECT COUNT(*) FROM mempool",
            "SELECT COUNT(*) FROM l1_txs",
        ] {
            let n: i64 = sqlx::query(q).fetch_one(&self.pool).await?.try_get(0)?;
            if n > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Moves a block's stage on a chain forward (never back); `false` if it was already there
    /// or beyond.
    pub async fn advance_stage(&self, number: u32, chain: u8, stage: Stage) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE block_stages SET stage = $1, updated_at = $2 WHERE number = $3 AND chain = $4 AND stage < $1",
        )
        .bind(stage as i64)
        .bind(now())
        .bind(number as i64)
        .bind(chain as i64)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Raises the stage of blocks `numbers` on `chain` to `stage` (never lowers one) in one
    /// statement; how many rows changed.
    pub async fn advance_stages(
        &self,
        numbers: std::ops::RangeInclusive<u32>,
        chain: u8,
        stage: Stage,
    ) -> Result<u64> {
        if numbers.is_empty() {
            return Ok(0);
        }
        Ok(sqlx::query(
            "UPDATE block_stages SET stage = $1, updated_at = $2 WHERE number >= $3 AND number <= $4 AND chain = $5 AND stage < $1",
        )
        .bind(stage as i64)
        .bind(now())
        .bind(*numbers.start() as i64)
        .bind(*numbers.end() as i64)
        .bind(chain as i64)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// A block's stage on every chain, by chain.
    pub async fn stages(&self, number: u32) -> Result<Vec<(u8, Stage)>> {
        let rows =
            sqlx::query("SELECT chain, stage FROM block_stages WHERE number = $1 ORDER BY chain")
                .bind(number as i64)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|r| {
                let chain: i64 = r.try_get(0)?;
                Ok((chain as u8, Stage::from_i64(r.try_get(1)?)?))
            })
            .collect()
    }

    // ---- proving jobs ----------------------------------------------------------------------

    /// Queues a block's proving jobs (index = position in `payloads`). Jobs already queued are
    /// kept as they are: the payloads follow from the block, so a second writer (a restart
    /// between storing a block and its jobs, a follower process) changes nothing.
    pub async fn add_jobs(&self, number: u32, payloads: &[Vec<u8>]) -> Result<()> {
        let mut t = self.begin().await?;
        for (i, p) in payloads.iter().enumerate() {
            sqlx::query(
                "INSERT INTO proof_jobs (number, job, payload, status, attempts, updated_at) VALUES ($1, $2, $3, $4, 0, $5)
                 ON CONFLICT (number, job) DO NOTHING",
            )
            .bind(number as i64)
            .bind(i as i64)
            .bind(p.clone())
            .bind(QUEUED)
            .bind(now())
            .execute(&mut *t)
            .await?;
        }
        t.commit().await?;
        Ok(())
    }

    /// Claims the oldest job that is queued, or claimed by a worker whose lease ran out. Safe
    /// with any number of workers: the claim is a conditional update that only one can win.
    pub async fn claim_job(&self, worker: &str, lease: Duration) -> Result<Option<ClaimedJob>> {
        loop {
            let expired = now() - lease.as_secs() as i64;
            let candidate = sqlx::query(
                "SELECT number, job, attempts, status, updated_at FROM proof_jobs
                 WHERE status = $1 OR (status = $2 AND updated_at < $3)
                 ORDER BY number, job LIMIT 1",
            )
            .bind(QUEUED)
            .bind(CLAIMED)
            .bind(expired)
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = candidate else {
                return Ok(None);
            };
            let (number, job, attempts, status, updated): (i64, i64, i64, i64, i64) = (
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
                row.try_get(4)?,
            );
            let won = sqlx::query(
                "UPDATE proof_jobs SET status = $1, worker = $2, attempts = $3, updated_at = $4
                 WHERE number = $5 AND job = $6 AND status = $7 AND updated_at = $8 AND attempts = $9",
            )
            .bind(CLAIMED)
            .bind(worker.to_string())
            .bind(attempts + 1)
            .bind(now())
            .bind(number)
            .bind(job)
            .bind(status)
            .bind(updated)
            .bind(attempts)
            .execute(&self.pool)
            .await?
            .rows_affected()
                == 1;
            if !won {
                continue; // another worker took it first
            }
            let payload: Vec<u8> =
                sqlx::query("SELECT payload FROM proof_jobs WHERE number = $1 AND job = $2")
                    .bind(number)
                    .bind(job)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get(0)?;
            return Ok(Some(ClaimedJob {
                number: number as u32,
                job: job as u32,
                payload,
                attempt: attempts as u32 + 1,
            }));
        }
    }

    /// Keeps a claimed job's lease alive; `false` if the worker no longer holds it.
    pub async fn renew_job(&self, number: u32, job: u32, worker: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE proof_jobs SET updated_at = $1 WHERE number = $2 AND job = $3 AND status = $4 AND worker = $5",
        )
        .bind(now())
        .bind(number as i64)
        .bind(job as i64)
        .bind(CLAIMED)
        .bind(worker.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Stores a job's proof; `false` (and nothing stored) if the worker lost the job's lease to
    /// another worker meanwhile.
    pub async fn finish_job(
        &self,
        number: u32,
        job: u32,
        worker: &str,
        proof: &[u8],
    ) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE proof_jobs SET status = $1, proof = $2, updated_at = $3
             WHERE number = $4 AND job = $5 AND status = $6 AND worker = $7",
        )
        .bind(DONE)
        .bind(proof.to_vec())
        .bind(now())
        .bind(number as i64)
        .bind(job as i64)
        .bind(CLAIMED)
        .bind(worker.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Gives a job back: queued again if `retry` (e.g. an I/O failure), else failed for good
    /// (a deterministic failure an operator must look at).
    pub async fn fail_job(
        &self,
        number: u32,
        job: u32,
        worker: &str,
        error: &str,
        retry: bool,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE proof_jobs SET status = $1, error = $2, updated_at = $3
             WHERE number = $4 AND job = $5 AND status = $6 AND worker = $7",
        )
        .bind(if retry { QUEUED } else { FAILED })
        .bind(error.to_string())
        .bind(now())
        .bind(number as i64)
        .bind(job as i64)
        .bind(CLAIMED)
        .bind(worker.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Number of proving jobs queued for a block (done or not).
    pub async fn job_count(&self, number: u32) -> Result<u32> {
        let v: i64 = sqlx::query("SELECT COUNT(*) FROM proof_jobs WHERE number = $1")
            .bind(number as i64)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(v as u32)
    }

    /// A block's proofs in job order once every job is done; `None` before.
    pub async fn proofs(&self, number: u32) -> Result<Option<Vec<Vec<u8>>>> {
        let rows =
            sqlx::query("SELECT status, proof FROM proof_jobs WHERE number = $1 ORDER BY job")
                .bind(number as i64)
                .fetch_all(&self.pool)
                .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let status: i64 = r.try_get(0)?;
            if status != DONE {
                return Ok(None);
            }
            out.push(r.try_get(1)?);
        }
        Ok(Some(out))
    }

    /// Jobs that failed for good: (block, job, error).
    pub async fn failed_jobs(&self) -> Result<Vec<(u32, u32, String)>> {
        let rows = sqlx::query(
            "SELECT number, job, error FROM proof_jobs WHERE status = $1 ORDER BY number, job",
        )
        .bind(FAILED)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let (n, j): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
                Ok((
                    n as u32,
                    j as u32,
                    r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
                ))
            })
            .collect()
    }

    // ---- L1 senders ------------------------------------------------------------------------

    /// Inserts or replaces a sender record (JSON) of `chain`, fenced by the handle's lease, if
    /// any ([`Storage::fenced`]): a sender persists each transaction before broadcasting it, so
    /// a deposed one broadcasts nothing.
    pub async fn save_l1_tx(&self, chain: u8, id: u64, record: &str) -> Result<()> {
        let mut t = self.begin().await?;
        self.check_fence(&mut t).await?;
        let n = sqlx::query("UPDATE l1_txs SET record = $1 WHERE chain = $2 AND id = $3")
            .bind(record.to_string())
            .bind(chain as i64)
            .bind(id as i64)
            .execute(&mut *t)
            .await?
            .rows_affected();
        if n == 0 {
            sqlx::query("INSERT INTO l1_txs (chain, id, record) VALUES ($1, $2, $3)")
                .bind(chain as i64)
                .bind(id as i64)
                .bind(record.to_string())
                .execute(&mut *t)
                .await?;
        }
        t.commit().await?;
        Ok(())
    }

    /// A chain's sender records, by id.
    pub async fn l1_txs(&self, chain: u8) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT record FROM l1_txs WHERE chain = $1 ORDER BY id")
            .bind(chain as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    // ---- operator actions ------------------------------------------------------------------

    /// Discards blocks `from` and later (sealed, never committed: the caller checked), in one
    /// transaction: their rows, stages, proving jobs and attestations go; `returned` (their L2
    /// transactions, in block order) go back to the front of the mempool; for each
    /// `(chain, next_serial, cursor)` the priority requests from `next_serial` on are dropped
    /// and that chain's watcher cursor is set to `cursor`, so they are read again from L1.
    pub async fn discard_from(
        &self,
        from: u32,
        returned: &[([u8; 32], Vec<u8>)],
        requests: &[(u8, u64, String)],
    ) -> Result<()> {
        let mut t = self.begin().await?;
        for delete in [
            "DELETE FROM blocks WHERE number >= $1",
            "DELETE FROM block_stages WHERE number >= $1",
            "DELETE FROM proof_jobs WHERE number >= $1",
            "DELETE FROM block_calls WHERE number >= $1",
            "DELETE FROM snapshots WHERE number >= $1",
            "DELETE FROM attestations WHERE number >= $1",
        ]
        .into_iter()
        .chain(explorer::DISCARD)
        {
            sqlx::query(delete)
                .bind(from as i64)
                .execute(&mut *t)
                .await?;
        }
        let first: i64 = sqlx::query("SELECT COALESCE(MIN(seq), 1) FROM mempool")
            .fetch_one(&mut *t)
            .await?
            .try_get(0)?;
        let start = first - returned.len() as i64;
        for (i, (hash, tx)) in returned.iter().enumerate() {
            sqlx::query("DELETE FROM mempool WHERE hash = $1")
                .bind(hash.to_vec())
                .execute(&mut *t)
                .await?;
            sqlx::query("INSERT INTO mempool (hash, seq, tx) VALUES ($1, $2, $3)")
                .bind(hash.to_vec())
                .bind(start + i as i64)
                .bind(tx.clone())
                .execute(&mut *t)
                .await?;
        }
        for (chain, next, cursor) in requests {
            sqlx::query("DELETE FROM priority_ops WHERE chain = $1 AND serial >= $2")
                .bind(*chain as i64)
                .bind(*next as i64)
                .execute(&mut *t)
                .await?;
            sqlx::query("UPDATE watcher_cursors SET cursor = $1 WHERE chain = $2")
                .bind(cursor.clone())
                .bind(*chain as i64)
                .execute(&mut *t)
                .await?;
        }
        t.commit().await?;
        Ok(())
    }

    // ---- oracle board ----------------------------------------------------------------------

    /// Posts an oracle's signature over (block, sync_hash); posting it again is a no-op.
    pub async fn post_attestation(
        &self,
        number: u32,
        sync_hash: &[u8; 32],
        signer: &[u8; 20],
        signature: &[u8],
    ) -> Result<()> {
        self.post_signature(Board::Attestations, number, sync_hash, signer, signature)
            .await
    }

    /// The signatures posted for (block, sync_hash), ordered by signer: (signer, signature).
    pub async fn attestations(
        &self,
        number: u32,
        sync_hash: &[u8; 32],
    ) -> Result<Vec<([u8; 20], Vec<u8>)>> {
        self.signatures(Board::Attestations, number, sync_hash)
            .await
    }

    /// Posts an oracle's abandonment of (block, sync_hash); posting it again is a no-op.
    pub async fn post_abandonment(
        &self,
        number: u32,
        sync_hash: &[u8; 32],
        signer: &[u8; 20],
        signature: &[u8],
    ) -> Result<()> {
        self.post_signature(Board::Abandonments, number, sync_hash, signer, signature)
            .await
    }

    /// The abandonments posted for (block, sync_hash), ordered by signer: (signer, signature).
    pub async fn abandonments(
        &self,
        number: u32,
        sync_hash: &[u8; 32],
    ) -> Result<Vec<([u8; 20], Vec<u8>)>> {
        self.signatures(Board::Abandonments, number, sync_hash)
            .await
    }

    /// Marks blocks `from` and later `Sealed` again on every chain: after they were reverted on
    /// L1 (`rollup-node revert`), so that they can be discarded.
    pub async fn reset_stages(&self, from: u32) -> Result<()> {
        sqlx::query("UPDATE block_stages SET stage = $1, updated_at = $2 WHERE number >= $3")
            .bind(Stage::Sealed as i64)
            .bind(now())
            .bind(from as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn post_signature(
        &self,
        board: Board,
        number: u32,
        sync_hash: &[u8; 32],
        signer: &[u8; 20],
        signature: &[u8],
    ) -> Result<()> {
        let (exists_sql, insert_sql, _) = board.queries();
        let mut t = self.begin().await?;
        let exists = sqlx::query(exists_sql)
            .bind(number as i64)
            .bind(sync_hash.to_vec())
            .bind(signer.to_vec())
            .fetch_optional(&mut *t)
            .await?
            .is_some();
        if !exists {
            sqlx::query(insert_sql)
                .bind(number as i64)
                .bind(sync_hash.to_vec())
                .bind(signer.to_vec())
                .bind(signature.to_vec())
                .execute(&mut *t)
                .await?;
        }
        t.commit().await?;
        Ok(())
    }

    async fn signatures(
        &self,
        board: Board,
        number: u32,
        sync_hash: &[u8; 32],
    ) -> Result<Vec<([u8; 20], Vec<u8>)>> {
        let (_, _, list_sql) = board.queries();
        let rows = sqlx::query(list_sql)
            .bind(number as i64)
            .bind(sync_hash.to_vec())
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                let signer: Vec<u8> = r.try_get(0)?;
                let signer: [u8; 20] = signer
                    .try_into()
                    .map_err(|_| StorageError::Corrupt("signer is not 20 bytes".into()))?;
                Ok((signer, r.try_get(1)?))
            })
            .collect()
    }
}

/// The oracles' two boards (same shape; distinct tables so that a signature can never be read as
/// the other kind).
#[derive(Clone, Copy)]
enum Board {
    Attestations,
    Abandonments,
}

impl Board {
    /// (exists, insert, list by signer) for this board's table.
    fn queries(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Board::Attestations => (
                "SELECT 1 FROM attestations WHERE number = $1 AND sync_hash = $2 AND signer = $3",
                "INSERT INTO attestations (number, sync_hash, signer, signature) VALUES ($1, $2, $3, $4)",
                "SELECT signer, signature FROM attestations WHERE number = $1 AND sync_hash = $2 ORDER BY signer",
            ),
            Board::Abandonments => (
                "SELECT 1 FROM abandonments WHERE number = $1 AND sync_hash = $2 AND signer = $3",
                "INSERT INTO abandonments (number, sync_hash, signer, signature) VALUES ($1, $2, $3, $4)",
                "SELECT signer, signature FROM abandonments WHERE number = $1 AND sync_hash = $2 ORDER BY signer",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failover_is_retryable_and_a_broken_rule_is_not() {
        // Connection failure, admin shutdown, crash, start-up, a standby refusing writes.
        for code in ["08006", "08001", "57P01", "57P02", "57P03", "25006"] {
            assert!(retryable_sqlstate(code), "{code}");
        }
        // Unique violation, serialization failure, syntax error, undefined table.
        for code in ["23505", "40001", "42601", "42P01"] {
            assert!(!retryable_sqlstate(code), "{code}");
        }
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(StorageError::Db(sqlx::Error::Io(io)).retryable());
        assert!(StorageError::Db(sqlx::Error::PoolTimedOut).retryable());
        assert!(!StorageError::Fenced("keeper".into()).retryable());
        assert!(!StorageError::Corrupt("x".into()).retryable());
        assert!(!StorageError::Db(sqlx::Error::RowNotFound).retryable());
    }
}
