//! Writes the batched block verifier for three chains at capacity 16 (development keys, made or
//! loaded from `.data/keys`) to standard output.
//!
//! Run: `cargo run --release -p rollup-prover --example gen_verifier > BlockVerifier.sol`

use rollup_prover::{Keys, Network, Shape, verifier::solidity_verifier};
use rollup_types::ChainId;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.data/keys");
    let chains = vec![ChainId(1), ChainId(2), ChainId(3)];
    let chain = Keys::load_or_setup(Shape::Chain { capacity: 16 }, &cache, Network::Dev)?;
    let binding = Keys::load_or_setup(
        Shape::Binding {
            chains: chains.clone(),
            links: 16,
        },
        &cache,
        Network::Dev,
    )?;
    print!(
        "{}",
        solidity_verifier(&chain.vk, &binding.vk, chains.len())
    );
    Ok(())
}
