//! Groth16 keys, proving and verification for the rollup's circuits.
//!
//! * Keys are per circuit shape ([`Shape`]: the chain circuit of a capacity, or the binding
//!   circuit of a network's chains). [`Keys::load_or_setup`] reads them from a cache directory
//!   (safe to delete) where each file name carries a fingerprint of the circuit's constraint
//!   matrices, so a key made for another version of a circuit is never used — a changed circuit
//!   simply gets new keys.
//! * The only setup implemented is the **development setup**: deterministic, seeded from a public
//!   constant, and therefore **insecure** — anyone can forge proofs for keys made this way. It is
//!   refused unless the network is [`Network::Dev`]; production needs a multi-party ceremony.
//! * Loading keys synthesises the circuit's constraint matrices once ([`R1cs`]); a proof then
//!   synthesises only the witness (no constraints, no linear combinations) and reuses them,
//!   where arkworks' one-call prover would rebuild and inline every matrix for each proof.
//! * [`prove_chain`] proves one sub-block of a chain's part of a block (a part larger than the
//!   circuit's capacity is split into consecutive sub-blocks); sub-blocks are independent, so
//!   they can be proved in parallel or on different workers. [`prove_binding`] proves the
//!   block's binding.
//! * [`job`]: a block's witness data as stored jobs ([`job::block_jobs`], [`job::Job::to_bytes`])
//!   for workers elsewhere, proved by [`job::prove_job`] or the CLI's `prove` subcommand; their
//!   stored proofs carry what they prove ([`SubBlockStatement`]) and are reassembled into a
//!   block's [`BlockProofs`] by [`BlockProofs::from_stored`].

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, R1CS_PREDICATE_LABEL, SynthesisError,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rollup_circuits::binding::{BindingCircuit, BindingWitness};
use rollup_circuits::chain::{ChainCircuit, ChainWitness};
pub use rollup_circuits::r1cs::R1cs;
use rollup_circuits::r1cs::R1csError;
use rollup_types::ChainId;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod job;
pub mod verifier;

/// Errors from key handling and proving. [`ProverError::retryable`] tells a job queue whether to
/// try again.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// The development setup was requested for a network that is not the development network.
    #[error("the insecure development setup is refused for network {0:?}")]
    InsecureSetupRefused(Network),
    /// Reading or writing the key cache failed.
    #[error("key cache {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A cached key could not be decoded (corrupt or truncated file).
    #[error("key cache {0}: corrupt key file")]
    CorruptKey(PathBuf),
    /// The witness synthesised to another number of variables than the keys' circuit, or to
    /// another public input than the one claimed (a circuit bug, never a user's input).
    #[error("witness synthesis disagrees with the circuit: {0}")]
    Inconsistent(String),
    /// The proof does not verify against its public input: the witness does not satisfy the
    /// circuit.
    #[error("the proof does not verify: the witness does not satisfy the circuit")]
    Unverified,
    /// A witness was given to keys of another circuit shape.
    #[error("the witness does not fit keys of shape {0:?}")]
    WrongShape(Shape),
    /// Constraint synthesis or proving failed (bad witness or a circuit bug).
    #[error("proving failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The chain circuit's witness could not be built from the block.
    #[error("chain witness: {0}")]
    ChainWitness(#[from] rollup_circuits::chain::CircuitError),
    /// The binding circuit's witness could not be built from the block.
    #[error("binding witness: {0}")]
    BindingWitness(#[from] rollup_circuits::binding::BindingError),
}

impl From<R1csError> for ProverError {
    fn from(e: R1csError) -> Self {
        match e {
            R1csError::Synthesis(e) => ProverError::Synthesis(e),
            other => ProverError::Inconsistent(other.to_string()),
        }
    }
}

impl ProverError {
    /// Whether retrying the same job may succeed (I/O), as opposed to a deterministic failure.
    pub fn retryable(&self) -> bool {
        matches!(self, ProverError::Io { .. })
    }
}

/// Which network keys are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// Local development and tests: the insecure deterministic setup is allowed.
    Dev,
    /// Any network holding value.
    Production,
}

/// A circuit shape: what one proving key serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The per-chain block circuit with this many chunk steps (the same key for every chain).
    Chain {
        /// Steps.
        capacity: usize,
    },
    /// The binding circuit of a network's connected chains, with this many link slots per chain.
    Binding {
        /// Connected chains, ascending.
        chains: Vec<ChainId>,
        /// Link slots per chain (the chain circuits' capacity).
        links: usize,
    },
}

/// Either circuit, so keys and proofs share one code path.
enum Circuit {
    Chain(ChainCircuit),
    Binding(BindingCircuit),
}

impl ConstraintSynthesizer<Fr> for Circuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        match self {
            Circuit::Chain(c) => c.generate_constraints(cs),
            Circuit::Binding(c) => c.generate_constraints(cs),
        }
    }
}

impl Shape {
    fn name(&self) -> String {
        match self {
            Shape::Chain { capacity } => format!("chain-{capacity}"),
            Shape::Binding { chains, links } => {
                let ids: Vec<String> = chains.iter().map(|c| c.0.to_string()).collect();
                format!("binding-{}-{links}", ids.join("_"))
            }
        }
    }

    fn blank(&self) -> Circuit {
        match self {
            Shape::Chain { capacity } => Circuit::Chain(ChainCircuit {
                capacity: *capacity,
                witness: None,
            }),
            Shape::Binding { chains, links } => Circuit::Binding(BindingCircuit {
                chains: chains.clone(),
                links: *links,
                witness: None,
            }),
        }
    }
}

/// The public seed of the development setup. INSECURE: the toxic waste is derivable from it.
const DEV_SETUP_SEED: [u8; 32] = *b"INSECURE dev setup: never prod!!";

/// A shape's proving and verifying keys.
pub struct Keys {
    /// The shape.
    pub shape: Shape,
    /// Proving key.
    pub pk: ProvingKey<Bn254>,
    /// Verifying key.
    pub vk: VerifyingKey<Bn254>,
    /// Prepared verifying key (for fast native verification).
    pub pvk: PreparedVerifyingKey<Bn254>,
    /// Hex fingerprint of the constraint matrices.
    pub fingerprint: String,
    /// The constraint system the keys were made for.
    pub r1cs: R1cs,
}

/// SHA-256 over the circuit's constraint matrices (synthesised without a witness).
pub fn fingerprint(shape: &Shape) -> Result<String, ProverError> {
    Ok(synthesise(shape)?.0)
}

/// The shape's constraint system, synthesised as the setup does (inlined linear combinations),
/// and its fingerprint.
fn synthesise(shape: &Shape) -> Result<(String, R1cs), ProverError> {
    let r1cs = R1cs::synthesise(shape.blank())?;
    let mut h = Sha256::new();
    h.update(shape.name());
    h.update((r1cs.num_inputs as u64).to_le_bytes());
    h.update((r1cs.num_witness as u64).to_le_bytes());
    h.update(R1CS_PREDICATE_LABEL.as_bytes());
    for m in &r1cs.matrices {
        h.update((m.len() as u64).to_le_bytes());
        for row in m {
            h.update((row.len() as u64).to_le_bytes());
            for (coeff, var) in row {
                let mut b = Vec::with_capacity(32);
                coeff
                    .serialize_compressed(&mut b)
                    .expect("serialising to memory");
                h.update(&b);
                h.update((*var as u64).to_le_bytes());
            }
        }
    }
    Ok((hex::encode(&h.finalize()[..16]), r1cs))
}

fn spinner(msg: String) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProverError + '_ {
    move |source| ProverError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Keys {
    /// Loads the keys of `shape` from `cache_dir`, or runs the development setup and stores them.
    pub fn load_or_setup(
        shape: Shape,
        cache_dir: &Path,
        network: Network,
    ) -> Result<Self, ProverError> {
        if network != Network::Dev {
            return Err(ProverError::InsecureSetupRefused(network));
        }
        let (fp, r1cs) = synthesise(&shape)?;
        let base = cache_dir.join(format!("{}-{fp}", shape.name()));
        let (pk_path, vk_path) = (base.with_extension("pk"), base.with_extension("vk"));
        let (pk, vk) = if pk_path.exists() && vk_path.exists() {
            let pb = spinner(format!("loading {} keys", shape.name()));
            let read = |p: &Path| std::fs::read(p).map_err(io(p));
            let pk = ProvingKey::deserialize_uncompressed_unchecked(&read(&pk_path)?[..])
                .map_err(|_| ProverError::CorruptKey(pk_path.clone()))?;
            let vk = VerifyingKey::deserialize_uncompressed(&read(&vk_path)?[..])
                .map_err(|_| ProverError::CorruptKey(vk_path.clone()))?;
            pb.finish_and_clear();
            (pk, vk)
        } else {
            let pb = spinner(format!(
                "INSECURE development setup for {} (minutes for large shapes)",
                shape.name()
            ));
            let mut rng = ChaCha20Rng::from_seed(DEV_SETUP_SEED);
            let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(shape.blank(), &mut rng)?;
            pb.finish_and_clear();
            std::fs::create_dir_all(cache_dir).map_err(io(cache_dir))?;
            let mut bytes = Vec::new();
            pk.serialize_uncompressed(&mut bytes)
                .expect("serialising to memory");
            write_atomically(&pk_path, &bytes)?;
            bytes.clear();
            vk.serialize_uncompressed(&mut bytes)
                .expect("serialising to memory");
            write_atomically(&vk_path, &bytes)?;
            (pk, vk)
        };
        let pvk = ark_groth16::prepare_verifying_key(&vk);
        Ok(Keys {
            shape,
            pk,
            vk,
            pvk,
            fingerprint: fp,
            r1cs,
        })
    }
}

/// Writes through a temporary file and a rename, so a crash never leaves a truncated key. The
/// temporary file is this process's own: workers sharing a key directory that set up the same
/// (deterministic) keys at once each rename a whole file, never one another is still writing.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ProverError> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// A proof with its public input.
#[derive(Clone, Debug)]
pub struct Proved {
    /// The proof.
    pub proof: Proof<Bn254>,
    /// Its single public input.
    pub public_input: Fr,
}

fn prove(keys: &Keys, circuit: Circuit, public_input: Fr) -> Result<Proved, ProverError> {
    // The witness only: the matrices are the keys' (synthesised once at load).
    let r1cs = &keys.r1cs;
    let assignment = r1cs.assign(circuit)?;
    if assignment.get(1) != Some(&public_input) {
        return Err(ProverError::Inconsistent(
            "the synthesised public input differs from the witness's".into(),
        ));
    }
    // Proof randomness must be unpredictable (zero knowledge), unlike the setup's.
    let mut rng = ChaCha20Rng::from_entropy();
    let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        &keys.pk,
        r,
        s,
        &r1cs.matrices,
        r1cs.num_inputs,
        r1cs.num_constraints,
        &assignment,
    )?;
    Ok(Proved {
        proof,
        public_input,
    })
}

/// Proves one chain's part of a block.
pub fn prove_chain(keys: &Keys, witness: ChainWitness) -> Result<Proved, ProverError> {
    let Shape::Chain { capacity } = keys.shape else {
        return Err(ProverError::WrongShape(keys.shape.clone()));
    };
    witness.check_shape(capacity)?;
    let public_input = witness.public_input();
    let circuit = ChainCircuit {
        capacity,
        witness: Some(witness),
    };
    prove(keys, Circuit::Chain(circuit), public_input)
}

/// Proves the binding of a block's chains.
pub fn prove_binding(keys: &Keys, witness: BindingWitness) -> Result<Proved, ProverError> {
    let Shape::Binding { chains, links } = &keys.shape else {
        return Err(ProverError::WrongShape(keys.shape.clone()));
    };
    witness.check_shape(chains.len())?;
    let public_input = witness.public_input(chains);
    let circuit = BindingCircuit {
        chains: chains.clone(),
        links: *links,
        witness: Some(witness),
    };
    prove(keys, Circuit::Binding(circuit), public_input)
}

/// Verifies a proof natively against its public input.
pub fn verify(keys: &Keys, proof: &Proved) -> bool {
    Groth16::<Bn254>::verify_with_processed_vk(&keys.pvk, &[proof.public_input], &proof.proof)
        .unwrap_or(false)
}

/// What a chain proof proves besides the block's public values: its sub-block's boundary. The
/// public input hashes these with the sub-block's pubdata hash
/// ([`rollup_circuits::chain::public_input`]); the contracts are given them to recompute it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubBlockStatement {
    /// The chain.
    pub chain: ChainId,
    /// Whether it is the chain's last sub-block in the block.
    pub last: bool,
    /// The chain's root before the sub-block.
    pub old_root: Fr,
    /// The chain's root after it.
    pub new_root: Fr,
    /// The carry in (0 for the first sub-block).
    pub carry_in: Fr,
    /// The carry out (the chain's links hash for the last sub-block).
    pub carry_out: Fr,
}

impl SubBlockStatement {
    /// The statement a witness proves.
    pub fn of(w: &ChainWitness) -> Self {
        SubBlockStatement {
            chain: w.chain,
            last: w.last,
            old_root: w.old_root,
            new_root: w.new_root,
            carry_in: w.carry_in,
            carry_out: w.carry_end(),
        }
    }
}

/// A chain proof of one sub-block, with what it proves.
#[derive(Clone, Debug)]
pub struct SubBlockProof {
    /// The proof.
    pub proved: Proved,
    /// Its sub-block's values.
    pub statement: SubBlockStatement,
}

/// All proofs of a block: per chain (in the block's chain order) its sub-blocks' proofs in
/// order, and the binding proof.
#[derive(Clone, Debug)]
pub struct BlockProofs {
    /// Chain proofs.
    pub chains: Vec<Vec<SubBlockProof>>,
    /// The binding proof.
    pub binding: Proved,
}

impl BlockProofs {
    /// Per chain, the roots at its sub-blocks' boundaries (S + 1: old root, between, new root)
    /// and the carries between them (S − 1): what the contracts take beside the proofs.
    pub fn boundaries(&self) -> Vec<(Vec<Fr>, Vec<Fr>)> {
        self.chains
            .iter()
            .map(|subs| {
                let mut roots = vec![subs[0].statement.old_root];
                roots.extend(subs.iter().map(|p| p.statement.new_root));
                let carries = subs[..subs.len() - 1]
                    .iter()
                    .map(|p| p.statement.carry_out)
                    .collect();
                (roots, carries)
            })
            .collect()
    }

    /// Every chain proof in order (chain by chain, sub-block by sub-block).
    pub fn chain_proofs(&self) -> impl Iterator<Item = &Proved> {
        self.chains.iter().flatten().map(|p| &p.proved)
    }
}

/// Proves a whole block (built with its witness) with the chain keys of its capacity and the
/// binding keys of its network, one job after the other ([`job::block_jobs`]; a job queue runs
/// them on different workers instead). Every proof is checked natively.
pub fn prove_block(
    chain_keys: &Keys,
    binding_keys: &Keys,
    block: &rollup_state::Block,
) -> Result<BlockProofs, ProverError> {
    let Shape::Chain { capacity } = chain_keys.shape else {
        return Err(ProverError::WrongShape(chain_keys.shape.clone()));
    };
    let Shape::Binding { chains, links } = &binding_keys.shape else {
        return Err(ProverError::WrongShape(binding_keys.shape.clone()));
    };
    let mut out = Vec::with_capacity(block.chains.len());
    for cb in &block.chains {
        let parts = ChainWitness::sub_blocks(cb, block.number, &block.domain, capacity)?;
        let proofs = parts
            .into_iter()
            .map(|w| {
                let job = job::prove_job(chain_keys, job::Job::Chain(w))?;
                Ok(SubBlockProof {
                    proved: job.proved,
                    statement: job.statement.expect("a chain job's statement"),
                })
            })
            .collect::<Result<Vec<_>, ProverError>>()?;
        out.push(proofs);
    }
    let binding = job::prove_job(
        binding_keys,
        job::Job::Binding(BindingWitness::new(block, chains, *links)?),
    )?;
    Ok(BlockProofs {
        chains: out,
        binding: binding.proved,
    })
}
