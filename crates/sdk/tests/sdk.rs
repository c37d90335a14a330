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
        domain: rollup_state::dev::TEST_DOMAIN,
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
        None,
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
    // The wallet signs for the deployment the node reports.
    let domain = client.domain().await.unwrap();
    assert_eq!(domain, rollup_state::dev::TEST_DOMAIN);
    let cpk = wallet
        .change_pubkey(&domain, ChainId(1), AccountId(info.id), 0, TokenId(0), 0)
        .unwrap();
    let h1 = client.submit(&cpk).await.unwrap();
    // Admission is checked against the sealed state: the transfer needs the key in a block.
    keeper::seal(&shared, 64).await.unwrap();
    let transfer = wallet
        .sign(
            L2Tx::Transfer(Transfer {
                chain: ChainId(1),
                from: AccountId(1),
                to: DevWallet::new(5).address(),
                token: TokenId(0),
                amount: amount(1_000),
                fee: amount(10),
                nonce: Nonce(1),
            }),
            &domain,
        )
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
    // In ETH units (18 decimals): 998,990 wei.
    assert!(text.contains("token 0: 0.00000000000099899 ETH"), "{text}");
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

/// A transaction stuck behind a missing nonce expires in the node's mempool: `wait_tx` fails
/// with the node's status and reason instead of waiting on, the CLI's `status` shows it, and the
/// SDK knows the mempool's error codes (the same numbers as the node's).
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_transaction_is_reported() {
    assert_eq!(
        [
            rollup_sdk::code::INVALID_PARAMS,
            rollup_sdk::code::INTERNAL,
            rollup_sdk::code::MALFORMED_TX,
            rollup_sdk::code::REFUSED,
            rollup_sdk::code::KNOWN,
            rollup_sdk::code::L1_ONLY,
            rollup_sdk::code::FEE_TOO_LOW,
            rollup_sdk::code::NONCE_TOO_FAR,
            rollup_sdk::code::ACCOUNT_QUOTA,
            rollup_sdk::code::MEMPOOL_FULL,
        ],
        [
            api::code::INVALID_PARAMS,
            api::code::INTERNAL,
            api::code::MALFORMED_TX,
            api::code::REFUSED,
            api::code::KNOWN,
            api::code::L1_ONLY,
            api::code::FEE_TOO_LOW,
            api::code::NONCE_TOO_FAR,
            api::code::ACCOUNT_QUOTA,
            api::code::MEMPOOL_FULL,
        ]
    );
    let dir = std::env::temp_dir().join(format!("rollup-sdk-expiry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sdk.db");
    let _ = std::fs::remove_file(&db);
    let storage = Storage::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let network = NetworkConfig {
        chains: vec![ChainId(1), ChainId(2)],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    let mut shared = keeper::restore(storage.clone(), network, 16).await.unwrap();
    shared.mempool.ttl_secs = 1;
    let shared = Arc::new(shared);
    let key = [9u8; 32];
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
        None,
    )
    .await
    .unwrap();
    let client = Client::new(&format!("http://{addr}")).unwrap();
    let domain = client.domain().await.unwrap();
    let cpk = wallet
        .change_pubkey(&domain, ChainId(1), AccountId(1), 0, TokenId(0), 0)
        .unwrap();
    client.submit(&cpk).await.unwrap();
    keeper::seal(&shared, 64).await.unwrap();
    let transfer = |nonce: u32| {
        wallet
            .sign(
                L2Tx::Transfer(Transfer {
                    chain: ChainId(1),
                    from: AccountId(1),
                    to: DevWallet::new(5).address(),
                    token: TokenId(0),
                    amount: amount(1_000),
                    fee: amount(10),
                    nonce: Nonce(nonce),
                }),
                &domain,
            )
            .unwrap()
    };
    // Far beyond the window: refused, and not worth retrying unchanged.
    match client.submit(&transfer(500)).await {
        Err(e @ SdkError::Rejected { code, .. }) => {
            assert_eq!(code, api::code::NONCE_TOO_FAR);
            assert!(!e.retryable());
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    // Nonce 3 while the account's is 1: admitted, never executable.
    let h = client.submit(&transfer(3)).await.unwrap();
    assert_eq!(client.tx_status(&h).await.unwrap()["status"], "mempool");
    let keeper = {
        let shared = shared.clone();
        tokio::spawn(async move {
            assert_eq!(keeper::seal(&shared, 64).await.unwrap(), None);
            tokio::time::sleep(Duration::from_millis(1_200)).await;
            assert_eq!(keeper::seal(&shared, 64).await.unwrap(), None);
        })
    };
    let e = client
        .wait_tx(&h, "sealed", Duration::from_secs(20))
        .await
        .unwrap_err();
    keeper.await.unwrap();
    match &e {
        SdkError::Dropped { status, reason } => {
            assert_eq!(status, "expired");
            assert!(reason.contains("nonce 1 is missing"), "{reason}");
        }
        other => panic!("expected an expiry, got {other:?}"),
    }
    assert!(!e.retryable());
    let bin = env!("CARGO_BIN_EXE_rollup-wallet");
    let out = std::process::Command::new(bin)
        .args(["--api", &format!("http://{addr}"), "status", &h])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"expired\""), "{text}");
    assert!(text.contains("nonce 1 is missing"), "{text}");
    handle.stop().unwrap();
}
