//! Proving throughput at a chain capacity: a block of `capacity` transfers on one chain (each
//! from its own sender), the chain proof timed, transfers per second reported.
//!
//! Run: `cargo run --release -p rollup-prover --example throughput -- 64`
//! (development keys are made or loaded from `.data/keys`).

use rollup_circuits::chain::ChainWitness;
use rollup_prover::{Keys, Network, Shape, prove_chain, verify};
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::{
    BlockContext, BuildOptions, NetworkConfig, NetworkState, build_block, genesis_sync_hash,
};
use rollup_types::tx::{L2Tx, Transfer};
use rollup_types::{AccountId, BlockNumber, ChainId, Nonce, TokenId};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let capacity: usize = std::env::args().nth(1).map_or(Ok(64), |a| a.parse())?;
    let cache = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.data/keys");
    let t = Instant::now();
    let keys = Keys::load_or_setup(Shape::Chain { capacity }, &cache, Network::Dev)?;
    println!(
        "capacity {capacity}: keys in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // Senders each with a key; `capacity` transfers between existing accounts fill the block.
    let senders: Vec<DevWallet> = (1..=capacity as u64).map(DevWallet::new).collect();
    let chains = vec![ChainId(1), ChainId(2)];
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains,
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    })?;
    let mut setup: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(i, w)| deposit(1, i as u64, w.address(), 0, 1_000_000))
        .collect();
    setup.extend(
        senders
            .iter()
            .enumerate()
            .map(|(i, w)| w.change_pubkey(ChainId(1), AccountId(i as u32 + 1), 0, 0, 0)),
    );
    let ctx = BlockContext {
        number: BlockNumber(1),
        timestamp: 0,
        prev_sync_hash: genesis_sync_hash(),
    };
    let b1 = build_block(&mut state, &ctx, setup, BuildOptions::default());
    assert!(b1.rejected.is_empty() && b1.deferred.is_empty());
    let txs = senders
        .iter()
        .enumerate()
        .map(|(i, w)| {
            w.sign(L2Tx::Transfer(Transfer {
                chain: ChainId(1),
                from: AccountId(i as u32 + 1),
                to: senders[(i + 1) % capacity].address(),
                token: TokenId(0),
                amount: amount(1_000),
                fee: amount(1),
                nonce: Nonce(1),
            }))
        })
        .collect();
    let ctx = BlockContext {
        number: BlockNumber(2),
        timestamp: 1,
        prev_sync_hash: b1.sync_hash,
    };
    let b = build_block(
        &mut state,
        &ctx,
        txs,
        BuildOptions::new(true, capacity, 1, capacity),
    );
    assert_eq!(b.txs.len(), capacity);
    let w = ChainWitness::new(&b.chains[0], b.number, &b.domain, capacity)?;
    let t = Instant::now();
    let proof = prove_chain(&keys, w)?;
    let dt = t.elapsed().as_secs_f64();
    assert!(verify(&keys, &proof));
    println!(
        "capacity {capacity}: {capacity} transfers proved in {dt:.1} s = {:.2} transfers/s",
        capacity as f64 / dt
    );
    Ok(())
}
