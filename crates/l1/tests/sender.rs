//! The sender against real anvil chains: killed between signing and broadcast and after
//! broadcast, it resumes from its store with nothing lost and nothing sent twice; a transaction
//! stuck under a risen base fee is bumped and mined once; a broadcast to a dead node leaves the
//! transaction `Signed`, never `Sent`; a transaction that cannot be paid for is refused before
//! anything is stored.

mod common;

use alloy::node_bindings::Anvil;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use common::*;
use rollup_l1::L1Error;
use rollup_l1::bindings::Rollup;
use rollup_l1::sender::{FileStore, Sender, SenderConfig, TxStatus, TxStore};
use rollup_types::ChainId;
use std::time::Duration;

fn deposit_call(to: Address) -> Bytes {
    Rollup::depositETHCall { to }.abi_encode().into()
}

#[tokio::test(flavor = "multi_thread")]
async fn crashes_stuck_transactions_and_failed_sends() {
    let net = Net::start().await;
    let c = net.chain(ChainId(1));
    let rollup = *c.rollup.address();
    let (signer, _) = c.user(6);
    let me = signer.address();
    let dir = std::env::temp_dir().join(format!("rollup-sender-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chain1.json");
    let _ = std::fs::remove_file(&path);
    let cfg = SenderConfig::default();
    let open = |cfg: SenderConfig| {
        let (p, s, path) = (c.provider.clone(), signer.clone(), path.clone());
        async move {
            Sender::open(p, s, FileStore::open(&path).unwrap(), cfg)
                .await
                .unwrap()
        }
    };
    let nonce = || async { c.provider.get_transaction_count(me).await.unwrap() };
    let queued = || async { c.rollup.totalPriorityRequests().call().await.unwrap() };

    // Killed between signing and broadcast: nothing reached the chain; the restart sends it once.
    let mut s = open(cfg).await;
    let id0 = s
        .prepare("deposit 0", rollup, deposit_call(me), U256::from(1_000))
        .await
        .unwrap();
    drop(s);
    assert_eq!(nonce().await, 0);
    assert_eq!(queued().await, 0);
    let mut s = open(cfg).await;
    let status = s.wait(id0, Duration::from_secs(30)).await.unwrap();
    assert!(matches!(status, TxStatus::Confirmed { success: true, .. }));
    assert_eq!((nonce().await, queued().await), (1, 1));

    // Killed after broadcast: the restart finds the receipt and sends nothing again.
    let id1 = s
        .prepare("deposit 1", rollup, deposit_call(me), U256::from(2_000))
        .await
        .unwrap();
    s.broadcast(id1).await.unwrap();
    assert_eq!(s.record(id1).unwrap().status, TxStatus::Sent);
    drop(s);
    let mut s = open(cfg).await;
    let status = s.wait(id1, Duration::from_secs(30)).await.unwrap();
    assert!(matches!(status, TxStatus::Confirmed { success: true, .. }));
    assert_eq!(
        s.record(id1).unwrap().attempts.len(),
        1,
        "the same signed bytes"
    );
    assert_eq!((nonce().await, queued().await), (2, 2));

    // Stuck: mining paused, the base fee jumps above the transaction's fee cap; a bump replaces
    // it and the replacement is mined — one transaction for the nonce.
    let _: serde_json::Value = c
        .provider
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let id2 = s
        .submit("deposit 2", rollup, deposit_call(me), U256::from(3_000))
        .await
        .unwrap();
    assert_eq!(s.record(id2).unwrap().status, TxStatus::Sent);
    let cap = s.record(id2).unwrap().attempts[0].max_fee;
    let _: serde_json::Value = c
        .provider
        .raw_request(
            "anvil_setNextBlockBaseFeePerGas".into(),
            (U256::from(cap * 4),),
        )
        .await
        .unwrap();
    let _: serde_json::Value = c.provider.raw_request("evm_mine".into(), ()).await.unwrap();
    assert_eq!(nonce().await, 2, "not mined under the higher base fee");
    drop(s);
    let mut s = open(SenderConfig {
        bump_after: Duration::ZERO,
        ..cfg
    })
    .await;
    s.tick().await.unwrap();
    // Re-broadcast at start-up already met "underpriced" and bumped; the tick bumped again.
    let r = s.record(id2).unwrap().clone();
    assert!(r.attempts.len() >= 2, "bumped");
    let last = r.attempts.last().unwrap().clone();
    assert!(last.max_fee > cap * 4);
    let _: serde_json::Value = c.provider.raw_request("evm_mine".into(), ()).await.unwrap();
    s.tick().await.unwrap();
    let r = s.record(id2).unwrap().clone();
    assert!(
        matches!(r.status, TxStatus::Confirmed { hash, success: true, .. } if hash == last.hash),
        "{:?}",
        r.status
    );
    assert_eq!((nonce().await, queued().await), (3, 3));
    let _: serde_json::Value = c
        .provider
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();

    // Cannot pay: refused at estimation, nothing stored.
    let poor = PrivateKeySigner::random();
    let poor_path = dir.join("poor.json");
    let _ = std::fs::remove_file(&poor_path);
    let mut p = Sender::open(
        c.provider.clone(),
        poor.clone(),
        FileStore::open(&poor_path).unwrap(),
        cfg,
    )
    .await
    .unwrap();
    let err = p
        .submit("broke", rollup, deposit_call(me), U256::from(1))
        .await
        .unwrap_err();
    assert!(!err.retryable(), "{err}");
    let stored = FileStore::open(&poor_path).unwrap().load().await.unwrap();
    assert!(stored.is_empty());

    // A broadcast to a node that died: retryable error, the transaction stays Signed.
    let anvil = Anvil::at(repo().join("node_modules/.bin/anvil"))
        .chain_id(4242)
        .spawn();
    let doomed = PrivateKeySigner::from_signing_key(anvil.keys()[1].clone().into());
    let provider = ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .erased();
    let dead_path = dir.join("dead.json");
    let _ = std::fs::remove_file(&dead_path);
    let mut d = Sender::open(provider, doomed, FileStore::open(&dead_path).unwrap(), cfg)
        .await
        .unwrap();
    let id = d
        .prepare(
            "transfer",
            Address::repeat_byte(9),
            Bytes::new(),
            U256::from(1),
        )
        .await
        .unwrap();
    drop(anvil);
    let err = d.broadcast(id).await.unwrap_err();
    assert!(matches!(err, L1Error::Rpc(_)) && err.retryable(), "{err}");
    assert_eq!(d.record(id).unwrap().status, TxStatus::Signed);
    let stored = FileStore::open(&dead_path).unwrap().load().await.unwrap();
    assert_eq!(stored[0].status, TxStatus::Signed);
    let _ = std::fs::remove_dir_all(dir);
}
