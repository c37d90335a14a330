//! The per-chain transaction sender: signs locally (EIP-1559), **persists every signed transaction
//! before broadcasting it**, reconciles with the chain at start-up, bumps the fees of a transaction
//! that stays unmined, and classifies every node error as retryable or fatal.
//!
//! Life of a transaction ([`TxStatus`]): `Signed` (persisted; perhaps not broadcast) → `Sent` (a
//! node accepted it, or already had it) → `Confirmed` (a receipt for one of its attempts; success
//! or revert) — or `Failed` (a fatal send error; its nonce was never used) or `Dropped` (the nonce
//! was used by a transaction that is not ours). A failed broadcast never marks a transaction
//! `Sent`. After a crash, [`Sender::open`] finds each unfinished transaction's receipt or
//! re-broadcasts the same signed bytes (harmless if the node already has them), so nothing is
//! lost and nothing is sent twice: every attempt of a transaction shares its nonce.

use crate::{L1Error, rpc};
use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::{BlockNumberOrTag, Encodable2718};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Fee and timing policy.
#[derive(Clone, Copy, Debug)]
pub struct SenderConfig {
    /// Priority fee (tip) of a first attempt, in wei.
    pub priority_fee: u128,
    /// A sent transaction without a receipt after this long gets a fee bump.
    pub bump_after: Duration,
    /// Each bump raises both fees by at least this factor (in per mille; nodes require ≥ 1100).
    pub bump_per_mille: u128,
    /// Most fee per gas the sender will ever offer, in wei.
    pub max_fee_cap: u128,
    /// Gas limit = estimate × this factor (per mille), for state that moves between estimate and
    /// inclusion.
    pub gas_margin_per_mille: u64,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            priority_fee: 1_000_000_000,
            bump_after: Duration::from_secs(60),
            bump_per_mille: 1_125,
            max_fee_cap: 1_000_000_000_000,
            gas_margin_per_mille: 1_200,
        }
    }
}

/// One signed version of a transaction (same nonce, other fees).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// Transaction hash.
    pub hash: B256,
    /// The signed transaction (EIP-2718 bytes).
    pub raw: Bytes,
    /// Max fee per gas.
    pub max_fee: u128,
    /// Max priority fee per gas.
    pub priority_fee: u128,
    /// When it was last broadcast (unix seconds; 0: never).
    pub sent_at: u64,
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxStatus {
    /// Signed and persisted; not known to have reached a node.
    Signed,
    /// A node accepted it.
    Sent,
    /// Mined: the attempt that made it, its block and whether it succeeded.
    Confirmed {
        /// The mined attempt.
        hash: B256,
        /// Its block.
        block: u64,
        /// `false`: it reverted.
        success: bool,
    },
    /// A fatal error before any node took it; its nonce is free again.
    Failed {
        /// Why.
        reason: String,
    },
    /// Its nonce was consumed by a transaction that is none of its attempts.
    Dropped,
}

impl TxStatus {
    /// Whether nothing more will happen to it.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TxStatus::Confirmed { .. } | TxStatus::Failed { .. } | TxStatus::Dropped
        )
    }
}

/// A transaction the sender is responsible for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    /// Local id (increasing).
    pub id: u64,
    /// What it is for (e.g. "commit 12"), for logs and the API.
    pub label: String,
    /// Destination.
    pub to: Address,
    /// Calldata.
    pub data: Bytes,
    /// Value in wei.
    pub value: U256,
    /// Nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Signed versions, oldest first.
    pub attempts: Vec<Attempt>,
    /// Status.
    pub status: TxStatus,
}

/// Durable storage of a sender's records. Every write must be durable when it returns.
pub trait TxStore: Send {
    /// All records.
    fn load(&self) -> impl Future<Output = Result<Vec<TxRecord>, L1Error>> + Send;
    /// Inserts or replaces the record with `record.id`.
    fn save(&mut self, record: &TxRecord) -> impl Future<Output = Result<(), L1Error>> + Send;
}

/// A [`TxStore`] in one JSON file, replaced atomically (write, fsync, rename, fsync the
/// directory) on every save. For the node's database-backed store see the storage crate.
pub struct FileStore {
    path: PathBuf,
    records: Vec<TxRecord>,
}

impl FileStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, L1Error> {
        let records = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| L1Error::Store(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(L1Error::Store(format!("{}: {e}", path.display()))),
        };
        Ok(FileStore {
            path: path.to_path_buf(),
            records,
        })
    }
}

impl TxStore for FileStore {
    async fn load(&self) -> Result<Vec<TxRecord>, L1Error> {
        Ok(self.records.clone())
    }

    async fn save(&mut self, record: &TxRecord) -> Result<(), L1Error> {
        use std::io::Write;
        match self.records.iter_mut().find(|r| r.id == record.id) {
            Some(r) => *r = record.clone(),
            None => self.records.push(record.clone()),
        }
        let io = |e: std::io::Error| L1Error::Store(format!("{}: {e}", self.path.display()));
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&serde_json::to_vec_pretty(&self.records).expect("records serialize"))
            .map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = std::fs::File::open(dir)
        {
            d.sync_all().map_err(io)?;
        }
        Ok(())
    }
}

/// What a node's refusal of a transaction means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendErrorKind {
    /// The node already has this exact transaction: it is sent.
    AlreadyKnown,
    /// The nonce is used: by one of our attempts (mined) or by someone else.
    NonceTooLow,
    /// Fees too low for the pool or for replacing our previous attempt: bump and retry.
    Underpriced,
    /// The node limits our rate: retry later.
    RateLimited,
    /// Transport failure (connection, timeout): retry later.
    Transport,
    /// The account cannot pay for it: fatal until funded.
    InsufficientFunds,
    /// Malformed or impossible (intrinsic gas, gas limit, signature, chain id): fatal.
    Invalid,
    /// Anything else: treated as retryable, and logged.
    Unknown,
}

impl SendErrorKind {
    /// Whether sending the same transaction again later may succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            SendErrorKind::RateLimited | SendErrorKind::Transport | SendErrorKind::Unknown
        )
    }
}

/// Classifies a node's error message (geth, anvil, erigon, nethermind and common RPC providers
/// word them alike).
pub fn classify(message: &str) -> SendErrorKind {
    let m = message.to_ascii_lowercase();
    let has = |s: &str| m.contains(s);
    if has("already known") || has("already imported") || has("known transaction") {
        SendErrorKind::AlreadyKnown
    } else if has("nonce too low") || has("nonce is too low") || has("oldnonce") {
        SendErrorKind::NonceTooLow
    } else if has("underpriced")
        || has("fee cap less than block base fee")
        || has("max fee per gas less than block base fee")
        || has("feetoolow")
    {
        SendErrorKind::Underpriced
    } else if has("insufficient funds") {
        SendErrorKind::InsufficientFunds
    } else if has("429")
        || has("rate limit")
        || has("too many requests")
        || has("exceeded") && has("limit") && !has("gas")
    {
        SendErrorKind::RateLimited
    } else if has("intrinsic gas too low")
        || has("exceeds block gas limit")
        || has("invalid sender")
        || has("invalid signature")
        || has("invalid chain id")
        || has("chain id mismatch")
    {
        SendErrorKind::Invalid
    } else if has("connection")
        || has("timed out")
        || has("timeout")
        || has("error sending request")
        || has("broken pipe")
    {
        SendErrorKind::Transport
    } else {
        SendErrorKind::Unknown
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The sender of one account on one chain.
pub struct Sender<P, S> {
    provider: P,
    signer: PrivateKeySigner,
    chain_id: u64,
    store: S,
    cfg: SenderConfig,
    records: Vec<TxRecord>,
}

impl<P: Provider, S: TxStore> Sender<P, S> {
    /// Opens the sender over `store` and reconciles it with the chain: each unfinished
    /// transaction is confirmed from its receipt, dropped if its nonce went to another
    /// transaction, or broadcast again (its persisted bytes).
    pub async fn open(
        provider: P,
        signer: PrivateKeySigner,
        store: S,
        cfg: SenderConfig,
    ) -> Result<Self, L1Error> {
        let chain_id = provider.get_chain_id().await.map_err(rpc)?;
        let records = store.load().await?;
        let mut s = Sender {
            provider,
            signer,
            chain_id,
            store,
            cfg,
            records,
        };
        let open: Vec<u64> = s
            .records
            .iter()
            .filter(|r| !r.status.is_final())
            .map(|r| r.id)
            .collect();
        for id in open {
            let mined = s.settle(id).await?;
            if !mined && !s.records[s.index(id)?].status.is_final() {
                // Not mined: push the latest signed bytes again.
                match s.broadcast(id).await {
                    Ok(()) => {}
                    Err(e) if e.retryable() => {
                        tracing::warn!(id, error = %e, "re-broadcast after restart failed; will retry")
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(s)
    }

    /// The sending account.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// A transaction by id.
    pub fn record(&self, id: u64) -> Option<&TxRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    /// All transactions.
    pub fn records(&self) -> &[TxRecord] {
        &self.records
    }

    fn index(&self, id: u64) -> Result<usize, L1Error> {
        self.records
            .iter()
            .position(|r| r.id == id)
            .ok_or_else(|| L1Error::Invalid(format!("no transaction {id}")))
    }

    async fn fees(&self) -> Result<(u128, u128), L1Error> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc)?
            .ok_or_else(|| L1Error::Rpc("no latest block".into()))?;
        let base = block.header.base_fee_per_gas.unwrap_or(0) as u128;
        let prio = self.cfg.priority_fee;
        Ok(((2 * base + prio).min(self.cfg.max_fee_cap), prio))
    }

    fn sign(&self, r: &TxRecord, max_fee: u128, priority_fee: u128) -> Result<Attempt, L1Error> {
        let mut tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce: r.nonce,
            gas_limit: r.gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority_fee,
            to: TxKind::Call(r.to),
            value: r.value,
            access_list: Default::default(),
            input: r.data.clone(),
        };
        let sig = self
            .signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| L1Error::Invalid(format!("signing: {e}")))?;
        let envelope = TxEnvelope::from(tx.into_signed(sig));
        Ok(Attempt {
            hash: *envelope.tx_hash(),
            raw: envelope.encoded_2718().into(),
            max_fee,
            priority_fee,
            sent_at: 0,
        })
    }

    /// Estimates, signs and persists a transaction (status `Signed`); nothing is broadcast. A
    /// call that would revert is refused here ([`L1Error::Reverted`]) and nothing is stored.
    pub async fn prepare(
        &mut self,
        label: &str,
        to: Address,
        data: Bytes,
        value: U256,
    ) -> Result<u64, L1Error> {
        let request = TransactionRequest::default()
            .from(self.address())
            .to(to)
            .input(data.clone().into())
            .value(value);
        let estimate = self.provider.estimate_gas(request).await.map_err(|e| {
            let msg = e.to_string();
            match classify(&msg) {
                k if k.retryable() && !msg.contains("revert") => L1Error::Rpc(msg),
                _ => L1Error::Reverted(msg),
            }
        })?;
        let gas_limit = estimate.saturating_mul(self.cfg.gas_margin_per_mille) / 1000;
        let chain_nonce = self
            .provider
            .get_transaction_count(self.address())
            .pending()
            .await
            .map_err(rpc)?;
        let ours = self
            .records
            .iter()
            .filter(|r| !matches!(r.status, TxStatus::Failed { .. }))
            .map(|r| r.nonce + 1)
            .max()
            .unwrap_or(0);
        let (max_fee, priority_fee) = self.fees().await?;
        let id = self.records.iter().map(|r| r.id + 1).max().unwrap_or(0);
        let mut record = TxRecord {
            id,
            label: label.to_string(),
            to,
            data,
            value,
            nonce: chain_nonce.max(ours),
            gas_limit,
            attempts: Vec::new(),
            status: TxStatus::Signed,
        };
        record
            .attempts
            .push(self.sign(&record, max_fee, priority_fee)?);
        self.store.save(&record).await?;
        tracing::info!(
            id,
            label,
            nonce = record.nonce,
            "transaction signed and stored"
        );
        self.records.push(record);
        Ok(id)
    }

    /// Broadcasts the latest attempt of transaction `id`. `Sent` only if a node took it (or
    /// already had it); an underpriced refusal bumps the fees (persisted first) and tries again.
    pub async fn broadcast(&mut self, id: u64) -> Result<(), L1Error> {
        for _ in 0..8 {
            let i = self.index(id)?;
            let raw = self.records[i]
                .attempts
                .last()
                .expect("a record has an attempt")
                .raw
                .clone();
            let result = self.provider.send_raw_transaction(&raw).await;
            let kind = match result {
                Ok(_) => None,
                Err(e) => Some((classify(&e.to_string()), e.to_string())),
            };
            match kind {
                None | Some((SendErrorKind::AlreadyKnown, _)) => {
                    let r = &mut self.records[i];
                    r.status = TxStatus::Sent;
                    r.attempts.last_mut().expect("attempt").sent_at = now();
                    let r = r.clone();
                    self.store.save(&r).await?;
                    return Ok(());
                }
                Some((SendErrorKind::NonceTooLow, msg)) => {
                    if self.settle(id).await? {
                        return Ok(());
                    }
                    // Not ours: the nonce went to another transaction.
                    let r = &mut self.records[i];
                    r.status = TxStatus::Dropped;
                    let r = r.clone();
                    self.store.save(&r).await?;
                    return Err(L1Error::Reverted(format!("nonce used elsewhere: {msg}")));
                }
                Some((SendErrorKind::Underpriced, _)) => self.bump(id).await?,
                Some((k, msg)) if k.retryable() => return Err(L1Error::Rpc(msg)),
                Some((_, msg)) => {
                    let r = &mut self.records[i];
                    if r.attempts.iter().all(|a| a.sent_at == 0) {
                        r.status = TxStatus::Failed {
                            reason: msg.clone(),
                        };
                        let r = r.clone();
                        self.store.save(&r).await?;
                    }
                    return Err(L1Error::Reverted(msg));
                }
            }
        }
        Err(L1Error::Rpc(format!(
            "transaction {id} still underpriced after 8 bumps"
        )))
    }

    /// Estimates, signs, persists and broadcasts; returns the id (see [`Self::prepare`],
    /// [`Self::broadcast`]). A retryable broadcast failure leaves it `Signed` for [`Self::tick`].
    pub async fn submit(
        &mut self,
        label: &str,
        to: Address,
        data: Bytes,
        value: U256,
    ) -> Result<u64, L1Error> {
        let id = self.prepare(label, to, data, value).await?;
        match self.broadcast(id).await {
            Err(e) if e.retryable() => {
                tracing::warn!(id, error = %e, "broadcast failed; will retry");
                Ok(id)
            }
            Err(e) => Err(e),
            Ok(()) => Ok(id),
        }
    }

    /// Signs a new attempt with higher fees and persists it (not yet broadcast).
    async fn bump(&mut self, id: u64) -> Result<(), L1Error> {
        let i = self.index(id)?;
        let (market_fee, market_prio) = self.fees().await?;
        let last = self.records[i].attempts.last().expect("attempt").clone();
        let raise = |x: u128| x * self.cfg.bump_per_mille / 1000 + 1;
        let priority_fee = raise(last.priority_fee).max(market_prio);
        let max_fee = raise(last.max_fee).max(market_fee).max(priority_fee);
        if max_fee > self.cfg.max_fee_cap {
            return Err(L1Error::Rpc(format!(
                "transaction {id} needs {max_fee} wei/gas, above the cap {}",
                self.cfg.max_fee_cap
            )));
        }
        let attempt = self.sign(&self.records[i], max_fee, priority_fee)?;
        tracing::info!(id, max_fee, priority_fee, "fee bump");
        self.records[i].attempts.push(attempt);
        let r = self.records[i].clone();
        self.store.save(&r).await
    }

    /// Looks for a receipt of any attempt; records `Confirmed` and returns `true` if found.
    async fn settle(&mut self, id: u64) -> Result<bool, L1Error> {
        let i = self.index(id)?;
        let hashes: Vec<B256> = self.records[i].attempts.iter().map(|a| a.hash).collect();
        for hash in hashes {
            if let Some(receipt) = self
                .provider
                .get_transaction_receipt(hash)
                .await
                .map_err(rpc)?
            {
                let r = &mut self.records[i];
                r.status = TxStatus::Confirmed {
                    hash,
                    block: receipt.block_number.unwrap_or_default(),
                    success: receipt.status(),
                };
                let r = r.clone();
                self.store.save(&r).await?;
                return Ok(true);
            }
        }
        // No receipt, yet the account's mined nonce passed ours: another transaction took it.
        let mined = self
            .provider
            .get_transaction_count(self.address())
            .latest()
            .await
            .map_err(rpc)?;
        if mined > self.records[i].nonce {
            let r = &mut self.records[i];
            r.status = TxStatus::Dropped;
            let r = r.clone();
            self.store.save(&r).await?;
        }
        Ok(false)
    }

    /// One round of upkeep: confirm what was mined, re-broadcast what is only `Signed`, bump what
    /// waited longer than `bump_after`.
    pub async fn tick(&mut self) -> Result<(), L1Error> {
        let open: Vec<u64> = self
            .records
            .iter()
            .filter(|r| !r.status.is_final())
            .map(|r| r.id)
            .collect();
        for id in open {
            if self.settle(id).await? {
                continue;
            }
            let r = &self.records[self.index(id)?];
            if r.status.is_final() {
                continue;
            }
            let stale = r.status == TxStatus::Sent
                && now().saturating_sub(r.attempts.last().expect("attempt").sent_at)
                    >= self.cfg.bump_after.as_secs();
            if stale {
                self.bump(id).await?;
            }
            match self.broadcast(id).await {
                Err(e) if e.retryable() => tracing::warn!(id, error = %e, "broadcast failed"),
                other => other?,
            }
        }
        Ok(())
    }

    /// Ticks until transaction `id` is final or `timeout` passes.
    pub async fn wait(&mut self, id: u64, timeout: Duration) -> Result<TxStatus, L1Error> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            self.tick().await?;
            let status = self
                .record(id)
                .ok_or_else(|| L1Error::Invalid(format!("no transaction {id}")))?
                .status
                .clone();
            if status.is_final() {
                return Ok(status);
            }
            if std::time::Instant::now() >= deadline {
                return Err(L1Error::Rpc(format!("transaction {id} not final in time")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_errors_are_classified() {
        use SendErrorKind::*;
        let cases = [
            ("already known", AlreadyKnown),
            ("Known transaction: 0xabc", AlreadyKnown),
            ("nonce too low: next nonce 5, tx nonce 4", NonceTooLow),
            ("replacement transaction underpriced", Underpriced),
            ("transaction underpriced", Underpriced),
            (
                "max fee per gas less than block base fee: address 0x.., maxFeePerGas: 1",
                Underpriced,
            ),
            ("HTTP error 429 with body: Too Many Requests", RateLimited),
            (
                "daily request count exceeded, request rate limited",
                RateLimited,
            ),
            (
                "error sending request for url (http://127.0.0.1:1/): connection refused",
                Transport,
            ),
            (
                "insufficient funds for gas * price + value",
                InsufficientFunds,
            ),
            ("intrinsic gas too low", Invalid),
            ("exceeds block gas limit", Invalid),
            ("something unheard of", Unknown),
        ];
        for (msg, kind) in cases {
            assert_eq!(classify(msg), kind, "{msg}");
        }
        assert!(RateLimited.retryable() && Transport.retryable() && Unknown.retryable());
        assert!(!InsufficientFunds.retryable() && !Invalid.retryable());
        assert!(!NonceTooLow.retryable() && !Underpriced.retryable());
    }

    #[tokio::test]
    async fn file_store_survives_reopen() {
        let dir = std::env::temp_dir().join(format!("rollup-sender-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sender.json");
        let _ = std::fs::remove_file(&path);
        let mut s = FileStore::open(&path).unwrap();
        let r = TxRecord {
            id: 0,
            label: "commit 1".into(),
            to: Address::repeat_byte(1),
            data: Bytes::from_static(b"\x01\x02"),
            value: U256::from(3),
            nonce: 7,
            gas_limit: 21_000,
            attempts: vec![],
            status: TxStatus::Signed,
        };
        s.save(&r).await.unwrap();
        let mut r2 = r.clone();
        r2.status = TxStatus::Sent;
        s.save(&r2).await.unwrap();
        let reopened = FileStore::open(&path).unwrap().load().await.unwrap();
        assert_eq!(reopened, vec![r2]);
        std::fs::write(&path, b"{not json").unwrap();
        assert!(matches!(FileStore::open(&path), Err(L1Error::Store(_))));
        let _ = std::fs::remove_dir_all(dir);
    }
}
