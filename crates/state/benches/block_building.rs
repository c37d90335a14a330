//! Block-building benchmark: transfers per second with root recomputation, and Poseidon hashes per
//! transfer against the ideal (each touched tree node hashed once).
//!
//! Run: `cargo bench -p rollup-state --bench block_building` (optionally `-- --accounts N
//! --blocks 1000,10000 --iterations K --witness-block 1000`).

use rayon::prelude::*;
use rollup_crypto::poseidon::hash_count;
use rollup_state::dev::{DevWallet, amount};
use rollup_state::*;
use rollup_types::tx::*;
use rollup_types::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

struct Args {
    accounts: u32,
    blocks: Vec<usize>,
    iterations: usize,
    witness_block: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        accounts: 100_000,
        blocks: vec![1_000, 10_000],
        iterations: 3,
        witness_block: 1_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().expect("flag needs a value");
        match k.as_str() {
            "--accounts" => a.accounts = v().parse().expect("number"),
            "--blocks" => a.blocks = v().split(',').map(|x| x.parse().expect("number")).collect(),
            "--iterations" => a.iterations = v().parse().expect("number"),
            "--witness-block" => a.witness_block = v().parse().expect("number"),
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn address(i: u32) -> Address {
    let mut a = [0u8; 20];
    a[0] = 0xbe;
    a[16..].copy_from_slice(&i.to_be_bytes());
    Address(a)
}

/// The ideal number of Poseidon permutations for a block of transfers on one chain: every touched
/// balance-tree node, account leaf and state-tree node once, plus the final root, plus three per
/// signature (message hash, challenge, public-key hash).
fn ideal_hashes(touched: &BTreeMap<u32, BTreeSet<u16>>, transfers: usize) -> u64 {
    let ancestors = |leaves: Box<dyn Iterator<Item = u64> + '_>, depth: usize| {
        let mut level: BTreeSet<u64> = leaves.collect();
        let mut n = 0;
        for _ in 0..depth {
            level = level.iter().map(|i| i / 4).collect();
            n += level.len() as u64;
        }
        n
    };
    let balance: u64 = touched
        .values()
        .map(|t| ancestors(Box::new(t.iter().map(|x| *x as u64)), BALANCE_TREE_DEPTH))
        .sum();
    let leaves = touched.len() as u64;
    let accounts = ancestors(
        Box::new(touched.keys().map(|x| *x as u64)),
        ACCOUNT_TREE_DEPTH,
    );
    balance + leaves + accounts + 1 + 3 * transfers as u64
}

fn main() {
    let args = parse_args();
    let max_block = *args.blocks.iter().max().expect("at least one block size");
    let chains = vec![ChainId(1), ChainId(2), ChainId(3)];
    let fee = DevWallet::new(0);
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains,
        fee_account: fee.address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    })
    .expect("config");
    let mut prev = genesis_sync_hash();
    let mut number = 0;
    let mut seal = |state: &mut NetworkState, txs: Vec<Tx>| {
        number += 1;
        let ctx = BlockContext {
            number: BlockNumber(number),
            timestamp: number as u64,
            prev_sync_hash: prev,
        };
        let b = build_block(state, &ctx, txs, BuildOptions::default());
        assert!(
            b.rejected.is_empty(),
            "setup tx rejected: {:?}",
            b.rejected.first()
        );
        prev = b.sync_hash;
    };

    let t = Instant::now();
    // Senders: the first `max_block` accounts after the fee account have keys.
    let senders: Vec<DevWallet> = (1..=max_block as u64).map(DevWallet::new).collect();
    let mut deposits = Vec::new();
    for i in 1..args.accounts {
        let to = if (i as usize) <= max_block {
            senders[i as usize - 1].address()
        } else {
            address(i)
        };
        deposits.push(Tx::Deposit(Deposit {
            chain: ChainId(1),
            serial_id: i as u64 - 1,
            from: to,
            to,
            token: TokenId(0),
            amount: amount(1_000_000_000),
        }));
        if deposits.len() == 10_000 {
            seal(&mut state, std::mem::take(&mut deposits));
        }
    }
    seal(&mut state, deposits);
    let keys: Vec<Tx> = senders
        .iter()
        .enumerate()
        .map(|(i, w)| w.change_pubkey(ChainId(1), AccountId(i as u32 + 1), 0, 0, 0))
        .collect();
    seal(&mut state, keys);
    println!(
        "setup: {} accounts on 3 chains, {} with L2 keys, in {:.1} s",
        args.accounts,
        max_block,
        t.elapsed().as_secs_f64()
    );

    let mut rng = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    println!(
        "| transfers/block | accounts | build (s) | transfers/s | signature checks alone (s) | Poseidon/transfer | ideal/transfer | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &n in &args.blocks {
        let mut touched: BTreeMap<u32, BTreeSet<u16>> = BTreeMap::new();
        touched.entry(0).or_default().insert(0);
        let txs: Vec<Tx> = (0..n)
            .map(|i| {
                let from = AccountId(i as u32 + 1);
                let to = (next() % (args.accounts as u64 - 1)) as u32 + 1;
                touched.entry(from.0).or_default().insert(0);
                touched.entry(to).or_default().insert(0);
                let to_addr = if (to as usize) <= max_block {
                    senders[to as usize - 1].address()
                } else {
                    address(to)
                };
                senders[i].sign(L2Tx::Transfer(Transfer {
                    chain: ChainId(1),
                    from,
                    to: to_addr,
                    token: TokenId(0),
                    amount: amount(1000 + (i as u128 % 7)),
                    fee: amount(1),
                    nonce: Nonce(1),
                }))
            })
            .collect();
        let ideal = ideal_hashes(&touched, n) as f64 / n as f64;
        let mut best = f64::MAX;
        let mut hashes = 0;
        for _ in 0..args.iterations {
            let mut s = state.clone();
            let ctx = BlockContext {
                number: BlockNumber(number + 1),
                timestamp: 0,
                prev_sync_hash: prev,
            };
            let h0 = hash_count();
            let t = Instant::now();
            let b = build_block(&mut s, &ctx, txs.clone(), BuildOptions::default());
            let dt = t.elapsed().as_secs_f64();
            hashes = hash_count() - h0;
            assert_eq!(b.txs.len(), n, "all transfers accepted");
            best = best.min(dt);
        }
        let per = hashes as f64 / n as f64;
        let t = Instant::now();
        let verified = txs
            .clone()
            .into_par_iter()
            .map(|tx| verify(tx, &rollup_state::dev::TEST_DOMAIN))
            .filter(Result::is_ok)
            .count();
        let sig = t.elapsed().as_secs_f64();
        assert_eq!(verified, n);
        println!(
            "| {n} | {} | {best:.3} | {:.0} | {sig:.3} | {per:.1} | {ideal:.1} | {:.2} |",
            args.accounts,
            n as f64 / best,
            per / ideal
        );
    }
    if args.witness_block > 0 {
        let n = args.witness_block.min(max_block);
        let txs: Vec<Tx> = (0..n)
            .map(|i| {
                senders[i].sign(L2Tx::Transfer(Transfer {
                    chain: ChainId(1),
                    from: AccountId(i as u32 + 1),
                    to: address(args.accounts - 1 - i as u32),
                    token: TokenId(0),
                    amount: amount(1000),
                    fee: amount(1),
                    nonce: Nonce(1),
                }))
            })
            .collect();
        let mut s = state.clone();
        let ctx = BlockContext {
            number: BlockNumber(number + 1),
            timestamp: 0,
            prev_sync_hash: prev,
        };
        let t = Instant::now();
        let b = build_block(
            &mut s,
            &ctx,
            txs,
            BuildOptions {
                witness: true,
                ..Default::default()
            },
        );
        let dt = t.elapsed().as_secs_f64();
        assert_eq!(b.txs.len(), n);
        println!(
            "witness generation: {n} transfers in {dt:.3} s ({:.0} transfers/s)",
            n as f64 / dt
        );
    }
}
