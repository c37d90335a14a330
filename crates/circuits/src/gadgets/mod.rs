//! R1CS gadgets, one concern per module.

pub mod amount;
pub mod bytes;
pub mod eddsa;
pub mod merkle;
pub mod poseidon;
pub mod sha256;
pub mod update;

use crate::F;
use ark_r1cs_std::{
    GR1CSVar, alloc::AllocVar, boolean::Boolean, fields::FieldVar, fields::fp::FpVar,
};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

/// Enforces `x ≠ 0` when `on`.
pub fn enforce_nonzero(
    cs: &ConstraintSystemRef<F>,
    x: &FpVar<F>,
    on: &Boolean<F>,
) -> Result<(), SynthesisError> {
    // x·inv = on: when off, inv = 0 satisfies it whatever x is.
    let inv = FpVar::new_witness(cs.clone(), || {
        let active = on.value().unwrap_or(false);
        Ok(x.value()
            .ok()
            .filter(|_| active)
            .and_then(|v| ark_ff::Field::inverse(&v))
            .unwrap_or_default())
    })?;
    x.mul_equals(&inv, &FpVar::from(on.clone()))
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::F;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};

    /// A fresh constraint system that keeps enough information to name an unsatisfied constraint.
    pub fn cs() -> ConstraintSystemRef<F> {
        ConstraintSystem::<F>::new_ref()
    }

    /// Whether the system is satisfied (panics on a synthesis error: a test bug).
    pub fn satisfied(cs: &ConstraintSystemRef<F>) -> bool {
        cs.is_satisfied().expect("satisfiability check")
    }
}
