//! Proving jobs: a block's witness data split into independent jobs (one per chain, one binding),
//! in a binary form that can be stored (the node's job table) and proved by any worker, and the
//! proofs they return.
//!
//! Wire form of a job: `RPJ1` ‖ kind (0 chain, 1 binding) ‖ the witness (ark-serialize,
//! uncompressed, validated on read). Proof: `RPP1` ‖ kind ‖ proof (compressed, 128 bytes) ‖ public
//! input (32 bytes little-endian).

use crate::{Keys, Proved, ProverError, Shape, prove_binding, prove_chain};
use ark_bn254::{Bn254, Fr};
use ark_groth16::Proof;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rollup_circuits::binding::BindingWitness;
use rollup_circuits::chain::ChainWitness;
use rollup_state::Block;
use rollup_types::ChainId;

const JOB_MAGIC: &[u8; 4] = b"RPJ1";
const PROOF_MAGIC: &[u8; 4] = b"RPP1";

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
#[derive(Clone, Debug)]
pub enum Job {
    /// One chain's part of a block, for the chain keys of the witness's capacity.
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

/// A block's jobs: one per chain (in the block's chain order), then the binding job. The block
/// must have been built with its witness.
pub fn block_jobs(
    block: &Block,
    capacity: usize,
    chains: &[ChainId],
) -> Result<Vec<Job>, ProverError> {
    let mut jobs = block
        .chains
        .iter()
        .map(|cb| {
            Ok(Job::Chain(ChainWitness::new(
                cb,
                block.number,
                &block.domain,
                capacity,
            )?))
        })
        .collect::<Result<Vec<_>, ProverError>>()?;
    jobs.push(Job::Binding(BindingWitness::new(block, chains, capacity)?));
    Ok(jobs)
}

/// Proves a job with the keys of its shape, and checks the proof natively before anyone stores
/// it: a witness that does not satisfy the circuit (a builder bug, a corrupt job) gives a proof
/// no contract accepts, which must fail here, not on L1.
pub fn prove_job(keys: &Keys, job: Job) -> Result<Proved, ProverError> {
    let proved = match (job, &keys.shape) {
        (Job::Chain(w), Shape::Chain { .. }) => prove_chain(keys, w),
        (Job::Binding(w), Shape::Binding { .. }) => prove_binding(keys, w),
        _ => Err(ProverError::WrongShape(keys.shape.clone())),
    }?;
    if !crate::verify(keys, &proved) {
        return Err(ProverError::Unverified);
    }
    Ok(proved)
}

impl Proved {
    /// Stored form (`binding` tells which keys verify it).
    pub fn to_bytes(&self, binding: bool) -> Vec<u8> {
        let mut out = PROOF_MAGIC.to_vec();
        out.push(binding as u8);
        self.proof
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        self.public_input
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }

    /// Parses a stored proof: returns it and whether it is a binding proof. Points are checked to
    /// be on the curve and in the right subgroup.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, bool), WireError> {
        let rest = bytes
            .strip_prefix(PROOF_MAGIC)
            .ok_or(WireError::Magic("proof"))?;
        let (&kind, mut payload) = rest.split_first().ok_or(WireError::Magic("proof"))?;
        if kind > 1 {
            return Err(WireError::Kind(kind));
        }
        let bad = |e: ark_serialize::SerializationError| WireError::Malformed {
            what: "proof",
            detail: e.to_string(),
        };
        let proof = Proof::<Bn254>::deserialize_compressed(&mut payload).map_err(bad)?;
        let public_input = Fr::deserialize_compressed(&mut payload).map_err(bad)?;
        if !payload.is_empty() {
            return Err(WireError::Malformed {
                what: "proof",
                detail: format!("{} trailing bytes", payload.len()),
            });
        }
        Ok((
            Proved {
                proof,
                public_input,
            },
            kind == 1,
        ))
    }
}
