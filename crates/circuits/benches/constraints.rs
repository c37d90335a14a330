//! Constraint counts of the per-chain circuit — per step (= per 16-byte chunk, so per transfer) and
//! the fixed part (fee settlement, SHA-256 of the public values), from two capacities — and of the
//! binding circuit for three chains, and of the SHA-256 gadget per 64-byte block.
//!
//! Run: `cargo bench -p rollup-circuits --bench constraints`

use ark_r1cs_std::{alloc::AllocVar, uint8::UInt8};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use rollup_circuits::F;
use rollup_circuits::binding::BindingCircuit;
use rollup_circuits::chain::ChainCircuit;
use rollup_types::ChainId;

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
    let binding = |links: usize| {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        let chains = vec![ChainId(1), ChainId(2), ChainId(3)];
        BindingCircuit {
            chains,
            links,
            witness: None,
        }
        .generate_constraints(cs.clone())
        .expect("synthesis");
        cs.num_constraints()
    };
    let (b16, b64) = (binding(16), binding(64));
    println!("binding, 3 chains × 16 link slots: {b16}; × 64: {b64}");
    // One and two blocks (55 and 119 bytes with their padding): the difference is one block.
    let sha = |n: usize| {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        let data = (0..n)
            .map(|_| UInt8::new_witness(cs.clone(), || Ok(0u8)))
            .collect::<Result<Vec<_>, _>>()
            .expect("allocation");
        let before = cs.num_constraints();
        rollup_circuits::gadgets::sha256::digest(&data).expect("synthesis");
        cs.num_constraints() - before
    };
    println!("SHA-256 per 64-byte block: {}", sha(119) - sha(55));
}
