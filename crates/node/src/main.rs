//! `rollup-node`: the operator node and the oracle, from a TOML configuration (`docs/CONFIG.md`).
//!
//! ```text
//! rollup-node run    --config node.toml [--components keeper,prover,chains,api]
//! rollup-node oracle --config node.toml          # key from ROLLUP_ORACLE_KEY
//! rollup-node revert --config node.toml --from N # a block a chain refused, node stopped
//! ```
//! Secrets (the operator and oracle keys) come from the environment or the file and are never
//! logged.

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::{Parser, Subcommand};
use rollup_l1::bindings::Rollup;
use rollup_l1::watcher::WatcherConfig;
use rollup_node::config::NodeConfig;
use rollup_node::driver::Driver;
use rollup_node::gate::Gate;
use rollup_node::oracle::Oracle;
use rollup_node::{keeper, worker};
use rollup_prover::{Keys, Network, Shape};
use rollup_state::NetworkConfig;
use rollup_storage::Storage;
use rollup_types::ChainId;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(version, about = "The rollup's operator node and oracle")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run node components.
    Run {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Components: keeper (state keeper), prover (a prover worker), chains (one driver per
        /// chain: watcher, commit/prove/execute sender), api (JSON-RPC).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "keeper,prover,chains,api"
        )]
        components: Vec<String>,
    },
    /// The operator's action after the auditor refused a block: with the node stopped, discard
    /// the sealed, uncommitted blocks from `--from` on (their L2 transactions return to the
    /// mempool; unconsumed priority requests are read again from L1). Then `rollup-auditor
    /// resume` and start the node.
    Discard {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The first block to discard (the one the auditor refused).
        #[arg(long)]
        from: u32,
    },
    /// The operator's action after a chain refused a block: with the node stopped, revert blocks
    /// from `--from` on every chain whose contract allows it (a proven block needs the oracles'
    /// abandonment, read from their board; a synced block is never reverted), then discard them
    /// as `discard` does. Then start the node: the next block goes through.
    Revert {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
        /// The first block to revert (the one a chain refused).
        #[arg(long)]
        from: u32,
    },
    /// Run one oracle instance (its key from ROLLUP_ORACLE_KEY).
    Oracle {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Signatures needed on chain.
        #[arg(long, default_value_t = 2)]
        threshold: usize,
        /// Prometheus endpoint of this oracle (none by default: several oracles share a host).
        #[arg(long)]
        metrics_addr: Option<std::net::SocketAddr>,
    },
}

fn signer(hex_key: &str) -> anyhow::Result<PrivateKeySigner> {
    hex_key
        .trim()
        .trim_start_matches("0x")
        .parse()
        .context("a private key (32 bytes hex)")
}

fn provider(url: &str, key: &PrivateKeySigner) -> anyhow::Result<DynProvider> {
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(key.clone()))
        .connect_http(url.parse().with_context(|| format!("rpc url {url}"))?)
        .erased())
}

/// A chain's rollup contract through a read-only connection.
fn contract(
    c: &rollup_node::config::ChainConfig,
) -> anyhow::Result<Rollup::RollupInstance<DynProvider>> {
    let p = ProviderBuilder::new()
        .connect_http(
            c.rpc_url
                .parse()
                .with_context(|| format!("rpc url {}", c.rpc_url))?,
        )
        .erased();
    Ok(Rollup::new(
        c.contract.parse().context("contract address")?,
        p,
    ))
}

/// The network the configuration names, with the deployment domain read from (and checked
/// against) every chain's rollup contract: signatures and proofs are bound to it, so a node never
/// guesses it.
async fn network(cfg: &NodeConfig) -> anyhow::Result<NetworkConfig> {
    let fee: Address = cfg.fee_account.parse().context("fee_account")?;
    let mut chains = Vec::with_capacity(cfg.chains.len());
    for c in &cfg.chains {
        let provider = ProviderBuilder::new()
            .connect_http(
                c.rpc_url
                    .parse()
                    .with_context(|| format!("rpc url {}", c.rpc_url))?,
            )
            .erased();
        chains.push((
            ChainId::new(c.id).context("chain id")?,
            provider,
            c.contract.parse::<Address>().context("contract address")?,
        ));
    }
    let refs: Vec<_> = chains.iter().map(|(c, p, a)| (*c, p, *a)).collect();
    let domain = rollup_l1::deploy::read_domain(&refs)
        .await
        .context("reading the deployment domain from the chains")?;
    tracing::info!(%domain, "deployment domain");
    Ok(NetworkConfig {
        chains: chains.iter().map(|(c, _, _)| *c).collect(),
        fee_account: rollup_crypto::Address(fee.0.0),
        domain,
    })
}

/// Starts the components other than the prover (keeper or follower, the auditor gate, chain
/// drivers, API) as tasks of `tasks`; the API's handle when it serves one.
async fn serve(
    cfg: &NodeConfig,
    components: &[String],
    storage: Storage,
    tasks: &mut tokio::task::JoinSet<anyhow::Result<()>>,
) -> anyhow::Result<Option<(std::net::SocketAddr, jsonrpsee::server::ServerHandle)>> {
    let net = network(cfg).await?;
    let mut shared = keeper::restore(storage.clone(), net.clone(), cfg.capacity).await?;
    shared.mempool = cfg.mempool.clone();
    shared.sub_blocks = cfg.sub_blocks;
    shared.batch = cfg.batch;
    shared.snapshot_every = cfg.snapshot_interval;
    let shared = Arc::new(shared);
    // This server among those sharing the database: the keeper seals and each chain's
    // sender sends only under their leases (`rollup_node::lead`).
    let lead = rollup_node::lead::Leadership {
        holder: cfg
            .node_id
            .clone()
            .unwrap_or_else(|| format!("{}-{}", hostname(), std::process::id())),
        ttl: Duration::from_millis(cfg.lease_ms),
    };
    if components.iter().any(|c| c == "keeper") {
        tasks.spawn(keeper::run(
            shared.clone(),
            Duration::from_millis(cfg.seal_interval_ms),
            cfg.max_txs,
            lead.clone(),
        ));
    } else if components.iter().any(|c| c == "chains" || c == "api") {
        // The keeper runs elsewhere: follow the blocks it stores.
        tasks.spawn(keeper::follow(
            shared.clone(),
            Duration::from_millis(cfg.poll_ms),
        ));
    }
    if components.iter().any(|c| c == "chains" || c == "api")
        && let Some(gate) = gate(cfg, components.iter().any(|c| c == "chains")).await?
    {
        let gate = Arc::new(gate);
        tasks.spawn(
            gate.clone()
                .run(shared.clone(), Duration::from_millis(cfg.poll_ms.max(500))),
        );
        if components.iter().any(|c| c == "chains") {
            let key = signer(
                cfg.operator_key
                    .as_deref()
                    .context("operator key: set ROLLUP_OPERATOR_KEY")?,
            )?;
            for c in &cfg.chains {
                let driver = Driver::new(
                    shared.clone(),
                    gate.clone(),
                    ChainId::new(c.id)?,
                    provider(&c.rpc_url, &key)?,
                    c.contract.parse().context("contract address")?,
                    key.clone(),
                    WatcherConfig {
                        confirmations: c.confirmations,
                        max_range: 2_000,
                    },
                    c.start_block,
                    lead.clone(),
                )
                .await?;
                tasks.spawn(driver.run(Duration::from_millis(cfg.poll_ms)));
            }
        }
    }
    if components.iter().any(|c| c == "api") {
        let addr = cfg.api_addr.parse().context("api_addr")?;
        let fees =
            rollup_node::fees::FeePolicy::new(cfg.fees.as_ref(), cfg.capacity, cfg.sub_blocks)?;
        if let Some(dir) = &cfg.explorer_dir {
            anyhow::ensure!(
                dir.join("index.html").is_file(),
                "explorer_dir {} has no index.html: build it with `npm run build:explorer`",
                dir.display()
            );
        }
        return Ok(Some(
            rollup_node::api::serve(shared.clone(), fees, addr, cfg.explorer_dir.clone()).await?,
        ));
    }
    Ok(None)
}

fn load(path: &PathBuf) -> anyhow::Result<NodeConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    NodeConfig::from_toml(&text).with_context(|| format!("{}", path.display()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollup_node::init_logging("info");
    match Cli::parse().command {
        Command::Run { config, components } => {
            let cfg = load(&config)?;
            for c in &components {
                anyhow::ensure!(
                    ["keeper", "prover", "chains", "api"].contains(&c.as_str()),
                    "unknown component {c:?} (keeper, prover, chains, api)"
                );
            }
            anyhow::ensure!(!components.is_empty(), "no components to run");
            if !cfg.metrics_addr.is_empty() {
                rollup_node::metrics::install(cfg.metrics_addr.parse().context("metrics_addr")?)?;
            }
            let storage = Storage::connect(&cfg.database_url).await?;
            let mut tasks = tokio::task::JoinSet::new();
            if components.iter().any(|c| c == "prover") {
                let mut chains = cfg
                    .chains
                    .iter()
                    .map(|c| ChainId::new(c.id))
                    .collect::<Result<Vec<_>, _>>()?;
                chains.sort();
                let (capacity, dir) = (cfg.capacity, cfg.keys_dir.clone());
                let storage = storage.clone();
                // Unique per process even when servers share a `node_id`: a job's lease names
                // the process proving it.
                let name = format!(
                    "{}-{}",
                    cfg.node_id.clone().unwrap_or_else(hostname),
                    std::process::id()
                );
                let lease = Duration::from_millis(cfg.job_lease_ms);
                // Loading (and fingerprinting) the keys takes a while: the other components
                // start meanwhile.
                tasks.spawn(async move {
                    let keys = tokio::task::spawn_blocking(move || {
                        let chain =
                            Keys::load_or_setup(Shape::Chain { capacity }, &dir, Network::Dev)?;
                        let binding = Keys::load_or_setup(
                            Shape::Binding {
                                chains,
                                links: capacity,
                            },
                            &dir,
                            Network::Dev,
                        )?;
                        anyhow::Ok((chain, binding))
                    })
                    .await??;
                    tracing::info!(worker = %name, "proving keys loaded; prover worker started");
                    worker::run(storage, Arc::new(keys), name, lease).await
                });
            }
            // A worker alone needs neither the chains nor the state: it proves what the
            // database holds, so a prover machine starts in the time its keys take to load.
            let mut _api = None;
            if components.iter().any(|c| c != "prover") {
                _api = serve(&cfg, &components, storage, &mut tasks).await?;
            }
            // A component loop only returns on an error that needs an operator.
            let first_failure = async {
                match tasks.join_next().await {
                    Some(Ok(Err(e))) => Err(e),
                    Some(Err(e)) => Err(e.into()),
                    Some(Ok(Ok(()))) => Ok(()),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = first_failure => r?,
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
            }
        }
        Command::Discard { config, from } => {
            let cfg = load(&config)?;
            // A running node would seal the discarded blocks again from its memory.
            std::net::TcpListener::bind(cfg.api_addr.as_str()).with_context(|| {
                format!(
                    "the node seems to be running (its API address {} is in use): stop it first",
                    cfg.api_addr
                )
            })?;
            let mut committed = Vec::new();
            for c in &cfg.chains {
                let n = contract(c)?
                    .totalBlocksCommitted()
                    .call()
                    .await
                    .with_context(|| format!("chain {}: totalBlocksCommitted", c.id))?;
                committed.push((ChainId::new(c.id)?, n));
            }
            let storage = Storage::connect(&cfg.database_url).await?;
            let d = keeper::discard(
                &storage,
                &network(&cfg).await?,
                cfg.capacity,
                from,
                &committed,
            )
            .await?;
            println!(
                "discarded blocks {}..={}: {} L2 transactions back in the mempool, {} priority requests to be read again from L1",
                d.blocks.start(),
                d.blocks.end(),
                d.returned,
                d.requests
            );
        }
        Command::Revert { config, from } => {
            let cfg = load(&config)?;
            std::net::TcpListener::bind(cfg.api_addr.as_str()).with_context(|| {
                format!(
                    "the node seems to be running (its API address {} is in use): stop it first",
                    cfg.api_addr
                )
            })?;
            let key = signer(
                cfg.operator_key
                    .as_deref()
                    .context("operator key: set ROLLUP_OPERATOR_KEY")?,
            )?;
            let chains = cfg
                .chains
                .iter()
                .map(|c| {
                    Ok((
                        ChainId::new(c.id)?,
                        Rollup::new(
                            c.contract.parse().context("contract address")?,
                            provider(&c.rpc_url, &key)?,
                        ),
                    ))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let storage = Storage::connect(&cfg.database_url).await?;
            let r = rollup_node::revert::revert(
                &storage,
                &network(&cfg).await?,
                cfg.capacity,
                from,
                &chains,
            )
            .await?;
            for (chain, committed, abandoned) in &r.chains {
                println!(
                    "chain {chain}: blocks {from}..={committed} reverted{}",
                    if *abandoned {
                        " (with the oracles' abandonment)"
                    } else {
                        ""
                    }
                );
            }
            let d = r.discarded;
            println!(
                "discarded blocks {}..={}: {} L2 transactions back in the mempool, {} priority requests to be read again from L1",
                d.blocks.start(),
                d.blocks.end(),
                d.returned,
                d.requests
            );
        }
        Command::Oracle {
            config,
            threshold,
            metrics_addr,
        } => {
            let cfg = load(&config)?;
            if let Some(addr) = metrics_addr {
                rollup_node::metrics::install(addr)?;
            }
            let key =
                signer(&std::env::var("ROLLUP_ORACLE_KEY").context("set ROLLUP_ORACLE_KEY")?)?;
            let storage = Storage::connect(&cfg.database_url).await?;
            let chains = cfg
                .chains
                .iter()
                .map(|c| {
                    Ok((
                        ChainId::new(c.id)?,
                        provider(&c.rpc_url, &key)?,
                        c.contract.parse().context("contract address")?,
                    ))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            tracing::info!(oracle = %key.address(), "oracle started");
            let oracle = Oracle::new(key, storage, chains, threshold);
            tokio::select! {
                r = oracle.run(Duration::from_millis(cfg.poll_ms)) => r?,
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
            }
        }
    }
    Ok(())
}

/// The auditor gate from the configuration, with the network id every contract was deployed
/// with. `required` (the `chains` component): missing auditor settings are an error — the gate
/// cannot be configured away. Otherwise (API only) the gate just reports the auditor's status.
async fn gate(cfg: &NodeConfig, required: bool) -> anyhow::Result<Option<Gate>> {
    let (Some(url), Some(address)) = (&cfg.auditor_url, &cfg.auditor_address) else {
        anyhow::ensure!(
            !required,
            "the chains component commits only what the auditor approves: set auditor_url and \
             auditor_address (docs/CONFIG.md)"
        );
        return Ok(None);
    };
    let mut network_id = None;
    for c in &cfg.chains {
        let id = contract(c)?
            .networkId()
            .call()
            .await
            .with_context(|| format!("chain {}: reading the contract's networkId", c.id))?;
        match network_id {
            None => network_id = Some(id),
            Some(first) => anyhow::ensure!(
                first == id,
                "chain {}'s contract belongs to another network ({id} vs {first})",
                c.id
            ),
        }
    }
    let network_id = network_id.context("no chains")?;
    Ok(Some(Gate::new(
        url,
        address.parse().context("auditor_address")?,
        network_id,
    )?))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "worker".into())
}
