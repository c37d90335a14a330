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
use crate::gadgets::{
    amount::{self, AMOUNT_BITS},
    eddsa::SignatureVar,
    enforce_nonzero, poseidon,
    update::{UpdateVar, UpdateWitness},
};
use crate::wire::U128;
use ark_crypto_primitives::crh::sha256::constraints::Sha256Gadget;
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
        let pubdata_hash = Sha256Gadget::digest(&carry.pubdata)?;
        let mut pre = be_bytes(&domain)?;
        pre.extend(small_be_bytes(&chain_id, 1)?);
        pre.extend(small_be_bytes(&number, 4)?);
        pre.extend(small_be_bytes(&FpVar::from(last), 1)?);
        pre.extend(be_bytes(&old_root)?);
        pre.extend(be_bytes(&new_root)?);
        pre.extend(pubdata_hash.0);
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

/// Everything a step's rules read.
struct Ctx<'a> {
    bits: &'a [Boolean<F>],
    a: UpdateVar,
    b: UpdateVar,
}

impl Ctx<'_> {
    fn f(&self, off: usize, n: usize) -> FpVar<F> {
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

#[allow(clippy::too_many_lines)]
fn step(
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
    let gf = |k: usize| FpVar::from(g[k].clone());

    let a = UpdateVar::witness(cs.clone(), &sw.a)?;
    let b = UpdateVar::witness(cs.clone(), &sw.b)?;
    let x = Ctx { bits: &bits, a, b };
    let (a, b) = (&x.a, &x.b);

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

    // Fee of this op (0 for unsigned ones) and its token.
    let mut fee = FpVar::zero();
    let mut fee_token = FpVar::zero();
    // The signed message, as (chunk 1, chunk 2) for two-chunk messages.
    let mut m1 = FpVar::zero();
    let mut m2 = FpVar::zero();
    // This step's link, if any: 4 fields.
    let mut link = [FpVar::zero(), FpVar::zero(), FpVar::zero(), FpVar::zero()];
    // The link id is packed below the payload in the link header: unchecked, an id of 2^32 + k
    // would read as id k with the payload's lowest field (pool, account) one higher.
    let link_id = FpVar::new_witness(cs.clone(), || Ok(sw.link_id))?;
    amount::range_check(&link_id, 32)?;
    let aux = FpVar::new_witness(cs.clone(), || Ok(F::from(*sw.aux)))?;
    let aux_bits = amount::range_check(&aux, AMOUNT_BITS)?;
    let hdr_of = |kind: FpVar<F>, payload: FpVar<F>| kind + &link_id * p2(8) + payload * p2(40);
    let hdr = |kind: u8, payload: FpVar<F>| hdr_of(FpVar::constant(F::from(kind)), payload);
    let nonce = &a.before[2];
    let nonce_hi = le_slice(&nonce_bits, 8, 24);
    let nonce_lo = le_slice(&nonce_bits, 0, 8);
    let add_link = |link: &mut [FpVar<F>; 4], gate: &Boolean<F>, fields: [FpVar<F>; 4]| {
        let gv = FpVar::from(gate.clone());
        for (l, v) in link.iter_mut().zip(fields) {
            *l = &*l + &gv * v;
        }
    };

    // --- CreateAccount: account3 address20. An empty leaf becomes (address, no key, nonce 0).
    {
        let on = &g[CREATE_ACCOUNT];
        let (acc, address) = (x.f(1, 3), x.f(4, 20));
        a.index.conditional_enforce_equal(&acc, on)?;
        a.before_empty
            .conditional_enforce_equal(&Boolean::TRUE, on)?;
        a.after[0].conditional_enforce_equal(&address, on)?;
        a.after[1].conditional_enforce_equal(&zero, on)?;
        a.after[2].conditional_enforce_equal(&zero, on)?;
        a.after[3]
            .conditional_enforce_equal(&FpVar::constant(empty_hash(BALANCE_TREE_DEPTH)), on)?;
        enforce_nonzero(cs, &address, on)?;
        add_link(
            &mut link,
            on,
            [
                hdr(link::kind::CREATE_ACCOUNT, acc),
                address,
                zero.clone(),
                zero.clone(),
            ],
        );
    }
    // --- Deposit: account3 token2 amount14 to20. Credit the queued owner's balance.
    {
        let on = &g[DEPOSIT];
        let (acc, token, amt, to) = (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(20, 20));
        x.keep_identity(a, on, true, false)?;
        a.before[0].conditional_enforce_equal(&to, on)?;
        x.balance_change(a, on, &acc, &token, &amt)?;
    }
    // --- DepositRefund: as Deposit; provable when the credit would pass 2^112 − 1.
    {
        let on = &g[DEPOSIT_REFUND];
        let (acc, token, amt, to) = (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(20, 20));
        x.keep_identity(a, on, true, true)?;
        a.before[0].conditional_enforce_equal(&to, on)?;
        x.balance_change(a, on, &acc, &token, &zero)?;
        let over = &a.balance.before + &amt - FpVar::constant(p2(112));
        amount::range_check(&gated(&over, on)?, 113)?;
    }
    // --- FullExit: account3 token2 amount14 owner20. The whole balance if the owner matches,
    //     else nothing (a read, or a proof the account does not exist).
    {
        let on = &g[FULL_EXIT];
        let (acc, token, amt, owner) = (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(20, 20));
        a.index.conditional_enforce_equal(&acc, on)?;
        let owned = &!&a.before_empty & &a.before[0].is_eq(&owner)?;
        let paid = on & &owned;
        let unpaid = on & &!&owned;
        x.keep_identity(a, &paid, true, false)?;
        x.balance_change(a, &paid, &acc, &token, &(zero.clone() - &amt))?;
        amt.conditional_enforce_equal(&a.balance.before, &paid)?;
        amt.conditional_enforce_equal(&zero, &unpaid)?;
        // Unpaid: the leaf is unchanged (for an existing account, any balance read is a no-op).
        a.after_empty
            .conditional_enforce_equal(&a.before_empty, &unpaid)?;
        for i in 0..4 {
            a.after[i].conditional_enforce_equal(&a.before[i], &unpaid)?;
        }
        a.balance
            .after
            .conditional_enforce_equal(&a.balance.before, &unpaid)?;
    }
    // --- ChangePubKey: account3 pkh20 address20 nonce4 fee_token2 fee2 (L1-authorised; the
    //     contract checks the ECDSA signature). A: fee and nonce; B: the key.
    {
        let on = &g[CHANGE_PUBKEY];
        let (acc, pkh, address, op_nonce, token) =
            (x.f(1, 3), x.f(4, 20), x.f(24, 20), x.f(44, 4), x.f(48, 2));
        let f = packed(&bits, 50, 2)?;
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
        fee += &gf(CHANGE_PUBKEY) * &f;
        fee_token += &gf(CHANGE_PUBKEY) * &token;
        add_link(
            &mut link,
            on,
            [
                hdr(link::kind::CHANGE_PUBKEY, acc),
                pkh,
                zero.clone(),
                zero.clone(),
            ],
        );
    }
    // --- SetPubKey: account3 pkh20 (the broadcast half).
    {
        let on = &g[SET_PUBKEY];
        let (acc, pkh) = (x.f(1, 3), x.f(4, 20));
        a.index.conditional_enforce_equal(&acc, on)?;
        a.before_empty
            .conditional_enforce_equal(&Boolean::FALSE, on)?;
        for i in [0, 2, 3] {
            a.after[i].conditional_enforce_equal(&a.before[i], on)?;
        }
        a.after[1].conditional_enforce_equal(&pkh, on)?;
        enforce_nonzero(cs, &pkh, on)?;
        add_link(
            &mut link,
            on,
            [
                hdr(link::kind::SET_PUBKEY, acc),
                pkh,
                zero.clone(),
                zero.clone(),
            ],
        );
    }
    // --- Transfer: from3 to3 token2 amount5 fee2.
    {
        let on = &g[TRANSFER];
        let (from, to, token) = (x.f(1, 3), x.f(4, 3), x.f(7, 2));
        let (amt, f) = (packed(&bits, 9, 5)?, packed(&bits, 14, 2)?);
        x.keep_identity(a, on, false, false)?;
        x.balance_change(a, on, &from, &token, &(zero.clone() - &amt - &f))?;
        x.keep_identity(b, on, true, false)?;
        x.balance_change(b, on, &to, &token, &amt)?;
        fee += &gf(TRANSFER) * &f;
        fee_token += &gf(TRANSFER) * &token;
        // 0x04 chain from3 to_address20 token2 amount5 fee2 nonce4 (38 bytes).
        let c1 = FpVar::constant(F::from(code::TRANSFER) * p2(240))
            + chain_id * p2(232)
            + &from * p2(208)
            + &b.before[0] * p2(48)
            + &token * p2(32)
            + x.f(9, 4);
        let c2 = x.f(13, 1) * p2(48) + x.f(14, 2) * p2(32) + nonce;
        m1 += &gf(TRANSFER) * c1;
        m2 += &gf(TRANSFER) * c2;
    }
    // --- Withdraw: account3 token2 amount14 fee2 to20 nonce4.
    {
        let on = &g[WITHDRAW];
        let (acc, token, amt, to, op_nonce) =
            (x.f(1, 3), x.f(4, 2), x.f(6, 14), x.f(22, 20), x.f(42, 4));
        let f = packed(&bits, 20, 2)?;
        x.keep_identity(a, on, false, false)?;
        nonce.conditional_enforce_equal(&op_nonce, on)?;
        x.balance_change(a, on, &acc, &token, &(zero.clone() - &amt - &f))?;
        fee += &gf(WITHDRAW) * &f;
        fee_token += &gf(WITHDRAW) * &token;
        // 0x05 chain account3 to20 token2 amount14 fee2 nonce4 (47 bytes).
        let c1 = FpVar::constant(F::from(code::WITHDRAW) * p2(240))
            + chain_id * p2(232)
            + &acc * p2(208)
            + &to * p2(48)
            + &token * p2(32)
            + x.f(6, 4);
        let c2 = x.f(10, 10) * p2(48) + x.f(20, 2) * p2(32) + &op_nonce;
        m1 += &gf(WITHDRAW) * c1;
        m2 += &gf(WITHDRAW) * c2;
    }
    // Pool halves: B is the pool leaf of the op's pool (account3 pool2 … for every pool op).
    let pool = x.f(4, 2);
    let pool_ops = any_of(
        cs,
        &[
            &g[ADD_LIQUIDITY],
            &g[REMOVE_LIQUIDITY],
            &g[SWAP_IN],
            &g[SWAP_OUT],
        ],
    )?;
    let [p_token, _, p_peer_chain, p_fee_bps] = split_meta(&gated(&b.before[0], &pool_ops)?)?;
    let (reserve, supply) = (&b.before[1], &b.before[2]);
    let (reserve2, supply2) = (&b.after[1], &b.after[2]);
    {
        let on = &pool_ops;
        amount::range_check(
            &gated(
                &(FpVar::constant(F::from(MAX_POOLS as u64 - 1)) - &pool),
                on,
            )?,
            9,
        )?;
        b.index.conditional_enforce_equal(
            &(&pool + FpVar::constant(F::from(MAX_ACCOUNTS as u64))),
            on,
        )?;
        b.before_empty
            .conditional_enforce_equal(&Boolean::FALSE, on)?;
        b.after[0].conditional_enforce_equal(&b.before[0], on)?;
        b.after[3].conditional_enforce_equal(&zero, on)?;
        amount::range_check(&gated(reserve2, on)?, AMOUNT_BITS)?;
        amount::range_check(&gated(supply2, on)?, AMOUNT_BITS)?;
        // The trader's token on this chain is the pool half's token.
        a.balance.token.conditional_enforce_equal(
            &p_token,
            &any_of(cs, &[&g[ADD_LIQUIDITY], &g[SWAP_IN], &g[SWAP_OUT]])?,
        )?;
    }
    // Message layout shared by AddLiquidity and Swap: code chain acc3 pool2 amount5 min14 fee2
    // nonce4 (32 bytes).
    let amount_min_msg = |code: u8| {
        let c1 = FpVar::constant(F::from(code) * p2(240))
            + chain_id * p2(232)
            + x.f(1, 3) * p2(208)
            + &pool * p2(192)
            + x.f(6, 5) * p2(152)
            + &aux * p2(40)
            + x.f(11, 2) * p2(24)
            + &nonce_hi;
        (c1, nonce_lo.clone())
    };
    // --- AddLiquidity: account3 pool2 amount5 fee2. Step 1: debit and pool; step 2: shares.
    {
        let on = &g[ADD_LIQUIDITY];
        let acc = x.f(1, 3);
        let (amt, f) = (packed(&bits, 6, 5)?, packed(&bits, 11, 2)?);
        x.keep_identity(a, on, false, false)?;
        x.balance_change(a, on, &acc, &p_token, &(zero.clone() - &amt - &f))?;
        reserve2.conditional_enforce_equal(&(reserve + &amt), on)?;
        // Shares: the first deposit mints `amount` (1000 locked), later ones ⌊amount·S/R⌋.
        let empty = supply.is_zero()?;
        let minted = FpVar::new_witness(cs.clone(), || {
            let (s, r, v) = (supply.value()?, reserve.value()?, amt.value()?);
            Ok(if s == F::from(0u8) {
                v
            } else {
                floor_div(v * s, r)
            })
        })?;
        supply2.conditional_enforce_equal(&(supply + &minted), on)?;
        let first_add = on & &empty;
        let later = on & &!&empty;
        minted.conditional_enforce_equal(&amt, &first_add)?;
        at_least(
            &amt,
            &FpVar::constant(F::from(1001u64)),
            AMOUNT_BITS,
            &first_add,
        )?;
        // m·R ≤ v·S < (m+1)·R, m ≥ 1.
        let (ms_r, vs) = (&minted * reserve, &amt * supply);
        at_least(&vs, &ms_r, 225, &later)?;
        at_least(&(&ms_r + reserve), &(&vs + &one), 225, &later)?;
        at_least(&minted, &one, AMOUNT_BITS, &later)?;
        let to_user = first_add.select(&(&amt - FpVar::constant(F::from(1000u64))), &minted)?;
        at_least(&to_user, &aux, AMOUNT_BITS, on)?; // min_shares
        fee += &gf(ADD_LIQUIDITY) * &f;
        fee_token += &gf(ADD_LIQUIDITY) * &p_token;
        let (c1, c2) = amount_min_msg(code::ADD_LIQUIDITY);
        m1 += &gf(ADD_LIQUIDITY) * c1;
        m2 += &gf(ADD_LIQUIDITY) * c2;
        let lp_slot = &pool + FpVar::constant(F::from(MAX_TOKENS as u64));
        carry.pending = (
            on.select(&to_user, &carry.pending.0)?,
            on.select(&lp_slot, &carry.pending.1)?,
        );
        let on2 = &g2[ADD_LIQUIDITY];
        x.keep_identity(a, on2, true, false)?;
        x.balance_change(a, on2, &acc, &carry.pending.1, &carry.pending.0)?;
    }
    // --- RemoveLiquidity: account3 pool2 shares14 fee2. Step 1: burn and pool; step 2: payout.
    {
        let on = &g[REMOVE_LIQUIDITY];
        let acc = x.f(1, 3);
        let (shares, f) = (x.f(6, 14), packed(&bits, 20, 2)?);
        let lp_slot = &pool + FpVar::constant(F::from(MAX_TOKENS as u64));
        x.keep_identity(a, on, false, false)?;
        x.balance_change(a, on, &acc, &lp_slot, &(zero.clone() - &shares))?;
        let out = FpVar::new_witness(cs.clone(), || {
            let (s, r, v) = (supply.value()?, reserve.value()?, shares.value()?);
            Ok(if s == F::from(0u8) {
                F::from(0u8)
            } else {
                floor_div(v * r, s)
            })
        })?;
        supply2.conditional_enforce_equal(&(supply - &shares), on)?;
        reserve2.conditional_enforce_equal(&(reserve - &out), on)?;
        // o·S ≤ v·R < (o+1)·S, o ≥ max(1, min_out).
        let (os, vr) = (&out * supply, &shares * reserve);
        at_least(&vr, &os, 225, on)?;
        at_least(&(&os + supply), &(&vr + &one), 225, on)?;
        at_least(&out, &one, AMOUNT_BITS, on)?;
        at_least(&out, &aux, AMOUNT_BITS, on)?; // min_out
        fee += &gf(REMOVE_LIQUIDITY) * &f;
        fee_token += &gf(REMOVE_LIQUIDITY) * &p_token;
        // 0x07 chain acc3 pool2 shares14 min_out14 fee2 nonce4 (41 bytes).
        let c1 = FpVar::constant(F::from(code::REMOVE_LIQUIDITY) * p2(240))
            + chain_id * p2(232)
            + &acc * p2(208)
            + &pool * p2(192)
            + &shares * p2(80)
            + le_slice(&aux_bits, 32, 80);
        let c2 = le_slice(&aux_bits, 0, 32) * p2(48) + x.f(20, 2) * p2(32) + nonce;
        m1 += &gf(REMOVE_LIQUIDITY) * c1;
        m2 += &gf(REMOVE_LIQUIDITY) * c2;
        carry.pending = (
            on.select(&(&out - &f), &carry.pending.0)?,
            on.select(&p_token, &carry.pending.1)?,
        );
        let on2 = &g2[REMOVE_LIQUIDITY];
        x.keep_identity(a, on2, true, false)?;
        x.balance_change(a, on2, &acc, &carry.pending.1, &carry.pending.0)?;
    }
    // --- SwapIn: account3 pool2 amount5 fee2. Debit the trader, grow the reserve; linked.
    {
        let on = &g[SWAP_IN];
        let acc = x.f(1, 3);
        let (amt, f) = (packed(&bits, 6, 5)?, packed(&bits, 11, 2)?);
        x.keep_identity(a, on, false, false)?;
        x.balance_change(a, on, &acc, &p_token, &(zero.clone() - &amt - &f))?;
        reserve2.conditional_enforce_equal(&(reserve + &amt), on)?;
        supply2.conditional_enforce_equal(supply, on)?;
        fee += &gf(SWAP_IN) * &f;
        fee_token += &gf(SWAP_IN) * &p_token;
        let (c1, c2) = amount_min_msg(code::SWAP_IN);
        m1 += &gf(SWAP_IN) * c1;
        m2 += &gf(SWAP_IN) * c2;
        let head = &pool + &acc * p2(16) + &p_fee_bps * p2(40) + &p_peer_chain * p2(56);
        add_link(
            &mut link,
            on,
            [
                hdr(link::kind::SWAP_IN, head),
                reserve.clone(),
                amt,
                aux.clone(),
            ],
        );
    }
    // --- SwapOut: account3 pool2 amount14. Pay the trader from the reserve (0 < a < R); linked.
    {
        let on = &g[SWAP_OUT];
        let (acc, amt) = (x.f(1, 3), x.f(6, 14));
        x.keep_identity(a, on, true, false)?;
        x.balance_change(a, on, &acc, &p_token, &amt)?;
        reserve2.conditional_enforce_equal(&(reserve - &amt), on)?;
        supply2.conditional_enforce_equal(supply, on)?;
        at_least(&amt, &one, AMOUNT_BITS, on)?;
        at_least(reserve, &(&amt + &one), AMOUNT_BITS, on)?;
        let head = &pool + &acc * p2(16) + &p_peer_chain * p2(40);
        add_link(
            &mut link,
            on,
            [
                hdr(link::kind::SWAP_OUT, head),
                reserve.clone(),
                amt,
                zero.clone(),
            ],
        );
    }
    // --- CreatePool: account3 pool2 token2 peer_chain1 peer_token2 fee_bps2 fee2; and its peer
    //     half CreatePoolPeer: pool2 token2 peer_chain1 peer_token2 fee_bps2. Both linked.
    {
        let on = &g[CREATE_POOL];
        let peer_on = &g[CREATE_POOL_PEER];
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
        let f = packed(&bits, 13, 2)?;
        x.keep_identity(a, on, false, false)?;
        x.balance_change(a, on, &acc, &token, &(zero.clone() - &f))?;
        amount::range_check(&gated(&(&max_token - &token), on)?, 9)?;
        fee += &gf(CREATE_POOL) * &f;
        fee_token += &gf(CREATE_POOL) * &token;
        let head = &cpool
            + chain_id * p2(16)
            + &token * p2(24)
            + &peer_chain * p2(40)
            + &peer_token * p2(48)
            + &fee_bps * p2(64);
        // The signed half says it is the origin: two peer halves are not a pool creation.
        let kind =
            &cf * F::from(link::kind::CREATE_POOL) + &pf * F::from(link::kind::CREATE_POOL_PEER);
        add_link(
            &mut link,
            &create,
            [hdr_of(kind, head), zero.clone(), zero.clone(), zero.clone()],
        );
    }

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
    at_least(&link_id, &carry.next_link_id, 32, &emits)?;
    carry.next_link_id = emits.select(&(&link_id + &one), &carry.next_link_id)?;
    let [l0, l1, l2, l3] = link;
    let next = poseidon::hash(&[carry.links.clone(), l0, l1, l2, l3])?;
    carry.links = emits.select(&next, &carry.links)?;
    Ok(())
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

#[cfg(test)]
mod tests {
    //! Forgeries of one rule each. Every forged witness is made *consistent* everywhere else — the
    //! Merkle paths and roots are recomputed around the forged leaves ([`rechain`]), the public
    //! input is recomputed, and changed messages are re-signed with the real key — so the only
    //! thing wrong is the rule under test. A control run of the same pipeline without forgery is
    //! satisfied.

    use super::*;
    use crate::attacks::rechain;
    use ark_relations::gr1cs::ConstraintSystem;
    use rollup_state::dev::{DevWallet, amount, deposit};
    use rollup_state::*;
    use rollup_types::tx::*;

    const CAPACITY: usize = 8;
    const C1: ChainId = ChainId(1);

    struct Case {
        block: Block,
        alice: DevWallet,
        carol: Address,
    }

    /// Block 2 on chain 1: one transfer alice → carol (10, fee 1), or → bob, who holds nearly the
    /// maximum.
    fn case(transfer_to_bob: bool) -> Case {
        let bob = DevWallet::new(2).address();
        let carol = DevWallet::new(3).address();
        let to = if transfer_to_bob { bob } else { carol };
        let (block, _) = block_with(|alice| {
            vec![alice.sign(L2Tx::Transfer(Transfer {
                chain: C1,
                from: AccountId(1),
                to,
                token: TokenId(0),
                amount: amount(10),
                fee: amount(1),
                nonce: Nonce(1),
            }))]
        });
        Case {
            block,
            alice: DevWallet::new(1),
            carol,
        }
    }

    fn witness(c: &Case) -> ChainWitness {
        ChainWitness::new(
            &c.block.chains[0],
            c.block.number,
            &c.block.domain,
            CAPACITY,
        )
        .unwrap()
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
        s.signature = Some(
            c.alice
                .l2
                .sign(tx.message_hash(&rollup_state::dev::TEST_DOMAIN).unwrap()),
        );
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
        w.steps[0].signature = Some(
            mallory
                .l2
                .sign(tx.message_hash(&rollup_state::dev::TEST_DOMAIN).unwrap()),
        ); // right message, wrong key
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

    /// Block 2 on chains 1 and 2 after a setup block (alice: 10^6 of token 0 on chain 1 and of
    /// token 1 on chain 2, with a key; bob: 2^112 − 101 and carol: 1 of token 0 on chain 1).
    fn block_with(txs: impl FnOnce(&DevWallet) -> Vec<Tx>) -> (Block, ChainWitness) {
        let block = build_with(txs);
        let w = ChainWitness::new(&block.chains[0], block.number, &block.domain, CAPACITY).unwrap();
        (block, w)
    }

    /// Block 2 after the setup of [`block_with`], split into sub-blocks of `CAPACITY` chunks.
    fn build_with(txs: impl FnOnce(&DevWallet) -> Vec<Tx>) -> Block {
        let alice = DevWallet::new(1);
        let carol = DevWallet::new(3).address();
        let mut state = NetworkState::genesis(&NetworkConfig {
            chains: vec![C1, ChainId(2)],
            fee_account: DevWallet::new(0).address(),
            domain: rollup_state::dev::TEST_DOMAIN,
        })
        .unwrap();
        let ctx = BlockContext {
            number: BlockNumber(1),
            timestamp: 0,
            prev_sync_hash: [0; 32],
        };
        let setup = vec![
            deposit(1, 0, alice.address(), 0, 1_000_000),
            deposit(2, 0, alice.address(), 1, 1_000_000),
            deposit(1, 1, DevWallet::new(2).address(), 0, MAX_AMOUNT - 100),
            deposit(1, 2, carol, 0, 1),
            alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
        ];
        assert!(
            build_block(&mut state, &ctx, setup, BuildOptions::default())
                .rejected
                .is_empty()
        );
        let ctx = BlockContext {
            number: BlockNumber(2),
            timestamp: 1,
            prev_sync_hash: [0; 32],
        };
        let opts = BuildOptions {
            witness: true,
            proof_chunks: CAPACITY,
            ..Default::default()
        };
        let block = build_block(&mut state, &ctx, txs(&alice), opts);
        assert!(block.rejected.is_empty(), "{:?}", block.rejected);
        block
    }

    /// A part of several sub-blocks: a cross-chain pool (so links are carried), then alice's
    /// transfers to carol on chain 1 with fee 1 each (so fees are carried).
    fn split_block() -> (Block, Vec<ChainWitness>) {
        let block = build_with(|a| {
            let mut txs = vec![
                create_pool(a),
                add_liquidity(a, C1, 50_000, 2),
                add_liquidity(a, ChainId(2), 50_000, 0),
            ];
            txs.extend((3..24).map(|nonce| {
                a.sign(L2Tx::Transfer(Transfer {
                    chain: C1,
                    from: AccountId(1),
                    to: DevWallet::new(3).address(),
                    token: TokenId(0),
                    amount: amount(10),
                    fee: amount(1),
                    nonce: Nonce(nonce),
                }))
            }));
            txs
        });
        let cb = &block.chains[0];
        let ws = ChainWitness::sub_blocks(cb, block.number, &block.domain, CAPACITY).unwrap();
        (block, ws)
    }

    #[test]
    fn control_sub_blocks_chain_and_each_is_satisfied() {
        let (block, ws) = split_block();
        let cb = &block.chains[0];
        assert!(ws.len() >= 3, "{} sub-blocks", ws.len());
        assert!(
            !cb.links.is_empty(),
            "the pool's adds link chain 1 to chain 2"
        );
        assert_eq!(ws[0].old_root, cb.old_root);
        assert_eq!(ws[ws.len() - 1].new_root, cb.new_root);
        assert_eq!(ws[0].carry_in, F::from(0u8));
        for (k, pair) in ws.windows(2).enumerate() {
            assert_eq!(pair[0].new_root, pair[1].old_root, "root gap after {k}");
            assert_eq!(pair[0].carry_out, pair[1].carry_in, "carry after {k}");
            assert_ne!(pair[0].carry_out, F::from(0u8));
            assert!(!pair[0].last);
        }
        assert!(ws[ws.len() - 1].last);
        for (k, w) in ws.into_iter().enumerate() {
            assert!(satisfied(w), "sub-block {k}");
        }
        // The whole part does not fit one proof.
        assert!(matches!(
            ChainWitness::new(cb, block.number, &block.domain, CAPACITY),
            Err(CircuitError::TooLarge { .. })
        ));
    }

    #[test]
    fn sub_blocks_of_another_size_than_the_block_was_built_for_are_refused() {
        let (block, _) = split_block();
        assert!(matches!(
            ChainWitness::sub_blocks(&block.chains[0], block.number, &block.domain, 16),
            Err(CircuitError::SubBlocks { .. })
        ));
    }

    /// A later sub-block that starts from forged carried values (fewer fees collected so far, so
    /// the fee account is paid less; or a rewound link id) under the honest carry in.
    #[test]
    fn forged_carried_state_is_rejected() {
        let (_, ws) = split_block();
        let w = &ws[1];
        assert!(satisfied(w.clone()), "control");
        let mut fees = w.clone();
        assert_ne!(fees.start.fee_sums[0], F::from(0u8));
        fees.start.fee_sums[0] -= F::from(1u8);
        assert!(!satisfied(fees));
        let mut links = w.clone();
        links.start.next_link_id = F::from(0u8);
        assert!(!satisfied(links));
        let mut fold = w.clone();
        fold.start.links = F::from(0u8);
        assert!(!satisfied(fold));
    }

    /// A later sub-block claiming to be the first (carry in 0) while starting from a carried state.
    #[test]
    fn a_middle_sub_block_without_its_carry_is_rejected() {
        let (_, ws) = split_block();
        let mut w = ws[1].clone();
        w.carry_in = F::from(0u8);
        assert!(!satisfied(w));
    }

    /// Steps whose operation has `code`, with their chunk index.
    fn steps_of(w: &ChainWitness, code: u8) -> Vec<usize> {
        (0..w.steps.len())
            .filter(|&i| w.steps[i].op[0] == code)
            .collect()
    }

    /// Rewrites bytes of an operation in every step of it and in the published pubdata.
    fn rewrite_op(w: &mut ChainWitness, steps: &[usize], at: usize, bytes: &[u8]) {
        for &i in steps {
            w.steps[i].op[at..at + bytes.len()].copy_from_slice(bytes);
        }
        let first = steps[0];
        w.pubdata[first * CHUNK_BYTES + at..first * CHUNK_BYTES + at + bytes.len()]
            .copy_from_slice(bytes);
    }

    #[test]
    fn control_full_exit_and_deposit_blocks_are_satisfied() {
        let (_, mut w) = block_with(|a| {
            vec![
                Tx::FullExit(FullExit {
                    chain: C1,
                    serial_id: 3,
                    account: AccountId(1),
                    owner: a.address(),
                    token: TokenId(0),
                }),
                deposit(1, 4, DevWallet::new(3).address(), 0, 5),
            ]
        });
        rechain(&mut w);
        assert!(satisfied(w));
    }

    #[test]
    fn full_exit_paying_less_than_the_balance_is_rejected() {
        let (_, mut w) = block_with(|a| {
            vec![Tx::FullExit(FullExit {
                chain: C1,
                serial_id: 3,
                account: AccountId(1),
                owner: a.address(),
                token: TokenId(0),
            })]
        });
        let steps = steps_of(&w, code::FULL_EXIT);
        rewrite_op(&mut w, &steps, 6, &amount(999_999).to_be_bytes14());
        w.steps[steps[0]].a.balance.2 = F::from(1u8); // the debit follows the published amount
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn refund_of_a_creditable_deposit_is_rejected() {
        let (_, mut w) = block_with(|_| vec![deposit(1, 3, DevWallet::new(3).address(), 0, 5)]);
        let steps = steps_of(&w, code::DEPOSIT);
        rewrite_op(&mut w, &steps, 0, &[code::DEPOSIT_REFUND]);
        // A refund changes nothing: the update becomes a read.
        let a = &mut w.steps[steps[0]].a;
        a.after = a.before.unwrap();
        a.balance.2 = a.balance.1;
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn minting_extra_lp_shares_is_rejected() {
        let (_, mut w) = block_with(|a| {
            let add = |amt: u128, nonce: u32| {
                a.sign(L2Tx::AddLiquidity(AddLiquidity {
                    chain: C1,
                    account: AccountId(1),
                    pool: PoolId(0),
                    amount: amount(amt),
                    min_shares: amount(0),
                    fee: amount(0),
                    nonce: Nonce(nonce),
                }))
            };
            vec![
                a.sign(L2Tx::CreatePool(CreatePool {
                    chain: C1,
                    account: AccountId(1),
                    pool: PoolId(0),
                    token: TokenId(0),
                    peer_chain: ChainId(2),
                    peer_token: TokenId(1),
                    fee_bps: 30,
                    fee: amount(0),
                    nonce: Nonce(1),
                })),
                add(50_000, 2),
                add(10_000, 3),
            ]
        });
        let mut control = w.clone();
        rechain(&mut control);
        assert!(
            satisfied(control),
            "the honest pool block, rechained, is satisfied"
        );
        let steps = steps_of(&w, code::ADD_LIQUIDITY);
        let (first, second) = (steps[2], steps[3]); // the later add: pool update, then LP credit
        w.steps[first].b.after[2] += F::from(1u8); // one more share in supply
        w.steps[second].a.balance.2 += F::from(1u8); // and in the LP's balance
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    /// The witness of the block's chain at `slot` (0: chain 1, 1: chain 2).
    fn chain_witness(block: &Block, slot: usize) -> ChainWitness {
        ChainWitness::new(&block.chains[slot], block.number, &block.domain, CAPACITY).unwrap()
    }

    /// Rechains `w` and checks it is satisfied: the control for a forgery of the same block.
    fn assert_control(w: &ChainWitness) {
        let mut control = w.clone();
        rechain(&mut control);
        assert!(
            satisfied(control),
            "the honest block, rechained, is satisfied"
        );
    }

    fn create_pool(a: &DevWallet) -> Tx {
        a.sign(L2Tx::CreatePool(CreatePool {
            chain: C1,
            account: AccountId(1),
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: ChainId(2),
            peer_token: TokenId(1),
            fee_bps: 30,
            fee: amount(0),
            nonce: Nonce(1),
        }))
    }

    fn add_liquidity(a: &DevWallet, chain: ChainId, amt: u128, nonce: u32) -> Tx {
        a.sign(L2Tx::AddLiquidity(AddLiquidity {
            chain,
            account: AccountId(1),
            pool: PoolId(0),
            amount: amount(amt),
            min_shares: amount(0),
            fee: amount(1),
            nonce: Nonce(nonce),
        }))
    }

    /// A pool with 50,000 on each side, then `then` (alice's next nonce on chain 1 is 3).
    fn pool_block(then: impl FnOnce(&DevWallet) -> Vec<Tx>) -> Block {
        block_with(|a| {
            let mut txs = vec![
                create_pool(a),
                add_liquidity(a, C1, 50_000, 2),
                add_liquidity(a, ChainId(2), 50_000, 0),
            ];
            txs.extend(then(a));
            txs
        })
        .0
    }

    fn swap(a: &DevWallet) -> Tx {
        a.sign(L2Tx::Swap(Swap {
            chain: C1,
            account: AccountId(1),
            pool: PoolId(0),
            amount_in: amount(1_000),
            min_out: amount(900),
            fee: amount(3),
            nonce: Nonce(3),
        }))
    }

    #[test]
    fn key_change_setting_another_key_is_rejected() {
        let block = block_with(|a| vec![a.change_pubkey(C1, AccountId(1), 1, 0, 0)]).0;
        // The origin half: the leaf gets a key other than the published one.
        let mut w = chain_witness(&block, 0);
        assert_control(&w);
        let step = steps_of(&w, code::CHANGE_PUBKEY)[0];
        w.steps[step].b.after[1] += F::from(1u8);
        rechain(&mut w);
        assert!(!satisfied(w));
        // The broadcast half on chain 2 likewise.
        let mut w = chain_witness(&block, 1);
        assert_control(&w);
        let step = steps_of(&w, code::SET_PUBKEY)[0];
        w.steps[step].a.after[1] += F::from(1u8);
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn pool_created_with_reserves_is_rejected() {
        let (_, mut w) = block_with(|a| vec![create_pool(a)]);
        assert_control(&w);
        let step = steps_of(&w, code::CREATE_POOL)[0];
        w.steps[step].b.after[1] = F::from(1_000u64); // a reserve out of nothing
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn pool_created_with_other_parameters_than_published_is_rejected() {
        let block = block_with(|a| vec![create_pool(a)]).0;
        let mut w = chain_witness(&block, 1);
        assert_control(&w);
        let step = steps_of(&w, code::CREATE_POOL_PEER)[0];
        w.steps[step].b.after[0] += F::from(1u8) * p2(40); // fee_bps 31 in the leaf, 30 published
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn removal_paying_more_than_the_share_is_rejected() {
        let block = pool_block(|a| {
            vec![a.sign(L2Tx::RemoveLiquidity(RemoveLiquidity {
                chain: C1,
                account: AccountId(1),
                pool: PoolId(0),
                shares: amount(5_000),
                min_out: amount(0),
                fee: amount(1),
                nonce: Nonce(3),
            }))]
        });
        let mut w = chain_witness(&block, 0);
        assert_control(&w);
        let steps = steps_of(&w, code::REMOVE_LIQUIDITY);
        // One more out of the reserve, into the LP's wallet: value is conserved, the share is not.
        w.steps[steps[0]].b.after[1] -= F::from(1u8);
        w.steps[steps[1]].a.balance.2 += F::from(1u8);
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn swap_input_not_reaching_the_reserve_is_rejected() {
        let block = pool_block(|a| vec![swap(a)]);
        let mut w = chain_witness(&block, 0);
        assert_control(&w);
        let step = steps_of(&w, code::SWAP_IN)[0];
        w.steps[step].b.after[1] -= F::from(1u8); // the reserve grows by amount − 1
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn swap_output_paying_more_than_published_is_rejected() {
        let block = pool_block(|a| vec![swap(a)]);
        let mut w = chain_witness(&block, 1);
        assert_control(&w);
        let step = steps_of(&w, code::SWAP_OUT)[0];
        w.steps[step].b.after[1] -= F::from(1u8);
        w.steps[step].a.balance.2 += F::from(1u8);
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn fee_settlement_overpaying_the_fee_account_is_rejected() {
        let c = case(false);
        let mut w = witness(&c);
        assert_control(&w);
        assert!(!w.fees.is_empty());
        w.fees[0].2.balance.2 += F::from(1u8);
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn deposit_credited_to_another_owner_is_rejected() {
        let (_, mut w) = block_with(|_| vec![deposit(1, 3, DevWallet::new(3).address(), 0, 5)]);
        assert_control(&w);
        let steps = steps_of(&w, code::DEPOSIT);
        // The queue (and pubdata) names dave; the credit goes to carol's account.
        rewrite_op(&mut w, &steps, 20, &DevWallet::new(4).address().0);
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    #[test]
    fn account_created_with_a_key_is_rejected() {
        let (_, mut w) = block_with(|_| vec![deposit(1, 3, DevWallet::new(7).address(), 0, 5)]);
        assert_control(&w);
        let step = steps_of(&w, code::CREATE_ACCOUNT)[0];
        w.steps[step].a.after[1] = F::from(42u8); // a key nobody authorised
        rechain(&mut w);
        assert!(!satisfied(w));
    }

    /// A first key change on a fresh account (no key yet, nonce 0 → 1): its step has an empty key
    /// hash where pool steps read a reserve, which the share witness must not divide by.
    #[test]
    fn first_key_change_of_a_new_account_is_satisfied() {
        let carol = DevWallet::new(3);
        let (_, w) = block_with(|_| vec![carol.change_pubkey(C1, AccountId(3), 0, 0, 0)]);
        assert!(satisfied(w));
    }
}
