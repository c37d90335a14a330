//! The rollup contracts on three real anvil chains, driven through all four stages with real
//! Groth16 proofs: ETH and ERC-20 deposits, a key change authorised by ECDSA, commit (and its
//! rejections, one an authorisation for another deployment), prove (and a bad proof, one made for
//! another deployment), oracle attestations (and every way they can be wrong),
//! execute before and after sync, a withdrawal and a full exit claimed on L1, revert, and exodus
//! with a Merkle exit built from L1 data alone and a deposit refund. Run in release (proving); keys are cached under
//! `.data/keys`.

mod common;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256 as keccak};
use alloy::providers::Provider;
use common::*;
use rollup_l1::bindings::Rollup::{self, RollupErrors};
use rollup_l1::bindings::TestToken;
use rollup_l1::encode;
use rollup_prover::prove_block;
use rollup_prover::verifier::proof_words;
use rollup_state::dev::{DevWallet, amount};
use rollup_state::{Block, BlockContext, BuildOptions, build_block};
use rollup_types::tx::*;
use rollup_types::*;

const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);
const C3: ChainId = ChainId(3);
const ETH: u128 = 1_000_000_000_000_000_000;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn addr(a: rollup_crypto::Address) -> Address {
    Address::from(a.0)
}

/// The priority requests a chain queued from serial `from` on, decoded as the protocol's txs.
async fn priority_txs(chain: &Chain, from: u64) -> Vec<Tx> {
    let logs = chain
        .rollup
        .PriorityRequestQueued_filter()
        .from_block(0)
        .query()
        .await
        .unwrap();
    logs.into_iter()
        .filter(|(e, _)| e.serialId >= from)
        .map(|(e, _)| Tx::decode(&e.op).expect("a queued request decodes"))
        .collect()
}

fn build(net: &mut Net, number: u32, prev_sync_hash: [u8; 32], txs: Vec<Tx>) -> Block {
    build_at(net, number, prev_sync_hash, txs, now())
}

fn build_at(
    net: &mut Net,
    number: u32,
    prev_sync_hash: [u8; 32],
    txs: Vec<Tx>,
    timestamp: u64,
) -> Block {
    let ctx = BlockContext {
        number: BlockNumber(number),
        timestamp,
        prev_sync_hash,
    };
    let opts = BuildOptions::new(true, CAPACITY, SUB_BLOCKS, CAPACITY);
    let b = build_block(&mut net.state, &ctx, txs, opts);
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    assert!(b.deferred.is_empty());
    b
}

/// Most sub-blocks per chain in the test's blocks.
const SUB_BLOCKS: usize = 8;

/// A block's proofs as `proveBlocks` takes them.
#[derive(Clone)]
struct Proofs {
    /// Per chain, the sub-block boundaries the chain proofs state.
    bounds: Vec<encode::Boundaries>,
    /// The chain proofs: chain by chain, sub-block by sub-block.
    chain: Vec<[U256; 8]>,
    /// The binding proof.
    binding: Vec<[U256; 8]>,
}

impl Proofs {
    fn input(&self, b: &Block, chain: ChainId) -> Rollup::ProofInput {
        encode::proof_input(b, chain, &self.bounds).unwrap()
    }

    /// The proofs of several blocks, in order, for one `proveBlocks`.
    fn concat(all: &[&Proofs]) -> (Vec<[U256; 8]>, Vec<[U256; 8]>) {
        let chain = all.iter().flat_map(|p| p.chain.clone()).collect();
        let binding = all.iter().flat_map(|p| p.binding.clone()).collect();
        (chain, binding)
    }
}

fn prove(b: &Block) -> Proofs {
    let (chain_keys, binding_keys) = keys();
    let proofs = prove_block(chain_keys, binding_keys, b).unwrap();
    Proofs {
        bounds: proofs
            .boundaries()
            .into_iter()
            .map(|(roots, carries)| encode::Boundaries { roots, carries })
            .collect(),
        chain: proofs
            .chain_proofs()
            .map(|p| encode::proof(&proof_words(&p.proof)))
            .collect(),
        binding: vec![encode::proof(&proof_words(&proofs.binding.proof))],
    }
}

/// `proveBlocks` of one block on `chain`.
fn prove_call<'a>(
    c: &'a Chain,
    b: &Block,
    p: &Proofs,
) -> alloy::contract::SolCallBuilder<&'a alloy::providers::DynProvider, Rollup::proveBlocksCall> {
    c.rollup
        .proveBlocks(vec![p.input(b, c.id)], p.chain.clone(), p.binding.clone())
}

async fn ok(
    call: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) {
    gas(call).await;
}

/// Sends, checks success, returns the gas used.
async fn gas(
    call: Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
        alloy::contract::Error,
    >,
) -> u64 {
    let receipt = call
        .expect("transaction accepted")
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "transaction succeeded");
    receipt.gas_used
}

/// Commit, prove, attest and execute `b` on every chain (after `prev`).
async fn settle(net: &Net, prev: &[Rollup::StoredBlockInfo], b: &Block) {
    let proofs = prove(b);
    let mut used = [0u64; 4];
    for (c, p) in net.chains.iter().zip(prev) {
        used[0] = gas(c
            .rollup
            .commitBlocks(
                p.clone(),
                vec![encode::commit_info(b, c.id).unwrap()],
                net.approve(b),
            )
            .send()
            .await)
        .await;
    }
    for c in &net.chains {
        used[1] = gas(prove_call(c, b, &proofs).send().await).await;
    }
    let sync = B256::from(b.sync_hash);
    for c in &net.chains {
        let sigs = net
            .attest(c, b.number.0, sync, &[&net.oracles[1], &net.oracles[2]])
            .await;
        let mask = c.rollup.chainsMask().call().await.unwrap();
        used[2] = gas(c
            .rollup
            .receiveSyncAttestation(b.number.0, sync, mask, sigs)
            .send()
            .await)
        .await;
        used[3] = gas(c
            .rollup
            .executeBlocks(vec![encode::execute_info(b, c.id).unwrap()])
            .send()
            .await)
        .await;
    }
    println!(
        "block {} on chain 3: commit {} gas, prove {} gas, attestation {} gas, execute {} gas",
        b.number, used[0], used[1], used[2], used[3]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn four_stages_on_three_chains() {
    let mut net = Net::start().await;
    let alice = DevWallet::new(1).on(net.domain);
    let (c1, c2) = (net.chain(C1), net.chain(C2));

    // ---- tokens and deposits
    let token = TestToken::deploy(c2.provider.clone(), "Test".into(), "TST".into(), 6, 0)
        .await
        .unwrap();
    ok(c2.rollup.addToken(*token.address()).send().await).await;
    assert_eq!(c2.rollup.tokenDecimals(1).call().await.unwrap(), 6);
    assert!(matches!(
        revert_of(
            c2.rollup
                .addToken(*token.address())
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::TokenExists(_)
    ));
    ok(c1
        .rollup_as(1)
        .depositETH(addr(alice.address()))
        .value(U256::from(ETH))
        .send()
        .await)
    .await;
    for bad in [
        c1.rollup_as(1)
            .depositETH(addr(alice.address()))
            .value(U256::ZERO)
            .call()
            .await,
        c1.rollup_as(1)
            .depositETH(Address::ZERO)
            .value(U256::from(5))
            .call()
            .await,
    ] {
        assert!(matches!(
            revert_of(bad.unwrap_err()),
            RollupErrors::BadDeposit(_)
        ));
    }
    // Bob (anvil account 2 on chain 2) deposits 500 TST to himself; an amount above 2^112 − 1 is
    // refused.
    let (bob_signer, bob_provider) = c2.user(2);
    let bob = bob_signer.address();
    let bob_token = TestToken::new(*token.address(), bob_provider.clone());
    ok(bob_token.mint(bob, U256::from(1u128 << 113)).send().await).await;
    ok(bob_token
        .approve(*c2.rollup.address(), U256::MAX)
        .send()
        .await)
    .await;
    let bob_rollup = c2.rollup_as(2);
    assert!(matches!(
        revert_of(
            bob_rollup
                .depositERC20(*token.address(), 1u128 << 112, bob)
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::BadDeposit(_)
    ));
    ok(bob_rollup
        .depositERC20(*token.address(), 500_000_000, bob)
        .send()
        .await)
    .await;

    // ---- block 1: the deposits and alice's key change
    let mut txs = priority_txs(c1, 0).await;
    txs.extend(priority_txs(c2, 0).await);
    assert_eq!(txs.len(), 2);
    txs.push(alice.change_pubkey(C1, AccountId(1), 0, 0, 0));
    let genesis = encode::genesis_stored_block(&net.state.clone().final_root());
    let prev = net
        .chains
        .iter()
        .map(|_| genesis.clone())
        .collect::<Vec<_>>();
    let b1 = build(&mut net, 1, rollup_state::genesis_sync_hash(), txs);
    let c1 = net.chain(C1);

    // Commit rejections on chain 1.
    let good = encode::commit_info(&b1, C1).unwrap();
    let cb1 = &b1.chains[0];
    let deposit_at = cb1
        .onchain_ops
        .iter()
        .find(|o| o.bytes[0] == op::code::DEPOSIT)
        .unwrap()
        .chunk as usize
        * op::CHUNK_BYTES;
    // The auditor's approval of block 1: the rejections below come from the contract's own
    // checks, which run before the approval's.
    let approval1 = net.approve(&b1);
    let commit_err = |info: Rollup::CommitBlockInfo, last: Rollup::StoredBlockInfo| {
        let r = c1.rollup.clone();
        let a = approval1.clone();
        async move {
            revert_of(
                r.commitBlocks(last, vec![info], a)
                    .call()
                    .await
                    .unwrap_err(),
            )
        }
    };
    let mut forged = good.clone();
    let mut pd = forged.pubdata.to_vec();
    pd[deposit_at + 19] ^= 1; // the deposit's amount differs from the queued one
    forged.pubdata = Bytes::from(pd);
    assert!(matches!(
        commit_err(forged, genesis.clone()).await,
        RollupErrors::PriorityOpMismatch(_)
    ));
    let mut skipped = good.clone();
    skipped.blockNumber = 2;
    assert!(matches!(
        commit_err(skipped, genesis.clone()).await,
        RollupErrors::BlockNumber(_)
    ));
    let mut bad_link = genesis.clone();
    bad_link.newFinalRoot = B256::repeat_byte(7);
    assert!(matches!(
        commit_err(good.clone(), bad_link).await,
        RollupErrors::StoredBlockMismatch(_)
    ));
    let mut bad_auth = good.clone();
    let mut sig = bad_auth.changePubKeyAuth[0].to_vec();
    sig[10] ^= 1;
    bad_auth.changePubKeyAuth[0] = Bytes::from(sig);
    assert!(matches!(
        commit_err(bad_auth, genesis.clone()).await,
        RollupErrors::BadChangePubKeyAuth(_)
    ));
    // The same key change signed by alice's own L1 key, but for another deployment (a test
    // network's domain): the contract binds the authorisation to its own domain.
    let Tx::ChangePubKey {
        auth: elsewhere, ..
    } = DevWallet::new(1).change_pubkey(C1, AccountId(1), 0, 0, 0)
    else {
        unreachable!("a key change")
    };
    let CpkAuth::Ecdsa(elsewhere) = elsewhere else {
        unreachable!("signed")
    };
    let mut other_domain = good.clone();
    other_domain.changePubKeyAuth[0] = Bytes::from(elsewhere.0.to_vec());
    assert!(matches!(
        commit_err(other_domain, genesis.clone()).await,
        RollupErrors::BadChangePubKeyAuth(_)
    ));
    // An empty signature claims an on-chain authorisation, which alice never set.
    let mut claimed_onchain = good.clone();
    claimed_onchain.changePubKeyAuth[0] = Bytes::new();
    assert!(matches!(
        commit_err(claimed_onchain, genesis.clone()).await,
        RollupErrors::BadChangePubKeyAuth(_)
    ));
    // The fact the contract stores for a change is the one `ChangePubKey::auth_fact` computes
    // (set here by anvil account 3 for the same change: the fact is keyed by its sender).
    let cpk = b1
        .txs
        .iter()
        .find_map(|t| match t {
            Tx::ChangePubKey { tx, .. } => Some(tx.clone()),
            _ => None,
        })
        .unwrap();
    let priced = ChangePubKey {
        nonce: Nonce(9),
        fee_token: TokenId(1),
        fee: Amount::new(2_047_000).unwrap(),
        ..cpk.clone()
    };
    for change in [&cpk, &priced] {
        ok(c1
            .rollup_as(3)
            .setAuthPubkeyHash(
                change.account.0,
                alloy::primitives::FixedBytes(change.new_pubkey_hash.0),
                change.nonce.0,
                change.fee_token.0,
                change.fee.get(),
            )
            .send()
            .await)
        .await;
        let stored = c1
            .rollup
            .authFacts(c1.user(3).0.address(), change.nonce.0)
            .call()
            .await
            .unwrap();
        assert_eq!(stored.0, change.auth_fact());
    }
    let mut no_auth = good.clone();
    no_auth.changePubKeyAuth.clear();
    assert!(matches!(
        commit_err(no_auth, genesis.clone()).await,
        RollupErrors::BadChangePubKeyAuth(_)
    ));
    let mut wrong_hash = good.clone();
    wrong_hash.pubdataHashes[0] = B256::repeat_byte(1);
    assert!(matches!(
        commit_err(wrong_hash, genesis.clone()).await,
        RollupErrors::ChainValues(_)
    ));
    assert!(matches!(
        revert_of(
            c1.rollup_as(3)
                .commitBlocks(genesis.clone(), vec![good.clone()], approval1.clone())
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::NotOperator(_)
    ));

    // Commit everywhere; prove rejections; prove everywhere.
    for (c, p) in net.chains.iter().zip(&prev) {
        ok(c.rollup
            .commitBlocks(
                p.clone(),
                vec![encode::commit_info(&b1, c.id).unwrap()],
                approval1.clone(),
            )
            .send()
            .await)
        .await;
    }
    let proofs = prove(&b1);
    let prove_err = |input: Rollup::ProofInput, p: &Proofs| {
        let r = c1.rollup.clone();
        let (chain, binding) = (p.chain.clone(), p.binding.clone());
        async move {
            revert_of(
                r.proveBlocks(vec![input], chain, binding)
                    .call()
                    .await
                    .unwrap_err(),
            )
        }
    };
    assert_eq!(proofs.chain.len(), 3, "one sub-block per chain");
    let mut tampered = proofs.clone();
    tampered.chain[1][6] ^= U256::from(1); // chain 2's C.x
    assert!(matches!(
        prove_err(tampered.input(&b1, C1), &tampered).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut missing = proofs.clone();
    missing.chain[2] = proofs.chain[0]; // chain 3's proof missing: chain 1's in its place
    assert!(matches!(
        prove_err(missing.input(&b1, C1), &missing).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut short = proofs.clone();
    short.chain.pop();
    assert!(matches!(
        prove_err(short.input(&b1, C1), &short).await,
        RollupErrors::ChainValues(_)
    ));
    // Chain 1's proof of this very block, made for another deployment (same state, same
    // operations, the test network's domain in its public input): refused here, where the
    // contract puts its own domain in the public input.
    let foreign = rollup_circuits::chain::ChainWitness::new(
        &b1.chains[0],
        b1.number,
        &rollup_state::dev::TEST_DOMAIN,
        CAPACITY,
    )
    .unwrap();
    assert_ne!(rollup_state::dev::TEST_DOMAIN, net.domain);
    let mut elsewhere = proofs.clone();
    elsewhere.chain[0] = encode::proof(&proof_words(
        &rollup_prover::prove_chain(&keys().0, foreign)
            .unwrap()
            .proof,
    ));
    assert!(matches!(
        prove_err(elsewhere.input(&b1, C1), &elsewhere).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut other_links = proofs.input(&b1, C1);
    other_links.chains[1].linksHash = B256::repeat_byte(3);
    assert!(matches!(
        prove_err(other_links, &proofs).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut other_pubdata = proofs.input(&b1, C1);
    other_pubdata.chains[2].pubdataHashes[0] = B256::repeat_byte(3);
    assert!(matches!(
        prove_err(other_pubdata, &proofs).await,
        RollupErrors::CommitmentMismatch(_)
    ));
    for c in &net.chains {
        ok(prove_call(c, &b1, &proofs).send().await).await;
        assert_eq!(c.rollup.totalBlocksProven().call().await.unwrap(), 1);
    }

    // ---- consensus
    let sync = B256::from(b1.sync_hash);
    let mask = c1.rollup.chainsMask().call().await.unwrap();
    assert!(matches!(
        revert_of(
            c1.rollup
                .executeBlocks(vec![encode::execute_info(&b1, C1).unwrap()])
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::NotSynced(_)
    ));
    let attest_err = |n: u32, h: B256, m: U256, sigs: Vec<Bytes>| {
        let r = c1.rollup.clone();
        async move {
            revert_of(
                r.receiveSyncAttestation(n, h, m, sigs)
                    .call()
                    .await
                    .unwrap_err(),
            )
        }
    };
    let one = net.attest(c1, 1, sync, &[&net.oracles[0]]).await;
    assert!(matches!(
        attest_err(1, sync, mask, one).await,
        RollupErrors::BelowThreshold(_)
    ));
    let stranger = alloy::signers::local::PrivateKeySigner::random();
    let forged = net.attest(c1, 1, sync, &[&net.oracles[0], &stranger]).await;
    assert!(matches!(
        attest_err(1, sync, mask, forged).await,
        RollupErrors::BadSigner(_)
    ));
    let single = net.attest(c1, 1, sync, &[&net.oracles[0]]).await;
    let repeated = vec![single[0].clone(), single[0].clone()];
    assert!(matches!(
        attest_err(1, sync, mask, repeated).await,
        RollupErrors::BadSigner(_)
    ));
    let other = B256::repeat_byte(9);
    let other_sigs = net
        .attest(c1, 1, other, &[&net.oracles[0], &net.oracles[1]])
        .await;
    assert!(matches!(
        attest_err(1, other, mask, other_sigs).await,
        RollupErrors::SyncHashMismatch(_)
    ));
    // Signatures over the real sync hash, presented for another one, recover to strangers.
    let good_sigs = net
        .attest(c1, 1, sync, &[&net.oracles[0], &net.oracles[1]])
        .await;
    let partial = mask - U256::from(1u8 << 3); // chain 3 not among the provers
    assert!(matches!(
        attest_err(1, sync, partial, good_sigs.clone()).await,
        RollupErrors::AttestationChains(_)
    ));
    for c in &net.chains {
        let sigs = net
            .attest(c, 1, sync, &[&net.oracles[0], &net.oracles[2]])
            .await;
        ok(c.rollup
            .receiveSyncAttestation(1, sync, mask, sigs)
            .send()
            .await)
        .await;
    }
    assert!(matches!(
        attest_err(1, sync, mask, good_sigs).await,
        RollupErrors::AlreadySynced(_)
    ));
    for c in &net.chains {
        ok(c.rollup
            .executeBlocks(vec![encode::execute_info(&b1, c.id).unwrap()])
            .send()
            .await)
        .await;
        assert_eq!(c.rollup.totalBlocksExecuted().call().await.unwrap(), 1);
    }

    // ---- block 2: alice withdraws on chain 1, bob exits fully on chain 2
    let w = Address::repeat_byte(0x77);
    ok(bob_rollup.requestFullExit(2, 1).send().await).await;
    let mut txs = vec![alice.sign(L2Tx::Withdraw(Withdraw {
        chain: C1,
        account: AccountId(1),
        to: rollup_crypto::Address(w.0.0),
        token: TokenId(0),
        amount: amount(ETH / 4),
        fee: amount(1000),
        nonce: Nonce(1),
    }))];
    txs.extend(priority_txs(net.chain(C2), 1).await);
    let stored1: Vec<_> = CHAINS
        .iter()
        .map(|c| encode::stored_block(&b1, *c).unwrap())
        .collect();
    let b2 = build(&mut net, 2, b1.sync_hash, txs);
    settle(&net, &stored1, &b2).await;
    // The operator's state after block 2, to compare with what users rebuild from L1 alone.
    let operator_root = net.state.chain_mut(C1).unwrap().root();
    let c1 = net.chain(C1);
    assert_eq!(
        c1.rollup.pendingBalance(w, 0).call().await.unwrap(),
        ETH / 4
    );
    ok(c1
        .rollup_as(3)
        .withdrawPendingBalance(w, 0, ETH / 4)
        .send()
        .await)
    .await;
    assert_eq!(c1.balance(w).await, U256::from(ETH / 4));
    assert_eq!(c1.rollup.pendingBalance(w, 0).call().await.unwrap(), 0);
    assert!(matches!(
        revert_of(
            c1.rollup
                .withdrawPendingBalance(w, 0, 1)
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::InsufficientPending(_)
    ));
    let before = token.balanceOf(bob).call().await.unwrap();
    ok(bob_rollup
        .withdrawPendingBalance(bob, 1, 500_000_000)
        .send()
        .await)
    .await;
    assert_eq!(
        token.balanceOf(bob).call().await.unwrap(),
        before + U256::from(500_000_000u64)
    );

    // ---- revert: block 3 committed on chain 1 only, then reverted; synced blocks cannot be.
    let stored2: Vec<_> = CHAINS
        .iter()
        .map(|c| encode::stored_block(&b2, *c).unwrap())
        .collect();
    let mut scratch = net.state.clone();
    let b3 = {
        let ctx = BlockContext {
            number: BlockNumber(3),
            timestamp: now(),
            prev_sync_hash: b2.sync_hash,
        };
        let t = alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: rollup_crypto::Address(bob.0.0),
            token: TokenId(0),
            amount: amount(1000),
            fee: amount(0),
            nonce: Nonce(2),
        }));
        build_block(&mut scratch, &ctx, vec![t], BuildOptions::default())
    };
    ok(c1
        .rollup
        .commitBlocks(
            stored2[0].clone(),
            vec![encode::commit_info(&b3, C1).unwrap()],
            net.approve(&b3),
        )
        .send()
        .await)
    .await;
    assert_eq!(c1.rollup.totalBlocksCommitted().call().await.unwrap(), 3);
    assert!(matches!(
        revert_of(
            c1.rollup
                .revertBlocks(
                    vec![encode::stored_block(&b3, C1).unwrap(), stored2[0].clone()],
                    vec![]
                )
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::CannotRevert(_)
    ));
    ok(c1
        .rollup
        .revertBlocks(vec![encode::stored_block(&b3, C1).unwrap()], vec![])
        .send()
        .await)
    .await;
    assert_eq!(c1.rollup.totalBlocksCommitted().call().await.unwrap(), 2);

    // ---- exodus on chain 1: a deposit nobody processes expires.
    let (carol, _) = c1.user(3);
    ok(c1
        .rollup_as(3)
        .depositETH(carol.address())
        .value(U256::from(ETH / 10))
        .send()
        .await)
    .await;
    let serial = c1.rollup.totalPriorityRequests().call().await.unwrap() - 1;
    assert!(matches!(
        revert_of(c1.rollup.activateExodusMode().call().await.unwrap_err()),
        RollupErrors::NoExpiredRequest(_)
    ));
    c1.warp(PRIORITY_EXPIRY + 1).await;
    ok(c1.rollup_as(3).activateExodusMode().send().await).await;
    assert!(matches!(
        revert_of(
            c1.rollup
                .commitBlocks(
                    stored2[0].clone(),
                    vec![encode::commit_info(&b3, C1).unwrap()],
                    net.approve(&b3)
                )
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::Exodus(_)
    ));
    // Alice leaves with a Merkle proof of her balance in the last executed state, which she
    // rebuilds from L1 data alone: the public genesis, then the pubdata of every executed block
    // read back from the commit transactions' calldata.
    let executed = c1.rollup.totalBlocksExecuted().call().await.unwrap();
    let history =
        rollup_l1::history::committed_pubdata(&c1.provider, *c1.rollup.address(), executed)
            .await
            .unwrap();
    let mut chain = rollup_state::NetworkState::genesis(&network(net.domain))
        .unwrap()
        .chain(C1)
        .unwrap()
        .clone();
    for (_, pubdata) in &history {
        for op in op::decode_pubdata(pubdata).unwrap() {
            chain.apply_op(&op).unwrap();
        }
        chain.settle_fees();
    }
    let rebuilt = chain.root();
    assert_eq!(rebuilt, operator_root);
    assert_eq!(
        encode::root(&rebuilt),
        c1.rollup.lastExecutedChainRoot().call().await.unwrap()
    );
    let alice_id = (0..chain.account_count())
        .map(AccountId)
        .find(|a| chain.account(*a).unwrap().address == alice.address())
        .unwrap();
    let proof = encode::exit_proof(&mut chain, alice_id, TokenId(0)).unwrap();
    let left = proof.amount;
    assert!(left > 0);
    let mut inflated = proof.clone();
    inflated.amount += 1;
    assert!(matches!(
        revert_of(c1.rollup.exit(inflated).call().await.unwrap_err()),
        RollupErrors::BadExitProof(_)
    ));
    let receipt = c1
        .rollup_as(4)
        .exit(proof.clone())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    println!("exodus exit: {} gas", receipt.gas_used);
    assert!(matches!(
        revert_of(c1.rollup.exit(proof).call().await.unwrap_err()),
        RollupErrors::AlreadyExited(_)
    ));
    let alice_l1 = addr(alice.address());
    ok(c1
        .rollup_as(4)
        .withdrawPendingBalance(alice_l1, 0, left)
        .send()
        .await)
    .await;
    assert_eq!(c1.balance(alice_l1).await, U256::from(left));
    // Carol's unprocessed deposit is refunded to her.
    let before = c1.balance(carol.address()).await;
    ok(c1
        .rollup_as(4)
        .refundDeposit(serial, carol.address(), 0, ETH / 10)
        .send()
        .await)
    .await;
    assert!(matches!(
        revert_of(
            c1.rollup
                .refundDeposit(serial, carol.address(), 0, ETH / 10)
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::NotRefundable(_)
    ));
    ok(c1
        .rollup_as(4)
        .withdrawPendingBalance(carol.address(), 0, ETH / 10)
        .send()
        .await)
    .await;
    assert_eq!(
        c1.balance(carol.address()).await,
        before + U256::from(ETH / 10)
    );
    // Chain 3 is not in exodus: exodus is per chain, triggered by that chain's own queue.
    assert!(!net.chain(C3).rollup.exodusMode().call().await.unwrap());
}

/// Finding 4, the attack end to end: block 2 takes alice's ETH on chain 1 (a transfer to bob: the
/// input half) and pays her on chain 2 (a withdrawal: the output half), like a cross-chain swap.
/// The attacker (the operator) relays the oracles' attestation to chain 2 only, where anyone may
/// execute it, and tries to drop block 2 on chain 1 — refused without the oracles' abandonment —
/// then lets chain 1's queue expire so that alice could exit there from the state before block 2.
/// Chain 1's exits wait until block 2 is settled there; anyone delivers the attestation and
/// executes it in exodus mode; then only the state after block 2 can be exited from.
#[tokio::test(flavor = "multi_thread")]
async fn a_block_executed_on_one_chain_cannot_be_dropped_on_another() {
    let mut net = Net::start().await;
    let alice = DevWallet::new(1).on(net.domain);
    let bob = DevWallet::new(2).on(net.domain);
    for c in [C1, C2] {
        ok(net
            .chain(c)
            .rollup_as(1)
            .depositETH(addr(alice.address()))
            .value(U256::from(ETH))
            .send()
            .await)
        .await;
    }
    let mut txs = priority_txs(net.chain(C1), 0).await;
    txs.extend(priority_txs(net.chain(C2), 0).await);
    txs.push(alice.change_pubkey(C1, AccountId(1), 0, 0, 0));
    let genesis = encode::genesis_stored_block(&net.state.clone().final_root());
    let b1 = build(&mut net, 1, rollup_state::genesis_sync_hash(), txs);
    settle(&net, &vec![genesis; 3], &b1).await;
    let stored1: Vec<_> = CHAINS
        .iter()
        .map(|c| encode::stored_block(&b1, *c).unwrap())
        .collect();
    // Alice's exit proof on chain 1 before block 2: her whole deposit.
    let before = net.state.clone();
    let nonce = |net: &Net, c: ChainId| {
        net.state
            .chain(c)
            .unwrap()
            .account(AccountId(1))
            .unwrap()
            .nonce
    };
    let w = Address::repeat_byte(0x55);
    let txs = vec![
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: bob.address(),
            token: TokenId(0),
            amount: amount(ETH / 2),
            fee: amount(0),
            nonce: nonce(&net, C1),
        })),
        alice.sign(L2Tx::Withdraw(Withdraw {
            chain: C2,
            account: AccountId(1),
            to: rollup_crypto::Address(w.0.0),
            token: TokenId(0),
            amount: amount(ETH / 2),
            fee: amount(0),
            nonce: nonce(&net, C2),
        })),
    ];
    let b2 = build(&mut net, 2, b1.sync_hash, txs);
    let mut after = net.state.clone();
    let proofs = prove(&b2);
    for (c, p) in net.chains.iter().zip(&stored1) {
        ok(c.rollup
            .commitBlocks(
                p.clone(),
                vec![encode::commit_info(&b2, c.id).unwrap()],
                net.approve(&b2),
            )
            .send()
            .await)
        .await;
        ok(prove_call(c, &b2, &proofs).send().await).await;
    }
    // Every chain proved block 2: the oracles attest it. The attacker relays it to chain 2 only,
    // and a stranger (not an operator) executes it there: alice's withdrawal is paid on chain 2.
    let sync = B256::from(b2.sync_hash);
    let c2 = net.chain(C2);
    let mask = c2.rollup.chainsMask().call().await.unwrap();
    let sigs = net
        .attest(c2, 2, sync, &[&net.oracles[0], &net.oracles[1]])
        .await;
    ok(c2
        .rollup_as(4)
        .receiveSyncAttestation(2, sync, mask, sigs.clone())
        .send()
        .await)
    .await;
    ok(c2
        .rollup_as(4)
        .executeBlocks(vec![encode::execute_info(&b2, C2).unwrap()])
        .send()
        .await)
    .await;
    assert_eq!(
        c2.rollup.pendingBalance(w, 0).call().await.unwrap(),
        ETH / 2
    );

    // On chain 1 the operator tries to drop block 2: proven there, so only the oracles'
    // abandonment could revert it — none, or strangers' signatures, are refused.
    let c1 = net.chain(C1);
    let stored2 = encode::stored_block(&b2, C1).unwrap();
    let revert_err = |sigs: Vec<Bytes>| {
        let r = c1.rollup.clone();
        let b = stored2.clone();
        async move { revert_of(r.revertBlocks(vec![b], sigs).call().await.unwrap_err()) }
    };
    assert!(matches!(
        revert_err(vec![]).await,
        RollupErrors::BelowThreshold(_)
    ));
    let strangers = [
        alloy::signers::local::PrivateKeySigner::random(),
        alloy::signers::local::PrivateKeySigner::random(),
    ];
    let forged = net
        .abandon(c1, 2, sync, &[&strangers[0], &strangers[1]])
        .await;
    assert!(matches!(
        revert_err(forged).await,
        RollupErrors::BadSigner(_)
    ));
    // The oracles' sync attestation is not an abandonment (another digest).
    assert!(matches!(
        revert_err(sigs.clone()).await,
        RollupErrors::BadSigner(_)
    ));
    assert_eq!(c1.rollup.totalBlocksProven().call().await.unwrap(), 2);

    // Chain 1's queue expires (a deposit nobody processes): exodus there.
    let (carol, _) = c1.user(3);
    ok(c1
        .rollup_as(3)
        .depositETH(carol.address())
        .value(U256::from(ETH / 10))
        .send()
        .await)
    .await;
    let serial = c1.rollup.totalPriorityRequests().call().await.unwrap() - 1;
    c1.warp(PRIORITY_EXPIRY + 1).await;
    ok(c1.rollup_as(4).activateExodusMode().send().await).await;
    let mut pre = before;
    let stale = encode::exit_proof(pre.chain_mut(C1).unwrap(), AccountId(1), TokenId(0)).unwrap();
    assert_eq!(
        stale.amount, ETH,
        "before block 2 alice held her whole deposit on chain 1"
    );
    // Not from the state before block 2, which chain 2 executed: exits wait for it.
    assert!(matches!(
        revert_of(c1.rollup.exit(stale.clone()).call().await.unwrap_err()),
        RollupErrors::PendingBlocks(_)
    ));
    assert!(matches!(
        revert_of(
            c1.rollup
                .refundDeposit(serial, carol.address(), 0, ETH / 10)
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::PendingBlocks(_)
    ));
    // Anyone delivers the attestation and executes block 2 on chain 1, in exodus mode.
    ok(c1
        .rollup_as(4)
        .receiveSyncAttestation(2, sync, mask, sigs)
        .send()
        .await)
    .await;
    ok(c1
        .rollup_as(4)
        .executeBlocks(vec![encode::execute_info(&b2, C1).unwrap()])
        .send()
        .await)
    .await;
    // The stale proof no longer matches; the state after block 2 is what alice leaves with.
    assert!(matches!(
        revert_of(c1.rollup.exit(stale).call().await.unwrap_err()),
        RollupErrors::BadExitProof(_)
    ));
    let fresh = encode::exit_proof(after.chain_mut(C1).unwrap(), AccountId(1), TokenId(0)).unwrap();
    assert_eq!(fresh.amount, ETH / 2);
    ok(c1.rollup_as(4).exit(fresh).send().await).await;
    assert_eq!(
        c1.rollup
            .pendingBalance(addr(alice.address()), 0)
            .call()
            .await
            .unwrap(),
        ETH / 2
    );
    // Carol's deposit, which no block consumed, is refundable once chain 1 is settled.
    ok(c1
        .rollup_as(4)
        .refundDeposit(serial, carol.address(), 0, ETH / 10)
        .send()
        .await)
    .await;
}

/// Finding 8 (every chain wants the auditor's approval of the exact commit) and the revert rule of
/// finding 4 (a proven block goes only with the oracles' abandonment) with real proofs: block 1 is
/// refused without a proper approval, committed with it, proven on chains 1 and 2 but never on
/// chain 3; once its prove window has passed on every chain no chain may prove it, the oracles'
/// abandonment reverts it on chains 1 and 2, and a new block 1 goes through everywhere.
#[tokio::test(flavor = "multi_thread")]
async fn commits_need_the_auditor_and_an_unsynced_proven_block_needs_an_abandonment() {
    let mut net = Net::start().await;
    let alice = DevWallet::new(1).on(net.domain);
    ok(net
        .chain(C1)
        .rollup_as(1)
        .depositETH(addr(alice.address()))
        .value(U256::from(ETH))
        .send()
        .await)
    .await;
    let txs = priority_txs(net.chain(C1), 0).await;
    let genesis_state = net.state.clone();
    let genesis = encode::genesis_stored_block(&net.state.clone().final_root());
    let b1 = build(&mut net, 1, rollup_state::genesis_sync_hash(), txs.clone());
    let c1 = net.chain(C1);
    let info = encode::commit_info(&b1, C1).unwrap();
    let sync = B256::from(b1.sync_hash);
    assert_eq!(encode::commit_sync_hash(&genesis, &info), sync);
    let commit_err = |approvals: Vec<Bytes>| {
        let r = c1.rollup.clone();
        let (g, i) = (genesis.clone(), info.clone());
        async move {
            revert_of(
                r.commitBlocks(g, vec![i], approvals)
                    .call()
                    .await
                    .unwrap_err(),
            )
        }
    };
    let bad_approval = |e: RollupErrors| matches!(e, RollupErrors::BadApproval(_));
    let sign = |key: &alloy::signers::local::PrivateKeySigner, network: B256, n: u32, h: B256| {
        vec![Bytes::from(
            rollup_l1::approval::sign(key, network, n, h).unwrap(),
        )]
    };
    let other = alloy::signers::local::PrivateKeySigner::random();
    // No signature; another signer's; the auditor's over other data; over another block number;
    // over this block for another network.
    assert!(matches!(
        commit_err(vec![]).await,
        RollupErrors::ChainValues(_)
    ));
    assert!(bad_approval(commit_err(vec![Bytes::new()]).await));
    assert!(bad_approval(
        commit_err(sign(&other, net.network_id, 1, sync)).await
    ));
    assert!(bad_approval(
        commit_err(sign(&net.auditor, net.network_id, 1, B256::repeat_byte(1))).await
    ));
    assert!(bad_approval(
        commit_err(sign(&net.auditor, net.network_id, 2, sync)).await
    ));
    assert!(bad_approval(
        commit_err(sign(&net.auditor, keccak(b"another network"), 1, sync)).await
    ));
    // Governance rotates the auditor: the old key's approval stops counting, the new one's counts;
    // only the governor may rotate.
    assert!(matches!(
        revert_of(
            c1.rollup_as(4)
                .setAuditor(other.address())
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::NotGovernor(_)
    ));
    ok(c1.rollup.setAuditor(other.address()).send().await).await;
    assert!(bad_approval(commit_err(net.approve(&b1)).await));
    ok(c1
        .rollup
        .commitBlocks(
            genesis.clone(),
            vec![info.clone()],
            sign(&other, net.network_id, 1, sync),
        )
        .send()
        .await)
    .await;
    ok(c1.rollup.setAuditor(net.auditor.address()).send().await).await;
    assert_eq!(
        c1.rollup.auditor().call().await.unwrap(),
        net.auditor.address()
    );
    // Chains 2 and 3 take it with the auditor's approval; chains 1 and 2 prove it, chain 3 never.
    for c in &net.chains[1..] {
        ok(c.rollup
            .commitBlocks(
                genesis.clone(),
                vec![encode::commit_info(&b1, c.id).unwrap()],
                net.approve(&b1),
            )
            .send()
            .await)
        .await;
    }
    let proofs = prove(&b1);
    for c in &net.chains[..2] {
        ok(prove_call(c, &b1, &proofs).send().await).await;
        assert_eq!(
            c.rollup.proveDeadline(1).call().await.unwrap(),
            b1.timestamp + PROVE_WINDOW
        );
    }
    // The prove window passes on every chain: chain 3 may no longer prove block 1, so it can
    // never be synced, and the oracles may abandon it.
    for c in &net.chains {
        c.warp(PROVE_WINDOW + 1).await;
    }
    let c3 = net.chain(C3);
    assert!(matches!(
        revert_of(prove_call(c3, &b1, &proofs).call().await.unwrap_err()),
        RollupErrors::ProveWindowPassed(_)
    ));
    let stored = encode::stored_block(&b1, C1).unwrap();
    let c1 = net.chain(C1);
    let revert = |sigs: Vec<Bytes>| c1.rollup.revertBlocks(vec![stored.clone()], sigs);
    assert!(matches!(
        revert_of(revert(vec![]).call().await.unwrap_err()),
        RollupErrors::BelowThreshold(_)
    ));
    let forged = net.abandon(c1, 1, sync, &[&net.oracles[0], &other]).await;
    assert!(matches!(
        revert_of(revert(forged).call().await.unwrap_err()),
        RollupErrors::BadSigner(_)
    ));
    let wrong_block = net
        .abandon(
            c1,
            1,
            B256::repeat_byte(2),
            &[&net.oracles[0], &net.oracles[1]],
        )
        .await;
    assert!(matches!(
        revert_of(revert(wrong_block).call().await.unwrap_err()),
        RollupErrors::BadSigner(_)
    ));
    for c in &net.chains[..2] {
        let sigs = net
            .abandon(c, 1, sync, &[&net.oracles[1], &net.oracles[2]])
            .await;
        ok(c.rollup
            .revertBlocks(vec![encode::stored_block(&b1, c.id).unwrap()], sigs)
            .send()
            .await)
        .await;
        assert_eq!(c.rollup.totalBlocksProven().call().await.unwrap(), 0);
    }
    // Chain 3 only committed it: the operator reverts it there without anyone's say.
    ok(c3
        .rollup
        .revertBlocks(vec![encode::stored_block(&b1, C3).unwrap()], vec![])
        .send()
        .await)
    .await;
    // Control: a new block 1 with the same deposit (and a fresh timestamp) goes through
    // everywhere.
    let t = c3
        .provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp;
    net.state = genesis_state;
    let again = build_at(&mut net, 1, rollup_state::genesis_sync_hash(), txs, t);
    assert_ne!(again.sync_hash, b1.sync_hash);
    settle(&net, &vec![genesis; 3], &again).await;
    for c in &net.chains {
        assert_eq!(c.rollup.totalBlocksExecuted().call().await.unwrap(), 1);
    }
}

/// A block larger than one chain proof: chain 1's part of block 2 is several sub-blocks of the
/// circuit's capacity, chain 2's a single nearly empty one and chain 3's an empty one (every chain
/// hashes its part in sub-blocks of the same size, however little it holds). Blocks 1 and 2 are
/// committed in one transaction, proven in one (one batched pairing check over all their proofs)
/// and executed in one. Sub-blocks out of order, with a root gap, with a forged carry or with one
/// left out are refused.
#[tokio::test(flavor = "multi_thread")]
async fn big_blocks_in_sub_blocks_and_several_blocks_per_transaction() {
    let mut net = Net::start().await;
    let alice = DevWallet::new(1).on(net.domain);
    let bob = DevWallet::new(2).address();
    // Block 1: alice on chain 1, bob on chain 2 (accounts exist on every chain from then on).
    async fn deposit(net: &Net, chain: ChainId, to: rollup_crypto::Address) {
        let c = net.chain(chain).rollup_as(1);
        ok(c.depositETH(addr(to)).value(U256::from(ETH)).send().await).await;
    }
    deposit(&net, C1, alice.address()).await;
    deposit(&net, C2, bob).await;
    let mut txs = priority_txs(net.chain(C1), 0).await;
    txs.extend(priority_txs(net.chain(C2), 0).await);
    txs.push(alice.change_pubkey(C1, AccountId(1), 0, 0, 0));
    let genesis = encode::genesis_stored_block(&net.state.clone().final_root());
    let b1 = build(&mut net, 1, rollup_state::genesis_sync_hash(), txs);
    // Block 2: a deposit to bob on chain 2, alice's transfers to bob on chain 1, nothing on 3.
    deposit(&net, C2, bob).await;
    let mut txs = priority_txs(net.chain(C2), 1).await;
    let first = net
        .state
        .chain(C1)
        .unwrap()
        .account(AccountId(1))
        .unwrap()
        .nonce
        .0;
    const TRANSFERS: u32 = 40;
    txs.extend((0..TRANSFERS).map(|i| {
        alice.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: AccountId(1),
            to: bob,
            token: TokenId(0),
            // Distinct amounts: sub-blocks of equal transfers would have equal pubdata.
            amount: amount(1000 + i as u128),
            fee: amount(1),
            nonce: Nonce(first + i),
        }))
    }));
    let b2 = build(&mut net, 2, b1.sync_hash, txs);
    let subs: Vec<usize> = b2.chains.iter().map(|c| c.sub_blocks.len()).collect();
    assert!(
        subs[0] >= 3,
        "chain 1's part of block 2 in {subs:?} sub-blocks"
    );
    let h = &b2.chains[0].sub_blocks;
    assert_ne!(h[0].pubdata_hash, h[1].pubdata_hash);
    assert_eq!(subs[1..], [1, 1]);
    assert!(b2.chains[2].pubdata.is_empty() && !b2.chains[1].pubdata.is_empty());
    let (p1, p2) = (prove(&b1), prove(&b2));
    assert_eq!(p2.chain.len(), subs.iter().sum::<usize>());

    // ---- both blocks committed in one transaction per chain
    let mut used = [0u64; 4];
    let approvals = [net.approve(&b1), net.approve(&b2)].concat();
    for c in &net.chains {
        used[0] = gas(c
            .rollup
            .commitBlocks(
                genesis.clone(),
                vec![
                    encode::commit_info(&b1, c.id).unwrap(),
                    encode::commit_info(&b2, c.id).unwrap(),
                ],
                approvals.clone(),
            )
            .send()
            .await)
        .await;
        assert_eq!(c.rollup.totalBlocksCommitted().call().await.unwrap(), 2);
    }

    // ---- forged sub-blocks of block 2, proven with block 1 in one call
    let c1 = net.chain(C1);
    let (chain_proofs, binding_proofs) = Proofs::concat(&[&p1, &p2]);
    let at = p1.chain.len(); // block 2's chain-1 sub-blocks start here
    let prove_err = |second: Rollup::ProofInput, chain: Vec<[U256; 8]>| {
        let r = c1.rollup.clone();
        let inputs = vec![p1.input(&b1, C1), second];
        let binding = binding_proofs.clone();
        async move {
            revert_of(
                r.proveBlocks(inputs, chain, binding)
                    .call()
                    .await
                    .unwrap_err(),
            )
        }
    };
    let honest = p2.input(&b2, C1);
    let mut swapped = chain_proofs.clone();
    swapped.swap(at, at + 1);
    assert!(matches!(
        prove_err(honest.clone(), swapped).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut reordered = honest.clone();
    reordered.chains[0].pubdataHashes.swap(0, 1);
    assert!(matches!(
        prove_err(reordered, chain_proofs.clone()).await,
        RollupErrors::CommitmentMismatch(_)
    ));
    let mut gap = honest.clone();
    gap.chains[0].roots[1] = gap.chains[0].roots[2]; // sub-block 0 claimed to end where 1 does
    assert!(matches!(
        prove_err(gap, chain_proofs.clone()).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut carry = honest.clone();
    carry.chains[0].carries[0] = B256::repeat_byte(7);
    assert!(matches!(
        prove_err(carry, chain_proofs.clone()).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut dropped = honest.clone();
    let cp = &mut dropped.chains[0];
    cp.pubdataHashes.remove(1);
    cp.roots.remove(2);
    cp.carries.remove(1);
    let mut fewer = chain_proofs.clone();
    fewer.remove(at + 1);
    assert!(matches!(
        prove_err(dropped, fewer).await,
        RollupErrors::CommitmentMismatch(_)
    ));
    let mut lengths = honest.clone();
    lengths.chains[0].carries.pop();
    assert!(matches!(
        prove_err(lengths, chain_proofs.clone()).await,
        RollupErrors::ChainValues(_)
    ));

    // ---- both blocks proven in one transaction, attested, executed in one
    for c in &net.chains {
        used[1] = gas(c
            .rollup
            .proveBlocks(
                vec![p1.input(&b1, c.id), p2.input(&b2, c.id)],
                chain_proofs.clone(),
                binding_proofs.clone(),
            )
            .send()
            .await)
        .await;
        assert_eq!(c.rollup.totalBlocksProven().call().await.unwrap(), 2);
    }
    for c in &net.chains {
        used[2] = 0;
        for b in [&b1, &b2] {
            let sync = B256::from(b.sync_hash);
            let sigs = net
                .attest(c, b.number.0, sync, &[&net.oracles[1], &net.oracles[2]])
                .await;
            let mask = c.rollup.chainsMask().call().await.unwrap();
            used[2] += gas(c
                .rollup
                .receiveSyncAttestation(b.number.0, sync, mask, sigs)
                .send()
                .await)
            .await;
        }
        used[3] = gas(c
            .rollup
            .executeBlocks(vec![
                encode::execute_info(&b1, c.id).unwrap(),
                encode::execute_info(&b2, c.id).unwrap(),
            ])
            .send()
            .await)
        .await;
        assert_eq!(c.rollup.totalBlocksExecuted().call().await.unwrap(), 2);
        assert_eq!(
            c.rollup.lastExecutedChainRoot().call().await.unwrap(),
            encode::root(&b2.chains.iter().find(|x| x.chain == c.id).unwrap().new_root)
        );
    }
    let total: u64 = used.iter().sum();
    println!(
        "blocks 1-2 ({TRANSFERS} transfers, {subs:?} sub-blocks in block 2) on chain 3: commit {} \
         gas, prove {} gas, attestations {} gas, execute {} gas; {:.0} gas per transfer",
        used[0],
        used[1],
        used[2],
        used[3],
        total as f64 / TRANSFERS as f64
    );
}
