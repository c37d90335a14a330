//! AddLiquidity: account3 pool2 amount5 fee2. Step 1: debit and pool; step 2: shares.

use super::*;

pub(super) fn rules(x: &Ctx, p: &Pool, out: &mut Acc) -> Result<(), SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let cs = &x.cs;
    let zero = FpVar::<F>::zero();
    let one = FpVar::<F>::one();
    let aux = x.aux.clone();
    let pool = p.id.clone();
    let p_token = p.token.clone();
    let (reserve, supply) = (&b.before[1], &b.before[2]);
    let (reserve2, supply2) = (&b.after[1], &b.after[2]);
    let on = &x.g[ADD_LIQUIDITY];
    let acc = x.f(1, 3);
    let (amt, f) = (packed(x.bits, 6, 5)?, packed(x.bits, 11, 2)?);
    x.keep_identity(a, on, false, false)?;
    x.balance_change(a, on, &acc, &p_token, &(zero.clone() - &amt - &f))?;
    reserve2.conditional_enforce_equal(&(reserve + &amt), on)?;
    // Shares: the first deposit mints `amount` (1000 locked), later ones ⌊amount·S/R⌋.
    let empty = supply.is_zero()?;
    let minted = FpVar::new_witness(cs.clone(), || {
        let (s, r, v) = (supply.value()?, reserve.value()?, amt.value()?);
        Ok(if s == F::from(0u8) {
            v
        } else {
            floor_div(v * s, r)
        })
    })?;
    supply2.conditional_enforce_equal(&(supply + &minted), on)?;
    let first_add = on & &empty;
    let later = on & &!&empty;
    minted.conditional_enforce_equal(&amt, &first_add)?;
    at_least(
        &amt,
        &FpVar::constant(F::from(1001u64)),
        AMOUNT_BITS,
        &first_add,
    )?;
    // m·R ≤ v·S < (m+1)·R, m ≥ 1.
    let (ms_r, vs) = (&minted * reserve, &amt * supply);
    at_least(&vs, &ms_r, 225, &later)?;
    at_least(&(&ms_r + reserve), &(&vs + &one), 225, &later)?;
    at_least(&minted, &one, AMOUNT_BITS, &later)?;
    let to_user = first_add.select(&(&amt - FpVar::constant(F::from(1000u64))), &minted)?;
    at_least(&to_user, &aux, AMOUNT_BITS, on)?; // min_shares
    out.fee += &x.gf(ADD_LIQUIDITY) * &f;
    out.fee_token += &x.gf(ADD_LIQUIDITY) * &p_token;
    let (c1, c2) = pool::amount_min_msg(x, p, code::ADD_LIQUIDITY);
    out.m1 += &x.gf(ADD_LIQUIDITY) * c1;
    out.m2 += &x.gf(ADD_LIQUIDITY) * c2;
    let lp_slot = &pool + FpVar::constant(F::from(MAX_TOKENS as u64));
    out.pending = (
        on.select(&to_user, &out.pending.0)?,
        on.select(&lp_slot, &out.pending.1)?,
    );
    let on2 = &x.g2[ADD_LIQUIDITY];
    x.keep_identity(a, on2, true, false)?;
    x.balance_change(a, on2, &acc, &out.pending.1, &out.pending.0)?;
    Ok(())
}
