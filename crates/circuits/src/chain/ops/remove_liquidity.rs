//! RemoveLiquidity: account3 pool2 shares14 fee2. Step 1: burn and pool; step 2: payout.

use super::*;

pub(super) fn rules(x: &Ctx, p: &Pool, out: &mut Acc) -> Result<(), SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let cs = &x.cs;
    let chain_id = x.chain_id;
    let nonce = &a.before[2];
    let zero = FpVar::<F>::zero();
    let one = FpVar::<F>::one();
    let aux = x.aux.clone();
    let pool = p.id.clone();
    let p_token = p.token.clone();
    let (reserve, supply) = (&b.before[1], &b.before[2]);
    let (reserve2, supply2) = (&b.after[1], &b.after[2]);
    let on = &x.g[REMOVE_LIQUIDITY];
    let acc = x.f(1, 3);
    let (shares, f) = (x.f(6, 14), packed(x.bits, 20, 2)?);
    let lp_slot = &pool + FpVar::constant(F::from(MAX_TOKENS as u64));
    x.keep_identity(a, on, false, false)?;
    x.balance_change(a, on, &acc, &lp_slot, &(zero.clone() - &shares))?;
    let payout = FpVar::new_witness(cs.clone(), || {
        let (s, r, v) = (supply.value()?, reserve.value()?, shares.value()?);
        Ok(if s == F::from(0u8) {
            F::from(0u8)
        } else {
            floor_div(v * r, s)
        })
    })?;
    supply2.conditional_enforce_equal(&(supply - &shares), on)?;
    reserve2.conditional_enforce_equal(&(reserve - &payout), on)?;
    // o·S ≤ v·R < (o+1)·S, o ≥ max(1, min_out).
    let (os, vr) = (&payout * supply, &shares * reserve);
    at_least(&vr, &os, 225, on)?;
    at_least(&(&os + supply), &(&vr + &one), 225, on)?;
    at_least(&payout, &one, AMOUNT_BITS, on)?;
    at_least(&payout, &aux, AMOUNT_BITS, on)?; // min_out
    out.fee += &x.gf(REMOVE_LIQUIDITY) * &f;
    out.fee_token += &x.gf(REMOVE_LIQUIDITY) * &p_token;
    // 0x07 chain acc3 pool2 shares14 min_out14 fee2 nonce4 (41 bytes).
    let c1 = FpVar::constant(F::from(code::REMOVE_LIQUIDITY) * p2(240))
        + chain_id * p2(232)
        + &acc * p2(208)
        + &pool * p2(192)
        + &shares * p2(80)
        + le_slice(&x.aux_bits, 32, 80);
    let c2 = le_slice(&x.aux_bits, 0, 32) * p2(48) + x.f(20, 2) * p2(32) + nonce;
    out.m1 += &x.gf(REMOVE_LIQUIDITY) * c1;
    out.m2 += &x.gf(REMOVE_LIQUIDITY) * c2;
    out.pending = (
        on.select(&(&payout - &f), &out.pending.0)?,
        on.select(&p_token, &out.pending.1)?,
    );
    let on2 = &x.g2[REMOVE_LIQUIDITY];
    x.keep_identity(a, on2, true, false)?;
    x.balance_change(a, on2, &acc, &out.pending.1, &out.pending.0)?;
    Ok(())
}
