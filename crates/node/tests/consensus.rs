//! Consensus: one chain refuses a block, even one the auditor approved. The node's database *and
//! the auditor's* are given a deposit on chain 2 that chain 2's queue never held (a forged
//! priority operation both believe — the auditor gate alone would have stopped it, see
//! `gate.rs`); the block carrying it is approved, committed and proven on chains 1 and 3, but
//! chain 2's contract refuses to commit it, so no oracle can attest that every chain proved it,
//! no chain executes it, and no funds move anywhere.

mod common;

use alloy::primitives::Address;
use common::*;
use rollup_state::dev::{DevWallet, amount};
use rollup_types::tx::*;
use rollup_types::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chain_refusing_a_block_stops_it_everywhere() {
    let net = Devnet::start("consensus").await;
    let alice = DevWallet::new(1);
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
    let mallory = DevWallet::new(66);
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
}
