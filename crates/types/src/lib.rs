//! Protocol types of the multi-chain rollup, shared by the node, the circuits, the contracts'
//! encoders and the auditor.
//!
//! * [`ids`]: newtypes for chains, accounts, tokens, pools, blocks and nonces, and the tree-shape
//!   constants they are bounded by.
//! * [`amount`]: range-checked amounts (≤ 2^112 − 1, so no AMM or fee product can wrap the field)
//!   and the packed amount/fee forms used in pubdata and signed messages.
//! * [`domain`]: the deployment domain every user signature is bound to.
//! * [`tx`]: every transaction kind (DESIGN §3), its signed message and its canonical encoding.
//! * [`op`]: the chain-local halves a transaction splits into, and their pubdata encoding in
//!   fixed-size chunks.
//! * [`link`]: the cross-chain link data each chain's circuit commits to and the binding circuit
//!   pairs (swap halves, broadcast halves).
//!
//! Every decoder rejects malformed input with a typed [`DecodeError`].

pub mod amount;
mod codec;
pub mod domain;
pub mod ids;
pub mod link;
pub mod op;
pub mod tx;

pub use amount::{Amount, MAX_AMOUNT};
pub use codec::DecodeError;
pub use domain::{Domain, Peer};
pub use ids::*;
pub use link::Link;
pub use op::Op;
pub use rollup_crypto::{Address, PubKeyHash};
pub use tx::{L2Tx, Tx};
