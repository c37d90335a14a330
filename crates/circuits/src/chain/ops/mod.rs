//! The rules of each operation type, one file per type, each gated by its type's selector so
//! that every step carries them all (docs/CIRCUITS.md). A rule file reads the step through
//! [`Ctx`] (the op's bits, the A and B leaf updates, the per-type gates) and adds what the rest
//! of the step needs — fee, signed message, link, a two-step op's pending credit — to [`Acc`].
//! The order of the calls in [`rules`] is the order of the circuit's constraints (the keys'
//! fingerprint depends on it).

use super::*;

mod add_liquidity;
mod change_pubkey;
mod create_account;
mod create_pool;
mod deposit;
mod deposit_refund;
mod full_exit;
mod pool;
mod remove_liquidity;
mod set_pubkey;
mod swap_in;
mod swap_out;
mod transfer;
mod withdraw;

use pool::Pool;

/// Every operation type's rules for one step.
pub(super) fn rules(x: &Ctx, out: &mut Acc) -> Result<(), SynthesisError> {
    create_account::rules(x, out)?;
    deposit::rules(x)?;
    deposit_refund::rules(x)?;
    full_exit::rules(x)?;
    change_pubkey::rules(x, out)?;
    set_pubkey::rules(x, out)?;
    transfer::rules(x, out)?;
    withdraw::rules(x, out)?;
    let p = pool::half(x)?;
    add_liquidity::rules(x, &p, out)?;
    remove_liquidity::rules(x, &p, out)?;
    swap_in::rules(x, &p, out)?;
    swap_out::rules(x, &p, out)?;
    create_pool::rules(x, out)
}

/// Everything a step's rules read.
pub(super) struct Ctx<'a> {
    pub(super) cs: ConstraintSystemRef<F>,
    /// The operation's bytes as bits, most significant bit of byte 0 first.
    pub(super) bits: &'a [Boolean<F>],
    /// The step's first leaf update (the signer's account, or the account an op is about).
    pub(super) a: UpdateVar,
    /// Its second (a transfer's recipient, a key's account leaf, a pool leaf).
    pub(super) b: UpdateVar,
    /// Per type: on in the op's first step.
    pub(super) g: Vec<Boolean<F>>,
    /// Per type: on in the op's second step.
    pub(super) g2: Vec<Boolean<F>>,
    pub(super) chain_id: &'a FpVar<F>,
    /// The step's link id (range-checked to 32 bits by the step).
    pub(super) link_id: FpVar<F>,
    /// The signed-only value (a minimum output or minimum shares), and its 112 bits.
    pub(super) aux: FpVar<F>,
    pub(super) aux_bits: Vec<Boolean<F>>,
    pub(super) max_token: FpVar<F>,
    /// The signer's nonce above and below its lowest byte (for 32-byte message layouts).
    pub(super) nonce_hi: FpVar<F>,
    pub(super) nonce_lo: FpVar<F>,
}

impl Ctx<'_> {
    /// The per-type gate of type `k`'s first step, as a field element.
    fn gf(&self, k: usize) -> FpVar<F> {
        FpVar::from(self.g[k].clone())
    }

    /// A link header: kind, this step's link id, payload.
    fn hdr_of(&self, kind: FpVar<F>, payload: FpVar<F>) -> FpVar<F> {
        kind + &self.link_id * p2(8) + payload * p2(40)
    }

    /// A link header of a fixed kind.
    fn hdr(&self, kind: u8, payload: FpVar<F>) -> FpVar<F> {
        self.hdr_of(FpVar::constant(F::from(kind)), payload)
    }

    /// Bytes `[off, off + n)` of the op as a big-endian number (free).
    pub(super) fn f(&self, off: usize, n: usize) -> FpVar<F> {
        field(self.bits, off, n)
    }

    /// An existing account keeps its address and key (and, without a balance change, its
    /// balances).
    fn keep_identity(
        &self,
        u: &UpdateVar,
        on: &Boolean<F>,
        keep_nonce: bool,
        keep_balances: bool,
    ) -> Result<(), SynthesisError> {
        u.before_empty
            .conditional_enforce_equal(&Boolean::FALSE, on)?;
        u.after[0].conditional_enforce_equal(&u.before[0], on)?;
        u.after[1].conditional_enforce_equal(&u.before[1], on)?;
        if keep_nonce {
            u.after[2].conditional_enforce_equal(&u.before[2], on)?;
        } else {
            u.after[2].conditional_enforce_equal(&(&u.before[2] + FpVar::one()), on)?;
        }
        if keep_balances {
            u.after[3].conditional_enforce_equal(&u.before[3], on)?;
        }
        Ok(())
    }

    /// `u` is the balance change `after = before + delta` of `token` on account `index`.
    fn balance_change(
        &self,
        u: &UpdateVar,
        on: &Boolean<F>,
        index: &FpVar<F>,
        token: &FpVar<F>,
        delta: &FpVar<F>,
    ) -> Result<(), SynthesisError> {
        u.index.conditional_enforce_equal(index, on)?;
        u.balance.token.conditional_enforce_equal(token, on)?;
        u.balance
            .after
            .conditional_enforce_equal(&(&u.balance.before + delta), on)
    }
}

/// What the rules hand back to the step (each a sum over types of gate × value: at most one type
/// is on).
pub(super) struct Acc {
    /// Fee of this op (0 for unsigned ones) and its token.
    pub(super) fee: FpVar<F>,
    pub(super) fee_token: FpVar<F>,
    /// The signed message, as (chunk 1, chunk 2) for two-chunk messages.
    pub(super) m1: FpVar<F>,
    pub(super) m2: FpVar<F>,
    /// This step's link, if any: 4 fields.
    pub(super) link: [FpVar<F>; 4],
    /// A two-step operation's value for its second step: (amount, balance slot).
    pub(super) pending: (FpVar<F>, FpVar<F>),
}

impl Acc {
    pub(super) fn new(pending: (FpVar<F>, FpVar<F>)) -> Acc {
        Acc {
            fee: FpVar::zero(),
            fee_token: FpVar::zero(),
            m1: FpVar::zero(),
            m2: FpVar::zero(),
            link: [FpVar::zero(), FpVar::zero(), FpVar::zero(), FpVar::zero()],
            pending,
        }
    }

    /// Adds `fields` to the step's link when `gate`.
    fn add_link(&mut self, gate: &Boolean<F>, fields: [FpVar<F>; 4]) {
        let gv = FpVar::from(gate.clone());
        for (l, v) in self.link.iter_mut().zip(fields) {
            *l = &*l + &gv * v;
        }
    }
}

/// A pool leaf's meta field split into (token, peer_token, peer_chain, fee_bps), range-checked.
fn split_meta(meta: &FpVar<F>) -> Result<[FpVar<F>; 4], SynthesisError> {
    let bits = amount::range_check(meta, 56)?;
    Ok([
        le_slice(&bits, 0, 16),
        le_slice(&bits, 16, 16),
        le_slice(&bits, 32, 8),
        le_slice(&bits, 40, 16),
    ])
}

fn meta_of(
    token: &FpVar<F>,
    peer_token: &FpVar<F>,
    peer_chain: &FpVar<F>,
    fee_bps: &FpVar<F>,
) -> FpVar<F> {
    token + peer_token * p2(16) + peer_chain * p2(32) + fee_bps * p2(40)
}
