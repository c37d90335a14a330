//! SwapOut: account3 pool2 amount14. Pay the trader from the reserve (0 < a < R); linked.

use super::*;

pub(super) fn rules(x: &Ctx, p: &Pool, out: &mut Acc) -> Result<(), SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let zero = FpVar::<F>::zero();
    let one = FpVar::<F>::one();
    let pool = p.id.clone();
    let p_token = p.token.clone();
    let p_peer_chain = p.peer_chain.clone();
    let (reserve, supply) = (&b.before[1], &b.before[2]);
    let (reserve2, supply2) = (&b.after[1], &b.after[2]);
    let on = &x.g[SWAP_OUT];
    let (acc, amt) = (x.f(1, 3), x.f(6, 14));
    x.keep_identity(a, on, true, false)?;
    x.balance_change(a, on, &acc, &p_token, &amt)?;
    reserve2.conditional_enforce_equal(&(reserve - &amt), on)?;
    supply2.conditional_enforce_equal(supply, on)?;
    at_least(&amt, &one, AMOUNT_BITS, on)?;
    at_least(reserve, &(&amt + &one), AMOUNT_BITS, on)?;
    let head = &pool + &acc * p2(16) + &p_peer_chain * p2(40);
    out.add_link(
        on,
        [
            x.hdr(link::kind::SWAP_OUT, head),
            reserve.clone(),
            amt,
            zero.clone(),
        ],
    );
    Ok(())
}
