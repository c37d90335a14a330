//! R1CS gadgets, one concern per module.

pub mod amount;
pub mod bytes;
pub mod eddsa;
pub mod merkle;
pub mod poseidon;
pub mod update;

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
