//! Range checks and packed amounts: the twins of `rollup_types::amount`.

use crate::F;
use ark_r1cs_std::{boolean::Boolean, fields::FieldVar, fields::fp::FpVar};
use ark_relations::gr1cs::SynthesisError;

/// Bits of an amount: every balance, reserve and amount is < 2^112.
pub const AMOUNT_BITS: usize = 112;

/// Enforces `x < 2^bits` and returns its little-endian bits (`bits + 1` constraints).
pub fn range_check(x: &FpVar<F>, bits: usize) -> Result<Vec<Boolean<F>>, SynthesisError> {
    Ok(x.to_bits_le_with_top_bits_zero(bits)?.0)
}

/// Enforces `x ≤ MAX_AMOUNT` (the twin of `Amount::new`).
pub fn amount(x: &FpVar<F>) -> Result<Vec<Boolean<F>>, SynthesisError> {
    range_check(x, AMOUNT_BITS)
}

/// The value of a packed amount given its little-endian bits (`exponent_bits` low bits, then the
/// mantissa): `mantissa · 10^exponent`. The exponent's power of ten is picked by a binary tree of
/// selections over constants (2^exponent_bits − 1 constraints at most) and one multiplication.
pub fn unpack(bits: &[Boolean<F>], exponent_bits: usize) -> Result<FpVar<F>, SynthesisError> {
    let (exp, mantissa) = bits.split_at(exponent_bits);
    let mantissa = Boolean::le_bits_to_fp(mantissa)?;
    // pow = Π (bit_i ? 10^(2^i) : 1): exponent_bits multiplications.
    let mut pow = FpVar::one();
    for (i, b) in exp.iter().enumerate() {
        let factor = F::from(10u64).pow([1u64 << i]);
        let term = FpVar::from(b.clone()) * (factor - F::from(1u8)) + F::from(1u8);
        pow *= term;
    }
    Ok(mantissa * pow)
}

use ark_ff::Field;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gadgets::test_util::*;
    use ark_r1cs_std::{GR1CSVar, alloc::AllocVar};
    use rollup_types::Amount;
    use rollup_types::amount::{MAX_AMOUNT, pack_amount, pack_fee};

    fn witness_bits(
        cs: &ark_relations::gr1cs::ConstraintSystemRef<F>,
        bytes: &[u8],
    ) -> Vec<Boolean<F>> {
        let v = bytes.iter().fold(0u128, |acc, b| acc << 8 | *b as u128);
        (0..bytes.len() * 8)
            .map(|i| Boolean::new_witness(cs.clone(), || Ok(v >> i & 1 == 1)).unwrap())
            .collect()
    }

    #[test]
    fn range_check_accepts_bound_and_rejects_above() {
        for (v, ok) in [(MAX_AMOUNT, true), (MAX_AMOUNT + 1, false), (0, true)] {
            let cs = cs();
            let x = FpVar::new_witness(cs.clone(), || Ok(F::from(v))).unwrap();
            amount(&x).unwrap();
            assert_eq!(satisfied(&cs), ok, "{v}");
        }
        // A "negative" amount (p − 1) is far above the bound.
        let cs = cs();
        let x = FpVar::new_witness(cs.clone(), || Ok(-F::from(1u8))).unwrap();
        amount(&x).unwrap();
        assert!(!satisfied(&cs));
    }

    #[test]
    fn unpack_agrees_with_native() {
        for v in [
            0u128,
            1,
            999,
            1_500_000_000_000_000_000,
            34_359_738_367 * 10u128.pow(23),
        ] {
            let a = Amount::new(v).unwrap();
            let cs = cs();
            let bits = witness_bits(&cs, &pack_amount(a).unwrap());
            assert_eq!(unpack(&bits, 5).unwrap().value().unwrap(), F::from(v));
            let f = a.round_down_fee();
            let bits = witness_bits(&cs, &pack_fee(f).unwrap());
            assert_eq!(unpack(&bits, 5).unwrap().value().unwrap(), F::from(f.get()));
            assert!(satisfied(&cs));
        }
    }
}
