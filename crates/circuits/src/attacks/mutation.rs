//! Witness mutation: a search for forgeries that does not rely on anyone guessing the attack.
//!
//! Honest blocks of every operation kind ([`corpus`]) are mutated one witness value at a time —
//! op bytes (with the published pubdata following them), leaf fields and balances after each
//! update, balance slots, link ids, the signed-only values, fee slots, signatures, fee settlement;
//! events and links of the binding — with boundary values (`2^k` for a `k`-bit field, `2^32` for
//! a link id, `2^112` for an amount). Everything a forger recomputes is made consistent again
//! (Merkle paths and roots by [`rechain`], the pubdata windows from the op bytes, the links
//! hashes), and the chain circuit is synthesised without its final public-input equality, so that
//! the public input a forger would publish is whatever its witness implies.
//!
//! Verdicts ([`Verdict`]): a mutant must be refused by the circuit, or imply the honest public
//! values (a witness-only change, e.g. in an unused slot), or be a block the native rules accept
//! with the same public values — its pubdata replayed by `ChainState::apply_op` from the block's
//! old state reaching the implied root, every signed operation's signature verifying natively
//! over the message its fields imply. Anything else is a [`Verdict::Finding`]. Authorisations the
//! contracts check (priority operations against the L1 queue, ChangePubKey's ECDSA signature) and
//! the cross-chain pairing the binding checks are outside a chain proof's statement, so a mutant
//! that changes only those is natively valid at this layer.

use super::*;
use crate::binding::{BroadcastEvent, PoolEvent, SwapEvent};
use crate::chain::StepWitness;
use crate::wire::U128;
use ark_r1cs_std::GR1CSVar;
use rollup_state::dev::amount;
use rollup_types::op::{CHUNK_BYTES, Op, code, decode_pubdata};
use rollup_types::tx::*;

/// Capacity of the corpus' chain circuits.
pub const CAPACITY: usize = 16;

/// An honest block with the state before it.
pub struct Case {
    /// What it covers.
    pub name: &'static str,
    /// The network before the block.
    pub pre: NetworkState,
    /// The block (built with its witness).
    pub block: Block,
}

/// Honest blocks covering every operation kind the circuits prove.
pub fn corpus() -> Vec<Case> {
    let cast = Cast::new();
    let state = network(&cast);
    let (attacker, victim) = (AccountId(1), AccountId(2));
    let newcomer = DevWallet::new(7).address();
    let accounts = vec![
        cast.attacker.sign(L2Tx::Transfer(Transfer {
            chain: ChainId(1),
            from: attacker,
            to: cast.victim.address(),
            token: TokenId(0),
            amount: amount(10),
            fee: amount(1),
            nonce: Nonce(1),
        })),
        cast.victim.sign(L2Tx::Withdraw(Withdraw {
            chain: ChainId(2),
            account: victim,
            to: cast.victim.address(),
            token: TokenId(0),
            amount: amount(500),
            fee: amount(2),
            nonce: Nonce(0),
        })),
        deposit(3, 2, cast.victim.address(), 0, 77),
        deposit(1, 2, newcomer, 0, 5),
        Tx::FullExit(FullExit {
            chain: ChainId(2),
            serial_id: 2,
            account: attacker,
            owner: cast.attacker.address(),
            token: TokenId(0),
        }),
        Tx::FullExit(FullExit {
            chain: ChainId(3),
            serial_id: 3,
            account: attacker,
            owner: cast.victim.address(), // not the owner: nothing paid
            token: TokenId(0),
        }),
        cast.attacker.change_pubkey(ChainId(1), attacker, 2, 0, 3),
    ];
    let add = |chain: u8, value: u128, fee: u128, nonce: u32| {
        cast.attacker.sign(L2Tx::AddLiquidity(AddLiquidity {
            chain: ChainId(chain),
            account: attacker,
            pool: PoolId(0),
            amount: amount(value),
            min_shares: amount(1),
            fee: amount(fee),
            nonce: Nonce(nonce),
        }))
    };
    let pools = vec![
        cast.attacker.sign(L2Tx::CreatePool(CreatePool {
            chain: ChainId(1),
            account: attacker,
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: ChainId(2),
            peer_token: TokenId(0),
            fee_bps: 30,
            fee: amount(1),
            nonce: Nonce(1),
        })),
        add(1, 50_000, 1, 2),
        add(2, 40_000, 0, 0),
        cast.victim.sign(L2Tx::Swap(Swap {
            chain: ChainId(1),
            account: victim,
            pool: PoolId(0),
            amount_in: amount(1_000),
            min_out: amount(700),
            fee: amount(2),
            nonce: Nonce(1),
        })),
        add(1, 5_000, 0, 3),
        cast.attacker.sign(L2Tx::RemoveLiquidity(RemoveLiquidity {
            chain: ChainId(1),
            account: attacker,
            pool: PoolId(0),
            shares: amount(2_000),
            min_out: amount(1),
            fee: amount(1),
            nonce: Nonce(4),
        })),
    ];
    // A deposit the victim's balance cannot take is refunded.
    let full = {
        let txs = vec![deposit(
            1,
            2,
            cast.victim.address(),
            0,
            MAX_AMOUNT - 1_000_000,
        )];
        block(&state, 2, txs).1
    };
    let refund = vec![deposit(1, 3, cast.victim.address(), 0, 2)];
    let mut out = Vec::new();
    for (name, pre, txs) in [
        ("accounts", &state, accounts),
        ("pools", &state, pools),
        ("refund", &full, refund),
    ] {
        let (b, _) = block(pre, 3, txs);
        out.push(Case {
            name,
            pre: pre.clone(),
            block: b,
        });
    }
    out
}

/// One witness value changed (each variant's doc names its fields).
#[allow(missing_docs)]
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Byte `byte` of step `step`'s op (and every other step of the same op, and the pubdata).
    OpByte { step: usize, byte: usize, value: u8 },
    /// Field `field` of update `slot` (0: A, 1: B) after step `step`.
    After {
        step: usize,
        slot: usize,
        field: usize,
        value: F,
    },
    /// The balance after update `slot` of step `step`.
    BalanceAfter { step: usize, slot: usize, value: F },
    /// The balance slot (token) of update `slot` of step `step`.
    BalanceSlot {
        step: usize,
        slot: usize,
        value: u64,
    },
    /// Step `step`'s link id.
    LinkId { step: usize, value: F },
    /// Step `step`'s signed-only value (min out, min shares).
    Aux { step: usize, value: u128 },
    /// Step `step`'s fee slot.
    FeeSlot { step: usize, value: Option<usize> },
    /// Step `step`'s signature dropped, or its `s` changed.
    Signature { step: usize, drop: bool },
    /// Fee settlement `j`: its token, or the fee account's balance after it.
    Fee { j: usize, token: bool, value: F },
    /// A binding event field (`kind`: 0 swap, 1 broadcast, 2 pool; `field` by declaration order).
    Event {
        kind: usize,
        index: usize,
        field: usize,
        value: F,
    },
    /// A default event of `kind` added (its slot's present bit set).
    ExtraEvent { kind: usize },
    /// A field of link `index` of chain slot `chain` in the binding (links hash recomputed).
    Link {
        chain: usize,
        index: usize,
        field: usize,
        value: F,
    },
}

/// Where a mutation applies.
#[derive(Clone, Debug)]
pub struct Mutant {
    /// Corpus case index.
    pub case: usize,
    /// Chain slot, or `None` for the binding.
    pub chain: Option<usize>,
    /// The change.
    pub mutation: Mutation,
}

/// What happened to a mutant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The circuit refused it.
    Rejected,
    /// No forger can make it consistent (a Merkle path it would need is not the one changed).
    NotRederivable,
    /// Accepted, implying the honest public values (a witness-only change).
    SamePublic,
    /// Accepted with other public values that the native rules accept too.
    NativelyValid,
    /// Accepted, and the native rules refuse what it proves: a soundness bug.
    Finding(String),
}

fn p(e: u32) -> F {
    crate::gadgets::bytes::p2(e)
}

/// Replacement values for a field of `bits` bits holding `v`: +1, 0, 2^bits − 1 and 2^bits.
fn boundary(v: F, bits: u32) -> Vec<F> {
    let mut out = vec![
        v + F::from(1u8),
        F::from(0u8),
        p(bits) - F::from(1u8),
        p(bits),
    ];
    out.retain(|x| *x != v);
    out.dedup();
    out
}

/// Every mutation of every case (in a fixed order).
pub fn enumerate(cases: &[Case]) -> Vec<Mutant> {
    let mut out = Vec::new();
    for (ci, case) in cases.iter().enumerate() {
        for slot in 0..case.block.chains.len() {
            let w = chain_witness(&case.block, slot, CAPACITY);
            let mut push = |m| {
                out.push(Mutant {
                    case: ci,
                    chain: Some(slot),
                    mutation: m,
                })
            };
            for (i, s) in w.steps.iter().enumerate() {
                let is_real = s.op[0] != code::NOOP;
                // Padding steps get a few mutations; real ones every field.
                if !is_real && i + 1 != w.steps.len() {
                    continue;
                }
                if s.chunk == 0 {
                    let len = op_len(s.op[0]);
                    for byte in 0..(len + 1).min(s.op.len()) {
                        for value in [s.op[byte] ^ 0x01, s.op[byte] ^ 0x80, 0xff] {
                            if value != s.op[byte] {
                                push(Mutation::OpByte {
                                    step: i,
                                    byte,
                                    value,
                                });
                            }
                        }
                    }
                    // 2^32 reads as id 0 with the payload one higher (below an earlier link).
                    let mut ids = vec![s.link_id + F::from(1u8), p(32), s.link_id + p(32)];
                    ids.dedup();
                    for value in ids {
                        push(Mutation::LinkId { step: i, value });
                    }
                    push(Mutation::Aux {
                        step: i,
                        value: *s.aux + 1,
                    });
                    push(Mutation::Aux {
                        step: i,
                        value: 1 << 112,
                    });
                    for v in [None, Some(0), Some(1)] {
                        if v != s.fee_slot {
                            push(Mutation::FeeSlot { step: i, value: v });
                        }
                    }
                    if s.signature.is_some() {
                        push(Mutation::Signature {
                            step: i,
                            drop: true,
                        });
                        push(Mutation::Signature {
                            step: i,
                            drop: false,
                        });
                    }
                }
                for (slot_ab, u) in [&s.a, &s.b].into_iter().enumerate() {
                    if !u.real {
                        continue;
                    }
                    for field in 0..3 {
                        let bits = [160, 160, 32][field];
                        for value in boundary(u.after[field], bits) {
                            push(Mutation::After {
                                step: i,
                                slot: slot_ab,
                                field,
                                value,
                            });
                        }
                    }
                    if u.has_balance {
                        for value in boundary(u.balance.2, 112) {
                            push(Mutation::BalanceAfter {
                                step: i,
                                slot: slot_ab,
                                value,
                            });
                        }
                        push(Mutation::BalanceSlot {
                            step: i,
                            slot: slot_ab,
                            value: u.balance.0 ^ 1,
                        });
                    }
                }
            }
            for (j, f) in w.fees.iter().enumerate() {
                if *f.1 > 0 {
                    push(Mutation::Fee {
                        j,
                        token: true,
                        value: F::from(f.0 + 1),
                    });
                    push(Mutation::Fee {
                        j,
                        token: false,
                        value: f.2.balance.2 + F::from(1u8),
                    });
                }
            }
        }
        let b = BindingWitness::new(&case.block, &CHAINS, CAPACITY).expect("binding");
        let mut push = |m| {
            out.push(Mutant {
                case: ci,
                chain: None,
                mutation: m,
            })
        };
        for (kind, n, fields) in [
            (0, b.swaps.len(), 11),
            (1, b.broadcasts.len(), 5),
            (2, b.pools.len(), 7),
        ] {
            for index in 0..n {
                for field in 0..fields {
                    let v = event_field(&b, kind, index, field);
                    push(Mutation::Event {
                        kind,
                        index,
                        field,
                        value: v + F::from(1u8),
                    });
                }
            }
            push(Mutation::ExtraEvent { kind });
        }
        for (chain, links) in b.links.iter().enumerate() {
            for (index, l) in links.iter().enumerate() {
                for (field, v) in l.iter().enumerate() {
                    push(Mutation::Link {
                        chain,
                        index,
                        field,
                        value: *v + F::from(1u8),
                    });
                }
                push(Mutation::Link {
                    chain,
                    index,
                    field: 0,
                    value: l[0] + p(40),
                });
            }
        }
    }
    out
}

fn op_len(code: u8) -> usize {
    rollup_types::op::chunks_for_code(code).unwrap_or(1) * CHUNK_BYTES
}

fn event_field(b: &BindingWitness, kind: usize, index: usize, field: usize) -> F {
    match kind {
        0 => {
            let e = &b.swaps[index];
            let v = [
                e.id as u128,
                e.pool as u128,
                e.account as u128,
                e.fee_bps as u128,
                e.chain_in as u128,
                e.chain_out as u128,
                *e.r_in,
                *e.a_in,
                *e.min_out,
                *e.r_out,
                *e.a_out,
            ];
            F::from(v[field])
        }
        1 => {
            let e = &b.broadcasts[index];
            match field {
                0 => F::from(e.kind),
                1 => F::from(e.id),
                2 => F::from(e.account),
                3 => e.value,
                _ => F::from(e.origin),
            }
        }
        _ => {
            let e = &b.pools[index];
            let v = [
                e.id as u64,
                e.pool as u64,
                e.chain_a as u64,
                e.token_a as u64,
                e.chain_b as u64,
                e.token_b as u64,
                e.fee_bps as u64,
            ];
            F::from(v[field])
        }
    }
}

/// A small field value as an integer (saturating; event fields are native integers).
fn small(v: F) -> u128 {
    use ark_ff::{BigInteger, PrimeField};
    let b = v.into_bigint().to_bytes_le();
    if b[16..].iter().any(|x| *x != 0) {
        return u128::MAX;
    }
    u128::from_le_bytes(b[..16].try_into().expect("16 bytes"))
}

fn set_event(b: &mut BindingWitness, kind: usize, index: usize, field: usize, v: F) {
    let x = small(v);
    let n = |bits: u32| x.min((1u128 << bits) - 1);
    match kind {
        0 => {
            let e = &mut b.swaps[index];
            match field {
                0 => e.id = n(32) as u32,
                1 => e.pool = n(16) as u16,
                2 => e.account = n(32) as u32,
                3 => e.fee_bps = n(16) as u16,
                4 => e.chain_in = n(8) as u8,
                5 => e.chain_out = n(8) as u8,
                6 => e.r_in = U128(x),
                7 => e.a_in = U128(x),
                8 => e.min_out = U128(x),
                9 => e.r_out = U128(x),
                _ => e.a_out = U128(x),
            }
        }
        1 => {
            let e = &mut b.broadcasts[index];
            match field {
                0 => e.kind = n(8) as u8,
                1 => e.id = n(32) as u32,
                2 => e.account = n(32) as u32,
                3 => e.value = v,
                _ => e.origin = n(8) as u8,
            }
        }
        _ => {
            let e = &mut b.pools[index];
            match field {
                0 => e.id = n(32) as u32,
                1 => e.pool = n(16) as u16,
                2 => e.chain_a = n(8) as u8,
                3 => e.token_a = n(16) as u16,
                4 => e.chain_b = n(8) as u8,
                5 => e.token_b = n(16) as u16,
                _ => e.fee_bps = n(16) as u16,
            }
        }
    }
}

/// The steps of the op that step `i` belongs to.
fn op_steps(w: &ChainWitness, i: usize) -> std::ops::Range<usize> {
    let start = i - w.steps[i].chunk as usize;
    let n = rollup_types::op::chunks_for_code(w.steps[start].op[0]).unwrap_or(1);
    start..(start + n).min(w.steps.len())
}

fn update(s: &mut StepWitness, slot: usize) -> &mut crate::gadgets::update::UpdateWitness {
    if slot == 0 { &mut s.a } else { &mut s.b }
}

/// Applies a chain mutation and re-derives what a forger recomputes.
fn mutate_chain(w: &mut ChainWitness, m: &Mutation) -> bool {
    match *m {
        Mutation::OpByte { step, byte, value } => {
            for i in op_steps(w, step) {
                w.steps[i].op[byte] = value;
            }
        }
        Mutation::After {
            step,
            slot,
            field,
            value,
        } => update(&mut w.steps[step], slot).after[field] = value,
        Mutation::BalanceAfter { step, slot, value } => {
            update(&mut w.steps[step], slot).balance.2 = value
        }
        Mutation::BalanceSlot { step, slot, value } => {
            update(&mut w.steps[step], slot).balance.0 = value
        }
        Mutation::LinkId { step, value } => {
            for i in op_steps(w, step) {
                w.steps[i].link_id = value;
            }
        }
        Mutation::Aux { step, value } => {
            for i in op_steps(w, step) {
                w.steps[i].aux = U128(value);
            }
        }
        Mutation::FeeSlot { step, value } => w.steps[step].fee_slot = value,
        Mutation::Signature { step, drop } => {
            let s = &mut w.steps[step].signature;
            if drop {
                *s = None;
            } else if let Some(sig) = s {
                sig.s += ark_ed_on_bn254::Fr::from(1u8);
            }
        }
        Mutation::Fee { j, token, value } => {
            if token {
                w.fees[j].0 = small(value).min(u16::MAX as u128) as u16;
                w.fees[j].2.balance.0 = w.fees[j].0 as u64;
            } else {
                w.fees[j].2.balance.2 = value;
            }
        }
        _ => unreachable!("a binding mutation"),
    }
    // The published pubdata follows the op bytes of each step's window.
    for (i, s) in w.steps.iter().enumerate() {
        let at = s.chunk as usize * CHUNK_BYTES;
        w.pubdata[i * CHUNK_BYTES..(i + 1) * CHUNK_BYTES]
            .copy_from_slice(&s.op[at..at + CHUNK_BYTES]);
    }
    try_rechain(w)
}

/// The chain circuit without its public input's equality (what [`implied`] checks).
struct WithoutPublic(ChainCircuit);

impl ark_relations::gr1cs::ConstraintSynthesizer<F> for WithoutPublic {
    fn generate_constraints(
        self,
        cs: ark_relations::gr1cs::ConstraintSystemRef<F>,
    ) -> Result<(), ark_relations::gr1cs::SynthesisError> {
        self.0.synthesize(cs, false).map(|_| ())
    }
}

/// The values a chain witness implies, if it satisfies every constraint but the public input's.
fn implied(w: &ChainWitness) -> Option<(F, F, Vec<u8>)> {
    let r1cs = super::cached(format!("chain-{CAPACITY}-without-public"), || {
        WithoutPublic(ChainCircuit {
            capacity: CAPACITY,
            witness: None,
        })
    });
    let (z, out) = r1cs
        .assign_with(|cs| {
            ChainCircuit {
                capacity: CAPACITY,
                witness: Some(w.clone()),
            }
            .synthesize(cs, false)
        })
        .expect("synthesis");
    if r1cs.first_unsatisfied(&z).is_some() {
        return None;
    }
    let pubdata = out
        .pubdata
        .iter()
        .map(|b| b.value().expect("assigned"))
        .collect();
    Some((
        out.new_root.value().ok()?,
        out.links_hash.value().ok()?,
        pubdata,
    ))
}

/// Whether the native rules accept `pubdata` from `pre` reaching `root`, with every signed op's
/// signature (from the witness steps) valid over the message its fields imply.
fn natively_valid(
    case: &Case,
    slot: usize,
    w: &ChainWitness,
    pubdata: &[u8],
    root: F,
) -> Result<(), String> {
    let chain_id = case.block.chains[slot].chain;
    let mut pre = case.pre.clone();
    let chain = pre.chain_mut(chain_id).expect("connected");
    let ops = decode_pubdata(pubdata).map_err(|e| format!("pubdata: {e}"))?;
    let mut step = 0;
    for op in &ops {
        let s = &w.steps[step];
        let nonce = |a: AccountId| chain.account(a).map(|x| x.nonce).unwrap_or(Nonce(0));
        let tx = match *op {
            Op::Transfer {
                from,
                to,
                token,
                amount,
                fee,
            } => Some(L2Tx::Transfer(Transfer {
                chain: chain_id,
                from,
                to: chain
                    .account(to)
                    .map(|a| a.address)
                    .ok_or("transfer to no account")?,
                token,
                amount,
                fee,
                nonce: nonce(from),
            })),
            Op::Withdraw {
                account,
                token,
                amount,
                fee,
                to,
                nonce,
            } => Some(L2Tx::Withdraw(Withdraw {
                chain: chain_id,
                account,
                to,
                token,
                amount,
                fee,
                nonce,
            })),
            Op::AddLiquidity {
                account,
                pool,
                amount,
                fee,
            } => Some(L2Tx::AddLiquidity(AddLiquidity {
                chain: chain_id,
                account,
                pool,
                amount,
                fee,
                min_shares: Amount::new(*s.aux).map_err(|e| e.to_string())?,
                nonce: nonce(account),
            })),
            Op::RemoveLiquidity {
                account,
                pool,
                shares,
                fee,
            } => Some(L2Tx::RemoveLiquidity(RemoveLiquidity {
                chain: chain_id,
                account,
                pool,
                shares,
                fee,
                min_out: Amount::new(*s.aux).map_err(|e| e.to_string())?,
                nonce: nonce(account),
            })),
            Op::SwapIn {
                account,
                pool,
                amount,
                fee,
            } => Some(L2Tx::Swap(Swap {
                chain: chain_id,
                account,
                pool,
                amount_in: amount,
                fee,
                min_out: Amount::new(*s.aux).map_err(|e| e.to_string())?,
                nonce: nonce(account),
            })),
            Op::CreatePool {
                account,
                pool,
                token,
                peer_chain,
                peer_token,
                fee_bps,
                fee,
            } => Some(L2Tx::CreatePool(CreatePool {
                chain: chain_id,
                account,
                pool,
                token,
                peer_chain,
                peer_token,
                fee_bps,
                fee,
                nonce: nonce(account),
            })),
            _ => None,
        };
        if let Some(tx) = tx {
            let sig = s.signature.ok_or("a signed op without a signature")?;
            let domain = Domain(rollup_crypto::field::fr_to_be_bytes(&w.domain));
            let msg = tx.message_hash(&domain).map_err(|e| e.to_string())?;
            sig.verify(msg)
                .map_err(|_| "signature does not verify".to_string())?;
            let signer = tx.account();
            let pkh = chain.account(signer).map(|a| a.pubkey_hash);
            if pkh != Some(sig.pubkey.hash()) {
                return Err("signed by a key other than the account's".into());
            }
        }
        chain.apply_op(op).map_err(|e| format!("{op:?}: {e}"))?;
        step += op.chunks();
    }
    chain.settle_fees();
    if chain.root() != root {
        return Err("replay reaches another root".into());
    }
    Ok(())
}

/// Runs one mutant.
pub fn run(cases: &[Case], m: &Mutant) -> Verdict {
    let case = &cases[m.case];
    match m.chain {
        Some(slot) => {
            let honest = chain_witness(&case.block, slot, CAPACITY);
            let mut w = honest.clone();
            if !mutate_chain(&mut w, &m.mutation) {
                return Verdict::NotRederivable;
            }
            let Some((root, links, pubdata)) = implied(&w) else {
                return Verdict::Rejected;
            };
            if root == honest.new_root && links == honest.links_hash && pubdata == honest.pubdata {
                return Verdict::SamePublic;
            }
            let used = pubdata.len() - pubdata.iter().rev().take_while(|b| **b == 0).count();
            let used = used.div_ceil(CHUNK_BYTES) * CHUNK_BYTES;
            match natively_valid(case, slot, &w, &pubdata[..used], root) {
                Ok(()) if links == honest.links_hash => Verdict::NativelyValid,
                Ok(()) if relabelled(case, slot, &honest, &m.mutation) == Some(links) => {
                    Verdict::NativelyValid
                }
                Ok(()) => Verdict::Finding(format!("{m:?}: links changed, ops natively valid")),
                Err(e) => Verdict::Finding(format!("{m:?}: {e}")),
            }
        }
        None => {
            let mut b = honest_binding(case);
            match m.mutation {
                Mutation::Event {
                    kind,
                    index,
                    field,
                    value,
                } => set_event(&mut b, kind, index, field, value),
                Mutation::ExtraEvent { kind } => match kind {
                    0 => b.swaps.push(SwapEvent::default()),
                    1 => b.broadcasts.push(BroadcastEvent::default()),
                    _ => b.pools.push(PoolEvent::default()),
                },
                Mutation::Link {
                    chain,
                    index,
                    field,
                    value,
                } => {
                    b.links[chain][index][field] = value;
                    b.links_hashes[chain] = fold_links(&b.links[chain]);
                }
                _ => unreachable!("a chain mutation"),
            }
            let (ok, assignment) = binding_assignment(b);
            if !ok {
                Verdict::Rejected
            } else if assignment == binding_assignment(honest_binding(case)).1 {
                // A native field the circuit never reads for this event (an account creation's
                // origin): the prover's assignment is the honest one.
                Verdict::SamePublic
            } else {
                Verdict::Finding(format!("{m:?}: the binding accepts it"))
            }
        }
    }
}

fn honest_binding(case: &Case) -> BindingWitness {
    BindingWitness::new(&case.block, &CHAINS, CAPACITY).expect("binding")
}

/// Whether `w` satisfies the binding circuit, and the full assignment it gives its variables.
fn binding_assignment(w: BindingWitness) -> (bool, Vec<F>) {
    let r1cs = super::binding_r1cs(&CHAINS, CAPACITY);
    let z = r1cs
        .assign(crate::binding::BindingCircuit {
            chains: CHAINS.to_vec(),
            links: CAPACITY,
            witness: Some(w),
        })
        .expect("synthesis");
    (r1cs.first_unsatisfied(&z).is_none(), z)
}

/// The links hash of the honest links with the mutated step's link under the mutated id, when
/// that id is one a link can have: a link id changed alone relabels its link (the binding pairs
/// halves by id; ids only have to increase on a chain). Anything else — an id past 2^32 above all
/// — changes what the link says.
fn relabelled(case: &Case, slot: usize, honest: &ChainWitness, m: &Mutation) -> Option<F> {
    let Mutation::LinkId { step, value } = *m else {
        return None;
    };
    let old = u32::try_from(small(honest.steps[step].link_id)).ok()?;
    let new = u32::try_from(small(value)).ok()?;
    let links: Vec<[F; 4]> = case.block.chains[slot]
        .links
        .iter()
        .map(|l| {
            if l.id() == old {
                l.clone().with_id(new)
            } else {
                l.clone()
            }
        })
        .map(|l| l.to_fields())
        .collect();
    Some(fold_links(&links))
}

/// Tallies of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Mutants run.
    pub tried: usize,
    /// Refused by the circuits.
    pub rejected: usize,
    /// Not constructible consistently.
    pub not_rederivable: usize,
    /// Accepted with the honest public values.
    pub same_public: usize,
    /// Accepted and natively valid.
    pub natively_valid: usize,
    /// Which those were.
    pub natively_valid_mutants: Vec<String>,
    /// Soundness bugs.
    pub findings: Vec<String>,
}

/// Runs `count` mutants picked from every mutation of the corpus by a seeded shuffle (all of them
/// when `count` is larger).
pub fn sample(count: usize, seed: u64) -> Report {
    let cases = corpus();
    let mut all = enumerate(&cases);
    // xorshift64*: a fixed, dependency-free shuffle.
    let mut x = seed | 1;
    for i in (1..all.len()).rev() {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let j = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) % (i as u64 + 1)) as usize;
        all.swap(i, j);
    }
    let mut r = Report::default();
    for m in all.iter().take(count) {
        r.tried += 1;
        match run(&cases, m) {
            Verdict::Rejected => r.rejected += 1,
            Verdict::NotRederivable => r.not_rederivable += 1,
            Verdict::SamePublic => r.same_public += 1,
            Verdict::NativelyValid => {
                r.natively_valid += 1;
                r.natively_valid_mutants.push(format!("{m:?}"));
            }
            Verdict::Finding(f) => r.findings.push(f),
        }
    }
    r
}

/// The number of mutations the corpus has.
pub fn total() -> usize {
    enumerate(&corpus()).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mutants run by the test command; `cargo run --release -p rollup-circuits --features
    /// attacks --example mutants -- --count N` runs more (docs/SOUNDNESS.md has both figures).
    const BOUNDED: usize = 24;

    #[test]
    fn every_mutant_is_refused_or_natively_valid() {
        let r = sample(BOUNDED, 0x5eed);
        println!("{r:?} of {} mutations", total());
        assert_eq!(r.tried, BOUNDED);
        assert!(
            r.findings.is_empty(),
            "forgeries accepted: {:#?}",
            r.findings
        );
        assert!(r.rejected > 0, "the mutants reach the rules");
    }

    /// Found by the long run: an account creation's `origin` is a native field the binding never
    /// reads for that event kind — the prover's assignment is the honest one, not a forgery —
    /// while the same field of a key change decides where its ChangePubKey must be.
    #[test]
    fn a_field_the_circuit_never_reads_is_a_no_op() {
        let cases = corpus();
        let b = honest_binding(&cases[0]);
        let creation = b
            .broadcasts
            .iter()
            .position(|e| e.kind == 3)
            .expect("an account creation");
        let key = b
            .broadcasts
            .iter()
            .position(|e| e.kind == 4)
            .expect("a key change");
        let mutant = |index| Mutant {
            case: 0,
            chain: None,
            mutation: Mutation::Event {
                kind: 1,
                index,
                field: 4,
                value: F::from(2u8),
            },
        };
        assert_eq!(run(&cases, &mutant(creation)), Verdict::SamePublic);
        assert_eq!(run(&cases, &mutant(key)), Verdict::Rejected);
    }

    /// The engine's control: unmutated witnesses imply exactly the honest public values.
    #[test]
    fn honest_corpus_implies_its_own_public_values() {
        for case in corpus() {
            for slot in 0..case.block.chains.len() {
                let w = chain_witness(&case.block, slot, CAPACITY);
                let (root, links, pubdata) = implied(&w).expect("honest witnesses satisfy");
                assert_eq!(
                    (root, links, &pubdata),
                    (w.new_root, w.links_hash, &w.pubdata)
                );
                let used = case.block.chains[slot].pubdata.len();
                natively_valid(&case, slot, &w, &pubdata[..used], root).expect(case.name);
            }
        }
    }
}
