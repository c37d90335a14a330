//! Micro-benchmark of the primitives on the hot path, against the reference implementation in the
//! same run (ratios are what to compare on a noisy machine).
//!
//! Run: `cargo bench -p rollup-crypto --bench primitives`

use ark_bn254::Fr;
use light_poseidon::{Poseidon, PoseidonHasher};
use rollup_crypto::{PrivateKey, poseidon};
use std::hint::black_box;
use std::time::Instant;

fn time<R>(label: &str, iters: u32, mut f: impl FnMut(u32) -> R) -> f64 {
    for i in 0..iters / 10 {
        black_box(f(i));
    }
    let t = Instant::now();
    for i in 0..iters {
        black_box(f(i));
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / iters as f64;
    println!("| {label} | {us:.1} |");
    us
}

fn main() {
    println!("| operation | µs/op (one core) |");
    println!("|---|---|");
    let n = 20_000;
    for inputs in [2usize, 4, 5] {
        let xs: Vec<Fr> = (0..inputs as u64).map(Fr::from).collect();
        let mut reference = Poseidon::<Fr>::new_circom(inputs).expect("width supported");
        let r = time(&format!("light-poseidon, {inputs} inputs"), n, |i| {
            let mut v = xs.clone();
            v[0] = Fr::from(i);
            reference.hash(&v).expect("hash")
        });
        let o = time(
            &format!("rollup-crypto Poseidon, {inputs} inputs"),
            n,
            |i| {
                let mut v = xs.clone();
                v[0] = Fr::from(i);
                poseidon::hash(&v)
            },
        );
        println!("| speed-up, {inputs} inputs | {:.2}× |", r / o);
    }
    let sk = PrivateKey::from_seed(b"bench");
    let sig = sk.sign(Fr::from(7u8));
    time("EdDSA sign", 2_000, |i| sk.sign(Fr::from(i)));
    time("EdDSA verify", 2_000, |_| sig.verify(Fr::from(7u8)).is_ok());
}
