//! Blocks: pubdata, onchain-ops hash, commitment and sync-hash chaining, replay from pubdata (the
//! auditor's path), and the witness chaining every update from the old root to the new one.

use rollup_state::block::onchain_ops_hash;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::witness::Update;
use rollup_state::*;
use rollup_types::op::decode_pubdata;
use rollup_types::tx::*;
use rollup_types::*;

const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);
const C3: ChainId = ChainId(3);

fn genesis() -> NetworkState {
    NetworkState::genesis(&NetworkConfig {
        chains: vec![C1, C2, C3],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    })
    .unwrap()
}

/// Block 1: deposits and keys. Block 2: pool, liquidity on both sides, a swap, a transfer, a
/// withdrawal, and one invalid tx.
fn scenario_blocks() -> (Vec<Vec<Tx>>, DevWallet, DevWallet) {
    let alice = DevWallet::new(1);
    let bob = DevWallet::new(2);
    let b1 = vec![
        deposit(1, 0, alice.address(), 0, 1_000_000),
        deposit(2, 0, alice.address(), 1, 1_000_000),
        deposit(1, 1, bob.address(), 0, 50_000),
        alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
        bob.change_pubkey(C1, AccountId(2), 0, 0, 0),
    ];
    let a = AccountId(1);
    let b = AccountId(2);
    let b2 = vec![
        alice.sign(L2Tx::CreatePool(CreatePool {
            chain: C1,
            account: a,
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: C2,
            peer_token: TokenId(1),
            fee_bps: 30,
            fee: amount(0),
            nonce: Nonce(1),
        })),
        alice.sign(L2Tx::AddLiquidity(AddLiquidity {
            chain: C1,
            account: a,
            pool: PoolId(0),
            amount: amount(200_000),
            min_shares: amount(0),
            fee: amount(0),
            nonce: Nonce(2),
        })),
        alice.sign(L2Tx::AddLiquidity(AddLiquidity {
            chain: C2,
            account: a,
            pool: PoolId(0),
            amount: amount(200_000),
            min_shares: amount(0),
            fee: amount(0),
            nonce: Nonce(0),
        })),
        bob.sign(L2Tx::Swap(Swap {
            chain: C1,
            account: b,
            pool: PoolId(0),
            amount_in: amount(10_000),
            min_out: amount(9_000),
            fee: amount(10),
            nonce: Nonce(1),
        })),
        // Invalid: nonce reused.
        bob.sign(L2Tx::Swap(Swap {
            chain: C1,
            account: b,
            pool: PoolId(0),
            amount_in: amount(10_000),
            min_out: amount(0),
            fee: amount(10),
            nonce: Nonce(1),
        })),
        bob.sign(L2Tx::Transfer(Transfer {
            chain: C2,
            from: b,
            to: DevWallet::new(3).address(),
            token: TokenId(1),
            amount: amount(1000),
            fee: amount(5),
            nonce: Nonce(0),
        })),
        bob.sign(L2Tx::Withdraw(Withdraw {
            chain: C2,
            account: b,
            to: bob.address(),
            token: TokenId(1),
            amount: amount(2000),
            fee: amount(5),
            nonce: Nonce(1),
        })),
    ];
    (vec![b1, b2], alice, bob)
}

fn run(state: &mut NetworkState, blocks: Vec<Vec<Tx>>, witness: bool) -> Vec<Block> {
    let mut prev = genesis_sync_hash();
    let mut out = Vec::new();
    for (i, txs) in blocks.into_iter().enumerate() {
        let ctx = BlockContext {
            number: BlockNumber(i as u32 + 1),
            timestamp: 1000 + i as u64,
            prev_sync_hash: prev,
        };
        let block = build_block(
            state,
            &ctx,
            txs,
            BuildOptions {
                witness,
                ..Default::default()
            },
        );
        prev = block.sync_hash;
        out.push(block);
    }
    out
}

#[test]
fn block_outputs_are_consistent() {
    let mut state = genesis();
    let (blocks, _, bob) = scenario_blocks();
    let blocks = run(&mut state, blocks, false);
    assert!(blocks[0].rejected.is_empty());
    assert_eq!(blocks[1].rejected.len(), 1);
    assert_eq!(blocks[1].rejected[0].0, 4);
    assert!(matches!(blocks[1].rejected[0].1, TxError::BadNonce { .. }));
    assert_eq!(blocks[1].txs.len(), 6);
    assert_eq!(
        blocks[1].prev_sync_hash, blocks[0].sync_hash,
        "sync hash is chained"
    );
    assert_eq!(blocks[1].old_final_root, blocks[0].new_final_root);
    for block in &blocks {
        assert_eq!(block.chains.len(), 3);
        for cb in &block.chains {
            let ops = decode_pubdata(&cb.pubdata).unwrap();
            assert_eq!(ops, cb.ops, "pubdata decodes to the ops");
            let onchain: Vec<Vec<u8>> = ops
                .iter()
                .filter(|o| o.is_onchain())
                .map(|o| o.to_pubdata())
                .collect();
            assert_eq!(cb.onchain_ops.len(), onchain.len());
            assert_eq!(
                cb.onchain_ops_hash,
                onchain_ops_hash(onchain.iter().map(Vec::as_slice))
            );
            for o in &cb.onchain_ops {
                let start = o.chunk as usize * op::CHUNK_BYTES;
                assert_eq!(&cb.pubdata[start..start + o.bytes.len()], &o.bytes[..]);
            }
        }
    }
    // Block 1: chain 1 got two deposits, chain 2 one, chain 3 none.
    let pri: Vec<u32> = blocks[0].chains.iter().map(|c| c.priority_ops).collect();
    assert_eq!(pri, vec![2, 1, 0]);
    // The swap's halves pair across chains by link id.
    let swap_in = blocks[1].chains[0]
        .links
        .iter()
        .find(|l| matches!(l, Link::SwapIn { .. }))
        .unwrap();
    let swap_out = blocks[1].chains[1]
        .links
        .iter()
        .find(|l| matches!(l, Link::SwapOut { .. }))
        .unwrap();
    assert_eq!(swap_in.id(), swap_out.id());
    assert_eq!(swap_in.id(), 3);
    // Withdrawal on chain 2 is an onchain op there; the final root reflects everything.
    assert_eq!(blocks[1].chains[1].onchain_ops.len(), 1);
    assert_eq!(state.final_root(), blocks[1].new_final_root);
    let b = state.account_id(&bob.address()).unwrap();
    assert_eq!(
        state
            .chain(C2)
            .unwrap()
            .account(b)
            .unwrap()
            .balance(TokenId(1))
            .get(),
        9_496 - 1005 - 2005
    );
}

#[test]
fn commitment_and_sync_hash_bind_every_chain() {
    let (blocks, _, _) = scenario_blocks();
    let a = run(&mut genesis(), blocks.clone(), false);
    let b = run(&mut genesis(), blocks.clone(), false);
    assert_eq!(a[1].sync_hash, b[1].sync_hash, "deterministic");
    // A different block 1 (one deposit less) changes block 2's sync hash through the chain.
    let mut fewer = blocks;
    fewer[0].remove(2);
    let c = run(&mut genesis(), fewer, false);
    assert_ne!(a[0].commitment, c[0].commitment);
    assert_ne!(a[1].sync_hash, c[1].sync_hash);
    // Tampering with one chain's onchain ops hash changes the sync hash.
    let mut chains = a[1].chains.clone();
    chains[2].onchain_ops_hash[0] ^= 1;
    assert_ne!(
        block::sync_hash(&a[1].prev_sync_hash, &a[1].commitment, &chains),
        a[1].sync_hash
    );
}

#[test]
fn replaying_pubdata_reproduces_every_chain_root() {
    let (blocks, _, _) = scenario_blocks();
    let mut state = genesis();
    let mut replica = state.clone();
    for block in run(&mut state, blocks, false) {
        for cb in &block.chains {
            let chain = replica.chain_mut(cb.chain).unwrap();
            assert_eq!(chain.root(), cb.old_root);
            for op in decode_pubdata(&cb.pubdata).unwrap() {
                chain.apply_op(&op).unwrap();
            }
            chain.settle_fees();
            assert_eq!(
                chain.root(),
                cb.new_root,
                "chain {} replays to the same root",
                cb.chain
            );
        }
    }
}

#[test]
fn replay_rejects_forged_ops() {
    let (blocks, _, _) = scenario_blocks();
    let mut state = genesis();
    run(&mut state, blocks, false);
    let c1 = state.chain_mut(C1).unwrap();
    // A full exit claiming less than the whole balance, a swap output draining the reserve,
    // a refund of a creditable deposit, a deposit to an address that does not own the account.
    let owner = c1.account(AccountId(1)).unwrap().address;
    let forged = [
        Op::FullExit {
            account: AccountId(1),
            token: TokenId(0),
            amount: amount(1),
            owner,
        },
        Op::SwapOut {
            account: AccountId(1),
            pool: PoolId(0),
            amount: amount(10_000_000),
        },
        Op::DepositRefund {
            account: AccountId(1),
            token: TokenId(0),
            amount: amount(5),
            to: owner,
        },
        Op::Deposit {
            account: AccountId(1),
            token: TokenId(0),
            amount: amount(5),
            to: Address([1; 20]),
        },
        Op::CreateAccount {
            account: AccountId(99),
            address: Address([1; 20]),
        },
    ];
    for op in forged {
        assert!(c1.apply_op(&op).is_err(), "{op:?} must be rejected");
    }
}

#[test]
fn witness_chains_updates_from_old_to_new_root() {
    let (blocks, _, _) = scenario_blocks();
    let mut plain = genesis();
    let mut recorded = genesis();
    let a = run(&mut plain, blocks.clone(), false);
    let b = run(&mut recorded, blocks, true);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            x.sync_hash, y.sync_hash,
            "witness recording does not change the block"
        );
        assert!(x.chains.iter().all(|c| c.witness.is_none()));
        for cb in &y.chains {
            let w = cb.witness.as_ref().unwrap();
            assert_eq!(w.len(), cb.ops.len());
            let mut root = cb.old_root;
            let mut updates = 0;
            for (ow, op) in w.iter().zip(&cb.ops) {
                assert_eq!(&ow.op, op);
                for u in &ow.updates {
                    assert_eq!(
                        u.root_before(),
                        root,
                        "update {updates} starts from the previous root"
                    );
                    assert!(u.balance_consistent());
                    root = u.root_after();
                    updates += 1;
                }
            }
            for u in cb.fee_witness.as_ref().unwrap() {
                assert!(matches!(
                    u,
                    Update::Account {
                        account: AccountId::FEE,
                        ..
                    }
                ));
                assert_eq!(u.root_before(), root);
                root = u.root_after();
            }
            assert_eq!(root, cb.new_root);
            if cb.chain == C1 && y.number.0 == 2 {
                // The swap's input half: the trader's debit (+nonce), then the pool; its fee is
                // settled with the block's other chain-1 fees at the end.
                let swap = w
                    .iter()
                    .find(|o| matches!(o.op, Op::SwapIn { .. }))
                    .unwrap();
                assert_eq!(swap.updates.len(), 2);
                // The signed half carries the signature and the signed tx; creations never do.
                assert!(swap.signature.is_some());
                assert!(matches!(swap.signed, Some(L2Tx::Swap(_))));
                assert!(
                    w.iter()
                        .filter(|o| o.signature.is_some())
                        .all(|o| o.op.code() != op::code::CREATE_ACCOUNT)
                );
                assert!(matches!(swap.updates[1], Update::Pool { .. }));
                assert_eq!(cb.fee_witness.as_ref().unwrap().len(), 1);
            }
        }
    }
}

#[test]
fn transactions_beyond_the_fee_slots_are_deferred_not_rejected() {
    let mut state = genesis();
    let alice = DevWallet::new(1);
    let mut setup: Vec<Tx> = (0..=FEE_TOKENS_PER_BLOCK as u16)
        .map(|t| deposit(1, t as u64, alice.address(), t, 1000))
        .collect();
    setup.push(alice.change_pubkey(C1, AccountId(1), 0, 0, 0));
    run(&mut state, vec![setup], false);
    let pay = |t: u16, nonce: u32| {
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: Address([5; 20]),
            token: TokenId(t),
            amount: amount(1),
            fee: amount(1),
            nonce: Nonce(nonce),
        }))
    };
    let txs: Vec<Tx> = (0..=FEE_TOKENS_PER_BLOCK as u16)
        .map(|t| pay(t, t as u32 + 1))
        .collect();
    let ctx = BlockContext {
        number: BlockNumber(2),
        timestamp: 0,
        prev_sync_hash: [0; 32],
    };
    let block = build_block(&mut state, &ctx, txs.clone(), BuildOptions::default());
    assert_eq!(block.txs.len(), FEE_TOKENS_PER_BLOCK);
    assert!(block.rejected.is_empty());
    assert_eq!(block.deferred, vec![txs[FEE_TOKENS_PER_BLOCK].clone()]);
    let fee_account = state.chain(C1).unwrap().account(AccountId::FEE).unwrap();
    assert_eq!(
        fee_account.balance(TokenId(0)).get(),
        1,
        "fees settled when the block sealed"
    );
    let ctx = BlockContext {
        number: BlockNumber(3),
        timestamp: 0,
        prev_sync_hash: block.sync_hash,
    };
    let next = build_block(&mut state, &ctx, block.deferred, BuildOptions::default());
    assert_eq!(next.txs.len(), 1);
}

#[test]
fn blocks_respect_the_chunk_limit_and_hash_in_padded_sub_blocks() {
    let mut state = genesis();
    // Each new account's deposit takes 2 (CreateAccount) + 3 (Deposit) chunks on chain 1.
    let txs: Vec<Tx> = (0..5u64)
        .map(|i| deposit(1, i, DevWallet::new(10 + i).address(), 0, 1))
        .collect();
    let ctx = BlockContext {
        number: BlockNumber(1),
        timestamp: 0,
        prev_sync_hash: [0; 32],
    };
    let opts = BuildOptions::new(false, 16, 1, usize::MAX);
    let block = build_block(&mut state, &ctx, txs.clone(), opts);
    assert_eq!(
        block.txs.len(),
        3,
        "3 × 5 = 15 chunks fit in 16, a fourth does not"
    );
    assert_eq!(block.deferred, txs[3..].to_vec());
    let cb = &block.chains[0];
    assert_eq!(cb.pubdata.len(), 15 * op::CHUNK_BYTES);
    let sha = |b: &[u8]| -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(b).into()
    };
    let mut padded = cb.pubdata.clone();
    padded.resize(16 * op::CHUNK_BYTES, 0);
    // One sub-block: its hash over the padded pubdata, the chain's hash over that.
    assert_eq!(cb.sub_blocks.len(), 1);
    assert_eq!(cb.sub_blocks[0].pubdata_hash, sha(&padded));
    assert_eq!(cb.pubdata_hash, sha(&sha(&padded)));
    assert_eq!(
        rollup_state::block::pubdata_hash(&cb.pubdata, 16).unwrap(),
        cb.pubdata_hash
    );
    // Two sub-blocks of 16: the fourth deposit opens the second (an op never crosses), and the
    // limit counts the first one's padding: 6 deposits (16 + 16 padded chunks), not 6.4.
    let mut state = genesis();
    let txs: Vec<Tx> = (0..7u64)
        .map(|i| deposit(1, i, DevWallet::new(10 + i).address(), 0, 1))
        .collect();
    let block = build_block(
        &mut state,
        &ctx,
        txs.clone(),
        BuildOptions::new(false, 16, 2, usize::MAX),
    );
    assert_eq!(block.txs.len(), 6);
    let cb = &block.chains[0];
    assert_eq!(cb.sub_blocks.len(), 2);
    let half = 15 * op::CHUNK_BYTES;
    let mut h = Vec::new();
    for part in [&cb.pubdata[..half], &cb.pubdata[half..]] {
        let mut p = part.to_vec();
        p.resize(16 * op::CHUNK_BYTES, 0);
        h.extend(sha(&p));
    }
    assert_eq!(cb.pubdata_hash, sha(&h));
    assert_eq!(
        rollup_state::block::pubdata_hash(&cb.pubdata, 16).unwrap(),
        cb.pubdata_hash
    );
    // Chain 3 carries 6 × 2 chunks of account creation: one sub-block, padded to 16.
    assert_eq!(block.chains[2].sub_blocks.len(), 1);
    assert_eq!(block.chains[2].pubdata.len(), 12 * op::CHUNK_BYTES);
}

#[test]
fn a_later_nonce_behind_a_deferred_transaction_waits_instead_of_being_rejected() {
    // The load generator's case: a sender's transactions beyond a full block are deferred, and
    // the ones after them (nonces ahead of the account's) must wait with them, not be dropped.
    let mut state = genesis();
    let alice = DevWallet::new(1);
    run(
        &mut state,
        vec![vec![
            deposit(1, 0, alice.address(), 0, 1_000),
            alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
        ]],
        false,
    );
    let pay = |nonce: u32| {
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: alice.address(),
            token: TokenId(0),
            amount: amount(1),
            fee: amount(0),
            nonce: Nonce(nonce),
        }))
    };
    // (The key change used nonce 0.) Nonce 4 arrives before 3.
    let txs = vec![pay(2), pay(4), pay(3), pay(5)];
    let opts = BuildOptions::new(false, 16, 1, usize::MAX);
    let ctx = |n: u32, prev| BlockContext {
        number: BlockNumber(n),
        timestamp: 0,
        prev_sync_hash: prev,
    };
    let mut old = build_block(&mut state, &ctx(2, [0; 32]), vec![pay(1), pay(1)], opts);
    assert_eq!(old.txs.len(), 1);
    assert!(
        matches!(old.rejected[0].1, TxError::BadNonce { .. }),
        "an old nonce is invalid"
    );
    old.deferred.clear();
    let block = build_block(&mut state, &ctx(3, old.sync_hash), txs.clone(), opts);
    assert!(block.rejected.is_empty(), "{:?}", block.rejected);
    // 2 and 3 go in; 4 came too early, and 5 is then ahead of the account too: both wait.
    assert_eq!(block.txs, vec![txs[0].clone(), txs[2].clone()]);
    assert_eq!(block.deferred, vec![txs[1].clone(), txs[3].clone()]);
    let next = build_block(&mut state, &ctx(4, block.sync_hash), block.deferred, opts);
    assert!(next.rejected.is_empty(), "{:?}", next.rejected);
    assert_eq!(next.txs.len(), 2);
}

#[test]
fn a_snapshot_restores_the_same_state_and_the_next_block_builds_alike() {
    let mut state = genesis();
    let (blocks, alice, bob) = scenario_blocks();
    let built = run(&mut state, blocks, false);
    let snap = state.snapshot();
    let config = NetworkConfig {
        chains: vec![C1, C2, C3],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    let mut restored = NetworkState::from_snapshot(&config, &snap).unwrap();
    assert_eq!(restored.final_root(), state.final_root());
    assert_eq!(restored.chain_roots(), state.chain_roots());
    assert_eq!(restored.account_id(&bob.address()), Some(AccountId(2)));
    assert_eq!(restored.snapshot(), snap);
    // The next block (a transfer to a known address, a new account, a swap) is the same block.
    let next = vec![
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: bob.address(),
            token: TokenId(0),
            amount: amount(100),
            fee: amount(1),
            nonce: Nonce(3),
        })),
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C2,
            from: AccountId(1),
            to: DevWallet::new(9).address(),
            token: TokenId(1),
            amount: amount(100),
            fee: amount(1),
            nonce: Nonce(1),
        })),
        bob.sign(L2Tx::Swap(Swap {
            chain: C1,
            account: AccountId(2),
            pool: PoolId(0),
            amount_in: amount(1_000),
            min_out: amount(1),
            fee: amount(10),
            nonce: Nonce(2),
        })),
    ];
    let ctx = BlockContext {
        number: BlockNumber(3),
        timestamp: 2000,
        prev_sync_hash: built[1].sync_hash,
    };
    let a = build_block(&mut state, &ctx, next.clone(), BuildOptions::default());
    let b = build_block(&mut restored, &ctx, next, BuildOptions::default());
    assert!(a.rejected.is_empty(), "{:?}", a.rejected);
    assert_eq!(a.new_final_root, b.new_final_root);
    assert_eq!(a.sync_hash, b.sync_hash);
    assert_eq!(a.commitment, b.commitment);
}

#[test]
fn a_damaged_snapshot_is_refused_or_gives_another_root() {
    let mut state = genesis();
    let (blocks, _, _) = scenario_blocks();
    run(&mut state, blocks, false);
    let snap = state.snapshot();
    let root = state.final_root();
    let config = NetworkConfig {
        chains: vec![C1, C2, C3],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    use rollup_state::snapshot::SnapshotError;
    assert!(matches!(
        NetworkState::from_snapshot(&config, &snap[..snap.len() - 1]),
        Err(SnapshotError::Malformed(_))
    ));
    let mut longer = snap.clone();
    longer.push(0);
    assert!(matches!(
        NetworkState::from_snapshot(&config, &longer),
        Err(SnapshotError::Malformed(_))
    ));
    let two_chains = NetworkConfig {
        chains: vec![C1, C2],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    assert!(matches!(
        NetworkState::from_snapshot(&two_chains, &snap),
        Err(SnapshotError::Network(_))
    ));
    // Any single flipped byte fails to decode, yields a different final root, or (outside the
    // tree) a different next priority serial — which the chains' queues check on the next commit.
    let serials =
        |s: &NetworkState| [C1, C2, C3].map(|c| s.chain(c).unwrap().next_priority_serial());
    for i in 0..snap.len() {
        let mut bad = snap.clone();
        bad[i] ^= 0x01;
        if let Ok(mut s) = NetworkState::from_snapshot(&config, &bad) {
            assert!(
                s.final_root() != root || serials(&s) != serials(&state),
                "byte {i} changed nothing"
            );
        }
    }
}
