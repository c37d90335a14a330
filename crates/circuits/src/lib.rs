//! The rollup's circuits (Groth16 over BN254 with arkworks), each rule beside its native twin.
//!
//! * [`gadgets`]: the building blocks — Poseidon (twin of `rollup_crypto::poseidon`), 4-ary Merkle
//!   paths and updates (twin of `rollup_state::smt`), EdDSA verification (twin of
//!   `rollup_crypto::eddsa`), range checks and packed-amount decoding (twin of
//!   `rollup_types::amount`).
//!
//! Every gadget has a test that its output agrees with the native twin on random inputs and a
//! negative test that a forged witness leaves the constraint system unsatisfied.

pub mod binding;
pub mod chain;
pub mod gadgets;
pub mod wire;

/// The circuits' field: the BN254 scalar field.
pub type F = ark_bn254::Fr;
