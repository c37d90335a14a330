//! What the explorer and the status queries read (`migrations/0006_explorer.sql`): each block's
//! summary and its transactions by hash, which accounts each transaction touches, the L1
//! transaction of every stage on every chain, the tokens and L1 facts of each chain.
//!
//! The storage crate does not know the transaction format: the keeper passes each block's
//! [`BlockIndex`] (summary JSON, kinds, touched accounts) with the block itself
//! ([`Storage::insert_block`]), so a block is never stored without it.

use crate::{Result, Stage, Storage, StorageError, hash32};
use sqlx::Row;

/// One transaction of a block as indexed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedTx {
    /// Its hash.
    pub hash: [u8; 32],
    /// Its kind (`transfer`, `deposit`, …).
    pub kind: String,
    /// The chain whose nonce or priority queue it uses.
    pub chain: u8,
    /// Its canonical encoding.
    pub tx: Vec<u8>,
    /// The accounts it touches (sender first; duplicates are ignored).
    pub accounts: Vec<u32>,
}

/// What is indexed of a block, written with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockIndex {
    /// JSON summary (the node's `explorer` module defines and reads it); empty: none, the
    /// block stays listed by [`Storage::unindexed_blocks`].
    pub summary: String,
    /// Its transactions, in block order.
    pub txs: Vec<IndexedTx>,
}

/// A stored block as the explorer lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    /// Number.
    pub number: u32,
    /// When it was sealed (Unix seconds).
    pub created_at: i64,
    /// `final_root` after it.
    pub final_root: [u8; 32],
    /// Its `sync_hash`.
    pub sync_hash: [u8; 32],
    /// Its summary; `None` for a block not indexed yet.
    pub summary: Option<String>,
}

/// A transaction's place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRef {
    /// Its hash.
    pub hash: [u8; 32],
    /// Its kind.
    pub kind: String,
    /// The chain whose nonce or queue it uses.
    pub chain: u8,
    /// The block.
    pub number: u32,
    /// Position in the block.
    pub position: u32,
}

/// The L1 transaction that moved a block to a stage on a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageTx {
    /// Block number.
    pub number: u32,
    /// Rollup chain id.
    pub chain: u8,
    /// The stage reached.
    pub stage: Stage,
    /// The L1 transaction.
    pub l1_hash: [u8; 32],
    /// Its L1 block.
    pub l1_block: u64,
    /// Gas it used (the whole transaction's, which may cover several blocks).
    pub gas_used: u64,
    /// When it was mined: its L1 block's timestamp (Unix ms).
    pub at_ms: i64,
}

/// A token registered on a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Rollup chain id.
    pub chain: u8,
    /// Token id on that chain.
    pub token: u16,
    /// Its ERC-20 contract.
    pub address: [u8; 20],
    /// Its symbol, if it reports one.
    pub symbol: Option<String>,
    /// Decimals as the rollup contract recorded them.
    pub decimals: u8,
}

/// A chain's L1 facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L1Chain {
    /// Rollup chain id.
    pub chain: u8,
    /// EVM chain id.
    pub evm_chain_id: u64,
    /// The rollup contract.
    pub contract: [u8; 20],
    /// The registered oracles.
    pub oracles: Vec<[u8; 20]>,
    /// Signatures needed.
    pub oracle_threshold: u8,
}

fn addr20(v: Vec<u8>, what: &str) -> Result<[u8; 20]> {
    v.try_into()
        .map_err(|_| StorageError::Corrupt(format!("{what} is not 20 bytes")))
}

fn tx_ref(r: &sqlx::any::AnyRow) -> Result<TxRef> {
    let chain: i64 = r.try_get("chain")?;
    let number: i64 = r.try_get("number")?;
    let position: i64 = r.try_get("position")?;
    Ok(TxRef {
        hash: hash32(r.try_get("hash")?, "tx hash")?,
        kind: r.try_get("kind")?,
        chain: chain as u8,
        number: number as u32,
        position: position as u32,
    })
}

fn block_row(r: &sqlx::any::AnyRow) -> Result<BlockRow> {
    let number: i64 = r.try_get(0)?;
    Ok(BlockRow {
        number: number as u32,
        created_at: r.try_get(1)?,
        final_root: hash32(r.try_get(2)?, "final root")?,
        sync_hash: hash32(r.try_get(3)?, "sync hash")?,
        summary: r.try_get(4)?,
    })
}

/// Writes block `number`'s index inside `t` (an upsert: indexing again is harmless).
pub(crate) async fn write_index(
    t: &mut sqlx::Transaction<'static, sqlx::Any>,
    number: u32,
    index: &BlockIndex,
) -> Result<()> {
    sqlx::query("UPDATE blocks SET summary = $1 WHERE number = $2")
        .bind((!index.summary.is_empty()).then(|| index.summary.clone()))
        .bind(number as i64)
        .execute(&mut **t)
        .await?;
    for (position, tx) in index.txs.iter().enumerate() {
        sqlx::query(
            "INSERT INTO block_txs (hash, number, position, kind, chain, tx) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (hash) DO UPDATE SET number = $2, position = $3, kind = $4, chain = $5, tx = $6",
        )
        .bind(tx.hash.to_vec())
        .bind(number as i64)
        .bind(position as i64)
        .bind(tx.kind.clone())
        .bind(tx.chain as i64)
        .bind(tx.tx.clone())
        .execute(&mut **t)
        .await?;
        for account in &tx.accounts {
            sqlx::query(
                "INSERT INTO account_txs (account, number, position, hash) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (account, number, position) DO UPDATE SET hash = $4",
            )
            .bind(*account as i64)
            .bind(number as i64)
            .bind(position as i64)
            .bind(tx.hash.to_vec())
            .execute(&mut **t)
            .await?;
        }
    }
    Ok(())
}

/// The explorer's tables deleted from block `from` on, inside `t` (discard, revert).
pub(crate) const DISCARD: [&str; 3] = [
    "DELETE FROM block_txs WHERE number >= $1",
    "DELETE FROM account_txs WHERE number >= $1",
    "DELETE FROM stage_txs WHERE number >= $1",
];

/// Writes `rows` inside `t` (the watcher's batch: with its cursor).
pub(crate) async fn write_stage_txs(
    t: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows: &[StageTx],
) -> Result<()> {
    for s in rows {
        sqlx::query(
            "INSERT INTO stage_txs (number, chain, stage, l1_hash, l1_block, gas_used, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (number, chain, stage) DO UPDATE \
             SET l1_hash = $4, l1_block = $5, gas_used = $6, at_ms = $7",
        )
        .bind(s.number as i64)
        .bind(s.chain as i64)
        .bind(s.stage as i64)
        .bind(s.l1_hash.to_vec())
        .bind(s.l1_block as i64)
        .bind(s.gas_used as i64)
        .bind(s.at_ms)
        .execute(&mut **t)
        .await?;
    }
    Ok(())
}

impl Storage {
    /// Indexes a stored block (the keeper's restore, for blocks stored before the index
    /// existed).
    pub async fn index_block(&self, number: u32, index: &BlockIndex) -> Result<()> {
        let mut t = self.begin().await?;
        write_index(&mut t, number, index).await?;
        t.commit().await?;
        Ok(())
    }

    /// Stored blocks without a summary, ascending.
    pub async fn unindexed_blocks(&self) -> Result<Vec<u32>> {
        let rows = sqlx::query("SELECT number FROM blocks WHERE summary IS NULL ORDER BY number")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<i64, _>(0)? as u32))
            .collect()
    }

    /// Up to `limit` stored blocks below `before` (all when `None`), newest first.
    pub async fn blocks_page(&self, before: Option<u32>, limit: u32) -> Result<Vec<BlockRow>> {
        let rows = sqlx::query(
            "SELECT number, created_at, final_root, sync_hash, summary FROM blocks \
             WHERE number < $1 ORDER BY number DESC LIMIT $2",
        )
        .bind(before.map_or(i64::MAX, i64::from))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(block_row).collect()
    }

    /// One stored block as the explorer lists it.
    pub async fn block_row(&self, number: u32) -> Result<Option<BlockRow>> {
        let row = sqlx::query(
            "SELECT number, created_at, final_root, sync_hash, summary FROM blocks WHERE number = $1",
        )
        .bind(number as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(block_row).transpose()
    }

    /// Every (block, chain, stage) for blocks `lo..=hi`.
    pub async fn stages_between(&self, lo: u32, hi: u32) -> Result<Vec<(u32, u8, Stage)>> {
        let rows = sqlx::query(
            "SELECT number, chain, stage FROM block_stages WHERE number >= $1 AND number <= $2",
        )
        .bind(lo as i64)
        .bind(hi as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get(0)?;
                let c: i64 = r.try_get(1)?;
                Ok((n as u32, c as u8, Stage::from_i64(r.try_get(2)?)?))
            })
            .collect()
    }

    /// The stage transactions of blocks `lo..=hi`.
    pub async fn stage_txs_between(&self, lo: u32, hi: u32) -> Result<Vec<StageTx>> {
        let rows = sqlx::query(
            "SELECT number, chain, stage, l1_hash, l1_block, gas_used, at_ms FROM stage_txs \
             WHERE number >= $1 AND number <= $2",
        )
        .bind(lo as i64)
        .bind(hi as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get(0)?;
                let c: i64 = r.try_get(1)?;
                let b: i64 = r.try_get(4)?;
                let g: i64 = r.try_get(5)?;
                Ok(StageTx {
                    number: n as u32,
                    chain: c as u8,
                    stage: Stage::from_i64(r.try_get(2)?)?,
                    l1_hash: hash32(r.try_get(3)?, "L1 hash")?,
                    l1_block: b as u64,
                    gas_used: g as u64,
                    at_ms: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Per chain and stage, the newest block at that stage.
    pub async fn chain_progress(&self) -> Result<Vec<(u8, Stage, u32)>> {
        let rows =
            sqlx::query("SELECT chain, stage, MAX(number) FROM block_stages GROUP BY chain, stage")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let c: i64 = r.try_get(0)?;
                let n: i64 = r.try_get(2)?;
                Ok((c as u8, Stage::from_i64(r.try_get(1)?)?, n as u32))
            })
            .collect()
    }

    /// A block's transactions, in order.
    pub async fn block_tx_refs(&self, number: u32) -> Result<Vec<TxRef>> {
        let rows = sqlx::query(
            "SELECT hash, kind, chain, number, position FROM block_txs WHERE number = $1 ORDER BY position",
        )
        .bind(number as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(tx_ref).collect()
    }

    /// A sealed transaction by hash: its place and encoding.
    pub async fn indexed_tx(&self, hash: &[u8; 32]) -> Result<Option<(TxRef, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT hash, kind, chain, number, position, tx FROM block_txs WHERE hash = $1",
        )
        .bind(hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((tx_ref(&r)?, r.try_get("tx")?))).transpose()
    }

    /// An account's newest `limit` transactions, newest first.
    pub async fn account_txs(&self, account: u32, limit: u32) -> Result<Vec<TxRef>> {
        let rows = sqlx::query(
            "SELECT b.hash, b.kind, b.chain, b.number, b.position FROM account_txs a \
             JOIN block_txs b ON b.hash = a.hash WHERE a.account = $1 \
             ORDER BY a.number DESC, a.position DESC LIMIT $2",
        )
        .bind(account as i64)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(tx_ref).collect()
    }

    /// Stores (or updates) registered tokens.
    pub async fn save_tokens(&self, tokens: &[Token]) -> Result<()> {
        let mut t = self.begin().await?;
        for tk in tokens {
            sqlx::query(
                "INSERT INTO tokens (chain, token, address, symbol, decimals) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (chain, token) DO UPDATE SET address = $3, symbol = $4, decimals = $5",
            )
            .bind(tk.chain as i64)
            .bind(tk.token as i64)
            .bind(tk.address.to_vec())
            .bind(tk.symbol.clone())
            .bind(tk.decimals as i64)
            .execute(&mut *t)
            .await?;
        }
        t.commit().await?;
        Ok(())
    }

    /// Every stored token, by chain and id.
    pub async fn tokens(&self) -> Result<Vec<Token>> {
        let rows = sqlx::query(
            "SELECT chain, token, address, symbol, decimals FROM tokens ORDER BY chain, token",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let c: i64 = r.try_get(0)?;
                let t: i64 = r.try_get(1)?;
                let d: i64 = r.try_get(4)?;
                Ok(Token {
                    chain: c as u8,
                    token: t as u16,
                    address: addr20(r.try_get(2)?, "token address")?,
                    symbol: r.try_get(3)?,
                    decimals: d as u8,
                })
            })
            .collect()
    }

    /// Stores a chain's L1 facts.
    pub async fn save_l1_chain(&self, c: &L1Chain) -> Result<()> {
        let oracles: Vec<u8> = c.oracles.concat();
        sqlx::query(
            "INSERT INTO l1_chains (chain, evm_chain_id, contract, oracles, oracle_threshold, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (chain) DO UPDATE SET evm_chain_id = $2, \
             contract = $3, oracles = $4, oracle_threshold = $5, updated_at = $6",
        )
        .bind(c.chain as i64)
        .bind(c.evm_chain_id as i64)
        .bind(c.contract.to_vec())
        .bind(oracles)
        .bind(c.oracle_threshold as i64)
        .bind(crate::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every chain's stored L1 facts.
    pub async fn l1_chains(&self) -> Result<Vec<L1Chain>> {
        let rows = sqlx::query(
            "SELECT chain, evm_chain_id, contract, oracles, oracle_threshold FROM l1_chains ORDER BY chain",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let c: i64 = r.try_get(0)?;
                let e: i64 = r.try_get(1)?;
                let th: i64 = r.try_get(4)?;
                let bytes: Vec<u8> = r.try_get(3)?;
                if !bytes.len().is_multiple_of(20) {
                    return Err(StorageError::Corrupt("oracle list".into()));
                }
                let oracles = bytes
                    .chunks(20)
                    .map(|a| addr20(a.to_vec(), "oracle"))
                    .collect::<Result<Vec<_>>>()?;
                Ok(L1Chain {
                    chain: c as u8,
                    evm_chain_id: e as u64,
                    contract: addr20(r.try_get(2)?, "contract")?,
                    oracles,
                    oracle_threshold: th as u8,
                })
            })
            .collect()
    }
}
