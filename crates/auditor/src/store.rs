//! The auditor's own database (SQLite, `sqlite://path`): the priority requests its watchers read
//! (with their cursors, atomically), the blocks it approved (their inputs, replayed at start to
//! rebuild the replica, and the signed approvals), and halts with their evidence, which only an
//! operator resolves. Nothing here is shared with the node.

use crate::replay::{Audited, Auditor, Mismatch};
use alloy::primitives::Bytes;
use alloy::sol_types::SolValue;
use rollup_l1::bindings::Rollup::CommitBlockInfo;
use rollup_state::NetworkConfig;
use rollup_types::ChainId;
use rollup_types::tx::Tx;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Row};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Errors of the auditor's store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not decode.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The stored approved blocks do not replay (state or code changed).
    #[error("stored block does not replay: {0}")]
    Replay(#[from] Mismatch),
}

type Result<T> = std::result::Result<T, StoreError>;

/// An unresolved halt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    /// Row id (what `resume` resolves).
    pub id: i64,
    /// The refused block.
    pub number: u32,
    /// The mismatch, in words.
    pub reason: String,
    /// Evidence (JSON: the inputs given, what the replay expected).
    pub evidence: String,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The ABI encoding of a block's inputs: `(bytes chains, CommitBlockInfo[] inputs)`, one chain id
/// per byte.
pub fn encode_inputs(inputs: &[(ChainId, CommitBlockInfo)]) -> Vec<u8> {
    let chains: Bytes = inputs.iter().map(|(c, _)| c.0).collect::<Vec<u8>>().into();
    let infos: Vec<CommitBlockInfo> = inputs.iter().map(|(_, i)| i.clone()).collect();
    (chains, infos).abi_encode()
}

/// Decodes [`encode_inputs`].
pub fn decode_inputs(bytes: &[u8]) -> std::result::Result<Vec<(ChainId, CommitBlockInfo)>, String> {
    let (chains, infos) =
        <(Bytes, Vec<CommitBlockInfo>)>::abi_decode(bytes).map_err(|e| format!("inputs: {e}"))?;
    if chains.len() != infos.len() {
        return Err("inputs: chains and infos differ in length".into());
    }
    Ok(chains.iter().map(|c| ChainId(*c)).zip(infos).collect())
}

/// The auditor's database.
#[derive(Clone, Debug)]
pub struct AuditStore {
    pool: SqlitePool,
}

impl AuditStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path`) and migrates it.
    pub async fn open(url: &str) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(AuditStore { pool })
    }

    /// Stores requests read from `chain`'s queue and the watcher's new cursor, atomically.
    pub async fn record_requests(
        &self,
        chain: ChainId,
        requests: &[(u64, Vec<u8>)],
        cursor: &str,
    ) -> Result<()> {
        let mut t = self.pool.begin().await?;
        for (serial, tx) in requests {
            sqlx::query("INSERT OR REPLACE INTO requests (chain, serial, tx) VALUES (?, ?, ?)")
                .bind(chain.0 as i64)
                .bind(*serial as i64)
                .bind(tx)
                .execute(&mut *t)
                .await?;
        }
        sqlx::query("INSERT OR REPLACE INTO cursors (chain, cursor) VALUES (?, ?)")
            .bind(chain.0 as i64)
            .bind(cursor)
            .execute(&mut *t)
            .await?;
        t.commit().await?;
        Ok(())
    }

    /// Where `chain`'s watcher resumes.
    pub async fn cursor(&self, chain: ChainId) -> Result<Option<String>> {
        Ok(sqlx::query("SELECT cursor FROM cursors WHERE chain = ?")
            .bind(chain.0 as i64)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    /// Every stored request, by (chain, serial).
    pub async fn requests(&self) -> Result<HashMap<(ChainId, u64), Tx>> {
        let rows = sqlx::query("SELECT chain, serial, tx FROM requests")
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| {
                let (c, s, b): (i64, i64, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
                let tx =
                    Tx::decode(&b).map_err(|e| StoreError::Corrupt(format!("request: {e}")))?;
                Ok(((ChainId(c as u8), s as u64), tx))
            })
            .collect()
    }

    /// Records an approved block: its inputs, what the audit gave (with every chain's expected
    /// stored-block hash) and the signed approval.
    pub async fn record_audited(
        &self,
        inputs: &[(ChainId, CommitBlockInfo)],
        audited: &Audited,
        approval: &[u8],
    ) -> Result<()> {
        let stored: Vec<u8> = (0..inputs.len())
            .flat_map(|i| alloy::primitives::keccak256(audited.stored_block(i).abi_encode()).0)
            .collect();
        sqlx::query(
            "INSERT INTO audited (number, inputs, final_root, sync_hash, approval, at, stored_hashes) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(audited.number as i64)
        .bind(encode_inputs(inputs))
        .bind(audited.final_root.to_vec())
        .bind(audited.sync_hash.to_vec())
        .bind(approval.to_vec())
        .bind(now())
        .bind(stored)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What the `index`-th chain's (ascending id) `storedBlockHashes(number)` must hold: `None`
    /// when the auditor never approved that block.
    pub async fn stored_hash(&self, number: u32, index: usize) -> Result<Option<[u8; 32]>> {
        let row = sqlx::query("SELECT stored_hashes FROM audited WHERE number = ?")
            .bind(number as i64)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let bytes: Option<Vec<u8>> = row.get(0);
        Ok(bytes.and_then(|b| {
            b.get(index * 32..index * 32 + 32)
                .map(|h| h.try_into().expect("32 bytes"))
        }))
    }

    /// The committed blocks of `chain` already compared with the approvals.
    pub async fn l1_checked(&self, chain: ChainId) -> Result<u32> {
        Ok(
            sqlx::query("SELECT committed FROM l1_checked WHERE chain = ?")
                .bind(chain.0 as i64)
                .fetch_optional(&self.pool)
                .await?
                .map_or(0, |r| r.get::<i64, _>(0) as u32),
        )
    }

    /// Records how far `chain`'s commits were compared.
    pub async fn set_l1_checked(&self, chain: ChainId, committed: u32) -> Result<()> {
        sqlx::query("INSERT OR REPLACE INTO l1_checked (chain, committed) VALUES (?, ?)")
            .bind(chain.0 as i64)
            .bind(committed as i64)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The inputs of approved block `number` (as `encode_inputs` writes them).
    pub async fn audited_inputs(&self, number: u32) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query("SELECT inputs FROM audited WHERE number = ?")
            .bind(number as i64)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    /// Forgets the approvals of blocks `from` and later (no chain holds them: the caller
    /// checked), so that the blocks the node seals under those numbers are audited afresh. What
    /// was compared of the chains' commits is rewound with them.
    pub async fn forget_from(&self, from: u32) -> Result<()> {
        let mut t = self.pool.begin().await?;
        sqlx::query("DELETE FROM audited WHERE number >= ?")
            .bind(from as i64)
            .execute(&mut *t)
            .await?;
        sqlx::query("UPDATE l1_checked SET committed = ? WHERE committed >= ?")
            .bind(from as i64 - 1)
            .bind(from as i64)
            .execute(&mut *t)
            .await?;
        t.commit().await?;
        Ok(())
    }

    /// The approval of block `number`, if approved.
    pub async fn approval(&self, number: u32) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query("SELECT approval FROM audited WHERE number = ?")
            .bind(number as i64)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    /// The newest approved block (0 before any).
    pub async fn last_approved(&self) -> Result<u32> {
        let n: Option<i64> = sqlx::query("SELECT MAX(number) FROM audited")
            .fetch_one(&self.pool)
            .await?
            .get(0);
        Ok(n.unwrap_or(0) as u32)
    }

    /// Rebuilds the replica: genesis, then every approved block's inputs through the audit.
    pub async fn restore(&self, network: &NetworkConfig, capacity: usize) -> Result<Auditor> {
        let mut auditor = Auditor::genesis(network, capacity)
            .map_err(|e| StoreError::Corrupt(format!("network: {e}")))?;
        let requests = self.requests().await?;
        let lookup = |c: ChainId, s: u64| requests.get(&(c, s)).cloned();
        let rows = sqlx::query("SELECT number, inputs, sync_hash FROM audited ORDER BY number")
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            let (n, bytes, sync): (i64, Vec<u8>, Vec<u8>) = (r.get(0), r.get(1), r.get(2));
            let inputs = decode_inputs(&bytes).map_err(StoreError::Corrupt)?;
            let audited = auditor.audit(&inputs, &lookup)?;
            if audited.number as i64 != n || audited.sync_hash.as_slice() != sync.as_slice() {
                return Err(StoreError::Corrupt(format!(
                    "block {n} replays to another sync hash"
                )));
            }
        }
        Ok(auditor)
    }

    /// Records a halt with its evidence.
    pub async fn halt(&self, number: u32, reason: &str, evidence: &str) -> Result<()> {
        sqlx::query("INSERT INTO halts (number, reason, evidence, at) VALUES (?, ?, ?, ?)")
            .bind(number as i64)
            .bind(reason)
            .bind(evidence)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The unresolved halt, if any (the oldest).
    pub async fn active_halt(&self) -> Result<Option<Halt>> {
        Ok(sqlx::query(
            "SELECT id, number, reason, evidence FROM halts WHERE resolved_at IS NULL ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(|r| Halt {
            id: r.get(0),
            number: r.get::<i64, _>(1) as u32,
            reason: r.get(2),
            evidence: r.get(3),
        }))
    }

    /// The operator's action: resolves every open halt with `resolution`; `false` if none was
    /// open.
    pub async fn resume(&self, resolution: &str) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE halts SET resolved_at = ?, resolution = ? WHERE resolved_at IS NULL",
        )
        .bind(now())
        .bind(resolution)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0)
    }
}
