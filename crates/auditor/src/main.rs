//! `rollup-auditor`: the independent auditor (its own process, key and database).
//!
//! ```text
//! rollup-auditor run     --config auditor.toml   # key from ROLLUP_AUDITOR_KEY
//! rollup-auditor status  --config auditor.toml
//! rollup-auditor resume  --config auditor.toml --reason "block 7 discarded by the operator"
//! ```
//! The configuration (TOML): `database_url` (`sqlite://…`, the auditor's own), `node_url` (the
//! node's API), `api_addr` (this auditor's API, default `127.0.0.1:3040`), `network_id` (hex, as
//! deployed), `capacity`, `fee_account`, `poll_ms` (default 500), and `[[chains]]` with `id`,
//! `rpc_url`, `contract`, `confirmations` (default 1).

use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::{Parser, Subcommand};
use rollup_auditor::service::{Outcome, Service};
use rollup_auditor::store::AuditStore;
use rollup_l1::watcher::WatcherConfig;
use rollup_state::NetworkConfig;
use rollup_types::ChainId;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(version, about = "The rollup's independent auditor")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Follow the chains and the node, approve or halt.
    Run {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the last approved block and any halt with its evidence.
    Status {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// The operator's action after a halt: resolve it (the refused block must be gone from the
    /// node, or it is refused again).
    Resume {
        /// Configuration file.
        #[arg(long)]
        config: PathBuf,
        /// What the operator did (kept with the halt).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Deserialize)]
struct ChainConfig {
    id: u8,
    rpc_url: String,
    contract: String,
    #[serde(default = "one")]
    confirmations: u64,
}

fn one() -> u64 {
    1
}

#[derive(Deserialize)]
struct Config {
    database_url: String,
    node_url: String,
    #[serde(default = "default_api")]
    api_addr: String,
    network_id: String,
    #[serde(default = "default_capacity")]
    capacity: usize,
    fee_account: String,
    #[serde(default = "default_poll")]
    poll_ms: u64,
    chains: Vec<ChainConfig>,
}

fn default_api() -> String {
    "127.0.0.1:3040".into()
}
fn default_capacity() -> usize {
    16
}
fn default_poll() -> u64 {
    500
}

fn load(path: &PathBuf) -> anyhow::Result<Config> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let c: Config = toml::from_str(&text).with_context(|| format!("{}", path.display()))?;
    anyhow::ensure!(!c.chains.is_empty(), "no chains configured");
    anyhow::ensure!(
        c.database_url.starts_with("sqlite:"),
        "the auditor's database is SQLite (sqlite://path)"
    );
    Ok(c)
}

fn network(c: &Config) -> anyhow::Result<NetworkConfig> {
    let fee: Address = c.fee_account.parse().context("fee_account")?;
    Ok(NetworkConfig {
        chains: c
            .chains
            .iter()
            .map(|x| ChainId::new(x.id).context("chain id"))
            .collect::<anyhow::Result<_>>()?,
        fee_account: rollup_crypto::Address(fee.0.0),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Status { config } => {
            let c = load(&config)?;
            let store = AuditStore::open(&c.database_url).await?;
            println!("last approved block: {}", store.last_approved().await?);
            match store.active_halt().await? {
                Some(h) => println!(
                    "HALTED at block {}: {}\nevidence: {}",
                    h.number, h.reason, h.evidence
                ),
                None => println!("not halted"),
            }
        }
        Command::Resume { config, reason } => {
            let c = load(&config)?;
            let store = AuditStore::open(&c.database_url).await?;
            if store.resume(&reason).await? {
                println!("halt resolved: {reason}");
            } else {
                println!("not halted; nothing to resume");
            }
        }
        Command::Run { config } => {
            let c = load(&config)?;
            let key: PrivateKeySigner = std::env::var("ROLLUP_AUDITOR_KEY")
                .context("set ROLLUP_AUDITOR_KEY")?
                .trim()
                .trim_start_matches("0x")
                .parse()
                .context("ROLLUP_AUDITOR_KEY: a private key (32 bytes hex)")?;
            let net = network(&c)?;
            let network_id: B256 = c.network_id.parse().context("network_id")?;
            let store = AuditStore::open(&c.database_url).await?;
            let auditor = store.restore(&net, c.capacity).await?;
            let mut chains = Vec::new();
            let mut confirmations = 1;
            for x in &c.chains {
                let p: DynProvider = ProviderBuilder::new()
                    .connect_http(x.rpc_url.parse().with_context(|| x.rpc_url.clone())?)
                    .erased();
                chains.push((ChainId::new(x.id)?, p, x.contract.parse()?));
                confirmations = x.confirmations;
            }
            let (bound, _handle) = rollup_auditor::api::serve(
                store.clone(),
                key.address(),
                c.api_addr.parse().context("api_addr")?,
            )
            .await?;
            tracing::info!(auditor = %key.address(), api = %bound, from = auditor.last_block(), "auditor started");
            let mut service = Service::new(
                auditor,
                store,
                &c.node_url,
                key,
                network_id,
                chains,
                WatcherConfig {
                    confirmations,
                    max_range: 2_000,
                },
            )?;
            let poll = Duration::from_millis(c.poll_ms);
            loop {
                let round = async {
                    service.sync_requests().await?;
                    service.audit_next().await
                };
                tokio::select! {
                    r = round => match r {
                        Ok(Outcome::Approved(n)) => tracing::info!(block = n, "approved"),
                        Ok(Outcome::Refused(n)) => {
                            tracing::error!(block = n, "REFUSED: the network is halted until an operator resumes it (rollup-auditor status)")
                        }
                        Ok(Outcome::Halted | Outcome::Idle) => {}
                        Err(e) => tracing::warn!(error = %e, "auditor round failed; retrying"),
                    },
                    _ = tokio::signal::ctrl_c() => {
                        tracing::info!("interrupted");
                        return Ok(());
                    }
                }
                tokio::time::sleep(poll).await;
            }
        }
    }
    Ok(())
}
