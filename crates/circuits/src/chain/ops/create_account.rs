//! CreateAccount: account3 address20. An empty leaf becomes (address, no key, nonce 0).

use super::*;

pub(super) fn rules(x: &Ctx, out: &mut Acc) -> Result<(), SynthesisError> {
    let a = &x.a;
    let cs = &x.cs;
    let zero = FpVar::<F>::zero();
    let on = &x.g[CREATE_ACCOUNT];
    let (acc, address) = (x.f(1, 3), x.f(4, 20));
    a.index.conditional_enforce_equal(&acc, on)?;
    a.before_empty
        .conditional_enforce_equal(&Boolean::TRUE, on)?;
    a.after[0].conditional_enforce_equal(&address, on)?;
    a.after[1].conditional_enforce_equal(&zero, on)?;
    a.after[2].conditional_enforce_equal(&zero, on)?;
    a.after[3].conditional_enforce_equal(&FpVar::constant(empty_hash(BALANCE_TREE_DEPTH)), on)?;
    enforce_nonzero(cs, &address, on)?;
    out.add_link(
        on,
        [
            x.hdr(link::kind::CREATE_ACCOUNT, acc),
            address,
            zero.clone(),
            zero.clone(),
        ],
    );
    Ok(())
}
