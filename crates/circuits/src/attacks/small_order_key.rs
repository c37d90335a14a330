//! Signatures under a small-order key (review finding 6, low).
//!
//! EdDSA's cofactored check `[8]sB = [8]R + [8]hA` holds for any `s` with `R = s·B` when `A` has
//! small order. An account whose key hash is that of a small-order point (set by a careless
//! wallet: the hash hides the point) could then be spent by anyone, the operator first. The
//! forged block is a transfer out of such an account "signed" with `A` of order 8; its old root
//! is the real state in which the victim set that key hash.

use super::*;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as Fs};
use rollup_crypto::{PublicKey, Signature};
use rollup_state::dev::amount;
use rollup_types::tx::{ChangePubKey, L2Tx, Transfer};

/// Points of small order (2, 4 and 8): `l·P` for points `P` off the prime-order subgroup (the
/// curve's cofactor is 8), each `P` found from an `x` by solving the curve equation for `y`.
pub fn small_order_points() -> Vec<EdwardsAffine> {
    use ark_ec::twisted_edwards::TECurveConfig;
    use ark_ed_on_bn254::EdwardsConfig as C;
    use ark_ff::{Field, PrimeField};
    let mut out: Vec<EdwardsAffine> = Vec::new();
    for x in 1..200u64 {
        let x = F::from(x);
        let y2 =
            (F::from(1u8) - C::COEFF_A * x.square()) / (F::from(1u8) - C::COEFF_D * x.square());
        let Some(y) = y2.sqrt() else { continue };
        let q = EdwardsAffine::new_unchecked(x, y)
            .mul_bigint(<Fs as PrimeField>::MODULUS)
            .into_affine();
        if !q.is_zero() && !out.contains(&q) {
            out.push(q);
        }
    }
    out
}

/// The order of a small-order point.
pub fn order(p: &EdwardsAffine) -> u32 {
    let mut k = 1;
    let mut m = p.into_group();
    while !ark_ff::Zero::is_zero(&m) {
        m += p;
        k += 1;
        assert!(k <= 8, "not of small order");
    }
    k
}

pub(super) fn attack(capacity: usize) -> Attack {
    let cast = Cast::new();
    let state = network(&cast);
    let victim = AccountId(2);
    let t = *small_order_points()
        .iter()
        .find(|p| order(p) == 8)
        .expect("points of order 8 exist");
    let set_key = |pkh| {
        ChangePubKey {
            chain: ChainId(1),
            account: victim,
            new_pubkey_hash: pkh,
            nonce: Nonce(1),
            fee_token: TokenId(0),
            fee: Amount::ZERO,
        }
        .sign(&cast.victim.eth, &cast.victim.domain)
        .expect("well-formed")
    };
    // The real history: the victim sets the small-order key's hash.
    let (_, weak) = block(&state, 2, vec![set_key(PublicKey(t).hash())]);
    // The same history with a real key, so the builder can make the transfer's witness.
    let (_, real) = block(&state, 2, vec![set_key(cast.thief_key.pubkey_hash())]);
    let tx = L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: victim,
        to: cast.attacker.address(),
        token: TokenId(0),
        amount: amount(900_000),
        fee: Amount::ZERO,
        nonce: Nonce(2),
    });
    let (b3, _) = block(&real, 3, vec![cast.thief_key.sign(tx)]);
    let honest = chain_witness(&b3, 0, capacity);
    let mut control_w = honest.clone();
    rechain(&mut control_w);
    let mut w = honest;
    // The victim's leaf holds the small-order key's hash; the "signature" is (T, s·B, s).
    let weak_pkh = PublicKey(t).hash().to_fr();
    let step = &mut w.steps[0];
    let before = step.a.before.as_mut().expect("the sender's leaf exists");
    before[1] = weak_pkh;
    step.a.after[1] = weak_pkh;
    let s = Fs::from(0x5eed_u64);
    step.signature = Some(Signature {
        pubkey: PublicKey(t),
        r: (EdwardsProjective::generator() * s).into_affine(),
        s,
    });
    let mut weak = weak;
    w.old_root = weak.chain_mut(ChainId(1)).expect("chain 1").root();
    rechain(&mut w);
    Attack {
        name: "small_order_key",
        gain: "any balance of an account whose key hash is a small-order point's",
        forged: vec![Witness::Chain(w)],
        control: vec![Witness::Chain(control_w)],
    }
}
