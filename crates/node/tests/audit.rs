//! The auditor service against a node's API (SQLite, no chains: the auditor's L1 requests are
//! recorded directly in its own database): honest blocks approved with a signature that verifies
//! against the inputs the senders will send; a block with a deposit no L1 queue holds refused,
//! the network halted with evidence, still halted after an operator's resume while the node
//! keeps offering the same block; the auditor's API serves the approval and the halt; the node's
//! gate passes block 1 only with the right auditor key, network and data, never block 2, and
//! reports the halt (an unreachable or impostor auditor counts as unknown: nothing is sent).

use alloy::primitives::B256;
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use rollup_auditor::service::{Outcome, Service};
use rollup_auditor::store::AuditStore;
use rollup_l1::approval;
use rollup_l1::bindings::Rollup;
use rollup_l1::encode;
use rollup_l1::watcher::WatcherConfig;
use rollup_node::api::serve;
use rollup_node::gate::{AuditorStatus, Gate};
use rollup_node::keeper;
use rollup_state::NetworkConfig;
use rollup_state::dev::{DevWallet, deposit};
use rollup_storage::Storage;
use rollup_types::*;
use serde_json::Value;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn the_auditor_approves_honest_blocks_and_halts_on_a_forged_deposit() {
    let dir = std::env::temp_dir().join(format!("rollup-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let storage = Storage::connect(&format!("sqlite://{}", dir.join("node.db").display()))
        .await
        .unwrap();
    let network = NetworkConfig {
        chains: vec![ChainId(1), ChainId(2), ChainId(3)],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    let shared = Arc::new(
        keeper::restore(storage.clone(), network.clone(), 16)
            .await
            .unwrap(),
    );
    let (addr, handle) = serve(
        shared.clone(),
        Default::default(),
        "127.0.0.1:0".parse().unwrap(),
        None,
    )
    .await
    .unwrap();
    let store = AuditStore::open(&format!("sqlite://{}", dir.join("auditor.db").display()))
        .await
        .unwrap();
    let key = PrivateKeySigner::random();
    let network_id = B256::repeat_byte(0x42);
    let mut service = Service::<DynProvider>::new(
        store.restore(&network, 16).await.unwrap(),
        store.clone(),
        &format!("http://{addr}"),
        key.clone(),
        network_id,
        vec![],
        WatcherConfig {
            confirmations: 0,
            max_range: 100,
        },
    )
    .unwrap();
    assert_eq!(service.audit_next().await.unwrap(), Outcome::Idle);

    // An honest deposit: on chain 1's L1 queue as both the node and the auditor read it.
    let alice = DevWallet::new(1);
    let dep = deposit(1, 0, alice.address(), 0, 1_000_000);
    let bytes = dep.encode().unwrap();
    storage
        .record_watch(
            1,
            &[(0, bytes.clone(), 1)],
            "{\"next_block\":2,\"seen\":[]}",
        )
        .await
        .unwrap();
    store
        .record_requests(ChainId(1), &[(0, bytes)], "{}")
        .await
        .unwrap();
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(1));
    assert_eq!(service.audit_next().await.unwrap(), Outcome::Approved(1));
    let sig = store.approval(1).await.unwrap().unwrap();
    let block = shared.blocks.lock().await.get(&1).cloned().unwrap();
    // The approval is of the sync hash the node's block has, i.e. what every contract computes.
    approval::verify(
        key.address(),
        network_id,
        1,
        alloy::primitives::B256::from(block.sync_hash),
        &sig,
    )
    .unwrap();

    // A deposit only the node's database holds (serial 1 was never requested on L1).
    let forged = deposit(1, 1, alice.address(), 0, 5_000_000);
    storage
        .record_watch(
            1,
            &[(1, forged.encode().unwrap(), 2)],
            "{\"next_block\":3,\"seen\":[]}",
        )
        .await
        .unwrap();
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(2));
    assert_eq!(service.audit_next().await.unwrap(), Outcome::Refused(2));
    assert!(store.approval(2).await.unwrap().is_none());
    let halt = store.active_halt().await.unwrap().unwrap();
    assert_eq!(halt.number, 2);
    assert!(halt.reason.contains("priority op"), "{}", halt.reason);
    assert!(halt.evidence.contains("inputs"), "{}", halt.evidence);
    assert_eq!(service.audit_next().await.unwrap(), Outcome::Halted);
    // What senders ask the auditor: the approval of block 1, none for 2, and the halt.
    let (auditor_addr, auditor_handle) =
        rollup_auditor::api::serve(store.clone(), key.address(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://{auditor_addr}"))
        .unwrap();
    let got: String = client
        .request("auditor_approval", rpc_params![1])
        .await
        .unwrap();
    assert_eq!(got, format!("0x{}", hex::encode(&sig)));
    let none: Value = client
        .request("auditor_approval", rpc_params![2])
        .await
        .unwrap();
    assert!(none.is_null());
    let status: Value = client
        .request("auditor_status", rpc_params![])
        .await
        .unwrap();
    assert_eq!(status["lastApproved"], 1);
    assert_eq!(status["halted"]["block"], 2);
    assert_eq!(status["address"], key.address().to_string());
    // The node's gate: block 1 passes only with the right auditor and network; block 2 never.
    let url = format!("http://{auditor_addr}");
    let gate = Gate::new(&url, key.address(), network_id).unwrap();
    let b2 = shared.blocks.lock().await.get(&2).cloned().unwrap();
    // What chain 1's contract computes from each commit (after genesis, after block 1).
    let genesis = encode::genesis_stored_block(&block.old_final_root);
    let sent = |b: &rollup_state::Block, last: &Rollup::StoredBlockInfo| {
        encode::commit_sync_hash(last, &encode::commit_info(b, ChainId(1)).unwrap())
    };
    let stored1 = encode::stored_block(&block, ChainId(1)).unwrap();
    assert_eq!(sent(&block, &genesis), B256::from(block.sync_hash));
    assert!(gate.approval(1, sent(&block, &genesis)).await.is_some());
    assert!(gate.approval(2, sent(&b2, &stored1)).await.is_none());
    let stranger = Gate::new(&url, PrivateKeySigner::random().address(), network_id).unwrap();
    assert!(stranger.approval(1, sent(&block, &genesis)).await.is_none());
    let other_network = Gate::new(&url, key.address(), B256::repeat_byte(0x43)).unwrap();
    assert!(
        other_network
            .approval(1, sent(&block, &genesis))
            .await
            .is_none()
    );
    // Block 1's approval does not pass for other data under its number.
    let mut forged = (*block).clone();
    forged.timestamp += 1;
    let fresh = Gate::new(&url, key.address(), network_id).unwrap();
    assert!(fresh.approval(1, sent(&forged, &genesis)).await.is_none());
    // The halt reaches the node's status; a stranger's API is not trusted even when running.
    gate.refresh(&shared).await;
    assert!(matches!(
        gate.status(),
        AuditorStatus::Halted { block: 2, .. }
    ));
    assert!(matches!(
        *shared.auditor.read().unwrap(),
        AuditorStatus::Halted { block: 2, .. }
    ));
    stranger.refresh(&shared).await;
    assert!(matches!(stranger.status(), AuditorStatus::Unknown { .. }));
    auditor_handle.stop().unwrap();
    // An unreachable auditor: unknown status, nothing approved.
    auditor_handle.stopped().await;
    let gone = Gate::new(&url, key.address(), network_id).unwrap();
    gone.refresh(&shared).await;
    assert!(matches!(gone.status(), AuditorStatus::Unknown { .. }));
    assert!(gone.approval(1, sent(&block, &genesis)).await.is_none());
    // Resuming without removing the block changes nothing: it is refused again.
    assert!(store.resume("operator looked").await.unwrap());
    assert_eq!(service.audit_next().await.unwrap(), Outcome::Refused(2));
    assert_eq!(service.auditor().last_block(), 1);
    handle.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
