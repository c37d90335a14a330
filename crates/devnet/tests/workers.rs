//! A fleet of prover workers on one PostgreSQL: two `rollup-node run --components prover`
//! processes share one block's proving jobs (chain 1's part in two sub-blocks, chains 2 and 3,
//! the binding), holding claims of the same block at the same time; one is killed with SIGKILL
//! while it proves. Its job goes to the other once the lease ran out, and every job is proven
//! exactly once by a live worker: one claim per job except the killed one's (two), one `proved`
//! per job in the workers' logs, no proof discarded; the stored proofs assemble into the block's
//! proofs (sub-blocks in order, roots and carries chaining, the binding last). Real Groth16
//! proofs, keys cached under `.data/keys`.

use rollup_devnet::ha::PgPair;
use rollup_prover::job::{Job, block_jobs};
use rollup_prover::{BlockProofs, SubBlockStatement};
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::{
    Block, BlockContext, BuildOptions, NetworkConfig, NetworkState, build_block, genesis_sync_hash,
};
use rollup_storage::Storage;
use rollup_types::tx::{L2Tx, Transfer};
use rollup_types::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const CAPACITY: usize = 16;
const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];
/// Transfers on chain 1: more than one sub-block of 16 chunks.
const TRANSFERS: u32 = 20;
/// The workers' job lease: short, so the killed worker's job is taken over quickly.
const LEASE_MS: u64 = 4_000;

/// Block 2 of a fresh network: `TRANSFERS` transfers on chain 1 between funded accounts (two
/// sub-blocks there), nothing on chains 2 and 3.
fn block() -> Block {
    let (alice, bob) = (DevWallet::new(1), DevWallet::new(2));
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    })
    .unwrap();
    let opts = |witness| BuildOptions::new(witness, CAPACITY, 8, CAPACITY);
    let b1 = build_block(
        &mut state,
        &BlockContext {
            number: BlockNumber(1),
            timestamp: 0,
            prev_sync_hash: genesis_sync_hash(),
        },
        vec![
            deposit(1, 0, alice.address(), 0, 1_000_000),
            deposit(1, 1, bob.address(), 0, 1),
            alice.change_pubkey(ChainId(1), AccountId(1), 0, 0, 0),
        ],
        opts(false),
    );
    assert!(b1.rejected.is_empty(), "{:?}", b1.rejected);
    let txs = (0..TRANSFERS)
        .map(|n| {
            alice.sign(L2Tx::Transfer(Transfer {
                chain: ChainId(1),
                from: AccountId(1),
                to: bob.address(),
                token: TokenId(0),
                amount: amount(10),
                fee: amount(1),
                nonce: Nonce(n + 1),
            }))
        })
        .collect();
    let b = build_block(
        &mut state,
        &BlockContext {
            number: BlockNumber(2),
            timestamp: 1,
            prev_sync_hash: b1.sync_hash,
        },
        txs,
        opts(true),
    );
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    b
}

/// One worker process; killed on drop.
struct Worker {
    name: &'static str,
    log: PathBuf,
    child: Option<Child>,
}

impl Worker {
    fn start(name: &'static str, config: &Path, dir: &Path) -> Worker {
        let log = dir.join(format!("{name}.log"));
        let bin = rollup_devnet::binary("rollup-node", "ROLLUP_NODE_BIN").unwrap();
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args(["run", "--components", "prover", "--config"])
            .arg(config)
            .env("ROLLUP_NODE_ID", name)
            .env("RUST_LOG", "info")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Worker {
            name,
            log,
            child: Some(child),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test if the process exited on its own.
    fn check(&mut self) {
        if let Some(c) = &mut self.child
            && let Some(status) = c.try_wait().unwrap()
        {
            panic!("{} exited ({status}):\n{}", self.name, self.log());
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A job's row: status (0 queued, 1 claimed, 2 done, 3 failed), worker, claims.
type Row = (u8, String, u32);

fn jobs_of(pg: &PgPair, number: u32) -> BTreeMap<u32, Row> {
    let out = pg
        .primary
        .query(
            &pg.bin,
            &format!(
                "SELECT job, status, coalesce(worker, ''), attempts FROM proof_jobs WHERE number = {number} ORDER BY job"
            ),
        )
        .unwrap();
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (
                f[0].parse().unwrap(),
                (
                    f[1].parse().unwrap(),
                    f[2].to_string(),
                    f[3].parse().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_workers_share_a_blocks_jobs_and_a_killed_ones_job_is_proven_once_by_the_other() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Under the system's temporary directory, not the target dir: PostgreSQL runs as its own
    // user when we are root, and a target dir under /root is out of its reach.
    let dir = std::env::temp_dir().join(format!("rollup-workers-{}", std::process::id()));
    let pg = PgPair::start(&dir.join("pg")).unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", pg.primary.port);
    let storage = Storage::connect(&url).await.unwrap();

    let b = block();
    let jobs = block_jobs(&b, CAPACITY, &CHAINS).unwrap();
    let subs: Vec<Option<u8>> = jobs.iter().map(|j| j.chain().map(|c| c.0)).collect();
    assert_eq!(
        subs,
        [Some(1), Some(1), Some(2), Some(3), None],
        "chain 1 in two sub-blocks, one for each other chain, the binding last"
    );
    let payloads: Vec<Vec<u8>> = jobs.iter().map(Job::to_bytes).collect();
    storage.add_jobs(2, &payloads).await.unwrap();

    // A prover machine's configuration: the database and the keys. The chains are listed (the
    // binding circuit's shape) but never contacted: a worker needs no L1 endpoint.
    let config = dir.join("worker.toml");
    std::fs::write(
        &config,
        format!(
            r#"database_url = "{url}"
keys_dir = "{}"
capacity = {CAPACITY}
fee_account = "0x0000000000000000000000000000000000000001"
metrics_addr = ""
job_lease_ms = {LEASE_MS}
{}"#,
            std::fs::canonicalize(repo.join(".data/keys"))
                .or_else(|_| {
                    std::fs::create_dir_all(repo.join(".data/keys"))?;
                    std::fs::canonicalize(repo.join(".data/keys"))
                })
                .unwrap()
                .display(),
            CHAINS
                .iter()
                .map(|c| format!(
                    "[[chains]]\nid = {}\nrpc_url = \"http://127.0.0.1:9\"\ncontract = \"0x00000000000000000000000000000000000000{:02x}\"\n",
                    c.0, c.0
                ))
                .collect::<String>()
        ),
    )
    .unwrap();
    let mut a = Worker::start("worker-a", &config, &dir);
    let mut bw = Worker::start("worker-b", &config, &dir);

    // Both hold a claim on block 2 at once: its jobs prove in parallel. Then worker-a dies
    // in the middle of its proof.
    let deadline = Instant::now() + Duration::from_secs(900);
    let killed_job = loop {
        a.check();
        bw.check();
        let rows = jobs_of(&pg, 2);
        let holding = |who: &str| {
            rows.iter()
                .find(|(_, (status, worker, _))| *status == 1 && worker.starts_with(who))
                .map(|(job, _)| *job)
        };
        if let (Some(ja), Some(_)) = (holding("worker-a-"), holding("worker-b-")) {
            // A second into the proof, not at its start.
            tokio::time::sleep(Duration::from_secs(1)).await;
            if jobs_of(&pg, 2)[&ja].0 == 1 {
                a.kill();
                break ja;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the workers never held claims together: {rows:?}\n{}\n{}",
            a.log(),
            bw.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let killed_at = Instant::now();
    println!("worker-a killed while proving job {killed_job} of block 2");

    let stored = loop {
        bw.check();
        if let Some(p) = storage.proofs(2).await.unwrap() {
            break p;
        }
        assert!(
            storage.failed_jobs().await.unwrap().is_empty(),
            "a job failed: {}",
            bw.log()
        );
        assert!(
            Instant::now() < deadline,
            "the jobs were not all proven: {:?}\n{}",
            jobs_of(&pg, 2),
            bw.log()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    println!(
        "every job proven {:.1} s after the kill",
        killed_at.elapsed().as_secs_f64()
    );

    // The killed worker's job was claimed twice and finished by worker-b; every other job
    // once.
    for (job, (status, worker, attempts)) in jobs_of(&pg, 2) {
        assert_eq!(status, 2, "job {job} done");
        if job == killed_job {
            assert_eq!(attempts, 2, "job {job}: the killed claim and worker-b's");
            assert!(worker.starts_with("worker-b-"), "job {job} by {worker}");
        } else {
            assert_eq!(attempts, 1, "job {job} claimed once ({worker})");
        }
    }
    // One `proved` per job across both workers: no job proven twice, no proof thrown away.
    let (la, lb) = (a.log(), bw.log());
    let proved = |log: &str| log.lines().filter(|l| l.contains(" proved ")).count();
    assert_eq!(
        proved(&la) + proved(&lb),
        jobs.len(),
        "worker-a:\n{la}\nworker-b:\n{lb}"
    );
    assert!(proved(&lb) >= 1 && !lb.contains("lease lost"), "{lb}");
    // The stored proofs are the block's: each states its sub-block as the job defined it, and
    // they assemble into the block's proofs (order, roots and carries chaining).
    let assembled = BlockProofs::from_stored(&stored).unwrap();
    assert_eq!(
        assembled.chains.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 1, 1]
    );
    let statements: Vec<SubBlockStatement> = jobs
        .iter()
        .filter_map(|j| match j {
            Job::Chain(w) => Some(SubBlockStatement::of(w)),
            Job::Binding(_) => None,
        })
        .collect();
    let got: Vec<SubBlockStatement> = assembled
        .chains
        .iter()
        .flatten()
        .map(|p| p.statement.clone())
        .collect();
    assert_eq!(got, statements);
    assert_eq!(
        assembled.chains[0][1].statement.new_root,
        b.chains[0].new_root
    );
}
