//! A circuit's constraint matrices, and the relation a Groth16 proof attests checked over them.
//!
//! [`R1cs::synthesise`] builds the matrices as the setup does (linear combinations inlined,
//! optimised for constraints) from a circuit without a witness; [`R1cs::assign`] synthesises a
//! witness as the prover does (no constraints recorded, no linear combinations evaluated), and
//! [`R1cs::first_unsatisfied`] evaluates `(A·z) ∘ (B·z) = C·z` row by row. The prover keeps one
//! `R1cs` per key; the forgery tests keep one per circuit shape.
//!
//! Why the tests do not use arkworks' `is_satisfied`: it needs a synthesis that records every
//! constraint and every linear combination (the default mode), and evaluates each through the
//! symbol table — seconds per check for a chain circuit of half a million constraints, and the
//! forgery tests check hundreds of witnesses. Checking the matrices the keys are made from is
//! also the more faithful test: it is exactly what a proof would have to satisfy.

use crate::F;
use ark_ff::Zero;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal,
    R1CS_PREDICATE_LABEL, SynthesisError, SynthesisMode,
};
use ark_relations::utils::matrix::Matrix;

/// Errors from synthesising matrices or a witness.
#[derive(Debug, thiserror::Error)]
pub enum R1csError {
    /// The circuit could not be synthesised (a missing assignment, a division by zero, …).
    #[error("synthesis: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The circuit uses a predicate other than R1CS (Groth16 proves R1CS only).
    #[error("the circuit uses predicates other than R1CS: {0:?}")]
    OtherPredicates(Vec<String>),
    /// A witness synthesised to another number of variables than the matrices' circuit (a
    /// circuit bug: a variable allocated only when a witness is present).
    #[error(
        "{instance} instance and {witness} witness variables, the matrices' circuit has \
         {expected_instance} and {expected_witness}"
    )]
    Shape {
        /// Instance variables of the witness, the constant one included.
        instance: usize,
        /// Witness variables of the witness.
        witness: usize,
        /// The matrices' instance variables.
        expected_instance: usize,
        /// The matrices' witness variables.
        expected_witness: usize,
    },
}

/// A circuit's constraint system without a witness.
pub struct R1cs {
    /// The A, B and C matrices (rows are constraints; a column is a variable of `z`).
    pub matrices: Vec<Matrix<F>>,
    /// Instance variables, the constant one included (the first columns of `z`).
    pub num_inputs: usize,
    /// Witness variables (the columns after the instance).
    pub num_witness: usize,
    /// Constraints.
    pub num_constraints: usize,
}

impl R1cs {
    /// The matrices of `blank` (a circuit without a witness), synthesised as the setup does.
    pub fn synthesise(blank: impl ConstraintSynthesizer<F>) -> Result<Self, R1csError> {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        blank.generate_constraints(cs.clone())?;
        cs.finalize();
        let mut all = cs.to_matrices()?;
        let matrices = all
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or(SynthesisError::PredicateNotFound)?;
        if !all.is_empty() {
            return Err(R1csError::OtherPredicates(all.into_keys().collect()));
        }
        Ok(R1cs {
            matrices,
            num_inputs: cs.num_instance_variables(),
            num_witness: cs.num_witness_variables(),
            num_constraints: cs.num_constraints(),
        })
    }

    /// The full assignment `z = (1, instance…, witness…)` of `circuit`, synthesised as the
    /// prover does, checked to have this system's number of variables.
    pub fn assign(&self, circuit: impl ConstraintSynthesizer<F>) -> Result<Vec<F>, R1csError> {
        Ok(self.assign_with(|cs| circuit.generate_constraints(cs))?.0)
    }

    /// [`R1cs::assign`] for a synthesis that also returns values (a circuit's outputs).
    pub fn assign_with<T>(
        &self,
        synthesis: impl FnOnce(ConstraintSystemRef<F>) -> Result<T, SynthesisError>,
    ) -> Result<(Vec<F>, T), R1csError> {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        let out = synthesis(cs.clone())?;
        let cs = cs.borrow().ok_or(SynthesisError::MissingCS)?;
        let (instance, witness) = (cs.instance_assignment()?, cs.witness_assignment()?);
        if instance.len() != self.num_inputs || witness.len() != self.num_witness {
            return Err(R1csError::Shape {
                instance: instance.len(),
                witness: witness.len(),
                expected_instance: self.num_inputs,
                expected_witness: self.num_witness,
            });
        }
        Ok(([instance, witness].concat(), out))
    }

    /// The first constraint `z` does not satisfy, if any. `z` must have this system's number of
    /// variables (as [`R1cs::assign`] returns it).
    pub fn first_unsatisfied(&self, z: &[F]) -> Option<usize> {
        assert_eq!(
            z.len(),
            self.num_inputs + self.num_witness,
            "assignment length"
        );
        let [a, b, c] = &self.matrices[..] else {
            unreachable!("R1CS has three matrices")
        };
        let dot = |row: &[(F, usize)]| {
            row.iter()
                .fold(F::zero(), |acc, (coeff, var)| acc + *coeff * z[*var])
        };
        (0..self.num_constraints).find(|&i| dot(&a[i]) * dot(&b[i]) != dot(&c[i]))
    }

    /// Whether `circuit`'s witness satisfies every constraint.
    pub fn is_satisfied(&self, circuit: impl ConstraintSynthesizer<F>) -> Result<bool, R1csError> {
        Ok(self.first_unsatisfied(&self.assign(circuit)?).is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::eq::EqGadget;
    use ark_r1cs_std::fields::FieldVar;
    use ark_r1cs_std::fields::fp::FpVar;

    /// `x³ + x + 5 = out` with `out` public, `x` secret; `None` is the blank circuit.
    struct Cubic(Option<(u64, u64)>);

    impl ConstraintSynthesizer<F> for Cubic {
        fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
            let w = self.0;
            let out = FpVar::new_input(cs.clone(), || {
                w.map(|(_, o)| F::from(o))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let x = FpVar::new_witness(cs, || {
                w.map(|(x, _)| F::from(x))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            (x.square()? * &x + &x + FpVar::constant(F::from(5))).enforce_equal(&out)
        }
    }

    #[test]
    fn agrees_with_arkworks_is_satisfied() {
        let r1cs = R1cs::synthesise(Cubic(None)).unwrap();
        assert_eq!((r1cs.num_inputs, r1cs.num_witness), (2, 3));
        for (x, out, expected) in [(3, 35, true), (3, 36, false), (0, 5, true), (1, 5, false)] {
            let cs = ConstraintSystem::<F>::new_ref();
            Cubic(Some((x, out)))
                .generate_constraints(cs.clone())
                .unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), expected, "arkworks, x = {x}");
            assert_eq!(
                r1cs.is_satisfied(Cubic(Some((x, out)))).unwrap(),
                expected,
                "matrices, x = {x}"
            );
        }
    }

    #[test]
    fn names_the_constraint_a_changed_variable_breaks() {
        let r1cs = R1cs::synthesise(Cubic(None)).unwrap();
        let mut z = r1cs.assign(Cubic(Some((3, 35)))).unwrap();
        assert_eq!(r1cs.first_unsatisfied(&z), None);
        // The last witness variable is x³; changing it alone breaks the constraint defining it
        // (or the one using it), never none.
        *z.last_mut().unwrap() += F::from(1);
        assert!(r1cs.first_unsatisfied(&z).is_some());
    }

    /// A circuit that allocates a variable only when it has a witness.
    struct Uneven(bool);

    impl ConstraintSynthesizer<F> for Uneven {
        fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
            if self.0 {
                let _ = FpVar::new_witness(cs, || Ok(F::from(1)))?;
            }
            Ok(())
        }
    }

    #[test]
    fn a_witness_of_another_shape_is_an_error() {
        let r1cs = R1cs::synthesise(Uneven(false)).unwrap();
        assert!(matches!(
            r1cs.assign(Uneven(true)),
            Err(R1csError::Shape {
                witness: 1,
                expected_witness: 0,
                ..
            })
        ));
    }
}
