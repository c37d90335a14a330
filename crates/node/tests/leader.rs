//! Two node servers on one database, each running the state keeper: only the holder of the
//! keeper lease seals; the other follows the stored blocks; when the leader stops renewing (its
//! process paused or dead) the other takes over within one lease and seals on top of every
//! block the first stored; the first, resumed, seals nothing — its lease is lost and its
//! writes are fenced — and follows instead. No block is sealed twice, none is lost.

use rollup_node::keeper;
use rollup_node::lead::{Leadership, is_fenced};
use rollup_state::NetworkConfig;
use rollup_state::dev::{DevWallet, deposit};
use rollup_storage::Storage;
use rollup_types::ChainId;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(2);

async fn server(url: &str, network: &NetworkConfig) -> rollup_node::Shared {
    let storage = Storage::connect(url).await.unwrap();
    keeper::restore(storage, network.clone(), 16).await.unwrap()
}

fn lead(name: &str) -> Leadership {
    Leadership {
        holder: name.into(),
        ttl: TTL,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_keeper_seals_a_deposed_one_is_fenced() {
    let dir = std::env::temp_dir().join(format!("rollup-leader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("node.db");
    let _ = std::fs::remove_file(&db);
    let url = format!("sqlite://{}", db.display());
    let network = NetworkConfig {
        chains: vec![ChainId(1), ChainId(2)],
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    let a = server(&url, &network).await;
    let b = server(&url, &network).await;
    let (lead_a, lead_b) = (lead("server-a"), lead("server-b"));
    let alice = DevWallet::new(1);
    let mut serial = 0;
    let mut queue = |storage: &Storage| {
        let dep = deposit(
            1,
            serial,
            alice.address(),
            0,
            1_000 + u128::from(serial as u32),
        );
        serial += 1;
        let storage = storage.clone();
        let s = serial;
        async move {
            storage
                .record_watch(
                    1,
                    &[(s - 1, dep.encode().unwrap(), s)],
                    &format!("{{\"next_block\":{},\"seen\":[]}}", s + 1),
                )
                .await
                .unwrap()
        }
    };
    let root = |s: &rollup_node::Shared| {
        let state = s.state.try_lock().unwrap().clone();
        let mut state = state;
        state.final_root()
    };

    // a leads and seals block 1; b follows it.
    queue(&a.storage).await;
    let (la, sealed) = keeper::round(&a, &lead_a, None, 64).await.unwrap();
    let la = la.expect("a leads");
    assert_eq!((la.epoch, sealed), (1, Some(1)));
    let (lb, sealed) = keeper::round(&b, &lead_b, None, 64).await.unwrap();
    assert_eq!((lb, sealed), (None, None), "b follows");
    assert_eq!(root(&b), root(&a), "b replayed a's block");
    // While a renews, b seals nothing, whatever is pending.
    queue(&a.storage).await;
    let (lb, sealed) = keeper::round(&b, &lead_b, None, 64).await.unwrap();
    assert_eq!((lb, sealed), (None, None));
    assert_eq!(a.storage.last_block().await.unwrap(), 1);

    // a pauses (no rounds) past its lease: b takes over, replays nothing new, seals block 2.
    tokio::time::sleep(TTL + Duration::from_millis(200)).await;
    let (lb, sealed) = keeper::round(&b, &lead_b, None, 64).await.unwrap();
    let lb = lb.expect("b leads");
    assert_eq!((lb.epoch, sealed), (2, Some(2)));

    // a resumes mid-seal with its old lease: its block is refused (fenced), its state stays.
    queue(&a.storage).await;
    let before = root(&a);
    let e = keeper::seal_as(&a, &a.storage.fenced(la.clone()), 64)
        .await
        .unwrap_err();
    assert!(is_fenced(&e), "{e:#}");
    assert_eq!(
        a.storage.last_block().await.unwrap(),
        2,
        "nothing sealed by a"
    );
    assert_eq!(root(&a), before);
    // Its next round: the lease is b's, so a follows (block 2 replayed) and seals nothing.
    let (la2, sealed) = keeper::round(&a, &lead_a, Some(la), 64).await.unwrap();
    assert_eq!((la2, sealed), (None, None));
    assert_eq!(root(&a), root(&b));
    // b goes on: block 3 carries the deposit a could not seal, once.
    let (lb, sealed) = keeper::round(&b, &lead_b, Some(lb), 64).await.unwrap();
    assert_eq!((lb.map(|l| l.epoch), sealed), (Some(2), Some(3)));
    let (_, sealed) = keeper::round(&a, &lead_a, None, 64).await.unwrap();
    assert_eq!(sealed, None);
    assert_eq!(root(&a), root(&b));
    assert_eq!(a.storage.last_block().await.unwrap(), 3);
    let state = b.state.lock().await;
    let acct = state
        .chain(ChainId(1))
        .unwrap()
        .account(state.account_id(&alice.address()).unwrap())
        .unwrap();
    assert_eq!(
        acct.balance(rollup_types::TokenId(0)).get(),
        1_000 + 1_001 + 1_002,
        "every deposit once"
    );
}
