//! The JSON-RPC API (jsonrpsee, HTTP and WebSocket on one port). Methods, all under `rollup_`:
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_submitTx` | canonical tx encoding, hex | tx hash, hex |
//! | `rollup_account` | L1 address, chain id | `{id, nonce, pubkeyHash, balances: {token: amount}}` or null |
//! | `rollup_pool` | chain id, pool id | `{token, peerChain, peerToken, feeBps, reserve, supply}` or null |
//! | `rollup_pools` | chain id | `[{pool, token, peerChain, peerToken, feeBps, reserve, supply}]`: every pool half on the chain |
//! | `rollup_priorityStatus` | chain id, serial | an L1 request (deposit, full exit) by its queue serial: `{status: "unknown"}` until the watcher stored it (confirmations), `{status: "queued", l1Block, hash}` until a block takes it, then `{status: "block", block, stages, hash}` |
//! | `rollup_txStatus` | tx hash | `{status: "mempool", addedAt, expiresAt}` (Unix ms), `{status: "block", block, stages}`, `{status: "expired" \| "rejected", reason, at}` (it left the mempool unsealed: its lifetime ran out, or the rules refused it at sealing; kept `mempool.outcome_retention_secs`) or `{status: "unknown"}` |
//! | `rollup_blockStatus` | block number | `{number, stages: {chain: stage}}` or null |
//! | `rollup_status` | — | `{lastBlock, chains, domain (the deployment domain to sign for, hex), auditor: {state: notWatched \| unknown \| running \| halted, …}, halted}`: `halted` is true while the auditor has refused a block and every sender is stopped |
//! | `rollup_blockInputs` | block number | `{number, inputs: [{chain, data}]}`: each chain's `commitBlocks` input (`CommitBlockInfo`, ABI-encoded hex) exactly as the senders will send it (stored with the block) — what the auditor audits and approves — or null for a block not stored |
//! | `rollup_quote` | chain id, pool id, amount in (decimal string) | `{amountOut, peerChain, peerToken, feeBps}`: what a swap on `chain` pays on the peer chain now |
//! | `rollup_estimateFee` | kind (`transfer`, `withdraw`, `swap`, …), chain id, token id, and for a transfer optionally its recipient's address (without it a transfer is priced as creating the recipient's account) | `{kind, recipientExists, chunks, minFee, parts: [{chain, chunks, gas, gasPrice, ethPrice}], tokenPrice, tokenDecimals, blockGas, proofGas, capacity, shareGas, chunkGas, expectedChunks, withdrawGas, marginPercent}`: the fee the API requires for that kind in that token and how it follows from each chain's L1 gas ([`crate::fees`]); `{kind, chunks, minFee: "0", free: true}` when the node charges no fees |
//! | `rollup_subscribeBlocks` (WebSocket) | — | notifications `rollup_block`: `{number, stages}` on every stage change |
//! | `rollup_subscribeTx` (WebSocket) | tx hash | notifications `rollup_tx`: the `rollup_txStatus` answer on every change, until executed on every chain, expired or rejected |
//!
//! The explorer's methods (`rollup_network`, `rollup_tokens`, `rollup_blocks`, `rollup_block`,
//! `rollup_tx`, `rollup_accountInfo`) are listed in [`crate::explorer`]; the same server
//! answers a plain `GET` with the explorer's pages ([`crate::web`]).
//!
//! Every rejection is a JSON-RPC error with a stable code: `-32602` malformed params, `-32010`
//! malformed transaction, `-32011` transaction refused by the rules (bad signature, nonce,
//! balance, unknown account, token or pool — the message says which), `-32012` already known,
//! `-32013` transactions that only L1 may create (deposits, full exits), `-32014` fee below the
//! operator's minimum (the message says the minimum), `-32015` nonce beyond the window (more
//! than `mempool.nonce_window − 1` ahead of the account's nonce), `-32016` the account holds its
//! whole mempool share (`mempool.per_account` entries, over every chain: wait until some are
//! sealed or expire; the account's next nonce on a chain still passes once), `-32017` the mempool is full (`mempool.capacity`; retry later), `-32018` a
//! key change authorised on L1 whose fact (`setAuthPubkeyHash` by the account's owner, for this
//! nonce, key and fee) the node has not read from the chain: none was set, it differs, or it is
//! not yet `confirmations` deep (retry), `-32019` the fee cannot be priced now (a touched
//! chain's gas price or the fee token not read from L1 yet: retry), `-32020` the node's database is
//! unavailable for a moment (a failover: retry; any method may answer it), `-32603` internal. A fee
//! token the operator has no price for is refused with `-32011`.
//!
//! Admission is checked against the state after the last sealed block: a transaction with a later
//! nonce than the account's (within the window) waits behind the sender's pending ones, but one
//! that needs the effect of a pending transaction (e.g. a transfer right after the first key
//! change) is refused until that is sealed. Every admitted transaction expires
//! `mempool.ttl_secs` after admission if no block took it — e.g. one whose earlier nonce never
//! came: it does not hold up anyone else's, since the keeper selects, per account, only the
//! next executable nonce on (`crate::mempool`).

use crate::Shared;
use crate::fees::{FeeError, FeePolicy, Market, fee_of};
use jsonrpsee::RpcModule;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::{ErrorObject, ErrorObjectOwned, Params};
use rollup_state::TxError;
use rollup_state::network::verify;
use rollup_storage::{Admission, Stage};
use rollup_types::tx::{CpkAuth, L2Tx, Tx};
use rollup_types::{Amount, ChainId, PoolId, TokenId};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;

/// Error codes.
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
    /// The nonce is further ahead of the account's than the mempool's window admits.
    pub const NONCE_TOO_FAR: i32 = -32015;
    /// The account holds its whole share of the mempool.
    pub const ACCOUNT_QUOTA: i32 = -32016;
    /// The mempool is full.
    pub const MEMPOOL_FULL: i32 = -32017;
    /// The fee cannot be priced now (a chain's gas price or the token not read yet): retry.
    pub const FEE_UNAVAILABLE: i32 = -32019;
    /// A key change claims an on-chain authorisation the node has not read (yet) from L1.
    pub const NO_AUTH_FACT: i32 = -32018;
    /// The node's database is unreachable or changing hands (a failover): retry.
    pub const UNAVAILABLE: i32 = -32020;
}

/// What the API's methods share.
pub struct Api {
    /// The node's state and database.
    pub shared: Arc<Shared>,
    /// The minimum fees.
    pub fees: FeePolicy,
    /// The gas prices and token decimals fees are priced with, read from the database at most
    /// once per [`MARKET_TTL`].
    market: tokio::sync::Mutex<Option<(std::time::Instant, Arc<Market>)>>,
}

/// How long the API prices fees with the gas prices it last read.
const MARKET_TTL: std::time::Duration = std::time::Duration::from_secs(1);

impl Api {
    /// The chains' gas prices (as their drivers last read them) and the tokens' decimals.
    async fn market(&self) -> Result<Arc<Market>, ErrorObjectOwned> {
        let mut cache = self.market.lock().await;
        if let Some((at, m)) = cache.as_ref()
            && at.elapsed() < MARKET_TTL
        {
            return Ok(m.clone());
        }
        let storage = &self.shared.storage;
        let mut m = Market::default();
        for (chain, wei, _) in storage.gas_prices().await.map_err(internal)? {
            if let Ok(c) = ChainId::new(chain) {
                m.gas_price.insert(c, wei);
            }
        }
        for c in &self.shared.network.chains {
            m.decimals.insert((*c, TokenId(0)), 18);
        }
        for t in storage.tokens().await.map_err(internal)? {
            if let Ok(c) = ChainId::new(t.chain) {
                m.decimals.insert((c, TokenId(t.token)), t.decimals);
            }
        }
        let m = Arc::new(m);
        // Until every chain's gas price is known, read again next time.
        if m.gas_price.len() == self.shared.network.chains.len() {
            *cache = Some((std::time::Instant::now(), m.clone()));
        }
        Ok(m)
    }
}

/// The API error of a fee that cannot be computed.
fn fee_error(e: FeeError) -> ErrorObjectOwned {
    match &e {
        FeeError::Kind(_) => err(code::INVALID_PARAMS, e.to_string()),
        e if e.unavailable() => err(code::FEE_UNAVAILABLE, e.to_string()),
        _ => err(code::REFUSED, e.to_string()),
    }
}

fn count(result: &'static str) {
    metrics::counter!(crate::metrics::API_SUBMISSIONS, "result" => result).increment(1);
}

pub(crate) fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(code, msg.into(), None::<()>)
}

/// An error of the node's own (logged, not shown) — or, when it is the database unreachable or
/// changing hands (a failover), [`code::UNAVAILABLE`], which a client retries.
pub(crate) fn internal<E: std::fmt::Display + 'static>(e: E) -> ErrorObjectOwned {
    let any: &dyn std::any::Any = &e;
    if any
        .downcast_ref::<rollup_storage::StorageError>()
        .is_some_and(rollup_storage::StorageError::retryable)
    {
        tracing::warn!(error = %e, "api: database unavailable");
        return err(
            code::UNAVAILABLE,
            "the node's database is unavailable for a moment (a failover): retry",
        );
    }
    tracing::error!(error = %e, "api internal error");
    err(code::INTERNAL, "internal error")
}

fn hex_arg(s: &str, what: &str) -> Result<Vec<u8>, ErrorObjectOwned> {
    hex::decode(s.trim_start_matches("0x"))
        .map_err(|e| err(code::INVALID_PARAMS, format!("{what}: not hex ({e})")))
}

fn chain_arg(v: u8, shared: &Shared) -> Result<ChainId, ErrorObjectOwned> {
    let c = ChainId::new(v).map_err(|e| err(code::INVALID_PARAMS, format!("chain: {e}")))?;
    if !shared.network.chains.contains(&c) {
        return Err(err(
            code::INVALID_PARAMS,
            format!("chain {c} is not connected"),
        ));
    }
    Ok(c)
}

pub(crate) fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Sealed => "sealed",
        Stage::Committed => "committed",
        Stage::Proven => "proven",
        Stage::Synced => "synced",
        Stage::Executed => "executed",
    }
}

pub(crate) async fn stages_json(shared: &Shared, n: u32) -> Result<Value, ErrorObjectOwned> {
    let stages = shared.storage.stages(n).await.map_err(internal)?;
    Ok(Value::Object(
        stages
            .into_iter()
            .map(|(c, s)| (c.to_string(), json!(stage_name(s))))
            .collect(),
    ))
}

async fn submit(api: &Api, params: Params<'static>) -> Result<String, ErrorObjectOwned> {
    let r = admit(api, params).await;
    count(match &r {
        Ok(_) => "accepted",
        Err(e) => match e.code() {
            code::MALFORMED_TX | code::INVALID_PARAMS => "malformed",
            code::KNOWN => "known",
            code::L1_ONLY => "l1_only",
            code::FEE_TOO_LOW => "fee_too_low",
            code::NONCE_TOO_FAR => "nonce_too_far",
            code::ACCOUNT_QUOTA => "account_quota",
            code::MEMPOOL_FULL => "mempool_full",
            code::FEE_UNAVAILABLE => "fee_unavailable",
            code::NO_AUTH_FACT => "no_auth_fact",
            code::UNAVAILABLE => "unavailable",
            code::INTERNAL => "internal",
            _ => "refused",
        },
    });
    r
}

async fn admit(api: &Api, params: Params<'static>) -> Result<String, ErrorObjectOwned> {
    let shared = &api.shared;
    let (raw,): (String,) = params
        .parse()
        .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
    let bytes = hex_arg(&raw, "tx")?;
    let tx = Tx::decode(&bytes).map_err(|e| err(code::MALFORMED_TX, e.to_string()))?;
    if matches!(tx, Tx::Deposit(_) | Tx::FullExit(_)) {
        return Err(err(
            code::L1_ONLY,
            "deposits and full exits are requested on L1, not through the API",
        ));
    }
    let hash = tx
        .hash()
        .map_err(|e| err(code::MALFORMED_TX, e.to_string()))?;
    let key = crate::mempool::tx_key(&tx).ok_or_else(|| internal("an L2 transaction has a key"))?;
    let vtx = verify(tx, &shared.network.domain).map_err(|e| err(code::REFUSED, e.to_string()))?;
    let policy = &shared.mempool;
    // Whether the nonce is the account's next: such a transaction may pass a full share once
    // (see `Storage::admit_tx`), so a sender can always send the nonce its others wait for.
    let next_nonce;
    // An on-chain authorised key change: the fact it needs (chain, owner, nonce, fact).
    let mut needs_fact = None;
    let fee_due;
    let recipient_exists;
    {
        let mut state = shared.state.lock().await;
        let checked = state.check(&vtx);
        next_nonce = !matches!(checked, Err(TxError::BadNonce { .. }));
        match checked {
            Ok(()) => {}
            // A later nonce waits behind the sender's pending transactions — within the window
            // only: beyond it, it would sit unexecutable until it expired. (The rules check the
            // signer's key before the nonce, so only the account's owner gets this far.)
            Err(TxError::BadNonce { expected, got }) if got > expected => {
                let ahead = got.0 - expected.0;
                if ahead >= policy.nonce_window {
                    return Err(err(
                        code::NONCE_TOO_FAR,
                        format!(
                            "nonce {got} is {ahead} ahead of the account's nonce {expected} on \
                             chain {}: at most {} ahead is admitted",
                            key.chain,
                            policy.nonce_window - 1
                        ),
                    ));
                }
            }
            Err(e) => return Err(err(code::REFUSED, e.to_string())),
        }
        if let Tx::ChangePubKey {
            tx: change,
            auth: CpkAuth::Onchain,
        } = vtx.tx()
        {
            // `check` passed, so the account exists on its chain.
            let owner = state
                .chain(change.chain)
                .and_then(|c| c.account(change.account))
                .map(|a| a.address)
                .ok_or_else(|| internal("a checked key change has an account"))?;
            needs_fact = Some((change.chain, owner, change.nonce, change.auth_fact()));
        }
        let pool_token = |c: ChainId, p: PoolId| state.chain(c)?.pool(p).map(|h| h.token);
        fee_due = fee_of(vtx.tx(), pool_token);
        // A transfer to an address with an account creates nothing: it pays for one chunk.
        recipient_exists = match vtx.tx() {
            Tx::L2 {
                tx: L2Tx::Transfer(t),
                ..
            } => state.account_id(&t.to).is_some(),
            _ => false,
        };
    }
    if let Some((kind, chain, token, fee)) = fee_due
        && !api.fees.is_free()
    {
        let market = api.market().await?;
        let min = api
            .fees
            .minimum(
                kind,
                chain,
                token,
                &shared.network.chains,
                &market,
                recipient_exists,
            )
            .map_err(fee_error)?;
        if fee < min {
            return Err(err(
                code::FEE_TOO_LOW,
                format!(
                    "fee {} below the minimum {} for {kind} in token {token} on chain {chain} \
                     (rollup_estimateFee explains it)",
                    fee.get(),
                    min.get()
                ),
            ));
        }
    }
    if let Some((chain, owner, nonce, fact)) = needs_fact {
        let stored = shared
            .storage
            .auth_fact(chain.0, &owner.0, nonce.0)
            .await
            .map_err(internal)?;
        if stored != Some(fact) {
            return Err(err(
                code::NO_AUTH_FACT,
                format!(
                    "{} on chain {chain} for the owner {owner} at nonce {nonce}: the key change \
                     needs setAuthPubkeyHash with exactly its account, key, fee token and fee, \
                     confirmed on L1",
                    if stored.is_some() {
                        "the on-chain authorisation differs"
                    } else {
                        "no on-chain authorisation seen"
                    }
                ),
            ));
        }
    }
    match shared
        .storage
        .admit_tx(&hash, &bytes, key, next_nonce, policy.limits())
        .await
        .map_err(internal)?
    {
        Admission::Added { .. } => Ok(format!("0x{}", hex::encode(hash))),
        Admission::Known => Err(err(code::KNOWN, "transaction already in the mempool")),
        Admission::AccountFull { pending } => Err(err(
            code::ACCOUNT_QUOTA,
            format!(
                "account {} has {pending} transactions waiting, its whole share of the mempool \
                 ({}): wait until some are sealed or expire",
                key.account, policy.per_account
            ),
        )),
        Admission::Full { pending } => Err(err(
            code::MEMPOOL_FULL,
            format!("the mempool is full ({pending} transactions): try again later"),
        )),
    }
}

fn amount_arg(s: &str, what: &str) -> Result<Amount, ErrorObjectOwned> {
    s.trim()
        .parse::<u128>()
        .map_err(|e| err(code::INVALID_PARAMS, format!("{what}: {e}")))
        .and_then(|v| Amount::new(v).map_err(|e| err(code::INVALID_PARAMS, format!("{what}: {e}"))))
}

/// The `rollup_txStatus` answer for `h` (sealed transactions by the block index, not a scan).
async fn tx_status(shared: &Shared, h: &[u8; 32]) -> Result<Value, ErrorObjectOwned> {
    if let Some((place, _)) = shared.storage.indexed_tx(h).await.map_err(internal)? {
        let n = place.number;
        return Ok(json!({"status": "block", "block": n, "stages": stages_json(shared, n).await?}));
    }
    if let Some(t) = shared.storage.pool_timing(h).await.map_err(internal)? {
        return Ok(json!({"status": "mempool", "addedAt": t.added_ms, "expiresAt": t.expires_ms}));
    }
    if let Some(o) = shared.storage.tx_outcome(h).await.map_err(internal)? {
        return Ok(json!({"status": o.status, "reason": o.reason, "at": o.at_ms}));
    }
    Ok(json!({"status": "unknown"}))
}

/// One pool half as the API shows it.
fn pool_json(id: PoolId, p: &rollup_state::pool::PoolHalf) -> Value {
    json!({
        "pool": id.0,
        "token": p.token.0,
        "peerChain": p.peer_chain.0,
        "peerToken": p.peer_token.0,
        "feeBps": p.fee_bps,
        "reserve": p.reserve.get().to_string(),
        "supply": p.lp_supply.get().to_string(),
    })
}

/// The `rollup_priorityStatus` answer: a request the watcher has not stored yet is unknown (its
/// L1 block may lack confirmations), a stored one is queued until a block takes it, then it has
/// the block's stages like any transaction.
async fn priority_status(
    shared: &Shared,
    chain: ChainId,
    serial: u64,
) -> Result<Value, ErrorObjectOwned> {
    let Some((bytes, l1_block)) = shared
        .storage
        .priority_op(chain.0, serial)
        .await
        .map_err(internal)?
    else {
        return Ok(json!({"status": "unknown"}));
    };
    let tx = rollup_types::tx::Tx::decode(&bytes).map_err(internal)?;
    let hash = tx.hash().map_err(internal)?;
    let mut status = tx_status(shared, &hash).await?;
    if status["status"] == "unknown" {
        status = json!({"status": "queued", "l1Block": l1_block});
    }
    status["hash"] = json!(format!("0x{}", hex::encode(hash)));
    Ok(status)
}

pub(crate) fn hash_arg(s: &str) -> Result<[u8; 32], ErrorObjectOwned> {
    hex_arg(s, "hash")?
        .try_into()
        .map_err(|_| err(code::INVALID_PARAMS, "hash: 32 bytes"))
}

fn all_executed(stages: &Value) -> bool {
    stages
        .as_object()
        .is_some_and(|o| !o.is_empty() && o.values().all(|v| v == "executed"))
}

/// The API's methods over `shared`, admitting transactions under `fees`.
pub fn module(shared: Arc<Shared>, fees: FeePolicy) -> RpcModule<Api> {
    let mut m = RpcModule::new(Api {
        shared,
        fees,
        market: tokio::sync::Mutex::new(None),
    });
    m.register_async_method("rollup_submitTx", |params, api, _| async move {
        submit(&api, params.into_owned()).await
    })
    .expect("unique method name");
    m.register_async_method("rollup_account", |params, api, _| async move {
        let shared = &api.shared;
        let (address, chain): (String, u8) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        let a = hex_arg(&address, "address")?;
        let a: [u8; 20] = a
            .try_into()
            .map_err(|_| err(code::INVALID_PARAMS, "address: 20 bytes"))?;
        let chain = chain_arg(chain, shared)?;
        let state = shared.state.lock().await;
        let Some(id) = state.account_id(&rollup_crypto::Address(a)) else {
            return Ok::<Value, ErrorObjectOwned>(Value::Null);
        };
        let account = state
            .chain(chain)
            .and_then(|c| c.account(id))
            .ok_or_else(|| internal("account missing on a connected chain"))?;
        let balances: serde_json::Map<String, Value> = account
            .balances()
            .map(|(t, v)| (t.0.to_string(), json!(v.get().to_string())))
            .collect();
        Ok(json!({
            "id": id.0,
            "nonce": account.nonce.0,
            "pubkeyHash": format!("0x{}", hex::encode(account.pubkey_hash.0)),
            "balances": balances,
        }))
    })
    .expect("unique method name");
    m.register_async_method("rollup_pool", |params, api, _| async move {
        let shared = &api.shared;
        let (chain, pool): (u8, u16) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        let chain = chain_arg(chain, shared)?;
        let state = shared.state.lock().await;
        let Some(p) = state.chain(chain).and_then(|c| c.pool(PoolId(pool))) else {
            return Ok::<Value, ErrorObjectOwned>(Value::Null);
        };
        Ok(pool_json(PoolId(pool), p))
    })
    .expect("unique method name");
    m.register_async_method("rollup_pools", |params, api, _| async move {
        let (chain,): (u8,) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        let chain = chain_arg(chain, &api.shared)?;
        let state = api.shared.state.lock().await;
        let pools: Vec<Value> = state
            .chain(chain)
            .map(|c| c.pools().map(|(id, p)| pool_json(id, p)).collect())
            .unwrap_or_default();
        Ok::<Value, ErrorObjectOwned>(Value::Array(pools))
    })
    .expect("unique method name");
    m.register_async_method("rollup_priorityStatus", |params, api, _| async move {
        let (chain, serial): (u8, u64) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        let chain = chain_arg(chain, &api.shared)?;
        priority_status(&api.shared, chain, serial).await
    })
    .expect("unique method name");
    m.register_async_method("rollup_txStatus", |params, api, _| async move {
        let (hash,): (String,) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        tx_status(&api.shared, &hash_arg(&hash)?).await
    })
    .expect("unique method name");
    m.register_async_method("rollup_quote", |params, api, _| async move {
        let (chain, pool, amount): (u8, u16, String) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        let chain = chain_arg(chain, &api.shared)?;
        let amount = amount_arg(&amount, "amount in")?;
        let state = api.shared.state.lock().await;
        let Some(here) = state.chain(chain).and_then(|c| c.pool(PoolId(pool))) else {
            return Err(err(
                code::INVALID_PARAMS,
                format!("no pool {pool} on chain {chain}"),
            ));
        };
        let there = state
            .chain(here.peer_chain)
            .and_then(|c| c.pool(PoolId(pool)))
            .ok_or_else(|| internal("pool half missing on its peer chain"))?;
        let out =
            rollup_state::pool::swap_output(here.reserve, there.reserve, amount, here.fee_bps)
                .ok_or_else(|| err(code::REFUSED, "the pool has no liquidity"))?;
        Ok::<Value, ErrorObjectOwned>(json!({
            "amountOut": out.get().to_string(),
            "peerChain": here.peer_chain.0,
            "peerToken": here.peer_token.0,
            "feeBps": here.fee_bps,
        }))
    })
    .expect("unique method name");
    m.register_async_method("rollup_estimateFee", |params, api, _| async move {
        let bad = |e: ErrorObjectOwned| err(code::INVALID_PARAMS, e.message().to_string());
        let mut seq = params.sequence();
        let kind: String = seq.next().map_err(bad)?;
        let chain: u8 = seq.next().map_err(bad)?;
        let token: u16 = seq.next().map_err(bad)?;
        let to: Option<String> = seq.optional_next().map_err(bad)?;
        let chain = chain_arg(chain, &api.shared)?;
        let chains = &api.shared.network.chains;
        let recipient_exists = match to {
            None => false,
            Some(_) if kind != "transfer" => {
                return Err(err(
                    code::INVALID_PARAMS,
                    format!("a recipient is for a transfer's fee, not a {kind:?}'s"),
                ));
            }
            Some(to) => {
                let a: [u8; 20] = hex_arg(&to, "recipient")?
                    .try_into()
                    .map_err(|_| err(code::INVALID_PARAMS, "recipient: 20 bytes"))?;
                let state = api.shared.state.lock().await;
                state.account_id(&rollup_crypto::Address(a)).is_some()
            }
        };
        let market = if api.fees.is_free() {
            Arc::new(Market::default())
        } else {
            api.market().await?
        };
        match api
            .fees
            .estimate(
                &kind,
                chain,
                TokenId(token),
                chains,
                &market,
                recipient_exists,
            )
            .map_err(fee_error)?
        {
            Some(e) => Ok::<Value, ErrorObjectOwned>(json!(e)),
            None => {
                let peer = chains.iter().copied().find(|c| *c != chain);
                let chunks: u64 =
                    crate::fees::placement(&kind, chain, peer, chains, recipient_exists)
                        .map_err(fee_error)?
                        .values()
                        .sum();
                Ok(json!({
                    "kind": kind,
                    "recipientExists": recipient_exists,
                    "chunks": chunks,
                    "minFee": "0",
                    "free": true
                }))
            }
        }
    })
    .expect("unique method name");
    m.register_subscription(
        "rollup_subscribeTx",
        "rollup_tx",
        "rollup_unsubscribeTx",
        |params, pending, api, _| async move {
            let hash = match params.parse::<(String,)>() {
                Ok((h,)) => match hash_arg(&h) {
                    Ok(h) => h,
                    Err(e) => {
                        pending.reject(e).await;
                        return Ok(());
                    }
                },
                Err(e) => {
                    pending
                        .reject(err(code::INVALID_PARAMS, e.message().to_string()))
                        .await;
                    return Ok(());
                }
            };
            let sink = pending.accept().await?;
            let mut last = Value::Null;
            loop {
                let now = tx_status(&api.shared, &hash)
                    .await
                    .map_err(|e| e.message().to_string())?;
                if now != last {
                    sink.send(serde_json::value::to_raw_value(&now)?).await?;
                    // Final: executed everywhere, or out of the mempool without a block.
                    if all_executed(&now["stages"])
                        || now["status"] == rollup_storage::EXPIRED
                        || now["status"] == rollup_storage::REJECTED
                    {
                        return Ok(());
                    }
                    last = now;
                }
                tokio::select! {
                    _ = sink.closed() => return Ok(()),
                    _ = tokio::time::sleep(std::time::Duration::from_millis(300)) => {}
                }
            }
        },
    )
    .expect("unique method name");
    m.register_async_method("rollup_blockStatus", |params, api, _| async move {
        let shared = &api.shared;
        let (n,): (u32,) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        if shared.storage.block(n).await.map_err(internal)?.is_none() {
            return Ok::<Value, ErrorObjectOwned>(Value::Null);
        }
        Ok(json!({"number": n, "stages": stages_json(shared, n).await?}))
    })
    .expect("unique method name");
    m.register_async_method("rollup_blockInputs", |params, api, _| async move {
        let (n,): (u32,) = params
            .parse()
            .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))?;
        // Each chain's commit input as stored with the block (what its driver sends).
        let mut inputs = Vec::new();
        for chain in api.shared.chains() {
            let Some(calls) = api
                .shared
                .storage
                .block_calls(n, chain.0)
                .await
                .map_err(internal)?
            else {
                return Ok::<Value, ErrorObjectOwned>(Value::Null);
            };
            inputs.push(json!({
                "chain": chain.0,
                "data": format!("0x{}", hex::encode(&calls.commit)),
            }));
        }
        Ok(json!({"number": n, "inputs": inputs}))
    })
    .expect("unique method name");
    m.register_subscription(
        "rollup_subscribeBlocks",
        "rollup_block",
        "rollup_unsubscribeBlocks",
        |_, pending, api, _| async move {
            let shared = &api.shared;
            let sink = pending.accept().await?;
            // From the newest block on: a notification whenever a block's stages change, until
            // it is executed everywhere.
            let mut from = shared.storage.last_block().await?.max(1);
            let mut seen: std::collections::HashMap<u32, Value> = Default::default();
            loop {
                let last = shared.storage.last_block().await?;
                let mut next_from = from;
                for n in from..=last {
                    let stages = stages_json(shared, n).await.map_err(|e| e.to_string())?;
                    if seen.get(&n) != Some(&stages) {
                        let msg = json!({"number": n, "stages": stages});
                        sink.send(serde_json::value::to_raw_value(&msg)?).await?;
                        seen.insert(n, stages.clone());
                    }
                    if all_executed(&stages) && n == next_from {
                        seen.remove(&n);
                        next_from += 1;
                    }
                }
                from = next_from;
                tokio::select! {
                    _ = sink.closed() => return Ok(()),
                    _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                }
            }
        },
    )
    .expect("unique method name");
    m.register_async_method("rollup_status", |_, api, _| async move {
        let shared = &api.shared;
        let last = shared.storage.last_block().await.map_err(internal)?;
        let auditor = shared.auditor.read().expect("not poisoned").clone();
        Ok::<Value, ErrorObjectOwned>(json!({
            "lastBlock": last,
            "chains": shared.chains().iter().map(|c| c.0).collect::<Vec<_>>(),
            "domain": shared.network.domain.to_string(),
            "halted": matches!(auditor, crate::gate::AuditorStatus::Halted { .. }),
            "auditor": auditor,
        }))
    })
    .expect("unique method name");
    crate::explorer::register(&mut m);
    m
}

/// Serves the API on `addr` (HTTP and WebSocket) with the fee policy `fees`, and the
/// explorer's pages from `explorer` (`crate::web`); returns the bound address and the handle.
pub async fn serve(
    shared: Arc<Shared>,
    fees: FeePolicy,
    addr: SocketAddr,
    explorer: Option<std::path::PathBuf>,
) -> anyhow::Result<(SocketAddr, ServerHandle)> {
    let server = Server::builder()
        .set_http_middleware(
            tower::ServiceBuilder::new().layer(crate::web::StaticFiles::new(explorer)),
        )
        .build(addr)
        .await?;
    let bound = server.local_addr()?;
    let handle = server.start(module(shared, fees));
    tracing::info!(%bound, "API listening");
    Ok((bound, handle))
}
