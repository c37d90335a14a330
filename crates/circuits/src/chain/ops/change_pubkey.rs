//! ChangePubKey: account3 pkh20 address20 nonce4 fee_token2 fee2 (L1-authorised; the
//! contract checks the ECDSA signature). A: fee and nonce; B: the key.

use super::*;

pub(super) fn rules(x: &Ctx, out: &mut Acc) -> Result<(), SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let cs = &x.cs;
    let nonce = &a.before[2];
    let zero = FpVar::<F>::zero();
    let on = &x.g[CHANGE_PUBKEY];
    let (acc, pkh, address, op_nonce, token) =
        (x.f(1, 3), x.f(4, 20), x.f(24, 20), x.f(44, 4), x.f(48, 2));
    let f = packed(x.bits, 50, 2)?;
    x.keep_identity(a, on, false, false)?;
    a.before[0].conditional_enforce_equal(&address, on)?;
    nonce.conditional_enforce_equal(&op_nonce, on)?;
    x.balance_change(a, on, &acc, &token, &(zero.clone() - &f))?;
    b.index.conditional_enforce_equal(&acc, on)?;
    b.before_empty
        .conditional_enforce_equal(&Boolean::FALSE, on)?;
    for i in [0, 2, 3] {
        b.after[i].conditional_enforce_equal(&b.before[i], on)?;
    }
    b.after[1].conditional_enforce_equal(&pkh, on)?;
    enforce_nonzero(cs, &pkh, on)?;
    out.fee += &x.gf(CHANGE_PUBKEY) * &f;
    out.fee_token += &x.gf(CHANGE_PUBKEY) * &token;
    out.add_link(
        on,
        [
            x.hdr(link::kind::CHANGE_PUBKEY, acc),
            pkh,
            zero.clone(),
            zero.clone(),
        ],
    );
    Ok(())
}
