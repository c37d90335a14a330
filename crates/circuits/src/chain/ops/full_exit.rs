//! FullExit: account3 token2 amount14 owner20. The whole balance if the owner matches,
//! else nothing (a read, or a proof the account does not exist).

use super::*;

pub(super) fn rules(x: &Ctx) -> Result<(), SynthesisError> {
    let a = &x.a;
    let zero = FpVar::<F>::zero();
    let on = &x.g[FULL_EXIT];
    let (acc, token, amt, owner) = (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(20, 20));
    a.index.conditional_enforce_equal(&acc, on)?;
    let owned = &!&a.before_empty & &a.before[0].is_eq(&owner)?;
    let paid = on & &owned;
    let unpaid = on & &!&owned;
    x.keep_identity(a, &paid, true, false)?;
    x.balance_change(a, &paid, &acc, &token, &(zero.clone() - &amt))?;
    amt.conditional_enforce_equal(&a.balance.before, &paid)?;
    amt.conditional_enforce_equal(&zero, &unpaid)?;
    // Unpaid: the leaf is unchanged (for an existing account, any balance read is a no-op).
    a.after_empty
        .conditional_enforce_equal(&a.before_empty, &unpaid)?;
    for i in 0..4 {
        a.after[i].conditional_enforce_equal(&a.before[i], &unpaid)?;
    }
    a.balance
        .after
        .conditional_enforce_equal(&a.balance.before, &unpaid)?;
    Ok(())
}
