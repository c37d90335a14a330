//! The JSON-RPC API over HTTP against a node state (SQLite, no chains needed): admission of
//! transactions with a clear error for every rejection, account, pool, transaction and block
//! status, fee estimates and the minimum fee, swap quotes, and block and transaction
//! notifications over WebSocket, and each block's commit inputs served for the auditor, which
//! approves them with the node's own roots.

use alloy::sol_types::SolValue;
use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use rollup_l1::bindings::Rollup::CommitBlockInfo;
use rollup_node::api::{code, serve};
use rollup_node::fees::{FeeConfig, FeePolicy, PriceRule};
use rollup_node::keeper;
use rollup_state::NetworkConfig;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_storage::Storage;
use rollup_types::tx::*;
use rollup_types::*;
use serde_json::Value;
use std::sync::Arc;

fn hexed(tx: &Tx) -> String {
    format!("0x{}", hex::encode(tx.encode().unwrap()))
}

fn code_of(e: ClientError) -> (i32, String) {
    match e {
        ClientError::Call(o) => (o.code(), o.message().to_string()),
        other => panic!("not a call error: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_and_query_with_clear_errors() {
    let dir = std::env::temp_dir().join(format!("rollup-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("api.db");
    let _ = std::fs::remove_file(&db);
    let storage = Storage::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let network = NetworkConfig {
        chains: vec![ChainId(1), ChainId(2), ChainId(3)],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    let shared = Arc::new(keeper::restore(storage.clone(), network, 16).await.unwrap());
    let alice = DevWallet::new(1);
    let bob = DevWallet::new(2);
    // Alice's deposit arrives from chain 1's queue; block 1 credits it.
    let dep = deposit(1, 0, alice.address(), 0, 1_000_000);
    storage
        .record_watch(
            1,
            &[(0, dep.encode().unwrap(), 1)],
            "{\"next_block\":2,\"seen\":[]}",
        )
        .await
        .unwrap();
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(1));
    // The operator prices fees from L1 gas: here every chunk costs each of the 3 chains one gas
    // (48 gas per block and chain, shared by its 16 chunks on each chain; no proof or chunk
    // gas), ETH at 1 on every chain; the gas prices are read further down.
    let fees = FeePolicy::new(
        Some(&FeeConfig {
            block_gas: 48,
            proof_gas: 0,
            chunk_gas: 0,
            expected_chunks: Some(16),
            withdraw_gas: 0,
            margin_percent: 0,
            prices: (1..=3)
                .map(|chain| PriceRule {
                    chain,
                    token: 0,
                    price: "1".into(),
                })
                .collect(),
        }),
        16,
        1,
    )
    .unwrap();
    // The explorer's pages, served beside JSON-RPC on the same port.
    let pages = dir.join("explorer");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(
        pages.join("index.html"),
        "<!doctype html><title>explorer</title>",
    )
    .unwrap();
    std::fs::write(pages.join("main.js"), "console.log(1)").unwrap();
    let (addr, handle) = serve(
        shared.clone(),
        fees,
        "127.0.0.1:0".parse().unwrap(),
        Some(pages),
    )
    .await
    .unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    // A WebSocket subscriber hears of every block's stages.
    let ws = WsClientBuilder::default()
        .build(format!("ws://{addr}"))
        .await
        .unwrap();
    let mut blocks: Subscription<Value> = ws
        .subscribe(
            "rollup_subscribeBlocks",
            rpc_params![],
            "rollup_unsubscribeBlocks",
        )
        .await
        .unwrap();
    let first = blocks.next().await.unwrap().unwrap();
    assert_eq!(first["number"], 1);
    assert_eq!(first["stages"]["3"], "sealed");

    // Rejections, each with its code.
    let call = |method: &'static str, p: jsonrpsee::core::params::ArrayParams| {
        let client = &client;
        async move { client.request::<Value, _>(method, p).await }
    };
    let e = call("rollup_submitTx", rpc_params!["zz"])
        .await
        .unwrap_err();
    assert_eq!(code_of(e).0, code::INVALID_PARAMS);
    let e = call("rollup_submitTx", rpc_params![42]).await.unwrap_err();
    assert_eq!(code_of(e).0, code::INVALID_PARAMS);
    let e = call("rollup_submitTx", rpc_params!["0x04ff"])
        .await
        .unwrap_err();
    assert_eq!(code_of(e).0, code::MALFORMED_TX);
    let e = call("rollup_submitTx", rpc_params![hexed(&dep)])
        .await
        .unwrap_err();
    assert_eq!(code_of(e).0, code::L1_ONLY);
    let transfer = |signer: &DevWallet, value: u128, nonce: u32| {
        signer.sign(L2Tx::Transfer(Transfer {
            chain: ChainId(1),
            from: AccountId(1),
            to: bob.address(),
            token: TokenId(0),
            amount: amount(value),
            fee: amount(30),
            nonce: Nonce(nonce),
        }))
    };
    // No key yet: refused.
    let e = call(
        "rollup_submitTx",
        rpc_params![hexed(&transfer(&alice, 100, 0))],
    )
    .await
    .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::REFUSED);
    assert!(msg.contains("no L2 key"), "{msg}");
    // No chain's gas price read yet: nothing can be priced, and nothing is guessed.
    let e = call("rollup_estimateFee", rpc_params!["change_pubkey", 1, 0])
        .await
        .unwrap_err();
    assert_eq!(code_of(e).0, code::FEE_UNAVAILABLE);
    let e = call(
        "rollup_submitTx",
        rpc_params![hexed(&alice.change_pubkey(
            ChainId(1),
            AccountId(1),
            0,
            0,
            24
        ))],
    )
    .await
    .unwrap_err();
    assert_eq!(code_of(e).0, code::FEE_UNAVAILABLE);
    // The drivers read 1 wei on every chain.
    for chain in 1..=3 {
        storage.save_gas_price(chain, 1).await.unwrap();
    }
    // The fee estimate: a key change on 3 chains occupies up to 4 + 2 + 2 chunks, each costing
    // every chain 1 gas at 1 wei → 3 · 8 = 24 wei; a free key change is refused, one paying the
    // estimate is accepted, listed in the mempool, then included in block 2.
    let est: Value = client
        .request("rollup_estimateFee", rpc_params!["change_pubkey", 1, 0])
        .await
        .unwrap();
    assert_eq!(est["chunks"], 8);
    assert_eq!(est["minFee"], "24");
    assert_eq!(est["shareGas"], 1);
    let parts: Vec<(u64, u64, u64, &str)> = est["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["chain"].as_u64().unwrap(),
                p["chunks"].as_u64().unwrap(),
                p["gas"].as_u64().unwrap(),
                p["gasPrice"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(parts, vec![(1, 4, 8, "1"), (2, 2, 8, "1"), (3, 2, 8, "1")]);
    // A transfer may create its recipient's account on every chain: 1 + 3·2 chunks, each
    // costing every chain 1 gas → 21.
    let t: Value = client
        .request("rollup_estimateFee", rpc_params!["transfer", 2, 0])
        .await
        .unwrap();
    assert_eq!(
        (t["chunks"].as_u64(), t["minFee"].as_str()),
        (Some(7), Some("21"))
    );
    // A token the operator has no price for is not a fee token.
    let e = call("rollup_estimateFee", rpc_params!["transfer", 2, 1])
        .await
        .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::REFUSED);
    assert!(msg.contains("no price for token 1 on chain 2"), "{msg}");
    let e = call("rollup_estimateFee", rpc_params!["mint", 1, 0])
        .await
        .unwrap_err();
    assert_eq!(code_of(e).0, code::INVALID_PARAMS);
    let e = call(
        "rollup_submitTx",
        rpc_params![hexed(&alice.change_pubkey(
            ChainId(1),
            AccountId(1),
            0,
            0,
            0
        ))],
    )
    .await
    .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::FEE_TOO_LOW);
    assert!(msg.contains("minimum 24"), "{msg}");
    let cpk = alice.change_pubkey(ChainId(1), AccountId(1), 0, 0, 24);
    let hash: String = client
        .request("rollup_submitTx", rpc_params![hexed(&cpk)])
        .await
        .unwrap();
    // A WebSocket subscriber follows the transaction from the mempool into its block.
    let mut tx_updates: Subscription<Value> = ws
        .subscribe(
            "rollup_subscribeTx",
            rpc_params![hash.clone()],
            "rollup_unsubscribeTx",
        )
        .await
        .unwrap();
    let update = tx_updates.next().await.unwrap().unwrap();
    assert_eq!(update["status"], "mempool");
    let bad: Result<Subscription<Value>, _> = ws
        .subscribe(
            "rollup_subscribeTx",
            rpc_params!["0x12"],
            "rollup_unsubscribeTx",
        )
        .await;
    assert!(bad.is_err(), "a malformed hash is refused");
    let e = call("rollup_submitTx", rpc_params![hexed(&cpk)])
        .await
        .unwrap_err();
    assert_eq!(code_of(e).0, code::KNOWN);
    let status: Value = client
        .request("rollup_txStatus", rpc_params![hash.clone()])
        .await
        .unwrap();
    assert_eq!(status["status"], "mempool");
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(2));
    let second = tokio::time::timeout(std::time::Duration::from_secs(5), blocks.next())
        .await
        .expect("a notification for block 2")
        .unwrap()
        .unwrap();
    assert_eq!(second["number"], 2);
    let update = tokio::time::timeout(std::time::Duration::from_secs(5), tx_updates.next())
        .await
        .expect("a notification for the key change")
        .unwrap()
        .unwrap();
    assert_eq!(update["status"], "block");
    assert_eq!(update["block"], 2);
    let status: Value = client
        .request("rollup_txStatus", rpc_params![hash])
        .await
        .unwrap();
    assert_eq!(status["status"], "block");
    assert_eq!(status["block"], 2);
    assert_eq!(status["stages"]["1"], "sealed");
    // Now: a forged signature, an old nonce and an overdraft are refused with their reasons; a
    // later nonce waits behind the pending one.
    let mallory = DevWallet::new(9);
    let e = call(
        "rollup_submitTx",
        rpc_params![hexed(&transfer(&mallory, 100, 1))],
    )
    .await
    .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::REFUSED);
    assert!(msg.contains("key"), "{msg}");
    let e = call(
        "rollup_submitTx",
        rpc_params![hexed(&transfer(&alice, 100, 0))],
    )
    .await
    .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::REFUSED);
    assert!(msg.contains("nonce"), "{msg}");
    let e = call(
        "rollup_submitTx",
        rpc_params![hexed(&transfer(&alice, 5_000_000, 1))],
    )
    .await
    .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::REFUSED);
    assert!(msg.contains("needs 5000030"), "{msg}");
    // Below the transfer's minimum of 21: refused; 30 pays.
    let cheap = alice.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(1),
        to: bob.address(),
        token: TokenId(0),
        amount: amount(100),
        fee: amount(20),
        nonce: Nonce(1),
    }));
    let e = call("rollup_submitTx", rpc_params![hexed(&cheap)])
        .await
        .unwrap_err();
    assert_eq!(code_of(e).0, code::FEE_TOO_LOW);
    let t1_hash: String = client
        .request(
            "rollup_submitTx",
            rpc_params![hexed(&transfer(&alice, 100, 1))],
        )
        .await
        .unwrap();
    let _: String = client
        .request(
            "rollup_submitTx",
            rpc_params![hexed(&transfer(&alice, 100, 2))],
        )
        .await
        .unwrap();
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(3));

    // Queries.
    let a: Value = client
        .request(
            "rollup_account",
            rpc_params![format!("{}", alice.address()), 1],
        )
        .await
        .unwrap();
    assert_eq!(a["id"], 1);
    assert_eq!(a["nonce"], 3);
    assert_eq!(a["balances"]["0"], (1_000_000 - 24 - 2 * 130).to_string());
    let none: Value = client
        .request(
            "rollup_account",
            rpc_params![format!("{}", mallory.address()), 1],
        )
        .await
        .unwrap();
    assert!(none.is_null());
    let e = call(
        "rollup_account",
        rpc_params![format!("{}", alice.address()), 9],
    )
    .await
    .unwrap_err();
    assert_eq!(code_of(e).0, code::INVALID_PARAMS);
    let pool: Value = client
        .request("rollup_pool", rpc_params![1, 0])
        .await
        .unwrap();
    assert!(pool.is_null());
    let pools: Value = client
        .request("rollup_pools", rpc_params![1])
        .await
        .unwrap();
    assert_eq!(pools, Value::Array(vec![]));
    let e = call("rollup_pools", rpc_params![9]).await.unwrap_err();
    assert_eq!(code_of(e).0, code::INVALID_PARAMS);
    // L1 requests by their queue serial: alice's deposit is in block 1; a request the watcher
    // stored but no block took yet is queued; one it has not seen is unknown.
    let p: Value = client
        .request("rollup_priorityStatus", rpc_params![1, 0])
        .await
        .unwrap();
    assert_eq!(p["status"], "block");
    assert_eq!(p["block"], 1);
    assert_eq!(p["hash"], format!("0x{}", hex::encode(dep.hash().unwrap())));
    let exit = Tx::FullExit(FullExit {
        chain: ChainId(3),
        serial_id: 0,
        account: AccountId(1),
        owner: alice.address(),
        token: TokenId(0),
    });
    storage
        .record_watch(
            3,
            &[(0, exit.encode().unwrap(), 7)],
            "{\"next_block\":8,\"seen\":[]}",
        )
        .await
        .unwrap();
    let p: Value = client
        .request("rollup_priorityStatus", rpc_params![3, 0])
        .await
        .unwrap();
    assert_eq!(p["status"], "queued");
    assert_eq!(p["l1Block"], 7);
    assert_eq!(
        p["hash"],
        format!("0x{}", hex::encode(exit.hash().unwrap()))
    );
    let p: Value = client
        .request("rollup_priorityStatus", rpc_params![3, 1])
        .await
        .unwrap();
    assert_eq!(p["status"], "unknown");
    let e = call("rollup_quote", rpc_params![1, 0, "1000"])
        .await
        .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::INVALID_PARAMS);
    assert!(msg.contains("no pool"), "{msg}");
    let b: Value = client
        .request("rollup_blockStatus", rpc_params![3])
        .await
        .unwrap();
    assert_eq!(b["stages"]["2"], "sealed");
    let s: Value = client
        .request("rollup_status", rpc_params![])
        .await
        .unwrap();
    assert_eq!(s["lastBlock"], 3);

    // The explorer's methods over the same three blocks.
    let blocks_page: Value = client
        .request("rollup_blocks", rpc_params![Value::Null, 2])
        .await
        .unwrap();
    let numbers: Vec<u64> = blocks_page
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![3, 2], "newest first, limited");
    let b3 = &blocks_page[0];
    assert_eq!(b3["txCount"], 2);
    let stored3 = storage.block(3).await.unwrap().unwrap();
    assert_eq!(
        b3["finalRoot"],
        format!("0x{}", hex::encode(stored3.final_root))
    );
    let c1 = &b3["chains"][0];
    assert_eq!(
        (c1["chain"].as_u64(), c1["stage"].as_str()),
        (Some(1), Some("sealed"))
    );
    assert!(c1["chunks"].as_u64().unwrap() >= 2, "{c1}");
    assert!(c1["l1"]["committed"].is_null(), "not committed on L1");
    assert_eq!(b3["chains"].as_array().unwrap().len(), 3);
    // Block 2's new roots are block 3's old ones.
    assert_eq!(
        blocks_page[1]["chains"][1]["newRoot"],
        b3["chains"][1]["oldRoot"]
    );
    let older: Value = client
        .request("rollup_blocks", rpc_params![2, 100])
        .await
        .unwrap();
    assert_eq!(older.as_array().unwrap().len(), 1);
    for bad in [0, 101] {
        let e = call("rollup_blocks", rpc_params![Value::Null, bad])
            .await
            .unwrap_err();
        assert_eq!(code_of(e).0, code::INVALID_PARAMS, "limit {bad}");
    }
    // A stage transaction the chain-1 watcher read shows in its block with its gas.
    storage
        .record_batch(
            1,
            &[],
            &[rollup_storage::StageTx {
                number: 1,
                chain: 1,
                stage: rollup_storage::Stage::Committed,
                l1_hash: [0xab; 32],
                l1_block: 12,
                gas_used: 78_000,
                at_ms: 5,
            }],
            &[],
            "{\"next_block\":13,\"seen\":[]}",
        )
        .await
        .unwrap();
    let b1: Value = client
        .request("rollup_block", rpc_params![1])
        .await
        .unwrap();
    assert_eq!(b1["chains"][0]["l1"]["committed"]["gasUsed"], 78_000);
    assert_eq!(
        b1["chains"][0]["l1"]["committed"]["hash"],
        format!("0x{}", hex::encode([0xab; 32]))
    );
    assert_eq!(b1["txs"][0]["kind"], "deposit");
    assert_eq!(
        b1["txs"][0]["hash"],
        format!("0x{}", hex::encode(dep.hash().unwrap()))
    );
    let none: Value = client
        .request("rollup_block", rpc_params![9])
        .await
        .unwrap();
    assert!(none.is_null());
    // A transaction with its decoded fields, chains and stages; one in the mempool; unknown.
    let t: Value = client
        .request("rollup_tx", rpc_params![t1_hash.clone()])
        .await
        .unwrap();
    assert_eq!(t["hash"], t1_hash);
    assert_eq!(
        (t["status"].as_str(), t["block"].as_u64()),
        (Some("block"), Some(3))
    );
    assert_eq!(t["tx"]["kind"], "transfer");
    assert_eq!(t["tx"]["amount"], "100");
    assert_eq!(t["tx"]["to"], format!("0x{}", hex::encode(bob.address().0)));
    assert_eq!(t["chains"], serde_json::json!([1]));
    assert_eq!(t["stages"]["1"], "sealed");
    let cpk_info: Value = client
        .request(
            "rollup_tx",
            rpc_params![format!("0x{}", hex::encode(cpk.hash().unwrap()))],
        )
        .await
        .unwrap();
    assert_eq!(cpk_info["tx"]["kind"], "changePubKey");
    assert_eq!(
        cpk_info["chains"],
        serde_json::json!([1, 2, 3]),
        "a broadcast"
    );
    // Bob has an account now: a transfer to him pays for its one chunk (1 gas on each of the
    // 3 chains at 1 wei), a transfer to an address without one for its creation as well.
    let fee_to = |to: String| {
        let client = &client;
        async move {
            let v: Value = client
                .request("rollup_estimateFee", rpc_params!["transfer", 1, 0, to])
                .await
                .unwrap();
            (
                v["recipientExists"].as_bool(),
                v["chunks"].as_u64(),
                v["minFee"].as_str().map(str::to_string),
            )
        }
    };
    let hex_of = |a: rollup_crypto::Address| format!("0x{}", hex::encode(a.0));
    assert_eq!(
        fee_to(hex_of(bob.address())).await,
        (Some(true), Some(1), Some("3".into()))
    );
    assert_eq!(
        fee_to(hex_of(mallory.address())).await,
        (Some(false), Some(7), Some("21".into()))
    );
    for bad in [
        rpc_params!["withdraw", 1, 0, hex_of(bob.address())],
        rpc_params!["transfer", 1, 0, "0x1234"],
        rpc_params!["transfer", 1, 0, "bob"],
    ] {
        let e = call("rollup_estimateFee", bad).await.unwrap_err();
        assert_eq!(code_of(e).0, code::INVALID_PARAMS);
    }
    // The API charges the same at admission: 2 is below a transfer to bob's minimum of 3.
    let under = alice.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(1),
        to: bob.address(),
        token: TokenId(0),
        amount: amount(100),
        fee: amount(2),
        nonce: Nonce(3),
    }));
    let e = call("rollup_submitTx", rpc_params![hexed(&under)])
        .await
        .unwrap_err();
    let (c, msg) = code_of(e);
    assert_eq!(c, code::FEE_TOO_LOW);
    assert!(msg.contains("minimum 3 "), "{msg}");
    let waiting = transfer(&alice, 100, 3);
    let wh: String = client
        .request("rollup_submitTx", rpc_params![hexed(&waiting)])
        .await
        .unwrap();
    let w: Value = client.request("rollup_tx", rpc_params![wh]).await.unwrap();
    assert_eq!(w["status"], "mempool");
    assert_eq!(w["tx"]["nonce"], 3);
    let unknown: Value = client
        .request("rollup_tx", rpc_params![format!("0x{}", "00".repeat(32))])
        .await
        .unwrap();
    assert!(unknown.is_null());
    let e = call("rollup_tx", rpc_params!["0x1234"]).await.unwrap_err();
    assert_eq!(code_of(e).0, code::INVALID_PARAMS);
    // An account by address or id, on every chain, with its history (newest first): bob's
    // account was created by alice's first transfer to him.
    let by_address: Value = client
        .request(
            "rollup_accountInfo",
            rpc_params![format!("0x{}", hex::encode(alice.address().0))],
        )
        .await
        .unwrap();
    let by_id: Value = client
        .request("rollup_accountInfo", rpc_params!["1"])
        .await
        .unwrap();
    assert_eq!(by_address, by_id);
    assert_eq!(by_id["chains"]["1"]["nonce"], 3);
    assert_eq!(by_id["chains"]["2"]["nonce"], 0);
    let kinds: Vec<&str> = by_id["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["transfer", "transfer", "changePubKey", "deposit"]
    );
    let bob_info: Value = client
        .request(
            "rollup_accountInfo",
            rpc_params![format!("0x{}", hex::encode(bob.address().0))],
        )
        .await
        .unwrap();
    assert_eq!(
        bob_info["txs"].as_array().unwrap().len(),
        2,
        "the recipient's history"
    );
    for q in [
        "999",
        format!("0x{}", hex::encode(mallory.address().0)).as_str(),
    ] {
        let none: Value = client
            .request("rollup_accountInfo", rpc_params![q])
            .await
            .unwrap();
        assert!(none.is_null(), "{q}");
    }
    for bad in ["alice", "0x1234", "", "-1"] {
        let e = call("rollup_accountInfo", rpc_params![bad])
            .await
            .unwrap_err();
        assert_eq!(code_of(e).0, code::INVALID_PARAMS, "{bad:?}");
    }
    // The network: each chain's progress; the L1 facts once a driver stored them.
    storage
        .save_l1_chain(&rollup_storage::L1Chain {
            chain: 2,
            evm_chain_id: 31338,
            contract: [2; 20],
            oracles: vec![[1; 20], [2; 20], [3; 20]],
            oracle_threshold: 2,
        })
        .await
        .unwrap();
    storage
        .advance_stage(1, 2, rollup_storage::Stage::Executed)
        .await
        .unwrap();
    let net: Value = client
        .request("rollup_network", rpc_params![])
        .await
        .unwrap();
    assert_eq!(net["lastBlock"], 3);
    assert_eq!(net["mempool"], 1);
    assert_eq!(net["chains"][0]["evmChainId"], Value::Null);
    let c2 = &net["chains"][1];
    assert_eq!(
        (c2["evmChainId"].as_u64(), c2["oracleThreshold"].as_u64()),
        (Some(31338), Some(2))
    );
    assert_eq!(c2["oracles"].as_array().unwrap().len(), 3);
    assert_eq!(
        (c2["committed"].as_u64(), c2["executed"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(net["chains"][0]["committed"], 0);
    storage
        .save_tokens(&[rollup_storage::Token {
            chain: 2,
            token: 1,
            address: [7; 20],
            symbol: Some("TUSD".into()),
            decimals: 6,
        }])
        .await
        .unwrap();
    let tokens: Value = client
        .request("rollup_tokens", rpc_params![])
        .await
        .unwrap();
    let listed: Vec<(u64, u64, &str, u64)> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["chain"].as_u64().unwrap(),
                t["token"].as_u64().unwrap(),
                t["symbol"].as_str().unwrap(),
                t["decimals"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (1, 0, "ETH", 18),
            (2, 0, "ETH", 18),
            (3, 0, "ETH", 18),
            (2, 1, "TUSD", 6)
        ]
    );
    // The pages: GET serves files, nothing outside the directory; POST is JSON-RPC as before.
    let web = reqwest::Client::new();
    let page = web.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<title>explorer</title>")
    );
    let js = web
        .get(format!("http://{addr}/main.js"))
        .send()
        .await
        .unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    for missing in ["/nope.js", "/..%2fapi.db", "/.hidden"] {
        let r = web
            .get(format!("http://{addr}{missing}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{missing}");
    }

    // The blocks' commit inputs, as the senders will send them, audited by an independent
    // auditor replica: every block approved with the node's own final root and sync hash.
    let mut auditor = rollup_auditor::Auditor::genesis(&shared.network, 16).unwrap();
    for n in 1..=3u32 {
        let v: Value = client
            .request("rollup_blockInputs", rpc_params![n])
            .await
            .unwrap();
        assert_eq!(v["number"], n);
        let inputs: Vec<(ChainId, CommitBlockInfo)> = v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let data =
                    hex::decode(i["data"].as_str().unwrap().trim_start_matches("0x")).unwrap();
                (
                    ChainId(i["chain"].as_u64().unwrap() as u8),
                    CommitBlockInfo::abi_decode(&data).unwrap(),
                )
            })
            .collect();
        let audited = auditor
            .audit(&inputs, &|c, serial| {
                (c == ChainId(1) && serial == 0).then(|| dep.clone())
            })
            .unwrap();
        let stored = storage.block(n).await.unwrap().unwrap();
        assert_eq!(audited.final_root, stored.final_root);
        assert_eq!(audited.sync_hash, stored.sync_hash);
    }
    let none: Value = client
        .request("rollup_blockInputs", rpc_params![4])
        .await
        .unwrap();
    assert!(none.is_null());

    // A key change authorised on L1 (bob, account 2 since alice's transfers created it, as if a
    // contract wallet): admitted only once the chain-1 watcher stored bob's fact for exactly
    // this change, then sealed and committed with an empty signature.
    let change = ChangePubKey {
        chain: ChainId(1),
        account: AccountId(2),
        new_pubkey_hash: bob.pubkey_hash(),
        nonce: Nonce(0),
        fee_token: TokenId(0),
        fee: amount(30),
    };
    let onchain = change.clone().onchain().unwrap();
    let fact = |chain: u8, c: &ChangePubKey| {
        (
            chain,
            rollup_storage::AuthFact {
                owner: bob.address().0,
                nonce: c.nonce.0,
                fact: c.auth_fact(),
                l1_block: 20,
            },
        )
    };
    let read = |(chain, f): (u8, rollup_storage::AuthFact)| {
        let storage = storage.clone();
        async move {
            storage
                .record_batch(chain, &[], &[], &[f], "{\"next_block\":21,\"seen\":[]}")
                .await
        }
    };
    let refused = |tx: Tx| async move {
        let e = call("rollup_submitTx", rpc_params![hexed(&tx)])
            .await
            .unwrap_err();
        code_of(e)
    };
    let (c, msg) = refused(onchain.clone()).await;
    assert_eq!(c, code::NO_AUTH_FACT);
    assert!(msg.contains("no on-chain authorisation seen"), "{msg}");
    // The same fact on another chain's contract authorises nothing here.
    read(fact(2, &change)).await.unwrap();
    assert_eq!(refused(onchain.clone()).await.0, code::NO_AUTH_FACT);
    read(fact(1, &change)).await.unwrap();
    // A fact is for one change: the same nonce with another fee differs.
    let pricier = ChangePubKey {
        fee: amount(40),
        ..change.clone()
    };
    let (c, msg) = refused(pricier.clone().onchain().unwrap()).await;
    assert_eq!(c, code::NO_AUTH_FACT);
    assert!(msg.contains("differs"), "{msg}");
    // The watcher reading another fact for the same key is corruption, never an overwrite.
    assert!(read(fact(1, &pricier)).await.is_err());
    let _: String = client
        .request("rollup_submitTx", rpc_params![hexed(&onchain)])
        .await
        .unwrap();
    assert_eq!(keeper::seal(&shared, 64).await.unwrap(), Some(4));
    let b: Value = client
        .request(
            "rollup_account",
            rpc_params![format!("{}", bob.address()), 2],
        )
        .await
        .unwrap();
    assert_eq!(
        b["pubkeyHash"],
        format!("0x{}", hex::encode(bob.pubkey_hash().0)),
        "set on every chain"
    );
    let v: Value = client
        .request("rollup_blockInputs", rpc_params![4])
        .await
        .unwrap();
    let chain1 = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["chain"] == 1)
        .unwrap();
    let info = CommitBlockInfo::abi_decode(
        &hex::decode(chain1["data"].as_str().unwrap().trim_start_matches("0x")).unwrap(),
    )
    .unwrap();
    assert_eq!(info.changePubKeyAuth.len(), 1);
    assert!(
        info.changePubKeyAuth[0].is_empty(),
        "no signature: the fact"
    );
    handle.stop().unwrap();
}
