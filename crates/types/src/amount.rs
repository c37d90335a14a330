//! Amounts: integers bounded by 2^112 − 1, and their packed forms.
//!
//! The bound keeps every AMM product (`reserve · reserve · 10⁴ < 2^240`) inside the BN254 scalar
//! field, so the circuits can compare products without wrap-around, and an 18-decimal token can
//! still hold 5·10^15 whole units.
//!
//! Packed forms trade precision for pubdata bytes: an amount is `mantissa · 10^exponent` with a
//! 35-bit mantissa and 5-bit exponent (5 bytes), a fee an 11-bit mantissa and 5-bit exponent
//! (2 bytes). Only exactly representable values can be packed, and only the canonical (smallest
//! exponent) form decodes, so a signed message has exactly one encoding.

use crate::codec::DecodeError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The largest amount anywhere in the system: 2^112 − 1.
pub const MAX_AMOUNT: u128 = (1u128 << 112) - 1;

const AMOUNT_MANTISSA_BITS: u32 = 35;
const FEE_MANTISSA_BITS: u32 = 11;
const EXPONENT_BITS: u32 = 5;

/// A token amount in base units, always ≤ [`MAX_AMOUNT`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(try_from = "u128", into = "u128")]
pub struct Amount(u128);

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl TryFrom<u128> for Amount {
    type Error = DecodeError;
    fn try_from(v: u128) -> Result<Self, DecodeError> {
        Amount::new(v)
    }
}

impl From<Amount> for u128 {
    fn from(a: Amount) -> u128 {
        a.0
    }
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);
    /// The maximum amount.
    pub const MAX: Amount = Amount(MAX_AMOUNT);

    /// An amount, if within the bound.
    pub fn new(v: u128) -> Result<Self, DecodeError> {
        if v > MAX_AMOUNT {
            return Err(DecodeError::OutOfRange {
                field: "amount",
                value: v,
            });
        }
        Ok(Amount(v))
    }

    /// The value.
    pub fn get(self) -> u128 {
        self.0
    }

    /// Whether zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + rhs` if the result stays within the bound.
    pub fn checked_add(self, rhs: Amount) -> Option<Amount> {
        Amount::new(self.0 + rhs.0).ok() // both ≤ 2^112, no u128 overflow
    }

    /// `self − rhs` if non-negative.
    pub fn checked_sub(self, rhs: Amount) -> Option<Amount> {
        self.0.checked_sub(rhs.0).map(Amount)
    }

    /// Big-endian 14-byte form.
    pub fn to_be_bytes14(self) -> [u8; 14] {
        self.0.to_be_bytes()[2..].try_into().expect("14 bytes")
    }

    /// Parses the 14-byte form (always within the bound).
    pub fn from_be_bytes14(b: &[u8; 14]) -> Result<Self, DecodeError> {
        let mut full = [0u8; 16];
        full[2..].copy_from_slice(b);
        Amount::new(u128::from_be_bytes(full))
    }

    /// Whether the amount can be packed exactly in 5 bytes.
    pub fn is_packable(self) -> bool {
        pack_amount(self).is_some()
    }

    /// Whether the amount can be packed exactly as a 2-byte fee.
    pub fn is_fee_packable(self) -> bool {
        pack_fee(self).is_some()
    }

    /// The largest packable amount ≤ self (what a wallet rounds down to).
    pub fn round_down_packable(self) -> Amount {
        Amount(round_down(self.0, AMOUNT_MANTISSA_BITS))
    }

    /// The largest fee-packable amount ≤ self.
    pub fn round_down_fee(self) -> Amount {
        Amount(round_down(self.0, FEE_MANTISSA_BITS))
    }

    /// The smallest fee-packable amount ≥ self (what a minimum fee rounds up to), if any.
    pub fn round_up_fee(self) -> Option<Amount> {
        // m·10^e with the smallest e whose m = ⌈v / 10^e⌉ fits the mantissa: a larger exponent
        // can only give a larger value.
        (0..1u32 << EXPONENT_BITS).find_map(|e| {
            let p = 10u128.checked_pow(e)?;
            let m = self.0.div_ceil(p);
            (m < 1u128 << FEE_MANTISSA_BITS)
                .then(|| Amount::new(m * p).ok())
                .flatten()
        })
    }
}

fn round_down(mut v: u128, mantissa_bits: u32) -> u128 {
    let mut e = 0u32;
    while v >= 1u128 << mantissa_bits {
        v /= 10;
        e += 1;
    }
    v * 10u128.pow(e)
}

/// (mantissa, exponent) with the smallest exponent, if `v` is exactly representable.
fn split(v: u128, mantissa_bits: u32) -> Option<(u128, u32)> {
    let mut m = v;
    let mut e = 0u32;
    while m >= 1u128 << mantissa_bits {
        if !m.is_multiple_of(10) {
            return None;
        }
        m /= 10;
        e += 1;
    }
    if e >= 1 << EXPONENT_BITS {
        return None;
    }
    Some((m, e))
}

/// Packs an amount into 5 bytes (`mantissa << 5 | exponent`, big-endian), if exact.
pub fn pack_amount(a: Amount) -> Option<[u8; 5]> {
    let (m, e) = split(a.0, AMOUNT_MANTISSA_BITS)?;
    let v = ((m as u64) << EXPONENT_BITS) | e as u64;
    Some(v.to_be_bytes()[3..].try_into().expect("5 bytes"))
}

/// Packs a fee into 2 bytes, if exact.
pub fn pack_fee(a: Amount) -> Option<[u8; 2]> {
    let (m, e) = split(a.0, FEE_MANTISSA_BITS)?;
    Some((((m as u16) << EXPONENT_BITS) | e as u16).to_be_bytes())
}

fn unpack(m: u128, e: u32, what: &'static str, mantissa_bits: u32) -> Result<Amount, DecodeError> {
    let v =
        10u128
            .checked_pow(e)
            .and_then(|p| p.checked_mul(m))
            .ok_or(DecodeError::OutOfRange {
                field: what,
                value: m,
            })?;
    let a = Amount::new(v)?;
    // Canonical: no smaller exponent represents the same value.
    if split(v, mantissa_bits) != Some((m, e)) {
        return Err(DecodeError::NonCanonicalPacking(what));
    }
    Ok(a)
}

/// Unpacks a 5-byte packed amount; rejects values above the bound and non-canonical forms.
pub fn unpack_amount(b: &[u8; 5]) -> Result<Amount, DecodeError> {
    let mut full = [0u8; 8];
    full[3..].copy_from_slice(b);
    let v = u64::from_be_bytes(full);
    unpack(
        (v >> EXPONENT_BITS) as u128,
        (v & 31) as u32,
        "amount",
        AMOUNT_MANTISSA_BITS,
    )
}

/// Unpacks a 2-byte packed fee.
pub fn unpack_fee(b: &[u8; 2]) -> Result<Amount, DecodeError> {
    let v = u16::from_be_bytes(*b);
    unpack(
        (v >> EXPONENT_BITS) as u128,
        (v & 31) as u32,
        "fee",
        FEE_MANTISSA_BITS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds_and_arithmetic() {
        assert!(Amount::new(MAX_AMOUNT).is_ok());
        assert!(Amount::new(MAX_AMOUNT + 1).is_err());
        assert_eq!(Amount::MAX.checked_add(Amount(1)), None);
        assert_eq!(Amount(1).checked_sub(Amount(2)), None);
        assert_eq!(
            Amount::from_be_bytes14(&Amount::MAX.to_be_bytes14()).unwrap(),
            Amount::MAX
        );
    }

    proptest! {
        #[test]
        fn round_up_fee_is_the_smallest_packable_above(v in 0u128..=MAX_AMOUNT / 2) {
            let up = Amount(v).round_up_fee().unwrap();
            prop_assert!(up.is_fee_packable());
            prop_assert!(up.get() >= v);
            // Nothing packable in between: rounding down just below `up` lands below `v`.
            if up.get() > v {
                prop_assert!(Amount(up.get() - 1).round_down_fee().get() < v);
            }
        }
    }

    #[test]
    fn packing_examples() {
        assert_eq!(Amount(2047).round_up_fee(), Some(Amount(2047)));
        assert_eq!(Amount(2048).round_up_fee(), Some(Amount(2050)));
        assert_eq!(Amount(20_471).round_up_fee(), Some(Amount(20_500)));
        let a = Amount(1_500_000_000_000_000_000); // 1.5 ETH
        assert_eq!(unpack_amount(&pack_amount(a).unwrap()).unwrap(), a);
        assert_eq!(pack_amount(Amount((1 << 35) + 1)), None);
        assert_eq!(
            pack_fee(Amount(2047)).map(|b| unpack_fee(&b).unwrap()),
            Some(Amount(2047))
        );
        assert_eq!(pack_fee(Amount(2049)), None);
        assert_eq!(Amount(2049).round_down_fee(), Amount(2040));
        // 10 packed as mantissa 1, exponent 1 is not canonical (mantissa 10, exponent 0 is).
        let non_canonical = ((1u64 << 5) | 1).to_be_bytes()[3..].try_into().unwrap();
        assert_eq!(
            unpack_amount(&non_canonical),
            Err(DecodeError::NonCanonicalPacking("amount"))
        );
        // Exponent 31 with a big mantissa exceeds the amount bound.
        let huge = (((1u64 << 35) - 1) << 5 | 31).to_be_bytes()[3..]
            .try_into()
            .unwrap();
        assert!(unpack_amount(&huge).is_err());
    }

    proptest! {
        #[test]
        fn pack_round_trip(v in 0u128..=MAX_AMOUNT) {
            let a = Amount(v).round_down_packable();
            prop_assert!(a <= Amount(v));
            let packed = pack_amount(a).unwrap();
            prop_assert_eq!(unpack_amount(&packed).unwrap(), a);
            let f = Amount(v).round_down_fee();
            prop_assert_eq!(unpack_fee(&pack_fee(f).unwrap()).unwrap(), f);
        }

        #[test]
        fn unpack_never_panics(b in any::<[u8; 5]>(), f in any::<[u8; 2]>()) {
            if let Ok(a) = unpack_amount(&b) { prop_assert_eq!(pack_amount(a).unwrap(), b); }
            if let Ok(a) = unpack_fee(&f) { prop_assert_eq!(pack_fee(a).unwrap(), f); }
        }
    }
}
