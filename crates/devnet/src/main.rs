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
    /// The highly available operator: PostgreSQL primary + synchronous standby, two node
    /// servers, three API replicas, HAProxy in front (docs/OPERATIONS.md).
    #[arg(long)]
    ha: bool,
    /// Prover workers as processes of their own (`rollup-node run --components prover`) on
    /// the node's database; 0: the node proves in-process.
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Chunks per chain proof (its keys are set up on first use: minutes, and memory, grow with
    /// it; docs/PERFORMANCE.md, "Choosing a proof size").
    #[arg(long, default_value_t = rollup_devnet::CAPACITY)]
    capacity: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollup_node::init_logging("warn");
    let cli = Cli::parse();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // Ctrl-C or SIGTERM at any point drops the devnet, which stops what it started — the
    // processes, and in the HA mode the PostgreSQL servers and HAProxy, which run as daemons.
    tokio::select! {
        r = run(cli) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = term.recv() => Ok(()),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let say = |s: &str| println!("[devnet] {s}");
    let mut net = Devnet::start(
        &DevnetConfig {
            data_dir: cli.data_dir,
            keys_dir: cli.keys_dir,
            api_addr: cli.api,
            metrics_addr: cli.metrics,
            auditor_addr: cli.auditor,
            ha: cli.ha,
            workers: cli.workers,
            capacity: cli.capacity,
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
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if net.ha.is_some() {
            // Any one process may be killed: the devnet restarts node servers and replicas
            // and promotes the standby, as a service manager and a failover manager would.
            net.supervise(&say)?;
        } else {
            net.check_components()?;
        }
    }
}
