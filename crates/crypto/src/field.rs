//! Conversions between BN254 scalar field elements and bytes/integers.

use crate::CryptoError;
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

/// The canonical 32-byte big-endian encoding of a field element (the form roots take on L1).
pub fn fr_to_be_bytes(x: &Fr) -> [u8; 32] {
    let v = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

/// Parses a canonical 32-byte big-endian field element; rejects values ≥ the modulus.
pub fn fr_from_be_bytes(bytes: &[u8; 32]) -> Result<Fr, CryptoError> {
    let x = Fr::from_be_bytes_mod_order(bytes);
    if fr_to_be_bytes(&x) != *bytes {
        return Err(CryptoError::NonCanonicalField);
    }
    Ok(x)
}

/// Packs up to 31 big-endian bytes into one field element (always canonical: < 2^248).
pub fn fr_from_short_be(bytes: &[u8]) -> Fr {
    assert!(
        bytes.len() <= 31,
        "at most 31 bytes fit a field element losslessly"
    );
    Fr::from_be_bytes_mod_order(bytes)
}

/// Packs a byte string into field elements of 31 bytes each (big-endian, last chunk shorter).
/// This is how signed messages become Poseidon inputs, in-circuit and natively.
pub fn pack_bytes(bytes: &[u8]) -> Vec<Fr> {
    bytes.chunks(31).map(fr_from_short_be).collect()
}

/// A field element from a `u128` (amounts, nonces, ids).
pub fn fr_from_u128(x: u128) -> Fr {
    Fr::from(x)
}

/// The value of a field element as `u128`, if it fits.
pub fn fr_to_u128(x: &Fr) -> Option<u128> {
    let b = fr_to_be_bytes(x);
    if b[..16].iter().any(|&v| v != 0) {
        return None;
    }
    Some(u128::from_be_bytes(b[16..].try_into().expect("16 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_non_canonical() {
        let x = Fr::from(123456789u64);
        assert_eq!(fr_from_be_bytes(&fr_to_be_bytes(&x)).unwrap(), x);
        let mut max = [0xffu8; 32];
        assert_eq!(fr_from_be_bytes(&max), Err(CryptoError::NonCanonicalField));
        max[0] = 0;
        assert!(fr_from_be_bytes(&max).is_ok());
        assert_eq!(fr_to_u128(&fr_from_u128(u128::MAX)), Some(u128::MAX));
        assert_eq!(fr_to_u128(&(fr_from_u128(u128::MAX) + Fr::from(1u8))), None);
    }

    #[test]
    fn pack_bytes_chunks() {
        let bytes: Vec<u8> = (0..40).collect();
        let packed = pack_bytes(&bytes);
        assert_eq!(packed.len(), 2);
        assert_eq!(packed[1], fr_from_short_be(&bytes[31..]));
    }
}
