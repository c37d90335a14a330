//! `rollup-devnet`: starts the local network (three anvil chains, contracts, then the node —
//! state keeper, prover, chain drivers, API, metrics — three oracles as `rollup-node` processes,
//! and the auditor as a `rollup-auditor` process), runs the scripted scenario, then serves until interrupted (or exits with
//! `--exit-after-scenario`).

use clap::Parser;
use rollup_devnet::{Devnet, DevnetConfig, ScenarioOptions, scenario};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "A local multi-chain rollup network with a scripted scenario"
)]
struct Cli {
    /// Database and scratch files (recreated at every start).
    #[arg(long, default_value = ".data/devnet")]
    data_dir: PathBuf,
    /// Proving keys (kept; safe to delete).
    #[arg(long, default_value = ".data/keys")]
    keys_dir: PathBuf,
    /// API address.
    #[arg(long, default_value = "127.0.0.1:3030")]
    api: std::net::SocketAddr,
    /// The node's Prometheus endpoint.
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics: std::net::SocketAddr,
    /// The auditor's API.
    #[arg(long, default_value = "127.0.0.1:3040")]
    auditor: std::net::SocketAddr,
    /// Kill the node with SIGKILL in the middle of the scenario and restart it.
    #[arg(long)]
    crash_node: bool,
    /// Exit once the scenario is done instead of serving.
    #[arg(long)]
    exit_after_scenario: bool,
    /// Skip the scenario (just run the network).
    #[arg(long)]
    no_scenario: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollup_node::init_logging("warn");
    let cli = Cli::parse();
    let say = |s: &str| println!("[devnet] {s}");
    let mut net = Devnet::start(
        &DevnetConfig {
            data_dir: cli.data_dir,
            keys_dir: cli.keys_dir,
            api_addr: cli.api,
            metrics_addr: cli.metrics,
            auditor_addr: cli.auditor,
        },
        &say,
    )
    .await?;
    if !cli.no_scenario {
        let opts = ScenarioOptions {
            crash_node: cli.crash_node,
        };
        let report = scenario(&mut net, opts, &say).await?;
        say(&format!("{report:?}"));
    }
    if cli.exit_after_scenario {
        return Ok(());
    }
    say(&format!(
        "serving; explorer at http://{0}/ (open it in a browser), API at http://{0} — Ctrl-C to \
         stop (the chains stop with it)",
        net.api
    ));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => net.check_components()?,
        }
    }
    Ok(())
}
