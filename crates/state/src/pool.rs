//! Pool halves and the AMM arithmetic, each rule with its rounding direction.
//!
//! A cross-chain pool has one half on each of two chains; each half holds its chain's token, its
//! reserve, and the supply of LP shares of that half (one-coin liquidity: an LP adds one token on
//! one chain and owns a share of that side only). Swaps are constant-product across the halves:
//! `(r_in·10⁴ + a_in·(10⁴ − f))·(r_out − a_out) ≥ r_in·r_out·10⁴`, and every division rounds in the
//! pool's favour. Amounts are ≤ 2^112, so 256-bit intermediates never overflow (nor would the field
//! in-circuit).
//!
//! Leaf: `Poseidon(meta, reserve, lp_supply, 0)` with
//! `meta = token + peer_token·2^16 + peer_chain·2^32 + fee_bps·2^40`.

use ark_bn254::Fr;
use rollup_crypto::{field, poseidon};
use rollup_types::{Amount, ChainId, TokenId};
use ruint::aliases::U256;

/// Basis-point denominator of pool fees.
pub const BPS: u128 = 10_000;
/// LP shares locked forever by the first deposit into a half, so the share price can never be
/// inflated from a near-empty supply (the classic first-depositor attack).
pub const MIN_LIQUIDITY: u128 = 1_000;

/// One half of a pool on one chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolHalf {
    /// This half's token (on this chain).
    pub token: TokenId,
    /// The other half's chain.
    pub peer_chain: ChainId,
    /// The other half's token.
    pub peer_token: TokenId,
    /// Swap fee in basis points (kept by the pool).
    pub fee_bps: u16,
    /// Tokens held.
    pub reserve: Amount,
    /// LP shares of this half outstanding (including the locked minimum).
    pub lp_supply: Amount,
}

impl PoolHalf {
    /// The leaf hash.
    pub fn hash(&self) -> Fr {
        let meta = self.token.0 as u128
            | (self.peer_token.0 as u128) << 16
            | (self.peer_chain.0 as u128) << 32
            | (self.fee_bps as u128) << 40;
        poseidon::hash4(&[
            field::fr_from_u128(meta),
            field::fr_from_u128(self.reserve.get()),
            field::fr_from_u128(self.lp_supply.get()),
            Fr::from(0u8),
        ])
    }
}

fn u256(v: u128) -> U256 {
    U256::from(v)
}

fn to_amount(v: U256) -> Option<Amount> {
    u128::try_from(v).ok().and_then(|v| Amount::new(v).ok())
}

/// Output of a swap: `⌊r_out·a' / (r_in·10⁴ + a')⌋` with `a' = a_in·(10⁴ − f)`. Rounds down (pool's
/// favour). `None` if a reserve is empty.
pub fn swap_output(r_in: Amount, r_out: Amount, amount_in: Amount, fee_bps: u16) -> Option<Amount> {
    if r_in.is_zero() || r_out.is_zero() {
        return None;
    }
    let a = u256(amount_in.get()) * u256(BPS - fee_bps as u128);
    let num = u256(r_out.get()) * a;
    let den = u256(r_in.get()) * u256(BPS) + a;
    to_amount(num / den)
}

/// The invariant the binding circuit enforces for a swap:
/// `(r_in·10⁴ + a_in·(10⁴ − f))·(r_out − a_out) ≥ r_in·r_out·10⁴`, with `0 < a_out < r_out`.
pub fn swap_invariant_holds(
    r_in: Amount,
    r_out: Amount,
    amount_in: Amount,
    amount_out: Amount,
    fee_bps: u16,
) -> bool {
    if amount_out.is_zero() || amount_out >= r_out {
        return false;
    }
    let lhs = (u256(r_in.get()) * u256(BPS) + u256(amount_in.get()) * u256(BPS - fee_bps as u128))
        * u256(r_out.get() - amount_out.get());
    let rhs = u256(r_in.get()) * u256(r_out.get()) * u256(BPS);
    lhs >= rhs
}

/// Shares minted for adding `amount` to a half: the whole amount for the first deposit (of which
/// [`MIN_LIQUIDITY`] are locked), else `⌊amount·supply / reserve⌋` (pool's favour).
/// Returns `(minted_total, to_user)`; `None` if nothing would be minted.
pub fn shares_for_add(half: &PoolHalf, amount: Amount) -> Option<(Amount, Amount)> {
    if half.lp_supply.is_zero() {
        if amount.get() <= MIN_LIQUIDITY {
            return None;
        }
        return Some((amount, Amount::new(amount.get() - MIN_LIQUIDITY).ok()?));
    }
    if half.reserve.is_zero() {
        return None;
    }
    let minted =
        to_amount(u256(amount.get()) * u256(half.lp_supply.get()) / u256(half.reserve.get()))?;
    if minted.is_zero() {
        return None;
    }
    Some((minted, minted))
}

/// Tokens paid for burning `shares`: `⌊shares·reserve / supply⌋` (pool's favour).
pub fn output_for_remove(half: &PoolHalf, shares: Amount) -> Option<Amount> {
    if shares > half.lp_supply || half.lp_supply.is_zero() {
        return None;
    }
    to_amount(u256(shares.get()) * u256(half.reserve.get()) / u256(half.lp_supply.get()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amt(v: u128) -> Amount {
        Amount::new(v).unwrap()
    }

    fn half(reserve: u128, supply: u128) -> PoolHalf {
        PoolHalf {
            token: TokenId(0),
            peer_chain: ChainId(2),
            peer_token: TokenId(0),
            fee_bps: 30,
            reserve: amt(reserve),
            lp_supply: amt(supply),
        }
    }

    #[test]
    fn swap_examples() {
        // 1000/1000 pool, 0.3% fee, 100 in: 1000·99.7/(1099.7) = 90.66 → 90.
        assert_eq!(
            swap_output(amt(1000), amt(1000), amt(100), 30),
            Some(amt(90))
        );
        assert!(swap_invariant_holds(
            amt(1000),
            amt(1000),
            amt(100),
            amt(90),
            30
        ));
        assert!(!swap_invariant_holds(
            amt(1000),
            amt(1000),
            amt(100),
            amt(91),
            30
        ));
        assert!(!swap_invariant_holds(
            amt(1000),
            amt(1000),
            amt(10_000_000),
            amt(1000),
            30
        ));
        assert_eq!(swap_output(amt(0), amt(1000), amt(100), 30), None);
    }

    #[test]
    fn first_deposit_locks_minimum() {
        assert_eq!(shares_for_add(&half(0, 0), amt(1000)), None);
        assert_eq!(
            shares_for_add(&half(0, 0), amt(5000)),
            Some((amt(5000), amt(4000)))
        );
        assert_eq!(
            shares_for_add(&half(5000, 5000), amt(1)),
            Some((amt(1), amt(1)))
        );
        assert_eq!(
            shares_for_add(&half(5000, 2500), amt(1)),
            None,
            "rounds to zero shares"
        );
    }

    proptest! {
        #[test]
        fn swap_output_satisfies_invariant_and_is_maximal(
            r_in in 1u128..=1u128 << 100, r_out in 2u128..=1u128 << 100,
            a in 1u128..=1u128 << 100, fee in 0u16..=1000,
        ) {
            let out = swap_output(amt(r_in), amt(r_out), amt(a), fee)
                .filter(|o| !o.is_zero() && *o < amt(r_out));
            if let Some(out) = out {
                prop_assert!(swap_invariant_holds(amt(r_in), amt(r_out), amt(a), out, fee));
                let more = amt(out.get() + 1);
                prop_assert!(!swap_invariant_holds(amt(r_in), amt(r_out), amt(a), more, fee));
            }
        }

        #[test]
        fn add_remove_never_dilutes_share_value(
            reserve in 1001u128..1u128 << 100, supply in 1001u128..1u128 << 100,
            add in 1u128..1u128 << 100, remove_frac in 0u128..=1000,
        ) {
            // Share value R/S must never decrease: R'·S ≥ R·S'.
            let h = half(reserve, supply);
            if let Some((minted, _)) = shares_for_add(&h, amt(add)) {
                let (r2, s2) = (reserve + add, supply + minted.get());
                prop_assert!(u256(r2) * u256(supply) >= u256(reserve) * u256(s2));
            }
            let shares = supply * remove_frac / 1000;
            let out = output_for_remove(&h, amt(shares)).unwrap();
            let (r2, s2) = (reserve - out.get(), supply - shares);
            prop_assert!(u256(r2) * u256(supply) >= u256(reserve) * u256(s2));
        }
    }
}
