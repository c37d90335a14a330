//! Constraint counts of the per-chain circuit: per step (= per 16-byte chunk, so per transfer) and
//! the fixed part (fee settlement, SHA-256 of the public values), from two capacities.
//!
//! Run: `cargo bench -p rollup-circuits --bench constraints`

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use rollup_circuits::F;
use rollup_circuits::chain::ChainCircuit;

fn count(capacity: usize) -> usize {
    let cs = ConstraintSystem::<F>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    ChainCircuit {
        capacity,
        witness: None,
    }
    .generate_constraints(cs.clone())
    .expect("synthesis");
    cs.num_constraints()
}

fn main() {
    let (a, b) = (count(8), count(16));
    let per_step = (b - a) / 8;
    let fixed = a - 8 * per_step;
    println!("| capacity | constraints |");
    println!("|---|---|");
    println!("| 8 | {a} |");
    println!("| 16 | {b} |");
    println!("per step (one transfer, its SHA-256 share included): {per_step}");
    println!("fixed per proof (fee settlement, public-input SHA-256, root bytes): {fixed}");
}
