//! The mempool denial of service (issue 12, finding 7) performed end to end, with its controls:
//! one account floods the mempool with transactions that can never execute (far-future nonces,
//! nonces behind a gap). Before the limits the API admitted them all and the keeper read only the
//! oldest `max_txs` entries, so an honest transfer behind the flood was never sealed. Now:
//!
//! * the keeper selects executable transactions — per sender from the account's nonce — so a
//!   flood that did get in does not hold the honest transfer back (the control shows the same
//!   flood fills the oldest `max_txs` entries and seals nothing from them);
//! * the API refuses the flood with a coded error (window, account share, capacity) while the
//!   honest transfer is admitted;
//! * what waits behind a gap expires after the configured lifetime, with a status and reason
//!   users read through `rollup_txStatus`, and that status (and every pending entry's expiry)
//!   survives a restart.

use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use rollup_node::api::{code, serve};
use rollup_node::mempool::MempoolConfig;
use rollup_node::{Shared, keeper};
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::{BlockContext, BuildOptions, NetworkConfig, build_block};
use rollup_storage::Storage;
use rollup_types::tx::*;
use rollup_types::*;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

fn hexed(tx: &Tx) -> String {
    format!("0x{}", hex::encode(tx.encode().unwrap()))
}

fn hash_hex(tx: &Tx) -> String {
    format!("0x{}", hex::encode(tx.hash().unwrap()))
}

fn code_of(e: ClientError) -> (i32, String) {
    match e {
        ClientError::Call(o) => (o.code(), o.message().to_string()),
        other => panic!("not a call error: {other}"),
    }
}

fn network() -> NetworkConfig {
    NetworkConfig {
        chains: vec![ChainId(1), ChainId(2)],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    }
}

fn db_url(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("rollup-mempool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("{name}.db"));
    let _ = std::fs::remove_file(&db);
    format!("sqlite://{}", db.display())
}

async fn node(url: &str, policy: &MempoolConfig) -> Arc<Shared> {
    let storage = Storage::connect(url).await.unwrap();
    // 64 chunks per chain and block: room for every user's deposit in block 1 and key change in
    // block 2.
    let mut shared = keeper::restore(storage, network(), 64).await.unwrap();
    shared.mempool = policy.clone();
    Arc::new(shared)
}

/// Users 1..=n (accounts 1..=n) with a deposit on chain 1 (block 1) and their L2 key (block 2):
/// every account's nonce on chain 1 is then 1.
async fn users(shared: &Shared, n: u64) -> Vec<DevWallet> {
    let wallets: Vec<DevWallet> = (1..=n).map(DevWallet::new).collect();
    let deposits: Vec<(u64, Vec<u8>, u64)> = wallets
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let d = deposit(1, i as u64, w.address(), 0, 1_000_000);
            (i as u64, d.encode().unwrap(), 1)
        })
        .collect();
    shared
        .storage
        .record_watch(1, &deposits, "{\"next_block\":2,\"seen\":[]}")
        .await
        .unwrap();
    assert_eq!(keeper::seal(shared, 64).await.unwrap(), Some(1));
    for (i, w) in wallets.iter().enumerate() {
        let cpk = w.change_pubkey(ChainId(1), AccountId(i as u32 + 1), 0, 0, 0);
        shared
            .storage
            .add_tx(&cpk.hash().unwrap(), &cpk.encode().unwrap())
            .await
            .unwrap();
    }
    assert_eq!(keeper::seal(shared, 64).await.unwrap(), Some(2));
    wallets
}

fn transfer(from: &DevWallet, account: u32, to: &DevWallet, value: u128, nonce: u32) -> Tx {
    from.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(account),
        to: to.address(),
        token: TokenId(0),
        amount: amount(value),
        fee: amount(10),
        nonce: Nonce(nonce),
    }))
}

async fn sealed_in(shared: &Shared, tx: &Tx) -> Option<u32> {
    let h = tx.hash().unwrap();
    shared
        .blocks
        .lock()
        .await
        .iter()
        .find(|(_, b)| b.txs.iter().any(|t| t.hash().unwrap() == h))
        .map(|(n, _)| *n)
}

/// The keeper side: 64 far-future-nonce transactions of one account in the mempool (as the API
/// used to admit them), then an honest transfer.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_flood_does_not_block_the_keeper_and_expires() {
    let url = db_url("keeper");
    let policy = MempoolConfig {
        ttl_secs: 2,
        per_account: 64,
        nonce_window: 16,
        ..MempoolConfig::default()
    };
    let shared = node(&url, &policy).await;
    let w = users(&shared, 3).await;
    let (alice, mallory, bob) = (&w[0], &w[1], &w[2]);
    // The flood: nonces 1000.. — none can ever execute before its 999 predecessors.
    let flood: Vec<Tx> = (0..64)
        .map(|i| transfer(mallory, 2, bob, 1, 1_000 + i))
        .collect();
    for tx in &flood {
        assert!(
            shared
                .storage
                .add_tx(&tx.hash().unwrap(), &tx.encode().unwrap())
                .await
                .unwrap()
        );
    }
    let honest = transfer(alice, 1, bob, 500, 1);
    shared
        .storage
        .add_tx(&honest.hash().unwrap(), &honest.encode().unwrap())
        .await
        .unwrap();

    // Control: the attack is real. The oldest 64 entries — what the keeper used to read — are
    // the flood alone, and a block built from them includes nothing: every one is deferred.
    let oldest = shared.storage.mempool(64).await.unwrap();
    assert_eq!(oldest.len(), 64);
    assert!(oldest.iter().all(|(h, _)| *h != honest.hash().unwrap()));
    let mut trial = shared.state.lock().await.clone();
    let old_way = build_block(
        &mut trial,
        &BlockContext {
            number: BlockNumber(3),
            timestamp: 0,
            prev_sync_hash: [0; 32],
        },
        oldest.iter().map(|(_, b)| Tx::decode(b).unwrap()).collect(),
        BuildOptions::default(),
    );
    assert!(old_way.txs.is_empty(), "the oldest 64 seal nothing");
    assert_eq!(old_way.deferred.len(), 64);

    // The keeper selects what can execute: the honest transfer is sealed in block 3, the flood
    // waits (deferred, not rejected: its nonces may still come).
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(3));
    assert_eq!(sealed_in(&shared, &honest).await, Some(3));
    assert_eq!(shared.storage.mempool_len().await.unwrap(), 64);
    // And again: a second honest transfer behind the same flood is sealed in the next block.
    let again = transfer(alice, 1, bob, 500, 2);
    shared
        .storage
        .add_tx(&again.hash().unwrap(), &again.encode().unwrap())
        .await
        .unwrap();
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(4));
    assert_eq!(sealed_in(&shared, &again).await, Some(4));
    // Nothing executable: no block, and the flood is still pending with its expiry.
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), None);
    let first = flood[0].hash().unwrap();
    let timing = shared.storage.pool_timing(&first).await.unwrap().unwrap();
    let expires = timing.expires_ms.expect("indexed at the first seal");
    assert_eq!(expires, timing.added_ms.unwrap() + 2_000);

    // A restart keeps every entry's expiry.
    drop(shared);
    let shared = node(&url, &policy).await;
    assert_eq!(
        shared.storage.pool_timing(&first).await.unwrap(),
        Some(timing)
    );
    assert_eq!(shared.storage.mempool_len().await.unwrap(), 64);

    // Past its lifetime the flood expires, each with its reason.
    let wait = expires - rollup_storage::now_ms() + 100;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), None);
    assert_eq!(shared.storage.mempool_len().await.unwrap(), 0);
    let o = shared.storage.tx_outcome(&first).await.unwrap().unwrap();
    assert_eq!(o.status, "expired");
    assert!(o.reason.contains("nonce 1000"), "{}", o.reason);
    assert!(o.reason.contains("stayed at 1"), "{}", o.reason);
    for tx in &flood {
        let o = shared
            .storage
            .tx_outcome(&tx.hash().unwrap())
            .await
            .unwrap();
        assert_eq!(o.unwrap().status, "expired");
    }
    // ... and the outcome survives a restart too.
    drop(shared);
    let shared = node(&url, &policy).await;
    assert_eq!(
        shared
            .storage
            .tx_outcome(&first)
            .await
            .unwrap()
            .unwrap()
            .status,
        "expired"
    );
}

/// Selection per sender in nonce order, senders taking turns: a sender's run stops at its gap,
/// a second entry with a nonce just used runs only if the first fails, a used nonce is rejected
/// with its reason, and one sender's backlog does not fill a block others wait for.
#[tokio::test(flavor = "multi_thread")]
async fn selection_is_per_sender_in_nonce_order() {
    let policy = MempoolConfig::default();
    let shared = node(&db_url("select"), &policy).await;
    let w = users(&shared, 4).await;
    let (alice, bob, carol, dave) = (&w[0], &w[1], &w[2], &w[3]);
    let put = |tx: Tx| {
        let s = shared.storage.clone();
        async move {
            s.add_tx(&tx.hash().unwrap(), &tx.encode().unwrap())
                .await
                .unwrap();
            tx
        }
    };
    // Alice: nonces 3, 2, 1 arrive in reverse, then 5 (behind the gap at 4).
    let a3 = put(transfer(alice, 1, dave, 1, 3)).await;
    let a2 = put(transfer(alice, 1, dave, 1, 2)).await;
    let a1 = put(transfer(alice, 1, dave, 1, 1)).await;
    let a5 = put(transfer(alice, 1, dave, 1, 5)).await;
    // Bob: two entries with nonce 1, the first overdrawn (fails), the second fine.
    let b1_bad = put(transfer(bob, 2, dave, 5_000_000, 1)).await;
    let b1 = put(transfer(bob, 2, dave, 7, 1)).await;
    // Carol: a nonce already used (0, by her key change).
    let c0 = put(transfer(carol, 3, dave, 1, 0)).await;
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(3));
    for tx in [&a1, &a2, &a3, &b1] {
        assert_eq!(sealed_in(&shared, tx).await, Some(3));
    }
    let block = shared.blocks.lock().await.get(&3).cloned().unwrap();
    let order: Vec<[u8; 32]> = block.txs.iter().map(|t| t.hash().unwrap()).collect();
    let pos = |t: &Tx| order.iter().position(|h| *h == t.hash().unwrap()).unwrap();
    assert!(pos(&a1) < pos(&a2) && pos(&a2) < pos(&a3), "nonce order");
    assert_eq!(sealed_in(&shared, &a5).await, None);
    assert!(
        shared
            .storage
            .pool_timing(&a5.hash().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    for (tx, why) in [(&b1_bad, "5000010"), (&c0, "nonce")] {
        let o = shared
            .storage
            .tx_outcome(&tx.hash().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(o.status, "rejected");
        assert!(o.reason.contains(why), "{}", o.reason);
    }
    // Alice's 4 arrives: 4 and 5 go together.
    let a4 = put(transfer(alice, 1, dave, 1, 4)).await;
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(4));
    assert_eq!(sealed_in(&shared, &a4).await, Some(4));
    assert_eq!(sealed_in(&shared, &a5).await, Some(4));

    // Fairness: Alice's 12 pending transfers and Bob's and Carol's one each, 4 per block: the
    // first block holds all three senders.
    let mut alice_run = Vec::new();
    for n in 6..18 {
        alice_run.push(put(transfer(alice, 1, dave, 1, n)).await);
    }
    let b2 = put(transfer(bob, 2, dave, 1, 2)).await;
    let c1 = put(transfer(carol, 3, dave, 1, 1)).await;
    assert_eq!(keeper::seal(&shared, 4).await.unwrap(), Some(5));
    assert_eq!(sealed_in(&shared, &b2).await, Some(5));
    assert_eq!(sealed_in(&shared, &c1).await, Some(5));
    assert_eq!(sealed_in(&shared, &alice_run[0]).await, Some(5));
    assert_eq!(sealed_in(&shared, &alice_run[1]).await, Some(5));
    assert_eq!(sealed_in(&shared, &alice_run[2]).await, None);
    assert_eq!(keeper::seal(&shared, 4).await.unwrap(), Some(6));
    assert_eq!(sealed_in(&shared, &alice_run[5]).await, Some(6));
}

/// The API side: the flood is refused with coded errors while the honest transfer is admitted
/// and sealed; what got in behind a gap expires with a status users read (and a WebSocket
/// subscriber is told); the status survives a restart.
#[tokio::test(flavor = "multi_thread")]
async fn the_api_refuses_the_flood_and_reports_expiry() {
    let url = db_url("api");
    let policy = MempoolConfig {
        capacity: 12,
        per_account: 8,
        nonce_window: 8,
        ttl_secs: 2,
        ..MempoolConfig::default()
    };
    policy.validate(12).unwrap();
    let shared = node(&url, &policy).await;
    let w = users(&shared, 4).await;
    let (alice, mallory, trent, bob) = (&w[0], &w[1], &w[2], &w[3]);
    let (addr, handle) = serve(
        shared.clone(),
        Default::default(),
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    let submit = |tx: Tx| {
        let client = &client;
        async move {
            client
                .request::<String, _>("rollup_submitTx", rpc_params![hexed(&tx)])
                .await
        }
    };
    // Far-future nonces: refused, the window named.
    for nonce in [1_000, 9] {
        let (c, msg) = code_of(
            submit(transfer(mallory, 2, bob, 1, nonce))
                .await
                .unwrap_err(),
        );
        assert_eq!(c, code::NONCE_TOO_FAR, "{msg}");
        assert!(msg.contains("at most 7 ahead"), "{msg}");
    }
    // Within the window but behind a gap (nonce 1 never sent): admitted up to the account's
    // share — nonces 2..=8 and a second 2 — then refused.
    let mut stuck = Vec::new();
    for nonce in 2..=8 {
        let tx = transfer(mallory, 2, bob, 1, nonce);
        submit(tx.clone()).await.unwrap();
        stuck.push(tx);
    }
    let twin = transfer(mallory, 2, bob, 2, 2);
    submit(twin.clone()).await.unwrap();
    stuck.push(twin);
    let (c, msg) = code_of(submit(transfer(mallory, 2, bob, 3, 2)).await.unwrap_err());
    assert_eq!(c, code::ACCOUNT_QUOTA, "{msg}");
    assert!(msg.contains("8 transactions waiting"), "{msg}");
    // The honest transfer is admitted beside the flood (control: the limits refuse only the
    // flood).
    let honest = transfer(alice, 1, bob, 500, 1);
    let honest_hash: String = submit(honest.clone()).await.unwrap();
    // A second attacker account fills the mempool to its capacity: then anyone is refused with
    // "mempool full" — the total bound — until a block or an expiry makes room.
    for nonce in 2..5 {
        submit(transfer(trent, 3, bob, 1, nonce)).await.unwrap();
    }
    let (c, msg) = code_of(submit(transfer(trent, 3, bob, 1, 5)).await.unwrap_err());
    assert_eq!(c, code::MEMPOOL_FULL, "{msg}");
    let late = transfer(bob, 4, alice, 1, 1);
    let (c, _) = code_of(submit(late.clone()).await.unwrap_err());
    assert_eq!(c, code::MEMPOOL_FULL);
    assert_eq!(shared.storage.mempool_len().await.unwrap(), 12);

    let status = |h: String| {
        let client = &client;
        async move {
            client
                .request::<Value, _>("rollup_txStatus", rpc_params![h])
                .await
                .unwrap()
        }
    };
    let s = status(hash_hex(&stuck[0])).await;
    assert_eq!(s["status"], "mempool");
    let expires = s["expiresAt"].as_i64().unwrap();
    assert_eq!(expires, s["addedAt"].as_i64().unwrap() + 2_000);
    // A WebSocket subscriber follows one stuck transaction to its end.
    let ws = WsClientBuilder::default()
        .build(format!("ws://{addr}"))
        .await
        .unwrap();
    let mut updates: Subscription<Value> = ws
        .subscribe(
            "rollup_subscribeTx",
            rpc_params![hash_hex(&stuck[0])],
            "rollup_unsubscribeTx",
        )
        .await
        .unwrap();
    assert_eq!(updates.next().await.unwrap().unwrap()["status"], "mempool");

    // The stuck entries do not block selection: the honest transfer is sealed; room is made.
    assert_eq!(keeper::seal(&shared, 12).await.unwrap(), Some(3));
    let s = status(honest_hash.clone()).await;
    assert_eq!(
        (s["status"].as_str(), s["block"].as_u64()),
        (Some("block"), Some(3))
    );
    let late_hash: String = submit(late.clone()).await.unwrap();
    assert_eq!(keeper::seal(&shared, 12).await.unwrap(), Some(4));
    assert_eq!(status(late_hash).await["block"], 4);

    // Past their lifetime the stuck ones expire, with the reason.
    let wait = expires - rollup_storage::now_ms() + 100;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    assert_eq!(keeper::seal(&shared, 12).await.unwrap(), None);
    for tx in &stuck {
        let s = status(hash_hex(tx)).await;
        assert_eq!(s["status"], "expired", "{s}");
        let reason = s["reason"].as_str().unwrap();
        assert!(reason.contains("not sealed within 2s"), "{reason}");
        assert!(reason.contains("nonce 1 is missing"), "{reason}");
    }
    let last = tokio::time::timeout(Duration::from_secs(5), updates.next())
        .await
        .expect("the expiry is notified")
        .unwrap()
        .unwrap();
    assert_eq!(last["status"], "expired");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains("nonce 1 is missing")
    );
    assert_eq!(shared.storage.mempool_len().await.unwrap(), 0);
    handle.stop().unwrap();

    // A restarted node answers the same.
    drop(shared);
    let shared2 = node(&url, &policy).await;
    let (addr, handle) = serve(
        shared2.clone(),
        Default::default(),
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    let s: Value = client
        .request("rollup_txStatus", rpc_params![hash_hex(&stuck[3])])
        .await
        .unwrap();
    assert_eq!(s["status"], "expired");
    assert!(s["reason"].as_str().unwrap().contains("nonce 1 is missing"));
    // Mallory's share is free again. Filled once more behind her gap, it still lets through
    // the one nonce everything waits for — once — and then her whole run is sealed.
    let submit = |tx: Tx| {
        let client = &client;
        async move {
            client
                .request::<String, _>("rollup_submitTx", rpc_params![hexed(&tx)])
                .await
        }
    };
    for nonce in 2..=8 {
        submit(transfer(mallory, 2, bob, 1, nonce)).await.unwrap();
    }
    submit(transfer(mallory, 2, bob, 4, 2)).await.unwrap();
    let (c, _) = code_of(submit(transfer(mallory, 2, bob, 5, 2)).await.unwrap_err());
    assert_eq!(c, code::ACCOUNT_QUOTA);
    let missing = transfer(mallory, 2, bob, 1, 1);
    submit(missing.clone()).await.unwrap();
    let (c, _) = code_of(submit(transfer(mallory, 2, bob, 2, 1)).await.unwrap_err());
    assert_eq!(
        c,
        code::ACCOUNT_QUOTA,
        "the next nonce passes a full share only once"
    );
    assert_eq!(shared2.storage.account_pending(2).await.unwrap(), 9);
    assert_eq!(keeper::seal(&shared2, 12).await.unwrap(), Some(5));
    let block = shared2.blocks.lock().await.get(&5).cloned().unwrap();
    assert_eq!(
        block.txs.len(),
        8,
        "nonces 1..=8; the second nonce 2 is rejected"
    );
    assert_eq!(shared2.storage.mempool_len().await.unwrap(), 0);
    handle.stop().unwrap();
}
