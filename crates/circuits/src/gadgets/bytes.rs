//! Bytes and hashes at the boundary with the EVM: field elements as 32 big-endian bytes, small
//! numbers as a few bytes, and the `sha256(…) mod 2^253` public inputs, each with its native twin.

use crate::F;
use crate::gadgets::{amount, sha256};
use ark_ff::PrimeField;
use ark_r1cs_std::{
    boolean::Boolean, convert::ToBitsGadget, eq::EqGadget, fields::fp::FpVar, uint8::UInt8,
};
use ark_relations::gr1cs::SynthesisError;

/// `2^e` as a constant.
pub fn p2(e: u32) -> F {
    use ark_ff::Field;
    F::from(2u8).pow([e as u64])
}

/// Field element → 32 big-endian bytes (canonical decomposition); twin of `fr_to_be_bytes`.
pub fn be_bytes(x: &FpVar<F>) -> Result<Vec<UInt8<F>>, SynthesisError> {
    let mut bits = x.to_bits_le()?;
    bits.resize(256, Boolean::FALSE);
    Ok(bits.chunks(8).rev().map(UInt8::from_bits_le).collect())
}

/// The `n` low bytes of a small number, big-endian (range-checked to `8n` bits).
pub fn small_be_bytes(x: &FpVar<F>, n: usize) -> Result<Vec<UInt8<F>>, SynthesisError> {
    let bits = amount::range_check(x, 8 * n)?;
    Ok(bits.chunks(8).rev().map(UInt8::from_bits_le).collect())
}

/// Enforces `public = sha256(preimage) mod 2^253`: a proof's single public input.
pub fn enforce_sha256_input(
    preimage: &[UInt8<F>],
    public: &FpVar<F>,
) -> Result<(), SynthesisError> {
    let digest = sha256::digest(preimage)?;
    let mut bits: Vec<Boolean<F>> = Vec::with_capacity(256);
    for byte in digest.iter().rev() {
        bits.extend(byte.to_bits_le()?);
    }
    bits.truncate(253);
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(public)
}

/// Native twin of [`enforce_sha256_input`]'s truncation: a digest's low 253 bits.
pub fn truncate_253(digest: &[u8; 32]) -> F {
    let mut d = *digest;
    d[0] &= 0x1f;
    F::from_be_bytes_mod_order(&d)
}
