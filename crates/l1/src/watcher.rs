//! The per-chain watcher: reads the rollup contract's events with `eth_getLogs` up to the newest
//! block with enough confirmations, decodes them, and hands them over in batches with the cursor
//! to resume from.
//!
//! * **Exactly once across restarts**: the watcher keeps no state of its own. The caller persists
//!   each batch's effects together with [`Batch::cursor`] (one database transaction) and resumes
//!   from the stored cursor, so an event is processed once whatever the moment of a crash.
//! * **Reorgs**: events are delivered only once `confirmations` blocks deep, so a reorg within that
//!   window is never seen. The cursor remembers the hashes of the last blocks it covered; a reorg
//!   deeper than the window is detected by the next poll (a remembered hash changed) and reported
//!   as [`L1Error::DeepReorg`] with the first block to re-read: events already handed over may be
//!   gone, which only an operator can judge (the node halts rather than guess).
//! * Priority requests are delivered as the protocol's transactions (`Tx::decode` of the queued
//!   encoding), with their serial ids; a request that does not decode is an error, never skipped.

use crate::bindings::Rollup;
use crate::{L1Error, rpc};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use rollup_types::tx::Tx;
use serde::{Deserialize, Serialize};

/// How far behind the head the watcher reads, and how much per request.
#[derive(Clone, Copy, Debug)]
pub struct WatcherConfig {
    /// Blocks on top of a block before its events are delivered (0: the head itself).
    pub confirmations: u64,
    /// Most blocks per `eth_getLogs` request.
    pub max_range: u64,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            confirmations: 6,
            max_range: 2_000,
        }
    }
}

/// Block hashes a cursor remembers (the deepest reorg it can detect beyond the window).
const REMEMBERED: usize = 64;

/// Where to resume: the next block to read, and the hashes of the last blocks read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The next block to read.
    pub next_block: u64,
    /// (number, hash) of blocks covered by earlier batches, newest last.
    pub seen: Vec<(u64, B256)>,
}

impl Cursor {
    /// A cursor starting at `block` (e.g. the contract's deployment block).
    pub fn from_block(block: u64) -> Self {
        Cursor {
            next_block: block,
            seen: Vec::new(),
        }
    }

    /// This cursor moved back to re-read from `block` (after [`L1Error::DeepReorg`], once the
    /// caller has retracted what it took from blocks at or above it).
    pub fn rewound(&self, block: u64) -> Self {
        Cursor {
            next_block: block.min(self.next_block),
            seen: self
                .seen
                .iter()
                .filter(|(n, _)| *n < block)
                .cloned()
                .collect(),
        }
    }
}

/// A decoded contract event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A deposit or full-exit request entered the queue.
    PriorityRequest {
        /// Serial id in this chain's queue.
        serial: u64,
        /// The request as the protocol's transaction.
        tx: Tx,
        /// When it expires (L1 timestamp).
        expires_at: u64,
    },
    /// A token was registered.
    TokenAdded {
        /// Its id on this chain.
        id: u16,
        /// Its contract (zero for ETH).
        token: Address,
        /// Its decimals.
        decimals: u8,
    },
    /// A block was committed.
    BlockCommitted {
        /// Number.
        number: u32,
        /// Its sync hash as this chain computed it.
        sync_hash: B256,
    },
    /// A block was proven.
    BlockProven {
        /// Number.
        number: u32,
        /// `final_root` after it.
        final_root: B256,
        /// Its sync hash.
        sync_hash: B256,
    },
    /// Blocks up to this one are synced.
    BlockSynced {
        /// Number.
        number: u32,
        /// Its sync hash.
        sync_hash: B256,
    },
    /// A block was executed.
    BlockExecuted {
        /// Number.
        number: u32,
    },
    /// Blocks above `committed` were reverted.
    BlocksReverted {
        /// Blocks committed after the revert.
        committed: u32,
        /// Blocks proven after the revert.
        proven: u32,
    },
    /// The chain entered exodus mode.
    ExodusActivated,
    /// An owner authorised a key change on L1 (`setAuthPubkeyHash`).
    AuthFact {
        /// The owner (the fact's sender).
        owner: Address,
        /// The account nonce it is for.
        nonce: u32,
        /// The fact ([`rollup_types::tx::auth_fact`] of the event's fields).
        fact: B256,
    },
}

/// An event with where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    /// The event.
    pub event: Event,
    /// Block number.
    pub block: u64,
    /// Transaction hash.
    pub tx_hash: B256,
    /// Index of the log in its block.
    pub log_index: u64,
}

/// Events of a range of blocks and the cursor after them.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Events in chain order.
    pub events: Vec<Watched>,
    /// Where to resume after these events are processed.
    pub cursor: Cursor,
}

/// Watches one chain's rollup contract.
pub struct Watcher<P> {
    provider: P,
    contract: Address,
    cfg: WatcherConfig,
}

impl<P: Provider> Watcher<P> {
    /// A watcher of the rollup contract at `contract`.
    pub fn new(provider: P, contract: Address, cfg: WatcherConfig) -> Self {
        Watcher {
            provider,
            contract,
            cfg,
        }
    }

    async fn hash_of(&self, number: u64) -> Result<Option<B256>, L1Error> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(rpc)?;
        Ok(block.map(|b| b.header.hash))
    }

    /// Reads the events after `cursor` up to the newest confirmed block (at most `max_range`
    /// blocks). An empty batch with an unchanged cursor means nothing new is confirmed.
    pub async fn poll(&self, cursor: &Cursor) -> Result<Batch, L1Error> {
        // A remembered block whose hash changed: the chain reorganised below the window.
        if let Some((number, hash)) = cursor.seen.last()
            && self.hash_of(*number).await? != Some(*hash)
        {
            let mut first = cursor.seen.first().map_or(0, |s| s.0);
            for (n, h) in cursor.seen.iter().rev() {
                if self.hash_of(*n).await? == Some(*h) {
                    first = n + 1;
                    break;
                }
            }
            return Err(L1Error::DeepReorg { from_block: first });
        }
        let head = self.provider.get_block_number().await.map_err(rpc)?;
        let Some(safe) = head.checked_sub(self.cfg.confirmations) else {
            return Ok(Batch {
                events: Vec::new(),
                cursor: cursor.clone(),
            });
        };
        if cursor.next_block > safe {
            return Ok(Batch {
                events: Vec::new(),
                cursor: cursor.clone(),
            });
        }
        let to = safe.min(cursor.next_block + self.cfg.max_range.max(1) - 1);
        let filter = Filter::new()
            .address(self.contract)
            .from_block(cursor.next_block)
            .to_block(to);
        let logs = self.provider.get_logs(&filter).await.map_err(rpc)?;
        let mut events = Vec::with_capacity(logs.len());
        for log in &logs {
            if let Some(event) = decode(log)? {
                events.push(Watched {
                    event,
                    block: log.block_number.unwrap_or_default(),
                    tx_hash: log.transaction_hash.unwrap_or_default(),
                    log_index: log.log_index.unwrap_or_default(),
                });
            }
        }
        // Remember the last block read; it must still be there at the next poll.
        let hash = self
            .hash_of(to)
            .await?
            .ok_or_else(|| L1Error::Rpc(format!("block {to} vanished")))?;
        let mut seen = cursor.seen.clone();
        seen.push((to, hash));
        if seen.len() > REMEMBERED {
            seen.remove(0);
        }
        Ok(Batch {
            events,
            cursor: Cursor {
                next_block: to + 1,
                seen,
            },
        })
    }
}

/// Decodes a rollup log; `None` for events the node does not act on.
fn decode(log: &Log) -> Result<Option<Event>, L1Error> {
    let bad = |e: alloy::sol_types::Error| L1Error::Invalid(format!("undecodable event: {e}"));
    let Some(topic) = log.topic0() else {
        return Ok(None);
    };
    let inner = &log.inner;
    Ok(Some(match *topic {
        Rollup::PriorityRequestQueued::SIGNATURE_HASH => {
            let e = Rollup::PriorityRequestQueued::decode_log(inner).map_err(bad)?;
            let tx = Tx::decode(&e.op).map_err(|err| {
                L1Error::Invalid(format!("priority request {}: {err}", e.serialId))
            })?;
            Event::PriorityRequest {
                serial: e.serialId,
                tx,
                expires_at: e.expiresAt,
            }
        }
        Rollup::TokenAdded::SIGNATURE_HASH => {
            let e = Rollup::TokenAdded::decode_log(inner).map_err(bad)?;
            Event::TokenAdded {
                id: e.tokenId,
                token: e.token,
                decimals: e.decimals,
            }
        }
        Rollup::BlockCommitted::SIGNATURE_HASH => {
            let e = Rollup::BlockCommitted::decode_log(inner).map_err(bad)?;
            Event::BlockCommitted {
                number: e.blockNumber,
                sync_hash: e.syncHash,
            }
        }
        Rollup::BlockProven::SIGNATURE_HASH => {
            let e = Rollup::BlockProven::decode_log(inner).map_err(bad)?;
            Event::BlockProven {
                number: e.blockNumber,
                final_root: e.finalRoot,
                sync_hash: e.syncHash,
            }
        }
        Rollup::BlockSynced::SIGNATURE_HASH => {
            let e = Rollup::BlockSynced::decode_log(inner).map_err(bad)?;
            Event::BlockSynced {
                number: e.blockNumber,
                sync_hash: e.syncHash,
            }
        }
        Rollup::BlockExecuted::SIGNATURE_HASH => {
            let e = Rollup::BlockExecuted::decode_log(inner).map_err(bad)?;
            Event::BlockExecuted {
                number: e.blockNumber,
            }
        }
        Rollup::BlocksReverted::SIGNATURE_HASH => {
            let e = Rollup::BlocksReverted::decode_log(inner).map_err(bad)?;
            Event::BlocksReverted {
                committed: e.totalCommitted,
                proven: e.totalProven,
            }
        }
        Rollup::ExodusActivated::SIGNATURE_HASH => Event::ExodusActivated,
        Rollup::AuthPubkeyHashSet::SIGNATURE_HASH => {
            let e = Rollup::AuthPubkeyHashSet::decode_log(inner).map_err(bad)?;
            Event::AuthFact {
                owner: e.owner,
                nonce: e.nonce,
                fact: B256::from(rollup_types::tx::auth_fact(
                    e.accountId,
                    &rollup_crypto::PubKeyHash(e.pubkeyHash.0),
                    e.feeToken,
                    e.fee,
                )),
            }
        }
        _ => return Ok(None),
    }))
}
