//! One step of the chain circuit: one pubdata chunk. The skeleton every operation type shares —
//! the op's bits and one-hot type, its position and continuity across steps, the chunk's 16
//! bytes of pubdata, the two leaf updates (A and B) and which of them each type uses, the
//! signature, the fee slot and the links fold — around the per-type rules of [`super::ops`].

use super::ops::{self, Acc, Ctx};
use super::*;

#[allow(clippy::too_many_lines)]
pub(super) fn step(
    cs: &ConstraintSystemRef<F>,
    sw: &StepWitness,
    first_step: bool,
    domain: &FpVar<F>,
    chain_id: &FpVar<F>,
    fee_tokens: &[FpVar<F>],
    carry: &mut Carry,
) -> Result<(), SynthesisError> {
    let one = FpVar::<F>::one();
    let zero = FpVar::<F>::zero();
    // The operation's bits, most significant bit of byte 0 first.
    let bits = (0..OP_BITS)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(sw.op[i / 8] >> (7 - i % 8) & 1 == 1)))
        .collect::<Result<Vec<_>, _>>()?;
    // Operation type: one-hot selectors matching the code byte.
    let code = field(&bits, 0, 1);
    let op_code = sw.op[0];
    let s = SUPPORTED
        .iter()
        .map(|(c, _, _)| Boolean::new_witness(cs.clone(), || Ok(*c == op_code)))
        .collect::<Result<Vec<_>, _>>()?;
    let sel = |k: usize| FpVar::from(s[k].clone());
    (0..s.len())
        .map(sel)
        .fold(FpVar::zero(), |a, b| a + b)
        .enforce_equal(&one)?;
    SUPPORTED
        .iter()
        .enumerate()
        .fold(FpVar::zero(), |a, (k, (c, _, _))| a + sel(k) * F::from(*c))
        .enforce_equal(&code)?;
    let chunks = SUPPORTED
        .iter()
        .enumerate()
        .fold(FpVar::zero(), |a, (k, (_, n, _))| {
            a + sel(k) * F::from(*n as u64)
        });
    // Bytes past the operation's length are zero (the decoder rejects anything else).
    for (k, (_, _, len)) in SUPPORTED.iter().enumerate() {
        for tail in bits[8 * len..].chunks(248) {
            be_num(tail).conditional_enforce_equal(&zero, &s[k])?;
        }
    }
    // Position within the operation, and continuity with the previous step.
    let c0 = Boolean::new_witness(cs.clone(), || Ok(sw.chunk & 1 == 1))?;
    let c1 = Boolean::new_witness(cs.clone(), || Ok(sw.chunk & 2 == 2))?;
    let c01 = &c0 & &c1;
    let chunk = FpVar::from(c0.clone()) + FpVar::from(c1.clone()) * F::from(2u8);
    amount::range_check(&(&chunks - &one - &chunk), 2)?;
    let cont = &c0 | &c1;
    let first = !&cont;
    let second = &c0 & &!&c1;
    let op_words = [
        be_num(&bits[..248]),
        be_num(&bits[248..496]),
        be_num(&bits[496..]),
    ];
    if first_step {
        cont.enforce_equal(&Boolean::FALSE)?;
    } else {
        for (p, q) in op_words.iter().zip(&carry.packed) {
            p.conditional_enforce_equal(q, &cont)?;
        }
        chunk.conditional_enforce_equal(&(&carry.chunk + &one), &cont)?;
        (&carry.chunk + &one).conditional_enforce_equal(&carry.chunks, &first)?;
    }
    carry.packed = op_words;
    carry.chunk = chunk;
    carry.chunks = chunks;
    // This step's 16 bytes of pubdata: window `chunk` of the operation.
    let (f0, f1) = (FpVar::from(c0.clone()), FpVar::from(c1.clone()));
    let f01 = FpVar::from(c01);
    for byte in 0..CHUNK_BYTES {
        let mut le = Vec::with_capacity(8);
        for bit in (0..8).rev() {
            let i = 8 * byte + bit;
            let w: Vec<FpVar<F>> = (0..4)
                .map(|k| FpVar::from(bits[k * CHUNK_BITS + i].clone()))
                .collect();
            let v = &w[0]
                + &f0 * (&w[1] - &w[0])
                + &f1 * (&w[2] - &w[0])
                + &f01 * (&w[3] - &w[1] - &w[2] + &w[0]);
            let b = Boolean::new_witness(cs.clone(), || {
                Ok(sw.op[(sw.chunk as usize) * CHUNK_BYTES + byte] >> (7 - bit) & 1 == 1)
            })?;
            FpVar::from(b.clone()).enforce_equal(&v)?;
            le.push(b);
        }
        carry.pubdata.push(UInt8::from_bits_le(&le));
    }
    // Per-type gates: a type's first-step rules, and its second-step rules.
    let g: Vec<Boolean<F>> = s.iter().map(|x| x & &first).collect();
    let g2: Vec<Boolean<F>> = s.iter().map(|x| x & &second).collect();

    let a = UpdateVar::witness(cs.clone(), &sw.a)?;
    let b = UpdateVar::witness(cs.clone(), &sw.b)?;

    // Which slots are used, and how.
    let a_on = any_of(
        cs,
        &[
            &g[CREATE_ACCOUNT],
            &g[DEPOSIT],
            &g[DEPOSIT_REFUND],
            &g[FULL_EXIT],
            &g[CHANGE_PUBKEY],
            &g[SET_PUBKEY],
            &g[TRANSFER],
            &g[WITHDRAW],
            &g[ADD_LIQUIDITY],
            &g[REMOVE_LIQUIDITY],
            &g[SWAP_IN],
            &g[SWAP_OUT],
            &g[CREATE_POOL],
            &g2[ADD_LIQUIDITY],
            &g2[REMOVE_LIQUIDITY],
        ],
    )?;
    // A full exit of an account that does not exist touches no balance.
    let fe_bal = &g[FULL_EXIT] & &!&a.before_empty;
    let a_bal = any_of(
        cs,
        &[
            &g[DEPOSIT],
            &g[DEPOSIT_REFUND],
            &fe_bal,
            &g[CHANGE_PUBKEY],
            &g[TRANSFER],
            &g[WITHDRAW],
            &g[ADD_LIQUIDITY],
            &g[REMOVE_LIQUIDITY],
            &g[SWAP_IN],
            &g[SWAP_OUT],
            &g[CREATE_POOL],
            &g2[ADD_LIQUIDITY],
            &g2[REMOVE_LIQUIDITY],
        ],
    )?;
    let b_account = any_of(cs, &[&g[TRANSFER], &g[CHANGE_PUBKEY]])?;
    let b_pool = any_of(
        cs,
        &[
            &g[ADD_LIQUIDITY],
            &g[REMOVE_LIQUIDITY],
            &g[SWAP_IN],
            &g[SWAP_OUT],
            &g[CREATE_POOL],
            &g[CREATE_POOL_PEER],
        ],
    )?;
    let b_on = any_of(cs, &[&b_account, &b_pool])?;
    let b_bal = g[TRANSFER].clone();
    let signed = any_of(
        cs,
        &[
            &g[TRANSFER],
            &g[WITHDRAW],
            &g[ADD_LIQUIDITY],
            &g[REMOVE_LIQUIDITY],
            &g[SWAP_IN],
            &g[CREATE_POOL],
        ],
    )?;
    let nonce_bump = any_of(cs, &[&signed, &g[CHANGE_PUBKEY]])?;

    // Shape rules shared by every type: accounts below the pool leaves, ordinary tokens for
    // balances touched by the first step, balances within the bound, nonces that do not wrap.
    let max_account = FpVar::constant(F::from(MAX_ACCOUNTS as u64 - 1));
    amount::range_check(&gated(&(&max_account - &a.index), &a_on)?, 24)?;
    amount::range_check(&gated(&(&max_account - &b.index), &b_account)?, 24)?;
    amount::range_check(&gated(&a.balance.after, &a_bal)?, AMOUNT_BITS)?;
    amount::range_check(&gated(&b.balance.after, &b_bal)?, AMOUNT_BITS)?;
    let nonce_bits = amount::range_check(&gated(&a.before[2], &nonce_bump)?, 32)?;
    amount::range_check(&gated(&a.after[2], &nonce_bump)?, 32)?;
    let ordinary = any_of(
        cs,
        &[
            &g[DEPOSIT],
            &g[DEPOSIT_REFUND],
            &g[FULL_EXIT],
            &g[CHANGE_PUBKEY],
            &g[TRANSFER],
            &g[WITHDRAW],
        ],
    )?;
    let max_token = FpVar::constant(F::from(MAX_TOKENS as u64 - 1));
    amount::range_check(&gated(&(&max_token - &a.balance.token), &ordinary)?, 9)?;

    // The link id is packed below the payload in the link header: unchecked, an id of 2^32 + k
    // would read as id k with the payload's lowest field (pool, account) one higher.
    let link_id = FpVar::new_witness(cs.clone(), || Ok(sw.link_id))?;
    amount::range_check(&link_id, 32)?;
    let aux = FpVar::new_witness(cs.clone(), || Ok(F::from(*sw.aux)))?;
    let aux_bits = amount::range_check(&aux, AMOUNT_BITS)?;
    let nonce_hi = le_slice(&nonce_bits, 8, 24);
    let nonce_lo = le_slice(&nonce_bits, 0, 8);

    // The rules of every operation type (one file each under `ops/`), all gated by their type.
    let x = Ctx {
        cs: cs.clone(),
        bits: &bits,
        a,
        b,
        g,
        g2,
        chain_id,
        link_id,
        aux,
        aux_bits,
        max_token,
        nonce_hi,
        nonce_lo,
    };
    let pending = std::mem::replace(&mut carry.pending, (FpVar::zero(), FpVar::zero()));
    let mut out = Acc::new(pending);
    ops::rules(&x, &mut out)?;
    let Acc {
        fee,
        fee_token,
        m1,
        m2,
        link,
        pending,
    } = out;
    carry.pending = pending;
    let (a, b, g) = (&x.a, &x.b, &x.g);
    let nonce = &a.before[2];

    carry.root = a.apply(&carry.root, &a_on, &a_bal)?;
    carry.root = b.apply(&carry.root, &b_on, &b_bal)?;

    // Signature over the signed message, by the account's key. CreatePool's message is one
    // field element (20 bytes): 0x09 chain acc3 pool2 token2 peer_chain1 peer_token2 fee_bps2
    // fee2 nonce4.
    let cp_msg = FpVar::constant(F::from(code::CREATE_POOL) * p2(152))
        + chain_id * p2(144)
        + x.f(1, 3) * p2(120)
        + x.f(4, 2) * p2(104)
        + x.f(6, 2) * p2(88)
        + x.f(8, 1) * p2(80)
        + x.f(9, 2) * p2(64)
        + x.f(11, 2) * p2(48)
        + x.f(13, 2) * p2(32)
        + nonce;
    // The domain comes first, as in the native `L2Tx::message_hash`: a signature for another
    // deployment (same chain ids, same nonces) hashes to another message.
    let two_chunk = poseidon::hash(&[domain.clone(), m1, m2])?;
    let one_chunk = poseidon::hash(&[domain.clone(), cp_msg])?;
    let msg = g[CREATE_POOL].select(&one_chunk, &two_chunk)?;
    let sig = match &sw.signature {
        Some(sig) => SignatureVar::witness(cs.clone(), sig)?,
        None => SignatureVar::empty(cs.clone())?,
    };
    sig.verify(&msg, &signed)?;
    sig.pubkey_hash()?
        .conditional_enforce_equal(&a.before[1], &signed)?;
    enforce_nonzero(cs, &a.before[1], &signed)?;

    // Fees go to one of the block's fee slots (same token), summed for settlement.
    let mut chosen = FpVar::zero();
    for (j, (token, sum)) in fee_tokens.iter().zip(carry.fee_sums.iter_mut()).enumerate() {
        let f = Boolean::new_witness(cs.clone(), || Ok(sw.fee_slot == Some(j)))?;
        (token - &fee_token).conditional_enforce_equal(&FpVar::zero(), &f)?;
        *sum = &*sum + FpVar::from(f.clone()) * &fee;
        chosen += FpVar::from(f);
    }
    amount::range_check(&chosen, 1)?;
    (&fee * (one.clone() - &chosen)).enforce_equal(&FpVar::zero())?;

    // Links: fold this step's link, with ids strictly increasing on this chain.
    let emits = any_of(
        cs,
        &[
            &g[CREATE_ACCOUNT],
            &g[CHANGE_PUBKEY],
            &g[SET_PUBKEY],
            &g[SWAP_IN],
            &g[SWAP_OUT],
            &g[CREATE_POOL],
            &g[CREATE_POOL_PEER],
        ],
    )?;
    at_least(&x.link_id, &carry.next_link_id, 32, &emits)?;
    carry.next_link_id = emits.select(&(&x.link_id + &one), &carry.next_link_id)?;
    let [l0, l1, l2, l3] = link;
    let next = poseidon::hash(&[carry.links.clone(), l0, l1, l2, l3])?;
    carry.links = emits.select(&next, &carry.links)?;
    Ok(())
}
