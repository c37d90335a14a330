//! What the explorer reads: each block's index (summary, transactions by hash, touched accounts)
//! as the keeper stores it, and the API methods over it, the stage transactions and the chains'
//! L1 facts. Methods, all under `rollup_`, with the API's error codes (`crate::api`):
//!
//! | method | params | result |
//! |---|---|---|
//! | `rollup_network` | — | `{lastBlock, domain, mempool, halted, auditor, chains: [{chain, evmChainId, contract, oracleThreshold, oracles, committed, proven, synced, executed}]}` (the L1 facts are null until the chain's driver first read them) |
//! | `rollup_tokens` | — | `[{chain, token, symbol, decimals, address}]`: ETH (token 0) and every token registered on each chain's contract |
//! | `rollup_blocks` | before (number or null), limit (1..=100) | blocks below `before` (null: from the newest), newest first: `{number, createdAt (Unix s), txCount, finalRoot, syncHash, chains: [{chain, stage, chunks, oldRoot, newRoot, priorityOps, l1: {committed, proven, synced, executed}}]}`, each L1 entry `{hash, gasUsed, at (its L1 block's time, Unix ms)}` or null |
//! | `rollup_block` | number | one such block with `txs: [{hash, kind, chain, position}]`, or null |
//! | `rollup_tx` | tx hash | `{hash, status, block?, position?, stages?, reason?, addedAt?, expiresAt?, chains, tx}` (`tx`: the decoded transaction, `{kind, …}`; null for one that left the mempool unsealed) or null when unknown |
//! | `rollup_accountInfo` | an address (`0x` + 40 hex) or an account id (decimal) | `{id, address, chains: {chain: {nonce, pubkeyHash, balances}}, txs: [{hash, kind, chain, block, position}]}` (newest 50), or null |

use crate::Shared;
use crate::api::{Api, code, err, internal, stage_name};
use jsonrpsee::RpcModule;
use jsonrpsee::types::ErrorObjectOwned;
use rollup_crypto::Address;
use rollup_crypto::field::fr_to_be_bytes;
use rollup_state::{Block, NetworkState};
use rollup_storage::{BlockIndex, BlockRow, IndexedTx, Stage, StageTx};
use rollup_types::ChainId;
use rollup_types::op::CHUNK_BYTES;
use rollup_types::tx::{L2Tx, Tx};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Most blocks one `rollup_blocks` call returns.
pub const MAX_PAGE: u32 = 100;
/// Most transactions `rollup_accountInfo` lists.
pub const ACCOUNT_TXS: u32 = 50;

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn addr(a: &Address) -> String {
    hex0x(&a.0)
}

/// A transaction's kind as the API names it.
pub fn kind(tx: &Tx) -> &'static str {
    match tx {
        Tx::Deposit(_) => "deposit",
        Tx::FullExit(_) => "fullExit",
        Tx::ChangePubKey { .. } => "changePubKey",
        Tx::L2 { tx, .. } => match tx {
            L2Tx::Transfer(_) => "transfer",
            L2Tx::Withdraw(_) => "withdraw",
            L2Tx::AddLiquidity(_) => "addLiquidity",
            L2Tx::RemoveLiquidity(_) => "removeLiquidity",
            L2Tx::Swap(_) => "swap",
            L2Tx::CreatePool(_) => "createPool",
        },
    }
}

/// The chain whose nonce or priority queue a transaction uses.
pub fn home_chain(tx: &Tx) -> ChainId {
    match tx {
        Tx::Deposit(d) => d.chain,
        Tx::FullExit(f) => f.chain,
        Tx::ChangePubKey { tx, .. } => tx.chain,
        Tx::L2 { tx, .. } => tx.chain(),
    }
}

/// The chains a transaction changes: its home chain, the peer half's chain of a swap or a new
/// pool, every chain for a key change (broadcast).
pub fn chains_touched(tx: &Tx, state: &NetworkState) -> Vec<u8> {
    let home = home_chain(tx);
    let mut out = match tx {
        Tx::ChangePubKey { .. } => state.chain_ids(),
        Tx::L2 {
            tx: L2Tx::CreatePool(p),
            ..
        } => vec![home, p.peer_chain],
        Tx::L2 {
            tx: L2Tx::Swap(s), ..
        } => {
            let peer = state
                .chain(home)
                .and_then(|c| c.pool(s.pool))
                .map(|h| h.peer_chain);
            std::iter::once(home).chain(peer).collect()
        }
        _ => vec![home],
    };
    out.sort();
    out.dedup();
    out.into_iter().map(|c| c.0).collect()
}

/// The accounts a transaction touches (the sender, then a recipient), looked up in `state` —
/// the state after the transaction's block, where a new recipient's account exists.
pub fn accounts_touched(tx: &Tx, state: &NetworkState) -> Vec<u32> {
    let id = |a: &Address| state.account_id(a).map(|i| i.0);
    let mut out: Vec<u32> = match tx {
        Tx::Deposit(d) => id(&d.to).into_iter().collect(),
        Tx::FullExit(f) => vec![f.account.0],
        Tx::ChangePubKey { tx, .. } => vec![tx.account.0],
        Tx::L2 {
            tx: L2Tx::Transfer(t),
            ..
        } => std::iter::once(t.from.0).chain(id(&t.to)).collect(),
        Tx::L2 { tx, .. } => vec![tx.account().0],
    };
    out.dedup();
    out
}

/// A transaction's fields as the API shows them (`{kind, …}`; amounts as decimal strings).
pub fn tx_json(tx: &Tx) -> Value {
    let mut v = match tx {
        Tx::Deposit(d) => json!({
            "chain": d.chain.0, "serialId": d.serial_id, "from": addr(&d.from),
            "to": addr(&d.to), "token": d.token.0, "amount": d.amount.get().to_string(),
        }),
        Tx::FullExit(f) => json!({
            "chain": f.chain.0, "serialId": f.serial_id, "account": f.account.0,
            "owner": addr(&f.owner), "token": f.token.0,
        }),
        Tx::ChangePubKey { tx: c, auth } => json!({
            "chain": c.chain.0, "account": c.account.0, "newPubkeyHash": hex0x(&c.new_pubkey_hash.0),
            "nonce": c.nonce.0, "feeToken": c.fee_token.0, "fee": c.fee.get().to_string(),
            "auth": match auth {
                rollup_types::tx::CpkAuth::Ecdsa(_) => "ecdsa",
                rollup_types::tx::CpkAuth::Onchain => "onchain",
            },
        }),
        Tx::L2 { tx, .. } => match tx {
            L2Tx::Transfer(t) => json!({
                "chain": t.chain.0, "from": t.from.0, "to": addr(&t.to), "token": t.token.0,
                "amount": t.amount.get().to_string(), "fee": t.fee.get().to_string(), "nonce": t.nonce.0,
            }),
            L2Tx::Withdraw(t) => json!({
                "chain": t.chain.0, "account": t.account.0, "to": addr(&t.to), "token": t.token.0,
                "amount": t.amount.get().to_string(), "fee": t.fee.get().to_string(), "nonce": t.nonce.0,
            }),
            L2Tx::AddLiquidity(t) => json!({
                "chain": t.chain.0, "account": t.account.0, "pool": t.pool.0,
                "amount": t.amount.get().to_string(), "minShares": t.min_shares.get().to_string(),
                "fee": t.fee.get().to_string(), "nonce": t.nonce.0,
            }),
            L2Tx::RemoveLiquidity(t) => json!({
                "chain": t.chain.0, "account": t.account.0, "pool": t.pool.0,
                "shares": t.shares.get().to_string(), "minOut": t.min_out.get().to_string(),
                "fee": t.fee.get().to_string(), "nonce": t.nonce.0,
            }),
            L2Tx::Swap(t) => json!({
                "chain": t.chain.0, "account": t.account.0, "pool": t.pool.0,
                "amountIn": t.amount_in.get().to_string(), "minOut": t.min_out.get().to_string(),
                "fee": t.fee.get().to_string(), "nonce": t.nonce.0,
            }),
            L2Tx::CreatePool(t) => json!({
                "chain": t.chain.0, "account": t.account.0, "pool": t.pool.0, "token": t.token.0,
                "peerChain": t.peer_chain.0, "peerToken": t.peer_token.0, "feeBps": t.fee_bps,
                "fee": t.fee.get().to_string(), "nonce": t.nonce.0,
            }),
        },
    };
    v["kind"] = json!(kind(tx));
    v
}

/// A block's index, from the block and the state after it.
pub fn block_index(block: &Block, after: &NetworkState) -> anyhow::Result<BlockIndex> {
    let chains: Vec<Value> = block
        .chains
        .iter()
        .map(|c| {
            json!({
                "chain": c.chain.0,
                "chunks": c.pubdata.len() / CHUNK_BYTES,
                "oldRoot": hex0x(&fr_to_be_bytes(&c.old_root)),
                "newRoot": hex0x(&fr_to_be_bytes(&c.new_root)),
                "priorityOps": c.priority_ops,
            })
        })
        .collect();
    let summary = json!({
        "timestamp": block.timestamp,
        "txCount": block.txs.len(),
        "chains": chains,
    });
    let txs = block
        .txs
        .iter()
        .map(|tx| {
            Ok(IndexedTx {
                hash: tx.hash()?,
                kind: kind(tx).to_string(),
                chain: home_chain(tx).0,
                tx: tx.encode()?,
                accounts: accounts_touched(tx, after),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(BlockIndex {
        summary: summary.to_string(),
        txs,
    })
}

fn stage_of(name: &str) -> Option<Stage> {
    Some(match name {
        "committed" => Stage::Committed,
        "proven" => Stage::Proven,
        "synced" => Stage::Synced,
        "executed" => Stage::Executed,
        _ => return None,
    })
}

/// The `rollup_blocks` entries of `rows`, with their stages and stage transactions.
async fn blocks_json(shared: &Shared, rows: &[BlockRow]) -> Result<Vec<Value>, ErrorObjectOwned> {
    let (Some(lo), Some(hi)) = (
        rows.iter().map(|r| r.number).min(),
        rows.iter().map(|r| r.number).max(),
    ) else {
        return Ok(Vec::new());
    };
    let storage = &shared.storage;
    let mut stages: BTreeMap<(u32, u8), Stage> = BTreeMap::new();
    for (n, c, s) in storage.stages_between(lo, hi).await.map_err(internal)? {
        stages.insert((n, c), s);
    }
    let mut l1: BTreeMap<(u32, u8, Stage), StageTx> = BTreeMap::new();
    for s in storage.stage_txs_between(lo, hi).await.map_err(internal)? {
        l1.insert((s.number, s.chain, s.stage), s);
    }
    rows.iter()
        .map(|r| {
            let summary: Value = match &r.summary {
                Some(s) => serde_json::from_str(s).map_err(internal)?,
                None => json!({}),
            };
            let by_chain: BTreeMap<u64, &Value> = summary["chains"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| Some((c["chain"].as_u64()?, c)))
                        .collect()
                })
                .unwrap_or_default();
            let chains: Vec<Value> = stages
                .range((r.number, 0)..=(r.number, u8::MAX))
                .map(|(&(n, c), &stage)| {
                    let s = by_chain.get(&u64::from(c));
                    let field = |k: &str| s.map_or(Value::Null, |s| s[k].clone());
                    let l1_of = |name: &str| {
                        stage_of(name)
                            .and_then(|st| l1.get(&(n, c, st)))
                            .map_or(Value::Null, |t| {
                                json!({"hash": hex0x(&t.l1_hash), "gasUsed": t.gas_used, "at": t.at_ms})
                            })
                    };
                    json!({
                        "chain": c,
                        "stage": stage_name(stage),
                        "chunks": field("chunks"),
                        "oldRoot": field("oldRoot"),
                        "newRoot": field("newRoot"),
                        "priorityOps": field("priorityOps"),
                        "l1": {
                            "committed": l1_of("committed"),
                            "proven": l1_of("proven"),
                            "synced": l1_of("synced"),
                            "executed": l1_of("executed"),
                        },
                    })
                })
                .collect();
            Ok(json!({
                "number": r.number,
                "createdAt": r.created_at,
                "txCount": summary["txCount"],
                "finalRoot": hex0x(&r.final_root),
                "syncHash": hex0x(&r.sync_hash),
                "chains": chains,
            }))
        })
        .collect()
}

async fn network(shared: &Shared) -> Result<Value, ErrorObjectOwned> {
    let storage = &shared.storage;
    let last = storage.last_block().await.map_err(internal)?;
    let mempool = storage.mempool_len().await.map_err(internal)?;
    // Stages only move forward and blocks pass them in order: the newest block at a stage or
    // beyond is the chain's progress there.
    let mut progress: BTreeMap<(u8, Stage), u32> = BTreeMap::new();
    for (c, s, n) in storage.chain_progress().await.map_err(internal)? {
        progress.insert((c, s), n);
    }
    let at_least = |c: u8, stage: Stage| {
        progress
            .iter()
            .filter(|((pc, ps), _)| *pc == c && *ps >= stage)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
    };
    let l1: BTreeMap<u8, rollup_storage::L1Chain> = storage
        .l1_chains()
        .await
        .map_err(internal)?
        .into_iter()
        .map(|c| (c.chain, c))
        .collect();
    let chains: Vec<Value> = shared
        .chains()
        .iter()
        .map(|c| {
            let facts = l1.get(&c.0);
            json!({
                "chain": c.0,
                "evmChainId": facts.map(|f| f.evm_chain_id),
                "contract": facts.map(|f| hex0x(&f.contract)),
                "oracleThreshold": facts.map(|f| f.oracle_threshold),
                "oracles": facts.map(|f| f.oracles.iter().map(|o| hex0x(o)).collect::<Vec<_>>()),
                "committed": at_least(c.0, Stage::Committed),
                "proven": at_least(c.0, Stage::Proven),
                "synced": at_least(c.0, Stage::Synced),
                "executed": at_least(c.0, Stage::Executed),
            })
        })
        .collect();
    let auditor = shared.auditor.read().expect("not poisoned").clone();
    Ok(json!({
        "lastBlock": last,
        "domain": shared.network.domain.to_string(),
        "mempool": mempool,
        "halted": matches!(auditor, crate::gate::AuditorStatus::Halted { .. }),
        "auditor": auditor,
        "chains": chains,
    }))
}

async fn tokens(shared: &Shared) -> Result<Value, ErrorObjectOwned> {
    let mut out: Vec<Value> = shared
        .chains()
        .iter()
        .map(|c| {
            json!({"chain": c.0, "token": 0, "symbol": "ETH", "decimals": 18, "address": hex0x(&[0; 20])})
        })
        .collect();
    for t in shared.storage.tokens().await.map_err(internal)? {
        out.push(json!({
            "chain": t.chain, "token": t.token, "symbol": t.symbol,
            "decimals": t.decimals, "address": hex0x(&t.address),
        }));
    }
    Ok(Value::Array(out))
}

async fn block(shared: &Shared, n: u32) -> Result<Value, ErrorObjectOwned> {
    let Some(row) = shared.storage.block_row(n).await.map_err(internal)? else {
        return Ok(Value::Null);
    };
    let mut v = blocks_json(shared, std::slice::from_ref(&row))
        .await?
        .pop()
        .ok_or_else(|| internal("a block row without its entry"))?;
    let txs: Vec<Value> = shared
        .storage
        .block_tx_refs(n)
        .await
        .map_err(internal)?
        .iter()
        .map(|t| json!({"hash": hex0x(&t.hash), "kind": t.kind, "chain": t.chain, "position": t.position}))
        .collect();
    v["txs"] = Value::Array(txs);
    Ok(v)
}

async fn tx(shared: &Shared, hash: &[u8; 32]) -> Result<Value, ErrorObjectOwned> {
    let storage = &shared.storage;
    let decode = |bytes: &[u8]| Tx::decode(bytes).map_err(internal);
    let (mut v, decoded) =
        if let Some((place, bytes)) = storage.indexed_tx(hash).await.map_err(internal)? {
            let v = json!({
                "status": "block",
                "block": place.number,
                "position": place.position,
                "stages": crate::api::stages_json(shared, place.number).await?,
            });
            (v, Some(decode(&bytes)?))
        } else if let Some(bytes) = storage.pool_entry(hash).await.map_err(internal)? {
            let timing = storage.pool_timing(hash).await.map_err(internal)?;
            let v = json!({
                "status": "mempool",
                "addedAt": timing.as_ref().map(|t| t.added_ms),
                "expiresAt": timing.as_ref().map(|t| t.expires_ms),
            });
            (v, Some(decode(&bytes)?))
        } else if let Some(o) = storage.tx_outcome(hash).await.map_err(internal)? {
            (
                json!({"status": o.status, "reason": o.reason, "at": o.at_ms}),
                None,
            )
        } else {
            return Ok(Value::Null);
        };
    v["hash"] = json!(hex0x(hash));
    match decoded {
        Some(t) => {
            let state = shared.state.lock().await;
            v["chains"] = json!(chains_touched(&t, &state));
            v["tx"] = tx_json(&t);
        }
        None => {
            v["chains"] = json!([]);
            v["tx"] = Value::Null;
        }
    }
    Ok(v)
}

/// The account `query` names: an address (`0x` and 40 hex digits) or an id (decimal).
fn account_query(query: &str, state: &NetworkState) -> Result<Option<u32>, ErrorObjectOwned> {
    let q = query.trim();
    if let Some(h) = q.strip_prefix("0x") {
        let bytes: [u8; 20] = hex::decode(h)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| err(code::INVALID_PARAMS, "address: 0x and 40 hex digits"))?;
        return Ok(state.account_id(&Address(bytes)).map(|i| i.0));
    }
    if !q.is_empty() && q.len() <= 10 && q.bytes().all(|b| b.is_ascii_digit()) {
        let id: u64 = q.parse().map_err(|_| internal("digits parse"))?;
        return Ok((id < u64::from(state.account_count())).then_some(id as u32));
    }
    Err(err(
        code::INVALID_PARAMS,
        "account: an address (0x and 40 hex digits) or an account id (decimal)",
    ))
}

async fn account_info(shared: &Shared, query: &str) -> Result<Value, ErrorObjectOwned> {
    let (id, address, chains) = {
        let state = shared.state.lock().await;
        let Some(id) = account_query(query, &state)? else {
            return Ok(Value::Null);
        };
        let mut chains = serde_json::Map::new();
        let mut address = None;
        for c in state.chain_ids() {
            let Some(a) = state
                .chain(c)
                .and_then(|ch| ch.account(rollup_types::AccountId(id)))
            else {
                continue;
            };
            address = Some(a.address);
            let balances: serde_json::Map<String, Value> = a
                .balances()
                .map(|(t, v)| (t.0.to_string(), json!(v.get().to_string())))
                .collect();
            chains.insert(
                c.0.to_string(),
                json!({"nonce": a.nonce.0, "pubkeyHash": hex0x(&a.pubkey_hash.0), "balances": balances}),
            );
        }
        let Some(address) = address else {
            return Ok(Value::Null);
        };
        (id, address, chains)
    };
    let txs: Vec<Value> = shared
        .storage
        .account_txs(id, ACCOUNT_TXS)
        .await
        .map_err(internal)?
        .iter()
        .map(|t| {
            json!({"hash": hex0x(&t.hash), "kind": t.kind, "chain": t.chain, "block": t.number, "position": t.position})
        })
        .collect();
    Ok(json!({"id": id, "address": addr(&address), "chains": chains, "txs": txs}))
}

fn parse<T: serde::de::DeserializeOwned>(
    params: jsonrpsee::types::Params<'_>,
) -> Result<T, ErrorObjectOwned> {
    params
        .parse()
        .map_err(|e| err(code::INVALID_PARAMS, e.message().to_string()))
}

/// Adds the explorer's methods to the API module.
pub fn register(m: &mut RpcModule<Api>) {
    m.register_async_method("rollup_network", |_, api, _| async move {
        network(&api.shared).await
    })
    .expect("unique method name");
    m.register_async_method("rollup_tokens", |_, api, _| async move {
        tokens(&api.shared).await
    })
    .expect("unique method name");
    m.register_async_method("rollup_blocks", |params, api, _| async move {
        let (before, limit): (Option<u32>, u32) = parse(params)?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(err(code::INVALID_PARAMS, format!("limit: 1 to {MAX_PAGE}")));
        }
        let rows = api
            .shared
            .storage
            .blocks_page(before, limit)
            .await
            .map_err(internal)?;
        Ok(Value::Array(blocks_json(&api.shared, &rows).await?))
    })
    .expect("unique method name");
    m.register_async_method("rollup_block", |params, api, _| async move {
        let (n,): (u32,) = parse(params)?;
        block(&api.shared, n).await
    })
    .expect("unique method name");
    m.register_async_method("rollup_tx", |params, api, _| async move {
        let (h,): (String,) = parse(params)?;
        tx(&api.shared, &crate::api::hash_arg(&h)?).await
    })
    .expect("unique method name");
    m.register_async_method("rollup_accountInfo", |params, api, _| async move {
        let (q,): (String,) = parse(params)?;
        account_info(&api.shared, &q).await
    })
    .expect("unique method name");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollup_state::dev::{DevWallet, TEST_DOMAIN};
    use rollup_types::tx::Transfer;
    use rollup_types::{AccountId, Amount, Nonce, TokenId};

    #[test]
    fn every_kind_has_its_name_and_fields() {
        let alice = DevWallet::new(1).on(TEST_DOMAIN);
        let t = alice.sign(L2Tx::Transfer(Transfer {
            chain: ChainId(2),
            from: AccountId(7),
            to: Address([9; 20]),
            token: TokenId(1),
            amount: Amount::new(1_000).unwrap(),
            fee: Amount::new(3).unwrap(),
            nonce: Nonce(4),
        }));
        let v = tx_json(&t);
        assert_eq!(v["kind"], "transfer");
        assert_eq!(v["from"], 7);
        assert_eq!(v["to"], format!("0x{}", hex::encode([9; 20])));
        assert_eq!(
            (v["amount"].as_str(), v["fee"].as_str()),
            (Some("1000"), Some("3"))
        );
        assert_eq!(home_chain(&t), ChainId(2));
    }
}
