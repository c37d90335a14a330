//! One state-tree leaf update — the unit every circuit step is built from — the twin of
//! `rollup_state::witness::Update`.
//!
//! A leaf has four field elements hashed with Poseidon (accounts: address, key hash, nonce,
//! balance root; pool halves: meta, reserve, LP supply, 0) or is empty (hash 0). An account update
//! may change one balance: then field 3 before and after are the balance tree's roots with the old
//! and new balance at the same path. Which fields may change, and how, is the op's rule, enforced
//! by the caller on [`UpdateVar::before`] and [`UpdateVar::after`].

use crate::F;
use crate::gadgets::{merkle::PathVar, poseidon};
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar, fields::fp::FpVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rollup_crypto::field;
use rollup_state::account::AccountLeaf;
use rollup_state::pool::PoolHalf;
use rollup_state::smt::{MerklePath, empty_hash};
use rollup_state::witness::Update;
use rollup_types::{ACCOUNT_TREE_DEPTH, BALANCE_TREE_DEPTH};

/// The four fields of a leaf.
pub type Fields = [FpVar<F>; 4];

/// A balance change inside an account update.
pub struct BalanceVar {
    /// Slot (token id or LP slot).
    pub token: FpVar<F>,
    /// Balance before.
    pub before: FpVar<F>,
    /// Balance after.
    pub after: FpVar<F>,
    path: PathVar,
}

/// One leaf update's variables.
pub struct UpdateVar {
    /// Leaf index (account id, or pool leaf index).
    pub index: FpVar<F>,
    /// Whether the leaf was empty before (a creation, or a proof of absence).
    pub before_empty: Boolean<F>,
    /// Whether the leaf is still empty after (a proof of absence).
    pub after_empty: Boolean<F>,
    /// Fields before (zero when empty).
    pub before: Fields,
    /// Fields after.
    pub after: Fields,
    /// The balance change.
    pub balance: BalanceVar,
    path: PathVar,
}

fn fields_of_account(l: &AccountLeaf) -> [F; 4] {
    [
        field::fr_from_short_be(&l.address.0),
        l.pubkey_hash.to_fr(),
        F::from(l.nonce.0),
        l.balance_root,
    ]
}

/// The native fields of a pool leaf (twin of `PoolHalf::hash`'s inputs).
pub fn fields_of_pool(h: &PoolHalf) -> [F; 4] {
    let meta = h.token.0 as u128
        | (h.peer_token.0 as u128) << 16
        | (h.peer_chain.0 as u128) << 32
        | (h.fee_bps as u128) << 40;
    [
        F::from(meta),
        F::from(h.reserve.get()),
        F::from(h.lp_supply.get()),
        F::from(0u8),
    ]
}

/// Native values of one update slot, from a recorded witness or as padding.
#[derive(Clone, Debug, CanonicalSerialize, CanonicalDeserialize)]
pub struct UpdateWitness {
    pub(crate) index: u64,
    pub(crate) before: Option<[F; 4]>,
    pub(crate) after: [F; 4],
    /// The leaf stays empty (a proof of absence).
    pub(crate) after_empty: bool,
    pub(crate) path: MerklePath,
    /// (slot, before, after, path in the balance tree)
    pub(crate) balance: (u64, F, F, MerklePath),
    /// Whether this slot carries a recorded update (not padding); read by the forgery tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) real: bool,
    /// Whether the update changes a balance; read by the forgery tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) has_balance: bool,
}

impl UpdateWitness {
    /// From a native update.
    pub fn from_update(u: &Update) -> Self {
        match u {
            Update::Account {
                account,
                before,
                after,
                balance,
                path,
            } => {
                let has_balance = balance.is_some();
                let balance = match balance {
                    Some(b) => (
                        b.token.0 as u64,
                        F::from(b.before.get()),
                        F::from(b.after.get()),
                        b.path.clone(),
                    ),
                    None => Self::no_balance(),
                };
                UpdateWitness {
                    index: account.0 as u64,
                    before: before.as_ref().map(fields_of_account),
                    after: fields_of_account(after),
                    after_empty: false,
                    path: path.clone(),
                    balance,
                    real: true,
                    has_balance,
                }
            }
            Update::Pool {
                pool,
                before,
                after,
                path,
            } => UpdateWitness {
                index: pool.leaf_index(),
                before: before.as_ref().map(fields_of_pool),
                after: fields_of_pool(after),
                after_empty: false,
                path: path.clone(),
                balance: Self::no_balance(),
                real: true,
                has_balance: false,
            },
            Update::EmptyRead { account, path } => UpdateWitness {
                index: account.0 as u64,
                before: None,
                after: [F::from(0u8); 4],
                after_empty: true,
                path: path.clone(),
                balance: Self::no_balance(),
                real: true,
                has_balance: false,
            },
        }
    }

    fn no_balance() -> (u64, F, F, MerklePath) {
        (
            0,
            F::from(0u8),
            F::from(0u8),
            empty_path(BALANCE_TREE_DEPTH),
        )
    }

    /// Padding for a disabled slot.
    pub fn padding() -> Self {
        UpdateWitness {
            index: 0,
            before: None,
            after: [F::from(0u8); 4],
            after_empty: false,
            path: empty_path(ACCOUNT_TREE_DEPTH),
            balance: Self::no_balance(),
            real: false,
            has_balance: false,
        }
    }
}

fn empty_path(depth: usize) -> MerklePath {
    MerklePath {
        index: 0,
        siblings: (0..depth).map(|h| [empty_hash(h); 3]).collect(),
    }
}

fn alloc4(cs: &ConstraintSystemRef<F>, v: [F; 4]) -> Result<Fields, SynthesisError> {
    Ok([
        FpVar::new_witness(cs.clone(), || Ok(v[0]))?,
        FpVar::new_witness(cs.clone(), || Ok(v[1]))?,
        FpVar::new_witness(cs.clone(), || Ok(v[2]))?,
        FpVar::new_witness(cs.clone(), || Ok(v[3]))?,
    ])
}

impl UpdateVar {
    /// Allocates a slot's witness.
    pub fn witness(cs: ConstraintSystemRef<F>, w: &UpdateWitness) -> Result<Self, SynthesisError> {
        let index = FpVar::new_witness(cs.clone(), || Ok(F::from(w.index)))?;
        let before_empty = Boolean::new_witness(cs.clone(), || Ok(w.before.is_none()))?;
        let after_empty = Boolean::new_witness(cs.clone(), || Ok(w.after_empty))?;
        let before = alloc4(&cs, w.before.unwrap_or([F::from(0u8); 4]))?;
        let after = alloc4(&cs, w.after)?;
        let path = PathVar::witness(cs.clone(), &index, &w.path)?;
        let (token, b_before, b_after, b_path) = &w.balance;
        let token = FpVar::new_witness(cs.clone(), || Ok(F::from(*token)))?;
        let balance = BalanceVar {
            before: FpVar::new_witness(cs.clone(), || Ok(*b_before))?,
            after: FpVar::new_witness(cs.clone(), || Ok(*b_after))?,
            path: PathVar::witness(cs.clone(), &token, b_path)?,
            token,
        };
        Ok(UpdateVar {
            index,
            before_empty,
            after_empty,
            before,
            after,
            balance,
            path,
        })
    }

    /// Applies the update to `root` when `enabled` (else returns `root`): proves the old leaf under
    /// `root` and returns the root with the new leaf. With `balance_enabled`, field 3 before/after
    /// must be the balance-tree roots around the balance change.
    pub fn apply(
        &self,
        root: &FpVar<F>,
        enabled: &Boolean<F>,
        balance_enabled: &Boolean<F>,
    ) -> Result<FpVar<F>, SynthesisError> {
        let on = enabled & balance_enabled;
        // An empty balance tree stands in for the balance root of a leaf created empty.
        let b_root_before = self.before_empty.select(
            &FpVar::constant(empty_hash(BALANCE_TREE_DEPTH)),
            &self.before[3],
        )?;
        self.balance
            .path
            .root(&self.balance.before)?
            .conditional_enforce_equal(&b_root_before, &on)?;
        self.balance
            .path
            .root(&self.balance.after)?
            .conditional_enforce_equal(&self.after[3], &on)?;
        // An empty leaf has fields all zero and hash 0.
        for f in &self.before {
            f.conditional_enforce_equal(&FpVar::zero(), &self.before_empty)?;
        }
        // A leaf may stay empty (a read proving absence) but is never emptied.
        self.before_empty
            .conditional_enforce_equal(&Boolean::TRUE, &self.after_empty)?;
        for f in &self.after {
            f.conditional_enforce_equal(&FpVar::zero(), &self.after_empty)?;
        }
        let old_leaf = self
            .before_empty
            .select(&FpVar::zero(), &poseidon::hash(&self.before)?)?;
        let new_leaf = self
            .after_empty
            .select(&FpVar::zero(), &poseidon::hash(&self.after)?)?;
        self.path
            .conditional_update(&old_leaf, &new_leaf, root, enabled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::test_util::*;
    use ark_r1cs_std::GR1CSVar;
    use rollup_state::dev::{DevWallet, amount, deposit};
    use rollup_state::witness::Update;
    use rollup_state::*;
    use rollup_types::tx::*;
    use rollup_types::*;

    /// A block with account creations, balance changes, key changes, pool creation and updates.
    fn recorded_block() -> Block {
        let alice = DevWallet::new(1);
        let mut state = NetworkState::genesis(&NetworkConfig {
            chains: vec![ChainId(1), ChainId(2)],
            fee_account: DevWallet::new(0).address(),
            domain: rollup_state::dev::TEST_DOMAIN,
        })
        .unwrap();
        let a = AccountId(1);
        let txs = vec![
            deposit(1, 0, alice.address(), 0, 1_000_000),
            deposit(2, 0, alice.address(), 1, 1_000_000),
            alice.change_pubkey(ChainId(1), a, 0, 0, 0),
            alice.sign(L2Tx::CreatePool(CreatePool {
                chain: ChainId(1),
                account: a,
                pool: PoolId(3),
                token: TokenId(0),
                peer_chain: ChainId(2),
                peer_token: TokenId(1),
                fee_bps: 30,
                fee: amount(5),
                nonce: Nonce(1),
            })),
            alice.sign(L2Tx::AddLiquidity(AddLiquidity {
                chain: ChainId(1),
                account: a,
                pool: PoolId(3),
                amount: amount(10_000),
                min_shares: amount(0),
                fee: amount(1),
                nonce: Nonce(2),
            })),
            alice.sign(L2Tx::Transfer(Transfer {
                chain: ChainId(1),
                from: a,
                to: DevWallet::new(2).address(),
                token: TokenId(0),
                amount: amount(500),
                fee: amount(2),
                nonce: Nonce(3),
            })),
        ];
        let ctx = BlockContext {
            number: BlockNumber(1),
            timestamp: 0,
            prev_sync_hash: [0; 32],
        };
        let b = build_block(
            &mut state,
            &ctx,
            txs,
            BuildOptions {
                witness: true,
                ..Default::default()
            },
        );
        assert!(b.rejected.is_empty(), "{:?}", b.rejected);
        b
    }

    fn updates(cb: &ChainBlock) -> Vec<Update> {
        let mut all: Vec<Update> = cb
            .witness
            .as_ref()
            .unwrap()
            .iter()
            .flat_map(|o| o.updates.clone())
            .collect();
        all.extend(cb.fee_witness.clone().unwrap());
        all
    }

    /// Runs a chain's updates through the gadget; `tamper` may alter one slot's witness.
    fn run(cb: &ChainBlock, tamper: impl Fn(usize, &mut UpdateWitness)) -> (bool, F) {
        let cs = cs();
        let mut root = FpVar::new_input(cs.clone(), || Ok(cb.old_root)).unwrap();
        let on = Boolean::constant(true);
        for (i, u) in updates(cb).iter().enumerate() {
            let mut w = UpdateWitness::from_update(u);
            tamper(i, &mut w);
            let v = UpdateVar::witness(cs.clone(), &w).unwrap();
            let has_balance = matches!(
                u,
                Update::Account {
                    balance: Some(_),
                    ..
                }
            );
            root = v
                .apply(&root, &on, &Boolean::constant(has_balance))
                .unwrap();
        }
        // Padding changes nothing.
        let pad = UpdateVar::witness(cs.clone(), &UpdateWitness::padding()).unwrap();
        let off = Boolean::constant(false);
        root = pad.apply(&root, &off, &off).unwrap();
        let expected = FpVar::new_input(cs.clone(), || Ok(cb.new_root)).unwrap();
        root.enforce_equal(&expected).unwrap();
        (satisfied(&cs), root.value().unwrap())
    }

    #[test]
    fn recorded_updates_reproduce_every_chain_root() {
        let b = recorded_block();
        for cb in &b.chains {
            let (ok, root) = run(cb, |_, _| {});
            assert_eq!(root, cb.new_root);
            assert!(ok, "chain {}", cb.chain);
        }
    }

    #[test]
    fn tampered_updates_are_rejected() {
        let b = recorded_block();
        let cb = &b.chains[0];
        // One forgery per update, cycling through the kinds so every kind hits several updates.
        for (i, u) in updates(cb).iter().enumerate() {
            let has_balance = matches!(
                u,
                Update::Account {
                    balance: Some(_),
                    ..
                }
            );
            let existed = UpdateWitness::from_update(u).before.is_some();
            let (what, forged) = match i % 4 {
                1 if has_balance => (
                    "new balance",
                    run(cb, |j, w| {
                        if i == j {
                            w.balance.2 += F::from(1u8)
                        }
                    }),
                ),
                2 if has_balance => (
                    "old balance",
                    run(cb, |j, w| {
                        if i == j {
                            w.balance.1 += F::from(1u8)
                        }
                    }),
                ),
                3 if existed => (
                    "sibling",
                    run(cb, |j, w| {
                        if i == j {
                            w.path.siblings[0][0] += F::from(1u8)
                        }
                    }),
                ),
                0 if existed => (
                    "claimed empty",
                    run(cb, |j, w| {
                        if i == j {
                            w.before = None
                        }
                    }),
                ),
                _ => (
                    "field after",
                    run(cb, |j, w| {
                        if i == j {
                            w.after[2] += F::from(1u8)
                        }
                    }),
                ),
            };
            assert!(!forged.0, "forged {what} of update {i} accepted");
        }
    }
}
