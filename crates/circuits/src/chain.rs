//! The per-chain block circuit: one chain's state transition over a block, one step per pubdata
//! chunk (docs/CIRCUITS.md).
//!
//! Public input: `sha256(chain_id ‖ block_number ‖ old_root ‖ new_root ‖ pubdata_hash ‖
//! links_hash) mod 2^253` ([`public_input`]), where `pubdata_hash` is the SHA-256 of the chain's
//! pubdata zero-padded to the circuit's capacity — what the chain's contract computes from
//! calldata.
//!
//! Operations proven so far: Noop, CreateAccount, Deposit, Transfer, Withdraw (with per-block fee
//! settlement). Any other operation code fails the type selection, so a block containing one is
//! unprovable rather than unchecked; [`ChainWitness::new`] reports it as
//! [`CircuitError::Unsupported`].

use crate::F;
use crate::gadgets::{
    amount::{self, AMOUNT_BITS},
    eddsa::SignatureVar,
    poseidon,
    update::{UpdateVar, UpdateWitness},
};
use ark_crypto_primitives::crh::sha256::constraints::Sha256Gadget;
use ark_ff::PrimeField;
use ark_r1cs_std::{
    GR1CSVar, alloc::AllocVar, boolean::Boolean, convert::ToBitsGadget, eq::EqGadget,
    fields::FieldVar, fields::fp::FpVar, uint8::UInt8,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use rollup_crypto::Signature;
use rollup_crypto::field::fr_to_be_bytes;
use rollup_state::ChainBlock;
use rollup_state::smt::empty_hash;
use rollup_state::witness::Update;
use rollup_types::op::{CHUNK_BYTES, code};
use rollup_types::*;
use sha2::{Digest, Sha256};

/// Bytes of an operation as carried by every step of it (the longest op has 4 chunks).
const OP_BYTES: usize = 4 * CHUNK_BYTES;
const OP_BITS: usize = 8 * OP_BYTES;
const CHUNK_BITS: usize = 8 * CHUNK_BYTES;

/// The operation types this circuit proves: (code, chunks).
const SUPPORTED: [(u8, usize); 5] = [
    (code::NOOP, 1),
    (code::DEPOSIT, 3),
    (code::TRANSFER, 1),
    (code::WITHDRAW, 3),
    (code::CREATE_ACCOUNT, 2),
];
const NOOP: usize = 0;
const DEPOSIT: usize = 1;
const TRANSFER: usize = 2;
const WITHDRAW: usize = 3;
const CREATE_ACCOUNT: usize = 4;

/// Why a block cannot be turned into a circuit witness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CircuitError {
    /// The block was built without recording its witness.
    #[error("the block carries no witness (build it with BuildOptions {{ witness: true }})")]
    NoWitness,
    /// An operation the circuit does not prove yet.
    #[error("operation 0x{0:02x} is not provable by this circuit version")]
    Unsupported(u8),
    /// The chain's pubdata does not fit the capacity.
    #[error("{used} chunks do not fit a capacity of {capacity}")]
    TooLarge {
        /// Chunks used.
        used: usize,
        /// The circuit's capacity.
        capacity: usize,
    },
    /// More fee tokens than fee slots (the builder prevents this).
    #[error("more than {FEE_TOKENS_PER_BLOCK} fee tokens")]
    FeeSlots,
}

/// One step's native values.
#[derive(Clone, Debug)]
pub struct StepWitness {
    op: [u8; OP_BYTES],
    chunk: u8,
    a: UpdateWitness,
    b: UpdateWitness,
    signature: Option<Signature>,
    fee_slot: Option<usize>,
    link_id: u32,
}

impl StepWitness {
    fn noop() -> Self {
        StepWitness {
            op: [0; OP_BYTES],
            chunk: 0,
            a: UpdateWitness::padding(),
            b: UpdateWitness::padding(),
            signature: None,
            fee_slot: None,
            link_id: 0,
        }
    }
}

/// The native values of a whole chain circuit.
#[derive(Clone, Debug)]
pub struct ChainWitness {
    /// Chain.
    pub chain: ChainId,
    /// Block number.
    pub block_number: BlockNumber,
    /// Root before the block.
    pub old_root: F,
    /// Root after the block.
    pub new_root: F,
    /// The links hash.
    pub links_hash: F,
    /// The capacity-padded pubdata.
    pub pubdata: Vec<u8>,
    steps: Vec<StepWitness>,
    fees: Vec<(u16, u128, UpdateWitness)>,
}

impl ChainWitness {
    /// The witness of chain block `cb` of block `number` for a circuit of `capacity` chunks.
    pub fn new(
        cb: &ChainBlock,
        number: BlockNumber,
        capacity: usize,
    ) -> Result<Self, CircuitError> {
        let ops = cb.witness.as_ref().ok_or(CircuitError::NoWitness)?;
        let fee_updates = cb.fee_witness.as_ref().ok_or(CircuitError::NoWitness)?;
        let used: usize = ops.iter().map(|o| o.op.chunks()).sum();
        if used > capacity {
            return Err(CircuitError::TooLarge { used, capacity });
        }
        if fee_updates.len() > FEE_TOKENS_PER_BLOCK {
            return Err(CircuitError::FeeSlots);
        }
        let mut fees: Vec<(u16, u128, UpdateWitness)> = fee_updates
            .iter()
            .map(|u| match u {
                Update::Account {
                    balance: Some(b), ..
                } => (
                    b.token.0,
                    b.after.get() - b.before.get(),
                    UpdateWitness::from_update(u),
                ),
                _ => unreachable!("fee settlement updates carry a balance change"),
            })
            .collect();
        while fees.len() < FEE_TOKENS_PER_BLOCK {
            fees.push((0, 0, UpdateWitness::padding()));
        }
        let slot_of = |token: TokenId, fee: Amount| {
            (!fee.is_zero())
                .then(|| fees.iter().position(|f| f.0 == token.0 && f.1 > 0))
                .flatten()
        };
        let mut link_ids = cb
            .links
            .iter()
            .filter(|l| matches!(l, Link::CreateAccount { .. }))
            .map(Link::id);
        let mut steps = Vec::with_capacity(capacity);
        for w in ops {
            let code = w.op.code();
            if !SUPPORTED.iter().any(|(c, _)| *c == code) {
                return Err(CircuitError::Unsupported(code));
            }
            let mut bytes = [0u8; OP_BYTES];
            let pd = w.op.to_pubdata();
            bytes[..pd.len()].copy_from_slice(&pd);
            let upd = |i: usize| {
                w.updates
                    .get(i)
                    .map_or_else(UpdateWitness::padding, UpdateWitness::from_update)
            };
            let fee_slot = match &w.op {
                Op::Transfer { token, fee, .. } | Op::Withdraw { token, fee, .. } => {
                    slot_of(*token, *fee)
                }
                _ => None,
            };
            let link_id = match w.op {
                Op::CreateAccount { .. } => link_ids.next().expect("each creation emits a link"),
                _ => 0,
            };
            for chunk in 0..w.op.chunks() {
                let first = chunk == 0;
                steps.push(StepWitness {
                    op: bytes,
                    chunk: chunk as u8,
                    a: if first {
                        upd(0)
                    } else {
                        UpdateWitness::padding()
                    },
                    b: if first {
                        upd(1)
                    } else {
                        UpdateWitness::padding()
                    },
                    signature: if first { w.signature } else { None },
                    fee_slot: if first { fee_slot } else { None },
                    link_id,
                });
            }
        }
        steps.resize(capacity, StepWitness::noop());
        let mut pubdata = cb.pubdata.clone();
        pubdata.resize(capacity * CHUNK_BYTES, 0);
        Ok(ChainWitness {
            chain: cb.chain,
            block_number: number,
            old_root: cb.old_root,
            new_root: cb.new_root,
            links_hash: cb.links_hash,
            pubdata,
            steps,
            fees,
        })
    }

    /// The public input of this chain's proof.
    pub fn public_input(&self) -> F {
        public_input(
            self.chain,
            self.block_number,
            &self.old_root,
            &self.new_root,
            &Sha256::digest(&self.pubdata).into(),
            &self.links_hash,
        )
    }
}

/// `sha256(chain_id ‖ block_number ‖ old_root ‖ new_root ‖ pubdata_hash ‖ links_hash) mod 2^253`
/// — the one public input of a chain proof, recomputed by the contracts.
pub fn public_input(
    chain: ChainId,
    number: BlockNumber,
    old_root: &F,
    new_root: &F,
    pubdata_hash: &[u8; 32],
    links_hash: &F,
) -> F {
    let mut h = Sha256::new();
    h.update([chain.0]);
    h.update(number.0.to_be_bytes());
    h.update(fr_to_be_bytes(old_root));
    h.update(fr_to_be_bytes(new_root));
    h.update(pubdata_hash);
    h.update(fr_to_be_bytes(links_hash));
    truncate_253(&h.finalize().into())
}

fn truncate_253(digest: &[u8; 32]) -> F {
    let mut d = *digest;
    d[0] &= 0x1f;
    F::from_be_bytes_mod_order(&d)
}

/// The circuit for one capacity; `witness: None` for key generation.
#[derive(Clone, Debug)]
pub struct ChainCircuit {
    /// Steps (chunks).
    pub capacity: usize,
    /// Values, when proving.
    pub witness: Option<ChainWitness>,
}

/// Big-endian number from bits (most significant first): a linear combination, free.
fn be_num(bits: &[Boolean<F>]) -> FpVar<F> {
    let mut acc = FpVar::zero();
    for b in bits {
        acc = acc.double().expect("doubling an LC never fails") + FpVar::from(b.clone());
    }
    acc
}

/// Bytes `[off, off + n)` of an op as a big-endian number.
fn field(bits: &[Boolean<F>], off: usize, n: usize) -> FpVar<F> {
    be_num(&bits[8 * off..8 * (off + n)])
}

/// A packed amount at byte `off` (5 bytes) or a packed fee (2 bytes), unpacked.
fn packed(bits: &[Boolean<F>], off: usize, n: usize) -> Result<FpVar<F>, SynthesisError> {
    let mut le: Vec<Boolean<F>> = bits[8 * off..8 * (off + n)].to_vec();
    le.reverse();
    amount::unpack(&le, 5)
}

/// A Boolean equal to a sum of mutually exclusive Booleans.
fn any_of(
    cs: &ConstraintSystemRef<F>,
    parts: &[&Boolean<F>],
) -> Result<Boolean<F>, SynthesisError> {
    let value = parts
        .iter()
        .try_fold(false, |acc, b| b.value().map(|v| acc | v));
    let out = Boolean::new_witness(cs.clone(), || value)?;
    let sum = parts
        .iter()
        .fold(FpVar::zero(), |acc, b| acc + FpVar::from((*b).clone()));
    FpVar::from(out.clone()).enforce_equal(&sum)?;
    Ok(out)
}

/// `x` when `on`, else 0 (so range checks apply only to enabled values).
fn gated(x: &FpVar<F>, on: &Boolean<F>) -> Result<FpVar<F>, SynthesisError> {
    on.select(x, &FpVar::zero())
}

/// Enforces `x ≠ 0` when `on`.
fn enforce_nonzero(
    cs: &ConstraintSystemRef<F>,
    x: &FpVar<F>,
    on: &Boolean<F>,
) -> Result<(), SynthesisError> {
    // x·inv = on: when off, inv = 0 satisfies it whatever x is.
    let inv = FpVar::new_witness(cs.clone(), || {
        let active = on.value().unwrap_or(false);
        Ok(x.value()
            .ok()
            .filter(|_| active)
            .and_then(|v| ark_ff::Field::inverse(&v))
            .unwrap_or_default())
    })?;
    x.mul_equals(&inv, &FpVar::from(on.clone()))
}

/// Field element → 32 big-endian bytes (canonical decomposition).
fn be_bytes(x: &FpVar<F>) -> Result<Vec<UInt8<F>>, SynthesisError> {
    let mut bits = x.to_bits_le()?;
    bits.resize(256, Boolean::FALSE);
    Ok(bits.chunks(8).rev().map(UInt8::from_bits_le).collect())
}

/// `n` low bytes of a small number, big-endian (range-checked to `8n` bits).
fn small_be_bytes(x: &FpVar<F>, n: usize) -> Result<Vec<UInt8<F>>, SynthesisError> {
    let bits = amount::range_check(x, 8 * n)?;
    Ok(bits.chunks(8).rev().map(UInt8::from_bits_le).collect())
}

/// Values carried from step to step.
struct Carry {
    root: FpVar<F>,
    packed: [FpVar<F>; 3],
    chunk: FpVar<F>,
    chunks: FpVar<F>,
    fee_sums: Vec<FpVar<F>>,
    links: FpVar<F>,
    pubdata: Vec<UInt8<F>>,
}

impl ConstraintSynthesizer<F> for ChainCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
        let w = self.witness.as_ref();
        let get =
            |f: &dyn Fn(&ChainWitness) -> F| w.map(f).ok_or(SynthesisError::AssignmentMissing);
        let public = FpVar::new_input(cs.clone(), || get(&|w| w.public_input()))?;
        let chain_id = FpVar::new_witness(cs.clone(), || get(&|w| F::from(w.chain.0)))?;
        let number = FpVar::new_witness(cs.clone(), || get(&|w| F::from(w.block_number.0)))?;
        let old_root = FpVar::new_witness(cs.clone(), || get(&|w| w.old_root))?;
        let fee_tokens = (0..FEE_TOKENS_PER_BLOCK)
            .map(|j| FpVar::new_witness(cs.clone(), || get(&|w| F::from(w.fees[j].0))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut carry = Carry {
            root: old_root.clone(),
            packed: [FpVar::zero(), FpVar::zero(), FpVar::zero()],
            chunk: FpVar::zero(),
            chunks: FpVar::one(),
            fee_sums: vec![FpVar::zero(); FEE_TOKENS_PER_BLOCK],
            links: FpVar::zero(),
            pubdata: Vec::with_capacity(self.capacity * CHUNK_BYTES),
        };
        let noop = StepWitness::noop();
        for i in 0..self.capacity {
            let sw = w.map_or(&noop, |w| &w.steps[i]);
            step(&cs, sw, i == 0, &chain_id, &fee_tokens, &mut carry)?;
        }
        // The block ends at an operation boundary.
        (&carry.chunk + FpVar::one()).enforce_equal(&carry.chunks)?;
        // Settle the fees: one fee-account update per used slot.
        for (j, token) in fee_tokens.iter().enumerate() {
            let pad = UpdateWitness::padding();
            let u = UpdateVar::witness(cs.clone(), w.map_or(&pad, |w| &w.fees[j].2))?;
            let on = !carry.fee_sums[j].is_zero()?;
            u.index.conditional_enforce_equal(&FpVar::zero(), &on)?;
            u.before_empty
                .conditional_enforce_equal(&Boolean::FALSE, &on)?;
            for f in 0..3 {
                u.after[f].conditional_enforce_equal(&u.before[f], &on)?;
            }
            u.balance.token.conditional_enforce_equal(token, &on)?;
            u.balance
                .after
                .conditional_enforce_equal(&(&u.balance.before + &carry.fee_sums[j]), &on)?;
            amount::amount(&gated(&u.balance.after, &on)?)?;
            carry.root = u.apply(&carry.root, &on, &on)?;
        }
        let new_root = carry.root;
        // The public input.
        let pubdata_hash = Sha256Gadget::digest(&carry.pubdata)?;
        let mut pre = small_be_bytes(&chain_id, 1)?;
        pre.extend(small_be_bytes(&number, 4)?);
        pre.extend(be_bytes(&old_root)?);
        pre.extend(be_bytes(&new_root)?);
        pre.extend(pubdata_hash.0);
        pre.extend(be_bytes(&carry.links)?);
        let digest = Sha256Gadget::digest(&pre)?;
        let mut bits: Vec<Boolean<F>> = digest
            .0
            .iter()
            .rev()
            .flat_map(|b| b.to_bits_le().expect("bits of a byte"))
            .collect();
        bits.truncate(253);
        Boolean::le_bits_to_fp(&bits)?.enforce_equal(&public)
    }
}

#[allow(clippy::too_many_arguments)]
fn step(
    cs: &ConstraintSystemRef<F>,
    sw: &StepWitness,
    first_step: bool,
    chain_id: &FpVar<F>,
    fee_tokens: &[FpVar<F>],
    carry: &mut Carry,
) -> Result<(), SynthesisError> {
    let one = FpVar::<F>::one();
    // The operation's bits, most significant bit of byte 0 first.
    let bits = (0..OP_BITS)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(sw.op[i / 8] >> (7 - i % 8) & 1 == 1)))
        .collect::<Result<Vec<_>, _>>()?;
    // Operation type: one-hot selectors matching the code byte.
    let code = field(&bits, 0, 1);
    let op_code = sw.op[0];
    let s = SUPPORTED
        .iter()
        .map(|(c, _)| Boolean::new_witness(cs.clone(), || Ok(*c == op_code)))
        .collect::<Result<Vec<_>, _>>()?;
    let sel = |k: usize| FpVar::from(s[k].clone());
    (0..s.len())
        .map(sel)
        .fold(FpVar::zero(), |a, b| a + b)
        .enforce_equal(&one)?;
    SUPPORTED
        .iter()
        .enumerate()
        .fold(FpVar::zero(), |a, (k, (c, _))| a + sel(k) * F::from(*c))
        .enforce_equal(&code)?;
    let chunks = SUPPORTED
        .iter()
        .enumerate()
        .fold(FpVar::zero(), |a, (k, (_, n))| {
            a + sel(k) * F::from(*n as u64)
        });
    // Position within the operation, and continuity with the previous step.
    let c0 = Boolean::new_witness(cs.clone(), || Ok(sw.chunk & 1 == 1))?;
    let c1 = Boolean::new_witness(cs.clone(), || Ok(sw.chunk & 2 == 2))?;
    let c01 = &c0 & &c1;
    let chunk = FpVar::from(c0.clone()) + FpVar::from(c1.clone()) * F::from(2u8);
    amount::range_check(&(&chunks - &one - &chunk), 2)?;
    let cont = &c0 | &c1;
    let first = !&cont;
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
    // Per-type gates: the type's rules apply at its first step.
    let g: Vec<Boolean<F>> = s.iter().map(|x| x & &first).collect();
    // Bytes past the operation's length are zero (the decoder rejects anything else).
    for (k, len) in [
        (NOOP, 1),
        (DEPOSIT, 40),
        (TRANSFER, 16),
        (WITHDRAW, 46),
        (CREATE_ACCOUNT, 24),
    ] {
        for tail in bits[8 * len..].chunks(248) {
            be_num(tail).conditional_enforce_equal(&FpVar::zero(), &s[k])?;
        }
    }
    // Fields, per type (byte offsets in docs/PROTOCOL.md).
    let t_from = field(&bits, 1, 3);
    let t_to = field(&bits, 4, 3);
    let t_token = field(&bits, 7, 2);
    let t_amount = packed(&bits, 9, 5)?;
    let t_fee = packed(&bits, 14, 2)?;
    let d_account = field(&bits, 1, 3);
    let d_token = field(&bits, 4, 2);
    let d_amount = field(&bits, 6, 14);
    let d_to = field(&bits, 20, 20);
    let w_account = field(&bits, 1, 3);
    let w_token = field(&bits, 4, 2);
    let w_amount = field(&bits, 6, 14);
    let w_fee = packed(&bits, 20, 2)?;
    let w_to = field(&bits, 22, 20);
    let w_nonce = field(&bits, 42, 4);
    let c_account = field(&bits, 1, 3);
    let c_address = field(&bits, 4, 20);

    // Leaf updates.
    let a = UpdateVar::witness(cs.clone(), &sw.a)?;
    let b = UpdateVar::witness(cs.clone(), &sw.b)?;
    let a_bal = any_of(cs, &[&g[DEPOSIT], &g[TRANSFER], &g[WITHDRAW]])?;
    let a_on = any_of(
        cs,
        &[&g[DEPOSIT], &g[TRANSFER], &g[WITHDRAW], &g[CREATE_ACCOUNT]],
    )?;
    let b_on = g[TRANSFER].clone();
    let signed = any_of(cs, &[&g[TRANSFER], &g[WITHDRAW]])?;
    // Account indices stay below the pool leaves; tokens are ordinary tokens.
    let max_account = FpVar::constant(F::from(MAX_ACCOUNTS as u64 - 1));
    amount::range_check(&gated(&(&max_account - &a.index), &a_on)?, 24)?;
    amount::range_check(&gated(&(&max_account - &b.index), &b_on)?, 24)?;
    let max_token = FpVar::constant(F::from(MAX_TOKENS as u64 - 1));
    amount::range_check(&gated(&(&max_token - &a.balance.token), &a_bal)?, 9)?;
    // Balances after an update stay within the amount bound (no overdraft, no overflow).
    amount::range_check(&gated(&a.balance.after, &a_bal)?, AMOUNT_BITS)?;
    amount::range_check(&gated(&b.balance.after, &b_on)?, AMOUNT_BITS)?;
    // Nonces do not wrap.
    amount::range_check(&gated(&a.after[2], &signed)?, 32)?;

    // CreateAccount: an empty leaf becomes (address, no key, nonce 0, empty balances).
    let gc = &g[CREATE_ACCOUNT];
    a.index.conditional_enforce_equal(&c_account, gc)?;
    a.before_empty
        .conditional_enforce_equal(&Boolean::TRUE, gc)?;
    a.after[0].conditional_enforce_equal(&c_address, gc)?;
    a.after[1].conditional_enforce_equal(&FpVar::zero(), gc)?;
    a.after[2].conditional_enforce_equal(&FpVar::zero(), gc)?;
    a.after[3].conditional_enforce_equal(&FpVar::constant(empty_hash(BALANCE_TREE_DEPTH)), gc)?;
    enforce_nonzero(cs, &c_address, gc)?;

    // Operations on an existing account keep its address and key.
    let existing = any_of(cs, &[&g[DEPOSIT], &g[TRANSFER], &g[WITHDRAW]])?;
    a.before_empty
        .conditional_enforce_equal(&Boolean::FALSE, &existing)?;
    a.after[0].conditional_enforce_equal(&a.before[0], &existing)?;
    a.after[1].conditional_enforce_equal(&a.before[1], &existing)?;

    // Deposit: credit the owner's balance.
    let gd = &g[DEPOSIT];
    a.index.conditional_enforce_equal(&d_account, gd)?;
    a.before[0].conditional_enforce_equal(&d_to, gd)?;
    a.after[2].conditional_enforce_equal(&a.before[2], gd)?;
    a.balance.token.conditional_enforce_equal(&d_token, gd)?;
    a.balance
        .after
        .conditional_enforce_equal(&(&a.balance.before + &d_amount), gd)?;

    // Transfer: debit amount + fee and bump the nonce, credit the recipient.
    let gt = &g[TRANSFER];
    a.index.conditional_enforce_equal(&t_from, gt)?;
    a.after[2].conditional_enforce_equal(&(&a.before[2] + &one), gt)?;
    a.balance.token.conditional_enforce_equal(&t_token, gt)?;
    a.balance
        .after
        .conditional_enforce_equal(&(&a.balance.before - &t_amount - &t_fee), gt)?;
    b.index.conditional_enforce_equal(&t_to, gt)?;
    b.before_empty
        .conditional_enforce_equal(&Boolean::FALSE, gt)?;
    for f in 0..3 {
        b.after[f].conditional_enforce_equal(&b.before[f], gt)?;
    }
    b.balance.token.conditional_enforce_equal(&t_token, gt)?;
    b.balance
        .after
        .conditional_enforce_equal(&(&b.balance.before + &t_amount), gt)?;

    // Withdraw: debit amount + fee, the signed nonce is the account's.
    let gw = &g[WITHDRAW];
    a.index.conditional_enforce_equal(&w_account, gw)?;
    a.before[2].conditional_enforce_equal(&w_nonce, gw)?;
    a.after[2].conditional_enforce_equal(&(&a.before[2] + &one), gw)?;
    a.balance.token.conditional_enforce_equal(&w_token, gw)?;
    a.balance
        .after
        .conditional_enforce_equal(&(&a.balance.before - &w_amount - &w_fee), gw)?;

    carry.root = a.apply(&carry.root, &a_on, &a_bal)?;
    carry.root = b.apply(&carry.root, &b_on, &b_on)?;

    // Signature over the signed message (docs/PROTOCOL.md), by the account's key.
    let gtf = FpVar::from(gt.clone());
    let gwf = FpVar::from(gw.clone());
    let p = |e: u32| F::from(2u8).pow([e as u64]);
    use ark_ff::Field;
    // Transfer: 0x04 chain from3 to_address20 token2 amount5 fee2 nonce4 (38 bytes).
    let t_fee_raw = field(&bits, 14, 2);
    let t_amt_hi = field(&bits, 9, 4);
    let t_amt_lo = field(&bits, 13, 1);
    let t_m1 = FpVar::constant(F::from(code::TRANSFER) * p(240))
        + chain_id * p(232)
        + &t_from * p(208)
        + &b.before[0] * p(48)
        + &t_token * p(32)
        + t_amt_hi;
    let t_m2 = t_amt_lo * p(48) + t_fee_raw * p(32) + &a.before[2];
    // Withdraw: 0x05 chain account3 to20 token2 amount14 fee2 nonce4 (47 bytes).
    let w_m1 = FpVar::constant(F::from(code::WITHDRAW) * p(240))
        + chain_id * p(232)
        + &w_account * p(208)
        + &w_to * p(48)
        + &w_token * p(32)
        + field(&bits, 6, 4);
    let w_m2 = field(&bits, 10, 10) * p(48) + field(&bits, 20, 2) * p(32) + &w_nonce;
    let m1 = &gtf * &t_m1 + &gwf * &w_m1;
    let m2 = &gtf * &t_m2 + &gwf * &w_m2;
    let msg = poseidon::hash(&[m1, m2])?;
    let sig = match &sw.signature {
        Some(sig) => SignatureVar::witness(cs.clone(), sig)?,
        None => SignatureVar::empty(cs.clone())?,
    };
    sig.verify(&msg, &signed)?;
    sig.pubkey_hash()?
        .conditional_enforce_equal(&a.before[1], &signed)?;
    enforce_nonzero(cs, &a.before[1], &signed)?;

    // Fees go to one of the block's fee slots (same token), summed for settlement.
    let fee = &gtf * &t_fee + &gwf * &w_fee;
    let fee_token = &gtf * &t_token + &gwf * &w_token;
    let mut chosen = FpVar::zero();
    for (j, (token, sum)) in fee_tokens.iter().zip(carry.fee_sums.iter_mut()).enumerate() {
        let f = Boolean::new_witness(cs.clone(), || Ok(sw.fee_slot == Some(j)))?;
        (token - &fee_token).conditional_enforce_equal(&FpVar::zero(), &f)?;
        *sum = &*sum + FpVar::from(f.clone()) * &fee;
        chosen += FpVar::from(f);
    }
    // A fee must land in exactly one slot (and the selection is at most one slot).
    amount::range_check(&chosen, 1)?;
    (&fee * (one.clone() - &chosen)).enforce_equal(&FpVar::zero())?;

    // Links: an account creation is broadcast, so it is linked for the binding circuit.
    let link_id = FpVar::new_witness(cs.clone(), || Ok(F::from(sw.link_id)))?;
    amount::range_check(&link_id, 32)?;
    let header = FpVar::constant(F::from(3u8)) + &link_id * p(8) + &c_account * p(40);
    let next = poseidon::hash(&[
        carry.links.clone(),
        header,
        c_address,
        FpVar::zero(),
        FpVar::zero(),
    ])?;
    carry.links = gc.select(&next, &carry.links)?;
    Ok(())
}

/// Supported operation codes (for documentation and tests).
pub fn supported_codes() -> Vec<u8> {
    SUPPORTED.iter().map(|(c, _)| *c).collect()
}

#[cfg(test)]
mod tests {
    //! Forgeries of one rule each. Every forged witness is made *consistent* everywhere else — the
    //! Merkle paths and roots are recomputed around the forged leaves ([`rechain`]), the public
    //! input is recomputed, and changed messages are re-signed with the real key — so the only
    //! thing wrong is the rule under test. A control run of the same pipeline without forgery is
    //! satisfied.

    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;
    use rollup_crypto::poseidon::hash4;
    use rollup_state::dev::{DevWallet, amount, deposit};
    use rollup_state::smt::MerklePath;
    use rollup_state::*;
    use rollup_types::tx::*;
    use std::collections::HashMap;

    const CAPACITY: usize = 8;
    const C1: ChainId = ChainId(1);

    struct Case {
        block: Block,
        alice: DevWallet,
        carol: Address,
    }

    /// Block 2 on chain 1: one transfer alice → carol (10, fee 1). Bob holds nearly the maximum.
    fn case(transfer_to_bob: bool) -> Case {
        let alice = DevWallet::new(1);
        let bob = DevWallet::new(2).address();
        let carol = DevWallet::new(3).address();
        let mut state = NetworkState::genesis(&NetworkConfig {
            chains: vec![C1, ChainId(2)],
            fee_account: DevWallet::new(0).address(),
        })
        .unwrap();
        let ctx = BlockContext {
            number: BlockNumber(1),
            timestamp: 0,
            prev_sync_hash: [0; 32],
        };
        let setup = vec![
            deposit(1, 0, alice.address(), 0, 1_000_000),
            deposit(1, 1, bob, 0, MAX_AMOUNT - 100),
            deposit(1, 2, carol, 0, 1),
            alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
        ];
        assert!(
            build_block(&mut state, &ctx, setup, BuildOptions::default())
                .rejected
                .is_empty()
        );
        let to = if transfer_to_bob { bob } else { carol };
        let tx = alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to,
            token: TokenId(0),
            amount: amount(10),
            fee: amount(1),
            nonce: Nonce(1),
        }));
        let ctx = BlockContext {
            number: BlockNumber(2),
            timestamp: 1,
            prev_sync_hash: [0; 32],
        };
        let block = build_block(
            &mut state,
            &ctx,
            vec![tx],
            BuildOptions {
                witness: true,
                ..Default::default()
            },
        );
        assert!(block.rejected.is_empty());
        Case {
            block,
            alice,
            carol,
        }
    }

    fn witness(c: &Case) -> ChainWitness {
        ChainWitness::new(&c.block.chains[0], c.block.number, CAPACITY).unwrap()
    }

    fn satisfied(w: ChainWitness) -> bool {
        let cs = ConstraintSystem::<F>::new_ref();
        ChainCircuit {
            capacity: CAPACITY,
            witness: Some(w),
        }
        .generate_constraints(cs.clone())
        .unwrap();
        cs.is_satisfied().unwrap()
    }

    fn place(sibs: &[F; 3], pos: usize, cur: F) -> [F; 4] {
        let mut out = [F::from(0u8); 4];
        let mut it = sibs.iter();
        for (i, o) in out.iter_mut().enumerate() {
            *o = if i == pos { cur } else { *it.next().unwrap() };
        }
        out
    }

    /// Re-derives every path, `before` field and balance root from the (possibly forged) `after`
    /// values, in update order, as a forger would; sets `new_root`.
    fn rechain(w: &mut ChainWitness) {
        type Nodes = HashMap<(usize, u64), F>;
        fn fix_and_root(nodes: &mut Nodes, path: &mut MerklePath, leaf: F, before: F) -> (F, F) {
            let mut idx = path.index;
            let (mut cur_b, mut cur_a) = (before, leaf);
            for (h, sib) in path.siblings.iter_mut().enumerate() {
                let base = idx - idx % 4;
                let mut k = 0;
                for c in base..base + 4 {
                    if c != idx {
                        if let Some(v) = nodes.get(&(h, c)) {
                            sib[k] = *v;
                        }
                        k += 1;
                    }
                }
                let pos = (idx % 4) as usize;
                nodes.insert((h, idx), cur_a);
                cur_b = hash4(&place(sib, pos, cur_b));
                cur_a = hash4(&place(sib, pos, cur_a));
                idx /= 4;
            }
            (cur_b, cur_a)
        }
        let mut state: Nodes = HashMap::new();
        let mut balance_trees: HashMap<u64, Nodes> = HashMap::new();
        let mut leaves: HashMap<u64, [F; 4]> = HashMap::new();
        let mut balances: HashMap<(u64, u64), F> = HashMap::new();
        let mut root = w.old_root;
        let slots = w
            .steps
            .iter_mut()
            .flat_map(|s| [&mut s.a, &mut s.b])
            .chain(w.fees.iter_mut().map(|f| &mut f.2));
        for u in slots.filter(|u| u.real) {
            if let Some(f) = leaves.get(&u.index) {
                u.before = Some(*f);
            }
            if u.has_balance {
                let key = (u.index, u.balance.0);
                if let Some(b) = balances.get(&key) {
                    u.balance.1 = *b;
                }
                let tree = balance_trees.entry(u.index).or_default();
                u.balance.3.index = u.balance.0;
                let (_, after_root) =
                    fix_and_root(tree, &mut u.balance.3, u.balance.2, u.balance.1);
                u.after[3] = after_root;
                balances.insert(key, u.balance.2);
            }
            let before_leaf = u.before.map_or(F::from(0u8), |f| hash4(&f));
            let (before_root, after_root) =
                fix_and_root(&mut state, &mut u.path, hash4(&u.after), before_leaf);
            assert_eq!(
                before_root, root,
                "rechain keeps every membership proof valid"
            );
            root = after_root;
            state.insert((ACCOUNT_TREE_DEPTH, 0), root);
            leaves.insert(u.index, u.after);
        }
        w.new_root = root;
    }

    /// Rewrites the transfer's op bytes (and the block pubdata) with `amount`, re-signed.
    fn set_transfer_amount(c: &Case, w: &mut ChainWitness, value: u128, to: Address) {
        let a = amount(value);
        let s = &mut w.steps[0];
        s.op[9..14].copy_from_slice(&rollup_types::amount::pack_amount(a).unwrap());
        w.pubdata[..CHUNK_BYTES].copy_from_slice(&s.op[..CHUNK_BYTES]);
        let tx = L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to,
            token: TokenId(0),
            amount: a,
            fee: amount(1),
            nonce: Nonce(1),
        });
        s.signature = Some(c.alice.l2.sign(tx.message_hash().unwrap()));
    }

    #[test]
    fn control_rechained_honest_witness_is_satisfied() {
        let c = case(false);
        let mut w = witness(&c);
        rechain(&mut w);
        assert_eq!(w.new_root, c.block.chains[0].new_root);
        assert!(satisfied(w));
    }

    #[test]
    fn forged_signature_is_rejected() {
        let c = case(false);
        let mut w = witness(&c);
        let msg = F::from(77u8);
        w.steps[0].signature = Some(c.alice.l2.sign(msg)); // alice's key, wrong message
        assert!(!satisfied(w));
        let mut w = witness(&c);
        let mallory = DevWallet::new(9);
        let tx = L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: c.carol,
            token: TokenId(0),
            amount: amount(10),
            fee: amount(1),
            nonce: Nonce(1),
        });
        w.steps[0].signature = Some(mallory.l2.sign(tx.message_hash().unwrap())); // right message, wrong key
        assert!(!satisfied(w));
    }

    #[test]
    fn wrong_nonce_is_rejected() {
        let c = case(false);
        let mut w = witness(&c);
        w.steps[0].a.after[2] += F::from(1u8); // nonce + 2
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn overdraft_is_rejected() {
        let c = case(false);
        let mut w = witness(&c);
        set_transfer_amount(&c, &mut w, 2_000_000, c.carol);
        // Debit more than the balance (the field wraps), credit the recipient accordingly.
        w.steps[0].a.balance.2 = w.steps[0].a.balance.1 - F::from(2_000_001u64);
        w.steps[0].b.balance.2 = w.steps[0].b.balance.1 + F::from(2_000_000u64);
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn overflowing_credit_is_rejected() {
        let c = case(true);
        let bob = DevWallet::new(2).address();
        let mut w = witness(&c);
        set_transfer_amount(&c, &mut w, 1000, bob);
        w.steps[0].a.balance.2 = w.steps[0].a.balance.1 - F::from(1001u64);
        w.steps[0].b.balance.2 = w.steps[0].b.balance.1 + F::from(1000u64); // past 2^112 − 1
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn wrong_merkle_path_is_rejected() {
        let c = case(false);
        let mut w = witness(&c);
        w.steps[0].b.path.siblings[3][1] += F::from(1u8);
        assert!(!satisfied(w));
    }

    #[test]
    fn wrong_old_root_is_rejected() {
        let c = case(false);
        let mut w = witness(&c);
        w.old_root += F::from(1u8);
        assert!(!satisfied(w));
    }

    #[test]
    fn tampered_pubdata_is_rejected() {
        let c = case(false);
        // The published recipient differs from the account the updates credit.
        let mut w = witness(&c);
        w.steps[0].op[6] ^= 1;
        w.pubdata[6] ^= 1;
        assert!(!satisfied(w));
        // The published chunk differs from the operation the step executed.
        let mut w = witness(&c);
        w.pubdata[3] ^= 0x80;
        assert!(!satisfied(w));
    }
}
