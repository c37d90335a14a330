//! `rollup-prover`: key setup and EVM verifier generation for a network's circuit shapes.
//!
//! ```text
//! rollup-prover setup    --chains 1,2,3 --capacity 16 [--keys .data/keys]
//! rollup-prover verifier --chains 1,2,3 --capacity 16 [--keys .data/keys] --out BlockVerifier.sol
//! rollup-prover prove    --chains 1,2,3 --capacity 16 [--keys .data/keys] [--out-dir D] JOB...
//! ```
//! `prove` reads stored jobs (`rollup_prover::job`: one chain's or the binding witness of a block)
//! and writes each proof with its public input to `<job>.proof` (or into `--out-dir`).
//! Only the development setup exists (INSECURE, deterministic); `--network` other than `dev` is
//! refused.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use rollup_crypto::field::fr_to_be_bytes;
use rollup_prover::job::{Job, prove_job};
use rollup_prover::{Keys, Network, Shape, verifier::solidity_verifier, verify};
use rollup_types::ChainId;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(
    version,
    about = "Keys and the batched EVM verifier of the rollup's circuits"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ShapeArgs {
    /// Connected chains (rollup chain ids), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    chains: Vec<u8>,
    /// Chain-circuit capacity in pubdata chunks (also the binding circuit's link slots).
    #[arg(long, default_value_t = 16)]
    capacity: usize,
    /// Key cache directory (safe to delete).
    #[arg(long, default_value = ".data/keys")]
    keys: PathBuf,
    /// Network the keys are for: `dev` (insecure development setup) or `production` (refused
    /// until a ceremony exists).
    #[arg(long, default_value = "dev")]
    network: String,
}

#[derive(Subcommand)]
enum Command {
    /// Make (or load) the chain and binding keys.
    Setup(ShapeArgs),
    /// Write the Solidity block verifier for the keys.
    Verifier {
        #[command(flatten)]
        shape: ShapeArgs,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Prove stored jobs; each proof is verified natively before it is written.
    Prove {
        #[command(flatten)]
        shape: ShapeArgs,
        /// Directory for the proofs (default: beside each job).
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Job files.
        #[arg(required = true)]
        jobs: Vec<PathBuf>,
    },
}

fn keys(a: &ShapeArgs) -> anyhow::Result<(Keys, Keys)> {
    let network = match a.network.as_str() {
        "dev" => Network::Dev,
        "production" => Network::Production,
        other => bail!("unknown network {other:?} (dev or production)"),
    };
    if !rollup_types::op::PROOF_CHUNKS.contains(&a.capacity) {
        bail!(
            "capacity {} is not in {:?}",
            a.capacity,
            rollup_types::op::PROOF_CHUNKS
        );
    }
    let mut chains = a
        .chains
        .iter()
        .map(|c| ChainId::new(*c).with_context(|| format!("chain id {c}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    chains.sort();
    chains.dedup();
    if chains.len() != a.chains.len() || chains.is_empty() {
        bail!("chains must be distinct and non-empty");
    }
    let chain = Keys::load_or_setup(
        Shape::Chain {
            capacity: a.capacity,
        },
        &a.keys,
        network,
    )?;
    let binding = Keys::load_or_setup(
        Shape::Binding {
            chains,
            links: a.capacity,
        },
        &a.keys,
        network,
    )?;
    Ok((chain, binding))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Setup(a) => {
            let (c, b) = keys(&a)?;
            println!(
                "chain keys {} and binding keys {} in {}",
                c.fingerprint,
                b.fingerprint,
                a.keys.display()
            );
        }
        Command::Verifier { shape, out } => {
            let (c, b) = keys(&shape)?;
            let source = solidity_verifier(&c.vk, &b.vk);
            std::fs::write(&out, source).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        Command::Prove {
            shape,
            out_dir,
            jobs,
        } => {
            let (chain_keys, binding_keys) = keys(&shape)?;
            for path in jobs {
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let job = Job::from_bytes(&bytes).with_context(|| format!("{}", path.display()))?;
                let what = job
                    .chain()
                    .map_or("binding".to_string(), |c| format!("chain {c}"));
                let binding = job.chain().is_none();
                let keys = if binding { &binding_keys } else { &chain_keys };
                let started = Instant::now();
                let proved = prove_job(keys, job)
                    .with_context(|| format!("proving {} ({what})", path.display()))?;
                if !verify(keys, &proved.proved) {
                    bail!("{}: the proof does not verify natively", path.display());
                }
                let name = path.with_extension("proof");
                let out = match &out_dir {
                    Some(d) => d.join(name.file_name().context("job file name")?),
                    None => name,
                };
                std::fs::write(&out, proved.to_bytes())
                    .with_context(|| format!("writing {}", out.display()))?;
                println!(
                    "{} ({what}): public input 0x{}, proved in {:.1} s -> {}",
                    path.display(),
                    hex::encode(fr_to_be_bytes(&proved.proved.public_input)),
                    started.elapsed().as_secs_f64(),
                    out.display()
                );
            }
        }
    }
    Ok(())
}
