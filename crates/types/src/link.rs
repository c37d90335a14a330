//! Cross-chain links: what one chain's block circuit emits and the binding circuit pairs.
//!
//! A chain circuit cannot see other chains, so every operation whose validity depends on another
//! chain emits a link: both halves of a swap (the binding circuit enforces the AMM invariant with
//! fee, the min-out, and that the halves agree) and every broadcast half (account creation, key
//! change, pool creation — the binding circuit checks all chains carry the same half). Links are
//! numbered by the transaction's position in the block, so halves pair by `id`.
//!
//! Every half says where it comes from: the signed or L1-authorised origin half of a key change or
//! a pool creation has its own kind ([`kind::CHANGE_PUBKEY`], [`kind::CREATE_POOL`]), distinct
//! from the unsigned halves it causes on other chains ([`kind::SET_PUBKEY`],
//! [`kind::CREATE_POOL_PEER`]), so that unsigned halves alone can never pass for a complete
//! operation.
//!
//! Each chain commits to its links with [`links_hash`], a Poseidon fold over [`Link::to_fields`].

use crate::amount::Amount;
use crate::ids::{AccountId, ChainId, PoolId, TokenId};
use ark_bn254::Fr;
use rollup_crypto::{Address, PubKeyHash, field, poseidon};

/// The kind byte of each link (the low byte of its header).
#[allow(missing_docs)]
pub mod kind {
    pub const SWAP_IN: u8 = 1;
    pub const SWAP_OUT: u8 = 2;
    pub const CREATE_ACCOUNT: u8 = 3;
    /// The unsigned broadcast half of a key change, on every chain but the origin.
    pub const SET_PUBKEY: u8 = 4;
    /// The unsigned half of a pool creation, on the pool's peer chain.
    pub const CREATE_POOL_PEER: u8 = 5;
    /// The L1-authorised ChangePubKey itself, on its origin chain.
    pub const CHANGE_PUBKEY: u8 = 6;
    /// The signed CreatePool itself, on its origin chain.
    pub const CREATE_POOL: u8 = 7;
}

/// One link emitted by a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// Input half of a swap on the pool's input chain.
    SwapIn {
        /// Tx position in the block.
        id: u32,
        /// Pool.
        pool: PoolId,
        /// Trader.
        account: AccountId,
        /// Input-side reserve before the swap.
        reserve_before: Amount,
        /// Input amount.
        amount_in: Amount,
        /// The trader's minimum output.
        min_out: Amount,
        /// The pool's fee (bps), as stored in the input half.
        fee_bps: u16,
        /// The chain of the pool's other half (where the output is paid).
        peer_chain: ChainId,
    },
    /// Output half of a swap on the pool's other chain.
    SwapOut {
        /// Tx position in the block.
        id: u32,
        /// Pool.
        pool: PoolId,
        /// Trader.
        account: AccountId,
        /// Output-side reserve before the swap.
        reserve_before: Amount,
        /// Output amount.
        amount_out: Amount,
        /// The chain of the pool's other half (where the input was paid).
        peer_chain: ChainId,
    },
    /// Account creation (broadcast).
    CreateAccount {
        /// Tx position in the block.
        id: u32,
        /// Account.
        account: AccountId,
        /// Address.
        address: Address,
    },
    /// Key change: the authorised ChangePubKey on its origin chain (`origin`), or the broadcast
    /// SetPubKey it causes on every other chain.
    SetPubKey {
        /// Tx position in the block.
        id: u32,
        /// Account.
        account: AccountId,
        /// New key hash.
        pubkey_hash: PubKeyHash,
        /// The origin half (kind 6) rather than a broadcast half (kind 4).
        origin: bool,
    },
    /// Pool creation half: the signed CreatePool on its origin chain (`origin`) or the peer half
    /// on the other chain; the binding circuit pairs the two.
    CreatePool {
        /// Tx position in the block.
        id: u32,
        /// Pool.
        pool: PoolId,
        /// Chain of this half.
        chain: ChainId,
        /// Token of this half.
        token: TokenId,
        /// Chain of the other half.
        peer_chain: ChainId,
        /// Token of the other half.
        peer_token: TokenId,
        /// Swap fee (bps).
        fee_bps: u16,
        /// The signed origin half (kind 7) rather than the peer half (kind 5).
        origin: bool,
    },
}

fn u(v: u128) -> Fr {
    field::fr_from_u128(v)
}

impl Link {
    /// The tx position the link belongs to.
    pub fn id(&self) -> u32 {
        match self {
            Link::SwapIn { id, .. }
            | Link::SwapOut { id, .. }
            | Link::CreateAccount { id, .. }
            | Link::SetPubKey { id, .. }
            | Link::CreatePool { id, .. } => *id,
        }
    }

    /// The same link under another id.
    pub fn with_id(mut self, new: u32) -> Link {
        match &mut self {
            Link::SwapIn { id, .. }
            | Link::SwapOut { id, .. }
            | Link::CreateAccount { id, .. }
            | Link::SetPubKey { id, .. }
            | Link::CreatePool { id, .. } => *id = new,
        }
        self
    }

    /// Fixed-width field encoding: `[kind8 ‖ id32 ‖ payload header, a, b, c]`, the header being
    /// `kind + id·2^8 + payload·2^40` with every payload component at a fixed width
    /// (docs/SOUNDNESS.md, packing table).
    pub fn to_fields(&self) -> [Fr; 4] {
        let header = |kind: u8, id: u32, x: u128| u(kind as u128 | (id as u128) << 8 | x << 40);
        match self {
            Link::SwapIn {
                id,
                pool,
                account,
                reserve_before,
                amount_in,
                min_out,
                fee_bps,
                peer_chain,
            } => [
                header(
                    kind::SWAP_IN,
                    *id,
                    pool.0 as u128
                        | (account.0 as u128) << 16
                        | (*fee_bps as u128) << 40
                        | (peer_chain.0 as u128) << 56,
                ),
                u(reserve_before.get()),
                u(amount_in.get()),
                u(min_out.get()),
            ],
            Link::SwapOut {
                id,
                pool,
                account,
                reserve_before,
                amount_out,
                peer_chain,
            } => [
                header(
                    kind::SWAP_OUT,
                    *id,
                    pool.0 as u128 | (account.0 as u128) << 16 | (peer_chain.0 as u128) << 40,
                ),
                u(reserve_before.get()),
                u(amount_out.get()),
                Fr::from(0u8),
            ],
            Link::CreateAccount {
                id,
                account,
                address,
            } => [
                header(kind::CREATE_ACCOUNT, *id, account.0 as u128),
                field::fr_from_short_be(&address.0),
                Fr::from(0u8),
                Fr::from(0u8),
            ],
            Link::SetPubKey {
                id,
                account,
                pubkey_hash,
                origin,
            } => [
                header(
                    if *origin {
                        kind::CHANGE_PUBKEY
                    } else {
                        kind::SET_PUBKEY
                    },
                    *id,
                    account.0 as u128,
                ),
                pubkey_hash.to_fr(),
                Fr::from(0u8),
                Fr::from(0u8),
            ],
            Link::CreatePool {
                id,
                pool,
                chain,
                token,
                peer_chain,
                peer_token,
                fee_bps,
                origin,
            } => [
                header(
                    if *origin {
                        kind::CREATE_POOL
                    } else {
                        kind::CREATE_POOL_PEER
                    },
                    *id,
                    pool.0 as u128
                        | (chain.0 as u128) << 16
                        | (token.0 as u128) << 24
                        | (peer_chain.0 as u128) << 40
                        | (peer_token.0 as u128) << 48
                        | (*fee_bps as u128) << 64,
                ),
                Fr::from(0u8),
                Fr::from(0u8),
                Fr::from(0u8),
            ],
        }
    }
}

/// The hash a chain commits to over all its links: `h_0 = 0`, `h_{i+1} = Poseidon(h_i, link_i)` over
/// [`Link::to_fields`]. A fold of fixed-size steps is what the chain circuit computes, one
/// conditional step per pubdata chunk.
pub fn links_hash(links: &[Link]) -> Fr {
    links.iter().fold(Fr::from(0u8), |acc, l| {
        let [a, b, c, d] = l.to_fields();
        poseidon::hash(&[acc, a, b, c, d])
    })
}
