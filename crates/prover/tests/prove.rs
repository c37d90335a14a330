//! End to end with real Groth16 proofs: a three-chain block using deposits, a key change, a pool
//! with one-coin liquidity on both sides, a cross-chain swap, a transfer and a withdrawal is proven
//! — one proof per chain and the binding proof — and every proof verifies natively and in the
//! generated batched EVM verifier (solcjs, anvil), alone and batched with fresh proofs of the same
//! statements as two blocks' worth; any changed public input, a missing chain proof, swapped
//! proofs, no proof of a kind or mismatched lengths are rejected; every forged block of the soundness review's attacks
//! (`rollup_circuits::attacks`) is proven with the same keys and refused by verification. Run in
//! release; keys are cached under `.data/keys` (safe to delete).

use ark_ff::{BigInteger, PrimeField};
use rollup_circuits::chain::ChainWitness;
use rollup_prover::{
    BlockProofs, Keys, Network, Proved, ProverError, Shape, SubBlockStatement, prove_block,
    prove_chain, verify,
};
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::{
    Block, BlockContext, BuildOptions, NetworkConfig, NetworkState, build_block, genesis_sync_hash,
};
use rollup_types::tx::*;
use rollup_types::*;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

mod common {
    pub mod evm;
}
use common::evm::{Anvil, compile};
use rollup_prover::job::{Job, JobProof, block_jobs, prove_job};
use rollup_prover::verifier::{solidity_verifier, verify_proofs_calldata};

const CAPACITY: usize = 16;
const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.data/keys")
}

fn block() -> Block {
    let (alice, bob) = (DevWallet::new(1), DevWallet::new(2));
    let a = AccountId(1);
    let mut state = NetworkState::genesis(&NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: DevWallet::new(0).address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    })
    .unwrap();
    let ctx = BlockContext {
        number: BlockNumber(1),
        timestamp: 0,
        prev_sync_hash: genesis_sync_hash(),
    };
    let setup = vec![
        deposit(1, 0, alice.address(), 0, 1_000_000),
        deposit(2, 0, alice.address(), 1, 1_000_000),
        alice.change_pubkey(ChainId(1), a, 0, 0, 0),
    ];
    let b1 = build_block(&mut state, &ctx, setup, BuildOptions::default());
    assert!(b1.rejected.is_empty());
    let add = |chain, nonce| {
        alice.sign(L2Tx::AddLiquidity(AddLiquidity {
            chain,
            account: a,
            pool: PoolId(0),
            amount: amount(100_000),
            min_shares: amount(0),
            fee: amount(1),
            nonce: Nonce(nonce),
        }))
    };
    let txs = vec![
        deposit(2, 1, bob.address(), 1, 5_000),
        alice.change_pubkey(ChainId(2), a, 0, 1, 2),
        alice.sign(L2Tx::CreatePool(CreatePool {
            chain: ChainId(1),
            account: a,
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: ChainId(2),
            peer_token: TokenId(1),
            fee_bps: 30,
            fee: amount(0),
            nonce: Nonce(1),
        })),
        add(ChainId(1), 2),
        add(ChainId(2), 1),
        alice.sign(L2Tx::Swap(Swap {
            chain: ChainId(1),
            account: a,
            pool: PoolId(0),
            amount_in: amount(2_000),
            min_out: amount(1_900),
            fee: amount(3),
            nonce: Nonce(3),
        })),
        alice.sign(L2Tx::Transfer(Transfer {
            chain: ChainId(1),
            from: a,
            to: bob.address(),
            token: TokenId(0),
            amount: amount(2_500),
            fee: amount(3),
            nonce: Nonce(4),
        })),
        alice.sign(L2Tx::Withdraw(Withdraw {
            chain: ChainId(1),
            account: a,
            to: alice.address(),
            token: TokenId(0),
            amount: amount(100_000),
            fee: amount(5),
            nonce: Nonce(5),
        })),
    ];
    let ctx = BlockContext {
        number: BlockNumber(2),
        timestamp: 1,
        prev_sync_hash: b1.sync_hash,
    };
    let b = build_block(
        &mut state,
        &ctx,
        txs,
        BuildOptions {
            witness: true,
            ..Default::default()
        },
    );
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    b
}

#[test]
fn development_setup_is_refused_outside_dev() {
    let err = Keys::load_or_setup(
        Shape::Chain { capacity: CAPACITY },
        &cache_dir(),
        Network::Production,
    );
    assert!(matches!(
        err,
        Err(ProverError::InsecureSetupRefused(Network::Production))
    ));
}

/// The chain and binding keys, made (or loaded) once for all tests of this binary.
fn keys() -> &'static (Keys, Keys) {
    static KEYS: OnceLock<(Keys, Keys)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let t = Instant::now();
        let chain_keys = Keys::load_or_setup(
            Shape::Chain { capacity: CAPACITY },
            &cache_dir(),
            Network::Dev,
        )
        .unwrap();
        println!(
            "chain keys ({}): {:.1} s",
            chain_keys.fingerprint,
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        let binding_shape = Shape::Binding {
            chains: CHAINS.to_vec(),
            links: CAPACITY,
        };
        let binding_keys = Keys::load_or_setup(binding_shape, &cache_dir(), Network::Dev).unwrap();
        println!(
            "binding keys ({}): {:.1} s",
            binding_keys.fingerprint,
            t.elapsed().as_secs_f64()
        );
        (chain_keys, binding_keys)
    })
}

#[test]
fn stored_jobs_prove_through_the_cli() {
    let (chain_keys, binding_keys) = keys();
    let b = block();
    let jobs = block_jobs(&b, CAPACITY, &CHAINS).unwrap();
    assert_eq!(jobs.len(), CHAINS.len() + 1);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("jobs");
    std::fs::create_dir_all(&dir).unwrap();
    // Stored form: a round trip keeps the public input; damaged bytes are refused, not proved.
    let bytes = jobs[0].to_bytes();
    let back = Job::from_bytes(&bytes).unwrap();
    let (Job::Chain(w0), Job::Chain(w1)) = (&jobs[0], &back) else {
        panic!("chain job first")
    };
    assert_eq!(w0.public_input(), w1.public_input());
    assert!(Job::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(Job::from_bytes(&extra).is_err());
    assert!(Job::from_bytes(b"RPJ1\x07").is_err());
    // A stored job of another capacity would synthesise another circuit: refused.
    let other = ChainWitness::new(&b.chains[0], b.number, &b.domain, 64).unwrap();
    assert!(matches!(
        prove_job(chain_keys, Job::Chain(other)),
        Err(ProverError::ChainWitness(_))
    ));
    // A job whose witness does not satisfy the circuit (chain 1's with another new root, the
    // public input re-derived to match) gives a proof that does not verify: refused before it
    // could be stored.
    let Job::Chain(mut forged) = jobs[0].clone() else {
        panic!("chain job first")
    };
    forged.new_root += rollup_crypto::Fr::from(1u64);
    assert!(matches!(
        prove_job(chain_keys, Job::Chain(forged)),
        Err(ProverError::Unverified)
    ));
    // The CLI proves chain 2's job and the binding job; the proofs verify natively with the
    // public inputs the witnesses define.
    let mut paths = Vec::new();
    for (name, job) in [("chain2.job", &jobs[1]), ("binding.job", &jobs[3])] {
        let path = dir.join(name);
        std::fs::write(&path, job.to_bytes()).unwrap();
        paths.push(path);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollup-prover"))
        .args(["prove", "--chains", "1,2,3", "--capacity", "16", "--keys"])
        .arg(cache_dir())
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{}", String::from_utf8_lossy(&out.stdout));
    let stored = JobProof::from_bytes(&std::fs::read(dir.join("chain2.proof")).unwrap()).unwrap();
    let Job::Chain(w) = &jobs[1] else { panic!() };
    assert_eq!(stored.statement, Some(SubBlockStatement::of(w)));
    let chain_proof = stored.proved;
    assert_eq!(chain_proof.public_input, w.public_input());
    assert!(verify(chain_keys, &chain_proof));
    let stored = JobProof::from_bytes(&std::fs::read(dir.join("binding.proof")).unwrap()).unwrap();
    assert!(stored.statement.is_none());
    let binding_proof = stored.proved;
    let Job::Binding(w) = &jobs[3] else { panic!() };
    assert_eq!(binding_proof.public_input, w.public_input(&CHAINS));
    assert!(verify(binding_keys, &binding_proof));
    // A job file that is not a job: a clear error, no proof.
    let junk = dir.join("junk.job");
    std::fs::write(&junk, b"not a job").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rollup-prover"))
        .args(["prove", "--chains", "1,2,3", "--capacity", "16", "--keys"])
        .arg(cache_dir())
        .arg(&junk)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad magic"));
    assert!(!dir.join("junk.proof").exists());
}

#[test]
fn three_chain_block_proves_and_verifies() {
    let (chain_keys, binding_keys) = keys();
    let b = block();
    let t = Instant::now();
    let all = prove_block(chain_keys, binding_keys, &b).unwrap();
    assert!(
        all.chains.iter().all(|c| c.len() == 1),
        "one sub-block per chain"
    );
    let proofs: Vec<Proved> = all.chain_proofs().cloned().collect();
    let BlockProofs { binding, .. } = all;
    println!(
        "block (3 chain proofs + binding): proved in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for (cb, p) in b.chains.iter().zip(&proofs) {
        assert!(verify(chain_keys, p), "chain {} proof verifies", cb.chain);
    }
    assert!(verify(binding_keys, &binding));
    // Any other public input is rejected: a changed value, another chain's input, a proof under
    // the other circuit's key.
    let mut changed = proofs[0].clone();
    changed.public_input += ark_bn254::Fr::from(1u8);
    assert!(!verify(chain_keys, &changed));
    let swapped = Proved {
        proof: proofs[0].proof.clone(),
        public_input: proofs[1].public_input,
    };
    assert!(!verify(chain_keys, &swapped));
    assert!(!verify(binding_keys, &proofs[0]));
    let mut changed = binding.clone();
    changed.public_input += ark_bn254::Fr::from(1u8);
    assert!(!verify(binding_keys, &changed));
    // The same proofs on the EVM: the generated batched verifier, compiled with solcjs, on anvil.
    let source = solidity_verifier(&chain_keys.vk, &binding_keys.vk);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verifier");
    let bytecode = compile(&dir, "BlockVerifier.sol", &source, "BlockVerifier");
    println!("verifier: {} bytes of creation code", bytecode.len() / 2);
    let anvil = Anvil::start();
    let verifier = anvil.deploy(&bytecode);
    let is_true = |r: Result<Vec<u8>, String>| r.map(|b| b.last() == Some(&1)).unwrap_or(false);
    let accepts = |chain: &[Proved], binding: &[Proved]| {
        is_true(anvil.call(&verifier, &verify_proofs_calldata(chain, binding)))
    };
    let one = std::slice::from_ref(&binding);
    let good = verify_proofs_calldata(&proofs, one);
    assert!(
        is_true(anvil.call(&verifier, &good)),
        "the block's proofs verify on the EVM"
    );
    println!(
        "EVM verification of a 3-chain block: {} gas (whole tx)",
        anvil.gas_used(&verifier, &good)
    );
    // Changed public input of one chain: rejected.
    let mut forged = proofs.clone();
    forged[2].public_input += ark_bn254::Fr::from(1u8);
    assert!(!accepts(&forged, one));
    // A chain's proof missing: in its place another chain's proof, or nothing (zeros), against the
    // inputs the contract computes for each chain. Rejected.
    let mut missing = proofs.clone();
    missing[1].proof = proofs[0].proof.clone();
    assert!(!accepts(&missing, one));
    let mut zero = proofs.clone();
    zero[1].proof = Default::default();
    assert!(!accepts(&zero, one));
    // The binding proof in a chain's place and vice versa: rejected.
    let mut swapped = proofs.clone();
    swapped[0] = binding.clone();
    assert!(!accepts(&swapped, std::slice::from_ref(&proofs[0])));
    // Changed binding input: rejected.
    let mut b2 = binding.clone();
    b2.public_input += ark_bn254::Fr::from(1u8);
    assert!(!accepts(&proofs, std::slice::from_ref(&b2)));
    // No proof of either kind: false (an empty batch proves nothing).
    assert!(!accepts(&[], one));
    assert!(!accepts(&proofs, &[]));
    assert!(!accepts(&[], &[]));
    // Fewer chain inputs than chain proofs (chainInputs' length word is at byte 0x84, after the
    // selector and the four offsets): rejected.
    let mut short = good.clone();
    short[4 + 128 + 31] = 2;
    assert!(!is_true(anvil.call(&verifier, &short)));
    // A non-canonical input (x + r, the same field element) is refused: inputs must be below r.
    // The first chain input follows the offsets and chainInputs' length.
    let mut wide = good.clone();
    let at = 4 + 4 * 32 + 32;
    let r = ark_bn254::Fr::MODULUS.to_bytes_be();
    let mut carry = 0u16;
    for k in (0..32).rev() {
        let v = wide[at + k] as u16 + r[k] as u16 + carry;
        wide[at + k] = v as u8;
        carry = v >> 8;
    }
    assert_eq!(carry, 0);
    assert!(!is_true(anvil.call(&verifier, &wide)));
    // Two blocks' worth in one batch (one check for all, as `proveBlocks` sends them): the block's
    // proofs and fresh proofs of the same statements (re-randomised: other points, same inputs),
    // six chain proofs and two binding proofs. Accepted.
    let mut rng = ark_std::test_rng();
    let fresh = |keys: &Keys, p: &Proved, rng: &mut _| Proved {
        proof: ark_groth16::Groth16::<ark_bn254::Bn254>::rerandomize_proof(&keys.vk, &p.proof, rng),
        public_input: p.public_input,
    };
    let mut chain2: Vec<Proved> = proofs.clone();
    for p in &proofs {
        chain2.push(fresh(chain_keys, p, &mut rng));
    }
    let binding2 = vec![binding.clone(), fresh(binding_keys, &binding, &mut rng)];
    assert_ne!(chain2[0].proof, chain2[3].proof, "a fresh proof");
    assert!(chain2.iter().all(|p| verify(chain_keys, p)));
    let batch = verify_proofs_calldata(&chain2, &binding2);
    assert!(
        is_true(anvil.call(&verifier, &batch)),
        "two blocks' proofs verify in one batch"
    );
    println!(
        "EVM verification of 6 chain proofs + 2 binding proofs: {} gas (whole tx)",
        anvil.gas_used(&verifier, &batch)
    );
    // A pair of chain proofs swapped (each against the other's input), within a block or across
    // the two: rejected.
    let swap = |i: usize, j: usize| {
        let mut v = chain2.clone();
        let (pi, pj) = (v[i].proof.clone(), v[j].proof.clone());
        v[i].proof = pj;
        v[j].proof = pi;
        v
    };
    assert!(!accepts(&swap(0, 1), &binding2));
    assert!(!accepts(&swap(2, 4), &binding2));
    // (Proofs 1 and 4 are of the same statement: swapping them changes nothing.)
    assert!(accepts(&swap(1, 4), &binding2));
    // A binding proof against another input (a chain proof's): rejected.
    let mut crossed = binding2.clone();
    crossed[1].public_input = chain2[0].public_input;
    assert!(!accepts(&chain2, &crossed));
    // One false proof among valid ones, in either group: rejected.
    let mut forged = chain2.clone();
    forged[5].public_input += ark_bn254::Fr::from(1u8);
    assert!(!accepts(&forged, &binding2));
    let mut forged = binding2.clone();
    forged[1].public_input += ark_bn254::Fr::from(1u8);
    assert!(!accepts(&chain2, &forged));
    // A witness for the wrong shape is refused.
    let w = ChainWitness::new(&b.chains[0], b.number, &b.domain, CAPACITY).unwrap();
    assert!(matches!(
        prove_chain(binding_keys, w),
        Err(ProverError::WrongShape(_))
    ));
}

/// The soundness review's attacks end to end: each forged witness is proven with the real keys
/// (a malicious prover runs the prover on whatever witness it likes) and verification refuses
/// the proof; the control of the same circuit, proven the same way, verifies.
#[test]
fn every_attack_is_refused_by_groth16_verification() {
    use rollup_circuits::attacks::{self, Witness};
    use rollup_prover::prove_binding;
    let (chain_keys, binding_keys) = keys();
    // The prover asserts satisfaction only in debug builds; a refusal to prove is a refusal too.
    let proves = |w: &Witness| {
        let w = w.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match w {
            Witness::Chain(w) => verify(chain_keys, &prove_chain(chain_keys, w).unwrap()),
            Witness::Binding(w) => verify(binding_keys, &prove_binding(binding_keys, w).unwrap()),
        }))
        .unwrap_or(false)
    };
    for a in attacks::all(CAPACITY) {
        for (i, w) in a.forged.iter().enumerate() {
            let t = Instant::now();
            assert!(!proves(w), "{}: forgery {i} verified: {}", a.name, a.gain);
            println!(
                "{}: forgery {i} refused ({:.1} s)",
                a.name,
                t.elapsed().as_secs_f64()
            );
        }
        // One control per circuit the forgeries target.
        let same_circuit = |c: &&Witness| {
            matches!(
                (c, &a.forged[0]),
                (Witness::Chain(_), Witness::Chain(_)) | (Witness::Binding(_), Witness::Binding(_))
            )
        };
        let control = a.control.iter().find(same_circuit).expect("a control");
        assert!(proves(control), "{}: the control verifies", a.name);
    }
}
