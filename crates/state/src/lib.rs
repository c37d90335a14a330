//! The rollup's state and its native state machine.
//!
//! * [`smt`]: 4-ary sparse Poseidon Merkle trees with batched root recomputation.
//! * [`account`], [`pool`]: account leaves (address, L2 key hash, nonce, balance tree) and pool
//!   halves with the AMM arithmetic.
//! * [`chain`]: one chain's state and the chain-local operation rules ([`ChainState::apply_op`]) —
//!   what the auditor replays from pubdata.
//! * [`network`]: all chains, `final_root`, and the transaction rules that split a transaction into
//!   halves and links, with all-or-nothing application.
//! * [`block`]: the block builder — pubdata, onchain-ops hash, commitment, `sync_hash`, witness.
//! * [`witness`]: per-update leaf values and Merkle paths for the circuits.
//! * [`dev`]: deterministic, insecure development wallets for tests, benchmarks and the scenario.

pub mod account;
pub mod block;
pub mod chain;
pub mod dev;
mod error;
pub mod network;
pub mod pool;
pub mod smt;
pub mod snapshot;
pub mod witness;

pub use block::{
    Block, BlockContext, BuildOptions, ChainBlock, SubBlock, build_block, genesis_sync_hash,
};
pub use chain::ChainState;
pub use error::TxError;
pub use network::{NetworkConfig, NetworkState, VerifiedTx, verify};
