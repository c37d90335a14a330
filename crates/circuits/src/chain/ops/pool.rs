//! The pool half every pool operation touches: B is the pool leaf of the op's pool (account3
//! pool2 … for every pool op), its meta split into token, peer chain and fee, and the rules all
//! pool operations share. CreatePool's halves create the leaf (`create_pool.rs`).

use super::*;

/// The op's pool leaf, as the pool operations read it.
pub(super) struct Pool {
    /// The pool's id (its leaf is `MAX_ACCOUNTS + id`).
    pub(super) id: FpVar<F>,
    /// This half's token.
    pub(super) token: FpVar<F>,
    /// The chain of the other half.
    pub(super) peer_chain: FpVar<F>,
    /// The pool's fee in basis points.
    pub(super) fee_bps: FpVar<F>,
}

/// The rules every pool operation shares, and the pool leaf's fields.
pub(super) fn half(x: &Ctx) -> Result<Pool, SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let cs = &x.cs;
    let zero = FpVar::<F>::zero();
    let pool = x.f(4, 2);
    let pool_ops = any_of(
        cs,
        &[
            &x.g[ADD_LIQUIDITY],
            &x.g[REMOVE_LIQUIDITY],
            &x.g[SWAP_IN],
            &x.g[SWAP_OUT],
        ],
    )?;
    let [p_token, _, p_peer_chain, p_fee_bps] = split_meta(&gated(&b.before[0], &pool_ops)?)?;
    let (reserve2, supply2) = (&b.after[1], &b.after[2]);
    {
        let on = &pool_ops;
        amount::range_check(
            &gated(
                &(FpVar::constant(F::from(MAX_POOLS as u64 - 1)) - &pool),
                on,
            )?,
            9,
        )?;
        b.index.conditional_enforce_equal(
            &(&pool + FpVar::constant(F::from(MAX_ACCOUNTS as u64))),
            on,
        )?;
        b.before_empty
            .conditional_enforce_equal(&Boolean::FALSE, on)?;
        b.after[0].conditional_enforce_equal(&b.before[0], on)?;
        b.after[3].conditional_enforce_equal(&zero, on)?;
        amount::range_check(&gated(reserve2, on)?, AMOUNT_BITS)?;
        amount::range_check(&gated(supply2, on)?, AMOUNT_BITS)?;
        // The trader's token on this chain is the pool half's token.
        a.balance.token.conditional_enforce_equal(
            &p_token,
            &any_of(cs, &[&x.g[ADD_LIQUIDITY], &x.g[SWAP_IN], &x.g[SWAP_OUT]])?,
        )?;
    }
    Ok(Pool {
        id: pool,
        token: p_token,
        peer_chain: p_peer_chain,
        fee_bps: p_fee_bps,
    })
}

/// The message layout AddLiquidity and Swap share: code chain acc3 pool2 amount5 min14 fee2
/// nonce4 (32 bytes).
pub(super) fn amount_min_msg(x: &Ctx, p: &Pool, code: u8) -> (FpVar<F>, FpVar<F>) {
    let c1 = FpVar::constant(F::from(code) * p2(240))
        + x.chain_id * p2(232)
        + x.f(1, 3) * p2(208)
        + &p.id * p2(192)
        + x.f(6, 5) * p2(152)
        + &x.aux * p2(40)
        + x.f(11, 2) * p2(24)
        + &x.nonce_hi;
    (c1, x.nonce_lo.clone())
}
