//! Every storage operation against both backends: an SQLite file and a real PostgreSQL server (a
//! throwaway cluster started here with the Debian package's `initdb`/`pg_ctl`; `scripts/test.sh`
//! installs the package when it is missing — a missing server is a failure, never a skip).

use rollup_storage::{Stage, Storage, StorageError, StoredBlock};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A PostgreSQL cluster under /tmp on a free port, stopped and deleted on drop.
struct Postgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

fn pg_bin() -> PathBuf {
    let base = PathBuf::from("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&base)
        .expect("PostgreSQL is not installed (apt-get install postgresql; scripts/test.sh does)")
        .map(|e| e.unwrap().path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("no initdb under /usr/lib/postgresql")
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (the server refuses root).
fn as_postgres(cmd: &str) {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let status = if root {
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", cmd])
            .status()
    } else {
        Command::new("sh").args(["-c", cmd]).status()
    }
    .unwrap();
    assert!(status.success(), "{cmd}");
}

impl Postgres {
    fn start() -> Postgres {
        let bin = pg_bin();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = PathBuf::from(format!("/tmp/rollup-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Command::new("chmod")
            .args(["777", dir.to_str().unwrap()])
            .status()
            .unwrap();
        let d = dir.display();
        as_postgres(&format!(
            "{}/initdb -D {d}/data -U postgres --auth=trust -E UTF8 >{d}/initdb.log 2>&1",
            bin.display()
        ));
        as_postgres(&format!(
            "{}/pg_ctl -D {d}/data -l {d}/server.log -w -o \"-p {port} -k {d} -c listen_addresses=127.0.0.1\" start >/dev/null",
            bin.display()
        ));
        Postgres { dir, port, bin }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        as_postgres(&format!(
            "{}/pg_ctl -D {}/data -m immediate stop >/dev/null 2>&1 || true",
            self.bin.display(),
            self.dir.display()
        ));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sqlite_url(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("rollup-storage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.db"));
    let _ = std::fs::remove_file(&path);
    format!("sqlite://{}", path.display())
}

async fn exercise(url: &str) {
    let s = Storage::connect(url).await.unwrap();
    // Reconnecting re-runs the migrations: a no-op.
    let s2 = Storage::connect(url).await.unwrap();

    // Mempool: arrival order, dedup by hash, removal.
    assert!(s.add_tx(&[1; 32], b"tx one").await.unwrap());
    assert!(s.add_tx(&[2; 32], b"tx two").await.unwrap());
    assert!(!s.add_tx(&[1; 32], b"tx one").await.unwrap());
    let m = s2.mempool(10).await.unwrap();
    assert_eq!(
        m,
        vec![([1; 32], b"tx one".to_vec()), ([2; 32], b"tx two".to_vec())]
    );
    s.remove_txs(&[[1; 32]]).await.unwrap();
    assert_eq!(s.mempool(10).await.unwrap().len(), 1);

    // Watcher batches: requests and cursor together; a repeat is harmless, a changed one refused.
    assert_eq!(s.cursor(1).await.unwrap(), None);
    s.record_watch(
        1,
        &[(0, b"dep0".to_vec(), 10), (1, b"dep1".to_vec(), 11)],
        "c1",
    )
    .await
    .unwrap();
    s.record_watch(
        1,
        &[(1, b"dep1".to_vec(), 11), (2, b"dep2".to_vec(), 12)],
        "c2",
    )
    .await
    .unwrap();
    assert_eq!(s.cursor(1).await.unwrap().as_deref(), Some("c2"));
    let ops = s.priority_ops(1, 1).await.unwrap();
    assert_eq!(
        ops,
        vec![(1, b"dep1".to_vec(), 11), (2, b"dep2".to_vec(), 12)]
    );
    let err = s
        .record_watch(1, &[(2, b"other".to_vec(), 12)], "c3")
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Corrupt(_)));
    assert_eq!(
        s.cursor(1).await.unwrap().as_deref(),
        Some("c2"),
        "nothing of a refused batch"
    );
    assert!(s.priority_ops(2, 0).await.unwrap().is_empty());

    // Blocks and stages: forward only.
    let b = StoredBlock {
        number: 1,
        data: b"block".to_vec(),
        final_root: [3; 32],
        sync_hash: [4; 32],
    };
    s.insert_block(&b, &[1, 2, 3]).await.unwrap();
    assert!(
        s.insert_block(&b, &[1]).await.is_err(),
        "a block number is stored once"
    );
    assert_eq!(s.block(1).await.unwrap(), Some(b));
    assert_eq!(s.block(2).await.unwrap(), None);
    assert_eq!(s.last_block().await.unwrap(), 1);
    assert!(s.advance_stage(1, 2, Stage::Proven).await.unwrap());
    assert!(!s.advance_stage(1, 2, Stage::Committed).await.unwrap());
    assert_eq!(
        s.stages(1).await.unwrap(),
        vec![(1, Stage::Sealed), (2, Stage::Proven), (3, Stage::Sealed)]
    );

    // Proving jobs: distinct claims, lease takeover, a stale worker cannot finish.
    s.add_jobs(1, &[b"j0".to_vec(), b"j1".to_vec()])
        .await
        .unwrap();
    let a = s
        .claim_job("a", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let b = s2
        .claim_job("b", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.job, b.job), (0, 1));
    assert_eq!(a.payload, b"j0");
    assert!(
        s.claim_job("c", Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.proofs(1).await.unwrap(), None);
    assert!(s.finish_job(1, 0, "a", b"p0").await.unwrap());
    assert!(s.renew_job(1, 1, "b").await.unwrap());
    // Worker b dies: after its lease (0 s here) c takes the job over and b can no longer finish.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let c = s.claim_job("c", Duration::ZERO).await.unwrap().unwrap();
    assert_eq!((c.job, c.attempt), (1, 2));
    assert!(!s.finish_job(1, 1, "b", b"late").await.unwrap());
    s.fail_job(1, 1, "c", "disk full", true).await.unwrap();
    let d = s
        .claim_job("d", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.job, d.attempt), (1, 3));
    assert!(s.finish_job(1, 1, "d", b"p1").await.unwrap());
    assert_eq!(
        s.proofs(1).await.unwrap(),
        Some(vec![b"p0".to_vec(), b"p1".to_vec()])
    );
    s.add_jobs(2, &[b"bad".to_vec()]).await.unwrap();
    let e = s
        .claim_job("e", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    s.fail_job(e.number, e.job, "e", "unsatisfiable witness", false)
        .await
        .unwrap();
    assert_eq!(
        s.failed_jobs().await.unwrap(),
        vec![(2, 0, "unsatisfiable witness".to_string())]
    );
    assert!(s.claim_job("f", Duration::ZERO).await.unwrap().is_none());

    // Sender records: upsert per chain.
    s.save_l1_tx(1, 0, "{\"a\":1}").await.unwrap();
    s.save_l1_tx(1, 0, "{\"a\":2}").await.unwrap();
    s.save_l1_tx(2, 0, "{\"b\":1}").await.unwrap();
    assert_eq!(s.l1_txs(1).await.unwrap(), vec!["{\"a\":2}".to_string()]);

    // The operator's discard: blocks from 2 on go with their stages, jobs and attestations; the
    // returned transactions go to the front of the mempool; chain 1's requests from serial 1 are
    // dropped and its cursor rewound.
    let b2 = StoredBlock {
        number: 2,
        data: b"block 2".to_vec(),
        final_root: [5; 32],
        sync_hash: [6; 32],
    };
    s.insert_block(&b2, &[1, 2, 3]).await.unwrap();
    s.post_attestation(2, &[6; 32], &[7; 20], b"sig")
        .await
        .unwrap();
    // The abandonment board is another table: an abandonment is never read as an attestation.
    s.post_abandonment(2, &[6; 32], &[4; 20], b"abandon")
        .await
        .unwrap();
    s.post_abandonment(2, &[6; 32], &[4; 20], b"again")
        .await
        .unwrap();
    assert_eq!(
        s.abandonments(2, &[6; 32]).await.unwrap(),
        vec![([4; 20], b"abandon".to_vec())],
        "posted once"
    );
    assert_eq!(
        s.attestations(2, &[6; 32]).await.unwrap(),
        vec![([7; 20], b"sig".to_vec())]
    );
    // After an L1 revert, the stages go back to sealed (then the blocks can be discarded).
    s.advance_stage(2, 1, Stage::Proven).await.unwrap();
    s.reset_stages(2).await.unwrap();
    assert!(
        s.stages(2)
            .await
            .unwrap()
            .iter()
            .all(|(_, st)| *st == Stage::Sealed)
    );
    assert_eq!(
        s.mempool(10).await.unwrap(),
        vec![([2; 32], b"tx two".to_vec())]
    );
    s.discard_from(
        2,
        &[([8; 32], b"back 1".to_vec()), ([9; 32], b"back 2".to_vec())],
        &[(1, 1, "rewound".to_string())],
    )
    .await
    .unwrap();
    assert_eq!(s.last_block().await.unwrap(), 1);
    assert_eq!(s.block(2).await.unwrap(), None);
    assert!(s.stages(2).await.unwrap().is_empty());
    assert_eq!(s.job_count(2).await.unwrap(), 0);
    assert!(s.attestations(2, &[6; 32]).await.unwrap().is_empty());
    assert_eq!(s.job_count(1).await.unwrap(), 2, "block 1 kept its jobs");
    assert_eq!(
        s.mempool(10).await.unwrap(),
        vec![
            ([8; 32], b"back 1".to_vec()),
            ([9; 32], b"back 2".to_vec()),
            ([2; 32], b"tx two".to_vec())
        ]
    );
    assert_eq!(
        s.priority_ops(1, 0).await.unwrap(),
        vec![(0, b"dep0".to_vec(), 10)]
    );
    assert_eq!(s.cursor(1).await.unwrap().as_deref(), Some("rewound"));

    // Snapshots: the newest counts as the last block when no later block is stored.
    assert!(!s.is_empty().await.unwrap());
    assert_eq!(s.snapshot().await.unwrap(), None);
    let snap = rollup_storage::Snapshot {
        number: 9,
        state: b"state".to_vec(),
        final_root: [1; 32],
        sync_hash: [2; 32],
        stored: "{}".into(),
    };
    s.insert_snapshot(&snap).await.unwrap();
    assert_eq!(s2.snapshot().await.unwrap(), Some(snap));
    assert_eq!(s.last_block().await.unwrap(), 9);
}

#[tokio::test]
async fn sqlite_backend() {
    exercise(&sqlite_url("exercise")).await;
}

#[tokio::test]
async fn postgres_backend() {
    let pg = Postgres::start();
    exercise(&pg.url()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_workers_never_share_a_job() {
    let pg = Postgres::start();
    let s = Storage::connect(&pg.url()).await.unwrap();
    let jobs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i]).collect();
    s.add_jobs(1, &jobs).await.unwrap();
    let mut handles = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(j) = s
                .claim_job(&format!("w{w}"), Duration::from_secs(600))
                .await
                .unwrap()
            {
                mine.push(j.job);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    assert_eq!(
        all,
        (0..40).collect::<Vec<u32>>(),
        "each job claimed exactly once"
    );
}

#[tokio::test]
async fn a_new_database_is_empty() {
    let s = Storage::connect(&sqlite_url("empty")).await.unwrap();
    assert!(s.is_empty().await.unwrap());
    assert_eq!(s.last_block().await.unwrap(), 0);
    s.add_tx(&[1; 32], b"tx").await.unwrap();
    assert!(!s.is_empty().await.unwrap());
}

#[tokio::test]
async fn bad_urls_are_refused() {
    assert!(matches!(
        Storage::connect("mysql://x").await,
        Err(StorageError::Url(_))
    ));
}
