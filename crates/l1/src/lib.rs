//! The rollup's L1 side.
//!
//! * [`approval`]: the auditor's signed approval of a block's commit inputs, checked by senders.
//! * [`solidity`]: Solidity generated from protocol parameters (the Poseidon contract the exodus
//!   Merkle proofs use), kept in `contracts/src` and checked to be current by a test.
//! * [`solc`]: the offline compiler (solcjs from npm) and the committed contract artifacts.
//! * [`bindings`]: alloy `sol!` bindings generated from the committed artifacts.
//! * [`deploy`]: deployment and configuration of one chain's contracts.
//! * [`encode`]: the calldata of the four stages from a block built by `rollup-state`.
//! * [`history`]: committed pubdata read back from L1 calldata (recovery, exodus).
//! * [`watcher`]: confirmed, decoded contract events per chain, resumable and reorg-aware.
//! * [`sender`]: locally signed transactions, persisted before broadcast, reconciled at start-up,
//!   fee-bumped when stuck, node errors classified.

pub mod approval;
pub mod bindings;
pub mod deploy;
pub mod encode;
pub mod history;
pub mod sender;
pub mod solc;
pub mod solidity;
pub mod watcher;

/// Errors of the L1 side. [`L1Error::retryable`] tells callers whether trying again may succeed.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The offline toolchain (node, solcjs) is missing or failed.
    #[error("toolchain: {0}")]
    Toolchain(String),
    /// Transport or node error (connection refused, timeout, rate limit).
    #[error("rpc: {0}")]
    Rpc(String),
    /// The sender's durable store failed (a transaction is never broadcast unless stored).
    #[error("transaction store: {0}")]
    Store(String),
    /// A transaction or call reverted, or a node refused it for good; the reason.
    #[error("reverted: {0}")]
    Reverted(String),
    /// A value that cannot be sent to the contract (out of range, inconsistent block data).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The chain reorganised below the confirmation window: blocks from `from_block` on changed
    /// after their events were handed over. Needs an operator's decision.
    #[error("reorg deeper than the confirmation window from block {from_block}")]
    DeepReorg {
        /// First block whose content may have changed.
        from_block: u64,
    },
}

impl L1Error {
    /// Whether retrying the same action may succeed: transport errors may; a revert, a bad input
    /// or a broken toolchain will not.
    pub fn retryable(&self) -> bool {
        matches!(self, L1Error::Rpc(_))
    }
}

/// A transport or node error, as the retryable [`L1Error::Rpc`].
pub(crate) fn rpc(e: impl std::fmt::Display) -> L1Error {
    L1Error::Rpc(e.to_string())
}
