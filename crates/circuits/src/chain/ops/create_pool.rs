//! CreatePool: account3 pool2 token2 peer_chain1 peer_token2 fee_bps2 fee2; and its peer
//! half CreatePoolPeer: pool2 token2 peer_chain1 peer_token2 fee_bps2. Both linked.

use super::*;

pub(super) fn rules(x: &Ctx, out: &mut Acc) -> Result<(), SynthesisError> {
    let (a, b) = (&x.a, &x.b);
    let cs = &x.cs;
    let chain_id = x.chain_id;
    let zero = FpVar::<F>::zero();
    let one = FpVar::<F>::one();
    let max_token = x.max_token.clone();
    let on = &x.g[CREATE_POOL];
    let peer_on = &x.g[CREATE_POOL_PEER];
    let create = any_of(cs, &[on, peer_on])?;
    let cf = FpVar::from(on.clone());
    let pf = FpVar::from(peer_on.clone());
    // Fields sit one byte later in the origin half (after the 3-byte account).
    let pick = |off: usize, n: usize| &cf * x.f(off + 3, n) + &pf * x.f(off, n);
    let (cpool, token, peer_chain, peer_token, fee_bps) =
        (pick(1, 2), pick(3, 2), pick(5, 1), pick(6, 2), pick(8, 2));
    for (v, bits) in [(&token, 9), (&peer_token, 9)] {
        amount::range_check(
            &gated(
                &(FpVar::constant(F::from(MAX_TOKENS as u64 - 1)) - v),
                &create,
            )?,
            bits,
        )?;
    }
    amount::range_check(
        &gated(
            &(FpVar::constant(F::from(MAX_POOLS as u64 - 1)) - &cpool),
            &create,
        )?,
        9,
    )?;
    amount::range_check(
        &gated(
            &(FpVar::constant(F::from(rollup_types::tx::MAX_POOL_FEE_BPS)) - &fee_bps),
            &create,
        )?,
        10,
    )?;
    amount::range_check(&gated(&(&peer_chain - &one), &create)?, 3)?; // 1..=8
    enforce_nonzero(cs, &(&peer_chain - chain_id), &create)?;
    b.index.conditional_enforce_equal(
        &(&cpool + FpVar::constant(F::from(MAX_ACCOUNTS as u64))),
        &create,
    )?;
    b.before_empty
        .conditional_enforce_equal(&Boolean::TRUE, &create)?;
    b.after[0].conditional_enforce_equal(
        &meta_of(&token, &peer_token, &peer_chain, &fee_bps),
        &create,
    )?;
    for i in 1..4 {
        b.after[i].conditional_enforce_equal(&zero, &create)?;
    }
    let acc = x.f(1, 3);
    let f = packed(x.bits, 13, 2)?;
    x.keep_identity(a, on, false, false)?;
    x.balance_change(a, on, &acc, &token, &(zero.clone() - &f))?;
    amount::range_check(&gated(&(&max_token - &token), on)?, 9)?;
    out.fee += &x.gf(CREATE_POOL) * &f;
    out.fee_token += &x.gf(CREATE_POOL) * &token;
    let head = &cpool
        + chain_id * p2(16)
        + &token * p2(24)
        + &peer_chain * p2(40)
        + &peer_token * p2(48)
        + &fee_bps * p2(64);
    // The signed half says it is the origin: two peer halves are not a pool creation.
    let kind = &cf * F::from(link::kind::CREATE_POOL) + &pf * F::from(link::kind::CREATE_POOL_PEER);
    out.add_link(
        &create,
        [
            x.hdr_of(kind, head),
            zero.clone(),
            zero.clone(),
            zero.clone(),
        ],
    );
    Ok(())
}
