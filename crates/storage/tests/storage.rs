//! Every storage operation against both backends: an SQLite file and a real PostgreSQL server (a
//! throwaway cluster started here with the Debian package's `initdb`/`pg_ctl`; `scripts/test.sh`
//! installs the package when it is missing — a missing server is a failure, never a skip).

use rollup_storage::{
    Admission, AdmissionLimits, AuthFact, BlockIndex, EXPIRED, IndexedTx, L1Chain, REJECTED, Stage,
    StageTx, Storage, StorageError, StoredBlock, StoredCalls, Token, TxKey, now_ms,
};
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
    s.insert_block(&b, &calls(&[1, 2, 3]), &BlockIndex::default())
        .await
        .unwrap();
    assert!(
        s.insert_block(&b, &calls(&[1]), &BlockIndex::default())
            .await
            .is_err(),
        "a block number is stored once"
    );
    assert_eq!(s.block(1).await.unwrap(), Some(b));
    assert_eq!(s.block(2).await.unwrap(), None);
    // The calls came in the block's transaction; the refused second write added none.
    assert_eq!(
        s.block_calls(1, 2).await.unwrap(),
        Some(calls(&[2]).remove(0))
    );
    assert_eq!(s.block_calls(1, 4).await.unwrap(), None);
    assert_eq!(s.block_calls(2, 1).await.unwrap(), None);
    assert!(s.blocks_without_calls().await.unwrap().is_empty());
    let mut other = calls(&[2]);
    other[0].commit = b"other".to_vec();
    s.insert_calls(1, &other).await.unwrap();
    assert_eq!(
        s.block_calls(1, 2).await.unwrap(),
        Some(calls(&[2]).remove(0)),
        "stored calls are never replaced"
    );
    assert_eq!(s.last_block().await.unwrap(), 1);
    assert!(s.advance_stage(1, 2, Stage::Proven).await.unwrap());
    assert!(!s.advance_stage(1, 2, Stage::Committed).await.unwrap());
    // A range raises only the rows below the stage, and only of its chain.
    assert_eq!(
        s.advance_stages(1..=1, 2, Stage::Committed).await.unwrap(),
        0
    );
    assert_eq!(
        s.advance_stages(1..=5, 3, Stage::Committed).await.unwrap(),
        1
    );
    // An empty range (a driver with nothing new) writes nothing.
    let (start, end) = (2, 1);
    assert_eq!(
        s.advance_stages(start..=end, 3, Stage::Executed)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.advance_stages(1..=1, 3, Stage::Sealed).await.unwrap(), 0);
    assert_eq!(
        s.stages(1).await.unwrap(),
        vec![
            (1, Stage::Sealed),
            (2, Stage::Proven),
            (3, Stage::Committed)
        ]
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
    s.insert_block(&b2, &calls(&[1, 2, 3]), &BlockIndex::default())
        .await
        .unwrap();
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
    assert_eq!(s2.snapshot().await.unwrap(), Some(snap.clone()));
    assert_eq!(s.last_block().await.unwrap(), 9);
    // The keeper's snapshots: the newest at or before a block; one per block (a second write
    // keeps the first); pruning keeps the oldest (a recovered database's base).
    let at = |number: u32, tag: u8| rollup_storage::Snapshot {
        number,
        state: vec![tag],
        ..snap.clone()
    };
    for n in [12, 15, 18] {
        s.insert_snapshot(&at(n, n as u8)).await.unwrap();
    }
    s.insert_snapshot(&at(15, 0)).await.unwrap();
    assert_eq!(s.snapshot_at_most(17).await.unwrap(), Some(at(15, 15)));
    assert_eq!(s.snapshot_at_most(8).await.unwrap(), None);
    assert_eq!(s.snapshot().await.unwrap().unwrap().number, 18);
    assert_eq!(s.prune_snapshots(18).await.unwrap(), 2);
    assert_eq!(s.snapshot_at_most(17).await.unwrap(), Some(snap));
    assert_eq!(s.snapshot().await.unwrap().unwrap().number, 18);
}

#[tokio::test]
async fn sqlite_backend() {
    exercise(&sqlite_url("exercise")).await;
    mempool_limits(&sqlite_url("mempool")).await;
    upgraded_mempool(&sqlite_url("upgrade")).await;
    explorer_index(&sqlite_url("explorer")).await;
    leases(&sqlite_url("leases")).await;
    facts_and_gas_prices(&sqlite_url("facts")).await;
}

#[tokio::test]
async fn postgres_backend() {
    let pg = Postgres::start();
    exercise(&pg.url()).await;
    // A fresh database per scenario on the same server.
    let url = |db: &str| {
        as_postgres(&format!(
            "{}/createdb -h 127.0.0.1 -p {} -U postgres {db}",
            pg.bin.display(),
            pg.port
        ));
        format!("postgres://postgres@127.0.0.1:{}/{db}", pg.port)
    };
    mempool_limits(&url("mempool")).await;
    upgraded_mempool(&url("upgrade")).await;
    explorer_index(&url("explorer")).await;
    leases(&url("leases")).await;
    facts_and_gas_prices(&url("facts")).await;
    // Many servers racing for a free lease: exactly one gets it.
    let racers = Storage::connect(&url("race")).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let s = racers.clone();
        tasks.spawn(async move {
            s.acquire_lease("keeper", &format!("server-{i}"), Duration::from_secs(30))
                .await
                .unwrap()
        });
    }
    let mut won = Vec::new();
    while let Some(r) = tasks.join_next().await {
        won.extend(r.unwrap());
    }
    assert_eq!(won.len(), 1, "{won:?}");
    assert_eq!(won[0].epoch, 1);
}

/// Leases: one holder at a time, renewal, expiry and takeover with a new epoch, and fencing —
/// a deposed leader's block insert and sender record are refused, its successor's go through.
/// Key-change facts from the watcher (stored with its cursor, immutable) and gas prices.
async fn facts_and_gas_prices(url: &str) {
    let s = Storage::connect(url).await.unwrap();
    let fact = |owner: u8, nonce: u32, f: u8| AuthFact {
        owner: [owner; 20],
        nonce,
        fact: [f; 32],
        l1_block: 5,
    };
    assert_eq!(s.auth_fact(1, &[7; 20], 0).await.unwrap(), None);
    s.record_batch(1, &[], &[], &[fact(7, 0, 1), fact(7, 1, 2)], "c1")
        .await
        .unwrap();
    assert_eq!(s.auth_fact(1, &[7; 20], 0).await.unwrap(), Some([1; 32]));
    assert_eq!(s.auth_fact(1, &[7; 20], 1).await.unwrap(), Some([2; 32]));
    // Per chain and per owner.
    assert_eq!(s.auth_fact(2, &[7; 20], 0).await.unwrap(), None);
    assert_eq!(s.auth_fact(1, &[8; 20], 0).await.unwrap(), None);
    // Read again (a rewound watcher): the same fact is harmless, another one is corruption and
    // the whole batch, cursor included, is not stored.
    s.record_batch(1, &[], &[], &[fact(7, 0, 1)], "c2")
        .await
        .unwrap();
    assert!(matches!(
        s.record_batch(1, &[], &[], &[fact(7, 2, 3), fact(7, 0, 9)], "c3")
            .await,
        Err(StorageError::Corrupt(_))
    ));
    assert_eq!(s.auth_fact(1, &[7; 20], 0).await.unwrap(), Some([1; 32]));
    assert_eq!(s.auth_fact(1, &[7; 20], 2).await.unwrap(), None);
    assert_eq!(s.cursor(1).await.unwrap().as_deref(), Some("c2"));
    // Gas prices: the last read per chain, wider than 64 bits.
    assert!(s.gas_prices().await.unwrap().is_empty());
    s.save_gas_price(1, 7).await.unwrap();
    s.save_gas_price(2, u128::MAX).await.unwrap();
    s.save_gas_price(1, 9).await.unwrap();
    let prices: Vec<(u8, u128)> = s
        .gas_prices()
        .await
        .unwrap()
        .into_iter()
        .map(|(c, w, _)| (c, w))
        .collect();
    assert_eq!(prices, vec![(1, 9), (2, u128::MAX)]);
}

async fn leases(url: &str) {
    let s = Storage::connect(url).await.unwrap();
    let ttl = Duration::from_millis(400);
    assert_eq!(s.lease("keeper").await.unwrap(), None);
    let a = s.acquire_lease("keeper", "a", ttl).await.unwrap().unwrap();
    assert_eq!(a.epoch, 1);
    assert_eq!(
        s.acquire_lease("keeper", "b", ttl).await.unwrap(),
        None,
        "held by a"
    );
    // Another name is another lease.
    assert!(
        s.acquire_lease("sender-1", "b", ttl)
            .await
            .unwrap()
            .is_some()
    );
    // The holder acquiring again renews under the same epoch.
    assert_eq!(
        s.acquire_lease("keeper", "a", ttl).await.unwrap(),
        Some(a.clone())
    );
    assert!(s.renew_lease(&a, ttl).await.unwrap());
    let fenced_a = s.fenced(a.clone());
    fenced_a
        .insert_block(&block(1), &calls(&[1]), &BlockIndex::default())
        .await
        .unwrap();
    fenced_a.save_l1_tx(1, 0, "{}").await.unwrap();
    // a stops renewing (paused, partitioned): after the lease runs out, b takes over.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(!s.renew_lease(&a, ttl).await.unwrap(), "expired");
    // Expired and not yet taken: a's writes are refused already.
    let e = fenced_a
        .insert_block(&block(2), &calls(&[1]), &BlockIndex::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, StorageError::Fenced(ref n) if n == "keeper"),
        "{e}"
    );
    let b = s.acquire_lease("keeper", "b", ttl).await.unwrap().unwrap();
    assert_eq!(b.epoch, 2, "a new holder, a new epoch");
    assert_eq!(s.lease("keeper").await.unwrap().unwrap().holder, "b");
    let e = fenced_a
        .insert_block(&block(2), &calls(&[1]), &BlockIndex::default())
        .await
        .unwrap_err();
    assert!(matches!(e, StorageError::Fenced(_)), "{e}");
    assert!(matches!(
        fenced_a.save_l1_tx(1, 1, "{}").await.unwrap_err(),
        StorageError::Fenced(_)
    ));
    assert!(matches!(
        fenced_a
            .drop_txs(&[([1; 32], EXPIRED, "x".into())])
            .await
            .unwrap_err(),
        StorageError::Fenced(_)
    ));
    assert_eq!(
        s.last_block().await.unwrap(),
        1,
        "nothing of the deposed leader"
    );
    assert_eq!(s.l1_txs(1).await.unwrap().len(), 1);
    let fenced_b = s.fenced(b.clone());
    fenced_b
        .insert_block(&block(2), &calls(&[1]), &BlockIndex::default())
        .await
        .unwrap();
    assert_eq!(s.last_block().await.unwrap(), 2);
    // An unfenced handle (the API, a follower's reads and its own tables) is not affected.
    s.save_l1_tx(2, 0, "{}").await.unwrap();
    // A clean handover: b releases, a takes it at once, under epoch 3.
    s.release_lease(&b).await.unwrap();
    assert_eq!(
        s.acquire_lease("keeper", "a", ttl)
            .await
            .unwrap()
            .map(|l| l.epoch),
        Some(3)
    );
    assert!(!s.renew_lease(&b, ttl).await.unwrap());
}

fn block(number: u32) -> StoredBlock {
    StoredBlock {
        number,
        data: vec![number as u8],
        final_root: [number as u8; 32],
        sync_hash: [number as u8 + 100; 32],
    }
}

fn indexed(hash: u8, kind: &str, chain: u8, accounts: &[u32]) -> IndexedTx {
    IndexedTx {
        hash: [hash; 32],
        kind: kind.into(),
        chain,
        tx: vec![hash, hash],
        accounts: accounts.to_vec(),
    }
}

/// The explorer's index: written with each block, read by hash, account and page; stage
/// transactions with the watcher's cursor; tokens and L1 facts; gone with a discarded block.
async fn explorer_index(url: &str) {
    let s = Storage::connect(url).await.unwrap();
    let one = BlockIndex {
        summary: "{\"n\":1}".into(),
        txs: vec![
            indexed(1, "deposit", 1, &[1]),
            indexed(2, "transfer", 2, &[1, 2, 1]),
        ],
    };
    s.insert_block(&block(1), &calls(&[1, 2]), &one)
        .await
        .unwrap();
    // A block stored without a summary (as before the index existed) is listed as unindexed
    // until the keeper indexes it.
    s.insert_block(&block(2), &calls(&[1, 2]), &BlockIndex::default())
        .await
        .unwrap();
    assert_eq!(s.unindexed_blocks().await.unwrap(), vec![2]);
    let two = BlockIndex {
        summary: "{\"n\":2}".into(),
        txs: vec![indexed(3, "withdraw", 1, &[2])],
    };
    s.index_block(2, &two).await.unwrap();
    s.index_block(2, &two).await.unwrap();
    assert!(s.unindexed_blocks().await.unwrap().is_empty());
    s.insert_block(&block(3), &calls(&[1, 2]), &BlockIndex::default())
        .await
        .unwrap();

    let page = s.blocks_page(None, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|b| b.number).collect::<Vec<_>>(),
        vec![3, 2]
    );
    assert_eq!(page[1].summary.as_deref(), Some("{\"n\":2}"));
    assert_eq!(page[1].final_root, [2; 32]);
    let older = s.blocks_page(Some(2), 10).await.unwrap();
    assert_eq!(older.iter().map(|b| b.number).collect::<Vec<_>>(), vec![1]);
    assert_eq!(s.block_row(1).await.unwrap().unwrap().sync_hash, [101; 32]);
    assert!(s.block_row(9).await.unwrap().is_none());

    let txs = s.block_tx_refs(1).await.unwrap();
    assert_eq!(
        txs.iter()
            .map(|t| (t.hash[0], t.kind.as_str(), t.chain, t.position))
            .collect::<Vec<_>>(),
        vec![(1, "deposit", 1, 0), (2, "transfer", 2, 1)]
    );
    let (place, bytes) = s.indexed_tx(&[3; 32]).await.unwrap().unwrap();
    assert_eq!((place.number, place.position, bytes), (2, 0, vec![3, 3]));
    assert!(s.indexed_tx(&[9; 32]).await.unwrap().is_none());
    let history = |a| {
        let s = s.clone();
        async move {
            s.account_txs(a, 10)
                .await
                .unwrap()
                .iter()
                .map(|t| t.hash[0])
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(history(1).await, vec![2, 1], "newest first, once each");
    assert_eq!(history(2).await, vec![3, 2]);
    assert_eq!(s.account_txs(2, 1).await.unwrap().len(), 1);

    // Stage transactions ride the watcher's batch.
    let st = |number, chain, stage, h| StageTx {
        number,
        chain,
        stage,
        l1_hash: [h; 32],
        l1_block: 7,
        gas_used: 50_000,
        at_ms: 1_000,
    };
    s.record_batch(1, &[], &[st(1, 1, Stage::Committed, 1)], &[], "c1")
        .await
        .unwrap();
    // Read again after a reorg: replaced, not duplicated.
    s.record_batch(
        1,
        &[],
        &[st(1, 1, Stage::Committed, 2), st(2, 1, Stage::Committed, 3)],
        &[],
        "c2",
    )
    .await
    .unwrap();
    assert_eq!(s.cursor(1).await.unwrap().as_deref(), Some("c2"));
    let mut rows = s.stage_txs_between(1, 3).await.unwrap();
    rows.sort_by_key(|r| r.number);
    assert_eq!(
        rows,
        vec![st(1, 1, Stage::Committed, 2), st(2, 1, Stage::Committed, 3)]
    );
    s.advance_stage(1, 1, Stage::Executed).await.unwrap();
    s.advance_stage(2, 1, Stage::Proven).await.unwrap();
    let mut progress = s.chain_progress().await.unwrap();
    progress.sort();
    assert_eq!(
        progress,
        vec![
            (1, Stage::Sealed, 3),
            (1, Stage::Proven, 2),
            (1, Stage::Executed, 1),
            (2, Stage::Sealed, 3)
        ]
    );
    let mut stages = s.stages_between(1, 2).await.unwrap();
    stages.sort();
    assert_eq!(stages[0], (1, 1, Stage::Executed));
    assert_eq!(stages.len(), 4);

    // Tokens and L1 facts: upserts.
    let tusd = Token {
        chain: 2,
        token: 1,
        address: [7; 20],
        symbol: Some("TUSD".into()),
        decimals: 6,
    };
    let odd = Token {
        chain: 2,
        token: 2,
        address: [8; 20],
        symbol: None,
        decimals: 0,
    };
    s.save_tokens(&[tusd.clone(), odd.clone()]).await.unwrap();
    s.save_tokens(std::slice::from_ref(&tusd)).await.unwrap();
    assert_eq!(s.tokens().await.unwrap(), vec![tusd, odd]);
    let mut l1 = L1Chain {
        chain: 1,
        evm_chain_id: 31337,
        contract: [5; 20],
        oracles: vec![[1; 20], [2; 20], [3; 20]],
        oracle_threshold: 2,
    };
    s.save_l1_chain(&l1).await.unwrap();
    l1.oracle_threshold = 3;
    s.save_l1_chain(&l1).await.unwrap();
    assert_eq!(s.l1_chains().await.unwrap(), vec![l1]);

    // A discarded block takes its index with it; a transaction returned to the mempool and
    // sealed again in another block is found there.
    s.discard_from(2, &[([3; 32], vec![3, 3])], &[])
        .await
        .unwrap();
    assert!(s.indexed_tx(&[3; 32]).await.unwrap().is_none());
    assert_eq!(history(2).await, vec![2]);
    assert_eq!(s.stage_txs_between(2, 3).await.unwrap(), vec![]);
    s.insert_block(&block(2), &calls(&[1, 2]), &two)
        .await
        .unwrap();
    assert_eq!(s.indexed_tx(&[3; 32]).await.unwrap().unwrap().0.number, 2);
}

/// Calls of a test block on `chains` (opaque bytes to the storage).
fn calls(chains: &[u8]) -> Vec<StoredCalls> {
    chains
        .iter()
        .map(|&chain| StoredCalls {
            chain,
            commit: vec![chain, 1],
            execute: vec![chain, 2],
            prove: vec![chain, 3],
        })
        .collect()
}

fn key(chain: u8, account: u32, nonce: u32) -> TxKey {
    TxKey {
        chain,
        account,
        nonce,
    }
}

/// Admission under the limits, the sender index selection reads, expiry, outcomes and their
/// pruning — and all of it survives reconnecting (a restart).
async fn mempool_limits(url: &str) {
    let s = Storage::connect(url).await.unwrap();
    let limits = AdmissionLimits {
        capacity: 5,
        per_account: 3,
        ttl_ms: 60_000,
    };
    let before = now_ms();
    let admit = |h: u8, k: TxKey, l: AdmissionLimits| {
        let s = s.clone();
        async move { s.admit_tx(&[h; 32], &[h], k, false, l).await.unwrap() }
    };
    // Account 7 takes its share: three entries over two chains, the fourth is refused.
    let Admission::Added { expires_ms } = admit(1, key(1, 7, 5), limits).await else {
        panic!("admitted")
    };
    assert!(expires_ms >= before + 60_000 && expires_ms <= now_ms() + 60_000);
    assert!(matches!(
        admit(2, key(1, 7, 6), limits).await,
        Admission::Added { .. }
    ));
    assert!(matches!(
        admit(3, key(2, 7, 0), limits).await,
        Admission::Added { .. }
    ));
    assert_eq!(admit(1, key(1, 7, 5), limits).await, Admission::Known);
    assert_eq!(
        admit(4, key(1, 7, 7), limits).await,
        Admission::AccountFull { pending: 3 }
    );
    assert_eq!(s.account_pending(7).await.unwrap(), 3);
    // Except for the account's next nonce on a chain where no entry holds it: once.
    assert_eq!(
        s.admit_tx(&[11; 32], &[11], key(1, 7, 5), true, limits)
            .await
            .unwrap(),
        Admission::AccountFull { pending: 3 },
        "nonce 5 on chain 1 is held already"
    );
    assert!(matches!(
        s.admit_tx(&[11; 32], &[11], key(3, 7, 0), true, limits)
            .await
            .unwrap(),
        Admission::Added { .. }
    ));
    assert_eq!(
        s.admit_tx(&[12; 32], &[12], key(3, 7, 0), true, limits)
            .await
            .unwrap(),
        Admission::AccountFull { pending: 4 },
        "only once"
    );
    s.remove_txs(&[[11; 32]]).await.unwrap();
    // Others fill the rest; the sixth entry finds the mempool full.
    assert!(matches!(
        admit(5, key(1, 8, 0), limits).await,
        Admission::Added { .. }
    ));
    assert!(matches!(
        admit(6, key(1, 9, 2), limits).await,
        Admission::Added { .. }
    ));
    assert_eq!(
        admit(10, key(1, 10, 0), limits).await,
        Admission::Full { pending: 5 }
    );
    assert_eq!(s.mempool_len().await.unwrap(), 5);

    // Senders by their oldest entry, with their lowest nonce; a sender's entries in nonce order.
    let heads = s.mempool_senders(10).await.unwrap();
    let summary: Vec<(u8, u32, u32)> = heads
        .iter()
        .map(|h| (h.chain, h.account, h.first_nonce))
        .collect();
    assert_eq!(summary, vec![(1, 7, 5), (2, 7, 0), (1, 8, 0), (1, 9, 2)]);
    assert_eq!(s.mempool_senders(2).await.unwrap().len(), 2);
    let mine = s.sender_txs(1, 7, 10).await.unwrap();
    assert_eq!(
        mine.iter()
            .map(|t| (t.hash[0], t.key.nonce))
            .collect::<Vec<_>>(),
        vec![(1, 5), (2, 6)]
    );
    assert_eq!(mine[0].tx, vec![1]);
    assert_eq!(s.sender_txs(1, 7, 1).await.unwrap().len(), 1);

    // Expiry: nothing is due now; a minute on, everything is.
    assert!(s.expired_txs(now_ms(), 10).await.unwrap().is_empty());
    let due = s.expired_txs(now_ms() + 61_000, 10).await.unwrap();
    assert_eq!(due.len(), 5);
    assert_eq!(s.expired_txs(now_ms() + 61_000, 2).await.unwrap().len(), 2);
    let timing = s.pool_timing(&[2; 32]).await.unwrap().unwrap();
    assert!(timing.added_ms.unwrap() >= before);
    assert_eq!(timing.expires_ms, Some(timing.added_ms.unwrap() + 60_000));
    assert_eq!(s.pool_timing(&[4; 32]).await.unwrap(), None);

    // Dropping records the outcome; an entry already gone (sealed meanwhile) gets none.
    s.drop_txs(&[
        ([1; 32], EXPIRED, "waited for nonce 4".into()),
        ([5; 32], REJECTED, "insufficient balance".into()),
        ([99; 32], EXPIRED, "not there".into()),
    ])
    .await
    .unwrap();
    assert_eq!(s.mempool_len().await.unwrap(), 3);
    assert_eq!(s.account_pending(7).await.unwrap(), 2);
    let o = s.tx_outcome(&[1; 32]).await.unwrap().unwrap();
    assert_eq!(
        (o.status.as_str(), o.reason.as_str()),
        (EXPIRED, "waited for nonce 4")
    );
    assert!(o.at_ms >= before);
    assert_eq!(
        s.tx_outcome(&[5; 32]).await.unwrap().unwrap().status,
        REJECTED
    );
    assert_eq!(s.tx_outcome(&[99; 32]).await.unwrap(), None);
    assert_eq!(s.pool_timing(&[1; 32]).await.unwrap(), None);

    // A restart keeps entries, expiries and outcomes.
    drop(s);
    let s = Storage::connect(url).await.unwrap();
    assert_eq!(s.pool_timing(&[2; 32]).await.unwrap(), Some(timing));
    assert_eq!(
        s.tx_outcome(&[1; 32]).await.unwrap().unwrap().status,
        EXPIRED
    );

    // Admitted again, a dropped transaction is pending again: its old outcome goes.
    assert!(matches!(
        s.admit_tx(&[1; 32], &[1], key(1, 7, 5), false, limits)
            .await
            .unwrap(),
        Admission::Added { .. }
    ));
    assert_eq!(s.tx_outcome(&[1; 32]).await.unwrap(), None);

    // Outcomes are pruned by age and by count (the newest kept).
    let all: Vec<[u8; 32]> = (20..26u8).map(|i| [i; 32]).collect();
    for (i, h) in all.iter().enumerate() {
        s.admit_tx(
            h,
            &[0],
            key(3, 100 + i as u32, 0),
            false,
            AdmissionLimits {
                capacity: 100,
                ..limits
            },
        )
        .await
        .unwrap();
    }
    for h in &all {
        s.drop_txs(&[(*h, REJECTED, "r".into())]).await.unwrap();
    }
    assert_eq!(
        s.prune_outcomes(0, 4).await.unwrap(),
        3,
        "[5] and [20], [21] go"
    );
    assert_eq!(s.tx_outcome(&[21; 32]).await.unwrap(), None);
    assert!(s.tx_outcome(&[22; 32]).await.unwrap().is_some());
    assert!(s.tx_outcome(&[25; 32]).await.unwrap().is_some());
    assert_eq!(s.prune_outcomes(now_ms() + 1, 100).await.unwrap(), 4);
    assert_eq!(s.tx_outcome(&[25; 32]).await.unwrap(), None);
}

/// A database migrated before the mempool limits, with an entry in its mempool: the new
/// migration applies over it, the entry is kept, unindexed until the keeper indexes it (with a
/// lifetime from then), and then counts like any other.
async fn upgraded_mempool(url: &str) {
    sqlx::any::install_default_drivers();
    let pool_url = if url.starts_with("sqlite://") {
        format!("{url}?mode=rwc")
    } else {
        url.to_string()
    };
    {
        let pool = sqlx::AnyPool::connect(&pool_url).await.unwrap();
        let mut old = sqlx::migrate!("./migrations");
        old.migrations = old
            .migrations
            .iter()
            .filter(|m| m.version < 4)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        assert_eq!(old.migrations.len(), 3);
        old.run(&pool).await.unwrap();
        sqlx::query("INSERT INTO mempool (hash, seq, tx) VALUES ($1, 1, $2)")
            .bind(vec![7u8; 32])
            .bind(b"legacy".to_vec())
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let s = Storage::connect(url).await.unwrap();
    assert_eq!(
        s.mempool(10).await.unwrap(),
        vec![([7; 32], b"legacy".to_vec())]
    );
    assert_eq!(
        s.unindexed_txs(10).await.unwrap(),
        vec![([7; 32], b"legacy".to_vec())]
    );
    assert!(
        s.mempool_senders(10).await.unwrap().is_empty(),
        "not selectable unindexed"
    );
    let timing = s.pool_timing(&[7; 32]).await.unwrap().unwrap();
    assert_eq!((timing.added_ms, timing.expires_ms), (None, None));
    assert!(
        s.expired_txs(i64::MAX, 10).await.unwrap().is_empty(),
        "no expiry yet"
    );
    // The plain insert (operator tools) leaves an entry unindexed too.
    assert!(s.add_tx(&[8; 32], b"plain").await.unwrap());
    assert_eq!(s.unindexed_txs(10).await.unwrap().len(), 2);
    let t0 = now_ms();
    s.index_txs(&[([7; 32], key(1, 4, 0))], 1_000)
        .await
        .unwrap();
    assert_eq!(
        s.unindexed_txs(10).await.unwrap(),
        vec![([8; 32], b"plain".to_vec())]
    );
    let timing = s.pool_timing(&[7; 32]).await.unwrap().unwrap();
    assert!(timing.added_ms.unwrap() >= t0);
    assert_eq!(timing.expires_ms, Some(timing.added_ms.unwrap() + 1_000));
    assert_eq!(s.account_pending(4).await.unwrap(), 1);
    assert_eq!(s.mempool_senders(10).await.unwrap().len(), 1);
    let limits = AdmissionLimits {
        capacity: 10,
        per_account: 1,
        ttl_ms: 1_000,
    };
    assert_eq!(
        s.admit_tx(&[9; 32], b"x", key(2, 4, 0), false, limits)
            .await
            .unwrap(),
        Admission::AccountFull { pending: 1 }
    );
    assert_eq!(s.expired_txs(now_ms() + 2_000, 10).await.unwrap().len(), 1);
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

/// Many API processes admit at once (separate pools on one PostgreSQL server): the account's
/// share and the mempool's capacity still hold exactly, and no admission fails.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_admissions_respect_the_limits() {
    let pg = Postgres::start();
    let limits = AdmissionLimits {
        capacity: 12,
        per_account: 3,
        ttl_ms: 60_000,
    };
    let mut replicas = Vec::new();
    for _ in 0..4 {
        replicas.push(Storage::connect(&pg.url()).await.unwrap());
    }
    let mut handles = Vec::new();
    for (r, s) in replicas.into_iter().enumerate() {
        handles.push(tokio::spawn(async move {
            let mut added = Vec::new();
            for i in 0..10u8 {
                // Account 1 from every replica (quota), then accounts 2.. (capacity).
                let h = [r as u8 * 16 + i; 32];
                let account = if i < 5 { 1 } else { 2 + i as u32 };
                let k = key(1, account, (r * 10 + i as usize) as u32);
                if let Admission::Added { .. } =
                    s.admit_tx(&h, &[i], k, false, limits).await.unwrap()
                {
                    added.push(account);
                }
            }
            added
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let s = Storage::connect(&pg.url()).await.unwrap();
    assert_eq!(all.iter().filter(|a| **a == 1).count(), 3, "{all:?}");
    assert_eq!(s.account_pending(1).await.unwrap(), 3);
    assert_eq!(all.len(), 12, "{all:?}");
    assert_eq!(s.mempool_len().await.unwrap(), 12);
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

/// Every node server's watcher records the same batches of a chain, at the same moments: on
/// PostgreSQL, two servers recording one batch concurrently both succeed and store it once
/// (the HA chaos test found the first-cursor insert failing on a unique key), and a differing
/// request is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_watchers_record_the_same_batch() {
    let pg = Postgres::start();
    let s = Storage::connect(&pg.url()).await.unwrap();
    let ops: Vec<(u64, Vec<u8>, u64)> = (0..20u64).map(|i| (i, vec![i as u8; 8], i)).collect();
    let facts = vec![AuthFact {
        owner: [7; 20],
        nonce: 0,
        fact: [9; 32],
        l1_block: 3,
    }];
    for round in 0..5 {
        let mut handles = Vec::new();
        for _ in 0..4 {
            let (s, ops, facts) = (s.clone(), ops.clone(), facts.clone());
            handles.push(tokio::spawn(async move {
                s.record_batch(1, &ops, &[], &facts, &format!("cursor {round}"))
                    .await
            }));
        }
        for h in handles {
            h.await.unwrap().unwrap();
        }
    }
    assert_eq!(s.cursor(1).await.unwrap().as_deref(), Some("cursor 4"));
    assert_eq!(s.auth_fact(1, &[7; 20], 0).await.unwrap(), Some([9; 32]));
    let mut changed = ops.clone();
    changed[3].1 = b"another".to_vec();
    assert!(matches!(
        s.record_batch(1, &changed, &[], &facts, "cursor 5").await,
        Err(StorageError::Corrupt(_))
    ));
}
