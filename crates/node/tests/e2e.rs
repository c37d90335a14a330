//! The node end to end on three anvil chains with real proofs: L1 deposits are picked up by the
//! watchers, L2 transactions go through the mempool, the state keeper seals blocks, a prover
//! worker proves them, each chain's driver commits, proves and executes them, and three oracle
//! instances (threshold 2) sync them; a withdrawal is claimed to an L1 wallet; a restart restores
//! the same state from the database alone.

mod common;

use alloy::primitives::{Address, U256};
use common::*;
use rollup_node::keeper;
use rollup_state::dev::amount;
use rollup_storage::Stage;
use rollup_types::tx::*;
use rollup_types::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deposits_transfers_and_a_withdrawal_through_all_four_stages() {
    let mut net = Devnet::start("e2e").await;
    // A stranger's rows on the oracles' board for every block as soon as it is sealed (before
    // any oracle's, which wait for the proofs), sorting first: a malformed signature and a
    // well-formed one that is not its claimed signer's. The relay passes over them (only
    // verified signatures of registered oracles go to the chains), so every block below still
    // syncs; the old relay sent the first two rows and stalled every chain.
    let board = net.storage.clone();
    let junk = tokio::spawn(async move {
        let stranger = rollup_crypto::EthSigner::from_bytes(&[0x77; 32]).unwrap();
        let mut done = 0;
        loop {
            let last = board.last_block().await.unwrap();
            for n in done + 1..=last {
                let b = board.block(n).await.unwrap().unwrap();
                board
                    .post_attestation(n, &b.sync_hash, &[0; 20], b"junk")
                    .await
                    .unwrap();
                board
                    .post_attestation(
                        n,
                        &b.sync_hash,
                        &[1; 20],
                        &stranger.personal_sign(&[0; 32]).0,
                    )
                    .await
                    .unwrap();
            }
            done = last;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let alice = net.wallet(1);
    let bob = net.wallet(2);
    net.deposit(0, alice.address(), ETH).await;
    net.deposit(1, bob.address(), ETH / 2).await;
    let shared = net.shared.clone();
    until("both deposits on L2", Duration::from_secs(60), || async {
        let s = shared.state.lock().await;
        s.chain(ChainId(2))
            .and_then(|c| c.account(AccountId(2)))
            .is_some_and(|a| !a.balance(TokenId(0)).is_zero())
    })
    .await;

    // L2: alice sets her key, pays bob on chain 1 and withdraws to a fresh L1 address.
    net.submit(alice.change_pubkey(ChainId(1), AccountId(1), 0, 0, 0))
        .await;
    until("alice's key", Duration::from_secs(60), || async {
        let s = shared.state.lock().await;
        s.chain(ChainId(1))
            .and_then(|c| c.account(AccountId(1)))
            .is_some_and(|a| a.pubkey_hash != rollup_crypto::PubKeyHash([0; 20]))
    })
    .await;
    let w = Address::repeat_byte(0x42);
    net.submit(alice.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(1),
        to: bob.address(),
        token: TokenId(0),
        amount: amount(ETH / 10),
        fee: amount(1000),
        nonce: Nonce(1),
    })))
    .await;
    net.submit(alice.sign(L2Tx::Withdraw(Withdraw {
        chain: ChainId(1),
        account: AccountId(1),
        to: rollup_crypto::Address(w.0.0),
        token: TokenId(0),
        amount: amount(ETH / 4),
        fee: amount(1000),
        nonce: Nonce(2),
    })))
    .await;

    // Everything executes everywhere; the withdrawal becomes claimable on chain 1.
    let c1 = net.rollup(0, 3);
    until(
        "the withdrawal to be claimable",
        Duration::from_secs(600),
        || async { c1.pendingBalance(w, 0).call().await.unwrap() == ETH / 4 },
    )
    .await;
    let storage = net.storage.clone();
    let last = storage.last_block().await.unwrap();
    assert!(last >= 3);
    until(
        "every block executed on every chain",
        Duration::from_secs(600),
        || async {
            for n in 1..=last {
                let stages = storage.stages(n).await.unwrap();
                if stages.len() != 3 || stages.iter().any(|(_, s)| *s != Stage::Executed) {
                    return false;
                }
            }
            true
        },
    )
    .await;
    // The stranger's rows were there all along (and are still on the board).
    let newest = storage.block(last).await.unwrap().unwrap();
    let rows = storage.attestations(last, &newest.sync_hash).await.unwrap();
    assert!(
        rows.iter().any(|(s, _)| *s == [0; 20]),
        "the junk rows were posted"
    );
    junk.abort();
    // Each block's commit, prove and execute transaction on each chain, as the watchers read
    // them for the explorer (a round after the counters, at most): one per stage, with the gas
    // its receipt reports.
    let complete = |l1: &[rollup_storage::StageTx]| {
        (1..=last).all(|n| {
            (1..=3u8).all(|c| {
                [Stage::Committed, Stage::Proven, Stage::Executed]
                    .iter()
                    .all(|st| {
                        l1.iter().any(|t| {
                            t.number == n && t.chain == c && t.stage == *st && t.gas_used > 21_000
                        })
                    })
            })
        })
    };
    until(
        "every stage transaction read",
        Duration::from_secs(30),
        || async { complete(&storage.stage_txs_between(1, last).await.unwrap()) },
    )
    .await;
    let receipt = c1
        .withdrawPendingBalance(w, 0, ETH / 4)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(net.balance(0, w).await, U256::from(ETH / 4));
    {
        let s = shared.state.lock().await;
        let bob_l2 = s.chain(ChainId(1)).unwrap().account(AccountId(2)).unwrap();
        assert_eq!(bob_l2.balance(TokenId(0)).get(), ETH / 10);
    }
    net.tasks.abort_all();
    while net.tasks.join_next().await.is_some() {}

    // A restart restores the same state from the database alone (replay checked against the
    // stored roots).
    let before = shared.state.lock().await.clone().final_root();
    let restored = keeper::restore(storage.clone(), net.network.clone(), CAPACITY)
        .await
        .unwrap();
    assert_eq!(restored.state.lock().await.clone().final_root(), before);
    // From the keeper's newest snapshot (every 2 blocks here), replaying only the blocks after.
    let snap = storage
        .snapshot()
        .await
        .unwrap()
        .expect("a keeper snapshot");
    assert!(
        snap.number % 2 == 0 && snap.number + 2 > last,
        "{} of {last}",
        snap.number
    );
    assert_eq!(restored.base.as_ref().map(|b| b.number), Some(snap.number));
    assert_eq!(
        restored
            .blocks
            .lock()
            .await
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        (snap.number + 1..=last).collect::<Vec<_>>()
    );

    // Failover: node-1's components are gone (as by kill -9), its leases still in the database
    // and unexpired. A second server, node-2, restores from the database, waits them out, then
    // seals and sends — its senders continue from node-1's records and nonces — and the next
    // transfer executes on every chain; no L1 nonce is used twice.
    net.stop_node().await;
    net.restore_node().await;
    net.spawn_components_as(rollup_node::lead::Leadership {
        holder: "node-2".into(),
        ttl: Duration::from_secs(10),
    })
    .await;
    net.submit(alice.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(1),
        to: bob.address(),
        token: TokenId(0),
        amount: amount(ETH / 100),
        fee: amount(1000),
        nonce: Nonce(3),
    })))
    .await;
    let storage2 = net.storage.clone();
    until(
        "node-2's block executed on every chain",
        Duration::from_secs(600),
        || async {
            let n = storage2.last_block().await.unwrap();
            n > last && {
                let stages = storage2.stages(n).await.unwrap();
                stages.len() == 3 && stages.iter().all(|(_, s)| *s == Stage::Executed)
            }
        },
    )
    .await;
    {
        let s = net.shared.state.lock().await;
        let bob_l2 = s.chain(ChainId(1)).unwrap().account(AccountId(2)).unwrap();
        assert_eq!(bob_l2.balance(TokenId(0)).get(), ETH / 10 + ETH / 100);
    }
    for name in ["keeper", "sender-1", "sender-2", "sender-3"] {
        let l = storage.lease(name).await.unwrap().unwrap();
        assert_eq!((l.holder.as_str(), l.epoch), ("node-2", 2), "{name}");
    }
    for c in 1..=3u8 {
        // No stage transaction sent twice: one live record per label (commit n, prove n,
        // execute n), whichever server sent it.
        let mut labels: Vec<String> = storage
            .l1_txs(c)
            .await
            .unwrap()
            .iter()
            .map(|r| serde_json::from_str::<rollup_l1::sender::TxRecord>(r).unwrap())
            .filter(|r| {
                !matches!(
                    r.status,
                    rollup_l1::sender::TxStatus::Failed { .. }
                        | rollup_l1::sender::TxStatus::Dropped
                )
            })
            .map(|r| r.label)
            .collect();
        let all = labels.len();
        labels.sort();
        labels.dedup();
        assert_eq!(
            labels.len(),
            all,
            "chain {c}: a stage transaction sent twice"
        );
        assert!(
            labels.contains(&format!("execute {}", last + 1)),
            "chain {c}: node-2 executed its block: {labels:?}"
        );
    }
    net.stop_node().await;
}
