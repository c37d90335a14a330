//! The watcher on a real anvil chain: deposits are delivered once they are confirmed, a deposit
//! orphaned by a reorg inside the confirmation window is never delivered while the one that
//! replaced it is, a restart from the persisted cursor delivers nothing twice, and a reorg deeper
//! than the window is reported, not papered over.

mod common;

use alloy::primitives::U256;
use alloy::providers::Provider;
use common::*;
use rollup_l1::L1Error;
use rollup_l1::watcher::{Cursor, Event, Watcher, WatcherConfig};
use rollup_types::ChainId;
use rollup_types::tx::Tx;

async fn mine(c: &Chain, blocks: u64) {
    for _ in 0..blocks {
        let _: serde_json::Value = c.provider.raw_request("evm_mine".into(), ()).await.unwrap();
    }
}

async fn deposit(c: &Chain, wei: u64) {
    let (user, _) = c.user(5);
    let receipt = c
        .rollup_as(5)
        .depositETH(user.address())
        .value(U256::from(wei))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
}

/// Polls until nothing new is confirmed; returns the deposits delivered (serial, amount).
async fn drain<P: Provider>(w: &Watcher<P>, cursor: &mut Cursor) -> Vec<(u64, u128)> {
    let mut out = Vec::new();
    loop {
        let batch = w.poll(cursor).await.unwrap();
        let done = batch.cursor == *cursor;
        for e in batch.events {
            if let Event::PriorityRequest {
                serial,
                tx: Tx::Deposit(d),
                ..
            } = e.event
            {
                out.push((serial, d.amount.get()));
            }
        }
        *cursor = batch.cursor;
        if done {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reorgs_and_restarts_neither_duplicate_nor_lose_deposits() {
    let net = Net::start().await;
    let c = net.chain(ChainId(1));
    let cfg = WatcherConfig {
        confirmations: 2,
        max_range: 3,
    };
    let watcher = Watcher::new(c.provider.clone(), *c.rollup.address(), cfg);
    let mut cursor = Cursor::from_block(0);
    let mut delivered = drain(&watcher, &mut cursor).await;
    assert!(delivered.is_empty());

    // A confirmed deposit is delivered.
    deposit(c, 1_000).await;
    assert!(
        drain(&watcher, &mut cursor).await.is_empty(),
        "not yet confirmed"
    );
    mine(c, 2).await;
    delivered.extend(drain(&watcher, &mut cursor).await);
    assert_eq!(delivered, vec![(0, 1_000)]);

    // A deposit inside the confirmation window is orphaned by a reorg; another takes its serial.
    deposit(c, 2_000).await;
    assert!(drain(&watcher, &mut cursor).await.is_empty());
    let _: serde_json::Value = c
        .provider
        .raw_request(
            "anvil_reorg".into(),
            (1u64, Vec::<serde_json::Value>::new()),
        )
        .await
        .unwrap();
    assert_eq!(
        c.rollup.totalPriorityRequests().call().await.unwrap(),
        1,
        "the reorg dropped the second deposit"
    );
    deposit(c, 3_000).await;
    mine(c, 2).await;
    delivered.extend(drain(&watcher, &mut cursor).await);
    assert_eq!(delivered, vec![(0, 1_000), (1, 3_000)]);

    // Restart: a new watcher from the persisted cursor delivers nothing twice, then the next one.
    let saved = serde_json::to_string(&cursor).unwrap();
    drop(watcher);
    let watcher = Watcher::new(c.provider.clone(), *c.rollup.address(), cfg);
    let mut cursor: Cursor = serde_json::from_str(&saved).unwrap();
    assert!(drain(&watcher, &mut cursor).await.is_empty());
    deposit(c, 4_000).await;
    mine(c, 2).await;
    delivered.extend(drain(&watcher, &mut cursor).await);
    assert_eq!(delivered, vec![(0, 1_000), (1, 3_000), (2, 4_000)]);

    // A reorg deeper than the window (blocks already handed over change): reported.
    let _: serde_json::Value = c
        .provider
        .raw_request(
            "anvil_reorg".into(),
            (4u64, Vec::<serde_json::Value>::new()),
        )
        .await
        .unwrap();
    let from_block = match watcher.poll(&cursor).await {
        Err(L1Error::DeepReorg { from_block }) => from_block,
        other => panic!("expected a deep-reorg error, got {other:?}"),
    };
    assert!(from_block > 0 && from_block < cursor.next_block);
    // Re-reading from the last block still on the chain: the consumer retracts what came from the
    // changed blocks (the last deposit, now gone from the chain) and reads the chain as it is.
    let deposit_block = c
        .rollup
        .PriorityRequestQueued_filter()
        .from_block(0)
        .query()
        .await
        .unwrap()
        .iter()
        .map(|(_, log)| log.block_number.unwrap())
        .max()
        .unwrap();
    assert!(
        deposit_block < from_block,
        "the deposits still on chain lie below the re-read point"
    );
    assert_eq!(c.rollup.totalPriorityRequests().call().await.unwrap(), 2);
    delivered.pop();
    let mut cursor = cursor.rewound(from_block);
    mine(c, 2).await;
    delivered.extend(drain(&watcher, &mut cursor).await);
    assert_eq!(delivered, vec![(0, 1_000), (1, 3_000)]);
}
