//! Identifier newtypes and the tree-shape constants that bound them.
//!
//! All Merkle trees are 4-ary (one Poseidon-of-4 per node: 37% fewer constraints than binary at the
//! same capacity, DESIGN §4).

use crate::codec::DecodeError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Maximum number of connected chains; `final_root` hashes this many chain roots (unused slots
/// hold the empty chain root).
pub const MAX_CHAINS: usize = 8;
/// 4-ary depth of each chain's state tree: 4^12 = 2^24 leaves — accounts first, then the pool
/// halves in the last [`MAX_POOLS`] leaves (one tree keeps every update the same shape in-circuit).
pub const ACCOUNT_TREE_DEPTH: usize = 12;
/// 4-ary depth of each account's balance tree: 4^5 = 1024 slots (tokens, then LP shares).
pub const BALANCE_TREE_DEPTH: usize = 5;
/// Number of ordinary token ids per chain; balance slots above it hold LP shares.
pub const MAX_TOKENS: u16 = 512;
/// Number of pool ids; pool `p`'s LP shares on a chain live in balance slot `MAX_TOKENS + p`.
pub const MAX_POOLS: u16 = 512;
/// Distinct fee tokens a block may collect per chain: the block circuit credits the fee account
/// once per token at the end of the block, in this many fixed slots.
pub const FEE_TOKENS_PER_BLOCK: usize = 4;
/// Number of account ids: the state tree's leaves minus the pool leaves.
pub const MAX_ACCOUNTS: u32 = (1 << 24) - MAX_POOLS as u32;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub $inner);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        // Binary form of circuit witnesses (prover jobs): the inner integer, little-endian.
        impl ark_serialize::CanonicalSerialize for $name {
            fn serialize_with_mode<W: std::io::Write>(
                &self,
                writer: W,
                compress: ark_serialize::Compress,
            ) -> Result<(), ark_serialize::SerializationError> {
                ark_serialize::CanonicalSerialize::serialize_with_mode(&self.0, writer, compress)
            }

            fn serialized_size(&self, compress: ark_serialize::Compress) -> usize {
                ark_serialize::CanonicalSerialize::serialized_size(&self.0, compress)
            }
        }

        impl ark_serialize::Valid for $name {
            fn check(&self) -> Result<(), ark_serialize::SerializationError> {
                Ok(())
            }
        }

        impl ark_serialize::CanonicalDeserialize for $name {
            fn deserialize_with_mode<R: std::io::Read>(
                reader: R,
                compress: ark_serialize::Compress,
                validate: ark_serialize::Validate,
            ) -> Result<Self, ark_serialize::SerializationError> {
                <$inner as ark_serialize::CanonicalDeserialize>::deserialize_with_mode(reader, compress, validate)
                    .map($name)
            }
        }
    };
}

id_type!(
    /// A connected L1 chain, numbered 1..=[`MAX_CHAINS`] (the rollup's id, not the EVM chain id).
    ChainId(u8)
);
id_type!(
    /// A global account id; the same on every chain.
    AccountId(u32)
);
id_type!(
    /// A token id on one chain; a token is always a (chain, token) pair ([`ChainToken`]).
    TokenId(u16)
);
id_type!(
    /// A cross-chain pool id; the pool has one half on each of two chains.
    PoolId(u16)
);
id_type!(
    /// An L2 block number (genesis is 0, the first block 1).
    BlockNumber(u32)
);
id_type!(
    /// An account's transaction counter on one chain.
    Nonce(u32)
);

impl ChainId {
    /// A chain id in 1..=MAX_CHAINS.
    pub fn new(v: u8) -> Result<Self, DecodeError> {
        if v == 0 || v as usize > MAX_CHAINS {
            return Err(DecodeError::OutOfRange {
                field: "chain id",
                value: v as u128,
            });
        }
        Ok(ChainId(v))
    }

    /// Position of this chain among the `final_root` slots (0-based).
    pub fn index(self) -> usize {
        self.0 as usize - 1
    }
}

impl AccountId {
    /// The fee account (the operator's), present on every chain from genesis.
    pub const FEE: AccountId = AccountId(0);

    /// An account id below 2^24.
    pub fn new(v: u32) -> Result<Self, DecodeError> {
        if v >= MAX_ACCOUNTS {
            return Err(DecodeError::OutOfRange {
                field: "account id",
                value: v as u128,
            });
        }
        Ok(AccountId(v))
    }
}

impl TokenId {
    /// An ordinary token id below [`MAX_TOKENS`].
    pub fn new(v: u16) -> Result<Self, DecodeError> {
        if v >= MAX_TOKENS {
            return Err(DecodeError::OutOfRange {
                field: "token id",
                value: v as u128,
            });
        }
        Ok(TokenId(v))
    }

    /// The balance slot holding LP shares of `pool`'s half on the account's chain.
    pub fn lp_share(pool: PoolId) -> TokenId {
        TokenId(MAX_TOKENS + pool.0)
    }
}

impl PoolId {
    /// The state-tree leaf holding this pool's half on a chain.
    pub fn leaf_index(self) -> u64 {
        MAX_ACCOUNTS as u64 + self.0 as u64
    }

    /// A pool id below [`MAX_POOLS`].
    pub fn new(v: u16) -> Result<Self, DecodeError> {
        if v >= MAX_POOLS {
            return Err(DecodeError::OutOfRange {
                field: "pool id",
                value: v as u128,
            });
        }
        Ok(PoolId(v))
    }
}

impl BlockNumber {
    /// The next block number.
    pub fn next(self) -> BlockNumber {
        BlockNumber(self.0 + 1)
    }
}

/// A token on a specific chain — the only meaningful notion of "token" in a multi-chain rollup.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct ChainToken {
    /// The chain whose vault holds the token.
    pub chain: ChainId,
    /// The token id in that chain's registry.
    pub token: TokenId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(ChainId::new(0).is_err());
        assert!(ChainId::new(MAX_CHAINS as u8).is_ok());
        assert!(ChainId::new(MAX_CHAINS as u8 + 1).is_err());
        assert!(AccountId::new(MAX_ACCOUNTS - 1).is_ok());
        assert!(AccountId::new(MAX_ACCOUNTS).is_err());
        assert!(TokenId::new(MAX_TOKENS).is_err());
        assert!(PoolId::new(MAX_POOLS).is_err());
        assert_eq!(TokenId::lp_share(PoolId(3)), TokenId(515));
        assert!(((MAX_TOKENS + MAX_POOLS) as usize) <= 4usize.pow(BALANCE_TREE_DEPTH as u32));
        assert_eq!(
            PoolId(MAX_POOLS - 1).leaf_index() + 1,
            4u64.pow(ACCOUNT_TREE_DEPTH as u32)
        );
        assert!(AccountId(MAX_ACCOUNTS - 1).0 as u64 <= PoolId(0).leaf_index());
    }
}
