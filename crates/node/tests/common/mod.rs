//! A local devnet in-process for the node's tests: three anvil chains with the contracts (real
//! generated verifier), the node's database (SQLite), its components and three oracle instances.
#![allow(dead_code)]

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
use rollup_node::{Shared, keeper, worker};
use rollup_prover::{Keys, Network, Shape};
use rollup_state::dev::DevWallet;
use rollup_state::{NetworkConfig, NetworkState};
use rollup_storage::Storage;
use rollup_types::ChainId;
use rollup_types::tx::Tx;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CAPACITY: usize = 16;
pub const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];
pub const ETH: u128 = 1_000_000_000_000_000_000;
const ORACLES: [usize; 3] = [7, 8, 9];

pub fn signer(anvil: &AnvilInstance, i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_signing_key(anvil.keys()[i].clone().into())
}

pub fn provider(anvil: &AnvilInstance, s: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(s.clone()))
        .connect_http(anvil.endpoint_url())
        .erased()
}

pub async fn until<F, Fut>(what: &str, timeout: Duration, mut f: F)
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

pub struct Devnet {
    pub anvils: Vec<AnvilInstance>,
    pub contracts: Vec<Address>,
    pub storage: Storage,
    pub shared: Arc<Shared>,
    pub network: NetworkConfig,
    pub keys: Arc<(Keys, Keys)>,
    pub tasks: tokio::task::JoinSet<anyhow::Result<()>>,
}

impl Devnet {
    pub async fn start(name: &str) -> Devnet {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("rollup_node=info")
            .with_test_writer()
            .try_init();
        let repo = solc::repo_root();
        let keys_dir = repo.join(".data/keys");
        let keys = Arc::new((
            Keys::load_or_setup(Shape::Chain { capacity: CAPACITY }, &keys_dir, Network::Dev)
                .unwrap(),
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
        let source =
            rollup_prover::verifier::solidity_verifier(&keys.0.vk, &keys.1.vk, CHAINS.len());
        let scratch =
            std::env::temp_dir().join(format!("rollup-node-{name}-{}", std::process::id()));
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
        for id in CHAINS {
            let anvil = Anvil::at(&anvil_bin)
                .chain_id(1000 + id.0 as u64)
                .args(["--code-size-limit", "24576"])
                .spawn();
            let op = signer(&anvil, 0);
            let cfg = DeployConfig {
                chain: id,
                chains: CHAINS.to_vec(),
                governor: op.address(),
                operators: vec![op.address()],
                oracles: ORACLES
                    .iter()
                    .map(|&i| signer(&anvil, i).address())
                    .collect(),
                oracle_threshold: 2,
                priority_expiry: 3600,
                network_id: keccak256(name),
                genesis_final_root: encode::root(&final_root),
                genesis_chain_root: encode::root(&genesis.chain_mut(id).unwrap().root()),
            };
            let d = deploy(&provider(&anvil, &op), verifier.bytecode.clone(), &cfg)
                .await
                .unwrap();
            contracts.push(d.rollup);
            anvils.push(anvil);
        }
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
        let mut net = Devnet {
            anvils,
            contracts,
            storage,
            shared,
            network,
            keys,
            tasks: tokio::task::JoinSet::new(),
        };
        net.spawn_components().await;
        net
    }

    /// Starts the keeper, a prover worker, a driver per chain and three oracles.
    pub async fn spawn_components(&mut self) {
        let shared = self.shared.clone();
        self.tasks
            .spawn(keeper::run(shared.clone(), Duration::from_millis(500), 64));
        self.tasks.spawn(worker::run(
            self.storage.clone(),
            self.keys.clone(),
            "worker-1".into(),
        ));
        for (i, id) in CHAINS.iter().enumerate() {
            let op = signer(&self.anvils[i], 0);
            let driver = Driver::new(
                shared.clone(),
                *id,
                provider(&self.anvils[i], &op),
                self.contracts[i],
                op,
                WatcherConfig {
                    confirmations: 0,
                    max_range: 1000,
                },
                0,
            )
            .await
            .unwrap();
            self.tasks.spawn(driver.run(Duration::from_millis(300)));
        }
        for &k in &ORACLES {
            let chains = CHAINS
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    (
                        *id,
                        provider(&self.anvils[i], &signer(&self.anvils[i], k)),
                        self.contracts[i],
                    )
                })
                .collect();
            let oracle = Oracle::new(signer(&self.anvils[0], k), self.storage.clone(), chains, 2);
            self.tasks.spawn(oracle.run(Duration::from_millis(500)));
        }
    }

    /// The rollup contract of chain slot `i`, as anvil account `who`.
    pub fn rollup(&self, i: usize, who: usize) -> Rollup::RollupInstance<DynProvider> {
        Rollup::new(
            self.contracts[i],
            provider(&self.anvils[i], &signer(&self.anvils[i], who)),
        )
    }

    /// An L1 ETH deposit on chain slot `i` by anvil account 1.
    pub async fn deposit(&self, i: usize, to: rollup_crypto::Address, value: u128) {
        let receipt = self
            .rollup(i, 1)
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

    /// Puts an L2 transaction into the mempool.
    pub async fn submit(&self, tx: Tx) {
        assert!(
            self.storage
                .add_tx(&tx.hash().unwrap(), &tx.encode().unwrap())
                .await
                .unwrap()
        );
    }

    pub async fn balance(&self, i: usize, who: Address) -> U256 {
        ProviderBuilder::new()
            .connect_http(self.anvils[i].endpoint_url())
            .get_balance(who)
            .await
            .unwrap()
    }
}
