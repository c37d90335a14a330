//! `rollup-prover`: key setup and EVM verifier generation for a network's circuit shapes.
//!
//! ```text
//! rollup-prover setup    --chains 1,2,3 --capacity 16 [--keys .data/keys]
//! rollup-prover verifier --chains 1,2,3 --capacity 16 [--keys .data/keys] --out BlockVerifier.sol
//! ```
//! Only the development setup exists (INSECURE, deterministic); `--network` other than `dev` is
//! refused.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use rollup_prover::{Keys, Network, Shape, verifier::solidity_verifier};
use rollup_types::ChainId;
use std::path::PathBuf;

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
}

fn keys(a: &ShapeArgs) -> anyhow::Result<(Keys, Keys)> {
    let network = match a.network.as_str() {
        "dev" => Network::Dev,
        "production" => Network::Production,
        other => bail!("unknown network {other:?} (dev or production)"),
    };
    if !rollup_types::op::CHUNK_CAPACITIES.contains(&a.capacity) {
        bail!(
            "capacity {} is not one of {:?}",
            a.capacity,
            rollup_types::op::CHUNK_CAPACITIES
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
            let source = solidity_verifier(&c.vk, &b.vk, shape.chains.len());
            std::fs::write(&out, source).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}
