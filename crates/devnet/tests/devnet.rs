//! The devnet scenario end to end with real proofs on three anvil chains, the node and the three
//! oracles running as `rollup-node` processes — and the node killed with SIGKILL in the middle of
//! the scenario, then restarted from its database. Asserts the swap against the quote and the
//! constant product, the L1 wallet balance after the claim (exactly once), the L2 balances
//! (nothing lost, nothing twice), the pool reserves, that every block reached "executed" on
//! every chain (node records and contract counters), that the state recovered from the anvil
//! chains alone (through the auditor's replay) has the node's final root and balances, and that
//! the node's metrics are served.

use rollup_auditor::recover::{ChainSource, from_l1};
use rollup_devnet::{
    ALICE, CAPACITY, CAROL, CHAINS, Devnet, DevnetConfig, ScenarioOptions, account, network_config,
    provider, scenario,
};
use rollup_sdk::Client;
use rollup_types::{AccountId, ChainId, TokenId};

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
    // State recovery from the anvil chains alone (their events and commit calldata), through the
    // auditor's replay: the same final root as the node's last block, the same balances.
    let sources: Vec<ChainSource<_>> = CHAINS
        .iter()
        .zip(&net.anvils)
        .zip(&net.contracts)
        .map(|((chain, anvil), contract)| ChainSource {
            chain: *chain,
            provider: provider(anvil, &account(anvil, 0)),
            contract: *contract,
        })
        .collect();
    let started = std::time::Instant::now();
    let recovered = from_l1(&sources, &network_config(), CAPACITY, &|_, _| {})
        .await
        .unwrap();
    println!(
        "recovered {} blocks from L1 in {:.2} s",
        recovered.last_block(),
        started.elapsed().as_secs_f64()
    );
    let last = net.storage.last_block().await.unwrap();
    assert_eq!(recovered.last_block(), last);
    let stored = net.storage.block(last).await.unwrap().unwrap();
    assert_eq!(recovered.final_root(), stored.final_root);
    let balance =
        |state: &rollup_state::NetworkState, chain, who: rollup_crypto::Address, token| {
            let c = state.chain(chain).unwrap();
            let id = (0..c.account_count())
                .map(AccountId)
                .find(|a| c.account(*a).unwrap().address == who)
                .unwrap();
            c.account(id).unwrap().balance(token).get()
        };
    assert_eq!(
        balance(recovered.state(), ChainId(2), alice.address(), TokenId(1)),
        expected_out - 6_000 * TUSD
    );
    assert_eq!(
        balance(recovered.state(), ChainId(2), carol.address(), TokenId(1)),
        1_000 * TUSD
    );

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
