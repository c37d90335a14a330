//! Poseidon in R1CS: the twin of `rollup_crypto::poseidon`, walking the same optimised round
//! schedule (folded constants, sparse partial-round matrices). Linear layers cost no constraints;
//! each S-box `x^5` costs 3, so a hash costs `3·(8·t + partial_rounds)` constraints
//! (240 for 2 inputs, 297 for 4, 321 for 5).

use crate::F;
use ark_r1cs_std::fields::{FieldVar, fp::FpVar};
use ark_relations::gr1cs::SynthesisError;
use rollup_crypto::poseidon::{Schedule, schedule};
use std::sync::OnceLock;

fn cached(inputs: usize) -> &'static Schedule {
    static SCHEDULES: OnceLock<Vec<Schedule>> = OnceLock::new();
    &SCHEDULES.get_or_init(|| {
        (1..=rollup_crypto::poseidon::MAX_INPUTS)
            .map(schedule)
            .collect()
    })[inputs - 1]
}

fn sbox(x: &FpVar<F>) -> Result<FpVar<F>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

fn dense(state: &[FpVar<F>], m: &[Vec<F>]) -> Vec<FpVar<F>> {
    m.iter()
        .map(|row| {
            state
                .iter()
                .zip(row)
                .fold(FpVar::zero(), |acc, (s, c)| acc + s * *c)
        })
        .collect()
}

/// `Poseidon(inputs)` for 1..=12 inputs.
pub fn hash(inputs: &[FpVar<F>]) -> Result<FpVar<F>, SynthesisError> {
    let s = cached(inputs.len());
    let mut state: Vec<FpVar<F>> = std::iter::once(FpVar::zero())
        .chain(inputs.iter().cloned())
        .collect();
    let last_first = s.first_ark.len() - 1;
    for (r, c) in s.first_ark.iter().enumerate() {
        for (x, k) in state.iter_mut().zip(c) {
            *x = sbox(&(&*x + *k))?;
        }
        state = dense(
            &state,
            if r == last_first {
                &s.pre_partial_mds
            } else {
                &s.mds
            },
        );
    }
    for (c, (a00, row, col)) in s.partial_ark.iter().zip(&s.sparse) {
        let x0 = sbox(&(&state[0] + *c))?;
        let mut y0 = &x0 * *a00;
        for j in 1..s.width {
            y0 += &state[j] * row[j];
            state[j] = &state[j] + &x0 * col[j];
        }
        state[0] = y0;
    }
    for c in &s.second_ark {
        for (x, k) in state.iter_mut().zip(c) {
            *x = sbox(&(&*x + *k))?;
        }
        state = dense(&state, &s.mds);
    }
    Ok(state.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::test_util::*;
    use ark_r1cs_std::{GR1CSVar, alloc::AllocVar, eq::EqGadget};
    use ark_std::UniformRand;

    #[test]
    fn agrees_with_native_on_random_inputs() {
        let mut rng = ark_std::test_rng();
        for n in [1usize, 2, 4, 5, 8, 12] {
            let cs = cs();
            let xs: Vec<F> = (0..n).map(|_| F::rand(&mut rng)).collect();
            let vars: Vec<FpVar<F>> = xs
                .iter()
                .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
                .collect();
            let h = hash(&vars).unwrap();
            assert_eq!(
                h.value().unwrap(),
                rollup_crypto::poseidon::hash(&xs),
                "{n} inputs"
            );
            assert!(satisfied(&cs));
        }
    }

    #[test]
    fn constraint_counts() {
        for (n, expected) in [(2usize, 240usize), (4, 297), (5, 321)] {
            let cs = cs();
            let vars: Vec<FpVar<F>> = (0..n)
                .map(|i| FpVar::new_witness(cs.clone(), || Ok(F::from(i as u64))).unwrap())
                .collect();
            let _ = hash(&vars).unwrap();
            assert_eq!(cs.num_constraints(), expected, "{n} inputs");
        }
    }

    #[test]
    fn wrong_output_is_rejected() {
        let cs = cs();
        let a = FpVar::new_witness(cs.clone(), || Ok(F::from(1u8))).unwrap();
        let b = FpVar::new_witness(cs.clone(), || Ok(F::from(2u8))).unwrap();
        let h = hash(&[a, b]).unwrap();
        let claimed = FpVar::new_input(cs.clone(), || Ok(F::from(3u8))).unwrap();
        h.enforce_equal(&claimed).unwrap();
        assert!(!satisfied(&cs));
    }
}
