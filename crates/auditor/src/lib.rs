//! The independent auditor (DESIGN §6). It shares only the protocol definitions with the node —
//! types and encodings (`rollup-types`), hashing (`rollup-crypto`), the per-chain operation rules
//! as a library (`rollup_state::ChainState::apply_op`), the L1 ABI (`rollup-l1`) — never the
//! node's state, database or block builder.
//!
//! [`replay::Auditor`] keeps its own copy of every chain's state and re-executes each block from
//! exactly what the chains' contracts receive: each chain's `commitBlocks` input (its pubdata and
//! every chain's hashes). It approves a block only if every chain's input agrees, every operation
//! follows the rules, the priority operations are the chains' L1 queues in order, every cross-chain
//! swap keeps the constant product, and the `final_root` it computes is the one committed; it
//! computes the commitment and the `sync_hash` the contracts will. Anything else is a
//! [`replay::Mismatch`], kept as evidence.
//!
//! [`recover::from_l1`] rebuilds every chain's state from L1 alone through the same audit, and
//! checks it against each contract's last executed chain root. [`store::AuditStore`] is the
//! auditor's own database (approved inputs replayed at start, approvals, halts with evidence);
//! [`service::Service`] runs the auditor against a node's API and the chains.

pub mod api;
pub mod config;
pub mod recover;
pub mod replay;
pub mod service;
pub mod store;

pub use replay::{Audited, Auditor, Mismatch};
