//! Re-execution of a block from the chains' `commitBlocks` inputs.

use rollup_crypto::field::fr_to_be_bytes;
use rollup_l1::bindings::Rollup::CommitBlockInfo;
use rollup_state::block::{commitment_of, onchain_ops_hash, pubdata_hash, sync_hash_of};
use rollup_state::network::ConfigError;
use rollup_state::pool::swap_invariant_holds;
use rollup_state::{NetworkConfig, NetworkState, genesis_sync_hash};
use rollup_types::op::{self, decode_pubdata};
use rollup_types::tx::Tx;
use rollup_types::{Amount, BlockNumber, ChainId, Op, PoolId};
use std::collections::BTreeMap;

/// Why the auditor refuses a block: what it expected and what it was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// The inputs do not cover exactly the connected chains, in ascending order.
    #[error("block {number}: inputs for chains {got:?}, expected {expected:?}")]
    Chains {
        /// Block.
        number: u32,
        /// Connected chains.
        expected: Vec<u8>,
        /// Chains given.
        got: Vec<u8>,
    },
    /// Not the next block.
    #[error("block {got} proposed, the next is {expected}")]
    Number {
        /// The next block.
        expected: u32,
        /// Proposed.
        got: u32,
    },
    /// The chains' inputs disagree on a value every chain receives alike.
    #[error("block {number}: chain {chain}'s input differs in {field}")]
    Inconsistent {
        /// Block.
        number: u32,
        /// The chain whose input differs from the first chain's.
        chain: ChainId,
        /// Which value.
        field: &'static str,
    },
    /// A timestamp before the previous block's.
    #[error("block {number}: timestamp {got} before the previous block's {previous}")]
    Timestamp {
        /// Block.
        number: u32,
        /// The previous block's.
        previous: u64,
        /// Proposed.
        got: u64,
    },
    /// A chain's pubdata does not decode, exceeds the most chunks of a block, or hashes
    /// differently.
    #[error("block {number}, chain {chain}: pubdata {reason}")]
    Pubdata {
        /// Block.
        number: u32,
        /// Chain.
        chain: ChainId,
        /// What is wrong.
        reason: String,
    },
    /// An operation the rules refuse.
    #[error("block {number}, chain {chain}, op {index} ({op}): {error}")]
    Rule {
        /// Block.
        number: u32,
        /// Chain.
        chain: ChainId,
        /// Position in the chain's pubdata.
        index: usize,
        /// The operation (debug form).
        op: String,
        /// The rule it breaks.
        error: String,
    },
    /// A priority operation that is not the chain's next L1 request.
    #[error(
        "block {number}, chain {chain}: priority op {op} is not L1 request {serial} ({request})"
    )]
    Priority {
        /// Block.
        number: u32,
        /// Chain.
        chain: ChainId,
        /// The request's serial the op should match.
        serial: u64,
        /// The op (debug form).
        op: String,
        /// The L1 request there (debug form), or "none".
        request: String,
    },
    /// A cross-chain swap that breaks the constant product, or a half without its peer.
    #[error("block {number}, pool {pool}: {reason}")]
    Swap {
        /// Block.
        number: u32,
        /// Pool.
        pool: u16,
        /// What is wrong.
        reason: String,
    },
    /// The onchain-operations hash differs.
    #[error("block {number}, chain {chain}: onchain ops hash {got}, replay gives {expected}")]
    OnchainOps {
        /// Block.
        number: u32,
        /// Chain.
        chain: ChainId,
        /// From the replay.
        expected: String,
        /// Given.
        got: String,
    },
    /// The committed `final_root` is not the replayed state's.
    #[error("block {number}: final root {got}, replay gives {expected}")]
    FinalRoot {
        /// Block.
        number: u32,
        /// From the replay.
        expected: String,
        /// Given.
        got: String,
    },
}

/// What the auditor derived from an approved block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audited {
    /// Block number.
    pub number: u32,
    /// Every chain's root after the block, ascending chain id.
    pub chain_roots: Vec<[u8; 32]>,
    /// `final_root` after the block.
    pub final_root: [u8; 32],
    /// The commitment the contracts compute.
    pub commitment: [u8; 32],
    /// The `sync_hash` the contracts compute and the oracles attest.
    pub sync_hash: [u8; 32],
    /// The block's timestamp.
    pub timestamp: u64,
    /// `final_root` before the block.
    pub old_final_root: [u8; 32],
    /// Per chain (ascending id): the padded pubdata hash.
    pub pubdata_hashes: Vec<[u8; 32]>,
    /// Per chain: the onchain-ops hash.
    pub onchain_hashes: Vec<[u8; 32]>,
    /// Per chain: priority operations the block consumed.
    pub priority_ops: Vec<u64>,
}

impl Audited {
    /// The `StoredBlockInfo` the contract of the `i`-th chain (ascending id) keeps for this block
    /// (its hash is `storedBlockHashes(number)`; the next commit there refers to it).
    pub fn stored_block(&self, i: usize) -> rollup_l1::bindings::Rollup::StoredBlockInfo {
        use alloy::primitives::B256;
        rollup_l1::bindings::Rollup::StoredBlockInfo {
            blockNumber: self.number,
            timestamp: self.timestamp,
            priorityOperations: self.priority_ops[i],
            oldFinalRoot: B256::from(self.old_final_root),
            newFinalRoot: B256::from(self.final_root),
            pubdataHash: B256::from(self.pubdata_hashes[i]),
            onchainOpsHash: B256::from(self.onchain_hashes[i]),
            commitment: B256::from(self.commitment),
            syncHash: B256::from(self.sync_hash),
        }
    }
}

/// The auditor's own replica of the L2 state and of the block chain's hashes.
#[derive(Clone, Debug)]
pub struct Auditor {
    network: NetworkConfig,
    state: NetworkState,
    chains: Vec<ChainId>,
    capacity: usize,
    last: u32,
    timestamp: u64,
    final_root: [u8; 32],
    sync_hash: [u8; 32],
}

fn hex32(b: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(b))
}

impl Auditor {
    /// The auditor at genesis; each chain's pubdata is hashed in sub-blocks of `capacity` chunks
    /// (the chain circuit's capacity, the contracts' `proofChunks`).
    pub fn genesis(network: &NetworkConfig, capacity: usize) -> Result<Self, ConfigError> {
        let mut state = NetworkState::genesis(network)?;
        let final_root = fr_to_be_bytes(&state.final_root());
        Ok(Auditor {
            network: network.clone(),
            chains: state.chain_ids(),
            state,
            capacity,
            last: 0,
            timestamp: 0,
            final_root,
            sync_hash: genesis_sync_hash(),
        })
    }

    /// The network it audits.
    pub fn network(&self) -> &NetworkConfig {
        &self.network
    }

    /// Most chunks per chain in a block.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The last approved block.
    pub fn last_block(&self) -> u32 {
        self.last
    }

    /// `final_root` after the last approved block.
    pub fn final_root(&self) -> [u8; 32] {
        self.final_root
    }

    /// `sync_hash` of the last approved block.
    pub fn sync_hash(&self) -> [u8; 32] {
        self.sync_hash
    }

    /// Every connected chain's root after the last approved block, ascending chain id.
    pub fn chain_roots(&mut self) -> Vec<[u8; 32]> {
        let slots = self.state.chain_roots();
        self.chains
            .iter()
            .map(|c| fr_to_be_bytes(&slots[c.index()]))
            .collect()
    }

    /// The replicated state (after the last approved block).
    pub fn state(&self) -> &NetworkState {
        &self.state
    }

    /// Audits the next block from every connected chain's `commitBlocks` input (ascending chain
    /// id). `request(chain, serial)` is the chain's L1 priority request `serial` as the auditor's
    /// own watcher read it. On success the block becomes part of the auditor's state; on a
    /// mismatch nothing changes.
    pub fn audit(
        &mut self,
        inputs: &[(ChainId, CommitBlockInfo)],
        request: &dyn Fn(ChainId, u64) -> Option<Tx>,
    ) -> Result<Audited, Mismatch> {
        let number = self.last + 1;
        let got: Vec<u8> = inputs.iter().map(|(c, _)| c.0).collect();
        let expected: Vec<u8> = self.chains.iter().map(|c| c.0).collect();
        if got != expected {
            return Err(Mismatch::Chains {
                number,
                expected,
                got,
            });
        }
        let first = &inputs[0].1;
        if first.blockNumber != number {
            return Err(Mismatch::Number {
                expected: number,
                got: first.blockNumber,
            });
        }
        for (chain, info) in &inputs[1..] {
            let differs = |field| Mismatch::Inconsistent {
                number,
                chain: *chain,
                field,
            };
            if info.blockNumber != first.blockNumber {
                return Err(differs("block number"));
            }
            if info.timestamp != first.timestamp {
                return Err(differs("timestamp"));
            }
            if info.newFinalRoot != first.newFinalRoot {
                return Err(differs("final root"));
            }
            if info.pubdataHashes != first.pubdataHashes {
                return Err(differs("pubdata hashes"));
            }
            if info.onchainOpsHashes != first.onchainOpsHashes {
                return Err(differs("onchain ops hashes"));
            }
        }
        if first.pubdataHashes.len() != self.chains.len()
            || first.onchainOpsHashes.len() != self.chains.len()
        {
            return Err(Mismatch::Inconsistent {
                number,
                chain: self.chains[0],
                field: "number of chain hashes",
            });
        }
        if first.timestamp < self.timestamp {
            return Err(Mismatch::Timestamp {
                number,
                previous: self.timestamp,
                got: first.timestamp,
            });
        }

        let mut trial = self.state.clone();
        // Per (chain, pool): reserve before each swap half and its amount, in order.
        let mut swaps_in: BTreeMap<(ChainId, PoolId), Vec<(Amount, Amount)>> = BTreeMap::new();
        let mut swaps_out: BTreeMap<(ChainId, PoolId), Vec<(Amount, Amount)>> = BTreeMap::new();
        let mut pubdata_hashes = Vec::with_capacity(self.chains.len());
        let mut priority_ops = Vec::with_capacity(self.chains.len());
        let mut onchain_hashes = Vec::with_capacity(self.chains.len());
        for (i, (chain, info)) in inputs.iter().enumerate() {
            let chain = *chain;
            let bad = |reason: String| Mismatch::Pubdata {
                number,
                chain,
                reason,
            };
            let pubdata = info.pubdata.as_ref();
            if pubdata.len() % op::CHUNK_BYTES != 0 {
                return Err(bad("is not whole chunks".into()));
            }
            if pubdata.len() / op::CHUNK_BYTES > op::MAX_BLOCK_CHUNKS {
                return Err(bad(format!(
                    "has {} chunks, at most {} per block",
                    pubdata.len() / op::CHUNK_BYTES,
                    op::MAX_BLOCK_CHUNKS
                )));
            }
            // The contracts' hash: sub-blocks of the circuit's capacity (`proofChunks`).
            let hash = pubdata_hash(pubdata, self.capacity).map_err(|e| bad(e.to_string()))?;
            if hash != first.pubdataHashes[i].0 {
                return Err(bad("hash differs from the committed one".into()));
            }
            let ops = decode_pubdata(pubdata).map_err(|e| bad(e.to_string()))?;
            priority_ops.push(ops.iter().filter(|o| o.is_priority()).count() as u64);
            let state = trial.chain_mut(chain).expect("connected");
            for (index, op) in ops.iter().enumerate() {
                let rule = |error: String| Mismatch::Rule {
                    number,
                    chain,
                    index,
                    op: format!("{op:?}"),
                    error,
                };
                if op.is_priority() {
                    let serial = state.next_priority_serial();
                    let req = request(chain, serial);
                    if !matches_request(op, req.as_ref()) {
                        return Err(Mismatch::Priority {
                            number,
                            chain,
                            serial,
                            op: format!("{op:?}"),
                            request: req.map_or("none".into(), |r| format!("{r:?}")),
                        });
                    }
                    state
                        .consume_priority(serial)
                        .map_err(|e| rule(e.to_string()))?;
                }
                let half = match op {
                    Op::SwapIn { pool, amount, .. } => Some((&mut swaps_in, pool, amount)),
                    Op::SwapOut { pool, amount, .. } => Some((&mut swaps_out, pool, amount)),
                    _ => None,
                };
                if let Some((list, pool, amount)) = half {
                    let r = state.pool(*pool).map_or(Amount::ZERO, |h| h.reserve);
                    list.entry((chain, *pool)).or_default().push((r, *amount));
                }
                state.apply_op(op).map_err(|e| rule(e.to_string()))?;
            }
            state.settle_fees();
            let onchain = onchain_ops_hash(
                ops.iter()
                    .filter(|o| o.is_onchain())
                    .map(|o| o.to_pubdata())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(Vec::as_slice),
            );
            if onchain != first.onchainOpsHashes[i].0 {
                return Err(Mismatch::OnchainOps {
                    number,
                    chain,
                    expected: hex32(&onchain),
                    got: hex32(&first.onchainOpsHashes[i].0),
                });
            }
            pubdata_hashes.push(hash);
            onchain_hashes.push(onchain);
        }
        self.check_swaps(number, &trial, &swaps_in, &swaps_out)?;
        let final_root = fr_to_be_bytes(&trial.final_root());
        if final_root != first.newFinalRoot.0 {
            return Err(Mismatch::FinalRoot {
                number,
                expected: hex32(&final_root),
                got: hex32(&first.newFinalRoot.0),
            });
        }
        let slots = trial.chain_roots();
        let chain_roots = self
            .chains
            .iter()
            .map(|c| fr_to_be_bytes(&slots[c.index()]))
            .collect();
        let commitment = commitment_of(
            BlockNumber(number),
            first.timestamp,
            &self.final_root,
            &final_root,
            &pubdata_hashes,
        );
        let sync_hash = sync_hash_of(&self.sync_hash, &commitment, &onchain_hashes);
        let old_final_root = self.final_root;
        self.state = trial;
        self.last = number;
        self.timestamp = first.timestamp;
        self.final_root = final_root;
        self.sync_hash = sync_hash;
        Ok(Audited {
            number,
            chain_roots,
            final_root,
            commitment,
            sync_hash,
            timestamp: first.timestamp,
            old_final_root,
            pubdata_hashes,
            onchain_hashes,
            priority_ops,
        })
    }

    /// Pairs the j-th swap-in on a pool half with the j-th swap-out on its peer half and checks
    /// the constant product with the pool's fee: what the binding circuit enforces, here natively.
    fn check_swaps(
        &self,
        number: u32,
        after: &NetworkState,
        ins: &BTreeMap<(ChainId, PoolId), Vec<(Amount, Amount)>>,
        outs: &BTreeMap<(ChainId, PoolId), Vec<(Amount, Amount)>>,
    ) -> Result<(), Mismatch> {
        let mut paired_outs = 0;
        for ((chain, pool), list) in ins {
            let half = after
                .chain(*chain)
                .and_then(|c| c.pool(*pool))
                .ok_or_else(|| Mismatch::Swap {
                    number,
                    pool: pool.0,
                    reason: format!("swap into a missing half on chain {chain}"),
                })?;
            let peer = outs
                .get(&(half.peer_chain, *pool))
                .map_or(&[][..], Vec::as_slice);
            if peer.len() != list.len() {
                return Err(Mismatch::Swap {
                    number,
                    pool: pool.0,
                    reason: format!(
                        "{} swaps in on chain {chain}, {} swaps out on chain {}",
                        list.len(),
                        peer.len(),
                        half.peer_chain
                    ),
                });
            }
            for (k, ((r_in, a_in), (r_out, a_out))) in list.iter().zip(peer).enumerate() {
                if !swap_invariant_holds(*r_in, *r_out, *a_in, *a_out, half.fee_bps) {
                    return Err(Mismatch::Swap {
                        number,
                        pool: pool.0,
                        reason: format!(
                            "swap {k}: {} in against reserve {} pays {} out of reserve {}: breaks the constant product at {} bps",
                            a_in.get(),
                            r_in.get(),
                            a_out.get(),
                            r_out.get(),
                            half.fee_bps
                        ),
                    });
                }
            }
            paired_outs += peer.len();
        }
        let all_outs: usize = outs.values().map(Vec::len).sum();
        if all_outs != paired_outs {
            return Err(Mismatch::Swap {
                number,
                pool: outs.keys().next().map_or(0, |(_, p)| p.0),
                reason: "a swap out without its swap in".into(),
            });
        }
        Ok(())
    }
}

/// Whether a priority operation is what the L1 request asked for.
fn matches_request(op: &Op, request: Option<&Tx>) -> bool {
    match (op, request) {
        (
            Op::Deposit {
                token, amount, to, ..
            }
            | Op::DepositRefund {
                token, amount, to, ..
            },
            Some(Tx::Deposit(d)),
        ) => d.token == *token && d.amount == *amount && d.to == *to,
        (
            Op::FullExit {
                account,
                token,
                owner,
                ..
            },
            Some(Tx::FullExit(e)),
        ) => e.account == *account && e.token == *token && e.owner == *owner,
        _ => false,
    }
}
