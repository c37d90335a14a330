//! The SDK and the wallet CLI against a node's API (in-process node state, SQLite; L1 flows are
//! covered by the node's end-to-end test): a key change, a transfer and a withdrawal signed by a
//! wallet derived from an Ethereum key, submitted, and followed to their block; a rejection
//! surfaces as a typed error; the CLI prints balances and refuses a missing key.

use rollup_node::{api, keeper};
use rollup_sdk::{Client, SdkError, Wallet};
use rollup_state::NetworkConfig;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_storage::Storage;
use rollup_types::tx::*;
use rollup_types::*;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn wallet_signs_client_submits_and_follows() {
    let dir = std::env::temp_dir().join(format!("rollup-sdk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sdk.db");
    let _ = std::fs::remove_file(&db);
    let storage = Storage::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let network = NetworkConfig {
        chains: vec![ChainId(1), ChainId(2)],
        fee_account: DevWallet::new(0).address(),
    };
    let shared = Arc::new(keeper::restore(storage.clone(), network, 16).await.unwrap());
    let key = [7u8; 32];
    let wallet = Wallet::from_eth_key(&key).unwrap();
    let dep = deposit(1, 0, wallet.address(), 0, 1_000_000);
    storage
        .record_watch(
            1,
            &[(0, dep.encode().unwrap(), 1)],
            "{\"next_block\":2,\"seen\":[]}",
        )
        .await
        .unwrap();
    keeper::seal(&shared, 64).await.unwrap();
    let (addr, handle) = api::serve(
        shared.clone(),
        Default::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let client = Client::new(&format!("http://{addr}")).unwrap();

    let info = client
        .account(wallet.address(), ChainId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (info.id, info.nonce, info.balance(TokenId(0))),
        (1, 0, 1_000_000)
    );
    let cpk = wallet
        .change_pubkey(ChainId(1), AccountId(info.id), 0, TokenId(0), 0)
        .unwrap();
    let h1 = client.submit(&cpk).await.unwrap();
    // Admission is checked against the sealed state: the transfer needs the key in a block.
    keeper::seal(&shared, 64).await.unwrap();
    let transfer = wallet
        .sign(L2Tx::Transfer(Transfer {
            chain: ChainId(1),
            from: AccountId(1),
            to: DevWallet::new(5).address(),
            token: TokenId(0),
            amount: amount(1_000),
            fee: amount(10),
            nonce: Nonce(1),
        }))
        .unwrap();
    let h2 = client.submit(&transfer).await.unwrap();
    match client.submit(&transfer).await {
        Err(SdkError::Rejected { code, .. }) => assert_eq!(code, api::code::KNOWN),
        other => panic!("expected a rejection, got {other:?}"),
    }
    keeper::seal(&shared, 64).await.unwrap();
    let b1 = client
        .wait_tx(&h1, "sealed", Duration::from_secs(10))
        .await
        .unwrap();
    let b2 = client
        .wait_tx(&h2, "sealed", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((b1, b2), (2, 3));
    let info = client
        .account(wallet.address(), ChainId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.nonce, 2);
    assert_eq!(info.balance(TokenId(0)), 1_000_000 - 1_010);
    assert_eq!(
        info.pubkey_hash,
        format!("0x{}", hex::encode(wallet.pubkey_hash().0))
    );
    // Waiting for a later stage than the block reached times out with a clear error.
    assert!(matches!(
        client
            .wait_tx(&h2, "executed", Duration::from_millis(600))
            .await,
        Err(SdkError::Timeout(_))
    ));

    // The CLI: balances through the API; a missing key is a clear error.
    let bin = env!("CARGO_BIN_EXE_rollup-wallet");
    let out = std::process::Command::new(bin)
        .args([
            "--api",
            &format!("http://{addr}"),
            "balance",
            "--chain",
            "1",
        ])
        .env("ROLLUP_WALLET_KEY", hex::encode(key))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("account 1 nonce 2"), "{text}");
    assert!(
        text.contains(&format!("token 0: {}", 1_000_000 - 1_010)),
        "{text}"
    );
    let out = std::process::Command::new(bin)
        .args([
            "--api",
            &format!("http://{addr}"),
            "balance",
            "--chain",
            "1",
        ])
        .env_remove("ROLLUP_WALLET_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ROLLUP_WALLET_KEY"));
    handle.stop().unwrap();
}
