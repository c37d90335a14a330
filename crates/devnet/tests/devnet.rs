//! The devnet scenario end to end with real proofs on three anvil chains, the node and the three
//! oracles running as `rollup-node` processes — and the node killed with SIGKILL in the middle of
//! the scenario, then restarted from its database. Asserts the swap against the quote and the
//! constant product, the L1 wallet balance after the claim (exactly once), the L2 balances
//! (nothing lost, nothing twice), the pool reserves, that every block reached "executed" on
//! every chain (node records and contract counters), and that the node's metrics are served.

use rollup_devnet::{ALICE, CAROL, Devnet, DevnetConfig, ScenarioOptions, scenario};
use rollup_sdk::Client;
use rollup_types::{ChainId, TokenId};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devnet_scenario_survives_a_node_sigkill_and_executes_everywhere() {
    let repo = rollup_l1::solc::repo_root();
    let dir = std::env::temp_dir().join(format!("rollup-devnet-{}", std::process::id()));
    let mut net = Devnet::start(
        &DevnetConfig {
            data_dir: dir.clone(),
            keys_dir: repo.join(".data/keys"),
            api_addr: "127.0.0.1:0".parse().unwrap(),
            metrics_addr: "127.0.0.1:0".parse().unwrap(),
        },
        &|s| println!("{s}"),
    )
    .await
    .unwrap();
    let report = scenario(&mut net, ScenarioOptions { crash_node: true }, &|s| {
        println!("{s}")
    })
    .await
    .unwrap();
    println!("{report:?}");
    const ETH: u128 = 1_000_000_000_000_000_000;
    const TUSD: u128 = 1_000_000;
    // The swap paid what the constant product with the 0.3% fee gives, within the min-out.
    let a_in = ETH / 10 * 9_970;
    let expected_out = 400_000 * TUSD * a_in / (5 * ETH * 10_000 + a_in);
    assert_eq!(report.swap_out, expected_out);
    assert_eq!(report.quoted, expected_out);
    assert_eq!(
        report.reserves,
        (5 * ETH + ETH / 10, 400_000 * TUSD - expected_out)
    );
    assert_eq!(report.claimed, 5_000 * TUSD);
    assert!(net.all_executed().await.unwrap());
    let client = Client::new(&format!("http://{}", net.api)).unwrap();
    let alice = net.wallet(ALICE).unwrap();
    let carol = net.wallet(CAROL).unwrap();
    let a2 = client
        .account(alice.address(), ChainId(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a2.balance(TokenId(1)), expected_out - 6_000 * TUSD);
    let c2 = client
        .account(carol.address(), ChainId(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.balance(TokenId(1)), 1_000 * TUSD);
    let a1 = client
        .account(alice.address(), ChainId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a1.balance(TokenId(0)), 10 * ETH - 5 * ETH - ETH / 10);
    // Prometheus metrics of the (restarted) node.
    let metrics = reqwest::get(format!("http://{}/metrics", net.metrics))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("rollup_chain_blocks"), "{metrics}");
    assert!(metrics.contains("rollup_l1_txs_sent_total"), "{metrics}");
    drop(net);
    let _ = std::fs::remove_dir_all(dir);
}
