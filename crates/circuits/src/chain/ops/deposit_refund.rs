//! DepositRefund: as Deposit; provable when the credit would pass 2^112 − 1.

use super::*;

pub(super) fn rules(x: &Ctx) -> Result<(), SynthesisError> {
    let a = &x.a;
    let zero = FpVar::<F>::zero();
    let on = &x.g[DEPOSIT_REFUND];
    let (acc, token, amt, to) = (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(20, 20));
    x.keep_identity(a, on, true, true)?;
    a.before[0].conditional_enforce_equal(&to, on)?;
    x.balance_change(a, on, &acc, &token, &zero)?;
    let over = &a.balance.before + &amt - FpVar::constant(p2(112));
    amount::range_check(&gated(&over, on)?, 113)?;
    Ok(())
}
