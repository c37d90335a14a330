//! Deposit: account3 token2 amount14 to20. Credit the queued owner's balance.

use super::*;

pub(super) fn rules(x: &Ctx) -> Result<(), SynthesisError> {
    let a = &x.a;
    let on = &x.g[DEPOSIT];
    let (acc, token, amt, to) = (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(20, 20));
    x.keep_identity(a, on, true, false)?;
    a.before[0].conditional_enforce_equal(&to, on)?;
    x.balance_change(a, on, &acc, &token, &amt)?;
    Ok(())
}
