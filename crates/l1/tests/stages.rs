//! The rollup contracts on three real anvil chains, driven through all four stages with real
//! Groth16 proofs: ETH and ERC-20 deposits, a key change authorised by ECDSA, commit (and its
//! rejections), prove (and a bad proof), oracle attestations (and every way they can be wrong),
//! execute before and after sync, a withdrawal and a full exit claimed on L1, revert, and exodus
//! with a Merkle exit built from L1 data alone and a deposit refund. Run in release (proving); keys are cached under
//! `.data/keys`.

mod common;

use alloy::primitives::{Address, B256, Bytes, U256};
use common::*;
use rollup_l1::bindings::Rollup::{self, RollupErrors};
use rollup_l1::bindings::TestToken;
use rollup_l1::encode;
use rollup_prover::verifier::proof_words;
use rollup_prover::{BlockProofs, prove_block};
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
    let ctx = BlockContext {
        number: BlockNumber(number),
        timestamp: now(),
        prev_sync_hash,
    };
    let opts = BuildOptions {
        witness: true,
        max_chunks: CAPACITY,
    };
    let b = build_block(&mut net.state, &ctx, txs, opts);
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    assert!(b.deferred.is_empty());
    b
}

fn prove(b: &Block) -> Vec<[[u8; 32]; 8]> {
    let (chain_keys, binding_keys) = keys();
    let BlockProofs { chains, binding } = prove_block(chain_keys, binding_keys, b).unwrap();
    chains
        .iter()
        .chain(std::iter::once(&binding))
        .map(|p| proof_words(&p.proof))
        .collect()
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
            .commitBlocks(p.clone(), vec![encode::commit_info(b, c.id).unwrap()])
            .send()
            .await)
        .await;
    }
    for c in &net.chains {
        used[1] = gas(c
            .rollup
            .proveBlocks(vec![encode::proof_input(b, c.id, &proofs).unwrap()])
            .send()
            .await)
        .await;
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
    let alice = DevWallet::new(1);
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
    let commit_err = |info: Rollup::CommitBlockInfo, last: Rollup::StoredBlockInfo| {
        let r = c1.rollup.clone();
        async move { revert_of(r.commitBlocks(last, vec![info]).call().await.unwrap_err()) }
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
                .commitBlocks(genesis.clone(), vec![good.clone()])
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::NotOperator(_)
    ));

    // Commit everywhere; prove rejections; prove everywhere.
    for (c, p) in net.chains.iter().zip(&prev) {
        ok(c.rollup
            .commitBlocks(p.clone(), vec![encode::commit_info(&b1, c.id).unwrap()])
            .send()
            .await)
        .await;
    }
    let proofs = prove(&b1);
    let prove_err = |input: Rollup::ProofInput| {
        let r = c1.rollup.clone();
        async move { revert_of(r.proveBlocks(vec![input]).call().await.unwrap_err()) }
    };
    let mut tampered = proofs.clone();
    tampered[1][6][31] ^= 1; // chain 2's C.x
    let input = encode::proof_input(&b1, C1, &tampered).unwrap();
    assert!(matches!(
        prove_err(input).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut missing = proofs.clone();
    missing[2] = proofs[0]; // chain 3's proof missing: chain 1's in its place
    assert!(matches!(
        prove_err(encode::proof_input(&b1, C1, &missing).unwrap()).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut other_links = encode::proof_input(&b1, C1, &proofs).unwrap();
    other_links.linksHashes[1] = B256::repeat_byte(3);
    assert!(matches!(
        prove_err(other_links).await,
        RollupErrors::InvalidProof(_)
    ));
    let mut other_pubdata = encode::proof_input(&b1, C1, &proofs).unwrap();
    other_pubdata.pubdataHashes[2] = B256::repeat_byte(3);
    assert!(matches!(
        prove_err(other_pubdata).await,
        RollupErrors::CommitmentMismatch(_)
    ));
    for c in &net.chains {
        ok(c.rollup
            .proveBlocks(vec![encode::proof_input(&b1, c.id, &proofs).unwrap()])
            .send()
            .await)
        .await;
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
        )
        .send()
        .await)
    .await;
    assert_eq!(c1.rollup.totalBlocksCommitted().call().await.unwrap(), 3);
    assert!(matches!(
        revert_of(
            c1.rollup
                .revertBlocks(vec![
                    encode::stored_block(&b3, C1).unwrap(),
                    stored2[0].clone()
                ])
                .call()
                .await
                .unwrap_err()
        ),
        RollupErrors::CannotRevert(_)
    ));
    ok(c1
        .rollup
        .revertBlocks(vec![encode::stored_block(&b3, C1).unwrap()])
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
                    vec![encode::commit_info(&b3, C1).unwrap()]
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
    let mut chain = rollup_state::NetworkState::genesis(&rollup_state::NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: DevWallet::new(0).address(),
    })
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
