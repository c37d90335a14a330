//! 4-ary Merkle paths and updates: the twin of `rollup_state::smt::MerklePath`.
//!
//! The leaf's position at each level comes from two bits of the leaf index, which is itself a
//! variable (an account or pool id), so a path cannot be used for a different leaf. Placing the
//! current node among its three siblings costs 7 constraints per level (one AND and six products,
//! two of them shared between the old and new roots of an update); the Poseidon node hash (297)
//! dominates.

use crate::F;
use crate::gadgets::poseidon;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar, fields::fp::FpVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use rollup_state::smt::MerklePath;

/// Indicator of the leaf's position at one level, as linear combinations of the index bits.
struct Level {
    e: [FpVar<F>; 4],
    siblings: [FpVar<F>; 3],
    /// `e0·(s0 − s1)` and `e3·(s2 − s1)`: independent of the current node, shared by updates.
    shared: [FpVar<F>; 2],
}

/// A Merkle path bound to a leaf index variable.
pub struct PathVar {
    levels: Vec<Level>,
}

impl PathVar {
    /// A path for the leaf at `index` (enforced `< 4^depth`) with witnessed siblings.
    pub fn new(index: &FpVar<F>, siblings: Vec<[FpVar<F>; 3]>) -> Result<Self, SynthesisError> {
        let bits = crate::gadgets::amount::range_check(index, 2 * siblings.len())?;
        let mut levels = Vec::with_capacity(siblings.len());
        for (pair, s) in bits.chunks(2).zip(siblings) {
            let (b0, b1) = (FpVar::from(pair[0].clone()), FpVar::from(pair[1].clone()));
            let b01 = FpVar::from(pair[0].clone() & pair[1].clone());
            let e = [FpVar::one() - &b0 - &b1 + &b01, &b0 - &b01, &b1 - &b01, b01];
            let shared = [&e[0] * (&s[0] - &s[1]), &e[3] * (&s[2] - &s[1])];
            levels.push(Level {
                e,
                siblings: s,
                shared,
            });
        }
        Ok(PathVar { levels })
    }

    /// Allocates the siblings of a native path as witnesses, bound to `index`.
    pub fn witness(
        cs: ConstraintSystemRef<F>,
        index: &FpVar<F>,
        path: &MerklePath,
    ) -> Result<Self, SynthesisError> {
        let siblings = path
            .siblings
            .iter()
            .map(|s| {
                Ok([
                    FpVar::new_witness(cs.clone(), || Ok(s[0]))?,
                    FpVar::new_witness(cs.clone(), || Ok(s[1]))?,
                    FpVar::new_witness(cs.clone(), || Ok(s[2]))?,
                ])
            })
            .collect::<Result<Vec<_>, SynthesisError>>()?;
        Self::new(index, siblings)
    }

    /// The root reached from `leaf` along this path.
    pub fn root(&self, leaf: &FpVar<F>) -> Result<FpVar<F>, SynthesisError> {
        let mut cur = leaf.clone();
        for l in &self.levels {
            let [s0, s1, s2] = &l.siblings;
            let [e0, e1, e2, e3] = &l.e;
            let children = [
                s0 + e0 * (&cur - s0),
                s1 + e1 * (&cur - s1) + &l.shared[0],
                s1 + e2 * (&cur - s1) + &l.shared[1],
                s2 + e3 * (&cur - s2),
            ];
            cur = poseidon::hash(&children)?;
        }
        Ok(cur)
    }

    /// Enforces that `old_leaf` is at this path under `old_root`; returns the root with `new_leaf`
    /// in its place.
    pub fn update(
        &self,
        old_leaf: &FpVar<F>,
        new_leaf: &FpVar<F>,
        old_root: &FpVar<F>,
    ) -> Result<FpVar<F>, SynthesisError> {
        self.root(old_leaf)?.enforce_equal(old_root)?;
        self.root(new_leaf)
    }

    /// Like [`Self::update`], but only when `enabled` (a disabled update returns `old_root`).
    pub fn conditional_update(
        &self,
        old_leaf: &FpVar<F>,
        new_leaf: &FpVar<F>,
        old_root: &FpVar<F>,
        enabled: &Boolean<F>,
    ) -> Result<FpVar<F>, SynthesisError> {
        self.root(old_leaf)?
            .conditional_enforce_equal(old_root, enabled)?;
        let new_root = self.root(new_leaf)?;
        enabled.select(&new_root, old_root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::test_util::*;
    use ark_r1cs_std::GR1CSVar;
    use ark_std::UniformRand;
    use rollup_state::smt::SparseMerkleTree;

    fn tree() -> SparseMerkleTree {
        let mut rng = ark_std::test_rng();
        let mut t = SparseMerkleTree::new(6);
        for i in [0u64, 1, 5, 77, 1000, 4095, 2048] {
            t.set_leaf(i, F::rand(&mut rng));
        }
        t.root();
        t
    }

    #[test]
    fn root_and_update_agree_with_native() {
        let mut t = tree();
        for index in [0u64, 5, 77, 4095, 3] {
            let cs = cs();
            let root = t.root();
            let leaf = t.leaf(index);
            let path = t.path(index);
            let idx = FpVar::new_witness(cs.clone(), || Ok(F::from(index))).unwrap();
            let p = PathVar::witness(cs.clone(), &idx, &path).unwrap();
            let old_leaf = FpVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
            let new_leaf = FpVar::new_witness(cs.clone(), || Ok(F::from(42u8))).unwrap();
            let old_root = FpVar::new_input(cs.clone(), || Ok(root)).unwrap();
            let new_root = p.update(&old_leaf, &new_leaf, &old_root).unwrap();
            t.set_leaf(index, F::from(42u8));
            assert_eq!(new_root.value().unwrap(), t.root(), "leaf {index}");
            assert!(satisfied(&cs));
            t.set_leaf(index, leaf);
            t.root();
        }
    }

    fn forged(index: u64, tamper: impl FnOnce(&mut MerklePath, &mut u64, &mut F)) -> bool {
        let mut t = tree();
        let root = t.root();
        let mut leaf = t.leaf(77);
        let mut path = t.path(77);
        let mut index = index;
        tamper(&mut path, &mut index, &mut leaf);
        let cs = cs();
        let idx = FpVar::new_witness(cs.clone(), || Ok(F::from(index))).unwrap();
        let p = PathVar::witness(cs.clone(), &idx, &path).unwrap();
        let old_leaf = FpVar::new_witness(cs.clone(), || Ok(leaf)).unwrap();
        let new_leaf = FpVar::new_witness(cs.clone(), || Ok(F::from(1u8))).unwrap();
        let old_root = FpVar::new_input(cs.clone(), || Ok(root)).unwrap();
        let _ = p.update(&old_leaf, &new_leaf, &old_root).unwrap();
        satisfied(&cs)
    }

    #[test]
    fn forged_paths_are_rejected() {
        assert!(forged(77, |_, _, _| {}), "the honest path is accepted");
        assert!(
            !forged(77, |p, _, _| p.siblings[2][1] += F::from(1u8)),
            "wrong sibling"
        );
        assert!(!forged(76, |_, _, _| {}), "path used for another index");
        assert!(!forged(77, |_, _, l| *l += F::from(1u8)), "wrong old leaf");
        assert!(!forged(77 + 4096, |_, _, _| {}), "index beyond the tree");
    }

    #[test]
    fn disabled_update_keeps_the_root() {
        let mut t = tree();
        let root = t.root();
        let cs = cs();
        let idx = FpVar::new_witness(cs.clone(), || Ok(F::from(5u8))).unwrap();
        let p = PathVar::witness(cs.clone(), &idx, &t.path(5)).unwrap();
        let junk = FpVar::new_witness(cs.clone(), || Ok(F::from(9u8))).unwrap();
        let old_root = FpVar::new_input(cs.clone(), || Ok(root)).unwrap();
        let off = Boolean::new_witness(cs.clone(), || Ok(false)).unwrap();
        let r = p.conditional_update(&junk, &junk, &old_root, &off).unwrap();
        assert_eq!(r.value().unwrap(), root);
        assert!(satisfied(&cs));
    }

    #[test]
    fn cost_per_level() {
        let cs = cs();
        let idx = FpVar::new_witness(cs.clone(), || Ok(F::from(5u8))).unwrap();
        let mut t = SparseMerkleTree::new(12);
        t.root();
        let p = PathVar::witness(cs.clone(), &idx, &t.path(5)).unwrap();
        let leaf = FpVar::new_witness(cs.clone(), || Ok(F::from(0u8))).unwrap();
        let root = FpVar::new_input(cs.clone(), || Ok(t.root())).unwrap();
        let _ = p.update(&leaf, &leaf, &root).unwrap();
        // 25 (index bits) + 12 × (1 AND + 2 shared + 2 × (4 products + 297 Poseidon)) + 1 equality.
        assert_eq!(cs.num_constraints(), 25 + 12 * (1 + 2 + 2 * (4 + 297)) + 1);
    }
}
