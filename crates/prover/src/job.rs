//! Proving jobs: a block's witness data split into independent jobs (one per sub-block of every
//! chain, one binding), in a binary form that can be stored (the node's job table) and proved by
//! any worker, and the proofs they return.
//!
//! Wire form of a job: `RPJ2` ‖ kind (0 chain, 1 binding) ‖ the witness (ark-serialize,
//! uncompressed, validated on read). Proof: `RPP2` ‖ kind ‖ proof (compressed, 128 bytes) ‖ public
//! input (32 bytes little-endian) ‖ for a chain proof its [`SubBlockStatement`]: chain id (1) ‖
//! last (1) ‖ old root ‖ new root ‖ carry in ‖ carry out (32 bytes little-endian each) — the
//! values the contracts are given to recompute the public input, which the stored proof carries
//! so that whoever sends it needs neither the witness nor the block's intermediate states.

use crate::{
    BlockProofs, Keys, Proved, ProverError, Shape, SubBlockProof, SubBlockStatement, prove_binding,
    prove_chain,
};
use ark_bn254::{Bn254, Fr};
use ark_groth16::Proof;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rollup_circuits::binding::BindingWitness;
use rollup_circuits::chain::ChainWitness;
use rollup_state::Block;
use rollup_types::ChainId;

const JOB_MAGIC: &[u8; 4] = b"RPJ2";
const PROOF_MAGIC: &[u8; 4] = b"RPP2";

/// Why stored job or proof bytes were refused.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not a job/proof of this format version.
    #[error("not a {0} of this version (bad magic)")]
    Magic(&'static str),
    /// Unknown job kind byte.
    #[error("unknown job kind {0}")]
    Kind(u8),
    /// The payload does not decode (truncated, trailing bytes, or a value out of its field).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Job or proof.
        what: &'static str,
        /// The decoder's reason.
        detail: String,
    },
}

/// One unit of proving work.
// A job is made once and moved to its prover: boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Job {
    /// One sub-block of a chain's part of a block, for the chain keys of the witness's capacity.
    Chain(ChainWitness),
    /// The block's binding, for the network's binding keys.
    Binding(BindingWitness),
}

impl Job {
    /// The chain of a chain job; `None` for the binding job.
    pub fn chain(&self) -> Option<ChainId> {
        match self {
            Job::Chain(w) => Some(w.chain),
            Job::Binding(_) => None,
        }
    }

    /// Stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = JOB_MAGIC.to_vec();
        let res = match self {
            Job::Chain(w) => {
                out.push(0);
                w.serialize_uncompressed(&mut out)
            }
            Job::Binding(w) => {
                out.push(1);
                w.serialize_uncompressed(&mut out)
            }
        };
        res.expect("writing to a Vec cannot fail");
        out
    }

    /// Parses a stored job; every field element is checked to be canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        let rest = bytes
            .strip_prefix(JOB_MAGIC)
            .ok_or(WireError::Magic("proving job"))?;
        let (&kind, mut payload) = rest.split_first().ok_or(WireError::Magic("proving job"))?;
        let bad = |e: ark_serialize::SerializationError| WireError::Malformed {
            what: "proving job",
            detail: e.to_string(),
        };
        let job = match kind {
            0 => Job::Chain(ChainWitness::deserialize_uncompressed(&mut payload).map_err(bad)?),
            1 => Job::Binding(BindingWitness::deserialize_uncompressed(&mut payload).map_err(bad)?),
            k => return Err(WireError::Kind(k)),
        };
        if !payload.is_empty() {
            return Err(WireError::Malformed {
                what: "proving job",
                detail: format!("{} trailing bytes", payload.len()),
            });
        }
        Ok(job)
    }
}

/// A block's jobs: every chain's sub-blocks (chains in the block's order, each chain's sub-blocks
/// in order), then the binding job; the proofs come back in this order
/// ([`BlockProofs::from_stored`]). The block must have been built with its witness and split
/// into sub-blocks of `capacity`.
pub fn block_jobs(
    block: &Block,
    capacity: usize,
    chains: &[ChainId],
) -> Result<Vec<Job>, ProverError> {
    let mut jobs = Vec::new();
    for cb in &block.chains {
        let parts = ChainWitness::sub_blocks(cb, block.number, &block.domain, capacity)?;
        jobs.extend(parts.into_iter().map(Job::Chain));
    }
    jobs.push(Job::Binding(BindingWitness::new(block, chains, capacity)?));
    Ok(jobs)
}

/// A proved job: the proof and, for a chain proof, what it proves.
#[derive(Clone, Debug)]
pub struct JobProof {
    /// The proof and its public input.
    pub proved: Proved,
    /// The sub-block's values (`None`: the binding proof).
    pub statement: Option<SubBlockStatement>,
}

/// Proves a job with the keys of its shape, and checks the proof natively before anyone stores
/// it: a witness that does not satisfy the circuit (a builder bug, a corrupt job) gives a proof
/// no contract accepts, which must fail here, not on L1.
pub fn prove_job(keys: &Keys, job: Job) -> Result<JobProof, ProverError> {
    let (proved, statement) = match (job, &keys.shape) {
        (Job::Chain(w), Shape::Chain { .. }) => {
            let statement = SubBlockStatement::of(&w);
            (prove_chain(keys, w)?, Some(statement))
        }
        (Job::Binding(w), Shape::Binding { .. }) => (prove_binding(keys, w)?, None),
        _ => return Err(ProverError::WrongShape(keys.shape.clone())),
    };
    if !crate::verify(keys, &proved) {
        return Err(ProverError::Unverified);
    }
    Ok(JobProof { proved, statement })
}

impl JobProof {
    /// Stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = PROOF_MAGIC.to_vec();
        out.push(self.statement.is_none() as u8);
        let p = &self.proved;
        let put = |out: &mut Vec<u8>, f: &Fr| {
            f.serialize_compressed(out)
                .expect("writing to a Vec cannot fail")
        };
        p.proof
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        put(&mut out, &p.public_input);
        if let Some(s) = &self.statement {
            out.push(s.chain.0);
            out.push(s.last as u8);
            for f in [&s.old_root, &s.new_root, &s.carry_in, &s.carry_out] {
                put(&mut out, f);
            }
        }
        out
    }

    /// Parses a stored proof. Points are checked to be on the curve and in the right subgroup,
    /// field elements to be canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        let rest = bytes
            .strip_prefix(PROOF_MAGIC)
            .ok_or(WireError::Magic("proof"))?;
        let (&kind, mut payload) = rest.split_first().ok_or(WireError::Magic("proof"))?;
        if kind > 1 {
            return Err(WireError::Kind(kind));
        }
        let bad = |detail: String| WireError::Malformed {
            what: "proof",
            detail,
        };
        let ser = |e: ark_serialize::SerializationError| bad(e.to_string());
        let proof = Proof::<Bn254>::deserialize_compressed(&mut payload).map_err(ser)?;
        let public_input = Fr::deserialize_compressed(&mut payload).map_err(ser)?;
        let statement = if kind == 0 {
            let [chain, last, rest @ ..] = payload else {
                return Err(bad("truncated statement".into()));
            };
            payload = rest;
            let chain = ChainId::new(*chain).map_err(|e| bad(e.to_string()))?;
            let last = match last {
                0 => false,
                1 => true,
                b => return Err(bad(format!("last flag {b}"))),
            };
            let mut f = || Fr::deserialize_compressed(&mut payload).map_err(ser);
            Some(SubBlockStatement {
                chain,
                last,
                old_root: f()?,
                new_root: f()?,
                carry_in: f()?,
                carry_out: f()?,
            })
        } else {
            None
        };
        if !payload.is_empty() {
            return Err(bad(format!("{} trailing bytes", payload.len())));
        }
        Ok(JobProof {
            proved: Proved {
                proof,
                public_input,
            },
            statement,
        })
    }
}

impl BlockProofs {
    /// A block's proofs from their stored forms in job order ([`block_jobs`]): each chain's
    /// sub-block proofs, chains in turn, then the binding proof. Refuses proofs that do not
    /// chain — a sub-block whose old root or carry in is not the previous one's new root or carry
    /// out, a chain whose first sub-block does not start fresh (carry in 0) or whose sub-blocks
    /// do not end in exactly one last one, a chain appearing twice, a binding proof anywhere but
    /// at the end — so a corrupt or reordered job table is caught before any L1 transaction.
    pub fn from_stored(payloads: &[Vec<u8>]) -> Result<Self, WireError> {
        let bad = |detail: String| WireError::Malformed {
            what: "block proofs",
            detail,
        };
        let (last, rest) = payloads
            .split_last()
            .ok_or_else(|| bad("no proofs".into()))?;
        let binding = JobProof::from_bytes(last)?;
        if binding.statement.is_some() {
            return Err(bad("the last proof is not the binding proof".into()));
        }
        let mut chains: Vec<Vec<SubBlockProof>> = Vec::new();
        for (i, bytes) in rest.iter().enumerate() {
            let p = JobProof::from_bytes(bytes)?;
            let s = p
                .statement
                .ok_or_else(|| bad(format!("proof {i}: a binding proof before the end")))?;
            let open = chains
                .last()
                .and_then(|c| c.last())
                .filter(|q| !q.statement.last);
            match open {
                Some(prev) => {
                    let q = &prev.statement;
                    if s.chain != q.chain || s.old_root != q.new_root || s.carry_in != q.carry_out {
                        return Err(bad(format!(
                            "proof {i} does not continue chain {}'s sub-blocks",
                            q.chain
                        )));
                    }
                    chains.last_mut().expect("open chain").push(SubBlockProof {
                        proved: p.proved,
                        statement: s,
                    });
                }
                None => {
                    if s.carry_in != Fr::from(0u8)
                        || chains.iter().any(|c| c[0].statement.chain == s.chain)
                    {
                        return Err(bad(format!(
                            "proof {i} is not the first sub-block of a new chain"
                        )));
                    }
                    chains.push(vec![SubBlockProof {
                        proved: p.proved,
                        statement: s,
                    }]);
                }
            }
        }
        if chains.iter().any(|c| !c[c.len() - 1].statement.last) {
            return Err(bad("a chain's sub-blocks end without the last one".into()));
        }
        Ok(BlockProofs {
            chains,
            binding: binding.proved,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: u64) -> Fr {
        Fr::from(x)
    }

    /// A stored chain proof of `chain` from root `old` to `new`, carry `cin` to `cout`.
    fn sub(chain: u8, last: bool, old: u64, new: u64, cin: u64, cout: u64) -> Vec<u8> {
        JobProof {
            proved: Proved {
                proof: Proof::default(),
                public_input: f(1),
            },
            statement: Some(SubBlockStatement {
                chain: ChainId(chain),
                last,
                old_root: f(old),
                new_root: f(new),
                carry_in: f(cin),
                carry_out: f(cout),
            }),
        }
        .to_bytes()
    }

    fn binding() -> Vec<u8> {
        JobProof {
            proved: Proved {
                proof: Proof::default(),
                public_input: f(2),
            },
            statement: None,
        }
        .to_bytes()
    }

    /// Chain 1 in three sub-blocks (roots 10 → 11 → 12 → 13, carries 0 → 5 → 6 → links 7),
    /// chain 2 in one, then the binding proof.
    fn honest() -> Vec<Vec<u8>> {
        vec![
            sub(1, false, 10, 11, 0, 5),
            sub(1, false, 11, 12, 5, 6),
            sub(1, true, 12, 13, 6, 7),
            sub(2, true, 20, 21, 0, 8),
            binding(),
        ]
    }

    #[test]
    fn stored_proofs_reassemble_into_chained_sub_blocks() {
        let p = BlockProofs::from_stored(&honest()).unwrap();
        assert_eq!(p.chains.iter().map(Vec::len).collect::<Vec<_>>(), [3, 1]);
        assert_eq!(
            p.boundaries(),
            [
                (vec![f(10), f(11), f(12), f(13)], vec![f(5), f(6)]),
                (vec![f(20), f(21)], vec![])
            ]
        );
        assert_eq!(p.chain_proofs().count(), 4);
        assert_eq!(p.binding.public_input, f(2));
    }

    #[test]
    fn proofs_that_do_not_chain_are_refused() {
        let refused = |v: Vec<Vec<u8>>| BlockProofs::from_stored(&v).is_err();
        assert!(!refused(honest()), "control");
        let mut swapped = honest();
        swapped.swap(0, 1); // sub-blocks out of order
        assert!(refused(swapped));
        let mut gap = honest();
        gap[1] = sub(1, false, 99, 12, 5, 6); // starts where sub-block 0 did not end
        assert!(refused(gap));
        let mut carry = honest();
        carry[1] = sub(1, false, 11, 12, 9, 6); // another carry in
        assert!(refused(carry));
        let mut fresh = honest();
        fresh[3] = sub(2, true, 20, 21, 4, 8); // a first sub-block with a carry in
        assert!(refused(fresh));
        let mut unfinished = honest();
        unfinished.remove(2); // chain 1 never reaches its last sub-block
        assert!(refused(unfinished));
        let mut twice = honest();
        twice.insert(4, sub(1, true, 13, 14, 0, 7)); // chain 1 again
        assert!(refused(twice));
        let mut early = honest();
        early.swap(3, 4); // the binding proof before a chain proof
        assert!(refused(early));
        assert!(refused(vec![]));
        // A damaged statement is refused at decoding.
        let mut bad = honest();
        let n = bad[0].len();
        bad[0].truncate(n - 1);
        assert!(refused(bad));
    }
}
