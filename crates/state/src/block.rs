//! The block builder: applies a batch of transactions and produces, per chain, the halves, pubdata,
//! onchain-operations hash, links and (optionally) circuit witness; and for the block, the
//! commitment and the chained `sync_hash` (DESIGN §1).
//!
//! Fees are collected per chain and token during the block and credited to the fee account when
//! the block is sealed (at most [`FEE_TOKENS_PER_BLOCK`] tokens per chain; a transaction needing
//! another goes to [`Block::deferred`]). A replayer applies the pubdata's ops and then
//! `settle_fees`, exactly as the builder did.
//!
//! * Chain `c`'s pubdata is split greedily into sub-blocks of `proof_chunks` chunks (one chain
//!   proof each, [`op::sub_blocks`]); `h_k = sha256(sub-block k ‖ zero chunks up to
//!   proof_chunks)` and `pubdata_hash_c = sha256(h_0 ‖ … ‖ h_{S−1})` — recomputed by chain `c`'s
//!   contract from calldata with the SHA-256 precompile (cheap on every EVM chain); the other
//!   chains' contracts get the `h_k` in calldata and check them against it.
//! * `onchain_ops_hash_c = fold keccak(h ‖ op)` from `keccak("")` over chain `c`'s onchain ops.
//! * `commitment = keccak(u32 number ‖ u64 timestamp ‖ old_final_root ‖ new_final_root ‖
//!   pubdata_hash_c for each connected chain c, ascending)`.
//! * `sync_hash_n = keccak(sync_hash_{n−1} ‖ commitment_n ‖ onchain_ops_hash_c for each connected
//!   chain c, ascending)`, with `sync_hash_0 = keccak("")`.

use crate::TxError;
use crate::network::{NetworkState, TxOutput, verify};
use crate::witness::{OpWitness, Update};
use ark_bn254::Fr;
use rayon::prelude::*;
use rollup_crypto::field::fr_to_be_bytes;
use rollup_crypto::keccak256;
use rollup_types::link::links_hash;
use rollup_types::*;
use sha2::{Digest, Sha256};

/// `sync_hash` before the first block: `keccak("")`.
pub fn genesis_sync_hash() -> [u8; 32] {
    keccak256(&[])
}

/// What the builder needs from the previous block.
#[derive(Clone, Debug)]
pub struct BlockContext {
    /// The new block's number.
    pub number: BlockNumber,
    /// Its timestamp (seconds).
    pub timestamp: u64,
    /// The previous block's `sync_hash` (genesis: [`genesis_sync_hash`]).
    pub prev_sync_hash: [u8; 32],
}

/// An onchain operation as the contract finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnchainOp {
    /// Chunk index where the operation starts in the chain's pubdata.
    pub chunk: u32,
    /// The operation's pubdata bytes.
    pub bytes: Vec<u8>,
}

/// One chain's part of a block.
#[derive(Clone, Debug)]
pub struct ChainBlock {
    /// The chain.
    pub chain: ChainId,
    /// Chain root before the block.
    pub old_root: Fr,
    /// Chain root after the block.
    pub new_root: Fr,
    /// The halves on this chain, in order.
    pub ops: Vec<Op>,
    /// Their pubdata.
    pub pubdata: Vec<u8>,
    /// `sha256` over the sub-blocks' hashes ([`chain_pubdata_hash`]).
    pub pubdata_hash: [u8; 32],
    /// The chain proofs this part is split into, in order (at least one).
    pub sub_blocks: Vec<SubBlock>,
    /// Operations the contract processes.
    pub onchain_ops: Vec<OnchainOp>,
    /// Fold-keccak of the onchain operations.
    pub onchain_ops_hash: [u8; 32],
    /// Priority operations consumed from this chain's queue.
    pub priority_ops: u32,
    /// Cross-chain links this chain emits.
    pub links: Vec<Link>,
    /// Poseidon commitment to [`Self::links`].
    pub links_hash: Fr,
    /// Per-op witness, when requested.
    pub witness: Option<Vec<OpWitness>>,
    /// The fee-account updates that settle the block's fees (one per fee token, in token order),
    /// when the witness is requested.
    pub fee_witness: Option<Vec<Update>>,
}

/// One chain proof's share of a chain's part of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubBlock {
    /// Indices into [`ChainBlock::ops`] (and its witness).
    pub ops: std::ops::Range<usize>,
    /// Byte range of its pubdata in [`ChainBlock::pubdata`].
    pub pubdata: std::ops::Range<usize>,
    /// `sha256` of that pubdata zero-padded to the proof's chunks.
    pub pubdata_hash: [u8; 32],
}

/// A sealed block.
#[derive(Clone, Debug)]
pub struct Block {
    /// Number.
    pub number: BlockNumber,
    /// Timestamp.
    pub timestamp: u64,
    /// `final_root` before.
    pub old_final_root: Fr,
    /// `final_root` after.
    pub new_final_root: Fr,
    /// Per connected chain, ascending.
    pub chains: Vec<ChainBlock>,
    /// Accepted transactions, in order (a tx's position is its link id).
    pub txs: Vec<Tx>,
    /// Rejected transactions: input position and reason.
    pub rejected: Vec<(usize, TxError)>,
    /// Valid transactions that did not fit this block (fee slots or chunk capacity), or whose
    /// nonce is ahead of the account's, in input order: they go first into the next block.
    pub deferred: Vec<Tx>,
    /// Block commitment.
    pub commitment: [u8; 32],
    /// Previous `sync_hash`.
    pub prev_sync_hash: [u8; 32],
    /// This block's `sync_hash`.
    pub sync_hash: [u8; 32],
    /// The deployment domain its signatures were checked against (a chain proof's input).
    pub domain: Domain,
}

/// Builder options.
#[derive(Clone, Copy, Debug)]
pub struct BuildOptions {
    /// Record the circuit witness (per-update paths; costs a root recomputation per update).
    pub witness: bool,
    /// Chunks per chain proof (the chain circuit's capacity): each chain's part is split into
    /// sub-blocks of this size.
    pub proof_chunks: usize,
    /// Most pubdata chunks per chain and block, sub-block padding included.
    pub max_chunks: usize,
    /// Most cross-chain links per chain and block (the binding circuit's link slots).
    pub max_links: usize,
}

impl BuildOptions {
    /// Options for blocks of at most `sub_blocks` chain proofs of `proof_chunks` per chain, with
    /// `max_links` binding slots.
    pub fn new(witness: bool, proof_chunks: usize, sub_blocks: usize, max_links: usize) -> Self {
        BuildOptions {
            witness,
            proof_chunks,
            max_chunks: proof_chunks * sub_blocks,
            max_links,
        }
    }
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            witness: false,
            proof_chunks: 16,
            max_chunks: op::MAX_BLOCK_CHUNKS,
            max_links: usize::MAX,
        }
    }
}

struct ChainAcc {
    ops: Vec<Op>,
    links: Vec<Link>,
    witness: Vec<OpWitness>,
}

/// Applies `txs` in order (rejecting the invalid ones without state change) and seals the block.
pub fn build_block(
    state: &mut NetworkState,
    ctx: &BlockContext,
    txs: Vec<Tx>,
    opts: BuildOptions,
) -> Block {
    let chain_ids = state.chain_ids();
    let old_roots: Vec<Fr> = chain_ids
        .iter()
        .map(|c| state.chain_mut(*c).expect("connected").root())
        .collect();
    let old_final_root = state.final_root();
    if opts.witness {
        state.start_witness();
    }
    state.set_block_limits(opts.proof_chunks, opts.max_chunks, opts.max_links);
    // Signatures are checked in parallel; the state rules then run in order.
    let domain = state.domain();
    let verified: Vec<Result<_, TxError>> =
        txs.into_par_iter().map(|tx| verify(tx, &domain)).collect();
    let mut acc: Vec<ChainAcc> = chain_ids
        .iter()
        .map(|_| ChainAcc {
            ops: Vec::new(),
            links: Vec::new(),
            witness: Vec::new(),
        })
        .collect();
    let pos = |c: ChainId| chain_ids.iter().position(|x| *x == c).expect("connected");
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let mut deferred = Vec::new();
    // Once a chain's priority operation is deferred, its later ones must wait too (queue order).
    let mut queue_blocked = [false; MAX_CHAINS];
    let priority_chain = |tx: &Tx| match tx {
        Tx::Deposit(d) => Some(d.chain),
        Tx::FullExit(e) => Some(e.chain),
        _ => None,
    };
    for (i, v) in verified.into_iter().enumerate() {
        let applied = v.and_then(|v| {
            let queue = priority_chain(v.tx()).filter(|c| c.index() < MAX_CHAINS);
            let result = match queue {
                Some(c) if queue_blocked[c.index()] => Err(TxError::BlockFull),
                _ => state.apply(&v, accepted.len() as u32),
            };
            match result {
                Err(TxError::BlockFull) => {
                    if let Some(c) = queue {
                        queue_blocked[c.index()] = true;
                    }
                    deferred.push(v.tx().clone());
                    Err(TxError::BlockFull)
                }
                // A later nonce than the account's is not invalid, only early: an earlier
                // transaction of the sender did not fit, or has not arrived yet. It waits.
                Err(TxError::BadNonce { expected, got }) if got > expected => {
                    deferred.push(v.tx().clone());
                    Err(TxError::BlockFull)
                }
                r => r.map(|out| (v.tx().clone(), out)),
            }
        });
        match applied {
            Ok((
                tx,
                TxOutput {
                    halves,
                    links,
                    witness,
                },
            )) => {
                for (c, op) in halves {
                    acc[pos(c)].ops.push(op);
                }
                for (c, l) in links {
                    acc[pos(c)].links.push(l);
                }
                for (c, w) in witness {
                    acc[pos(c)].witness.push(w);
                }
                accepted.push(tx);
            }
            Err(TxError::BlockFull) => {}
            Err(e) => rejected.push((i, e)),
        }
    }
    let mut fee_witness: Vec<Vec<Update>> = Vec::with_capacity(chain_ids.len());
    for c in &chain_ids {
        let chain = state.chain_mut(*c).expect("connected");
        chain.settle_fees();
        fee_witness.push(if opts.witness {
            chain.take_witness()
        } else {
            Vec::new()
        });
    }
    if opts.witness {
        state.stop_witness();
    }
    let new_final_root = state.final_root();
    let chains: Vec<ChainBlock> = chain_ids
        .iter()
        .zip(old_roots)
        .zip(acc)
        .zip(fee_witness)
        .map(|(((c, old_root), a), fees)| {
            let new_root = state.chain_mut(*c).expect("connected").root();
            let mut cb = seal_chain(*c, old_root, new_root, a, opts);
            cb.fee_witness = opts.witness.then_some(fees);
            cb
        })
        .collect();
    let commitment = block_commitment(ctx, &old_final_root, &new_final_root, &chains);
    let sync_hash = sync_hash(&ctx.prev_sync_hash, &commitment, &chains);
    Block {
        number: ctx.number,
        timestamp: ctx.timestamp,
        old_final_root,
        new_final_root,
        chains,
        txs: accepted,
        rejected,
        deferred,
        commitment,
        prev_sync_hash: ctx.prev_sync_hash,
        sync_hash,
        domain,
    }
}

fn seal_chain(
    chain: ChainId,
    old_root: Fr,
    new_root: Fr,
    a: ChainAcc,
    opts: BuildOptions,
) -> ChainBlock {
    let mut pubdata = Vec::new();
    let mut onchain_ops = Vec::new();
    let mut priority_ops = 0;
    for op in &a.ops {
        let bytes = op.to_pubdata();
        if op.is_onchain() {
            onchain_ops.push(OnchainOp {
                chunk: (pubdata.len() / op::CHUNK_BYTES) as u32,
                bytes: bytes.clone(),
            });
        }
        priority_ops += op.is_priority() as u32;
        pubdata.extend_from_slice(&bytes);
    }
    let sub_blocks = split(&a.ops, &pubdata, opts.proof_chunks);
    let hashes: Vec<[u8; 32]> = sub_blocks.iter().map(|s| s.pubdata_hash).collect();
    ChainBlock {
        chain,
        old_root,
        new_root,
        pubdata_hash: chain_pubdata_hash(&hashes),
        sub_blocks,
        onchain_ops_hash: onchain_ops_hash(onchain_ops.iter().map(|o| o.bytes.as_slice())),
        links_hash: links_hash(&a.links),
        ops: a.ops,
        pubdata,
        onchain_ops,
        priority_ops,
        links: a.links,
        witness: opts.witness.then_some(a.witness),
        fee_witness: None,
    }
}

fn split(ops: &[Op], pubdata: &[u8], proof_chunks: usize) -> Vec<SubBlock> {
    let mut at = 0;
    op::sub_blocks(ops.iter().map(Op::chunks), proof_chunks)
        .into_iter()
        .map(|r| {
            let len: usize = ops[r.clone()]
                .iter()
                .map(|o| o.chunks() * op::CHUNK_BYTES)
                .sum();
            let bytes = at..at + len;
            at += len;
            SubBlock {
                pubdata_hash: padded_hash(&pubdata[bytes.clone()], proof_chunks),
                ops: r,
                pubdata: bytes,
            }
        })
        .collect()
}

/// `sha256(pubdata ‖ zero chunks up to proof_chunks)`: one sub-block's hash.
pub fn padded_hash(pubdata: &[u8], proof_chunks: usize) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(pubdata);
    h.update(vec![
        0u8;
        (proof_chunks * op::CHUNK_BYTES)
            .saturating_sub(pubdata.len())
    ]);
    h.finalize().into()
}

/// `sha256(h_0 ‖ … ‖ h_{S−1})`: a chain part's pubdata hash from its sub-blocks' hashes.
pub fn chain_pubdata_hash(sub_block_hashes: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for x in sub_block_hashes {
        h.update(x);
    }
    h.finalize().into()
}

/// The sub-block hashes of a chain's pubdata as its contract computes them from calldata (the
/// greedy split of [`op::sub_blocks`] over the op codes); an unknown code or a truncated
/// operation is an error.
pub fn sub_block_hashes(
    pubdata: &[u8],
    proof_chunks: usize,
) -> Result<Vec<[u8; 32]>, rollup_types::DecodeError> {
    let ops = op::decode_pubdata(pubdata)?;
    Ok(split(&ops, pubdata, proof_chunks)
        .into_iter()
        .map(|s| s.pubdata_hash)
        .collect())
}

/// A chain's pubdata hash from its pubdata ([`sub_block_hashes`], [`chain_pubdata_hash`]).
pub fn pubdata_hash(
    pubdata: &[u8],
    proof_chunks: usize,
) -> Result<[u8; 32], rollup_types::DecodeError> {
    Ok(chain_pubdata_hash(&sub_block_hashes(
        pubdata,
        proof_chunks,
    )?))
}

/// `fold keccak(h ‖ op)` from `keccak("")`.
pub fn onchain_ops_hash<'a>(ops: impl Iterator<Item = &'a [u8]>) -> [u8; 32] {
    let mut h = keccak256(&[]);
    for op in ops {
        h = rollup_crypto::eth::keccak256_concat(&[&h, op]);
    }
    h
}

/// The block commitment (see the module docs).
pub fn block_commitment(
    ctx: &BlockContext,
    old_final_root: &Fr,
    new_final_root: &Fr,
    chains: &[ChainBlock],
) -> [u8; 32] {
    let hashes: Vec<[u8; 32]> = chains.iter().map(|c| c.pubdata_hash).collect();
    commitment_of(
        ctx.number,
        ctx.timestamp,
        &fr_to_be_bytes(old_final_root),
        &fr_to_be_bytes(new_final_root),
        &hashes,
    )
}

/// The block commitment from its parts: what a replayer that only has the chains' pubdata
/// hashes (from L1 calldata) computes.
pub fn commitment_of(
    number: BlockNumber,
    timestamp: u64,
    old_final_root: &[u8; 32],
    new_final_root: &[u8; 32],
    pubdata_hashes: &[[u8; 32]],
) -> [u8; 32] {
    let mut buf = Vec::with_capacity(12 + 64 + 32 * pubdata_hashes.len());
    buf.extend_from_slice(&number.0.to_be_bytes());
    buf.extend_from_slice(&timestamp.to_be_bytes());
    buf.extend_from_slice(old_final_root);
    buf.extend_from_slice(new_final_root);
    for h in pubdata_hashes {
        buf.extend_from_slice(h);
    }
    keccak256(&buf)
}

/// `sync_hash_n` (see the module docs).
pub fn sync_hash(prev: &[u8; 32], commitment: &[u8; 32], chains: &[ChainBlock]) -> [u8; 32] {
    let hashes: Vec<[u8; 32]> = chains.iter().map(|c| c.onchain_ops_hash).collect();
    sync_hash_of(prev, commitment, &hashes)
}

/// `sync_hash_n` from the previous one, the commitment and the chains' onchain-ops hashes.
pub fn sync_hash_of(
    prev: &[u8; 32],
    commitment: &[u8; 32],
    onchain_ops_hashes: &[[u8; 32]],
) -> [u8; 32] {
    let mut buf = Vec::with_capacity(64 + 32 * onchain_ops_hashes.len());
    buf.extend_from_slice(prev);
    buf.extend_from_slice(commitment);
    for h in onchain_ops_hashes {
        buf.extend_from_slice(h);
    }
    keccak256(&buf)
}
