//! Chaos on the highly available devnet (`DevnetConfig::ha`): real PostgreSQL streaming
//! replication, real HAProxy, two node servers, three API replicas, real proofs — with a load
//! of transfers submitted through the balancer all along. One after the other:
//! (c) an API replica is killed: submissions keep succeeding through the balancer;
//! (a) the leading node server is killed with SIGKILL: the other takes the keeper and sender
//!     leases and seals the next block;
//! (d) the new leader is paused (SIGSTOP) past its lease, the restarted one takes over, and the
//!     paused one, resumed, seals nothing and sends nothing;
//! (b) the PostgreSQL primary is killed with SIGKILL: the standby is promoted and the node goes
//!     on.
//! Then every accepted transfer is executed exactly once (the sender's nonce and every balance
//! add up), no L1 transaction of the operator reverted (none sent twice under a new nonce), and
//! the state rebuilt from the chains alone has the node's root. The figures (failover times,
//! failed requests, replication lag) are printed as `HA …` lines for docs/OPERATIONS.md.

use alloy::providers::Provider;
use rollup_devnet::{ALICE, CHAINS, Devnet, DevnetConfig, HA_APIS, HA_NODES};
use rollup_sdk::{Client, SdkError};
use rollup_types::tx::{L2Tx, Transfer};
use rollup_types::{AccountId, Amount, Nonce, TokenId};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const ETH: u128 = 1_000_000_000_000_000_000;
const AMOUNT: u128 = 1_000_000_000;
const RECIPIENTS: u8 = 3;

/// What the load task saw.
#[derive(Default, Debug)]
struct Load {
    /// The transfers the API accepted (chain slot, hash), in the order sent.
    accepted: Vec<(usize, String)>,
    /// Each failed request: when (since the load started) and what the client saw.
    failures: Vec<(f64, String)>,
    /// Fees paid on each chain, in wei.
    fees: [u128; 3],
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ha_failovers_under_load() {
    let repo = rollup_l1::solc::repo_root();
    let dir = std::env::temp_dir().join(format!("rollup-ha-{}", std::process::id()));
    let mut net = Devnet::start(
        &DevnetConfig::on_free_ports(dir.clone(), repo.join(".data/keys"), true),
        &|s| println!("{s}"),
    )
    .await
    .unwrap();
    let client = Client::new(&format!("http://{}", net.api)).unwrap();
    let alice = net.wallet(ALICE).unwrap();
    let chain = CHAINS[0];
    for slot in 0..CHAINS.len() {
        net.l1(slot, ALICE)
            .unwrap()
            .deposit_eth(
                alloy::primitives::Address::from(alice.address().0),
                10 * ETH,
            )
            .await
            .unwrap();
    }
    let id = loop {
        net.check_components().unwrap();
        let mut funded = 0;
        for c in CHAINS {
            if let Some(a) = client.account(alice.address(), c).await.unwrap()
                && a.balance(TokenId(0)) > 0
            {
                funded += 1;
            }
        }
        if funded == CHAINS.len() {
            break client
                .account(alice.address(), chain)
                .await
                .unwrap()
                .unwrap()
                .id;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let cpk_fee = client
        .min_fee("change_pubkey", chain, TokenId(0))
        .await
        .unwrap();
    let cpk = client
        .submit(
            &alice
                .change_pubkey(&net.domain, chain, AccountId(id), 0, TokenId(0), cpk_fee)
                .unwrap(),
        )
        .await
        .unwrap();
    client
        .wait_tx(&cpk, "sealed", Duration::from_secs(120))
        .await
        .unwrap();
    let mut fees = Vec::new();
    for c in CHAINS {
        fees.push(client.min_fee("transfer", c, TokenId(0)).await.unwrap());
    }

    // The load: a transfer every 300 ms through the balancer, over the three chains in turn,
    // each retried until the API accepted it (a retry that finds it known counts as accepted:
    // the first try got in).
    let load = Arc::new(Mutex::new(Load::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let task = {
        let (load, stop, domain) = (load.clone(), stop.clone(), net.domain);
        let client = Client::new(&format!("http://{}", net.api)).unwrap();
        let alice = net.wallet(ALICE).unwrap();
        tokio::spawn(async move {
            // The key change used chain 1's nonce 0.
            let mut nonces = [1u32, 0, 0];
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let slot = i % CHAINS.len();
                let tx = alice
                    .sign(
                        L2Tx::Transfer(Transfer {
                            chain: CHAINS[slot],
                            from: AccountId(id),
                            to: rollup_crypto::Address(
                                [0x40 + (i / 3 % RECIPIENTS as usize) as u8; 20],
                            ),
                            token: TokenId(0),
                            amount: Amount::new(AMOUNT).unwrap(),
                            fee: Amount::new(fees[slot]).unwrap(),
                            nonce: Nonce(nonces[slot]),
                        }),
                        &domain,
                    )
                    .unwrap();
                let hash = hex::encode(tx.hash().unwrap());
                loop {
                    match client.submit(&tx).await {
                        Ok(_) => break,
                        Err(SdkError::Rejected { code, .. }) if code == rollup_sdk::code::KNOWN => {
                            break;
                        }
                        Err(e) => {
                            load.lock()
                                .await
                                .failures
                                .push((started.elapsed().as_secs_f64(), e.to_string()));
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
                let mut l = load.lock().await;
                l.accepted.push((slot, format!("0x{hash}")));
                l.fees[slot] += fees[slot];
                drop(l);
                nonces[slot] += 1;
                i += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    let failures = || {
        let load = load.clone();
        async move { load.lock().await.failures.len() }
    };
    let accepted = || {
        let load = load.clone();
        async move { load.lock().await.accepted.len() }
    };
    let mut lag_max = 0u64;
    let mut watch = async |net: &mut Devnet, secs: u64| {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            net.check_components().unwrap();
            if let Some(h) = &net.ha
                && let Some((state, lag)) = h.pg.replication().unwrap()
            {
                assert_eq!(state, "sync", "the standby replicates synchronously");
                lag_max = lag_max.max(lag);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    watch(&mut net, 4).await;
    assert!(accepted().await > 5, "the load runs");

    // (c) An API replica dies: the balancer's check takes it out; requests that met it are
    // retried on another replica by HAProxy.
    let (before_fail, before_ok) = (failures().await, accepted().await);
    net.kill_server(HA_APIS[1]).await.unwrap();
    watch(&mut net, 6).await;
    let api_failed = failures().await - before_fail;
    let api_ok = accepted().await - before_ok;
    println!("HA api-replica-kill: {api_ok} accepted, {api_failed} failed requests");
    assert!(api_ok > 10, "submissions go on through the other replicas");
    let down = rollup_devnet::ha::Haproxy::servers(net.ha.as_ref().unwrap().balance.stats, "api")
        .await
        .unwrap();
    assert!(
        down.iter()
            .any(|(n, s)| n == "api2" && s.starts_with("DOWN")),
        "HAProxy marks the dead replica down: {down:?}"
    );
    net.start_server(HA_APIS[1]).unwrap();

    // (a) The leading node server dies: the other leads once the lease expires.
    let leader = net.leader("keeper").await.unwrap().expect("a keeper leads");
    let other = HA_NODES.iter().find(|n| **n != leader).unwrap().to_string();
    let sealed_before = net.storage.last_block().await.unwrap();
    let killed_at = Instant::now();
    net.kill_server(&leader).await.unwrap();
    let mut took_over = None;
    let mut sealed_after = None;
    while sealed_after.is_none() {
        net.check_components().unwrap();
        if took_over.is_none() && net.leader("keeper").await.unwrap().as_deref() == Some(&other) {
            took_over = Some(killed_at.elapsed().as_secs_f64());
        }
        if took_over.is_some() && net.storage.last_block().await.unwrap() > sealed_before {
            sealed_after = Some(killed_at.elapsed().as_secs_f64());
        }
        assert!(killed_at.elapsed() < Duration::from_secs(60), "no takeover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "HA leader-kill: {other} leads after {:.1} s, seals a block after {:.1} s",
        took_over.unwrap(),
        sealed_after.unwrap()
    );
    // Every chain's sender too.
    let until = Instant::now() + Duration::from_secs(30);
    for c in CHAINS {
        while net
            .leader(&format!("sender-{}", c.0))
            .await
            .unwrap()
            .as_deref()
            != Some(&other)
        {
            assert!(Instant::now() < until, "sender-{} not taken over", c.0);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    net.start_server(&leader).unwrap();
    watch(&mut net, 2).await;

    // (d) The new leader is paused past its lease: the restarted server takes over; resumed,
    // the deposed one must not seal or send.
    let paused = other.clone();
    let successor = leader.clone();
    net.signal_server(&paused, "STOP").unwrap();
    let stopped_at = Instant::now();
    while net.leader("keeper").await.unwrap().as_deref() != Some(&successor) {
        assert!(
            stopped_at.elapsed() < Duration::from_secs(60),
            "no takeover from the paused leader"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "HA paused-leader: {successor} leads after {:.1} s",
        stopped_at.elapsed().as_secs_f64()
    );
    watch(&mut net, 2).await;
    let log = net.log_of(&paused);
    let seen = std::fs::read_to_string(&log).unwrap().len();
    net.signal_server(&paused, "CONT").unwrap();
    watch(&mut net, 6).await;
    let after = std::fs::read_to_string(&log).unwrap()[seen..].to_string();
    for forbidden in [
        "block sealed",
        "transaction signed and stored",
        "sent chain=",
    ] {
        assert!(
            !after.contains(forbidden),
            "the deposed leader acted after it resumed ({forbidden:?}):\n{after}"
        );
    }
    assert!(
        after.contains("lease lost") || after.contains("not sealing"),
        "the deposed leader noticed it lost its leases:\n{after}"
    );

    // (b) The database primary dies: the standby is promoted (by the devnet's check, as a
    // failover manager would) and the node servers reconnect through HAProxy.
    let (before_fail, before_ok) = (failures().await, accepted().await);
    let sealed_before = net.storage.last_block().await.unwrap();
    let killed_at = Instant::now();
    net.ha.as_ref().unwrap().pg.kill_primary().unwrap();
    net.check_components().unwrap();
    assert!(
        net.ha.as_ref().unwrap().pg.promoted,
        "the standby is promoted"
    );
    let promoted = killed_at.elapsed().as_secs_f64();
    let mut first_ok = None;
    let mut first_block = None;
    while first_block.is_none() {
        net.check_components().unwrap();
        if first_ok.is_none() && accepted().await > before_ok {
            first_ok = Some(killed_at.elapsed().as_secs_f64());
        }
        if net
            .storage
            .last_block()
            .await
            .is_ok_and(|n| n > sealed_before)
        {
            first_block = Some(killed_at.elapsed().as_secs_f64());
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(90),
            "the node did not go on"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    watch(&mut net, 3).await;
    println!(
        "HA database-kill: standby promoted after {promoted:.1} s, first submission accepted after {:.1} s, first block sealed after {:.1} s, {} failed requests meanwhile",
        first_ok.unwrap_or(f64::NAN),
        first_block.unwrap(),
        failures().await - before_fail
    );

    stop.store(true, Ordering::SeqCst);
    task.await.unwrap();
    let load = std::mem::take(&mut *load.lock().await);
    println!(
        "HA load: {} transfers accepted over {:.0} s, {} failed requests in all; the largest replication lag seen {lag_max} bytes",
        load.accepted.len(),
        started.elapsed().as_secs_f64(),
        load.failures.len()
    );
    for (t, e) in &load.failures {
        println!("  failed at {t:.1} s: {e}");
    }

    // Every accepted transfer executed, exactly once: the sender's nonces count them and the
    // balances add up.
    let (_, last) = load.accepted.last().unwrap();
    client
        .wait_tx(last, "executed", Duration::from_secs(1800))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1800);
    while !net.all_executed().await.unwrap() {
        net.check_components().unwrap();
        assert!(Instant::now() < deadline, "blocks not executed everywhere");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (_, h) in &load.accepted {
        let s = client.tx_status(h).await.unwrap();
        assert_eq!(s["status"], "block", "{h}: {s}");
        let stages = s["stages"].as_object().unwrap();
        assert!(
            stages.len() == CHAINS.len() && stages.values().all(|v| v == "executed"),
            "{h}: {s}"
        );
    }
    for (slot, c) in CHAINS.iter().enumerate() {
        let n = load.accepted.iter().filter(|(s, _)| *s == slot).count() as u128;
        let cpk = if slot == 0 { 1 } else { 0 };
        let a = client.account(alice.address(), *c).await.unwrap().unwrap();
        assert_eq!(
            a.nonce as u128,
            n + cpk,
            "chain {c}: one nonce per accepted transfer (and the key change)"
        );
        assert_eq!(
            a.balance(TokenId(0)),
            10 * ETH - cpk * cpk_fee - n * AMOUNT - load.fees[slot],
            "chain {c}"
        );
        let mut received = 0;
        for r in 0..RECIPIENTS {
            received += client
                .account(rollup_crypto::Address([0x40 + r; 20]), *c)
                .await
                .unwrap()
                .map_or(0, |a| a.balance(TokenId(0)));
        }
        assert_eq!(received, n * AMOUNT, "chain {c}");
    }

    // No operator transaction reverted on any chain: nothing was sent twice.
    for (slot, anvil) in net.anvils.iter().enumerate() {
        // Anvil account 0 is the devnet's operator.
        let operator = rollup_devnet::account(anvil, 0).address();
        let p = rollup_devnet::provider(anvil, &rollup_devnet::account(anvil, 0));
        let latest = p.get_block_number().await.unwrap();
        let mut sent = 0;
        for b in 0..=latest {
            let receipts = p
                .get_block_receipts(b.into())
                .await
                .unwrap()
                .unwrap_or_default();
            for r in receipts {
                if r.from == operator {
                    sent += 1;
                    assert!(
                        r.status(),
                        "chain {}: the operator's transaction {} reverted",
                        slot + 1,
                        r.transaction_hash
                    );
                }
            }
        }
        println!(
            "HA chain {}: {sent} operator transactions, none reverted",
            slot + 1
        );
    }

    // The state rebuilt from the chains alone has the root the node stored.
    let recovered = rollup_auditor::recover::from_l1(
        &net.chain_sources(),
        &rollup_devnet::network_config(net.domain),
        net.capacity,
        rollup_auditor::recover::Until::ExecutedEverywhere,
        &|_, _| {},
    )
    .await
    .unwrap();
    let last_block = net.storage.last_block().await.unwrap();
    let stored = net.storage.block(last_block).await.unwrap().unwrap();
    assert_eq!(recovered.auditor.last_block(), last_block);
    assert_eq!(recovered.auditor.final_root(), stored.final_root);
    drop(net);
    let _ = std::fs::remove_dir_all(&dir);
}
