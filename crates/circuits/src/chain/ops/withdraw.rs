//! Withdraw: account3 token2 amount14 fee2 to20 nonce4.

use super::*;

pub(super) fn rules(x: &Ctx, out: &mut Acc) -> Result<(), SynthesisError> {
    let a = &x.a;
    let chain_id = x.chain_id;
    let nonce = &a.before[2];
    let zero = FpVar::<F>::zero();
    let on = &x.g[WITHDRAW];
    let (acc, token, amt, to, op_nonce) =
        (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(22, 20), x.f(42, 4));
    let f = packed(x.bits, 20, 2)?;
    x.keep_identity(a, on, false, false)?;
    nonce.conditional_enforce_equal(&op_nonce, on)?;
    x.balance_change(a, on, &acc, &token, &(zero.clone() - &amt - &f))?;
    out.fee += &x.gf(WITHDRAW) * &f;
    out.fee_token += &x.gf(WITHDRAW) * &token;
    // 0x05 chain account3 to20 token2 amount14 fee2 nonce4 (47 bytes).
    let c1 = FpVar::constant(F::from(code::WITHDRAW) * p2(240))
        + chain_id * p2(232)
        + &acc * p2(208)
        + &to * p2(48)
        + &token * p2(32)
        + x.f(6, 4);
    let c2 = x.f(10, 10) * p2(48) + x.f(20, 2) * p2(32) + &op_nonce;
    out.m1 += &x.gf(WITHDRAW) * c1;
    out.m2 += &x.gf(WITHDRAW) * c2;
    Ok(())
}
