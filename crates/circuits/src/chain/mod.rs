//! The per-chain block circuit: one sub-block of one chain's part of a block, one step per
//! pubdata chunk (docs/CIRCUITS.md).
//!
//! A chain's part of a block is split greedily into sub-blocks of the circuit's capacity
//! ([`rollup_types::op::sub_blocks`]), each proven on its own, so a block may be far larger than
//! one proof. Public input: `sha256(domain ‖ chain_id ‖ block_number ‖ last ‖ old_root ‖ new_root
//! ‖ pubdata_hash ‖ carry_in ‖ carry_out) mod 2^253` ([`public_input`]), where `domain` is the
//! deployment domain every signature's message hash starts with, `pubdata_hash` the SHA-256 of the
//! sub-block's pubdata zero-padded to the capacity, and the carries chain the sub-blocks: 0 into
//! the first, [`CarryState::hash`] between two, the chain's links hash out of the last — all
//! values the chain's contract computes or checks itself. Only the last sub-block settles fees.
//!
//! Every operation of docs/PROTOCOL.md is proven, with per-block fee settlement. Not provable: a
//! deposit refunded because the account space is exhausted (the circuit does not track the account
//! count; 2^24 − 512 accounts), which [`ChainWitness::new`] reports as missing witness data.

use crate::F;
use crate::gadgets::bytes::{self, be_bytes, p2, small_be_bytes, truncate_253};
use crate::gadgets::sha256;
use crate::gadgets::{
    amount::{self, AMOUNT_BITS},
    eddsa::SignatureVar,
    enforce_nonzero, poseidon,
    update::{UpdateVar, UpdateWitness},
};
use crate::wire::U128;
use ark_ff::PrimeField;
use ark_r1cs_std::{
    GR1CSVar, alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar, fields::fp::FpVar,
    uint8::UInt8,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rollup_crypto::Signature;
use rollup_crypto::field::fr_to_be_bytes;
use rollup_state::ChainBlock;
use rollup_state::smt::empty_hash;
use rollup_state::witness::Update;
use rollup_types::link::links_hash;
use rollup_types::op::{self, CHUNK_BYTES, code};
use rollup_types::*;
use sha2::{Digest, Sha256};

mod ops;
mod step;

use step::step;

/// Bytes of an operation as carried by every step of it (the longest op has 4 chunks).
const OP_BYTES: usize = 4 * CHUNK_BYTES;
const OP_BITS: usize = 8 * OP_BYTES;
const CHUNK_BITS: usize = 8 * CHUNK_BYTES;

/// The operation types the circuit proves: (code, chunks, bytes).
const SUPPORTED: [(u8, usize, usize); 15] = [
    (code::NOOP, 1, 1),
    (code::DEPOSIT, 3, 40),
    (code::FULL_EXIT, 3, 40),
    (code::CHANGE_PUBKEY, 4, 52),
    (code::TRANSFER, 1, 16),
    (code::WITHDRAW, 3, 46),
    (code::ADD_LIQUIDITY, 2, 13),
    (code::REMOVE_LIQUIDITY, 2, 22),
    (code::SWAP_IN, 1, 13),
    (code::CREATE_POOL, 1, 15),
    (code::CREATE_ACCOUNT, 2, 24),
    (code::SET_PUBKEY, 2, 24),
    (code::SWAP_OUT, 2, 20),
    (code::DEPOSIT_REFUND, 3, 40),
    (code::CREATE_POOL_PEER, 1, 10),
];
const DEPOSIT: usize = 1;
const FULL_EXIT: usize = 2;
const CHANGE_PUBKEY: usize = 3;
const TRANSFER: usize = 4;
const WITHDRAW: usize = 5;
const ADD_LIQUIDITY: usize = 6;
const REMOVE_LIQUIDITY: usize = 7;
const SWAP_IN: usize = 8;
const CREATE_POOL: usize = 9;
const CREATE_ACCOUNT: usize = 10;
const SET_PUBKEY: usize = 11;
const SWAP_OUT: usize = 12;
const DEPOSIT_REFUND: usize = 13;
const CREATE_POOL_PEER: usize = 14;

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
    /// A capacity outside [`op::PROOF_CHUNKS`].
    #[error("a chain circuit of {0} chunks (chain proofs cover 4..=4096)")]
    Capacity(usize),
    /// The block was split for chain proofs of another size.
    #[error(
        "the block was built as {built} sub-blocks for another proof size than {capacity} chunks"
    )]
    SubBlocks {
        /// Sub-blocks in the block.
        built: usize,
        /// This circuit's capacity.
        capacity: usize,
    },
    /// More fee tokens than fee slots (the builder prevents this).
    #[error("more than {FEE_TOKENS_PER_BLOCK} fee tokens")]
    FeeSlots,
    /// A (stored) witness whose shape is not the circuit's: it would synthesise another circuit.
    #[error("witness shape: {0}")]
    Shape(&'static str),
}

/// One step's native values.
#[derive(Clone, Debug, CanonicalSerialize, CanonicalDeserialize)]
pub struct StepWitness {
    pub(crate) op: [u8; OP_BYTES],
    pub(crate) chunk: u8,
    pub(crate) a: UpdateWitness,
    pub(crate) b: UpdateWitness,
    pub(crate) signature: Option<Signature>,
    pub(crate) fee_slot: Option<usize>,
    /// The id of the step's link: a free field element to a prover (the circuit range-checks it
    /// to 32 bits); the honest builder puts the transaction's position in the block.
    pub(crate) link_id: F,
    /// The signed-only value of the op: a swap's minimum output, a liquidity add's minimum shares,
    /// a removal's minimum output.
    pub(crate) aux: U128,
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
            link_id: F::from(0u8),
            aux: U128(0),
        }
    }
}

/// The values one sub-block hands to the next (docs/CIRCUITS.md, "Sub-blocks"): the links fold so
/// far, the smallest id the next link may have, and the fee sums per slot. The fee tokens are the
/// block's and are hashed with them into the carry.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct CarryState {
    /// The chain's links fold over the sub-blocks before.
    pub links: F,
    /// One more than the last link id so far (0 before any link).
    pub next_link_id: F,
    /// Fees collected so far, per fee slot.
    pub fee_sums: Vec<F>,
}

impl CarryState {
    /// The state at the start of a chain's part of a block.
    pub fn start() -> Self {
        CarryState {
            links: F::from(0u8),
            next_link_id: F::from(0u8),
            fee_sums: vec![F::from(0u8); FEE_TOKENS_PER_BLOCK],
        }
    }

    /// `Poseidon(CARRY_TAG, links, next_link_id, fee tokens…, fee sums…)`: the opaque 32-byte value
    /// the contract passes between two neighbouring sub-blocks' proofs.
    pub fn hash(&self, fee_tokens: &[F]) -> F {
        let mut x = vec![F::from(CARRY_TAG), self.links, self.next_link_id];
        x.extend_from_slice(fee_tokens);
        x.extend_from_slice(&self.fee_sums);
        rollup_crypto::poseidon::hash(&x)
    }
}

/// Separates carries from every other Poseidon value ("carry").
const CARRY_TAG: u64 = u64::from_be_bytes(*b"\0\0\0carry");

/// The native values of one chain proof: one sub-block of a chain's part of a block.
#[derive(Clone, Debug, CanonicalSerialize, CanonicalDeserialize)]
pub struct ChainWitness {
    /// Chain.
    pub chain: ChainId,
    /// Block number.
    pub block_number: BlockNumber,
    /// Whether this is the chain's last sub-block in the block (it settles the fees and ends in
    /// the links hash).
    pub last: bool,
    /// Root before the sub-block.
    pub old_root: F,
    /// Root after the sub-block (the chain's new root for the last one).
    pub new_root: F,
    /// The chain's links hash over the whole block (the last sub-block's carry out).
    pub links_hash: F,
    /// The carry from the previous sub-block; 0 for the first.
    pub carry_in: F,
    /// The carry to the next sub-block (unused by the last, which hands on `links_hash`).
    pub carry_out: F,
    /// The values `carry_in` hashes (the start state for the first).
    pub start: CarryState,
    /// The deployment domain every signature of the block signs (a public value: the
    /// contracts derive it from their own chain id and address).
    pub domain: F,
    /// The sub-block's pubdata, padded to the capacity.
    pub pubdata: Vec<u8>,
    pub(crate) steps: Vec<StepWitness>,
    pub(crate) fees: Vec<(u16, U128, UpdateWitness)>,
}

/// One operation's steps with what it adds to the carry.
struct OpSteps {
    steps: Vec<StepWitness>,
    /// (fee slot, fee) when it pays a fee.
    fee: Option<(usize, u128)>,
    /// Its link's id, when it emits one.
    link: Option<u32>,
    /// The root after its last update.
    root_after: Option<F>,
}

impl ChainWitness {
    /// The witnesses of chain block `cb` of block `number` for a circuit of `capacity` chunks:
    /// one per sub-block, split as the builder did (the block must have been built with
    /// `proof_chunks = capacity`).
    pub fn sub_blocks(
        cb: &ChainBlock,
        number: BlockNumber,
        domain: &Domain,
        capacity: usize,
    ) -> Result<Vec<Self>, CircuitError> {
        let out = Self::split(cb, number, domain, capacity)?;
        let same = out.len() == cb.sub_blocks.len()
            && out
                .iter()
                .zip(&cb.sub_blocks)
                .all(|(w, s)| Sha256::digest(&w.pubdata)[..] == s.pubdata_hash[..]);
        if !same {
            return Err(CircuitError::SubBlocks {
                built: cb.sub_blocks.len(),
                capacity,
            });
        }
        Ok(out)
    }

    /// The witness of a chain block that one circuit of `capacity` chunks proves whole (the
    /// block's own split is not consulted: tests prove a part with a smaller circuit).
    pub fn new(
        cb: &ChainBlock,
        number: BlockNumber,
        domain: &Domain,
        capacity: usize,
    ) -> Result<Self, CircuitError> {
        let mut out = Self::split(cb, number, domain, capacity)?;
        if out.len() > 1 {
            let used = cb.pubdata.len() / CHUNK_BYTES;
            return Err(CircuitError::TooLarge { used, capacity });
        }
        Ok(out.pop().expect("at least one sub-block"))
    }

    fn split(
        cb: &ChainBlock,
        number: BlockNumber,
        domain: &Domain,
        capacity: usize,
    ) -> Result<Vec<Self>, CircuitError> {
        if !op::PROOF_CHUNKS.contains(&capacity) {
            return Err(CircuitError::Capacity(capacity));
        }
        let (ops, fees) = Self::op_steps(cb)?;
        let ranges = op::sub_blocks(ops.iter().map(|o| o.steps.len()), capacity);
        let fee_tokens: Vec<F> = fees.iter().map(|f| F::from(f.0)).collect();
        let mut state = CarryState::start();
        let (mut carry_in, mut root) = (F::from(0u8), cb.old_root);
        let (mut link_count, mut at) = (0, 0);
        let last = ranges.len() - 1;
        let mut out = Vec::with_capacity(ranges.len());
        for (k, r) in ranges.into_iter().enumerate() {
            let start = state.clone();
            let old_root = root;
            let mut steps = Vec::with_capacity(capacity);
            for o in &ops[r.clone()] {
                steps.extend(o.steps.iter().cloned());
                if let Some((slot, fee)) = o.fee {
                    state.fee_sums[slot] += F::from(fee);
                }
                if let Some(id) = o.link {
                    link_count += 1;
                    state.next_link_id = F::from(id) + F::from(1u8);
                }
                root = o.root_after.unwrap_or(root);
            }
            state.links = links_hash(&cb.links[..link_count]);
            let bytes = steps.len() * CHUNK_BYTES;
            steps.resize(capacity, StepWitness::noop());
            let mut pubdata = cb.pubdata[at..at + bytes].to_vec();
            at += bytes;
            pubdata.resize(capacity * CHUNK_BYTES, 0);
            let is_last = k == last;
            let carry_out = if is_last {
                F::from(0u8)
            } else {
                state.hash(&fee_tokens)
            };
            out.push(ChainWitness {
                chain: cb.chain,
                block_number: number,
                last: is_last,
                old_root,
                new_root: if is_last { cb.new_root } else { root },
                links_hash: cb.links_hash,
                carry_in,
                carry_out,
                start,
                domain: domain.to_field(),
                pubdata,
                steps,
                // Only the last sub-block settles the fees; the others need the tokens alone.
                fees: if is_last {
                    fees.clone()
                } else {
                    fees.iter()
                        .map(|f| (f.0, f.1, UpdateWitness::padding()))
                        .collect()
                },
            });
            carry_in = carry_out;
        }
        Ok(out)
    }

    /// Every operation's steps, and the fee slots (token, block total, settlement update).
    #[allow(clippy::type_complexity)]
    fn op_steps(
        cb: &ChainBlock,
    ) -> Result<(Vec<OpSteps>, Vec<(u16, U128, UpdateWitness)>), CircuitError> {
        let ops = cb.witness.as_ref().ok_or(CircuitError::NoWitness)?;
        let fee_updates = cb.fee_witness.as_ref().ok_or(CircuitError::NoWitness)?;
        if fee_updates.len() > FEE_TOKENS_PER_BLOCK {
            return Err(CircuitError::FeeSlots);
        }
        let mut fees: Vec<(u16, U128, UpdateWitness)> = fee_updates
            .iter()
            .map(|u| match u {
                Update::Account {
                    balance: Some(b), ..
                } => (
                    b.token.0,
                    U128(b.after.get() - b.before.get()),
                    UpdateWitness::from_update(u),
                ),
                _ => unreachable!("fee settlement updates carry a balance change"),
            })
            .collect();
        while fees.len() < FEE_TOKENS_PER_BLOCK {
            fees.push((0, U128(0), UpdateWitness::padding()));
        }
        let slot_of = |token: TokenId, fee: Amount| {
            (!fee.is_zero())
                .then(|| fees.iter().position(|f| f.0 == token.0 && *f.1 > 0))
                .flatten()
                .map(|slot| (slot, fee.get()))
        };
        let mut links = cb.links.iter().map(Link::id);
        let mut out = Vec::with_capacity(ops.len());
        for w in ops {
            let code = w.op.code();
            if !SUPPORTED.iter().any(|(c, _, _)| *c == code) {
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
            // The pool token of a pool op is in the pool leaf (update 1).
            let pool_token = || match w.updates.get(1) {
                Some(Update::Pool { after, .. }) => after.token,
                _ => TokenId(0),
            };
            let fee = match &w.op {
                Op::Transfer { token, fee, .. } | Op::Withdraw { token, fee, .. } => {
                    slot_of(*token, *fee)
                }
                Op::ChangePubKey { fee_token, fee, .. } => slot_of(*fee_token, *fee),
                Op::CreatePool { token, fee, .. } => slot_of(*token, *fee),
                Op::AddLiquidity { fee, .. }
                | Op::RemoveLiquidity { fee, .. }
                | Op::SwapIn { fee, .. } => slot_of(pool_token(), *fee),
                _ => None,
            };
            let emits = matches!(
                w.op,
                Op::CreateAccount { .. }
                    | Op::ChangePubKey { .. }
                    | Op::SetPubKey { .. }
                    | Op::SwapIn { .. }
                    | Op::SwapOut { .. }
                    | Op::CreatePool { .. }
                    | Op::CreatePoolPeer { .. }
            );
            let link = if emits {
                Some(links.next().ok_or(CircuitError::NoWitness)?)
            } else {
                None
            };
            let link_id = F::from(link.unwrap_or(0));
            let aux = match &w.signed {
                Some(L2Tx::AddLiquidity(t)) => t.min_shares.get(),
                Some(L2Tx::RemoveLiquidity(t)) => t.min_out.get(),
                Some(L2Tx::Swap(t)) => t.min_out.get(),
                _ => 0,
            };
            // Update schedule (docs/CIRCUITS.md): updates 0 and 1 in the first step's slots A and
            // B, update 2 in the second step's slot A; a peer pool half has only B.
            let (a0, b0, a1) = match w.op {
                Op::CreatePoolPeer { .. } => {
                    (UpdateWitness::padding(), upd(0), UpdateWitness::padding())
                }
                _ => (upd(0), upd(1), upd(2)),
            };
            let steps = (0..w.op.chunks())
                .map(|chunk| {
                    let (a, b) = match chunk {
                        0 => (a0.clone(), b0.clone()),
                        1 => (a1.clone(), UpdateWitness::padding()),
                        _ => (UpdateWitness::padding(), UpdateWitness::padding()),
                    };
                    let first = chunk == 0;
                    StepWitness {
                        op: bytes,
                        chunk: chunk as u8,
                        a,
                        b,
                        signature: if first { w.signature } else { None },
                        fee_slot: if first { fee.map(|f| f.0) } else { None },
                        link_id,
                        aux: U128(aux),
                    }
                })
                .collect();
            out.push(OpSteps {
                steps,
                fee,
                link,
                root_after: w.updates.last().map(Update::root_after),
            });
        }
        Ok((out, fees))
    }

    /// Checks that this witness synthesises the circuit of `capacity` (a witness read from
    /// storage may not): step and fee-slot counts and every Merkle path's depth.
    pub fn check_shape(&self, capacity: usize) -> Result<(), CircuitError> {
        if self.steps.len() != capacity {
            return Err(CircuitError::Shape("step count differs from the capacity"));
        }
        if self.fees.len() != FEE_TOKENS_PER_BLOCK {
            return Err(CircuitError::Shape("fee slot count"));
        }
        if self.pubdata.len() != capacity * CHUNK_BYTES {
            return Err(CircuitError::Shape("pubdata length"));
        }
        if self.start.fee_sums.len() != FEE_TOKENS_PER_BLOCK {
            return Err(CircuitError::Shape("carried fee sums"));
        }
        let updates = self
            .steps
            .iter()
            .flat_map(|s| [&s.a, &s.b])
            .chain(self.fees.iter().map(|f| &f.2));
        for u in updates {
            if u.path.siblings.len() != ACCOUNT_TREE_DEPTH
                || u.balance.3.siblings.len() != BALANCE_TREE_DEPTH
            {
                return Err(CircuitError::Shape("Merkle path depth"));
            }
        }
        Ok(())
    }

    /// The carry this proof ends in: the links hash for the last sub-block, else `carry_out`.
    pub fn carry_end(&self) -> F {
        if self.last {
            self.links_hash
        } else {
            self.carry_out
        }
    }

    /// The public input of this chain proof.
    pub fn public_input(&self) -> F {
        public_input(
            &self.domain,
            self.chain,
            self.block_number,
            self.last,
            &self.old_root,
            &self.new_root,
            &Sha256::digest(&self.pubdata).into(),
            &self.carry_in,
            &self.carry_end(),
        )
    }
}

/// `sha256(domain ‖ chain_id ‖ block_number ‖ last ‖ old_root ‖ new_root ‖ pubdata_hash ‖
/// carry_in ‖ carry_out) mod 2^253` — the one public input of a sub-block's chain proof,
/// recomputed by the contracts (docs/CIRCUITS.md, "Sub-blocks").
#[allow(clippy::too_many_arguments)]
pub fn public_input(
    domain: &F,
    chain: ChainId,
    number: BlockNumber,
    last: bool,
    old_root: &F,
    new_root: &F,
    pubdata_hash: &[u8; 32],
    carry_in: &F,
    carry_out: &F,
) -> F {
    let mut h = Sha256::new();
    h.update(fr_to_be_bytes(domain));
    h.update([chain.0]);
    h.update(number.0.to_be_bytes());
    h.update([last as u8]);
    h.update(fr_to_be_bytes(old_root));
    h.update(fr_to_be_bytes(new_root));
    h.update(pubdata_hash);
    h.update(fr_to_be_bytes(carry_in));
    h.update(fr_to_be_bytes(carry_out));
    truncate_253(&h.finalize().into())
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

/// Values carried from step to step.
struct Carry {
    root: FpVar<F>,
    packed: [FpVar<F>; 3],
    chunk: FpVar<F>,
    chunks: FpVar<F>,
    fee_sums: Vec<FpVar<F>>,
    links: FpVar<F>,
    /// Smallest id the next link may have (link ids strictly increase on a chain).
    next_link_id: FpVar<F>,
    /// A two-step operation's value for its second step: (amount, balance slot).
    pending: (FpVar<F>, FpVar<F>),
    pubdata: Vec<UInt8<F>>,
}

impl ConstraintSynthesizer<F> for ChainCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
        self.synthesize(cs, true).map(|_| ())
    }
}

/// What a witness implies for the public values (read by the mutation tests, which let a forger
/// set the public input to whatever its witness implies).
#[cfg_attr(not(any(test, feature = "attacks")), allow(dead_code))]
pub(crate) struct Implied {
    pub new_root: FpVar<F>,
    pub links_hash: FpVar<F>,
    pub pubdata: Vec<UInt8<F>>,
}

impl ChainCircuit {
    /// The constraints; without `enforce_public`, all but the final equality of the public input
    /// with the hash of the values the witness implies.
    pub(crate) fn synthesize(
        self,
        cs: ConstraintSystemRef<F>,
        enforce_public: bool,
    ) -> Result<Implied, SynthesisError> {
        let w = self.witness.as_ref();
        let get =
            |f: &dyn Fn(&ChainWitness) -> F| w.map(f).ok_or(SynthesisError::AssignmentMissing);
        let public = FpVar::new_input(cs.clone(), || get(&|w| w.public_input()))?;
        let domain = FpVar::new_witness(cs.clone(), || get(&|w| w.domain))?;
        let chain_id = FpVar::new_witness(cs.clone(), || get(&|w| F::from(w.chain.0)))?;
        let number = FpVar::new_witness(cs.clone(), || get(&|w| F::from(w.block_number.0)))?;
        let old_root = FpVar::new_witness(cs.clone(), || get(&|w| w.old_root))?;
        let fee_tokens = (0..FEE_TOKENS_PER_BLOCK)
            .map(|j| FpVar::new_witness(cs.clone(), || get(&|w| F::from(w.fees[j].0))))
            .collect::<Result<Vec<_>, _>>()?;
        // Where the sub-block starts: from nothing (carry_in = 0, the first sub-block: the
        // contract passes 0 there and a Poseidon output is never 0), or from the values the
        // previous sub-block's proof hashed into its carry_out.
        let last = Boolean::new_witness(cs.clone(), || {
            w.map(|w| w.last).ok_or(SynthesisError::AssignmentMissing)
        })?;
        let carry_in = FpVar::new_witness(cs.clone(), || get(&|w| w.carry_in))?;
        let start_links = FpVar::new_witness(cs.clone(), || get(&|w| w.start.links))?;
        let start_next = FpVar::new_witness(cs.clone(), || get(&|w| w.start.next_link_id))?;
        let start_sums = (0..FEE_TOKENS_PER_BLOCK)
            .map(|j| FpVar::new_witness(cs.clone(), || get(&|w| w.start.fee_sums[j])))
            .collect::<Result<Vec<_>, _>>()?;
        let first = carry_in.is_zero()?;
        let starts = carry_hash(&start_links, &start_next, &fee_tokens, &start_sums)?;
        first
            .select(&FpVar::zero(), &starts)?
            .enforce_equal(&carry_in)?;
        for x in start_sums.iter().chain([&start_links, &start_next]) {
            x.conditional_enforce_equal(&FpVar::zero(), &first)?;
        }
        let mut carry = Carry {
            root: old_root.clone(),
            packed: [FpVar::zero(), FpVar::zero(), FpVar::zero()],
            chunk: FpVar::zero(),
            chunks: FpVar::one(),
            fee_sums: start_sums,
            links: start_links,
            next_link_id: start_next,
            pending: (FpVar::zero(), FpVar::zero()),
            pubdata: Vec::with_capacity(self.capacity * CHUNK_BYTES),
        };
        let noop = StepWitness::noop();
        for i in 0..self.capacity {
            let sw = w.map_or(&noop, |w| &w.steps[i]);
            step(&cs, sw, i == 0, &domain, &chain_id, &fee_tokens, &mut carry)?;
        }
        // The block ends at an operation boundary.
        (&carry.chunk + FpVar::one()).enforce_equal(&carry.chunks)?;
        // The last sub-block settles the fees: one fee-account update per used slot.
        for (j, token) in fee_tokens.iter().enumerate() {
            let pad = UpdateWitness::padding();
            let u = UpdateVar::witness(cs.clone(), w.map_or(&pad, |w| &w.fees[j].2))?;
            let on = &last & &!carry.fee_sums[j].is_zero()?;
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
        // The last sub-block ends in the chain's links hash (the binding proof's); the others
        // hand their state to the next.
        let ends = carry_hash(
            &carry.links,
            &carry.next_link_id,
            &fee_tokens,
            &carry.fee_sums,
        )?;
        let carry_out = last.select(&carry.links, &ends)?;
        let implied = Implied {
            new_root: new_root.clone(),
            links_hash: carry.links.clone(),
            pubdata: carry.pubdata.clone(),
        };
        if !enforce_public {
            return Ok(implied);
        }
        // The public input.
        let pubdata_hash = sha256::digest(&carry.pubdata)?;
        let mut pre = be_bytes(&domain)?;
        pre.extend(small_be_bytes(&chain_id, 1)?);
        pre.extend(small_be_bytes(&number, 4)?);
        pre.extend(small_be_bytes(&FpVar::from(last), 1)?);
        pre.extend(be_bytes(&old_root)?);
        pre.extend(be_bytes(&new_root)?);
        pre.extend(pubdata_hash);
        pre.extend(be_bytes(&carry_in)?);
        pre.extend(be_bytes(&carry_out)?);
        bytes::enforce_sha256_input(&pre, &public)?;
        Ok(implied)
    }
}

/// The gadget twin of [`CarryState::hash`].
fn carry_hash(
    links: &FpVar<F>,
    next_link_id: &FpVar<F>,
    fee_tokens: &[FpVar<F>],
    fee_sums: &[FpVar<F>],
) -> Result<FpVar<F>, SynthesisError> {
    let mut x = vec![
        FpVar::constant(F::from(CARRY_TAG)),
        links.clone(),
        next_link_id.clone(),
    ];
    x.extend_from_slice(fee_tokens);
    x.extend_from_slice(fee_sums);
    poseidon::hash(&x)
}

/// Bits `[lo, lo + n)` of a little-endian bit vector as a number (linear, free).
fn le_slice(bits: &[Boolean<F>], lo: usize, n: usize) -> FpVar<F> {
    let mut be: Vec<Boolean<F>> = bits[lo..lo + n].to_vec();
    be.reverse();
    be_num(&be)
}

/// `⌊n / d⌋` of field elements holding integers below 2^254 (witness computation only). Every
/// step computes the pool-share witnesses from its B slot whatever the op, so `d` may be zero (an
/// account leaf's key hash in a ChangePubKey step): that gives 0, and a real pool op with an
/// empty reserve is left to the constraints to refuse.
fn floor_div(n: F, d: F) -> F {
    use ark_ff::BigInteger;
    let (n, d) = (n.into_bigint(), d.into_bigint());
    let to_u = |b: <F as PrimeField>::BigInt| ruint::aliases::U256::from_le_slice(&b.to_bytes_le());
    let Some(q) = to_u(n).checked_div(to_u(d)) else {
        return F::from(0u8);
    };
    F::from_le_bytes_mod_order(&q.to_le_bytes::<32>())
}

/// Supported operation codes (for documentation and tests).
pub fn supported_codes() -> Vec<u8> {
    SUPPORTED.iter().map(|(c, _, _)| *c).collect()
}

/// Enforces `lo ≤ x` as a `bits`-bit difference when `on`.
fn at_least(
    x: &FpVar<F>,
    lo: &FpVar<F>,
    bits: usize,
    on: &Boolean<F>,
) -> Result<(), SynthesisError> {
    amount::range_check(&gated(&(x - lo), on)?, bits)?;
    Ok(())
}

#[cfg(test)]
mod tests;
