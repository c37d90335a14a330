//! Runs the witness-mutation search (`rollup_circuits::attacks::mutation`) on more mutants than
//! the test command does: `cargo run --release -p rollup-circuits --features attacks --example
//! mutants -- --count 400 --seed 1`. Prints the tallies and every finding; exits non-zero on one.

use clap::Parser;
use rollup_circuits::attacks::mutation;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Mutants to run (all of them if larger than the corpus has).
    #[arg(long, default_value_t = 200)]
    count: usize,
    /// Seed of the shuffle that picks them.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    let a = Args::parse();
    let t = Instant::now();
    let r = mutation::sample(a.count, a.seed);
    println!(
        "{} mutants of {} (seed {}) in {:.0} s: {} rejected, {} not re-derivable, {} accepted with \
         the honest public values, {} accepted and natively valid, {} findings",
        r.tried,
        mutation::total(),
        a.seed,
        t.elapsed().as_secs_f64(),
        r.rejected,
        r.not_rederivable,
        r.same_public,
        r.natively_valid,
        r.findings.len()
    );
    for m in &r.natively_valid_mutants {
        println!("natively valid: {m}");
    }
    for f in &r.findings {
        println!("FINDING {f}");
    }
    if !r.findings.is_empty() {
        std::process::exit(1);
    }
}
