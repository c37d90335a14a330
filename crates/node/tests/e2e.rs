//! The node end to end on three anvil chains with real proofs: L1 deposits are picked up by the
//! watchers, L2 transactions go through the mempool, the state keeper seals blocks, a prover
//! worker proves them, each chain's driver commits, proves and executes them, and three oracle
//! instances (threshold 2) sync them; a withdrawal is claimed to an L1 wallet.

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rollup_l1::bindings::Rollup;
use rollup_l1::deploy::{DeployConfig, deploy};
use rollup_l1::watcher::WatcherConfig;
use rollup_l1::{encode, solc};
use rollup_node::driver::Driver;
use rollup_node::oracle::Oracle;
use rollup_node::{keeper, worker};
use rollup_prover::{Keys, Network, Shape};
use rollup_state::dev::{DevWallet, amount};
use rollup_state::{NetworkConfig, NetworkState};
use rollup_storage::{Stage, Storage};
use rollup_types::tx::*;
use rollup_types::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CAPACITY: usize = 16;
const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];
const ETH: u128 = 1_000_000_000_000_000_000;

fn signer(anvil: &AnvilInstance, i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_signing_key(anvil.keys()[i].clone().into())
}

fn provider(anvil: &AnvilInstance, s: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(s.clone()))
        .connect_http(anvil.endpoint_url())
        .erased()
}

async fn until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deposits_transfers_and_a_withdrawal_through_all_four_stages() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter("rollup_node=info")
        .with_test_writer()
        .try_init();
    let repo = solc::repo_root();
    let keys_dir = repo.join(".data/keys");
    let keys = Arc::new((
        Keys::load_or_setup(Shape::Chain { capacity: CAPACITY }, &keys_dir, Network::Dev).unwrap(),
        Keys::load_or_setup(
            Shape::Binding {
                chains: CHAINS.to_vec(),
                links: CAPACITY,
            },
            &keys_dir,
            Network::Dev,
        )
        .unwrap(),
    ));
    let source = rollup_prover::verifier::solidity_verifier(&keys.0.vk, &keys.1.vk, CHAINS.len());
    let scratch = std::env::temp_dir().join(format!("rollup-node-e2e-{}", std::process::id()));
    let verifier = solc::compile_source(
        &repo,
        &scratch,
        "BlockVerifier.sol",
        &source,
        "BlockVerifier",
    )
    .unwrap();
    let network = NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: DevWallet::new(0).address(),
    };
    let mut genesis = NetworkState::genesis(&network).unwrap();
    let final_root = genesis.final_root();
    let anvil_bin = repo.join("node_modules/.bin/anvil");
    let mut anvils = Vec::new();
    let mut contracts = Vec::new();
    let oracle_index = [7usize, 8, 9];
    for id in CHAINS {
        let anvil = Anvil::at(&anvil_bin)
            .chain_id(1000 + id.0 as u64)
            .args(["--code-size-limit", "24576"])
            .spawn();
        let op = signer(&anvil, 0);
        let p = provider(&anvil, &op);
        let cfg = DeployConfig {
            chain: id,
            chains: CHAINS.to_vec(),
            governor: op.address(),
            operators: vec![op.address()],
            oracles: oracle_index
                .iter()
                .map(|&i| signer(&anvil, i).address())
                .collect(),
            oracle_threshold: 2,
            priority_expiry: 3600,
            network_id: keccak256("node e2e"),
            genesis_final_root: encode::root(&final_root),
            genesis_chain_root: encode::root(&genesis.chain_mut(id).unwrap().root()),
        };
        let d = deploy(&p, verifier.bytecode.clone(), &cfg).await.unwrap();
        contracts.push(d.rollup);
        anvils.push(anvil);
    }

    // The node: storage, restored state, and every component.
    let db = scratch.join("node.db");
    let _ = std::fs::remove_file(&db);
    let storage = Storage::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let shared = Arc::new(
        keeper::restore(storage.clone(), network.clone(), CAPACITY)
            .await
            .unwrap(),
    );
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(keeper::run(shared.clone(), Duration::from_millis(500), 64));
    tasks.spawn(worker::run(
        storage.clone(),
        keys.clone(),
        "worker-1".into(),
    ));
    for (i, id) in CHAINS.iter().enumerate() {
        let op = signer(&anvils[i], 0);
        let driver = Driver::new(
            shared.clone(),
            *id,
            provider(&anvils[i], &op),
            contracts[i],
            op,
            WatcherConfig {
                confirmations: 0,
                max_range: 1000,
            },
            0,
        )
        .await
        .unwrap();
        tasks.spawn(driver.run(Duration::from_millis(300)));
    }
    for &k in &oracle_index {
        let chains = CHAINS
            .iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    *id,
                    provider(&anvils[i], &signer(&anvils[i], k)),
                    contracts[i],
                )
            })
            .collect();
        let oracle = Oracle::new(signer(&anvils[0], k), storage.clone(), chains, 2);
        tasks.spawn(oracle.run(Duration::from_millis(500)));
    }

    // Deposits on chains 1 and 2 (L1 transactions by anvil account 1 for alice and bob).
    let alice = DevWallet::new(1);
    let bob = DevWallet::new(2);
    for (i, to, value) in [(0usize, alice.address(), ETH), (1, bob.address(), ETH / 2)] {
        let user = signer(&anvils[i], 1);
        let r = Rollup::new(contracts[i], provider(&anvils[i], &user));
        let receipt = r
            .depositETH(Address::from(to.0))
            .value(U256::from(value))
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(receipt.status());
    }
    until("both deposits on L2", Duration::from_secs(60), || async {
        let s = shared.state.lock().await;
        s.chain(ChainId(2))
            .and_then(|c| c.account(AccountId(2)))
            .is_some_and(|a| !a.balance(TokenId(0)).is_zero())
    })
    .await;

    // L2: alice sets her key, pays bob on chain 1 and withdraws to a fresh L1 address.
    let submit = |tx: Tx| {
        let storage = storage.clone();
        async move {
            assert!(
                storage
                    .add_tx(&tx.hash().unwrap(), &tx.encode().unwrap())
                    .await
                    .unwrap()
            );
        }
    };
    submit(alice.change_pubkey(ChainId(1), AccountId(1), 0, 0, 0)).await;
    until("alice's key", Duration::from_secs(60), || async {
        let s = shared.state.lock().await;
        s.chain(ChainId(1))
            .and_then(|c| c.account(AccountId(1)))
            .is_some_and(|a| a.pubkey_hash != rollup_crypto::PubKeyHash([0; 20]))
    })
    .await;
    let w = Address::repeat_byte(0x42);
    submit(alice.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(1),
        to: bob.address(),
        token: TokenId(0),
        amount: amount(ETH / 10),
        fee: amount(1000),
        nonce: Nonce(1),
    })))
    .await;
    submit(alice.sign(L2Tx::Withdraw(Withdraw {
        chain: ChainId(1),
        account: AccountId(1),
        to: rollup_crypto::Address(w.0.0),
        token: TokenId(0),
        amount: amount(ETH / 4),
        fee: amount(1000),
        nonce: Nonce(2),
    })))
    .await;

    // Everything executes everywhere; the withdrawal becomes claimable on chain 1.
    let c1 = Rollup::new(contracts[0], provider(&anvils[0], &signer(&anvils[0], 3)));
    until(
        "the withdrawal to be claimable",
        Duration::from_secs(600),
        || async {
            assert!(!tasks.is_empty());
            c1.pendingBalance(w, 0).call().await.unwrap() == ETH / 4
        },
    )
    .await;
    let last = storage.last_block().await.unwrap();
    assert!(last >= 3);
    until(
        "every block executed on every chain",
        Duration::from_secs(600),
        || async {
            for n in 1..=last {
                let stages = storage.stages(n).await.unwrap();
                if stages.len() != 3 || stages.iter().any(|(_, s)| *s != Stage::Executed) {
                    return false;
                }
            }
            true
        },
    )
    .await;
    let receipt = c1
        .withdrawPendingBalance(w, 0, ETH / 4)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    let p = anvils[0].endpoint_url();
    let balance = ProviderBuilder::new()
        .connect_http(p)
        .get_balance(w)
        .await
        .unwrap();
    assert_eq!(balance, U256::from(ETH / 4));
    {
        let s = shared.state.lock().await;
        let bob_l2 = s.chain(ChainId(1)).unwrap().account(AccountId(2)).unwrap();
        assert_eq!(bob_l2.balance(TokenId(0)).get(), ETH / 10);
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}

    // A restart restores the same state from the database alone (replay checked against the
    // stored roots), and the drivers pick up where the chains are.
    let before = shared.state.lock().await.clone().final_root();
    let restored = keeper::restore(storage.clone(), network.clone(), CAPACITY)
        .await
        .unwrap();
    assert_eq!(restored.state.lock().await.clone().final_root(), before);
    assert_eq!(restored.blocks.lock().await.len() as u32, last);
}
