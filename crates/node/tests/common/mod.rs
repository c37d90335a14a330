//! A local devnet in-process for the node's tests: three anvil chains with the contracts (real
//! generated verifier), the node's database (SQLite), its components (keeper, prover worker,
//! drivers behind the auditor gate, API), three oracle instances, and the independent auditor
//! (its own database, watchers and key, serving approvals).
#![allow(dead_code)]

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use jsonrpsee::server::ServerHandle;
use rollup_auditor::service::Service;
use rollup_auditor::store::AuditStore;
use rollup_l1::bindings::Rollup;
use rollup_l1::deploy::{DeployConfig, deploy_network};
use rollup_l1::watcher::WatcherConfig;
use rollup_l1::{encode, solc};
use rollup_node::driver::Driver;
use rollup_node::gate::Gate;
use rollup_node::oracle::Oracle;
use rollup_node::{Shared, keeper, worker};
use rollup_prover::{Keys, Network, Shape};
use rollup_state::dev::DevWallet;
use rollup_state::{NetworkConfig, NetworkState};
use rollup_storage::Storage;
use rollup_types::ChainId;
use rollup_types::tx::Tx;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Chunks per chain proof: 8, for proofs of half the default's time (a 2^19 domain against
/// 2^20) in tests whose blocks are small; the default 16 runs in the prover, L1 and devnet HA
/// and workers tests.
pub const CAPACITY: usize = 8;
pub const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];
pub const ETH: u128 = 1_000_000_000_000_000_000;
const ORACLES: [usize; 3] = [7, 8, 9];
/// Seconds after a block's timestamp during which the chains accept its proofs (the tests that
/// need the window to pass move the chains' clocks).
pub const PROVE_WINDOW: u64 = 3600;
/// A window short enough to pass within a test, long enough for honest blocks to be proven.
pub const PROVE_WINDOW_SHORT: u64 = 300;

/// The one node server's leadership: the same name across restarts, so it takes its leases
/// back at once.
pub fn lead() -> rollup_node::lead::Leadership {
    rollup_node::lead::Leadership {
        holder: "node-1".into(),
        ttl: Duration::from_secs(10),
    }
}

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
    /// The auditor's database (the tests read its halts and resume it as the operator would).
    pub audit: AuditStore,
    pub auditor_key: PrivateKeySigner,
    pub auditor_url: String,
    pub network_id: B256,
    /// The node's API (what the auditor reads blocks from); the same address across restarts.
    pub api_addr: SocketAddr,
    api: Option<ServerHandle>,
    auditor: tokio::task::JoinSet<()>,
    auditor_api: ServerHandle,
}

impl Devnet {
    /// The dev wallet of `seed`, signing for this deployment.
    pub fn wallet(&self, seed: u64) -> DevWallet {
        DevWallet::new(seed).on(self.network.domain)
    }

    pub async fn start(name: &str) -> Devnet {
        Self::start_with_window(name, PROVE_WINDOW).await
    }

    /// A devnet whose contracts accept a block's proofs for `prove_window` seconds.
    pub async fn start_with_window(name: &str, prove_window: u64) -> Devnet {
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
        let source = rollup_prover::verifier::solidity_verifier(&keys.0.vk, &keys.1.vk);
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
        // The genesis roots do not depend on the domain, which exists only once the contracts'
        // addresses are known: the network gets the deployed domain below.
        let mut network = NetworkConfig {
            chains: CHAINS.to_vec(),
            fee_account: DevWallet::new(0).address(),
            domain: rollup_state::dev::TEST_DOMAIN,
        };
        let mut genesis = NetworkState::genesis(&network).unwrap();
        let final_root = genesis.final_root();
        let anvil_bin = repo.join("node_modules/.bin/anvil");
        // TEST ONLY: the auditor's key, random per run; every contract needs its approval of
        // each commit.
        let auditor_key = PrivateKeySigner::random();
        let mut anvils = Vec::new();
        let mut targets = Vec::new();
        for id in CHAINS {
            let anvil = Anvil::at(&anvil_bin)
                .chain_id(1000 + id.0 as u64)
                .args(["--code-size-limit", "24576"])
                .spawn();
            let op = signer(&anvil, 0);
            targets.push(DeployConfig {
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
                auditor: auditor_key.address(),
                prove_window,
                genesis_final_root: encode::root(&final_root),
                genesis_chain_root: encode::root(&genesis.chain_mut(id).unwrap().root()),
                proof_chunks: CAPACITY as u16,
            });
            anvils.push(anvil);
        }
        let providers: Vec<DynProvider> =
            anvils.iter().map(|a| provider(a, &signer(a, 0))).collect();
        let targets: Vec<_> = providers.iter().zip(targets).collect();
        let deployments = deploy_network(&targets, verifier.bytecode.clone())
            .await
            .unwrap();
        let contracts: Vec<Address> = deployments.iter().map(|d| d.rollup).collect();
        network.domain = deployments[0].domain;
        let db = scratch.join("node.db");
        let _ = std::fs::remove_file(&db);
        let storage = Storage::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let shared = Arc::new(restore(&storage, &network).await);
        let (api_addr, api) = rollup_node::api::serve(
            shared.clone(),
            Default::default(),
            "127.0.0.1:0".parse().unwrap(),
            None,
        )
        .await
        .unwrap();
        // The auditor: its own database, key and watchers; it reads blocks from the node's API.
        let audit_db = scratch.join("auditor.db");
        let _ = std::fs::remove_file(&audit_db);
        let audit = AuditStore::open(&format!("sqlite://{}", audit_db.display()))
            .await
            .unwrap();
        let network_id = keccak256(name);
        let (auditor_addr, auditor_api) = rollup_auditor::api::serve(
            audit.clone(),
            auditor_key.address(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let service = Service::new(
            audit.restore(&network, CAPACITY).await.unwrap(),
            audit.clone(),
            &format!("http://{api_addr}"),
            auditor_key.clone(),
            network_id,
            CHAINS
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    (
                        *id,
                        provider(&anvils[i], &signer(&anvils[i], 5)),
                        contracts[i],
                    )
                })
                .collect(),
            WatcherConfig {
                confirmations: 0,
                max_range: 1000,
            },
        )
        .unwrap();
        let mut auditor = tokio::task::JoinSet::new();
        auditor.spawn(service.run(Duration::from_millis(300)));
        let mut net = Devnet {
            anvils,
            contracts,
            storage,
            shared,
            network,
            keys,
            tasks: tokio::task::JoinSet::new(),
            audit,
            auditor_key,
            auditor_url: format!("http://{auditor_addr}"),
            network_id,
            api_addr,
            api: Some(api),
            auditor,
            auditor_api,
        };
        net.spawn_components().await;
        net
    }

    /// Stops the node's components and API (the auditor and the oracles' chains stay).
    pub async fn stop_node(&mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        if let Some(api) = self.api.take() {
            api.stop().unwrap();
            api.stopped().await;
        }
    }

    /// Starts the node again from its database, its API on the same address.
    pub async fn start_node(&mut self) {
        self.restore_node().await;
        self.spawn_components().await;
    }

    /// Restores the node's state from its database and serves its API on the same address; the
    /// components are started by [`Devnet::spawn_components`].
    pub async fn restore_node(&mut self) {
        self.shared = Arc::new(restore(&self.storage, &self.network).await);
        let (_, api) =
            rollup_node::api::serve(self.shared.clone(), Default::default(), self.api_addr, None)
                .await
                .unwrap();
        self.api = Some(api);
    }

    /// The operator's discard of blocks from `from` on (the node stopped), with every chain's
    /// committed count read from L1.
    pub async fn discard(&self, from: u32) -> keeper::Discarded {
        let mut committed = Vec::new();
        for (i, id) in CHAINS.iter().enumerate() {
            committed.push((
                *id,
                self.rollup(i, 3)
                    .totalBlocksCommitted()
                    .call()
                    .await
                    .unwrap(),
            ));
        }
        keeper::discard(&self.storage, &self.network, CAPACITY, from, &committed)
            .await
            .unwrap()
    }

    /// Starts the keeper, a prover worker, a driver per chain and three oracles.
    pub async fn spawn_components(&mut self) {
        self.spawn_components_as(lead()).await
    }

    /// [`Devnet::spawn_components`] as the node server `lead` names.
    pub async fn spawn_components_as(&mut self, lead: rollup_node::lead::Leadership) {
        let shared = self.shared.clone();
        let gate = Arc::new(
            Gate::new(
                &self.auditor_url,
                self.auditor_key.address(),
                self.network_id,
            )
            .unwrap(),
        );
        self.tasks
            .spawn(gate.clone().run(shared.clone(), Duration::from_millis(300)));
        self.tasks.spawn(keeper::run(
            shared.clone(),
            Duration::from_millis(500),
            64,
            lead.clone(),
        ));
        self.tasks.spawn(worker::run(
            self.storage.clone(),
            self.keys.clone(),
            "worker-1".into(),
            worker::LEASE,
        ));
        for (i, id) in CHAINS.iter().enumerate() {
            let op = signer(&self.anvils[i], 0);
            let driver = Driver::new(
                shared.clone(),
                gate.clone(),
                *id,
                provider(&self.anvils[i], &op),
                self.contracts[i],
                op,
                WatcherConfig {
                    confirmations: 0,
                    max_range: 1000,
                },
                0,
                lead.clone(),
            )
            .await
            .unwrap();
            self.tasks.spawn(driver.run(Duration::from_millis(300)));
        }
        self.spawn_oracles().await;
    }

    /// Starts three oracles (they also run with the node stopped).
    pub async fn spawn_oracles(&mut self) {
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

/// The node's state restored from `storage`, its keeper snapshotting every 2 blocks (so the
/// tests' restarts start from a snapshot and the drivers send blocks the process never held).
pub async fn restore(storage: &Storage, network: &NetworkConfig) -> rollup_node::Shared {
    let mut shared = keeper::restore(storage.clone(), network.clone(), CAPACITY)
        .await
        .unwrap();
    shared.snapshot_every = 2;
    shared
}
