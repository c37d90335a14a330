//! `rollup-auditor`: the independent auditor (its own process, key and database).
//!
//! ```text
//! rollup-auditor run     --config auditor.toml   # key from ROLLUP_AUDITOR_KEY
//! rollup-auditor status  --config auditor.toml
//! rollup-auditor resume  --config auditor.toml --reason "block 7 discarded by the operator"
//! rollup-auditor recover --config auditor.toml [--into sqlite:///path/new-node.db]
//! rollup-auditor exit    --config auditor.toml --chain 1 --owner 0x… --token 0 [--send]
//! ```
//! `exit` needs nothing but the chains: it rebuilds the chain's last executed state from L1,
//! prints the exodus proof of the owner's balance (and the `exit` calldata), and with `--send`
//! (key from `ROLLUP_EXIT_KEY`, anyone's: the funds go to the owner) submits it and withdraws the
//! credited balance to the owner's L1 wallet.
//! The configuration is [`rollup_auditor::config::AuditorConfig`] (TOML, `docs/CONFIG.md`).

use alloy::primitives::B256;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::{Parser, Subcommand};
use rollup_auditor::config::load;
use rollup_auditor::recover::{ChainSource, Until};
use rollup_auditor::service::Service;
use rollup_auditor::store::AuditStore;
use rollup_l1::bindings::Rollup;
use rollup_l1::watcher::WatcherConfig;
use rollup_types::ChainId;
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
    /// Rebuild the whole L2 state from the chains alone (checked against every contract) and,
    /// with `--into`, write it into an empty node database a node can start from.
    Recover {
        /// Configuration file (the chains are read from it).
        #[arg(long)]
        config: PathBuf,
        /// An empty node database (`sqlite://…` or `postgres://…`).
        #[arg(long)]
        into: Option<String>,
    },
    /// Exodus: the proof that `owner` held `token` on `chain` in its last executed state, from
    /// L1 data alone; with `--send`, exit with it and withdraw to the owner's wallet.
    Exit {
        /// Configuration file (the chains are read from it).
        #[arg(long)]
        config: PathBuf,
        /// The chain in exodus mode.
        #[arg(long)]
        chain: u8,
        /// The account's L1 address.
        #[arg(long)]
        owner: String,
        /// Token id on that chain.
        #[arg(long, default_value_t = 0)]
        token: u16,
        /// Submit the exit and the withdrawal (gas paid by ROLLUP_EXIT_KEY's account).
        #[arg(long)]
        send: bool,
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

/// A private key (hex) from the environment variable `var`; never logged.
fn env_key(var: &str) -> anyhow::Result<PrivateKeySigner> {
    std::env::var(var)
        .with_context(|| format!("set {var}"))?
        .trim()
        .trim_start_matches("0x")
        .parse()
        .with_context(|| format!("{var}: a private key (32 bytes hex)"))
}

/// Every configured chain as a recovery source (the auditor's own connections).
fn sources(
    c: &rollup_auditor::config::AuditorConfig,
) -> anyhow::Result<Vec<ChainSource<DynProvider>>> {
    c.chains
        .iter()
        .map(|x| {
            Ok(ChainSource {
                chain: ChainId::new(x.id)?,
                provider: ProviderBuilder::new()
                    .connect_http(x.rpc_url.parse().with_context(|| x.rpc_url.clone())?)
                    .erased(),
                contract: x.contract.parse().context("contract address")?,
            })
        })
        .collect()
}

/// The network, under the deployment domain read through the auditor's own connections (every
/// contract must agree on it, and on the configured network id).
async fn network(
    c: &rollup_auditor::config::AuditorConfig,
    sources: &[ChainSource<DynProvider>],
) -> anyhow::Result<rollup_state::NetworkConfig> {
    let expected: B256 = c.network_id.parse().context("network_id")?;
    let first = sources.first().context("no chains")?;
    let onchain = Rollup::new(first.contract, &first.provider)
        .networkId()
        .call()
        .await
        .with_context(|| format!("chain {}: networkId", first.chain))?;
    anyhow::ensure!(
        onchain == expected,
        "chain {}'s contract belongs to network {onchain}, the configuration names {expected}",
        first.chain
    );
    let refs: Vec<_> = sources
        .iter()
        .map(|s| (s.chain, &s.provider, s.contract))
        .collect();
    let domain = rollup_l1::deploy::read_domain(&refs)
        .await
        .context("reading the deployment domain from the chains")?;
    c.network(domain)
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
        Command::Recover { config, into } => {
            let c = load(&config)?;
            let sources = sources(&c)?;
            let net = network(&c, &sources).await?;
            // Fail before the long replay if the target cannot take the result.
            let target = match &into {
                Some(url) => {
                    let storage = rollup_storage::Storage::connect(url).await?;
                    anyhow::ensure!(
                        storage.is_empty().await?,
                        "the target database is not empty: recover into a new one"
                    );
                    Some(storage)
                }
                None => None,
            };
            let bar = indicatif::ProgressBar::new(0).with_style(
                indicatif::ProgressStyle::with_template(
                    "recovering {bar:40} block {pos}/{len} ({elapsed})",
                )
                .expect("a valid template"),
            );
            let started = std::time::Instant::now();
            let mut recovered = rollup_auditor::recover::from_l1(
                &sources,
                &net,
                c.capacity,
                Until::ExecutedEverywhere,
                &|done, total| {
                    bar.set_length(total.into());
                    bar.set_position(done.into());
                },
            )
            .await?;
            bar.finish();
            let secs = started.elapsed().as_secs_f64();
            let last = recovered.auditor.last_block();
            println!(
                "recovered blocks 1..={last} ({} operations) in {secs:.2} s; final root 0x{}",
                recovered.ops,
                hex::encode(recovered.auditor.final_root())
            );
            for (i, root) in recovered.auditor.chain_roots().iter().enumerate() {
                println!(
                    "  chain {}: root 0x{} = the contract's last executed root",
                    sources[i].chain,
                    hex::encode(root)
                );
            }
            println!("  {} accounts", recovered.auditor.state().account_count());
            if let Some(storage) = target {
                let n = rollup_auditor::recover::write_snapshot(&storage, &recovered).await?;
                println!(
                    "wrote the state after block {n} into the target database: a node started on it continues with block {}",
                    n + 1
                );
            }
        }
        Command::Exit {
            config,
            chain,
            owner,
            token,
            send,
        } => {
            let c = load(&config)?;
            let chain = ChainId::new(chain)?;
            let owner: alloy::primitives::Address = owner.parse().context("owner address")?;
            let sources = sources(&c)?;
            let recovered = rollup_auditor::recover::from_l1(
                &sources,
                &network(&c, &sources).await?,
                c.capacity,
                Until::ExecutedOn(chain),
                &|_, _| {},
            )
            .await?;
            let mut state = recovered.auditor.state().clone();
            let chain_state = state
                .chain_mut(chain)
                .with_context(|| format!("chain {chain} is not connected"))?;
            let account = (0..chain_state.account_count())
                .map(rollup_types::AccountId)
                .find(|a| {
                    chain_state
                        .account(*a)
                        .is_some_and(|x| x.address.0 == owner.0.0)
                })
                .with_context(|| format!("{owner} has no account"))?;
            let proof =
                rollup_l1::encode::exit_proof(chain_state, account, rollup_types::TokenId(token))
                    .context("exit proof")?;
            println!(
                "chain {chain}, block {}: account {} ({owner}) holds {} of token {token}",
                recovered.auditor.last_block(),
                account.0,
                proof.amount
            );
            let call = Rollup::exitCall { p: proof.clone() };
            println!(
                "exit calldata: 0x{}",
                hex::encode(alloy::sol_types::SolCall::abi_encode(&call))
            );
            if send {
                let key = env_key("ROLLUP_EXIT_KEY")?;
                let x = c
                    .chains
                    .iter()
                    .find(|x| x.id == chain.0)
                    .context("chain config")?;
                let provider = ProviderBuilder::new()
                    .wallet(alloy::network::EthereumWallet::from(key))
                    .connect_http(x.rpc_url.parse().with_context(|| x.rpc_url.clone())?)
                    .erased();
                let rollup = Rollup::new(x.contract.parse().context("contract")?, provider);
                anyhow::ensure!(
                    rollup.exodusMode().call().await?,
                    "chain {chain} is not in exodus mode (activateExodusMode once a priority request expired)"
                );
                let amount = proof.amount;
                let r = rollup.exit(proof).send().await?.get_receipt().await?;
                anyhow::ensure!(r.status(), "exit reverted: {:?}", r.transaction_hash);
                println!("exited: {}", r.transaction_hash);
                let r = rollup
                    .withdrawPendingBalance(owner, token, amount)
                    .send()
                    .await?
                    .get_receipt()
                    .await?;
                anyhow::ensure!(r.status(), "withdrawal reverted: {:?}", r.transaction_hash);
                println!("withdrawn to {owner}: {amount} ({})", r.transaction_hash);
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
            let key = env_key("ROLLUP_AUDITOR_KEY")?;
            let net = network(&c, &sources(&c)?).await?;
            let network_id: B256 = c.network_id.parse().context("network_id")?;
            let store = AuditStore::open(&c.database_url).await?;
            let auditor = store.restore(&net, c.capacity).await?;
            let chains: Vec<_> = sources(&c)?
                .into_iter()
                .map(|s| (s.chain, s.provider, s.contract))
                .collect();
            let confirmations = c.chains.iter().map(|x| x.confirmations).max().unwrap_or(1);
            let (bound, _handle) = rollup_auditor::api::serve(
                store.clone(),
                key.address(),
                c.api_addr.parse().context("api_addr")?,
            )
            .await?;
            tracing::info!(auditor = %key.address(), api = %bound, from = auditor.last_block(), "auditor started");
            let service = Service::new(
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
            tokio::select! {
                _ = service.run(Duration::from_millis(c.poll_ms)) => {}
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted"),
            }
        }
    }
    Ok(())
}
