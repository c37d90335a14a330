//! The rollup's Rust SDK (and, in `main.rs`, the `rollup-wallet` CLI built on it).
//!
//! * [`Wallet`]: an Ethereum key and the L2 key derived from it (as every wallet derives it:
//!   `rollup_crypto`), building signed transactions.
//! * [`Client`]: the node's JSON-RPC API, typed, with a clear error for every rejection.
//! * [`l1`]: deposits and claims on a chain's rollup contract.

use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use rollup_crypto::{Address, EthSigner, PrivateKey, PubKeyHash};
use rollup_types::amount::Amount;
use rollup_types::tx::*;
use rollup_types::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub mod l1;
pub mod units;

/// SDK errors. [`SdkError::Rejected`] carries the API's code and reason.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The node refused the request (JSON-RPC error code and message).
    #[error("rejected ({code}): {message}")]
    Rejected {
        /// JSON-RPC error code (`rollup_node::api::code`).
        code: i32,
        /// Reason.
        message: String,
    },
    /// Transport or protocol failure.
    #[error("transport: {0}")]
    Transport(String),
    /// A value out of range or inconsistent.
    #[error("invalid: {0}")]
    Invalid(String),
    /// Waiting ran out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The transaction left the node's mempool without a block: `status` is `expired` (not
    /// sealed within the node's lifetime for it, e.g. an earlier nonce never came) or `rejected`
    /// (the rules refused it at sealing); `reason` is the node's.
    #[error("transaction {status}: {reason}")]
    Dropped {
        /// `expired` or `rejected`.
        status: String,
        /// Why.
        reason: String,
    },
}

/// The node's JSON-RPC error codes (`rollup_node::api::code`, documented there).
pub mod code {
    /// Malformed parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Internal error.
    pub const INTERNAL: i32 = -32603;
    /// The transaction does not decode.
    pub const MALFORMED_TX: i32 = -32010;
    /// The rules refuse it now.
    pub const REFUSED: i32 = -32011;
    /// Already in the mempool.
    pub const KNOWN: i32 = -32012;
    /// Only L1 may create it.
    pub const L1_ONLY: i32 = -32013;
    /// The fee is below the operator's minimum.
    pub const FEE_TOO_LOW: i32 = -32014;
    /// The nonce is further ahead of the account's than the node's window admits.
    pub const NONCE_TOO_FAR: i32 = -32015;
    /// The account holds its whole share of the mempool.
    pub const ACCOUNT_QUOTA: i32 = -32016;
    /// The mempool is full.
    pub const MEMPOOL_FULL: i32 = -32017;
    /// A key change authorised on L1 whose fact the node has not read (yet).
    pub const NO_AUTH_FACT: i32 = -32018;
    /// The fee cannot be priced now (gas price or token not read yet).
    pub const FEE_UNAVAILABLE: i32 = -32019;
    /// The node's database is unavailable for a moment (a failover).
    pub const UNAVAILABLE: i32 = -32020;
}

impl SdkError {
    /// Whether the same request may succeed later unchanged: a transport failure, a wait that
    /// ran out, a full mempool, an account whose share is taken (until its pending
    /// transactions are sealed or expire), a fee the node cannot price yet, or the node's
    /// database failing over.
    pub fn retryable(&self) -> bool {
        match self {
            SdkError::Transport(_) | SdkError::Timeout(_) => true,
            SdkError::Rejected { code, .. } => {
                matches!(
                    *code,
                    code::MEMPOOL_FULL
                        | code::ACCOUNT_QUOTA
                        | code::INTERNAL
                        | code::FEE_UNAVAILABLE
                        | code::UNAVAILABLE
                )
            }
            SdkError::Invalid(_) | SdkError::Dropped { .. } => false,
        }
    }
}

impl From<jsonrpsee::core::client::Error> for SdkError {
    fn from(e: jsonrpsee::core::client::Error) -> Self {
        match e {
            jsonrpsee::core::client::Error::Call(o) => SdkError::Rejected {
                code: o.code(),
                message: o.message().to_string(),
            },
            other => SdkError::Transport(other.to_string()),
        }
    }
}

fn amount(v: u128) -> Result<Amount, SdkError> {
    Amount::new(v).map_err(|e| SdkError::Invalid(e.to_string()))
}

/// An Ethereum key and its derived L2 key, acting for the L2 account of the key's own address
/// or of a contract wallet the key controls ([`Wallet::for_account`]).
pub struct Wallet {
    eth: EthSigner,
    l2: PrivateKey,
    /// The account's L1 address when it is not the key's (a contract wallet).
    account: Option<Address>,
}

impl Wallet {
    /// From a 32-byte Ethereum private key.
    pub fn from_eth_key(key: &[u8; 32]) -> Result<Self, SdkError> {
        let eth = EthSigner::from_bytes(key).map_err(|e| SdkError::Invalid(e.to_string()))?;
        let l2 = PrivateKey::derive_from_eth(&eth);
        Ok(Wallet {
            eth,
            l2,
            account: None,
        })
    }

    /// The same keys acting for the L2 account of `address`, an L1 account that cannot sign
    /// (a contract wallet the key controls): its key is set with an on-chain authorisation
    /// ([`Wallet::change_pubkey_onchain`]), never a signature of the key's.
    pub fn for_account(mut self, address: Address) -> Self {
        self.account = Some(address);
        self
    }

    /// Whether the account is a contract wallet's rather than the key's own.
    pub fn is_contract_account(&self) -> bool {
        self.account.is_some()
    }

    /// The account's L1 address (the same on every chain and on L2).
    pub fn address(&self) -> Address {
        self.account.unwrap_or_else(|| self.eth.address())
    }

    /// The L2 key hash.
    pub fn pubkey_hash(&self) -> PubKeyHash {
        self.l2.public_key().hash()
    }

    /// Sets this wallet's L2 key on every chain, authorised by the L1 key for the deployment
    /// `domain` ([`Client::domain`]); fee paid on `chain`.
    pub fn change_pubkey(
        &self,
        domain: &Domain,
        chain: ChainId,
        account: AccountId,
        nonce: u32,
        fee_token: TokenId,
        fee: u128,
    ) -> Result<Tx, SdkError> {
        if self.is_contract_account() {
            return Err(SdkError::Invalid(
                "a contract wallet's key change is authorised on-chain, not signed".into(),
            ));
        }
        self.key_change(chain, account, nonce, fee_token, fee)?
            .sign(&self.eth, domain)
            .map_err(|e| SdkError::Invalid(e.to_string()))
    }

    /// The key change setting this wallet's L2 key (before its authorisation): what
    /// [`l1::Chain::authorise_key_change`] authorises on L1 and
    /// [`Wallet::change_pubkey_onchain`] submits.
    pub fn key_change(
        &self,
        chain: ChainId,
        account: AccountId,
        nonce: u32,
        fee_token: TokenId,
        fee: u128,
    ) -> Result<ChangePubKey, SdkError> {
        let c = ChangePubKey {
            chain,
            account,
            new_pubkey_hash: self.pubkey_hash(),
            nonce: Nonce(nonce),
            fee_token,
            fee: amount(fee)?,
        };
        c.check_format()
            .map_err(|e| SdkError::Invalid(e.to_string()))?;
        Ok(c)
    }

    /// The key change authorised by the owner's fact on the chain's contract (set beforehand
    /// with exactly these fields: `setAuthPubkeyHash`, [`l1::auth_calldata`]).
    pub fn change_pubkey_onchain(
        &self,
        chain: ChainId,
        account: AccountId,
        nonce: u32,
        fee_token: TokenId,
        fee: u128,
    ) -> Result<Tx, SdkError> {
        self.key_change(chain, account, nonce, fee_token, fee)?
            .onchain()
            .map_err(|e| SdkError::Invalid(e.to_string()))
    }

    /// Signs an L2 transaction for the deployment `domain` ([`Client::domain`]).
    pub fn sign(&self, tx: L2Tx, domain: &Domain) -> Result<Tx, SdkError> {
        tx.sign(&self.l2, domain)
            .map_err(|e| SdkError::Invalid(e.to_string()))
    }
}

/// An account as the API reports it on one chain.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Account id.
    pub id: u32,
    /// Nonce on the chain.
    pub nonce: u32,
    /// Key hash (hex).
    pub pubkey_hash: String,
    /// Balances by token id (decimal strings).
    pub balances: BTreeMap<String, String>,
}

impl AccountInfo {
    /// The balance of `token`.
    pub fn balance(&self, token: TokenId) -> u128 {
        self.balances
            .get(&token.0.to_string())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// One half of a pool as the API reports it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolInfo {
    /// The pool id.
    pub pool: u16,
    /// This half's token.
    pub token: u16,
    /// The other half's chain.
    pub peer_chain: u8,
    /// The other half's token.
    pub peer_token: u16,
    /// Swap fee in basis points.
    pub fee_bps: u16,
    /// Reserve (decimal string).
    pub reserve: String,
    /// LP shares outstanding (decimal string).
    pub supply: String,
}

impl PoolInfo {
    /// The reserve.
    pub fn reserve(&self) -> u128 {
        self.reserve.parse().unwrap_or(0)
    }

    /// The LP shares outstanding.
    pub fn supply(&self) -> u128 {
        self.supply.parse().unwrap_or(0)
    }
}

/// A token registered on a chain, as the API reports it (`rollup_tokens`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct TokenInfo {
    /// Rollup chain id.
    pub chain: u8,
    /// Token id on the chain.
    pub token: u16,
    /// Its symbol (the token's own claim), if it has one.
    pub symbol: Option<String>,
    /// Its decimals as the chain's contract recorded them.
    pub decimals: u8,
}

impl TokenInfo {
    /// The symbol, or `token N` for a token without one.
    pub fn name(&self) -> String {
        self.symbol
            .clone()
            .unwrap_or_else(|| format!("token {}", self.token))
    }
}

/// The node's JSON-RPC API.
pub struct Client {
    http: HttpClient,
}

impl Client {
    /// A client of the API at `url` (`http://host:port`).
    pub fn new(url: &str) -> Result<Self, SdkError> {
        Ok(Client {
            http: HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(30))
                .build(url)
                .map_err(|e| SdkError::Transport(e.to_string()))?,
        })
    }

    /// Submits a signed transaction; returns its hash (hex).
    pub async fn submit(&self, tx: &Tx) -> Result<String, SdkError> {
        let bytes = tx.encode().map_err(|e| SdkError::Invalid(e.to_string()))?;
        Ok(self
            .http
            .request(
                "rollup_submitTx",
                rpc_params![format!("0x{}", hex::encode(bytes))],
            )
            .await?)
    }

    /// The account of `address` on `chain`, if it exists.
    pub async fn account(
        &self,
        address: Address,
        chain: ChainId,
    ) -> Result<Option<AccountInfo>, SdkError> {
        self.optional("rollup_account", rpc_params![format!("{address}"), chain.0])
            .await
    }

    /// Pool `pool`'s half on `chain`, if it exists.
    pub async fn pool(&self, chain: ChainId, pool: PoolId) -> Result<Option<PoolInfo>, SdkError> {
        self.optional("rollup_pool", rpc_params![chain.0, pool.0])
            .await
    }

    /// Every registered token on every chain (ETH, token 0, on each).
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, SdkError> {
        let v: serde_json::Value = self.http.request("rollup_tokens", rpc_params![]).await?;
        serde_json::from_value(v).map_err(|e| SdkError::Transport(e.to_string()))
    }

    /// Token `token` on `chain`; an error naming it when the chain has no such token (or the
    /// node has not read it from the contract yet).
    pub async fn token(&self, chain: ChainId, token: TokenId) -> Result<TokenInfo, SdkError> {
        self.tokens()
            .await?
            .into_iter()
            .find(|t| t.chain == chain.0 && t.token == token.0)
            .ok_or_else(|| SdkError::Invalid(format!("no token {token} on chain {chain}")))
    }

    /// Every pool half on `chain`.
    pub async fn pools(&self, chain: ChainId) -> Result<Vec<PoolInfo>, SdkError> {
        let v: serde_json::Value = self
            .http
            .request("rollup_pools", rpc_params![chain.0])
            .await?;
        serde_json::from_value(v).map_err(|e| SdkError::Transport(e.to_string()))
    }

    /// An L1 request's status by its queue serial on `chain`: `{"status": "unknown" | "queued" |
    /// "block", …}` (`rollup_priorityStatus`).
    pub async fn priority_status(
        &self,
        chain: ChainId,
        serial: u64,
    ) -> Result<serde_json::Value, SdkError> {
        Ok(self
            .http
            .request("rollup_priorityStatus", rpc_params![chain.0, serial])
            .await?)
    }

    /// Waits until the L1 request `serial` on `chain` is in a block that reached `stage` on every
    /// chain; returns the block number. Unknown at first is normal (the node reads L1 after its
    /// confirmations), so it waits until `timeout`.
    pub async fn wait_priority(
        &self,
        chain: ChainId,
        serial: u64,
        stage: &str,
        timeout: Duration,
    ) -> Result<u32, SdkError> {
        let what = format!("request {serial} on chain {chain}");
        self.wait(&what, stage, timeout, None, || {
            self.priority_status(chain, serial)
        })
        .await
    }

    /// A method answering an object or null.
    async fn optional<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> Result<Option<T>, SdkError> {
        let v: serde_json::Value = self.http.request(method, params).await?;
        if v.is_null() {
            return Ok(None);
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(|e| SdkError::Transport(e.to_string()))
    }

    /// The network's status: `{lastBlock, chains}`.
    pub async fn status(&self) -> Result<serde_json::Value, SdkError> {
        Ok(self.http.request("rollup_status", rpc_params![]).await?)
    }

    /// The deployment domain every signature must be bound to, as the node read it from the
    /// contracts (`rollup_status`). A wallet that signs for another deployment is refused.
    pub async fn domain(&self) -> Result<Domain, SdkError> {
        let status = self.status().await?;
        let raw = status["domain"]
            .as_str()
            .ok_or_else(|| SdkError::Invalid("rollup_status carries no domain".into()))?;
        raw.parse()
            .map_err(|e: rollup_types::domain::DomainError| SdkError::Invalid(e.to_string()))
    }

    /// A transaction's status: `{"status": "mempool" | "block" | "expired" | "rejected" |
    /// "unknown", …}` (`expired` and `rejected` carry a `reason`).
    pub async fn tx_status(&self, hash: &str) -> Result<serde_json::Value, SdkError> {
        Ok(self
            .http
            .request("rollup_txStatus", rpc_params![hash])
            .await?)
    }

    /// What a swap of `amount_in` into pool `pool` on `chain` pays on the peer chain now.
    pub async fn quote(
        &self,
        chain: ChainId,
        pool: PoolId,
        amount_in: u128,
    ) -> Result<u128, SdkError> {
        let v: serde_json::Value = self
            .http
            .request(
                "rollup_quote",
                rpc_params![chain.0, pool.0, amount_in.to_string()],
            )
            .await?;
        v["amountOut"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| SdkError::Transport(format!("bad quote {v}")))
    }

    /// Submits a key change authorised on L1, waiting (up to `timeout`) until the node has
    /// read its fact from the chain (it refuses with `NO_AUTH_FACT` before the authorisation
    /// is `confirmations` deep).
    pub async fn submit_authorised(&self, tx: &Tx, timeout: Duration) -> Result<String, SdkError> {
        let until = tokio::time::Instant::now() + timeout;
        loop {
            match self.submit(tx).await {
                Err(SdkError::Rejected { code, .. })
                    if code == code::NO_AUTH_FACT && tokio::time::Instant::now() < until =>
                {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    }

    /// A transaction as the explorer shows it (`rollup_tx`: status, stages, decoded fields), or
    /// null when unknown.
    pub async fn tx(&self, hash: &str) -> Result<serde_json::Value, SdkError> {
        Ok(self.http.request("rollup_tx", rpc_params![hash]).await?)
    }

    /// The rollup contract of `chain`, as the node read it from L1 (`rollup_network`).
    pub async fn contract(&self, chain: ChainId) -> Result<alloy::primitives::Address, SdkError> {
        let v: serde_json::Value = self.http.request("rollup_network", rpc_params![]).await?;
        v["chains"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["chain"] == chain.0))
            .and_then(|c| c["contract"].as_str())
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                SdkError::Invalid(format!("the node knows no contract of chain {chain}"))
            })
    }

    /// The smallest fee the node accepts for a transaction of `kind` ("transfer", "swap", …)
    /// paying in `token` on `chain` (a transfer as if it created its recipient's account: see
    /// [`Client::min_transfer_fee`]).
    pub async fn min_fee(
        &self,
        kind: &str,
        chain: ChainId,
        token: TokenId,
    ) -> Result<u128, SdkError> {
        let v: serde_json::Value = self
            .http
            .request("rollup_estimateFee", rpc_params![kind, chain.0, token.0])
            .await?;
        min_fee_of(&v)
    }

    /// The smallest fee the node accepts for a transfer to `to` paying in `token` on `chain`:
    /// one chunk's share when `to` has an account, its creation on every chain as well when not.
    pub async fn min_transfer_fee(
        &self,
        chain: ChainId,
        token: TokenId,
        to: Address,
    ) -> Result<u128, SdkError> {
        let to = format!("0x{}", hex::encode(to.0));
        let v: serde_json::Value = self
            .http
            .request(
                "rollup_estimateFee",
                rpc_params!["transfer", chain.0, token.0, to],
            )
            .await?;
        min_fee_of(&v)
    }

    /// A block's stages per chain.
    pub async fn block_status(&self, number: u32) -> Result<serde_json::Value, SdkError> {
        Ok(self
            .http
            .request("rollup_blockStatus", rpc_params![number])
            .await?)
    }

    /// Waits until transaction `hash` is in a block that reached `stage` ("sealed", "committed",
    /// "proven", "synced", "executed") on every chain; returns the block number. Fails with
    /// [`SdkError::Dropped`] as soon as the node says it expired or was rejected.
    pub async fn wait_tx(
        &self,
        hash: &str,
        stage: &str,
        timeout: Duration,
    ) -> Result<u32, SdkError> {
        // Unknown three times in a row, half a second apart: the node does not know it (never
        // admitted, or its outcome is older than the node keeps).
        self.wait(hash, stage, timeout, Some(3), || self.tx_status(hash))
            .await
    }

    /// Polls `status` (a `rollup_txStatus`-shaped answer) until every chain's stage reaches
    /// `stage`; gives up after `unknown_limit` unknown answers in a row, if any.
    async fn wait<F, Fut>(
        &self,
        what: &str,
        stage: &str,
        timeout: Duration,
        unknown_limit: Option<u32>,
        status: F,
    ) -> Result<u32, SdkError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<serde_json::Value, SdkError>>,
    {
        const ORDER: [&str; 5] = ["sealed", "committed", "proven", "synced", "executed"];
        let want = ORDER
            .iter()
            .position(|s| *s == stage)
            .ok_or_else(|| SdkError::Invalid(format!("stage {stage}")))?;
        let deadline = std::time::Instant::now() + timeout;
        let mut unknown = 0;
        loop {
            let s = status().await?;
            if s["status"] == "block"
                && let Some(stages) = s["stages"].as_object()
                && !stages.is_empty()
                && stages.values().all(|v| {
                    ORDER
                        .iter()
                        .position(|x| Some(*x) == v.as_str())
                        .is_some_and(|p| p >= want)
                })
            {
                return Ok(s["block"].as_u64().unwrap_or_default() as u32);
            }
            if let Some(status @ ("expired" | "rejected")) = s["status"].as_str() {
                return Err(SdkError::Dropped {
                    status: status.to_string(),
                    reason: s["reason"].as_str().unwrap_or_default().to_string(),
                });
            }
            if s["status"] == "unknown" {
                unknown += 1;
                if unknown_limit.is_some_and(|limit| unknown >= limit) {
                    return Err(SdkError::Invalid(format!(
                        "transaction {what} is unknown to the node"
                    )));
                }
            } else {
                unknown = 0;
            }
            if std::time::Instant::now() >= deadline {
                return Err(SdkError::Timeout(format!("{what} to reach {stage}")));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The minimum of a `rollup_estimateFee` answer.
fn min_fee_of(v: &serde_json::Value) -> Result<u128, SdkError> {
    v["minFee"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| SdkError::Transport(format!("bad fee estimate {v}")))
}
