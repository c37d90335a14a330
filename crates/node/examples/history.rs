//! Keeper history benchmark (issue 13, item 7): the state keeper's resident memory and restart
//! time as the sealed history grows.
//!
//! Seals `--transfers` transfers through the state keeper on a fresh SQLite database, as a live
//! node does (priority deposits read from the database, key changes and transfers from the
//! mempool, blocks of up to `capacity × sub_blocks` chunks per chain, every block stored with its
//! calls, index and proving jobs) — with no prover running, so every block stays waiting for its
//! proofs. Prints the process's resident memory every `--every` transfers, then restarts the node
//! state in a fresh process (`keeper::restore`, from the keeper's newest snapshot) and reports
//! its time, its memory and the blocks it replayed.
//!
//! Run: `cargo run --release -p rollup-node --example history -- --transfers 100000`
//! (`--senders 128` per chain, `--every 10000`, `--snapshot-interval 32`, `--dir DIR`).

use rollup_node::keeper;
use rollup_state::NetworkConfig;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_storage::{AdmissionLimits, Storage};
use rollup_types::tx::{L2Tx, Transfer, Tx};
use rollup_types::*;
use std::path::PathBuf;
use std::time::Instant;

const CAPACITY: usize = 16;
const SUB_BLOCKS: usize = 8;
const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];

struct Args {
    transfers: u64,
    senders: u32,
    every: u64,
    snapshot_interval: u32,
    dir: PathBuf,
    restart: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        transfers: 100_000,
        senders: 128,
        every: 10_000,
        snapshot_interval: keeper::SNAPSHOT_EVERY,
        dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/history"),
        restart: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().expect("flag needs a value");
        match k.as_str() {
            "--transfers" => a.transfers = v().parse().expect("number"),
            "--senders" => a.senders = v().parse().expect("number"),
            "--every" => a.every = v().parse().expect("number"),
            "--snapshot-interval" => a.snapshot_interval = v().parse().expect("number"),
            "--dir" => a.dir = v().into(),
            "--restart" => a.restart = Some(v()),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn network() -> NetworkConfig {
    NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    }
}

/// The resident set of this process (MB), from `/proc/self/status`.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

const LIMITS: AdmissionLimits = AdmissionLimits {
    capacity: 1_000_000,
    per_account: 1_000_000,
    ttl_ms: 24 * 3600 * 1000,
};

async fn admit(storage: &Storage, txs: &[Tx]) {
    for tx in txs {
        let key = rollup_node::mempool::tx_key(tx).expect("an L2 transaction");
        storage
            .admit_tx(
                &tx.hash().unwrap(),
                &tx.encode().unwrap(),
                key,
                true,
                LIMITS,
            )
            .await
            .unwrap();
    }
}

/// Seals until the mempool and the priority queue are drained; blocks sealed.
async fn seal_all(shared: &rollup_node::Shared, max_txs: usize) -> u32 {
    let mut n = 0;
    while keeper::seal(shared, max_txs).await.unwrap().is_some() {
        n += 1;
    }
    n
}

#[tokio::main]
async fn main() {
    let a = args();
    if let Some(url) = a.restart {
        // A fresh process: what a restarted node costs.
        let storage = Storage::connect(&url).await.unwrap();
        let before = rss_mb();
        let t = Instant::now();
        let shared = keeper::restore(storage.clone(), network(), CAPACITY)
            .await
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        let from = shared.base.as_ref().map_or(0, |b| b.number);
        let last = storage.last_block().await.unwrap();
        println!(
            "restart: {secs:.2} s, from the snapshot of block {from}, replayed {} blocks to block {last}; RSS {:.0} MB ({before:.0} MB at start)",
            last - from,
            rss_mb()
        );
        return;
    }
    let _ = std::fs::remove_dir_all(&a.dir);
    std::fs::create_dir_all(&a.dir).unwrap();
    let url = format!("sqlite://{}", a.dir.join("node.db").display());
    let storage = Storage::connect(&url).await.unwrap();
    let mut shared = keeper::restore(storage.clone(), network(), CAPACITY)
        .await
        .unwrap();
    shared.sub_blocks = SUB_BLOCKS;
    shared.snapshot_every = a.snapshot_interval;
    shared.mempool.per_account = 1024;
    shared.mempool.nonce_window = 1024;
    let started = Instant::now();
    println!("start: RSS {:.0} MB", rss_mb());

    // Senders: `senders` per chain, funded by deposits (16 per chain and block), then their
    // keys set.
    let k = a.senders;
    let wallet = |c: usize, i: u32| DevWallet::new(1 + (c as u32 * k + i) as u64);
    for (c, chain) in CHAINS.iter().enumerate() {
        for i in 0..k {
            let dep = deposit(chain.0, i as u64, wallet(c, i).address(), 0, 1 << 60);
            storage
                .record_watch(chain.0, &[(i as u64, dep.encode().unwrap(), 1)], "{}")
                .await
                .unwrap();
        }
    }
    let setup = seal_all(&shared, 16).await;
    let mut ids = Vec::new();
    {
        let state = shared.state.lock().await;
        for c in 0..CHAINS.len() {
            ids.push(
                (0..k)
                    .map(|i| state.account_id(&wallet(c, i).address()).expect("funded"))
                    .collect::<Vec<_>>(),
            );
        }
    }
    for (c, chain) in CHAINS.iter().enumerate() {
        let cpks: Vec<Tx> = (0..k)
            .map(|i| wallet(c, i).change_pubkey(*chain, ids[c][i as usize], 0, 0, 0))
            .collect();
        admit(&storage, &cpks).await;
    }
    let setup = setup + seal_all(&shared, 64).await;
    println!(
        "setup: {} senders funded and keyed in {setup} blocks, {:.1} s; RSS {:.0} MB",
        3 * k,
        started.elapsed().as_secs_f64(),
        rss_mb()
    );

    // Rounds: every sender sends one transfer to the next sender of its chain; a block per
    // round (3 × senders transfers: one chunk each).
    let per_round = 3 * k as u64;
    let mut sealed = 0u64;
    let mut nonce = 1u32;
    let mut next_report = a.every;
    let t = Instant::now();
    println!("| transfers sealed | blocks | RSS (MB) | seconds |");
    println!("|---|---|---|---|");
    while sealed < a.transfers {
        let mut txs = Vec::with_capacity(per_round as usize);
        for (c, chain) in CHAINS.iter().enumerate() {
            for i in 0..k {
                let to = wallet(c, (i + 1) % k).address();
                txs.push(wallet(c, i).sign(L2Tx::Transfer(Transfer {
                    chain: *chain,
                    from: ids[c][i as usize],
                    to,
                    token: TokenId(0),
                    amount: amount(1),
                    fee: amount(0),
                    nonce: Nonce(nonce),
                })));
            }
        }
        admit(&storage, &txs).await;
        seal_all(&shared, per_round as usize).await;
        nonce += 1;
        sealed += per_round;
        if sealed >= next_report {
            println!(
                "| {sealed} | {} | {:.0} | {:.1} |",
                storage.last_block().await.unwrap(),
                rss_mb(),
                t.elapsed().as_secs_f64()
            );
            next_report += a.every;
        }
    }
    assert_eq!(storage.mempool_len().await.unwrap(), 0, "everything sealed");
    println!(
        "sealed {sealed} transfers in {} blocks, {:.1} s ({:.0} transfers/s); RSS {:.0} MB",
        storage.last_block().await.unwrap(),
        t.elapsed().as_secs_f64(),
        sealed as f64 / t.elapsed().as_secs_f64(),
        rss_mb()
    );
    drop(shared);
    drop(storage);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--restart", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
}
