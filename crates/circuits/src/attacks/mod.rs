//! Forged blocks that an operator holding every key could build, kept as regression tests of the
//! soundness review (docs/SOUNDNESS.md), one file per attack.
//!
//! Each attack builds honest blocks with the project's own builder, changes only what the attack
//! needs, and re-derives everything else — Merkle paths and roots ([`rechain`]), links hashes,
//! public inputs — so that the one rule under test is what must refuse it. Each comes with a
//! control built the same way without the forgery, which must be accepted. The circuits' unit
//! tests check constraint satisfaction; `crates/prover/tests/attacks.rs` proves the forged
//! witnesses with real Groth16 keys and checks that verification refuses every one.
//!
//! Built for tests only (`cfg(test)` or the `attacks` feature): nothing here is used by the node.

use crate::F;
use crate::binding::{BindingCircuit, BindingWitness};
use crate::chain::{ChainCircuit, ChainWitness};
use crate::r1cs::R1cs;
use ark_relations::gr1cs::ConstraintSynthesizer;
use rollup_crypto::poseidon::hash4;
use rollup_state::dev::{DevWallet, deposit};
use rollup_state::smt::MerklePath;
use rollup_state::*;
use rollup_types::*;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

mod cross_deployment;
mod key_replacement;
mod link_id_overflow;
pub mod mutation;
mod pool_without_origin;
pub mod small_order_key;

/// The connected chains of every attack's network.
pub const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];

/// A witness of one of the two circuits.
// Moved, not copied around: boxing the larger variant would buy nothing in these tests.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Witness {
    /// A chain proof's witness.
    Chain(ChainWitness),
    /// A binding proof's witness.
    Binding(BindingWitness),
}

impl Witness {
    /// Whether the witness satisfies its circuit (chain circuits of `capacity`, the binding of
    /// [`CHAINS`] with `capacity` links per chain), checked over the matrices the keys are made
    /// from.
    pub fn satisfied(&self, capacity: usize) -> bool {
        match self.clone() {
            Witness::Chain(w) => chain_r1cs(capacity).is_satisfied(ChainCircuit {
                capacity,
                witness: Some(w),
            }),
            Witness::Binding(w) => binding_r1cs(&CHAINS, capacity).is_satisfied(BindingCircuit {
                chains: CHAINS.to_vec(),
                links: capacity,
                witness: Some(w),
            }),
        }
        .expect("synthesis")
    }
}

/// The chain circuit's matrices at `capacity`, synthesised once per process (every test of a
/// shape shares them).
pub fn chain_r1cs(capacity: usize) -> &'static R1cs {
    cached(format!("chain-{capacity}"), || ChainCircuit {
        capacity,
        witness: None,
    })
}

/// The binding circuit's matrices for `chains` with `links` link slots each, synthesised once
/// per process.
pub fn binding_r1cs(chains: &[ChainId], links: usize) -> &'static R1cs {
    cached(format!("binding-{chains:?}-{links}"), || BindingCircuit {
        chains: chains.to_vec(),
        links,
        witness: None,
    })
}

pub(crate) fn cached<C: ConstraintSynthesizer<F>>(
    shape: String,
    blank: impl FnOnce() -> C,
) -> &'static R1cs {
    // One cell per shape, so tests of different shapes synthesise at once and tests of one
    // shape wait for the first; the cells live as long as the test process.
    static CELLS: OnceLock<Mutex<HashMap<String, &'static OnceLock<R1cs>>>> = OnceLock::new();
    let cell: &'static OnceLock<R1cs> = CELLS
        .get_or_init(Default::default)
        .lock()
        .expect("cache lock")
        .entry(shape)
        .or_insert_with(|| Box::leak(Box::default()));
    cell.get_or_init(|| R1cs::synthesise(blank()).expect("blank synthesis"))
}

/// One attack: what it would gain, the forged witnesses (every one must be refused) and the
/// control (every one must be accepted).
#[derive(Clone, Debug)]
pub struct Attack {
    /// Short name (the file it lives in).
    pub name: &'static str,
    /// What the operator would gain if the circuits accepted it.
    pub gain: &'static str,
    /// The forgeries: each alone is a way to try the attack.
    pub forged: Vec<Witness>,
    /// Honest witnesses built the same way.
    pub control: Vec<Witness>,
}

/// Every attack, for circuits of `capacity` chunks per chain.
pub fn all(capacity: usize) -> Vec<Attack> {
    vec![
        key_replacement::attack(capacity),
        pool_without_origin::attack(capacity),
        link_id_overflow::attack(capacity),
        small_order_key::attack(capacity),
        cross_deployment::attack(capacity),
    ]
}

/// The attacker (account 1), the victim (account 2) and the attacker's other key.
pub(crate) struct Cast {
    pub attacker: DevWallet,
    pub victim: DevWallet,
    pub thief_key: DevWallet,
}

impl Cast {
    pub fn new() -> Self {
        Cast {
            attacker: DevWallet::new(1),
            victim: DevWallet::new(2),
            thief_key: DevWallet::new(5),
        }
    }
}

/// The network after block 1: attacker and victim hold 10^6 of token 0 on every chain and have
/// keys (set on chain 1, broadcast everywhere); each has nonce 1 on chain 1 and 0 elsewhere.
pub(crate) fn network(cast: &Cast) -> NetworkState {
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    })
    .expect("genesis");
    let mut setup = Vec::new();
    for chain in [1u8, 2, 3] {
        setup.push(deposit(chain, 0, cast.attacker.address(), 0, 1_000_000));
        setup.push(deposit(chain, 1, cast.victim.address(), 0, 1_000_000));
    }
    setup.push(
        cast.attacker
            .change_pubkey(ChainId(1), AccountId(1), 0, 0, 0),
    );
    setup.push(cast.victim.change_pubkey(ChainId(1), AccountId(2), 0, 0, 0));
    let b = build_block(&mut state, &context(1), setup, BuildOptions::default());
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    state
}

pub(crate) fn context(n: u32) -> BlockContext {
    BlockContext {
        number: BlockNumber(n),
        timestamp: n as u64,
        prev_sync_hash: [0; 32],
    }
}

/// Block `n` of `txs` on a copy of `state`, with its witness; every tx must be accepted.
pub(crate) fn block(state: &NetworkState, n: u32, txs: Vec<Tx>) -> (Block, NetworkState) {
    let mut s = state.clone();
    let opts = BuildOptions {
        witness: true,
        ..Default::default()
    };
    let b = build_block(&mut s, &context(n), txs, opts);
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    (b, s)
}

/// The chain witness of slot `slot` of `block`.
pub(crate) fn chain_witness(block: &Block, slot: usize, capacity: usize) -> ChainWitness {
    ChainWitness::new(&block.chains[slot], block.number, &block.domain, capacity)
        .expect("chain witness")
}

/// The links hash of field-encoded links (twin of `rollup_types::link::links_hash`).
pub(crate) fn fold_links(links: &[[F; 4]]) -> F {
    links.iter().fold(F::from(0u8), |acc, l| {
        rollup_crypto::poseidon::hash(&[acc, l[0], l[1], l[2], l[3]])
    })
}

fn place(sibs: &[F; 3], pos: usize, cur: F) -> [F; 4] {
    let mut out = [F::from(0u8); 4];
    let mut it = sibs.iter();
    for (i, o) in out.iter_mut().enumerate() {
        *o = if i == pos { cur } else { *it.next().unwrap() };
    }
    out
}

/// Re-derives every path, `before` field and balance root from the (possibly forged) `after`
/// values, in update order, as a forger would; sets `new_root`.
pub fn rechain(w: &mut ChainWitness) {
    assert!(try_rechain(w), "rechain keeps every membership proof valid");
}

/// [`rechain`], or `false` when a path cannot be re-derived from the block's own updates (an
/// update moved to a leaf whose siblings the witness does not hold).
pub fn try_rechain(w: &mut ChainWitness) -> bool {
    type Nodes = HashMap<(usize, u64), F>;
    fn fix_and_root(nodes: &mut Nodes, path: &mut MerklePath, leaf: F, before: F) -> (F, F) {
        let mut idx = path.index;
        let (mut cur_b, mut cur_a) = (before, leaf);
        for (h, sib) in path.siblings.iter_mut().enumerate() {
            let base = idx - idx % 4;
            let mut k = 0;
            for c in base..base + 4 {
                if c != idx {
                    if let Some(v) = nodes.get(&(h, c)) {
                        sib[k] = *v;
                    }
                    k += 1;
                }
            }
            let pos = (idx % 4) as usize;
            nodes.insert((h, idx), cur_a);
            cur_b = hash4(&place(sib, pos, cur_b));
            cur_a = hash4(&place(sib, pos, cur_a));
            idx /= 4;
        }
        (cur_b, cur_a)
    }
    let mut state: Nodes = HashMap::new();
    let mut balance_trees: HashMap<u64, Nodes> = HashMap::new();
    let mut leaves: HashMap<u64, [F; 4]> = HashMap::new();
    let mut balances: HashMap<(u64, u64), F> = HashMap::new();
    let mut root = w.old_root;
    let slots = w
        .steps
        .iter_mut()
        .flat_map(|s| [&mut s.a, &mut s.b])
        .chain(w.fees.iter_mut().map(|f| &mut f.2));
    for u in slots.filter(|u| u.real) {
        if let Some(f) = leaves.get(&u.index) {
            u.before = Some(*f);
        }
        if u.has_balance {
            let key = (u.index, u.balance.0);
            if let Some(b) = balances.get(&key) {
                u.balance.1 = *b;
            }
            let tree = balance_trees.entry(u.index).or_default();
            u.balance.3.index = u.balance.0;
            let (_, after_root) = fix_and_root(tree, &mut u.balance.3, u.balance.2, u.balance.1);
            u.after[3] = after_root;
            balances.insert(key, u.balance.2);
        }
        let before_leaf = u.before.map_or(F::from(0u8), |f| hash4(&f));
        let (before_root, after_root) =
            fix_and_root(&mut state, &mut u.path, hash4(&u.after), before_leaf);
        if before_root != root {
            return false;
        }
        root = after_root;
        state.insert((ACCOUNT_TREE_DEPTH, 0), root);
        leaves.insert(u.index, u.after);
    }
    w.new_root = root;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Capacity of the attack blocks' chain circuits (the prover tests' keys).
    const CAPACITY: usize = 16;

    /// Every forgery is refused by the circuits and every control accepted.
    #[test]
    fn every_attack_is_refused_and_every_control_accepted() {
        for a in all(CAPACITY) {
            assert!(!a.forged.is_empty() && !a.control.is_empty(), "{}", a.name);
            for (i, w) in a.control.iter().enumerate() {
                assert!(w.satisfied(CAPACITY), "{}: control {i} is accepted", a.name);
            }
            for (i, w) in a.forged.iter().enumerate() {
                assert!(
                    !w.satisfied(CAPACITY),
                    "{}: forgery {i} would give {}",
                    a.name,
                    a.gain
                );
            }
        }
    }
}
