//! Consensus: one chain refuses a block, even one the auditor approved. The node's database *and
//! the auditor's* are given a deposit on chain 2 that chain 2's queue never held (a forged
//! priority operation both believe — the auditor gate alone would have stopped it, see
//! `gate.rs`); the block carrying it is approved, committed and proven on chains 1 and 3, but
//! chain 2's contract refuses to commit it, so no oracle can attest that every chain proved it,
//! no chain executes it, and no funds move anywhere.
//!
//! Then the operator's way out (`rollup-node revert`): once block 2's prove window has passed on
//! every chain, the oracles abandon it; the operator reverts it on chains 1 and 3 (where it is
//! proven, so only with the abandonment) and discards it; the L2 transaction it carried returns
//! to the mempool and lands in a new block 2, which every chain executes (the control: block 1,
//! without the forgery, went through everywhere).

mod common;

use alloy::primitives::Address;
use alloy::providers::Provider;
use common::*;
use rollup_node::revert;
use rollup_state::dev::amount;
use rollup_types::tx::*;
use rollup_types::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chain_refusing_a_block_stops_it_everywhere() {
    // A short prove window, so that block 2's passes within the test (honest blocks are proven
    // well inside it).
    let mut net = Devnet::start_with_window("consensus", PROVE_WINDOW_SHORT).await;
    let alice = net.wallet(1);
    // Block 1: an honest deposit, executed everywhere.
    net.deposit(0, alice.address(), ETH).await;
    let storage = net.storage.clone();
    let chains: Vec<_> = (0..3).map(|i| net.rollup(i, 3)).collect();
    until(
        "block 1 executed everywhere",
        Duration::from_secs(300),
        || async {
            for c in &chains {
                if c.totalBlocksExecuted().call().await.unwrap() < 1 {
                    return false;
                }
            }
            true
        },
    )
    .await;
    // The forged deposit: 1000 ETH to mallory on chain 2, never paid into chain 2's vault.
    let mallory = net.wallet(66);
    let forged = Tx::Deposit(Deposit {
        chain: ChainId(2),
        serial_id: 0,
        from: mallory.address(),
        to: mallory.address(),
        token: TokenId(0),
        amount: amount(1000 * ETH),
    });
    // The auditor first: the node seals as soon as its database has it.
    let cursor = net.audit.cursor(ChainId(2)).await.unwrap().unwrap();
    net.audit
        .record_requests(ChainId(2), &[(0, forged.encode().unwrap())], &cursor)
        .await
        .unwrap();
    storage
        .record_watch(
            2,
            &[(0, forged.encode().unwrap(), 1)],
            "{\"next_block\":0,\"seen\":[]}",
        )
        .await
        .unwrap();
    // Alice's key change, an L2 transaction, follows (in block 2 or 3).
    net.submit(alice.change_pubkey(ChainId(1), AccountId(1), 0, 0, 0))
        .await;
    // Block 2 carries it (and mallory's withdrawal to L1 on chain 1 would follow in block 3).
    until("block 2 sealed", Duration::from_secs(60), || async {
        storage.last_block().await.unwrap() >= 2
    })
    .await;
    until(
        "block 2 proven on chains 1 and 3",
        Duration::from_secs(300),
        || async {
            chains[0].totalBlocksProven().call().await.unwrap() >= 2
                && chains[2].totalBlocksProven().call().await.unwrap() >= 2
        },
    )
    .await;
    assert!(
        net.audit.approval(2).await.unwrap().is_some(),
        "the fooled auditor approved block 2"
    );
    // Give the oracles and drivers time to do anything they (wrongly) could.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        chains[1].totalBlocksCommitted().call().await.unwrap(),
        1,
        "chain 2 refused it"
    );
    for c in &chains {
        assert_eq!(c.totalBlocksSynced().call().await.unwrap(), 1);
        assert_eq!(c.totalBlocksExecuted().call().await.unwrap(), 1);
        let mallory_l1 = Address::from(mallory.address().0);
        assert_eq!(c.pendingBalance(mallory_l1, 0).call().await.unwrap(), 0);
    }
    let b2 = storage.block(2).await.unwrap().unwrap();
    assert!(
        storage
            .attestations(2, &b2.sync_hash)
            .await
            .unwrap()
            .is_empty(),
        "no oracle attested block 2"
    );

    // Block 2 can never be synced; the operator cannot drop it where it is proven on its own
    // word (the contracts want the oracles' abandonment), and the revert command says so while
    // the window is open.
    let old_sync = b2.sync_hash;
    net.stop_node().await;
    let operator: Vec<_> = CHAINS
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, net.rollup(i, 0)))
        .collect();
    let early = revert::revert(&storage, &net.network, CAPACITY, 2, &operator).await;
    let deadline = chains[0].proveDeadline(2).call().await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if now + 5 < deadline {
        let e = early.unwrap_err().to_string();
        assert!(e.contains("abandonments"), "{e}");
    }
    for c in &chains {
        assert!(c.totalBlocksCommitted().call().await.unwrap() >= 1);
    }
    assert!(chains[0].totalBlocksProven().call().await.unwrap() >= 2);
    // The oracles keep running (the node is stopped): once every chain's clock passes the
    // deadline, they abandon block 2.
    net.spawn_oracles().await;
    until(
        "the oracles' abandonment of block 2",
        Duration::from_secs(PROVE_WINDOW_SHORT + 120),
        || async {
            // anvil mines only on demand: a block now and then moves each chain's clock, as a
            // live chain's blocks do.
            for c in &chains {
                let _: serde_json::Value = c
                    .provider()
                    .raw_request("evm_mine".into(), ())
                    .await
                    .unwrap();
            }
            storage.abandonments(2, &old_sync).await.unwrap().len() >= 2
        },
    )
    .await;
    assert!(
        storage.attestations(2, &old_sync).await.unwrap().is_empty(),
        "an abandoned block is never attested"
    );
    net.stop_node().await;
    let r = revert::revert(&storage, &net.network, CAPACITY, 2, &operator)
        .await
        .unwrap();
    let abandoned: Vec<_> = r
        .chains
        .iter()
        .filter(|(_, _, a)| *a)
        .map(|(c, _, _)| *c)
        .collect();
    assert_eq!(
        abandoned,
        vec![ChainId(1), ChainId(3)],
        "proven there: abandonment needed"
    );
    assert!(
        r.discarded.returned >= 1,
        "alice's key change back in the mempool"
    );
    for c in &chains {
        assert_eq!(c.totalBlocksCommitted().call().await.unwrap(), 1);
        assert_eq!(c.totalBlocksProven().call().await.unwrap(), 1);
    }
    // The node starts again: a new block 2 (alice's key change, no forged deposit) goes through
    // everywhere.
    net.start_node().await;
    until(
        "the new block 2 executed everywhere",
        Duration::from_secs(PROVE_WINDOW_SHORT),
        || async {
            for c in &chains {
                if c.totalBlocksExecuted().call().await.unwrap() < 2 {
                    return false;
                }
            }
            true
        },
    )
    .await;
    let new2 = storage.block(2).await.unwrap().unwrap();
    assert_ne!(new2.sync_hash, old_sync);
    let s = net.shared.state.lock().await;
    for c in CHAINS {
        let alice_here = s.chain(c).unwrap().account(AccountId(1)).unwrap();
        assert_ne!(
            alice_here.pubkey_hash,
            Default::default(),
            "alice's key is set on chain {c}"
        );
        assert!(
            (0..s.chain(c).unwrap().account_count())
                .map(AccountId)
                .all(|a| s.chain(c).unwrap().account(a).unwrap().address != mallory.address()),
            "the forged deposit never made it into any state"
        );
    }
    drop(s);
    for c in &chains {
        let mallory_l1 = Address::from(mallory.address().0);
        assert_eq!(c.pendingBalance(mallory_l1, 0).call().await.unwrap(), 0);
    }
}
