//! The auditor's replay against blocks the node's builder makes: honest blocks (deposits, key
//! changes, a cross-chain pool with liquidity on both sides, a swap, transfers with fees) are
//! approved with the builder's roots, commitment and sync hash; tampered ones are refused with
//! evidence and leave the auditor's state unchanged — a balance changed in the node's state, a
//! deposit no L1 queue holds, a pool reserve changed, a wrong fee, a swap paying more than the
//! constant product allows, chains' inputs that disagree. And the auditor's own database: approved
//! blocks rebuild the replica after a restart; a halt waits for an operator.

use alloy::primitives::B256;
use rollup_auditor::{Auditor, Mismatch};
use rollup_crypto::field::fr_to_be_bytes;
use rollup_l1::bindings::Rollup::CommitBlockInfo;
use rollup_l1::encode::commit_info;
use rollup_state::block::{onchain_ops_hash, pubdata_hash};
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::{Block, BlockContext, BuildOptions, NetworkConfig, NetworkState, build_block};
use rollup_types::tx::*;
use rollup_types::*;
use std::collections::HashMap;

const CAPACITY: usize = 64;
const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);
const C3: ChainId = ChainId(3);

/// The node's side: its state, its blocks, and the L1 queues.
struct Node {
    state: NetworkState,
    sync_hash: [u8; 32],
    number: u32,
    queue: HashMap<(ChainId, u64), Tx>,
}

impl Node {
    fn new() -> (Node, Auditor) {
        let network = NetworkConfig {
            chains: vec![C1, C2, C3],
            fee_account: DevWallet::new(0).address(),
            domain: rollup_state::dev::TEST_DOMAIN,
        };
        let node = Node {
            state: NetworkState::genesis(&network).unwrap(),
            sync_hash: rollup_state::genesis_sync_hash(),
            number: 0,
            queue: HashMap::new(),
        };
        (node, Auditor::genesis(&network, CAPACITY).unwrap())
    }

    /// A deposit request put on `chain`'s L1 queue.
    fn request(&mut self, chain: ChainId, to: &DevWallet, token: u16, value: u128) -> Tx {
        let serial = self.queue.keys().filter(|(c, _)| *c == chain).count() as u64;
        let tx = deposit(chain.0, serial, to.address(), token, value);
        self.queue.insert((chain, serial), tx.clone());
        tx
    }

    fn seal(&mut self, txs: Vec<Tx>) -> Block {
        self.number += 1;
        let ctx = BlockContext {
            number: BlockNumber(self.number),
            timestamp: 1_700_000_000 + self.number as u64,
            prev_sync_hash: self.sync_hash,
        };
        let n = txs.len();
        let block = build_block(
            &mut self.state,
            &ctx,
            txs,
            BuildOptions::new(false, CAPACITY, 1, CAPACITY),
        );
        assert!(block.rejected.is_empty(), "{:?}", block.rejected);
        assert_eq!(block.txs.len(), n);
        self.sync_hash = block.sync_hash;
        block
    }

    fn lookup(&self) -> impl Fn(ChainId, u64) -> Option<Tx> + '_ {
        |c, s| self.queue.get(&(c, s)).cloned()
    }
}

fn inputs(block: &Block) -> Vec<(ChainId, CommitBlockInfo)> {
    [C1, C2, C3]
        .into_iter()
        .map(|c| (c, commit_info(block, c).unwrap()))
        .collect()
}

/// Replaces chain `chain`'s pubdata in every input, keeping the hashes consistent (a forger who
/// controls the whole proposal), and sets the final root.
fn forge(inputs: &mut [(ChainId, CommitBlockInfo)], chain: ChainId, ops: &[Op], root: [u8; 32]) {
    let pubdata: Vec<u8> = ops.iter().flat_map(Op::to_pubdata).collect();
    let i = inputs.iter().position(|(c, _)| *c == chain).unwrap();
    let hash = pubdata_hash(&pubdata, CAPACITY).unwrap();
    let onchain = onchain_ops_hash(
        ops.iter()
            .filter(|o| o.is_onchain())
            .map(Op::to_pubdata)
            .collect::<Vec<_>>()
            .iter()
            .map(Vec::as_slice),
    );
    for (c, info) in inputs.iter_mut() {
        if *c == chain {
            info.pubdata = pubdata.clone().into();
        }
        info.pubdataHashes[i] = B256::from(hash);
        info.onchainOpsHashes[i] = B256::from(onchain);
        info.newFinalRoot = B256::from(root);
    }
}

/// Deposits, keys, a pool between ETH on chain 1 and token 1 on chain 2 with liquidity on both
/// sides: four approved blocks. Returns the wallets (alice, bob, carol).
fn honest_start(node: &mut Node, auditor: &mut Auditor) -> (DevWallet, DevWallet, DevWallet) {
    let (alice, bob, carol) = (DevWallet::new(1), DevWallet::new(2), DevWallet::new(3));
    let d1 = node.request(C1, &alice, 0, 10_000_000);
    let d2 = node.request(C2, &bob, 1, 50_000_000);
    let blocks = vec![
        node.seal(vec![d1, d2]),
        node.seal(vec![
            alice.change_pubkey(C1, AccountId(1), 0, 0, 0),
            bob.change_pubkey(C2, AccountId(2), 0, 1, 0),
        ]),
        node.seal(vec![alice.sign(L2Tx::CreatePool(CreatePool {
            chain: C1,
            account: AccountId(1),
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: C2,
            peer_token: TokenId(1),
            fee_bps: 30,
            fee: amount(10),
            nonce: Nonce(1),
        }))]),
        node.seal(vec![
            alice.sign(L2Tx::AddLiquidity(AddLiquidity {
                chain: C1,
                account: AccountId(1),
                pool: PoolId(0),
                amount: amount(5_000_000),
                min_shares: Amount::ZERO,
                fee: amount(10),
                nonce: Nonce(2),
            })),
            bob.sign(L2Tx::AddLiquidity(AddLiquidity {
                chain: C2,
                account: AccountId(2),
                pool: PoolId(0),
                amount: amount(40_000_000),
                min_shares: Amount::ZERO,
                fee: amount(20),
                nonce: Nonce(1),
            })),
        ]),
    ];
    for b in &blocks {
        let audited = auditor.audit(&inputs(b), &node.lookup()).unwrap();
        assert_eq!(audited.number, b.number.0);
        assert_eq!(audited.final_root, fr_to_be_bytes(&b.new_final_root));
        assert_eq!(audited.commitment, b.commitment);
        assert_eq!(audited.sync_hash, b.sync_hash);
        let roots: Vec<[u8; 32]> = b
            .chains
            .iter()
            .map(|c| fr_to_be_bytes(&c.new_root))
            .collect();
        assert_eq!(audited.chain_roots, roots);
    }
    (alice, bob, carol)
}

fn swap(alice: &DevWallet, amount_in: u128, nonce: u32) -> Tx {
    alice.sign(L2Tx::Swap(Swap {
        chain: C1,
        account: AccountId(1),
        pool: PoolId(0),
        amount_in: amount(amount_in),
        min_out: Amount::ZERO,
        fee: amount(10),
        nonce: Nonce(nonce),
    }))
}

#[test]
fn honest_blocks_are_approved_with_the_builders_hashes() {
    let (mut node, mut auditor) = Node::new();
    let (alice, _bob, carol) = honest_start(&mut node, &mut auditor);
    let b = node.seal(vec![
        swap(&alice, 100_000, 3),
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: carol.address(),
            token: TokenId(0),
            amount: amount(1_000),
            fee: amount(5),
            nonce: Nonce(4),
        })),
    ]);
    let audited = auditor.audit(&inputs(&b), &node.lookup()).unwrap();
    assert_eq!(audited.sync_hash, b.sync_hash);
    assert_eq!(auditor.last_block(), 5);
    // The replica holds what the node holds: same final root.
    assert_eq!(
        auditor.final_root(),
        fr_to_be_bytes(&node.state.final_root())
    );
}

/// Runs `tamper` on a fresh honest history and returns the auditor's refusal, checking that the
/// auditor's state did not move.
fn refused(
    tamper: impl FnOnce(&mut Node, &DevWallet) -> Vec<(ChainId, CommitBlockInfo)>,
) -> Mismatch {
    let (mut node, mut auditor) = Node::new();
    let (alice, _, _) = honest_start(&mut node, &mut auditor);
    let before = (
        auditor.last_block(),
        auditor.final_root(),
        auditor.sync_hash(),
    );
    let proposal = tamper(&mut node, &alice);
    let e = auditor.audit(&proposal, &node.lookup()).unwrap_err();
    assert_eq!(
        (
            auditor.last_block(),
            auditor.final_root(),
            auditor.sync_hash()
        ),
        before,
        "a refused block leaves the auditor's state as it was"
    );
    println!("{e}");
    e
}

#[test]
fn a_balance_changed_in_the_nodes_state_is_refused() {
    let e = refused(|node, alice| {
        // Corruption after execution: alice's balance in the node's state grows out of nowhere;
        // the next honest-looking block carries a final root its data does not give.
        node.state
            .chain_mut(C1)
            .unwrap()
            .apply_op(&Op::Deposit {
                account: AccountId(1),
                token: TokenId(0),
                amount: amount(1_000_000),
                to: alice.address(),
            })
            .unwrap();
        let b = node.seal(vec![swap(alice, 100_000, 3)]);
        inputs(&b)
    });
    assert!(matches!(e, Mismatch::FinalRoot { number: 5, .. }), "{e:?}");
}

#[test]
fn a_deposit_no_l1_queue_holds_is_refused() {
    let e = refused(|node, alice| {
        // A deposit the node made up: serial 1 on chain 1 was never requested on L1.
        let fake = deposit(1, 1, alice.address(), 0, 1_000_000);
        let b = node.seal(vec![fake]);
        inputs(&b)
    });
    assert!(
        matches!(e, Mismatch::Priority { chain: C1, serial: 1, ref request, .. } if request == "none"),
        "{e:?}"
    );
    // A deposit whose amount differs from the L1 request is refused the same way.
    let e = refused(|node, alice| {
        node.request(C1, alice, 0, 1_000);
        let inflated = deposit(1, 1, alice.address(), 0, 1_000_000);
        let b = node.seal(vec![inflated]);
        inputs(&b)
    });
    assert!(matches!(e, Mismatch::Priority { serial: 1, .. }), "{e:?}");
}

#[test]
fn a_pool_reserve_changed_in_the_nodes_state_is_refused() {
    let e = refused(|node, alice| {
        // The node's chain-2 half gains reserve without anyone adding it (a share-less add).
        let c2 = node.state.chain_mut(C2).unwrap();
        let before = c2.pool(PoolId(0)).unwrap().reserve;
        c2.apply_op(&Op::SwapIn {
            account: AccountId(2),
            pool: PoolId(0),
            amount: amount(1_000),
            fee: Amount::ZERO,
        })
        .unwrap();
        assert_ne!(c2.pool(PoolId(0)).unwrap().reserve, before);
        let b = node.seal(vec![swap(alice, 100_000, 3)]);
        inputs(&b)
    });
    // The node priced the swap against its inflated reserve and paid out more than the true
    // reserves allow: the cross-chain invariant catches it before the roots are compared.
    assert!(matches!(e, Mismatch::Swap { pool: 0, .. }), "{e:?}");
}

#[test]
fn a_wrong_fee_is_refused() {
    let e = refused(|node, alice| {
        let b = node.seal(vec![swap(alice, 100_000, 3)]);
        let mut p = inputs(&b);
        // The fee account is credited, in the published data, 1,000 more than the swap paid:
        // the swap's fee field says 1,010 while the balances moved by 10.
        let mut ops = b.chains[0].ops.clone();
        for op in &mut ops {
            if let Op::SwapIn { fee, .. } = op {
                *fee = amount(1_010);
            }
        }
        forge(&mut p, C1, &ops, fr_to_be_bytes(&b.new_final_root));
        p
    });
    assert!(matches!(e, Mismatch::FinalRoot { .. }), "{e:?}");
}

#[test]
fn a_swap_paying_more_than_the_constant_product_is_refused() {
    let e = refused(|node, alice| {
        let pre = node.state.clone();
        let b = node.seal(vec![swap(alice, 100_000, 3)]);
        let mut p = inputs(&b);
        // The forger pays alice twice the output on chain 2 and publishes a final root that
        // matches that data exactly: only the cross-chain invariant catches it.
        let mut ops = b.chains[1].ops.clone();
        for op in &mut ops {
            if let Op::SwapOut { amount: a, .. } = op {
                *a = amount(a.get() * 2);
            }
        }
        // The state before the block, with the forged halves replayed on it.
        let mut forged = pre;
        for (i, chain) in [C1, C2, C3].into_iter().enumerate() {
            let halves = if chain == C2 { &ops } else { &b.chains[i].ops };
            let c = forged.chain_mut(chain).unwrap();
            for op in halves {
                c.apply_op(op).unwrap();
            }
            c.settle_fees();
        }
        forge(&mut p, C2, &ops, fr_to_be_bytes(&forged.final_root()));
        p
    });
    assert!(matches!(e, Mismatch::Swap { pool: 0, .. }), "{e:?}");
}

#[test]
fn inputs_that_disagree_between_chains_are_refused() {
    let e = refused(|node, alice| {
        let b = node.seal(vec![swap(alice, 100_000, 3)]);
        let mut p = inputs(&b);
        p[2].1.newFinalRoot = B256::repeat_byte(7);
        p
    });
    assert!(
        matches!(
            e,
            Mismatch::Inconsistent {
                chain: C3,
                field: "final root",
                ..
            }
        ),
        "{e:?}"
    );
    let e = refused(|node, alice| {
        let b = node.seal(vec![swap(alice, 100_000, 3)]);
        let mut p = inputs(&b);
        p.pop();
        p
    });
    assert!(matches!(e, Mismatch::Chains { .. }), "{e:?}");
    let e = refused(|node, alice| {
        let b = node.seal(vec![swap(alice, 100_000, 3)]);
        let mut p = inputs(&b);
        // Chain 1's pubdata with a byte changed but the committed hash kept.
        let mut data = p[0].1.pubdata.to_vec();
        data[5] ^= 1;
        p[0].1.pubdata = data.into();
        p
    });
    assert!(matches!(e, Mismatch::Pubdata { chain: C1, .. }), "{e:?}");
}

#[tokio::test]
async fn approved_blocks_survive_a_restart_and_halts_wait_for_an_operator() {
    use rollup_auditor::store::AuditStore;
    let dir = std::env::temp_dir().join(format!("rollup-auditor-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("auditor.db").display());
    let store = AuditStore::open(&url).await.unwrap();
    let (mut node, mut auditor) = Node::new();
    let key = alloy::signers::local::PrivateKeySigner::random();
    let alice = DevWallet::new(1);
    let d = node.request(C1, &alice, 0, 1_000_000);
    let blocks = vec![
        node.seal(vec![d]),
        node.seal(vec![alice.change_pubkey(C1, AccountId(1), 0, 0, 0)]),
    ];
    for ((chain, serial), tx) in &node.queue {
        store
            .record_requests(*chain, &[(*serial, tx.encode().unwrap())], "{}")
            .await
            .unwrap();
    }
    for b in &blocks {
        let p = inputs(b);
        let a = auditor.audit(&p, &node.lookup()).unwrap();
        let sig =
            rollup_l1::approval::sign(&key, B256::ZERO, a.number, B256::from(a.sync_hash)).unwrap();
        store.record_audited(&p, &a, &sig).await.unwrap();
    }
    assert!(store.approval(2).await.unwrap().is_some());
    assert!(store.approval(3).await.unwrap().is_none());
    // What each contract will hold for an approved block: the auditor's StoredBlockInfo hash is
    // the one the senders' encoding of the builder's block gives, on every chain.
    for b in &blocks {
        for (i, c) in [C1, C2, C3].iter().enumerate() {
            let node_side = rollup_l1::encode::stored_block(b, *c).unwrap();
            assert_eq!(
                store.stored_hash(b.number.0, i).await.unwrap(),
                Some(
                    alloy::primitives::keccak256(alloy::sol_types::SolValue::abi_encode(
                        &node_side
                    ))
                    .0
                )
            );
        }
    }
    assert_eq!(store.stored_hash(3, 0).await.unwrap(), None);
    // A restart: the replica is rebuilt from the auditor's own records alone.
    drop(store);
    let store = AuditStore::open(&url).await.unwrap();
    let network = NetworkConfig {
        chains: vec![C1, C2, C3],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    let restored = store.restore(&network, CAPACITY).await.unwrap();
    assert_eq!(restored.last_block(), 2);
    assert_eq!(restored.final_root(), auditor.final_root());
    assert_eq!(restored.sync_hash(), auditor.sync_hash());
    // A halt stays until an operator resolves it.
    assert_eq!(store.active_halt().await.unwrap(), None);
    assert!(!store.resume("nothing to resume").await.unwrap());
    store
        .halt(3, "final root differs", "{\"expected\":\"0x01\"}")
        .await
        .unwrap();
    let h = store.active_halt().await.unwrap().unwrap();
    assert_eq!((h.number, h.reason.as_str()), (3, "final root differs"));
    drop(store);
    let store = AuditStore::open(&url).await.unwrap();
    assert!(
        store.active_halt().await.unwrap().is_some(),
        "a halt survives a restart"
    );
    assert!(
        store
            .resume("block 3 discarded by the operator")
            .await
            .unwrap()
    );
    assert_eq!(store.active_halt().await.unwrap(), None);
    let _ = std::fs::remove_dir_all(dir);
}
