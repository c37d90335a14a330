//! `rollup-loadgen`: sustained L2 throughput through the API on a fresh devnet.
//!
//! Starts the devnet (no scenario), funds one sender on every chain with an L1 deposit, sets its
//! L2 key, waits until that is executed everywhere (so no backlog skews the figures), then submits
//! `--txs` signed transfers through the JSON-RPC API as fast as the API admits them, spread over
//! the chains and over `--recipients` recipients, and reports:
//! - admission: transactions accepted per second by the API;
//! - sealing: transactions per second until the last one is in a block;
//! - end to end: transactions per second until the last one is executed on every chain (real
//!   proofs, commit/prove/attest/execute on three anvil chains) — the sustained throughput;
//! - the auditor's lag: per block, from the node's API first showing it sealed to the auditor's
//!   API first showing it approved (both polled every 100 ms);
//! - recovery: the time to rebuild the whole state from the chains alone afterwards
//!   (`rollup_auditor::recover::from_l1`, the code behind `rollup-auditor recover`), per 1,000
//!   L2 transactions.

use alloy::primitives::Address;
use clap::Parser;
use rollup_auditor::recover::{Until, from_l1};
use rollup_devnet::{ALICE, CHAINS, Devnet, DevnetConfig};
use rollup_sdk::Client;
use rollup_types::tx::*;
use rollup_types::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    version,
    about = "Sustained L2 throughput through the API on a fresh devnet"
)]
struct Cli {
    /// Transfers to submit (spread over the chains).
    #[arg(long, default_value_t = 240)]
    txs: u32,
    /// Distinct recipients (each one's first transfer also creates its account).
    #[arg(long, default_value_t = 4)]
    recipients: u8,
    /// Database and scratch files (recreated).
    #[arg(long, default_value = ".data/loadgen")]
    data_dir: PathBuf,
    /// Proving keys (kept; safe to delete).
    #[arg(long, default_value = ".data/keys")]
    keys_dir: PathBuf,
    /// On the highly available operator (`rollup-devnet --ha`).
    #[arg(long)]
    ha: bool,
    /// Prover workers as processes of their own (`rollup-devnet --workers`).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Chunks per chain proof (`rollup-devnet --capacity`).
    #[arg(long, default_value_t = rollup_devnet::CAPACITY)]
    capacity: usize,
}

const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    rollup_node::init_logging("warn");
    let cli = Cli::parse();
    anyhow::ensure!(cli.txs > 0 && cli.recipients > 0, "nothing to send");
    let say = |s: &str| println!("[loadgen] {s}");
    let mut net = Devnet::start(
        &DevnetConfig {
            workers: cli.workers,
            capacity: cli.capacity,
            ..DevnetConfig::on_free_ports(cli.data_dir, cli.keys_dir, cli.ha)
        },
        &say,
    )
    .await?;
    let client = Client::new(&format!("http://{}", net.api))?;
    let sender = net.wallet(ALICE)?;
    let l1_sender = Address::from(sender.address().0);
    say("funding the sender with 10 ETH on every chain");
    for slot in 0..CHAINS.len() {
        net.l1(slot, ALICE)?
            .deposit_eth(l1_sender, 10 * ETH)
            .await?;
    }
    let id = loop {
        net.check_components()?;
        let mut ready = true;
        for c in CHAINS {
            ready &= client
                .account(sender.address(), c)
                .await?
                .is_some_and(|a| a.balance(TokenId(0)) > 0);
        }
        if ready {
            break client
                .account(sender.address(), CHAINS[0])
                .await?
                .map(|a| a.id)
                .unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let cpk_fee = client
        .min_fee("change_pubkey", CHAINS[0], TokenId(0))
        .await?;
    let cpk = client
        .submit(&sender.change_pubkey(
            &net.domain,
            CHAINS[0],
            AccountId(id),
            0,
            TokenId(0),
            cpk_fee,
        )?)
        .await?;
    say("waiting until funding and key change are executed everywhere (a clean start)");
    client
        .wait_tx(&cpk, "executed", Duration::from_secs(1800))
        .await?;

    let recipients: Vec<rollup_crypto::Address> = (0..cli.recipients)
        .map(|i| rollup_crypto::Address([0x10 + i; 20]))
        .collect();
    let mut nonces: Vec<u32> = vec![0; CHAINS.len()];
    nonces[0] = 1; // the key change used chain 1's nonce 0
    let mut hashes = Vec::with_capacity(cli.txs as usize);
    let lag = tokio::spawn(watch_lag(
        format!("http://{}", net.api),
        format!("http://{}", net.auditor_api),
    ));
    // Each transfer pays its chain's minimum fee (priced from L1 gas), read again whenever the
    // node finds it too low (a gas price moved).
    let mut fees = Vec::with_capacity(CHAINS.len());
    for c in CHAINS {
        fees.push(client.min_fee("transfer", c, TokenId(0)).await?);
    }
    say(&format!(
        "submitting {} transfers (fees {fees:?} wei)",
        cli.txs
    ));
    let start = Instant::now();
    for i in 0..cli.txs as usize {
        let slot = i % CHAINS.len();
        let hash = loop {
            let tx = sender.sign(
                L2Tx::Transfer(Transfer {
                    chain: CHAINS[slot],
                    from: AccountId(id),
                    to: recipients[(i / CHAINS.len()) % recipients.len()],
                    token: TokenId(0),
                    amount: Amount::new(1_000_000_000).expect("bounded"),
                    fee: Amount::new(fees[slot]).expect("a minimum fee"),
                    nonce: Nonce(nonces[slot]),
                }),
                &net.domain,
            )?;
            match client.submit(&tx).await {
                Err(rollup_sdk::SdkError::Rejected { code, .. })
                    if code == rollup_sdk::code::FEE_TOO_LOW =>
                {
                    fees[slot] = client.min_fee("transfer", CHAINS[slot], TokenId(0)).await?;
                }
                r => break r?,
            }
        };
        nonces[slot] += 1;
        hashes.push(hash);
    }
    let admitted = start.elapsed().as_secs_f64();
    say(&format!(
        "admitted {} transfers in {admitted:.2} s: {:.0} tx/s through the API",
        cli.txs,
        cli.txs as f64 / admitted
    ));
    let last = hashes.last().expect("at least one").clone();
    // A later nonce never lands in an earlier block than the one before it, so each chain's last
    // transfer marks the end; the newest block among those is what must execute.
    let mut last_block = client
        .wait_tx(&last, "sealed", Duration::from_secs(600))
        .await?;
    for h in &hashes[hashes.len().saturating_sub(CHAINS.len())..] {
        last_block = last_block.max(
            client
                .wait_tx(h, "sealed", Duration::from_secs(600))
                .await?,
        );
    }
    let sealed = start.elapsed().as_secs_f64();
    let first_block = client
        .wait_tx(&hashes[0], "sealed", Duration::from_secs(600))
        .await?;
    say(&format!(
        "all sealed after {sealed:.1} s ({:.1} tx/s) into blocks up to {last_block}",
        cli.txs as f64 / sealed
    ));
    let deadline = Instant::now() + Duration::from_secs(6 * 3600);
    let mut shown = 0;
    loop {
        net.check_components()?;
        let b = client.block_status(last_block).await?;
        if b["stages"]
            .as_object()
            .is_some_and(|o| !o.is_empty() && o.values().all(|v| v == "executed"))
        {
            break;
        }
        let executed = net.storage.last_block().await?;
        if start.elapsed().as_secs() / 60 > shown {
            shown = start.elapsed().as_secs() / 60;
            say(&format!(
                "  {:.0} s: waiting for block {last_block} to execute everywhere (blocks sealed: {executed})",
                start.elapsed().as_secs_f64()
            ));
        }
        anyhow::ensure!(Instant::now() < deadline, "not executed in time");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let executed = start.elapsed().as_secs_f64();
    lag.abort();
    // L1 gas from the receipts the watchers stored (each transaction once, however many blocks
    // it covers): per chain, over the load's blocks, per transfer.
    let stage_txs = net
        .storage
        .stage_txs_between(first_block, last_block)
        .await?;
    for c in CHAINS {
        let mut seen = std::collections::HashSet::new();
        let mut by_stage: std::collections::BTreeMap<String, u64> = Default::default();
        for t in stage_txs.iter().filter(|t| t.chain == c.0) {
            if seen.insert(t.l1_hash) {
                *by_stage.entry(format!("{:?}", t.stage)).or_default() += t.gas_used;
            }
        }
        let total: u64 = by_stage.values().sum();
        say(&format!(
            "GAS chain {c}: blocks {first_block}..={last_block}, {total} gas ({by_stage:?}): {:.0} gas per transfer",
            total as f64 / cli.txs as f64
        ));
    }
    let lags = LAGS.lock().expect("not poisoned").clone();
    let (mean, max) = (
        lags.iter().sum::<f64>() / lags.len().max(1) as f64,
        lags.iter().cloned().fold(0.0, f64::max),
    );
    say(&format!(
        "auditor lag behind the node over {} blocks: mean {:.2} s, max {:.2} s",
        lags.len(),
        mean,
        max
    ));
    let sources = net.chain_sources();
    let t = Instant::now();
    let recovered = from_l1(
        &sources,
        &rollup_devnet::network_config(net.domain),
        net.capacity,
        Until::ExecutedEverywhere,
        &|_, _| {},
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    let l2_txs = cli.txs + 1;
    say(&format!(
        "RECOVERY blocks={} ops={} l2_txs={l2_txs} in {secs:.2} s: {:.2} s per 1,000 L2 transactions",
        recovered.auditor.last_block(),
        recovered.ops,
        secs * 1000.0 / l2_txs as f64
    ));
    say(&format!(
        "RESULT txs={} admission={:.0}tx/s sealed={:.1}tx/s executed_everywhere={:.2}tx/s ({executed:.0} s)",
        cli.txs,
        cli.txs as f64 / admitted,
        cli.txs as f64 / sealed,
        cli.txs as f64 / executed
    ));
    Ok(())
}

/// Seconds between a block first seen sealed (node API) and first seen approved (auditor API).
static LAGS: std::sync::Mutex<Vec<f64>> = std::sync::Mutex::new(Vec::new());

async fn watch_lag(node: String, auditor: String) -> anyhow::Result<()> {
    use jsonrpsee::core::client::ClientT;
    let node = jsonrpsee::http_client::HttpClientBuilder::default().build(node)?;
    let auditor = jsonrpsee::http_client::HttpClientBuilder::default().build(auditor)?;
    let mut sealed_at: std::collections::BTreeMap<u64, Instant> = Default::default();
    let mut approved: u64 = 0;
    let mut first = true;
    loop {
        let s: serde_json::Value = node
            .request("rollup_status", jsonrpsee::rpc_params![])
            .await?;
        let a: serde_json::Value = auditor
            .request("auditor_status", jsonrpsee::rpc_params![])
            .await?;
        let (last, done) = (
            s["lastBlock"].as_u64().unwrap_or(0),
            a["lastApproved"].as_u64().unwrap_or(0),
        );
        if first {
            // Blocks before the measurement are not counted.
            approved = done.max(last);
            first = false;
        }
        let now = Instant::now();
        for n in approved + 1..=last {
            sealed_at.entry(n).or_insert(now);
        }
        for n in approved + 1..=done {
            if let Some(t) = sealed_at.get(&n) {
                LAGS.lock()
                    .expect("not poisoned")
                    .push(now.duration_since(*t).as_secs_f64());
            }
        }
        approved = approved.max(done);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
