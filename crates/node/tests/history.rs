//! The keeper's history (issue 13, item 7): every block is stored with each chain's calls, and the
//! keeper snapshots the state every few blocks, so a restart replays only the blocks after the
//! newest snapshot and no old block has to stay in memory.
//!
//! On a recovered database (a snapshot at block 1, no block rows up to it), the keeper seals
//! blocks 2..=5 with a snapshot every 2 blocks. What each contract stores for block 1 comes from
//! the recovered snapshot, for later blocks from the stored calls, equal to what the blocks
//! themselves give; a restart starts from the keeper's snapshot of block 4 and replays block 5
//! alone, to the same root. A snapshot that is not of the stored block is passed over (control:
//! the honest one is used); a discard from block 4 takes the snapshot of block 4 with it and the
//! next restart starts from block 2's.

use rollup_l1::encode;
use rollup_node::keeper;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::{BlockContext, BuildOptions, NetworkConfig, NetworkState, build_block};
use rollup_storage::{AdmissionLimits, Storage};
use rollup_types::tx::*;
use rollup_types::*;

const CAPACITY: usize = 16;
const CHAINS: [ChainId; 2] = [ChainId(1), ChainId(2)];

fn network() -> NetworkConfig {
    NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    }
}

fn root_bytes(f: rollup_crypto::Fr) -> [u8; 32] {
    rollup_crypto::field::fr_to_be_bytes(&f)
}

#[tokio::test(flavor = "multi_thread")]
async fn restarts_replay_from_the_newest_snapshot_and_contracts_stored_blocks_come_from_the_database()
 {
    let dir = std::env::temp_dir().join(format!("rollup-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("node.db");
    let _ = std::fs::remove_file(&db);
    let storage = Storage::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();

    // "Recovered from L1": block 1 (a deposit and alice's key) exists only as a snapshot.
    let alice = DevWallet::new(1);
    let bob = DevWallet::new(2);
    let mut state = NetworkState::genesis(&network()).unwrap();
    let b1 = build_block(
        &mut state,
        &BlockContext {
            number: BlockNumber(1),
            timestamp: 0,
            prev_sync_hash: rollup_state::genesis_sync_hash(),
        },
        vec![
            deposit(1, 0, alice.address(), 0, 1_000_000),
            alice.change_pubkey(ChainId(1), AccountId(1), 0, 0, 0),
        ],
        BuildOptions::default(),
    );
    assert!(b1.rejected.is_empty(), "{:?}", b1.rejected);
    storage
        .insert_snapshot(&keeper::snapshot_of(&state, &b1).unwrap())
        .await
        .unwrap();

    let mut shared = keeper::restore(storage.clone(), network(), CAPACITY)
        .await
        .unwrap();
    assert_eq!(shared.base.as_ref().map(|b| b.number), Some(1));
    shared.snapshot_every = 2;
    let limits = AdmissionLimits {
        capacity: 100,
        per_account: 100,
        ttl_ms: 3_600_000,
    };
    for nonce in 1..=4u32 {
        let tx = alice.sign(L2Tx::Transfer(Transfer {
            chain: ChainId(1),
            from: AccountId(1),
            to: bob.address(),
            token: TokenId(0),
            amount: amount(10),
            fee: amount(0),
            nonce: Nonce(nonce),
        }));
        storage
            .admit_tx(
                &tx.hash().unwrap(),
                &tx.encode().unwrap(),
                rollup_node::mempool::tx_key(&tx).unwrap(),
                true,
                limits,
            )
            .await
            .unwrap();
        assert_eq!(
            keeper::seal(&shared, 1).await.unwrap(),
            Some(nonce + 1),
            "one block per transfer"
        );
    }
    let root = root_bytes(shared.state.lock().await.clone().final_root());

    // What each contract stores: block 1 from the recovered snapshot, the others from the
    // calls stored with them — as the blocks give it.
    for chain in CHAINS {
        assert_eq!(
            keeper::stored_block(&storage, &network(), 1, chain)
                .await
                .unwrap(),
            encode::stored_block(&b1, chain).unwrap()
        );
        for n in 2..=5 {
            let block = shared.blocks.lock().await[&n].clone();
            assert!(
                block.chains.iter().all(|c| c.witness.is_none()),
                "no witness kept in memory (the jobs hold it)"
            );
            assert_eq!(
                keeper::stored_block(&storage, &network(), n, chain)
                    .await
                    .unwrap(),
                encode::stored_block(&block, chain).unwrap(),
                "block {n} chain {chain}"
            );
        }
        assert!(
            keeper::stored_block(&storage, &network(), 6, chain)
                .await
                .is_err()
        );
    }

    // Snapshots after blocks 2 and 4, the recovered one kept: a restart starts from block 4's
    // and replays block 5 only, to the same root.
    let restart = || async {
        keeper::restore(storage.clone(), network(), CAPACITY)
            .await
            .unwrap()
    };
    let keys = |s: &rollup_node::Shared| {
        let s = s.blocks.try_lock().unwrap();
        s.keys().copied().collect::<Vec<_>>()
    };
    let again = restart().await;
    assert_eq!(again.base.as_ref().map(|b| b.number), Some(4));
    assert_eq!(keys(&again), [5]);
    assert_eq!(
        root_bytes(again.state.lock().await.clone().final_root()),
        root
    );

    // A snapshot of block 5 that is not of the stored block 5 (block 4's state under block 5's
    // number) is passed over: the restart still starts from block 4's.
    let four = storage.snapshot_at_most(4).await.unwrap().unwrap();
    assert_eq!(four.number, 4);
    storage
        .insert_snapshot(&rollup_storage::Snapshot {
            number: 5,
            ..four.clone()
        })
        .await
        .unwrap();
    let again = restart().await;
    assert_eq!(again.base.as_ref().map(|b| b.number), Some(4));
    assert_eq!(
        root_bytes(again.state.lock().await.clone().final_root()),
        root
    );

    // Discarding blocks 4 and 5 takes their calls and snapshots: the next restart starts from
    // block 2's snapshot and replays block 3.
    drop(again);
    let d = keeper::discard(&storage, &network(), CAPACITY, 4, &CHAINS.map(|c| (c, 0)))
        .await
        .unwrap();
    assert_eq!(d.blocks, 4..=5);
    assert_eq!(storage.block_calls(4, 1).await.unwrap(), None);
    assert_eq!(
        storage.snapshot_at_most(5).await.unwrap().unwrap().number,
        2
    );
    let again = restart().await;
    assert_eq!(again.base.as_ref().map(|b| b.number), Some(2));
    assert_eq!(keys(&again), [3]);
    assert_eq!(storage.last_block().await.unwrap(), 3);
}
