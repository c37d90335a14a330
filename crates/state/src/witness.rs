//! Witness data for the circuits: every leaf update of a block, in order, with Merkle paths.
//!
//! Recording is off on the sealing path (roots are computed in one batch per block) and switched on
//! when a block's witness is generated; then every mutation is one [`Update`] carrying the leaf
//! before and after and the path *before* the update, taken from the tree as left by the previous
//! update, so a circuit can chain `old_root → new_root` update by update.

use crate::account::AccountLeaf;
use crate::pool::PoolHalf;
use crate::smt::MerklePath;
use ark_bn254::Fr;
use rollup_types::{AccountId, Amount, Op, PoolId, TokenId};

/// A balance change inside an account update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceChange {
    /// Token or LP slot.
    pub token: TokenId,
    /// Balance before.
    pub before: Amount,
    /// Balance after.
    pub after: Amount,
    /// Path of the balance leaf in the account's balance tree, before the update.
    pub path: MerklePath,
}

/// One leaf update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// An account leaf changed (created when `before` is `None`).
    Account {
        /// Account.
        account: AccountId,
        /// Leaf before (None: empty leaf).
        before: Option<AccountLeaf>,
        /// Leaf after.
        after: AccountLeaf,
        /// The balance that changed, if any.
        balance: Option<BalanceChange>,
        /// Path of the account leaf before the update.
        path: MerklePath,
    },
    /// A pool half changed (created when `before` is `None`).
    Pool {
        /// Pool.
        pool: PoolId,
        /// Half before.
        before: Option<PoolHalf>,
        /// Half after.
        after: PoolHalf,
        /// Path of the pool leaf (index `pool.leaf_index()`) before the update.
        path: MerklePath,
    },
    /// A proof that an account leaf is empty (a full exit for an account that does not exist).
    EmptyRead {
        /// The account id.
        account: AccountId,
        /// Path of the empty leaf.
        path: MerklePath,
    },
}

impl Update {
    /// The chain root before this update, recomputed from the witness alone.
    pub fn root_before(&self) -> Fr {
        match self {
            Update::Account { before, path, .. } => {
                path.compute_root(before.map_or(Fr::from(0u8), |l| l.hash()))
            }
            Update::Pool { before, path, .. } => {
                path.compute_root(before.map_or(Fr::from(0u8), |h| h.hash()))
            }
            Update::EmptyRead { path, .. } => path.compute_root(Fr::from(0u8)),
        }
    }

    /// The chain root after this update, recomputed from the witness alone.
    pub fn root_after(&self) -> Fr {
        match self {
            Update::Account { after, path, .. } => path.compute_root(after.hash()),
            Update::Pool { after, path, .. } => path.compute_root(after.hash()),
            Update::EmptyRead { path, .. } => path.compute_root(Fr::from(0u8)),
        }
    }

    /// Whether the balance change (if any) is consistent with the leaves' balance roots.
    pub fn balance_consistent(&self) -> bool {
        match self {
            Update::Account {
                before,
                after,
                balance: Some(b),
                ..
            } => {
                let root = |v: Amount| b.path.compute_root(Fr::from(v.get()));
                let before_root = before
                    .map_or(crate::smt::empty_hash(b.path.siblings.len()), |l| {
                        l.balance_root
                    });
                root(b.before) == before_root && root(b.after) == after.balance_root
            }
            _ => true,
        }
    }
}

/// The witness of one operation half: the op and its updates in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpWitness {
    /// The operation as in the pubdata.
    pub op: Op,
    /// Its leaf updates.
    pub updates: Vec<Update>,
    /// The L2 signature authorising it (only on the signed half of an L2 transaction).
    pub signature: Option<rollup_crypto::Signature>,
    /// The signed transaction (with the fields that are signed but not published, such as the
    /// minimum output), alongside [`Self::signature`].
    pub signed: Option<rollup_types::L2Tx>,
}
