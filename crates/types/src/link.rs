//! Cross-chain links: what one chain's block circuit emits and the binding circuit pairs.
//!
//! A chain circuit cannot see other chains, so every operation whose validity depends on another
//! chain emits a link: both halves of a swap (the binding circuit enforces the AMM invariant with
//! fee, the min-out, and that the halves agree) and every broadcast half (account creation, key
//! change, pool creation — the binding circuit checks all chains carry the same half). Links are
//! numbered by the transaction's position in the block, so halves pair by `id`.
//!
//! Each chain commits to its links with [`links_hash`], a Poseidon fold over [`Link::to_fields`].

use crate::amount::Amount;
use crate::ids::{AccountId, ChainId, PoolId, TokenId};
use ark_bn254::Fr;
use rollup_crypto::{Address, PubKeyHash, field, poseidon};

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
    /// Key change (broadcast).
    SetPubKey {
        /// Tx position in the block.
        id: u32,
        /// Account.
        account: AccountId,
        /// New key hash.
        pubkey_hash: PubKeyHash,
    },
    /// Pool creation half; the binding circuit pairs the two halves.
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

    /// Fixed-width field encoding: `[kind ‖ id ‖ pool/account header, a, b, c]`.
    pub fn to_fields(&self) -> [Fr; 4] {
        let header = |kind: u128, id: u32, x: u128| u(kind | (id as u128) << 8 | x << 40);
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
                    1,
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
                    2,
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
                header(3, *id, account.0 as u128),
                field::fr_from_short_be(&address.0),
                Fr::from(0u8),
                Fr::from(0u8),
            ],
            Link::SetPubKey {
                id,
                account,
                pubkey_hash,
            } => [
                header(4, *id, account.0 as u128),
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
            } => [
                header(
                    5,
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
