//! End to end with real Groth16 proofs: a three-chain block is proven per chain and verifies; any
//! changed public input is rejected. Run in release (`cargo test --release -p rollup-prover`);
//! keys are cached under `.data/keys` (safe to delete).

use rollup_circuits::chain::ChainWitness;
use rollup_prover::*;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::*;
use rollup_types::tx::*;
use rollup_types::*;
use std::path::PathBuf;
use std::time::Instant;

const CAPACITY: usize = 16;

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.data/keys")
}

fn block() -> Block {
    let alice = DevWallet::new(1);
    let bob = DevWallet::new(2);
    let chains = vec![ChainId(1), ChainId(2), ChainId(3)];
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains,
        fee_account: DevWallet::new(0).address(),
    })
    .unwrap();
    let ctx = BlockContext {
        number: BlockNumber(1),
        timestamp: 0,
        prev_sync_hash: genesis_sync_hash(),
    };
    let setup = vec![
        deposit(1, 0, alice.address(), 0, 1_000_000),
        alice.change_pubkey(ChainId(1), AccountId(1), 0, 0, 0),
    ];
    let b1 = build_block(&mut state, &ctx, setup, BuildOptions::default());
    assert!(b1.rejected.is_empty());
    let txs = vec![
        deposit(2, 0, bob.address(), 1, 5_000),
        alice.sign(L2Tx::Transfer(Transfer {
            chain: ChainId(1),
            from: AccountId(1),
            to: bob.address(),
            token: TokenId(0),
            amount: amount(2_500),
            fee: amount(3),
            nonce: Nonce(1),
        })),
        alice.sign(L2Tx::Withdraw(Withdraw {
            chain: ChainId(1),
            account: AccountId(1),
            to: alice.address(),
            token: TokenId(0),
            amount: amount(100_000),
            fee: amount(5),
            nonce: Nonce(2),
        })),
    ];
    let ctx = BlockContext {
        number: BlockNumber(2),
        timestamp: 1,
        prev_sync_hash: b1.sync_hash,
    };
    let b = build_block(
        &mut state,
        &ctx,
        txs,
        BuildOptions {
            witness: true,
            ..Default::default()
        },
    );
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    b
}

#[test]
fn development_setup_is_refused_outside_dev() {
    let err = Keys::load_or_setup(
        Shape::Chain { capacity: CAPACITY },
        &cache_dir(),
        Network::Production,
    );
    assert!(matches!(
        err,
        Err(ProverError::InsecureSetupRefused(Network::Production))
    ));
}

#[test]
fn three_chain_block_proves_and_verifies() {
    let t = Instant::now();
    let keys = Keys::load_or_setup(
        Shape::Chain { capacity: CAPACITY },
        &cache_dir(),
        Network::Dev,
    )
    .unwrap();
    println!(
        "keys for capacity {CAPACITY} ({}): {:.1} s",
        keys.fingerprint,
        t.elapsed().as_secs_f64()
    );
    let b = block();
    let mut proofs = Vec::new();
    for cb in &b.chains {
        let w = ChainWitness::new(cb, b.number, CAPACITY).unwrap();
        let t = Instant::now();
        let p = prove_chain(&keys, w).unwrap();
        println!(
            "chain {}: proved in {:.1} s",
            cb.chain,
            t.elapsed().as_secs_f64()
        );
        assert!(verify_chain(&keys, &p), "chain {} proof verifies", cb.chain);
        proofs.push(p);
    }
    // Any other public input is rejected: a changed value, or another chain's input.
    let mut changed = proofs[0].clone();
    changed.public_input += ark_bn254::Fr::from(1u8);
    assert!(!verify_chain(&keys, &changed));
    let swapped = ChainProof {
        proof: proofs[0].proof.clone(),
        public_input: proofs[1].public_input,
    };
    assert!(!verify_chain(&keys, &swapped));
}
