//! A 4-ary sparse Merkle tree over Poseidon with batched root recomputation.
//!
//! Leaves are field elements (0 = empty). A node is `Poseidon(c0, c1, c2, c3)`; an empty subtree of
//! height `h` has the precomputed hash `EMPTY[h]`, so only non-empty nodes are stored.
//!
//! Writes only record the leaf and mark it dirty. [`SparseMerkleTree::root`] then recomputes the
//! dirty paths level by level, hashing each touched node exactly once however many of its leaves
//! changed (and in parallel when a level has many), which is what makes block sealing cheap: a
//! block of transfers hashes the shared upper levels once, not once per write.

use ark_bn254::Fr;
use ark_ff::Zero;
use rayon::prelude::*;
use rollup_crypto::poseidon;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// Arity of every tree.
pub const ARITY: usize = 4;
const MAX_DEPTH: usize = 16;
/// Below this many nodes on a level, hashing stays on the calling thread.
const PARALLEL_THRESHOLD: usize = 64;

/// `EMPTY[h]`: the root of an empty subtree of height `h` (`EMPTY[0]` = the empty leaf, 0).
pub fn empty_hash(height: usize) -> Fr {
    static EMPTY: OnceLock<Vec<Fr>> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut v = vec![Fr::zero()];
        for h in 0..MAX_DEPTH {
            let e = v[h];
            v.push(poseidon::hash4(&[e, e, e, e]));
        }
        v
    })[height]
}

/// The siblings of a leaf, bottom-up: for each level, the three other children in order.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    ark_serialize::CanonicalSerialize,
    ark_serialize::CanonicalDeserialize,
)]
pub struct MerklePath {
    /// Leaf index.
    pub index: u64,
    /// Siblings per level, leaf level first.
    pub siblings: Vec<[Fr; 3]>,
}

impl MerklePath {
    /// The root obtained by placing `leaf` at this path.
    pub fn compute_root(&self, leaf: Fr) -> Fr {
        let mut cur = leaf;
        let mut idx = self.index;
        for sib in &self.siblings {
            let pos = (idx % ARITY as u64) as usize;
            let mut children = [Fr::zero(); ARITY];
            let mut s = sib.iter();
            for (i, c) in children.iter_mut().enumerate() {
                *c = if i == pos {
                    cur
                } else {
                    *s.next().expect("three siblings")
                };
            }
            cur = poseidon::hash4(&children);
            idx /= ARITY as u64;
        }
        cur
    }

    /// Whether `leaf` at this path yields `root`.
    pub fn verify(&self, root: Fr, leaf: Fr) -> bool {
        self.compute_root(leaf) == root
    }
}

/// A sparse 4-ary Merkle tree of fixed depth.
#[derive(Clone, Debug)]
pub struct SparseMerkleTree {
    depth: usize,
    /// Non-empty nodes by (height, index); height 0 holds the leaves.
    nodes: FxHashMap<(u8, u64), Fr>,
    dirty: Vec<u64>,
}

impl SparseMerkleTree {
    /// An empty tree with `4^depth` leaves.
    pub fn new(depth: usize) -> Self {
        assert!(depth <= MAX_DEPTH);
        SparseMerkleTree {
            depth,
            nodes: FxHashMap::default(),
            dirty: Vec::new(),
        }
    }

    /// The tree's depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Number of leaves.
    pub fn capacity(&self) -> u64 {
        (ARITY as u64).pow(self.depth as u32)
    }

    fn node(&self, height: usize, index: u64) -> Fr {
        self.nodes
            .get(&(height as u8, index))
            .copied()
            .unwrap_or_else(|| empty_hash(height))
    }

    /// The leaf at `index` (0 if empty).
    pub fn leaf(&self, index: u64) -> Fr {
        self.node(0, index)
    }

    /// Sets a leaf; the root is recomputed lazily.
    pub fn set_leaf(&mut self, index: u64, value: Fr) {
        assert!(
            index < self.capacity(),
            "leaf index {index} outside the tree"
        );
        if value.is_zero() {
            self.nodes.remove(&(0, index));
        } else {
            self.nodes.insert((0, index), value);
        }
        self.dirty.push(index);
    }

    /// Whether writes are pending.
    pub fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Recomputes the dirty paths (each touched node once) and returns the root.
    pub fn root(&mut self) -> Fr {
        if !self.dirty.is_empty() {
            let mut level = std::mem::take(&mut self.dirty);
            for height in 0..self.depth {
                for i in level.iter_mut() {
                    *i /= ARITY as u64;
                }
                level.sort_unstable();
                level.dedup();
                let hash_one = |p: &u64| {
                    let base = p * ARITY as u64;
                    let children = [
                        self.node(height, base),
                        self.node(height, base + 1),
                        self.node(height, base + 2),
                        self.node(height, base + 3),
                    ];
                    (*p, poseidon::hash4(&children))
                };
                let hashed: Vec<(u64, Fr)> = if level.len() >= PARALLEL_THRESHOLD {
                    level.par_iter().map(hash_one).collect()
                } else {
                    level.iter().map(hash_one).collect()
                };
                let empty = empty_hash(height + 1);
                for (p, h) in hashed {
                    if h == empty {
                        self.nodes.remove(&(height as u8 + 1, p));
                    } else {
                        self.nodes.insert((height as u8 + 1, p), h);
                    }
                }
            }
        }
        self.node(self.depth, 0)
    }

    /// The root without recomputation; panics if writes are pending (a logic error).
    pub fn clean_root(&self) -> Fr {
        assert!(self.dirty.is_empty(), "root read with pending writes");
        self.node(self.depth, 0)
    }

    /// The path of `index`; the tree must be clean (call [`Self::root`] first).
    pub fn path(&self, index: u64) -> MerklePath {
        assert!(self.dirty.is_empty(), "path read with pending writes");
        let mut siblings = Vec::with_capacity(self.depth);
        let mut idx = index;
        for height in 0..self.depth {
            let base = idx - idx % ARITY as u64;
            let mut sib = [Fr::zero(); 3];
            let mut k = 0;
            for c in base..base + ARITY as u64 {
                if c != idx {
                    sib[k] = self.node(height, c);
                    k += 1;
                }
            }
            siblings.push(sib);
            idx /= ARITY as u64;
        }
        MerklePath { index, siblings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: recompute the whole tree from the leaves without any caching.
    fn naive_root(depth: usize, leaves: &FxHashMap<u64, Fr>) -> Fr {
        let mut level: FxHashMap<u64, Fr> = leaves.clone();
        for h in 0..depth {
            let mut parents: Vec<u64> = level.keys().map(|i| i / 4).collect();
            parents.sort_unstable();
            parents.dedup();
            let get = |i: u64| level.get(&i).copied().unwrap_or_else(|| empty_hash(h));
            level = parents
                .into_iter()
                .map(|p| {
                    (
                        p,
                        poseidon::hash4(&[
                            get(4 * p),
                            get(4 * p + 1),
                            get(4 * p + 2),
                            get(4 * p + 3),
                        ]),
                    )
                })
                .collect();
        }
        level.get(&0).copied().unwrap_or_else(|| empty_hash(depth))
    }

    #[test]
    fn empty_root_and_single_leaf() {
        let mut t = SparseMerkleTree::new(3);
        assert_eq!(t.root(), empty_hash(3));
        t.set_leaf(5, Fr::from(9u8));
        let root = t.root();
        assert_ne!(root, empty_hash(3));
        let path = t.path(5);
        assert!(path.verify(root, Fr::from(9u8)));
        assert!(!path.verify(root, Fr::from(8u8)));
        t.set_leaf(5, Fr::zero());
        assert_eq!(
            t.root(),
            empty_hash(3),
            "clearing a leaf restores the empty root"
        );
    }

    #[test]
    fn batched_equals_naive_and_incremental() {
        let mut batched = SparseMerkleTree::new(6);
        let mut incremental = SparseMerkleTree::new(6);
        let mut leaves = FxHashMap::default();
        for i in 0..300u64 {
            let idx = (i * 2654435761) % 4096;
            let v = Fr::from(i + 1);
            batched.set_leaf(idx, v);
            incremental.set_leaf(idx, v);
            incremental.root();
            leaves.insert(idx, v);
        }
        let root = batched.root();
        assert_eq!(root, incremental.root());
        assert_eq!(root, naive_root(6, &leaves));
        for (&i, &v) in leaves.iter().take(20) {
            assert!(batched.path(i).verify(root, v));
        }
    }

    #[test]
    fn path_reflects_sibling_updates() {
        let mut t = SparseMerkleTree::new(4);
        t.set_leaf(0, Fr::from(1u8));
        t.set_leaf(1, Fr::from(2u8));
        let r = t.root();
        let p0 = t.path(0);
        t.set_leaf(1, Fr::from(3u8));
        let r2 = t.root();
        assert_ne!(r, r2);
        assert!(
            !p0.verify(r2, Fr::from(1u8)),
            "a stale path must not verify"
        );
        assert!(t.path(0).verify(r2, Fr::from(1u8)));
    }
}
