//! The per-chain circuit over real blocks that use every operation: satisfied for honest
//! witnesses; the public input is the native computation. (Forgeries: `src/chain/tests.rs`.)

use rollup_circuits::chain::{ChainCircuit, ChainWitness, CircuitError};
use rollup_circuits::r1cs::R1cs;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::*;
use rollup_types::tx::*;
use rollup_types::*;
use std::sync::OnceLock;

const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);
const C3: ChainId = ChainId(3);
const CAPACITY: usize = 16;

struct Net {
    state: NetworkState,
    number: u32,
    prev: [u8; 32],
}

impl Net {
    fn new() -> Self {
        let chains = vec![C1, C2, C3];
        let state = NetworkState::genesis(&NetworkConfig {
            chains,
            fee_account: DevWallet::new(0).address(),
            domain: rollup_state::dev::TEST_DOMAIN,
        })
        .unwrap();
        Net {
            state,
            number: 0,
            prev: genesis_sync_hash(),
        }
    }

    fn block(&mut self, txs: Vec<Tx>, witness: bool) -> Block {
        self.number += 1;
        let ctx = BlockContext {
            number: BlockNumber(self.number),
            timestamp: self.number as u64,
            prev_sync_hash: self.prev,
        };
        let b = build_block(
            &mut self.state,
            &ctx,
            txs,
            BuildOptions {
                witness,
                ..Default::default()
            },
        );
        assert!(b.rejected.is_empty(), "{:?}", b.rejected);
        assert!(b.deferred.is_empty());
        self.prev = b.sync_hash;
        b
    }
}

/// Whether `w` satisfies the chain circuit's matrices (synthesised once, shared by the tests),
/// and the circuit's number of constraints.
fn check(w: ChainWitness) -> (bool, usize) {
    static R1CS: OnceLock<R1cs> = OnceLock::new();
    let r1cs = R1CS.get_or_init(|| {
        R1cs::synthesise(ChainCircuit {
            capacity: CAPACITY,
            witness: None,
        })
        .unwrap()
    });
    let z = r1cs
        .assign(ChainCircuit {
            capacity: CAPACITY,
            witness: Some(w),
        })
        .unwrap();
    let unsatisfied = r1cs.first_unsatisfied(&z);
    if let Some(row) = unsatisfied {
        println!("unsatisfied: constraint {row}");
    }
    (unsatisfied.is_none(), r1cs.num_constraints)
}

/// Every chain's circuit is satisfied (chains checked in parallel).
fn assert_all_chains_prove(b: &Block) {
    std::thread::scope(|s| {
        let handles: Vec<_> = b
            .chains
            .iter()
            .map(|cb| {
                let w = ChainWitness::new(cb, b.number, &b.domain, CAPACITY).unwrap();
                (cb.chain, s.spawn(move || check(w)))
            })
            .collect();
        for (chain, h) in handles {
            let (ok, n) = h.join().unwrap();
            assert!(ok, "chain {chain} of block {}", b.number);
            assert!(n > 0);
        }
    });
}

fn swap(account: AccountId, amt: u128, min_out: u128, nonce: u32) -> Tx {
    DevWallet::new(1).sign(L2Tx::Swap(Swap {
        chain: C1,
        account,
        pool: PoolId(0),
        amount_in: amount(amt),
        min_out: amount(min_out),
        fee: amount(3),
        nonce: Nonce(nonce),
    }))
}

fn add(chain: ChainId, amt: u128, min_shares: u128, nonce: u32) -> Tx {
    DevWallet::new(1).sign(L2Tx::AddLiquidity(AddLiquidity {
        chain,
        account: AccountId(1),
        pool: PoolId(0),
        amount: amount(amt),
        min_shares: amount(min_shares),
        fee: amount(1),
        nonce: Nonce(nonce),
    }))
}

#[test]
fn transfers_deposits_withdrawals_and_account_creation_prove() {
    let mut n = Net::new();
    let (alice, bob) = (DevWallet::new(1), DevWallet::new(2));
    n.block(
        vec![
            deposit(1, 0, alice.address(), 0, 1_000_000),
            deposit(2, 0, bob.address(), 1, 500),
            alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
        ],
        false,
    );
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
    let b = n.block(txs, true);
    assert_all_chains_prove(&b);
}

#[test]
fn pools_liquidity_swaps_keys_exits_and_refunds_prove() {
    let mut n = Net::new();
    let (alice, bob) = (DevWallet::new(1), DevWallet::new(2));
    let a = AccountId(1);
    n.block(
        vec![
            deposit(1, 0, alice.address(), 0, 1_000_000),
            deposit(2, 0, alice.address(), 1, 1_000_000),
            deposit(1, 1, bob.address(), 0, MAX_AMOUNT - 100),
            alice.change_pubkey(C1, a, 0, 0, 0),
        ],
        false,
    );
    // Block 2: a key change on chain 2 (SetPubKey elsewhere), a pool with liquidity on both
    // sides, a later add, a cross-chain swap, a removal.
    let b2 = n.block(
        vec![
            alice.change_pubkey(C2, a, 0, 1, 1),
            alice.sign(L2Tx::CreatePool(CreatePool {
                chain: C1,
                account: a,
                pool: PoolId(0),
                token: TokenId(0),
                peer_chain: C2,
                peer_token: TokenId(1),
                fee_bps: 30,
                fee: amount(2),
                nonce: Nonce(1),
            })),
            add(C1, 50_000, 0, 2),
            add(C2, 50_000, 49_000, 1),
            add(C1, 10_000, 10_000, 3),
            swap(a, 1_000, 800, 4),
            alice.sign(L2Tx::RemoveLiquidity(RemoveLiquidity {
                chain: C1,
                account: a,
                pool: PoolId(0),
                shares: amount(5_000),
                min_out: amount(4_000),
                fee: amount(1),
                nonce: Nonce(5),
            })),
        ],
        true,
    );
    assert_all_chains_prove(&b2);
    // Block 3: a refunded deposit, full exits (wrong owner, no such account, paid).
    let exit = |chain: u8, serial: u64, account: u32, owner: Address, token: u16| {
        Tx::FullExit(FullExit {
            chain: ChainId(chain),
            serial_id: serial,
            account: AccountId(account),
            owner,
            token: TokenId(token),
        })
    };
    let b3 = n.block(
        vec![
            deposit(1, 2, bob.address(), 0, 200),
            exit(1, 3, 1, bob.address(), 0),
            exit(1, 4, 999, bob.address(), 0),
            exit(2, 1, 1, alice.address(), 1),
        ],
        true,
    );
    let ops: Vec<u8> = b3
        .chains
        .iter()
        .flat_map(|c| c.ops.iter().map(Op::code))
        .collect();
    assert!(ops.contains(&op::code::DEPOSIT_REFUND));
    assert_all_chains_prove(&b3);
}

#[test]
fn oversized_blocks_are_reported() {
    let mut n = Net::new();
    let alice = DevWallet::new(1);
    let b = n.block(vec![deposit(1, 0, alice.address(), 0, 1)], true);
    assert!(matches!(
        ChainWitness::new(&b.chains[0], b.number, &b.domain, 4),
        Err(CircuitError::TooLarge { .. })
    ));
    let plain = n.block(vec![deposit(1, 1, alice.address(), 0, 1)], false);
    assert_eq!(
        ChainWitness::new(&plain.chains[0], plain.number, &plain.domain, CAPACITY).unwrap_err(),
        CircuitError::NoWitness
    );
}
