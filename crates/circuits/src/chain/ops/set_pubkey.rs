//! SetPubKey: account3 pkh20 (the broadcast half).

use super::*;

pub(super) fn rules(x: &Ctx, out: &mut Acc) -> Result<(), SynthesisError> {
    let a = &x.a;
    let cs = &x.cs;
    let zero = FpVar::<F>::zero();
    let on = &x.g[SET_PUBKEY];
    let (acc, pkh) = (x.f(1, 3), x.f(4, 20));
    a.index.conditional_enforce_equal(&acc, on)?;
    a.before_empty
        .conditional_enforce_equal(&Boolean::FALSE, on)?;
    for i in [0, 2, 3] {
        a.after[i].conditional_enforce_equal(&a.before[i], on)?;
    }
    a.after[1].conditional_enforce_equal(&pkh, on)?;
    enforce_nonzero(cs, &pkh, on)?;
    out.add_link(
        on,
        [
            x.hdr(link::kind::SET_PUBKEY, acc),
            pkh,
            zero.clone(),
            zero.clone(),
        ],
    );
    Ok(())
}
