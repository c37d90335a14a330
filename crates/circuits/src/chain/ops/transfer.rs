//! Transfer: from3 to3 token2 amount5 fee2.

use super::*;

pub(super) fn rules(x: &Ctx, out: &mut Acc) -> Result<(), SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let chain_id = x.chain_id;
    let nonce = &a.before[2];
    let zero = FpVar::<F>::zero();
    let on = &x.g[TRANSFER];
    let (from, to, token) = (x.f(1, 3), x.f(4, 3), x.f(7, 2));
    let (amt, f) = (packed(x.bits, 9, 5)?, packed(x.bits, 14, 2)?);
    x.keep_identity(a, on, false, false)?;
    x.balance_change(a, on, &from, &token, &(zero.clone() - &amt - &f))?;
    x.keep_identity(b, on, true, false)?;
    x.balance_change(b, on, &to, &token, &amt)?;
    out.fee += &x.gf(TRANSFER) * &f;
    out.fee_token += &x.gf(TRANSFER) * &token;
    // 0x04 chain from3 to_address20 token2 amount5 fee2 nonce4 (38 bytes).
    let c1 = FpVar::constant(F::from(code::TRANSFER) * p2(240))
        + chain_id * p2(232)
        + &from * p2(208)
        + &b.before[0] * p2(48)
        + &token * p2(32)
        + x.f(9, 4);
    let c2 = x.f(13, 1) * p2(48) + x.f(14, 2) * p2(32) + nonce;
    out.m1 += &x.gf(TRANSFER) * c1;
    out.m2 += &x.gf(TRANSFER) * c2;
    Ok(())
}
