//! Forgeries of one rule each. Every forged witness is made *consistent* everywhere else — the
//! Merkle paths and roots are recomputed around the forged leaves ([`rechain`]), the public
//! input is recomputed, and changed messages are re-signed with the real key — so the only
//! thing wrong is the rule under test. A control run of the same pipeline without forgery is
//! satisfied.

use super::*;
use crate::attacks::rechain;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::*;
use rollup_types::tx::*;

const CAPACITY: usize = 8;
const C1: ChainId = ChainId(1);

struct Case {
    block: Block,
    alice: DevWallet,
    carol: Address,
}

/// Block 2 on chain 1: one transfer alice → carol (10, fee 1), or → bob, who holds nearly the
/// maximum.
fn case(transfer_to_bob: bool) -> Case {
    let bob = DevWallet::new(2).address();
    let carol = DevWallet::new(3).address();
    let to = if transfer_to_bob { bob } else { carol };
    let (block, _) = block_with(|alice| {
        vec![alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to,
            token: TokenId(0),
            amount: amount(10),
            fee: amount(1),
            nonce: Nonce(1),
        }))]
    });
    Case {
        block,
        alice: DevWallet::new(1),
        carol,
    }
}

fn witness(c: &Case) -> ChainWitness {
    ChainWitness::new(
        &c.block.chains[0],
        c.block.number,
        &c.block.domain,
        CAPACITY,
    )
    .unwrap()
}

fn satisfied(w: ChainWitness) -> bool {
    crate::attacks::chain_r1cs(CAPACITY)
        .is_satisfied(ChainCircuit {
            capacity: CAPACITY,
            witness: Some(w),
        })
        .unwrap()
}

/// Rewrites the transfer's op bytes (and the block pubdata) with `amount`, re-signed.
fn set_transfer_amount(c: &Case, w: &mut ChainWitness, value: u128, to: Address) {
    let a = amount(value);
    let s = &mut w.steps[0];
    s.op[9..14].copy_from_slice(&rollup_types::amount::pack_amount(a).unwrap());
    w.pubdata[..CHUNK_BYTES].copy_from_slice(&s.op[..CHUNK_BYTES]);
    let tx = L2Tx::Transfer(Transfer {
        chain: C1,
        from: AccountId(1),
        to,
        token: TokenId(0),
        amount: a,
        fee: amount(1),
        nonce: Nonce(1),
    });
    s.signature = Some(
        c.alice
            .l2
            .sign(tx.message_hash(&rollup_state::dev::TEST_DOMAIN).unwrap()),
    );
}

#[test]
fn control_rechained_honest_witness_is_satisfied() {
    let c = case(false);
    let mut w = witness(&c);
    rechain(&mut w);
    assert_eq!(w.new_root, c.block.chains[0].new_root);
    assert!(satisfied(w));
}

#[test]
fn forged_signature_is_rejected() {
    let c = case(false);
    let mut w = witness(&c);
    let msg = F::from(77u8);
    w.steps[0].signature = Some(c.alice.l2.sign(msg)); // alice's key, wrong message
    assert!(!satisfied(w));
    let mut w = witness(&c);
    let mallory = DevWallet::new(9);
    let tx = L2Tx::Transfer(Transfer {
        chain: C1,
        from: AccountId(1),
        to: c.carol,
        token: TokenId(0),
        amount: amount(10),
        fee: amount(1),
        nonce: Nonce(1),
    });
    w.steps[0].signature = Some(
        mallory
            .l2
            .sign(tx.message_hash(&rollup_state::dev::TEST_DOMAIN).unwrap()),
    ); // right message, wrong key
    assert!(!satisfied(w));
}

#[test]
fn wrong_nonce_is_rejected() {
    let c = case(false);
    let mut w = witness(&c);
    w.steps[0].a.after[2] += F::from(1u8); // nonce + 2
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn overdraft_is_rejected() {
    let c = case(false);
    let mut w = witness(&c);
    set_transfer_amount(&c, &mut w, 2_000_000, c.carol);
    // Debit more than the balance (the field wraps), credit the recipient accordingly.
    w.steps[0].a.balance.2 = w.steps[0].a.balance.1 - F::from(2_000_001u64);
    w.steps[0].b.balance.2 = w.steps[0].b.balance.1 + F::from(2_000_000u64);
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn overflowing_credit_is_rejected() {
    let c = case(true);
    let bob = DevWallet::new(2).address();
    let mut w = witness(&c);
    set_transfer_amount(&c, &mut w, 1000, bob);
    w.steps[0].a.balance.2 = w.steps[0].a.balance.1 - F::from(1001u64);
    w.steps[0].b.balance.2 = w.steps[0].b.balance.1 + F::from(1000u64); // past 2^112 − 1
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn wrong_merkle_path_is_rejected() {
    let c = case(false);
    let mut w = witness(&c);
    w.steps[0].b.path.siblings[3][1] += F::from(1u8);
    assert!(!satisfied(w));
}

#[test]
fn wrong_old_root_is_rejected() {
    let c = case(false);
    let mut w = witness(&c);
    w.old_root += F::from(1u8);
    assert!(!satisfied(w));
}

#[test]
fn tampered_pubdata_is_rejected() {
    let c = case(false);
    // The published recipient differs from the account the updates credit.
    let mut w = witness(&c);
    w.steps[0].op[6] ^= 1;
    w.pubdata[6] ^= 1;
    assert!(!satisfied(w));
    // The published chunk differs from the operation the step executed.
    let mut w = witness(&c);
    w.pubdata[3] ^= 0x80;
    assert!(!satisfied(w));
}

/// Block 2 on chains 1 and 2 after a setup block (alice: 10^6 of token 0 on chain 1 and of
/// token 1 on chain 2, with a key; bob: 2^112 − 101 and carol: 1 of token 0 on chain 1).
fn block_with(txs: impl FnOnce(&DevWallet) -> Vec<Tx>) -> (Block, ChainWitness) {
    let block = build_with(txs);
    let w = ChainWitness::new(&block.chains[0], block.number, &block.domain, CAPACITY).unwrap();
    (block, w)
}

/// Block 2 after the setup of [`block_with`], split into sub-blocks of `CAPACITY` chunks.
fn build_with(txs: impl FnOnce(&DevWallet) -> Vec<Tx>) -> Block {
    let alice = DevWallet::new(1);
    let carol = DevWallet::new(3).address();
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains: vec![C1, ChainId(2)],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    })
    .unwrap();
    let ctx = BlockContext {
        number: BlockNumber(1),
        timestamp: 0,
        prev_sync_hash: [0; 32],
    };
    let setup = vec![
        deposit(1, 0, alice.address(), 0, 1_000_000),
        deposit(2, 0, alice.address(), 1, 1_000_000),
        deposit(1, 1, DevWallet::new(2).address(), 0, MAX_AMOUNT - 100),
        deposit(1, 2, carol, 0, 1),
        alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
    ];
    assert!(
        build_block(&mut state, &ctx, setup, BuildOptions::default())
            .rejected
            .is_empty()
    );
    let ctx = BlockContext {
        number: BlockNumber(2),
        timestamp: 1,
        prev_sync_hash: [0; 32],
    };
    let opts = BuildOptions {
        witness: true,
        proof_chunks: CAPACITY,
        ..Default::default()
    };
    let block = build_block(&mut state, &ctx, txs(&alice), opts);
    assert!(block.rejected.is_empty(), "{:?}", block.rejected);
    block
}

/// A part of several sub-blocks: a cross-chain pool (so links are carried), then alice's
/// transfers to carol on chain 1 with fee 1 each (so fees are carried).
fn split_block() -> (Block, Vec<ChainWitness>) {
    let block = build_with(|a| {
        let mut txs = vec![
            create_pool(a),
            add_liquidity(a, C1, 50_000, 2),
            add_liquidity(a, ChainId(2), 50_000, 0),
        ];
        txs.extend((3..24).map(|nonce| {
            a.sign(L2Tx::Transfer(Transfer {
                chain: C1,
                from: AccountId(1),
                to: DevWallet::new(3).address(),
                token: TokenId(0),
                amount: amount(10),
                fee: amount(1),
                nonce: Nonce(nonce),
            }))
        }));
        txs
    });
    let cb = &block.chains[0];
    let ws = ChainWitness::sub_blocks(cb, block.number, &block.domain, CAPACITY).unwrap();
    (block, ws)
}

#[test]
fn control_sub_blocks_chain_and_each_is_satisfied() {
    let (block, ws) = split_block();
    let cb = &block.chains[0];
    assert!(ws.len() >= 3, "{} sub-blocks", ws.len());
    assert!(
        !cb.links.is_empty(),
        "the pool's adds link chain 1 to chain 2"
    );
    assert_eq!(ws[0].old_root, cb.old_root);
    assert_eq!(ws[ws.len() - 1].new_root, cb.new_root);
    assert_eq!(ws[0].carry_in, F::from(0u8));
    for (k, pair) in ws.windows(2).enumerate() {
        assert_eq!(pair[0].new_root, pair[1].old_root, "root gap after {k}");
        assert_eq!(pair[0].carry_out, pair[1].carry_in, "carry after {k}");
        assert_ne!(pair[0].carry_out, F::from(0u8));
        assert!(!pair[0].last);
    }
    assert!(ws[ws.len() - 1].last);
    for (k, w) in ws.into_iter().enumerate() {
        assert!(satisfied(w), "sub-block {k}");
    }
    // The whole part does not fit one proof.
    assert!(matches!(
        ChainWitness::new(cb, block.number, &block.domain, CAPACITY),
        Err(CircuitError::TooLarge { .. })
    ));
}

#[test]
fn sub_blocks_of_another_size_than_the_block_was_built_for_are_refused() {
    let (block, _) = split_block();
    assert!(matches!(
        ChainWitness::sub_blocks(&block.chains[0], block.number, &block.domain, 16),
        Err(CircuitError::SubBlocks { .. })
    ));
}

/// A later sub-block that starts from forged carried values (fewer fees collected so far, so
/// the fee account is paid less; or a rewound link id) under the honest carry in.
#[test]
fn forged_carried_state_is_rejected() {
    let (_, ws) = split_block();
    let w = &ws[1];
    assert!(satisfied(w.clone()), "control");
    let mut fees = w.clone();
    assert_ne!(fees.start.fee_sums[0], F::from(0u8));
    fees.start.fee_sums[0] -= F::from(1u8);
    assert!(!satisfied(fees));
    let mut links = w.clone();
    links.start.next_link_id = F::from(0u8);
    assert!(!satisfied(links));
    let mut fold = w.clone();
    fold.start.links = F::from(0u8);
    assert!(!satisfied(fold));
}

/// A later sub-block claiming to be the first (carry in 0) while starting from a carried state.
#[test]
fn a_middle_sub_block_without_its_carry_is_rejected() {
    let (_, ws) = split_block();
    let mut w = ws[1].clone();
    w.carry_in = F::from(0u8);
    assert!(!satisfied(w));
}

/// Steps whose operation has `code`, with their chunk index.
fn steps_of(w: &ChainWitness, code: u8) -> Vec<usize> {
    (0..w.steps.len())
        .filter(|&i| w.steps[i].op[0] == code)
        .collect()
}

/// Rewrites bytes of an operation in every step of it and in the published pubdata.
fn rewrite_op(w: &mut ChainWitness, steps: &[usize], at: usize, bytes: &[u8]) {
    for &i in steps {
        w.steps[i].op[at..at + bytes.len()].copy_from_slice(bytes);
    }
    let first = steps[0];
    w.pubdata[first * CHUNK_BYTES + at..first * CHUNK_BYTES + at + bytes.len()]
        .copy_from_slice(bytes);
}

#[test]
fn control_full_exit_and_deposit_blocks_are_satisfied() {
    let (_, mut w) = block_with(|a| {
        vec![
            Tx::FullExit(FullExit {
                chain: C1,
                serial_id: 3,
                account: AccountId(1),
                owner: a.address(),
                token: TokenId(0),
            }),
            deposit(1, 4, DevWallet::new(3).address(), 0, 5),
        ]
    });
    rechain(&mut w);
    assert!(satisfied(w));
}

#[test]
fn full_exit_paying_less_than_the_balance_is_rejected() {
    let (_, mut w) = block_with(|a| {
        vec![Tx::FullExit(FullExit {
            chain: C1,
            serial_id: 3,
            account: AccountId(1),
            owner: a.address(),
            token: TokenId(0),
        })]
    });
    let steps = steps_of(&w, code::FULL_EXIT);
    rewrite_op(&mut w, &steps, 6, &amount(999_999).to_be_bytes14());
    w.steps[steps[0]].a.balance.2 = F::from(1u8); // the debit follows the published amount
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn refund_of_a_creditable_deposit_is_rejected() {
    let (_, mut w) = block_with(|_| vec![deposit(1, 3, DevWallet::new(3).address(), 0, 5)]);
    let steps = steps_of(&w, code::DEPOSIT);
    rewrite_op(&mut w, &steps, 0, &[code::DEPOSIT_REFUND]);
    // A refund changes nothing: the update becomes a read.
    let a = &mut w.steps[steps[0]].a;
    a.after = a.before.unwrap();
    a.balance.2 = a.balance.1;
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn minting_extra_lp_shares_is_rejected() {
    let (_, mut w) = block_with(|a| {
        let add = |amt: u128, nonce: u32| {
            a.sign(L2Tx::AddLiquidity(AddLiquidity {
                chain: C1,
                account: AccountId(1),
                pool: PoolId(0),
                amount: amount(amt),
                min_shares: amount(0),
                fee: amount(0),
                nonce: Nonce(nonce),
            }))
        };
        vec![
            a.sign(L2Tx::CreatePool(CreatePool {
                chain: C1,
                account: AccountId(1),
                pool: PoolId(0),
                token: TokenId(0),
                peer_chain: ChainId(2),
                peer_token: TokenId(1),
                fee_bps: 30,
                fee: amount(0),
                nonce: Nonce(1),
            })),
            add(50_000, 2),
            add(10_000, 3),
        ]
    });
    let mut control = w.clone();
    rechain(&mut control);
    assert!(
        satisfied(control),
        "the honest pool block, rechained, is satisfied"
    );
    let steps = steps_of(&w, code::ADD_LIQUIDITY);
    let (first, second) = (steps[2], steps[3]); // the later add: pool update, then LP credit
    w.steps[first].b.after[2] += F::from(1u8); // one more share in supply
    w.steps[second].a.balance.2 += F::from(1u8); // and in the LP's balance
    rechain(&mut w);
    assert!(!satisfied(w));
}

/// The witness of the block's chain at `slot` (0: chain 1, 1: chain 2).
fn chain_witness(block: &Block, slot: usize) -> ChainWitness {
    ChainWitness::new(&block.chains[slot], block.number, &block.domain, CAPACITY).unwrap()
}

/// Rechains `w` and checks it is satisfied: the control for a forgery of the same block.
fn assert_control(w: &ChainWitness) {
    let mut control = w.clone();
    rechain(&mut control);
    assert!(
        satisfied(control),
        "the honest block, rechained, is satisfied"
    );
}

fn create_pool(a: &DevWallet) -> Tx {
    a.sign(L2Tx::CreatePool(CreatePool {
        chain: C1,
        account: AccountId(1),
        pool: PoolId(0),
        token: TokenId(0),
        peer_chain: ChainId(2),
        peer_token: TokenId(1),
        fee_bps: 30,
        fee: amount(0),
        nonce: Nonce(1),
    }))
}

fn add_liquidity(a: &DevWallet, chain: ChainId, amt: u128, nonce: u32) -> Tx {
    a.sign(L2Tx::AddLiquidity(AddLiquidity {
        chain,
        account: AccountId(1),
        pool: PoolId(0),
        amount: amount(amt),
        min_shares: amount(0),
        fee: amount(1),
        nonce: Nonce(nonce),
    }))
}

/// A pool with 50,000 on each side, then `then` (alice's next nonce on chain 1 is 3).
fn pool_block(then: impl FnOnce(&DevWallet) -> Vec<Tx>) -> Block {
    block_with(|a| {
        let mut txs = vec![
            create_pool(a),
            add_liquidity(a, C1, 50_000, 2),
            add_liquidity(a, ChainId(2), 50_000, 0),
        ];
        txs.extend(then(a));
        txs
    })
    .0
}

fn swap(a: &DevWallet) -> Tx {
    a.sign(L2Tx::Swap(Swap {
        chain: C1,
        account: AccountId(1),
        pool: PoolId(0),
        amount_in: amount(1_000),
        min_out: amount(900),
        fee: amount(3),
        nonce: Nonce(3),
    }))
}

#[test]
fn key_change_setting_another_key_is_rejected() {
    let block = block_with(|a| vec![a.change_pubkey(C1, AccountId(1), 1, 0, 0)]).0;
    // The origin half: the leaf gets a key other than the published one.
    let mut w = chain_witness(&block, 0);
    assert_control(&w);
    let step = steps_of(&w, code::CHANGE_PUBKEY)[0];
    w.steps[step].b.after[1] += F::from(1u8);
    rechain(&mut w);
    assert!(!satisfied(w));
    // The broadcast half on chain 2 likewise.
    let mut w = chain_witness(&block, 1);
    assert_control(&w);
    let step = steps_of(&w, code::SET_PUBKEY)[0];
    w.steps[step].a.after[1] += F::from(1u8);
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn pool_created_with_reserves_is_rejected() {
    let (_, mut w) = block_with(|a| vec![create_pool(a)]);
    assert_control(&w);
    let step = steps_of(&w, code::CREATE_POOL)[0];
    w.steps[step].b.after[1] = F::from(1_000u64); // a reserve out of nothing
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn pool_created_with_other_parameters_than_published_is_rejected() {
    let block = block_with(|a| vec![create_pool(a)]).0;
    let mut w = chain_witness(&block, 1);
    assert_control(&w);
    let step = steps_of(&w, code::CREATE_POOL_PEER)[0];
    w.steps[step].b.after[0] += F::from(1u8) * p2(40); // fee_bps 31 in the leaf, 30 published
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn removal_paying_more_than_the_share_is_rejected() {
    let block = pool_block(|a| {
        vec![a.sign(L2Tx::RemoveLiquidity(RemoveLiquidity {
            chain: C1,
            account: AccountId(1),
            pool: PoolId(0),
            shares: amount(5_000),
            min_out: amount(0),
            fee: amount(1),
            nonce: Nonce(3),
        }))]
    });
    let mut w = chain_witness(&block, 0);
    assert_control(&w);
    let steps = steps_of(&w, code::REMOVE_LIQUIDITY);
    // One more out of the reserve, into the LP's wallet: value is conserved, the share is not.
    w.steps[steps[0]].b.after[1] -= F::from(1u8);
    w.steps[steps[1]].a.balance.2 += F::from(1u8);
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn swap_input_not_reaching_the_reserve_is_rejected() {
    let block = pool_block(|a| vec![swap(a)]);
    let mut w = chain_witness(&block, 0);
    assert_control(&w);
    let step = steps_of(&w, code::SWAP_IN)[0];
    w.steps[step].b.after[1] -= F::from(1u8); // the reserve grows by amount − 1
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn swap_output_paying_more_than_published_is_rejected() {
    let block = pool_block(|a| vec![swap(a)]);
    let mut w = chain_witness(&block, 1);
    assert_control(&w);
    let step = steps_of(&w, code::SWAP_OUT)[0];
    w.steps[step].b.after[1] -= F::from(1u8);
    w.steps[step].a.balance.2 += F::from(1u8);
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn fee_settlement_overpaying_the_fee_account_is_rejected() {
    let c = case(false);
    let mut w = witness(&c);
    assert_control(&w);
    assert!(!w.fees.is_empty());
    w.fees[0].2.balance.2 += F::from(1u8);
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn deposit_credited_to_another_owner_is_rejected() {
    let (_, mut w) = block_with(|_| vec![deposit(1, 3, DevWallet::new(3).address(), 0, 5)]);
    assert_control(&w);
    let steps = steps_of(&w, code::DEPOSIT);
    // The queue (and pubdata) names dave; the credit goes to carol's account.
    rewrite_op(&mut w, &steps, 20, &DevWallet::new(4).address().0);
    rechain(&mut w);
    assert!(!satisfied(w));
}

#[test]
fn account_created_with_a_key_is_rejected() {
    let (_, mut w) = block_with(|_| vec![deposit(1, 3, DevWallet::new(7).address(), 0, 5)]);
    assert_control(&w);
    let step = steps_of(&w, code::CREATE_ACCOUNT)[0];
    w.steps[step].a.after[1] = F::from(42u8); // a key nobody authorised
    rechain(&mut w);
    assert!(!satisfied(w));
}

/// A first key change on a fresh account (no key yet, nonce 0 → 1): its step has an empty key
/// hash where pool steps read a reserve, which the share witness must not divide by.
#[test]
fn first_key_change_of_a_new_account_is_satisfied() {
    let carol = DevWallet::new(3);
    let (_, w) = block_with(|_| vec![carol.change_pubkey(C1, AccountId(3), 0, 0, 0)]);
    assert!(satisfied(w));
}
