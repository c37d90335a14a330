//! The per-chain circuit over real blocks: satisfied for honest witnesses, unsatisfied for forged
//! ones; public input equal to the native computation.

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use rollup_circuits::F;
use rollup_circuits::chain::{ChainCircuit, ChainWitness, CircuitError};
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::*;
use rollup_types::tx::*;
use rollup_types::*;

const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);
const C3: ChainId = ChainId(3);
const CAPACITY: usize = 16;

fn block() -> Block {
    let alice = DevWallet::new(1);
    let bob = DevWallet::new(2);
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains: vec![C1, C2, C3],
        fee_account: DevWallet::new(0).address(),
    })
    .unwrap();
    let ctx = BlockContext {
        number: BlockNumber(1),
        timestamp: 0,
        prev_sync_hash: [0; 32],
    };
    let setup = vec![
        deposit(1, 0, alice.address(), 0, 1_000_000),
        deposit(2, 0, bob.address(), 1, 500),
        alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
    ];
    let b1 = build_block(&mut state, &ctx, setup, BuildOptions::default());
    assert!(b1.rejected.is_empty());
    let txs = vec![
        deposit(1, 1, bob.address(), 0, 70),
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: bob.address(),
            token: TokenId(0),
            amount: amount(1000),
            fee: amount(3),
            nonce: Nonce(1),
        })),
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: DevWallet::new(3).address(),
            token: TokenId(0),
            amount: amount(20),
            fee: amount(0),
            nonce: Nonce(2),
        })),
        alice.sign(L2Tx::Withdraw(Withdraw {
            chain: C1,
            account: AccountId(1),
            to: alice.address(),
            token: TokenId(0),
            amount: amount(123_456),
            fee: amount(7),
            nonce: Nonce(3),
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

fn satisfied(w: ChainWitness) -> (bool, usize) {
    let cs = ConstraintSystem::<F>::new_ref();
    ChainCircuit {
        capacity: CAPACITY,
        witness: Some(w),
    }
    .generate_constraints(cs.clone())
    .unwrap();
    let ok = cs.is_satisfied().unwrap();
    if !ok {
        println!("unsatisfied: {:?}", cs.which_is_unsatisfied());
    }
    (ok, cs.num_constraints())
}

#[test]
fn honest_blocks_satisfy_every_chain_circuit() {
    let b = block();
    for cb in &b.chains {
        let w = ChainWitness::new(cb, b.number, CAPACITY).unwrap();
        let (ok, n) = satisfied(w);
        assert!(ok, "chain {}", cb.chain);
        println!(
            "chain {}: {n} constraints for {CAPACITY} steps ({} per step)",
            cb.chain,
            n / CAPACITY
        );
    }
}

#[test]
fn unsupported_operations_are_reported() {
    let b = block();
    let mut cb = b.chains[0].clone();
    let w = cb.witness.as_mut().unwrap();
    w[0].op = Op::SwapOut {
        account: AccountId(1),
        pool: PoolId(0),
        amount: amount(1),
    };
    assert_eq!(
        ChainWitness::new(&cb, b.number, CAPACITY).unwrap_err(),
        CircuitError::Unsupported(op::code::SWAP_OUT)
    );
    assert!(matches!(
        ChainWitness::new(&b.chains[0], b.number, 4),
        Err(CircuitError::TooLarge { .. })
    ));
}
