//! SwapIn: account3 pool2 amount5 fee2. Debit the trader, grow the reserve; linked.

use super::*;

pub(super) fn rules(x: &Ctx, p: &Pool, out: &mut Acc) -> Result<(), SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let zero = FpVar::<F>::zero();
    let aux = x.aux.clone();
    let pool = p.id.clone();
    let p_token = p.token.clone();
    let p_peer_chain = p.peer_chain.clone();
    let p_fee_bps = p.fee_bps.clone();
    let (reserve, supply) = (&b.before[1], &b.before[2]);
    let (reserve2, supply2) = (&b.after[1], &b.after[2]);
    let on = &x.g[SWAP_IN];
    let acc = x.f(1, 3);
    let (amt, f) = (packed(x.bits, 6, 5)?, packed(x.bits, 11, 2)?);
    x.keep_identity(a, on, false, false)?;
    x.balance_change(a, on, &acc, &p_token, &(zero.clone() - &amt - &f))?;
    reserve2.conditional_enforce_equal(&(reserve + &amt), on)?;
    supply2.conditional_enforce_equal(supply, on)?;
    out.fee += &x.gf(SWAP_IN) * &f;
    out.fee_token += &x.gf(SWAP_IN) * &p_token;
    let (c1, c2) = pool::amount_min_msg(x, p, code::SWAP_IN);
    out.m1 += &x.gf(SWAP_IN) * c1;
    out.m2 += &x.gf(SWAP_IN) * c2;
    let head = &pool + &acc * p2(16) + &p_fee_bps * p2(40) + &p_peer_chain * p2(56);
    out.add_link(
        on,
        [
            x.hdr(link::kind::SWAP_IN, head),
            reserve.clone(),
            amt,
            aux.clone(),
        ],
    );
    Ok(())
}
