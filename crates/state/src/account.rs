//! Accounts and their leaves.
//!
//! An account exists on every chain under the same id and address (creation is a broadcast
//! operation). On each chain it has its own nonce and its own balance tree over that chain's
//! tokens (slots `0..MAX_TOKENS`) and LP shares (slot `MAX_TOKENS + pool`).
//!
//! Leaf: `Poseidon(address, pubkey_hash, nonce, balance_root)`.

use crate::smt::{MerklePath, SparseMerkleTree};
use ark_bn254::Fr;
use rollup_crypto::{field, poseidon};
use rollup_types::{Address, Amount, BALANCE_TREE_DEPTH, Nonce, PubKeyHash, TokenId};
use rustc_hash::FxHashMap;

/// The fields of an account leaf (what the circuits see).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLeaf {
    /// L1 address.
    pub address: Address,
    /// L2 key hash (zero: none).
    pub pubkey_hash: PubKeyHash,
    /// Nonce on this chain.
    pub nonce: Nonce,
    /// Root of the balance tree.
    pub balance_root: Fr,
}

impl AccountLeaf {
    /// The leaf hash.
    pub fn hash(&self) -> Fr {
        poseidon::hash4(&[
            field::fr_from_short_be(&self.address.0),
            self.pubkey_hash.to_fr(),
            Fr::from(self.nonce.0),
            self.balance_root,
        ])
    }
}

/// One account on one chain.
#[derive(Clone, Debug)]
pub struct Account {
    /// L1 address (the same on every chain).
    pub address: Address,
    /// L2 key hash (the same on every chain).
    pub pubkey_hash: PubKeyHash,
    /// Nonce on this chain.
    pub nonce: Nonce,
    balances: FxHashMap<TokenId, Amount>,
    tree: SparseMerkleTree,
    /// Whether the leaf must be rehashed.
    pub(crate) dirty: bool,
}

impl Account {
    /// A fresh account.
    pub fn new(address: Address) -> Self {
        Account {
            address,
            pubkey_hash: PubKeyHash::NONE,
            nonce: Nonce(0),
            balances: FxHashMap::default(),
            tree: SparseMerkleTree::new(BALANCE_TREE_DEPTH),
            dirty: true,
        }
    }

    /// Balance of a token or LP-share slot.
    pub fn balance(&self, token: TokenId) -> Amount {
        self.balances.get(&token).copied().unwrap_or_default()
    }

    /// All non-zero balances.
    pub fn balances(&self) -> impl Iterator<Item = (TokenId, Amount)> + '_ {
        self.balances.iter().map(|(t, a)| (*t, *a))
    }

    pub(crate) fn set_balance(&mut self, token: TokenId, amount: Amount) {
        if amount.is_zero() {
            self.balances.remove(&token);
        } else {
            self.balances.insert(token, amount);
        }
        self.tree
            .set_leaf(token.0 as u64, field::fr_from_u128(amount.get()));
        self.dirty = true;
    }

    /// The leaf fields, recomputing the balance root if needed.
    pub fn leaf(&mut self) -> AccountLeaf {
        AccountLeaf {
            address: self.address,
            pubkey_hash: self.pubkey_hash,
            nonce: self.nonce,
            balance_root: self.tree.root(),
        }
    }

    /// The balance path of `token` (the tree must be clean).
    pub fn balance_path(&mut self, token: TokenId) -> MerklePath {
        self.tree.root();
        self.tree.path(token.0 as u64)
    }
}
