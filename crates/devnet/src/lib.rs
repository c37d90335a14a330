//! A local network: three anvil chains (npm `@foundry-rs/anvil-linux-amd64`) with the rollup
//! contracts (the block verifier generated from the development keys) and a test ERC-20 on
//! chain 2, then the operator node and three oracles as separate processes of the real
//! `rollup-node` binary — the node (state keeper, prover worker, a driver per chain, the API,
//! Prometheus metrics) over an SQLite database, each oracle (threshold 2) with its own key, the
//! independent auditor as a process of the real `rollup-auditor` binary (its own database and
//! key; the node commits only what it approves) — and [`scenario`], a scripted session through the SDK: deposits, key changes, a cross-chain pool
//! with one-coin liquidity on both sides, a cross-chain swap, a transfer, and a withdrawal
//! claimed on chain 2.
//!
//! With [`DevnetConfig::ha`] the operator is highly available instead ([`ha`]): PostgreSQL as a
//! primary and a synchronous hot standby, two node servers (keeper, prover, chain drivers; one
//! leads by lease), three API replicas, and HAProxy in front of the database and the replicas.
//!
//! INSECURE by design: development proving keys, anvil's public dev accounts.

pub mod ha;

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use rollup_auditor::config::{AuditorChain, AuditorConfig};
use rollup_l1::bindings::{Rollup, TestToken};
use rollup_l1::deploy::{DeployConfig, deploy_network};
use rollup_l1::{encode, solc};
use rollup_node::config::{ChainConfig, NodeConfig};
use rollup_prover::{Keys, Network, Shape};
use rollup_sdk::{Client, Wallet};
use rollup_state::{NetworkConfig, NetworkState};
use rollup_storage::{Stage, Storage};
use rollup_types::tx::*;
use rollup_types::*;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Chain-circuit capacity of the devnet by default (`DevnetConfig::capacity`): chunks per chain
/// proof.
pub const CAPACITY: usize = 16;
/// Most sub-blocks (chain proofs) per chain in a devnet block.
pub const SUB_BLOCKS: usize = 8;
/// The devnet's chains.
pub const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];
const OPERATOR: usize = 0;
const ORACLES: [usize; 3] = [7, 8, 9];
/// DEV ONLY: the auditor signs with anvil's public account 6.
const AUDITOR: usize = 6;
/// Seconds the chains accept a block's proofs after its timestamp (then the oracles may abandon a
/// block some chain never proved; `rollup-node revert`).
const PROVE_WINDOW: u64 = 3600;
/// Anvil accounts of the scenario's users.
pub const ALICE: usize = 1;
/// Bob.
pub const BOB: usize = 2;
/// Carol.
pub const CAROL: usize = 3;

/// DEV ONLY: the fee account (account 0) is anvil's public account 5, so that the devnet's
/// operator can withdraw the fees it collects (`rollup-wallet sweep` with that key).
pub const FEE_ACCOUNT: usize = 5;
/// Anvil's account 5 (its default mnemonic's), the same on every devnet chain.
const FEE_ACCOUNT_ADDRESS: [u8; 20] = [
    0x99, 0x65, 0x50, 0x7d, 0x1a, 0x55, 0xbc, 0xc2, 0x69, 0x5c, 0x58, 0xba, 0x16, 0xfb, 0x37, 0xd8,
    0x19, 0xb0, 0xa4, 0xdc,
];

/// The devnet's network under the deployment `domain`: its chains, and the fee account
/// (account 0).
pub fn network_config(domain: Domain) -> NetworkConfig {
    NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: rollup_crypto::Address(FEE_ACCOUNT_ADDRESS),
        domain,
    }
}

/// The devnet's fee policy: L1 gas at each anvil's gas price, ETH at 3000 and TUSD (chain 2's
/// token 1) at 1 of a reference unit (fixed prices: DEV ONLY, a production node reads a feed).
pub fn fee_config() -> rollup_node::fees::FeeConfig {
    let price = |chain: u8, token: u16, price: &str| rollup_node::fees::PriceRule {
        chain,
        token,
        price: price.into(),
    };
    rollup_node::fees::FeeConfig {
        block_gas: 510_000,
        proof_gas: 81_000,
        chunk_gas: 4_000,
        expected_chunks: None,
        withdraw_gas: 30_000,
        margin_percent: 0,
        prices: vec![
            price(1, 0, "3000"),
            price(2, 0, "3000"),
            price(3, 0, "3000"),
            price(2, 1, "1"),
        ],
    }
}

/// Where the devnet keeps its files and listens.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Database, configuration, logs and scratch files (recreated at start).
    pub data_dir: PathBuf,
    /// Proving-key cache (kept across runs; safe to delete).
    pub keys_dir: PathBuf,
    /// API address (port 0 picks a free port).
    pub api_addr: SocketAddr,
    /// Prometheus address of the node (port 0 picks a free port).
    pub metrics_addr: SocketAddr,
    /// The auditor's API address (port 0 picks a free port).
    pub auditor_addr: SocketAddr,
    /// The highly available operator ([`ha`]) instead of one node on SQLite.
    pub ha: bool,
    /// Prover workers as processes of their own (`rollup-node run --components prover`,
    /// `worker-1`…) on the node's database; 0: every node server proves in-process.
    pub workers: usize,
    /// Chunks per chain proof ([`CAPACITY`] by default; its own keys, set up on first use). A
    /// block holds up to [`SUB_BLOCKS`] chain proofs per chain.
    pub capacity: usize,
}

impl DevnetConfig {
    /// A devnet in `data_dir` with keys from `keys_dir`, every address on a free port (tests,
    /// the load generator).
    pub fn on_free_ports(data_dir: PathBuf, keys_dir: PathBuf, ha: bool) -> DevnetConfig {
        let any: SocketAddr = ([127, 0, 0, 1], 0).into();
        DevnetConfig {
            data_dir,
            keys_dir,
            api_addr: any,
            metrics_addr: any,
            auditor_addr: any,
            ha,
            workers: 0,
            capacity: CAPACITY,
        }
    }
}

/// One `rollup-node run` process of the operator.
struct Server {
    /// Its name: its node id (lease holder) and log file.
    name: String,
    /// Its `--components`.
    components: String,
    /// What sets it apart from the others sharing the configuration file.
    env: Vec<(&'static str, String)>,
    child: Option<Child>,
}

/// The HA parts the devnet runs beside the node servers.
pub struct HaParts {
    /// The database servers.
    pub pg: ha::PgPair,
    /// What HAProxy balances.
    pub balance: ha::Balance,
    _haproxy: ha::Haproxy,
}

/// The names of the HA devnet's node servers (keeper, prover, chain drivers).
pub const HA_NODES: [&str; 2] = ["node-a", "node-b"];
/// The names of the HA devnet's API replicas.
pub const HA_APIS: [&str; 3] = ["api-1", "api-2", "api-3"];

/// A running devnet. Dropping it stops the processes and the chains.
pub struct Devnet {
    /// The anvil chains, by slot (chain id = slot + 1).
    pub anvils: Vec<AnvilInstance>,
    /// Each chain's rollup contract.
    pub contracts: Vec<Address>,
    /// The deployment domain every signature is bound to (as the contracts derived it).
    pub domain: Domain,
    /// The test ERC-20 on chain 2 (token id 1 there).
    pub token: Address,
    /// A read connection to the node's database (the devnet observes, the node writes).
    pub storage: Storage,
    /// The API's address.
    pub api: SocketAddr,
    /// The node's Prometheus endpoint.
    pub metrics: SocketAddr,
    /// The node's configuration file (the oracles read it too).
    pub config_path: PathBuf,
    /// The auditor's API.
    pub auditor_api: SocketAddr,
    /// The auditor's configuration file.
    pub auditor_config: PathBuf,
    /// Chunks per chain proof.
    pub capacity: usize,
    data_dir: PathBuf,
    bin: PathBuf,
    auditor_bin: PathBuf,
    operator_key: String,
    servers: Vec<Server>,
    oracles: Vec<Child>,
    auditor: Option<Child>,
    /// The database and the balancer of the HA mode (dropped last: after the processes).
    pub ha: Option<HaParts>,
}

/// Anvil account `i` of a chain.
pub fn account(anvil: &AnvilInstance, i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_signing_key(anvil.keys()[i].clone().into())
}

/// A provider signing as `s`.
pub fn provider(anvil: &AnvilInstance, s: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(s.clone()))
        .connect_http(anvil.endpoint_url())
        .erased()
}

/// The 32-byte key of anvil account `i` (the same on every devnet chain).
pub fn key(anvil: &AnvilInstance, i: usize) -> [u8; 32] {
    anvil.keys()[i].to_bytes().into()
}

/// A workspace binary (`rollup-node`, `rollup-auditor`): the path in `env`, else next to this
/// executable (or one directory up, for test executables under `deps/`).
pub fn binary(name: &str, env: &str) -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Ok(p.into());
    }
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "the {name} binary is not next to {}: build it with \
                 `cargo build --release -p {name}` (or set {env})",
                exe.display()
            )
        })
}

/// Builds the explorer's pages (`npm run build:explorer`: type check, bundle) into
/// `explorer/dist`, which the node's API serves; returns that directory.
pub fn build_explorer() -> anyhow::Result<PathBuf> {
    let repo = rollup_l1::solc::repo_root();
    anyhow::ensure!(
        repo.join("node_modules/.bin/esbuild").exists(),
        "the explorer's build tools are missing: run `npm ci` in {}",
        repo.display()
    );
    let out = std::process::Command::new("npm")
        .args(["run", "--silent", "build:explorer"])
        .current_dir(&repo)
        .output()
        .context("running npm")?;
    anyhow::ensure!(
        out.status.success(),
        "npm run build:explorer failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(repo.join("explorer/dist"))
}

/// `addr`, or a free port on its host when its port is 0 (the processes need a concrete one).
fn concrete(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    Ok(std::net::TcpListener::bind(addr)?.local_addr()?)
}

/// Spawns `bin args` with `envs`, its output appended to `log`; killed when dropped.
fn spawn(bin: &Path, args: &[&str], envs: &[(&str, &str)], log: &Path) -> anyhow::Result<Child> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or("info".into()),
        )
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn()
        .with_context(|| format!("starting {}", bin.display()))
}

/// The last lines of a log, for error messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl Devnet {
    /// Starts everything; `progress` gets one line per step.
    pub async fn start(cfg: &DevnetConfig, progress: &dyn Fn(&str)) -> anyhow::Result<Devnet> {
        let repo = solc::repo_root();
        let bin = binary("rollup-node", "ROLLUP_NODE_BIN")?;
        let auditor_bin = binary("rollup-auditor", "ROLLUP_AUDITOR_BIN")?;
        let capacity = cfg.capacity;
        anyhow::ensure!(
            rollup_types::op::PROOF_CHUNKS.contains(&capacity),
            "a devnet capacity of {capacity} chunks: chain proofs cover {:?}",
            rollup_types::op::PROOF_CHUNKS
        );
        progress("loading the development proving keys (first run: a setup of about a minute)");
        let mut chains = CHAINS.to_vec();
        chains.sort();
        let keys = (
            Keys::load_or_setup(Shape::Chain { capacity }, &cfg.keys_dir, Network::Dev)?,
            Keys::load_or_setup(
                Shape::Binding {
                    chains: chains.clone(),
                    links: capacity,
                },
                &cfg.keys_dir,
                Network::Dev,
            )?,
        );
        let _ = std::fs::remove_dir_all(&cfg.data_dir);
        std::fs::create_dir_all(&cfg.data_dir)?;
        let data_dir = std::fs::canonicalize(&cfg.data_dir)?;
        progress("compiling the block verifier generated from the keys (solcjs)");
        let source = rollup_prover::verifier::solidity_verifier(&keys.0.vk, &keys.1.vk);
        drop(keys);
        let verifier = solc::compile_source(
            &repo,
            &data_dir.join("verifier"),
            "BlockVerifier.sol",
            &source,
            "BlockVerifier",
        )?;
        // The genesis state does not depend on the domain (only signatures do), and the domain
        // exists only once the contracts' addresses are known.
        let network = network_config(rollup_state::dev::TEST_DOMAIN);
        let fee_account = network.fee_account;
        let mut genesis = NetworkState::genesis(&network)?;
        let final_root = genesis.final_root();
        let anvil_bin = repo.join("node_modules/.bin/anvil");
        anyhow::ensure!(anvil_bin.exists(), "anvil missing: run `npm ci`");
        let mut anvils = Vec::new();
        let network_id = keccak256("rollup devnet");
        for id in CHAINS {
            anvils.push(
                Anvil::at(&anvil_bin)
                    .chain_id(31_336 + id.0 as u64)
                    .args(["--code-size-limit", "24576"])
                    .try_spawn()
                    .context("starting anvil")?,
            );
        }
        let providers: Vec<DynProvider> = anvils
            .iter()
            .map(|a| provider(a, &account(a, OPERATOR)))
            .collect();
        let mut targets = Vec::new();
        for (id, (anvil, p)) in CHAINS.iter().zip(anvils.iter().zip(&providers)) {
            let op = account(anvil, OPERATOR);
            targets.push((
                p,
                DeployConfig {
                    chain: *id,
                    chains: chains.clone(),
                    governor: op.address(),
                    operators: vec![op.address()],
                    oracles: ORACLES
                        .iter()
                        .map(|&i| account(anvil, i).address())
                        .collect(),
                    oracle_threshold: 2,
                    priority_expiry: 24 * 3600,
                    network_id,
                    // Every commit needs the auditor's signature: the key the auditor process
                    // signs with (anvil's accounts are the same on every chain).
                    auditor: account(anvil, AUDITOR).address(),
                    prove_window: PROVE_WINDOW,
                    genesis_final_root: encode::root(&final_root),
                    genesis_chain_root: encode::root(
                        &genesis.chain_mut(*id).context("chain")?.root(),
                    ),
                    proof_chunks: capacity as u16,
                },
            ));
        }
        let deployments = deploy_network(&targets, verifier.bytecode.clone()).await?;
        let domain = deployments[0].domain;
        let mut contracts = Vec::new();
        for ((id, anvil), d) in CHAINS.iter().zip(&anvils).zip(&deployments) {
            progress(&format!(
                "chain {id}: anvil at {} (EVM chain id {}), rollup contract {}",
                anvil.endpoint(),
                31_336 + id.0 as u64,
                d.rollup
            ));
            contracts.push(d.rollup);
        }
        progress(&format!("deployment domain {domain}"));
        // A 6-decimals test token on chain 2, registered as token 1 there.
        let op2 = provider(&anvils[1], &account(&anvils[1], OPERATOR));
        let token = *TestToken::deploy(op2.clone(), "Test USD".into(), "TUSD".into(), 6, 0)
            .await?
            .address();
        Rollup::new(contracts[1], op2)
            .addToken(token)
            .send()
            .await?
            .get_receipt()
            .await?;
        progress(&format!("chain 2: test token TUSD at {token} (token id 1)"));

        let api = concrete(cfg.api_addr)?;
        let metrics = concrete(cfg.metrics_addr)?;
        let auditor_api = concrete(cfg.auditor_addr)?;
        let auditor_key = account(&anvils[0], AUDITOR);
        // HA: the database behind HAProxy (the primary, or the standby once it is promoted),
        // the API replicas behind it too; `api` is the balancer's frontend.
        let ha_parts = if cfg.ha {
            let pg = ha::PgPair::start(&data_dir.join("pg"))?;
            let balance = ha::Balance {
                pg: concrete("127.0.0.1:0".parse()?)?,
                pg_servers: (pg.primary.port, pg.standby.port),
                api,
                apis: HA_APIS
                    .iter()
                    .map(|_| concrete("127.0.0.1:0".parse()?))
                    .collect::<anyhow::Result<_>>()?,
                stats: concrete("127.0.0.1:0".parse()?)?,
            };
            let haproxy = ha::Haproxy::start(&data_dir, &balance)?;
            progress(&format!(
                "PostgreSQL: primary on port {}, synchronous hot standby on port {} (streaming); HAProxy: database at {}, API at http://{api} over {} replicas, statistics at http://{}/stats",
                pg.primary.port,
                pg.standby.port,
                balance.pg,
                balance.apis.len(),
                balance.stats
            ));
            Some(HaParts {
                pg,
                balance,
                _haproxy: haproxy,
            })
        } else {
            None
        };
        let db = match &ha_parts {
            Some(h) => format!("postgres://postgres@{}/postgres", h.balance.pg),
            None => format!("sqlite://{}", data_dir.join("node.db").display()),
        };
        let config = NodeConfig {
            database_url: db.clone(),
            keys_dir: std::fs::canonicalize(&cfg.keys_dir)?,
            capacity,
            sub_blocks: SUB_BLOCKS,
            batch: Default::default(),
            // Often, so the scenario's restarts (SIGKILL, a recovered database) start from
            // the keeper's snapshots.
            snapshot_interval: 4,
            // HA: fewer, fuller blocks (the chaos test's load would otherwise make dozens of
            // blocks to prove on 2 cores); the keeper renews its lease more often than it seals.
            seal_interval_ms: if cfg.ha { 12_000 } else { 1500 },
            // A full block of one-chunk transfers on every chain: its largest size.
            max_txs: capacity * SUB_BLOCKS * CHAINS.len(),
            // The load generator pipelines hundreds of transfers from one sender (as fast as
            // the API admits them): a wide window and share keep its figures comparable. Every
            // other limit is the default (docs/CONFIG.md), which production should keep.
            mempool: rollup_node::mempool::MempoolConfig {
                per_account: 1024,
                nonce_window: 1024,
                ..Default::default()
            },
            fee_account: format!("0x{}", hex::encode(fee_account.0)),
            chains: CHAINS
                .iter()
                .zip(&anvils)
                .zip(&contracts)
                .map(|((id, anvil), contract)| ChainConfig {
                    id: id.0,
                    rpc_url: anvil.endpoint(),
                    contract: contract.to_string(),
                    start_block: 0,
                    confirmations: 0,
                })
                .collect(),
            operator_key: None,
            poll_ms: 300,
            api_addr: api.to_string(),
            metrics_addr: metrics.to_string(),
            fees: Some(fee_config()),
            auditor_url: Some(format!("http://{auditor_api}")),
            auditor_address: Some(auditor_key.address().to_string()),
            explorer_dir: Some(build_explorer()?),
            // One node server: the same name across its restarts (--crash-node), so it takes
            // its keeper lease back at once instead of waiting for it to expire. HA servers
            // are named by ROLLUP_NODE_ID; their leases are short, so failover is quick.
            node_id: Some("devnet-node".into()),
            lease_ms: if cfg.ha { 4_000 } else { 10_000 },
            // A killed worker's (or node's) job is proven again 20 s after its last renewal.
            job_lease_ms: 20_000,
        };
        let auditor_config = AuditorConfig {
            database_url: format!("sqlite://{}", data_dir.join("auditor.db").display()),
            node_url: format!("http://{api}"),
            api_addr: auditor_api.to_string(),
            network_id: network_id.to_string(),
            capacity,
            fee_account: config.fee_account.clone(),
            poll_ms: 300,
            chains: config
                .chains
                .iter()
                .map(|c| AuditorChain {
                    id: c.id,
                    rpc_url: c.rpc_url.clone(),
                    contract: c.contract.clone(),
                    confirmations: 0,
                })
                .collect(),
        };
        let auditor_config_path = data_dir.join("auditor.toml");
        std::fs::write(
            &auditor_config_path,
            format!(
                "# Written by the devnet; the auditor's key comes from the environment.\n{}",
                toml::to_string(&auditor_config)?
            ),
        )?;
        let config_path = data_dir.join("node.toml");
        std::fs::write(
            &config_path,
            format!(
                "# Written by the devnet; the operator and oracle keys come from the environment.\n{}",
                toml::to_string(&config)?
            ),
        )?;
        // The devnet's own connection, to observe: it creates the schema, which the node then
        // finds up to date.
        let storage = Storage::connect(&db).await?;
        // With separate workers, the node servers leave proving to them.
        let proving = if cfg.workers > 0 { "" } else { ",prover" };
        let mut servers = match &ha_parts {
            None => vec![Server {
                name: "node".into(),
                components: format!("keeper,chains,api{proving}"),
                env: Vec::new(),
                child: None,
            }],
            Some(h) => {
                let mut servers = Vec::new();
                for (i, name) in HA_NODES.iter().enumerate() {
                    // The first server's metrics where the single node's would be.
                    let m = if i == 0 {
                        metrics
                    } else {
                        concrete("127.0.0.1:0".parse()?)?
                    };
                    servers.push(Server {
                        name: name.to_string(),
                        components: format!("keeper,chains{proving}"),
                        env: vec![
                            ("ROLLUP_NODE_ID", name.to_string()),
                            ("ROLLUP_METRICS_ADDR", m.to_string()),
                        ],
                        child: None,
                    });
                }
                for (name, addr) in HA_APIS.iter().zip(&h.balance.apis) {
                    servers.push(Server {
                        name: name.to_string(),
                        components: "api".into(),
                        env: vec![
                            ("ROLLUP_NODE_ID", name.to_string()),
                            ("ROLLUP_API_ADDR", addr.to_string()),
                            ("ROLLUP_METRICS_ADDR", String::new()),
                        ],
                        child: None,
                    });
                }
                servers
            }
        };
        for i in 1..=cfg.workers {
            let name = format!("worker-{i}");
            servers.push(Server {
                components: "prover".into(),
                env: vec![
                    ("ROLLUP_NODE_ID", name.clone()),
                    ("ROLLUP_METRICS_ADDR", String::new()),
                ],
                name,
                child: None,
            });
        }
        let mut net = Devnet {
            operator_key: hex::encode(key(&anvils[0], OPERATOR)),
            anvils,
            contracts,
            domain,
            token,
            storage,
            api,
            metrics,
            config_path,
            auditor_api,
            auditor_config: auditor_config_path,
            capacity,
            data_dir,
            bin,
            auditor_bin,
            servers,
            oracles: Vec::new(),
            auditor: None,
            ha: ha_parts,
        };
        net.auditor = Some(spawn(
            &net.auditor_bin,
            &["run", "--config", &net.auditor_config.display().to_string()],
            &[(
                "ROLLUP_AUDITOR_KEY",
                &hex::encode(key(&net.anvils[0], AUDITOR)),
            )],
            &net.data_dir.join("auditor.log"),
        )?);
        progress(&format!(
            "auditor: rollup-auditor run (its own database and key {}), API at http://{auditor_api}, log {}",
            auditor_key.address(),
            net.data_dir.join("auditor.log").display()
        ));
        net.start_oracles()?;
        progress(&format!(
            "oracles: 3 rollup-node oracle processes (threshold 2), logs in {}",
            net.data_dir.display()
        ));
        net.start_node().await?;
        if cfg.workers > 0 {
            progress(&format!(
                "prover workers: worker-1 to worker-{} (rollup-node run --components prover, sharing the node's proving jobs), logs in {}",
                cfg.workers,
                net.data_dir.display()
            ));
        }
        if net.ha.is_some() {
            progress(&format!(
                "node servers: {} (rollup-node run --components keeper,chains{proving}; one leads each lease), API replicas: {} (--components api); explorer at http://{api}/, metrics of {} at http://{metrics}/metrics, logs in {}",
                HA_NODES.join(", "),
                HA_APIS.join(", "),
                HA_NODES[0],
                net.data_dir.display()
            ));
        } else {
            progress(&format!(
                "node: rollup-node run (state keeper, {}3 chain drivers), API at http://{api}, explorer at http://{api}/, metrics at http://{metrics}/metrics, log {}",
                if cfg.workers > 0 {
                    ""
                } else {
                    "prover worker, "
                },
                net.node_log().display()
            ));
        }
        Ok(net)
    }

    fn start_oracles(&mut self) -> anyhow::Result<()> {
        for (i, &k) in ORACLES.iter().enumerate() {
            let oracle_key = hex::encode(key(&self.anvils[0], k));
            let child = spawn(
                &self.bin,
                &[
                    "oracle",
                    "--config",
                    &self.config_path.display().to_string(),
                    "--threshold",
                    "2",
                ],
                &[("ROLLUP_ORACLE_KEY", &oracle_key)],
                &self.data_dir.join(format!("oracle-{}.log", i + 1)),
            )?;
            self.oracles.push(child);
        }
        Ok(())
    }

    /// Runs the `rollup-auditor` tool with `args` (and `envs`) against this devnet's auditor
    /// configuration; returns what it printed, or its output in the error.
    async fn auditor_tool(&self, args: &[&str], envs: &[(&str, String)]) -> anyhow::Result<String> {
        let config = self.auditor_config.display().to_string();
        let mut cmd = Command::new(&self.auditor_bin);
        cmd.arg(args[0])
            .args(["--config", &config])
            .args(&args[1..])
            .stdin(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .await
            .with_context(|| format!("running rollup-auditor {}", args[0]))?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        anyhow::ensure!(
            out.status.success(),
            "rollup-auditor {} failed ({}):\n{text}\n{}",
            args[0],
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(text)
    }

    /// Runs `rollup-auditor recover` into a new SQLite database `name` in the data directory,
    /// from the chains alone; returns its URL and what the tool printed.
    pub async fn recover_into(&self, name: &str) -> anyhow::Result<(String, String)> {
        let url = format!("sqlite://{}", self.data_dir.join(name).display());
        let text = self.auditor_tool(&["recover", "--into", &url], &[]).await?;
        Ok((url, text))
    }

    /// Runs `rollup-auditor exit --send` for `owner`'s `token` on chain slot `i`, gas paid by
    /// anvil account `payer`; returns what the tool printed.
    pub async fn exit_with_tool(
        &self,
        i: usize,
        owner: Address,
        token: u16,
        payer: usize,
    ) -> anyhow::Result<String> {
        self.auditor_tool(
            &[
                "exit",
                "--chain",
                &CHAINS[i].0.to_string(),
                "--owner",
                &owner.to_string(),
                "--token",
                &token.to_string(),
                "--send",
            ],
            &[("ROLLUP_EXIT_KEY", hex::encode(key(&self.anvils[i], payer)))],
        )
        .await
    }

    /// Every chain as a recovery source (read through the operator's dev account).
    pub fn chain_sources(&self) -> Vec<rollup_auditor::recover::ChainSource<DynProvider>> {
        CHAINS
            .iter()
            .zip(&self.anvils)
            .zip(&self.contracts)
            .map(
                |((chain, anvil), contract)| rollup_auditor::recover::ChainSource {
                    chain: *chain,
                    provider: provider(anvil, &account(anvil, OPERATOR)),
                    contract: *contract,
                },
            )
            .collect()
    }

    /// Stops the node for good (the operator is gone) and the auditor with it.
    pub async fn stop_operator(&mut self) -> anyhow::Result<()> {
        self.kill_node().await?;
        if let Some(mut a) = self.auditor.take() {
            a.start_kill()?;
            a.wait().await?;
        }
        Ok(())
    }

    /// Moves the node and the oracles to the database at `url` (e.g. a recovered one): stops
    /// them, rewrites the node's configuration, starts them again on it.
    pub async fn switch_database(&mut self, url: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.ha.is_none(),
            "the HA devnet keeps its replicated database"
        );
        self.kill_node().await?;
        for mut o in self.oracles.drain(..) {
            o.start_kill()?;
            o.wait().await?;
        }
        let text = std::fs::read_to_string(&self.config_path)?;
        let mut config: NodeConfig = toml::from_str(&text)?;
        config.database_url = url.to_string();
        std::fs::write(
            &self.config_path,
            format!(
                "# Written by the devnet; the operator and oracle keys come from the environment.\n{}",
                toml::to_string(&config)?
            ),
        )?;
        self.storage = Storage::connect(url).await?;
        self.start_oracles()?;
        self.start_node().await
    }

    /// The node's log file (of the first node server, in the HA mode).
    pub fn node_log(&self) -> PathBuf {
        self.log_of(&self.servers[0].name)
    }

    /// The log file of node server or API replica `name`.
    pub fn log_of(&self, name: &str) -> PathBuf {
        self.data_dir.join(format!("{name}.log"))
    }

    fn server(&mut self, name: &str) -> anyhow::Result<&mut Server> {
        self.servers
            .iter_mut()
            .find(|s| s.name == name)
            .with_context(|| format!("no node server {name:?}"))
    }

    /// Starts node server (or API replica) `name`, without waiting for it.
    pub fn start_server(&mut self, name: &str) -> anyhow::Result<()> {
        let (bin, config, key, log) = (
            self.bin.clone(),
            self.config_path.display().to_string(),
            self.operator_key.clone(),
            self.log_of(name),
        );
        let s = self.server(name)?;
        anyhow::ensure!(s.child.is_none(), "{name} is already running");
        let mut env: Vec<(&str, &str)> = vec![("ROLLUP_OPERATOR_KEY", &key)];
        env.extend(s.env.iter().map(|(k, v)| (*k, v.as_str())));
        s.child = Some(spawn(
            &bin,
            &["run", "--config", &config, "--components", &s.components],
            &env,
            &log,
        )?);
        Ok(())
    }

    /// Kills node server (or API replica) `name` with SIGKILL and waits for it to die.
    pub async fn kill_server(&mut self, name: &str) -> anyhow::Result<()> {
        let mut child = self
            .server(name)?
            .child
            .take()
            .with_context(|| format!("{name} is not running"))?;
        child.start_kill()?;
        child.wait().await?;
        Ok(())
    }

    /// Sends `signal` (`STOP`, `CONT`) to node server `name`: a paused process keeps its
    /// connections and believes it still leads when it resumes.
    pub fn signal_server(&mut self, name: &str, signal: &str) -> anyhow::Result<()> {
        let pid = self
            .server(name)?
            .child
            .as_ref()
            .and_then(Child::id)
            .with_context(|| format!("{name} is not running"))?;
        ha::signal(&[pid as i32], signal)
    }

    /// Who holds lease `name` (`keeper`, `sender-1`, …) now, if anyone does.
    pub async fn leader(&self, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .storage
            .lease(name)
            .await?
            .filter(|l| l.expires_ms > rollup_storage::now_ms())
            .map(|l| l.holder))
    }

    /// Starts every node server (and API replica) that is not running and waits until the
    /// API answers.
    pub async fn start_node(&mut self) -> anyhow::Result<()> {
        let stopped: Vec<String> = self
            .servers
            .iter()
            .filter(|s| s.child.is_none())
            .map(|s| s.name.clone())
            .collect();
        anyhow::ensure!(!stopped.is_empty(), "the node is already running");
        for name in &stopped {
            self.start_server(name)?;
        }
        let client = Client::new(&format!("http://{}", self.api))?;
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            self.check_components()?;
            if client.status().await.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the node's API did not come up; log:\n{}",
                tail(&self.node_log())
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Kills every running node server (and API replica) with SIGKILL (no chance to clean up)
    /// and waits for them to die.
    pub async fn kill_node(&mut self) -> anyhow::Result<()> {
        let running: Vec<String> = self
            .servers
            .iter()
            .filter(|s| s.child.is_some())
            .map(|s| s.name.clone())
            .collect();
        for name in running {
            self.kill_server(&name).await?;
        }
        Ok(())
    }

    /// As a service manager would: restarts every node server or API replica that exited
    /// (saying so through `progress`), then [`Devnet::check_components`]. The HA devnet's
    /// serving loop: any one of them may be killed and the network goes on.
    pub fn supervise(&mut self, progress: &dyn Fn(&str)) -> anyhow::Result<()> {
        let mut exited = Vec::new();
        for s in &mut self.servers {
            if let Some(child) = &mut s.child
                && let Some(status) = child.try_wait()?
            {
                s.child = None;
                exited.push((s.name.clone(), status));
            }
        }
        for (name, status) in exited {
            progress(&format!("{name} exited ({status}); restarting it"));
            self.start_server(&name)?;
        }
        let promoting = self
            .ha
            .as_ref()
            .is_some_and(|h| !h.pg.promoted && h.pg.primary.pid().is_none());
        self.check_components()?;
        if promoting {
            progress(
                "the PostgreSQL primary is gone: the standby was promoted (HAProxy sends the node there)",
            );
        }
        Ok(())
    }

    /// Fails if a node server, an API replica or an oracle process exited (one the devnet
    /// did not stop). In the HA mode, also the failover of the database: once the primary's
    /// server is gone, the standby is promoted.
    pub fn check_components(&mut self) -> anyhow::Result<()> {
        for s in &mut self.servers {
            if let Some(child) = &mut s.child
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!(
                    "{} exited ({status}); log:\n{}",
                    s.name,
                    tail(&self.data_dir.join(format!("{}.log", s.name)))
                );
            }
        }
        if let Some(a) = &mut self.auditor
            && let Some(status) = a.try_wait()?
        {
            anyhow::bail!(
                "the auditor exited ({status}); log:\n{}",
                tail(&self.data_dir.join("auditor.log"))
            );
        }
        for (i, o) in self.oracles.iter_mut().enumerate() {
            if let Some(status) = o.try_wait()? {
                let log = self.data_dir.join(format!("oracle-{}.log", i + 1));
                anyhow::bail!("oracle {} exited ({status}); log:\n{}", i + 1, tail(&log));
            }
        }
        if let Some(h) = &mut self.ha
            && !h.pg.promoted
            && h.pg.primary.pid().is_none()
        {
            tracing::warn!("the PostgreSQL primary is gone: promoting the standby");
            h.pg.promote()?;
        }
        Ok(())
    }

    /// A wallet for anvil account `i`.
    pub fn wallet(&self, i: usize) -> anyhow::Result<Wallet> {
        Ok(Wallet::from_eth_key(&key(&self.anvils[0], i))?)
    }

    /// Chain slot `i` seen by the wallet of anvil account `who`.
    pub fn l1(&self, i: usize, who: usize) -> anyhow::Result<rollup_sdk::l1::Chain> {
        Ok(rollup_sdk::l1::Chain::new(
            self.anvils[i].endpoint().as_str(),
            self.contracts[i],
            &key(&self.anvils[i], who),
        )?)
    }

    /// The auditor's newest approved block and its halt (block, reason), from its API.
    pub async fn auditor_status(&self) -> anyhow::Result<(u32, Option<(u32, String)>)> {
        use jsonrpsee::core::client::ClientT;
        let client = jsonrpsee::http_client::HttpClientBuilder::default()
            .build(format!("http://{}", self.auditor_api))?;
        let v: serde_json::Value = client
            .request("auditor_status", jsonrpsee::rpc_params![])
            .await?;
        let approved = v["lastApproved"]
            .as_u64()
            .context("auditor_status: lastApproved")? as u32;
        let halt = v["halted"].as_object().map(|h| {
            (
                h.get("block").and_then(|b| b.as_u64()).unwrap_or(0) as u32,
                h.get("reason")
                    .and_then(|r| r.as_str())
                    .unwrap_or_default()
                    .to_string(),
            )
        });
        Ok((approved, halt))
    }

    /// Whether every sealed block is executed on every chain, in the node's records and in
    /// every contract's counter alike.
    pub async fn all_executed(&self) -> anyhow::Result<bool> {
        let last = self.storage.last_block().await?;
        // Blocks up to a recovered snapshot exist only on L1 (checked by the counters below).
        let base = self.storage.snapshot().await?.map_or(0, |s| s.number);
        for n in base + 1..=last {
            let stages = self.storage.stages(n).await?;
            if stages.len() != CHAINS.len() || stages.iter().any(|(_, s)| *s != Stage::Executed) {
                return Ok(false);
            }
        }
        for (anvil, contract) in self.anvils.iter().zip(&self.contracts) {
            let p = provider(anvil, &account(anvil, OPERATOR));
            let executed = Rollup::new(*contract, p)
                .totalBlocksExecuted()
                .call()
                .await?;
            if executed != last {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// What the scenario leaves behind, for display and for the test's assertions.
#[derive(Debug)]
pub struct Report {
    /// Blocks sealed.
    pub blocks: u32,
    /// TUSD alice received from the swap (chain 2 units).
    pub swap_out: u128,
    /// Alice's TUSD claimed to her L1 wallet on chain 2.
    pub claimed: u128,
    /// Pool reserves after the scenario: (chain 1 ETH, chain 2 TUSD).
    pub reserves: (u128, u128),
    /// Seconds from the withdrawal's submission to its claimability.
    pub withdrawal_latency: f64,
    /// Seconds from the deposits' L1 receipts to the balances being usable on L2.
    pub deposit_latency: f64,
    /// The quote the API gave for the swap before it was made.
    pub quoted: u128,
    /// The newest block the auditor approved (every block, when all went well).
    pub approved: u32,
    /// Fees paid (each the node's minimum when sent), by payer, chain and token.
    pub fees: BTreeMap<(rollup_crypto::Address, u8, u16), u128>,
}

/// Fees a scenario paid, by payer, chain and token.
#[derive(Default)]
struct Paid(std::sync::Mutex<BTreeMap<(rollup_crypto::Address, u8, u16), u128>>);

impl Paid {
    /// The node's minimum for `kind` paid by `who` in `token` on `chain`, recorded.
    async fn fee(
        &self,
        client: &Client,
        who: rollup_crypto::Address,
        kind: &str,
        chain: ChainId,
        token: TokenId,
    ) -> anyhow::Result<u128> {
        let v = client.min_fee(kind, chain, token).await?;
        *self
            .0
            .lock()
            .expect("not poisoned")
            .entry((who, chain.0, token.0))
            .or_default() += v;
        Ok(v)
    }

    /// The same as an amount.
    async fn amount(
        &self,
        client: &Client,
        who: rollup_crypto::Address,
        kind: &str,
        chain: ChainId,
        token: TokenId,
    ) -> anyhow::Result<Amount> {
        Ok(Amount::new(
            self.fee(client, who, kind, chain, token).await?,
        )?)
    }
}

/// Options of the scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScenarioOptions {
    /// SIGKILL the node right after the transfer and the withdrawal are accepted (while earlier
    /// blocks are being proven and sent to L1), then restart it and carry on.
    pub crash_node: bool,
}

const ETH: u128 = 1_000_000_000_000_000_000;
const TUSD: u128 = 1_000_000;

async fn sealed(client: &Client, hash: &str) -> anyhow::Result<u32> {
    Ok(client
        .wait_tx(hash, "sealed", Duration::from_secs(120))
        .await?)
}

/// The scripted session. `progress` gets one line per step.
pub async fn scenario(
    net: &mut Devnet,
    opts: ScenarioOptions,
    progress: &dyn Fn(&str),
) -> anyhow::Result<Report> {
    let client = Client::new(&format!("http://{}", net.api))?;
    let (alice, bob, carol) = (net.wallet(ALICE)?, net.wallet(BOB)?, net.wallet(CAROL)?);
    let a_l1 = Address::from(alice.address().0);
    let b_l1 = Address::from(bob.address().0);
    let (c1, c2) = (ChainId(1), ChainId(2));

    progress("alice deposits 10 ETH on chain 1; bob deposits 500,000 TUSD on chain 2");
    net.l1(0, ALICE)?.deposit_eth(a_l1, 10 * ETH).await?;
    let tusd = TestToken::new(
        net.token,
        provider(&net.anvils[1], &account(&net.anvils[1], BOB)),
    );
    tusd.mint(b_l1, U256::from(1_000_000 * TUSD))
        .send()
        .await?
        .get_receipt()
        .await?;
    net.l1(1, BOB)?
        .deposit_erc20(net.token, 500_000 * TUSD, b_l1)
        .await?;
    let deposited = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    let (a, b) = loop {
        net.check_components()?;
        let a = client.account(alice.address(), c1).await?;
        let b = client.account(bob.address(), c2).await?;
        if let (Some(a), Some(b)) = (&a, &b)
            && a.balance(TokenId(0)) > 0
            && b.balance(TokenId(1)) > 0
        {
            break (a.clone(), b.clone());
        }
        anyhow::ensure!(Instant::now() < deadline, "deposits did not reach L2");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let deposit_latency = deposited.elapsed().as_secs_f64();
    progress(&format!(
        "  on L2 after {deposit_latency:.1} s: alice is account {} with {} wei, bob is account {} with {} TUSD units",
        a.id,
        a.balance(TokenId(0)),
        b.id,
        b.balance(TokenId(1))
    ));
    let (aid, bid) = (AccountId(a.id), AccountId(b.id));

    // A wallet learns the domain from the node and checks it against what it trusts: here, the
    // devnet's own deployment.
    let domain = client.domain().await?;
    anyhow::ensure!(
        domain == net.domain,
        "the node reports domain {domain}, the contracts {}",
        net.domain
    );
    // Every transaction pays the node's minimum fee, priced from the chains' L1 gas.
    let paid = Paid::default();
    let (a2, b2) = (alice.address(), bob.address());
    progress("alice and bob set their L2 keys (authorised by their L1 keys)");
    let f = paid
        .fee(&client, a2, "change_pubkey", c1, TokenId(0))
        .await?;
    let h1 = client
        .submit(&alice.change_pubkey(&domain, c1, aid, 0, TokenId(0), f)?)
        .await?;
    let f = paid
        .fee(&client, b2, "change_pubkey", c2, TokenId(1))
        .await?;
    let h2 = client
        .submit(&bob.change_pubkey(&domain, c2, bid, 0, TokenId(1), f)?)
        .await?;
    sealed(&client, &h1).await?;
    sealed(&client, &h2).await?;

    progress("alice creates pool 0: ETH on chain 1 <-> TUSD on chain 2, fee 0.3%");
    let fee = paid
        .amount(&client, a2, "create_pool", c1, TokenId(0))
        .await?;
    let h = client
        .submit(&alice.sign(
            L2Tx::CreatePool(CreatePool {
                chain: c1,
                account: aid,
                pool: PoolId(0),
                token: TokenId(0),
                peer_chain: c2,
                peer_token: TokenId(1),
                fee_bps: 30,
                fee,
                nonce: Nonce(1),
            }),
            &domain,
        )?)
        .await?;
    sealed(&client, &h).await?;

    progress("one-coin liquidity: alice adds 5 ETH on chain 1, bob adds 400,000 TUSD on chain 2");
    let add = |w: &Wallet, chain, account, value: u128, fee| {
        w.sign(
            L2Tx::AddLiquidity(AddLiquidity {
                chain,
                account,
                pool: PoolId(0),
                amount: Amount::new(value).expect("bounded"),
                min_shares: Amount::ZERO,
                fee,
                nonce: Nonce(if chain == c1 { 2 } else { 1 }),
            }),
            &domain,
        )
    };
    let f1 = paid
        .amount(&client, a2, "add_liquidity", c1, TokenId(0))
        .await?;
    let f2 = paid
        .amount(&client, b2, "add_liquidity", c2, TokenId(1))
        .await?;
    let h1 = client.submit(&add(&alice, c1, aid, 5 * ETH, f1)?).await?;
    let h2 = client
        .submit(&add(&bob, c2, bid, 400_000 * TUSD, f2)?)
        .await?;
    sealed(&client, &h1).await?;
    sealed(&client, &h2).await?;

    let quoted = client.quote(c1, PoolId(0), ETH / 10).await?;
    progress(&format!(
        "alice swaps 0.1 ETH on chain 1 for TUSD on chain 2 (quoted {quoted} units; min out 7,000 TUSD)"
    ));
    let fee = paid.amount(&client, a2, "swap", c1, TokenId(0)).await?;
    let h = client
        .submit(&alice.sign(
            L2Tx::Swap(Swap {
                chain: c1,
                account: aid,
                pool: PoolId(0),
                amount_in: Amount::new(ETH / 10).expect("bounded"),
                min_out: Amount::new(7_000 * TUSD).expect("bounded"),
                fee,
                nonce: Nonce(3),
            }),
            &domain,
        )?)
        .await?;
    sealed(&client, &h).await?;
    let got = client
        .account(alice.address(), c2)
        .await?
        .context("alice on chain 2")?
        .balance(TokenId(1));
    progress(&format!("  alice received {got} TUSD units on chain 2"));

    progress("alice pays carol 1,000 TUSD on chain 2 and withdraws 5,000 TUSD to her L1 wallet");
    let fee = paid.amount(&client, a2, "transfer", c2, TokenId(1)).await?;
    let h1 = client
        .submit(&alice.sign(
            L2Tx::Transfer(Transfer {
                chain: c2,
                from: aid,
                to: carol.address(),
                token: TokenId(1),
                amount: Amount::new(1_000 * TUSD).expect("bounded"),
                fee,
                nonce: Nonce(0),
            }),
            &domain,
        )?)
        .await?;
    let submitted = Instant::now();
    let fee = paid.amount(&client, a2, "withdraw", c2, TokenId(1)).await?;
    let h2 = client
        .submit(&alice.sign(
            L2Tx::Withdraw(Withdraw {
                chain: c2,
                account: aid,
                to: alice.address(),
                token: TokenId(1),
                amount: Amount::new(5_000 * TUSD).expect("bounded"),
                fee,
                nonce: Nonce(1),
            }),
            &domain,
        )?)
        .await?;
    if opts.crash_node {
        // Wait until earlier blocks are on L1, so that the kill lands among in-flight commits,
        // proofs and L1 transactions, not before anything happened.
        client
            .wait_tx(&h, "committed", Duration::from_secs(300))
            .await?;
        progress(
            "SIGKILL the node (transfer and withdrawal accepted, earlier blocks being proven and sent), then restart it",
        );
        net.kill_node().await?;
        net.start_node().await?;
        progress("  the node restarted from its database");
    }
    sealed(&client, &h1).await?;
    progress("waiting for every block to be committed, proven, synced and executed on every chain");
    client
        .wait_tx(&h2, "executed", Duration::from_secs(1800))
        .await?;
    let latency = submitted.elapsed().as_secs_f64();
    let chain2 = net.l1(1, ALICE)?;
    let pending = chain2.pending(a_l1, 1).await?;
    chain2.claim(a_l1, 1, pending).await?;
    let claimed = tusd.balanceOf(a_l1).call().await?;
    progress(&format!(
        "alice claimed {pending} TUSD units on chain 2's L1 (her wallet holds {claimed}); withdrawal latency {latency:.0} s"
    ));
    let deadline = Instant::now() + Duration::from_secs(1800);
    while !net.all_executed().await? {
        net.check_components()?;
        anyhow::ensure!(Instant::now() < deadline, "blocks not executed everywhere");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let half = |chain| {
        let client = &client;
        async move {
            anyhow::Ok(
                client
                    .pool(chain, PoolId(0))
                    .await?
                    .context("pool 0")?
                    .reserve(),
            )
        }
    };
    let reserves = (half(c1).await?, half(c2).await?);
    let blocks = net.storage.last_block().await?;
    let (approved, halted) = net.auditor_status().await?;
    anyhow::ensure!(
        halted.is_none(),
        "the auditor halted the network: {halted:?}"
    );
    progress(&format!(
        "the auditor approved blocks 1..={approved} (each commit carried its verified signature); no halt"
    ));
    progress(&format!(
        "done: {blocks} blocks executed on all 3 chains; pool reserves {} wei (chain 1) / {} TUSD units (chain 2)",
        reserves.0, reserves.1
    ));
    Ok(Report {
        blocks,
        swap_out: got,
        claimed: pending,
        reserves,
        withdrawal_latency: latency,
        deposit_latency,
        quoted,
        approved,
        fees: paid.0.into_inner().expect("not poisoned"),
    })
}
