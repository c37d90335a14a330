//! The rollup's circuits (Groth16 over BN254 with arkworks), each rule beside its native twin.
//!
//! * [`gadgets`]: the building blocks — Poseidon (twin of `rollup_crypto::poseidon`), 4-ary Merkle
//!   paths and updates (twin of `rollup_state::smt`), EdDSA verification (twin of
//!   `rollup_crypto::eddsa`), range checks and packed-amount decoding (twin of
//!   `rollup_types::amount`).
//!
//! * [`chain`], [`binding`]: the per-chain block circuit and the binding circuit.
//! * [`r1cs`]: a circuit's constraint matrices as the keys are made from them, and the relation
//!   a proof attests checked over them (the prover's witness map, the forgery tests' check).
//! * `attacks` (tests and the `attacks` feature only): forged blocks an operator holding every
//!   key could build, kept as regression tests of the soundness review.
//!
//! Every gadget has a test that its output agrees with the native twin on random inputs and a
//! negative test that a forged witness leaves the constraint system unsatisfied.

#[cfg(any(test, feature = "attacks"))]
pub mod attacks;
pub mod binding;
pub mod chain;
pub mod gadgets;
pub mod r1cs;
pub mod wire;

/// The circuits' field: the BN254 scalar field.
pub type F = ark_bn254::Fr;
