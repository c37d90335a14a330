//! The operator node. Components, each a loop over the shared database:
//!
//! * [`keeper`]: the state keeper — restores the state from the newest snapshot by replaying the
//!   stored blocks after it (checking their roots), seals blocks from priority requests and the
//!   mempool, persists each block with each chain's L1 calls and its proving jobs before anything
//!   acts on it, and snapshots the state every `snapshot_interval` blocks, so neither its memory
//!   nor its restart grows with the history.
//! * [`mempool`]: the mempool's rules — admission limits, expiry, and the selection of
//!   transactions that can execute.
//! * [`worker`]: prover workers — claim proving jobs under a lease, prove, store the proof (any
//!   number, in this process or others sharing a PostgreSQL database).
//! * [`driver`]: one per chain — the watcher (priority requests, stage events) and the sender
//!   that commits, proves and executes each block on that chain in order.
//! * [`lead`]: leadership among node servers sharing the database — the keeper and each
//!   chain's sender act only under their lease, and their writes are fenced by it.
//! * [`gate`]: the auditor gate — a chain's driver commits only blocks the independent auditor
//!   signed an approval for, and sends nothing while the auditor is halted.
//! * [`oracle`]: an oracle instance with its own key — attests blocks every chain proved with the
//!   same `sync_hash`, posts its signature to the board, relays a threshold set to every chain;
//!   abandons blocks that can never be synced.
//! * [`revert`]: the operator's `rollup-node revert` — reverts a block some chain refused on
//!   every chain that allows it (with the oracles' abandonment where it was proven) and discards
//!   it locally.
//!
//! Persist before acting: a block is stored (recipe and each chain's calls, then jobs) before any L1 transaction refers
//! to it, every L1 transaction is stored before it is broadcast, and the watcher's cursor moves in
//! the same database transaction as the requests it read.

pub mod api;
pub mod config;
pub mod driver;
pub mod explorer;
pub mod fees;
pub mod gate;
pub mod keeper;
pub mod lead;
pub mod mempool;
pub mod metrics;
pub mod oracle;
pub mod recipe;
pub mod revert;
pub mod store;
pub mod web;
pub mod worker;

use rollup_state::{Block, NetworkConfig, NetworkState};
use rollup_storage::Storage;
use rollup_types::ChainId;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// What the components share in one process.
pub struct Shared {
    /// The database.
    pub storage: Storage,
    /// Network configuration (chains, fee account, deployment domain).
    pub network: NetworkConfig,
    /// The L2 state after the last sealed block.
    pub state: Mutex<NetworkState>,
    /// The newest sealed or replayed blocks, at most [`keeper::RECENT`], without their
    /// witness (their proving jobs hold it). Nothing depends on older ones being here: the
    /// drivers send from the calls stored with each block, so memory does not grow with the
    /// blocks waiting for proofs.
    pub blocks: Mutex<BTreeMap<u32, Arc<Block>>>,
    /// Chain-circuit capacity (chunks per sub-block).
    pub capacity: usize,
    /// Most sub-blocks per chain in a block the keeper seals; [`keeper::restore`] starts with
    /// one (replay does not depend on it: a stored block is rebuilt as it was sealed).
    pub sub_blocks: usize,
    /// How many blocks one stage transaction takes ([`keeper::restore`]: the defaults).
    pub batch: driver::BatchLimits,
    /// What this process knows of the auditor (its gate keeps it fresh).
    pub auditor: std::sync::RwLock<gate::AuditorStatus>,
    /// The snapshot the database starts from (a node recovered from L1), if any.
    pub base: Option<Base>,
    /// The mempool's limits and lifetimes (the API admits under them, the keeper selects and
    /// expires under them); [`keeper::restore`] starts with the defaults.
    pub mempool: mempool::MempoolConfig,
    /// The keeper stores a state snapshot after every block whose number is a multiple of this
    /// (0: none): a restart replays only the blocks after the newest ([`keeper::restore`]
    /// starts with [`keeper::SNAPSHOT_EVERY`]).
    pub snapshot_every: u32,
}

/// The block a recovered node's database starts after: blocks up to it exist only on L1.
#[derive(Clone, Debug)]
pub struct Base {
    /// The snapshot's block.
    pub number: u32,
    /// Its `sync_hash` (the next block chains from it).
    pub sync_hash: [u8; 32],
    /// Each chain's `StoredBlockInfo` of it (what the next commit refers to).
    pub stored: BTreeMap<ChainId, rollup_l1::bindings::Rollup::StoredBlockInfo>,
}

impl Shared {
    /// Connected chains, ascending.
    pub fn chains(&self) -> Vec<ChainId> {
        let mut c = self.network.chains.clone();
        c.sort();
        c
    }
}

/// Sets up `tracing` to stderr: `RUST_LOG` or `default` as the filter, colours only on a
/// terminal. The constraint-system spans of arkworks (targets `gr1cs`, `r1cs`) are always off:
/// their fields print whole constraint systems, which at `info` costs minutes of CPU and
/// gigabytes of memory per proof.
pub fn init_logging(default: &str) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    for quiet in ["gr1cs=off", "r1cs=off"] {
        filter = filter.add_directive(quiet.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .init();
}
