//! The auditor gate on three anvil chains with real proofs. Honest blocks (deposits, keys, a
//! cross-chain pool with liquidity on both sides) are approved and executed everywhere. Then the
//! node's state is corrupted after execution, four ways in turn — a balance changed, a deposit no
//! L1 queue holds, a pool reserve changed, the fee account credited more than the fees paid — and
//! each time the auditor refuses the next block, every sender halts (the node's status says so),
//! nothing of the block reaches any chain, and the operator's action (discard the block, resume
//! the auditor) brings the network back; the final honest block is executed on every chain with
//! every transaction in it exactly once. Last, a block committed around the gate (the operator's
//! key, straight to chain 1) is refused by the contract itself — without the auditor's approval,
//! and with the auditor's approval of the previous block replayed — and when the attacker holds
//! the auditor's key too, the commit the contract then takes is caught by the auditor following
//! the chains, and halts.

mod common;

use common::*;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::HttpClientBuilder;
use jsonrpsee::rpc_params;
use rollup_l1::encode;
use rollup_node::keeper;
use rollup_state::dev::amount;
use rollup_storage::Stage;
use rollup_types::op::Op;
use rollup_types::tx::*;
use rollup_types::*;
use serde_json::Value;
use std::time::Duration;

const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);

async fn executed_everywhere(net: &Devnet, upto: u32) -> bool {
    for n in 1..=upto {
        let stages = net.storage.stages(n).await.unwrap();
        if stages.len() != 3 || stages.iter().any(|(_, s)| *s != Stage::Executed) {
            return false;
        }
    }
    true
}

/// Corrupts the node's in-memory state: `account` (owned by `owner`) gains `value` of ETH on
/// chain 1 out of nowhere.
async fn corrupt_balance(
    net: &Devnet,
    account: AccountId,
    owner: rollup_crypto::Address,
    value: Amount,
) {
    net.shared
        .state
        .lock()
        .await
        .chain_mut(C1)
        .unwrap()
        .apply_op(&Op::Deposit {
            account,
            token: TokenId(0),
            amount: value,
            to: owner,
        })
        .unwrap();
}

/// Waits for the auditor to refuse block `n` and checks the halt everywhere: the node's status,
/// and no chain committing anything of it. Returns the auditor's reason.
async fn refused(net: &Devnet, n: u32) -> String {
    let audit = net.audit.clone();
    until("the auditor's refusal", Duration::from_secs(60), || async {
        audit.active_halt().await.unwrap().is_some()
    })
    .await;
    let halt = net.audit.active_halt().await.unwrap().unwrap();
    assert_eq!(halt.number, n, "{}", halt.reason);
    assert!(halt.evidence.contains("inputs"), "{}", halt.evidence);
    assert!(net.audit.approval(n).await.unwrap().is_none());
    let api = HttpClientBuilder::default()
        .build(format!("http://{}", net.api_addr))
        .unwrap();
    until(
        "the node to see the halt",
        Duration::from_secs(30),
        || async {
            let s: Value = api.request("rollup_status", rpc_params![]).await.unwrap();
            s["halted"] == true && s["auditor"]["block"] == n
        },
    )
    .await;
    // Give every driver time to do anything it (wrongly) could.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (i, chain) in CHAINS.iter().enumerate() {
        let c = net.rollup(i, 3);
        assert_eq!(c.totalBlocksCommitted().call().await.unwrap(), n - 1);
        let sent = net.storage.l1_txs(chain.0).await.unwrap();
        assert!(
            !sent.iter().any(|r| r.contains(&format!("\"commit {n}\""))),
            "no commit of block {n} was even signed on chain {chain}"
        );
    }
    halt.reason
}

/// The operator's action: node stopped, block `n` discarded, the auditor resumed; the node's
/// state is restored from its database (the corruption was in memory, or in requests that are
/// read again from L1).
async fn operator_resumes(net: &mut Devnet, n: u32) {
    net.stop_node().await;
    let d = net.discard(n).await;
    assert_eq!(*d.blocks.start(), n);
    assert!(
        net.audit
            .resume(&format!("block {n} discarded"))
            .await
            .unwrap()
    );
    net.restore_node().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_auditor_gates_every_commit_and_halts_every_chain_until_the_operator_resumes() {
    let mut net = Devnet::start("gate").await;
    let alice = net.wallet(1);
    let bob = net.wallet(2);
    net.deposit(0, alice.address(), ETH).await;
    net.deposit(1, bob.address(), ETH).await;
    let state_has = |net: &Devnet, f: fn(&rollup_state::NetworkState) -> bool| {
        let shared = net.shared.clone();
        async move { f(&*shared.state.lock().await) }
    };
    until("both deposits", Duration::from_secs(60), || {
        state_has(&net, |s| {
            s.chain(C2)
                .and_then(|c| c.account(AccountId(2)))
                .is_some_and(|a| !a.balance(TokenId(0)).is_zero())
        })
    })
    .await;
    net.submit(alice.change_pubkey(C1, AccountId(1), 0, 0, 0))
        .await;
    net.submit(bob.change_pubkey(C2, AccountId(2), 0, 0, 0))
        .await;
    until("both keys", Duration::from_secs(60), || {
        state_has(&net, |s| {
            [(C1, 1), (C2, 2)].iter().all(|(c, a)| {
                s.chain(*c)
                    .and_then(|c| c.account(AccountId(*a)))
                    .is_some_and(|a| a.pubkey_hash != rollup_crypto::PubKeyHash([0; 20]))
            })
        })
    })
    .await;
    net.submit(alice.sign(L2Tx::CreatePool(CreatePool {
        chain: C1,
        account: AccountId(1),
        pool: PoolId(0),
        token: TokenId(0),
        peer_chain: C2,
        peer_token: TokenId(0),
        fee_bps: 30,
        fee: amount(10),
        nonce: Nonce(1),
    })))
    .await;
    until("the pool", Duration::from_secs(60), || {
        state_has(&net, |s| {
            s.chain(C2).and_then(|c| c.pool(PoolId(0))).is_some()
        })
    })
    .await;
    net.submit(alice.sign(L2Tx::AddLiquidity(AddLiquidity {
        chain: C1,
        account: AccountId(1),
        pool: PoolId(0),
        amount: amount(ETH / 4),
        min_shares: Amount::ZERO,
        fee: amount(10),
        nonce: Nonce(2),
    })))
    .await;
    net.submit(bob.sign(L2Tx::AddLiquidity(AddLiquidity {
        chain: C2,
        account: AccountId(2),
        pool: PoolId(0),
        amount: amount(ETH / 5),
        min_shares: Amount::ZERO,
        fee: amount(10),
        nonce: Nonce(1),
    })))
    .await;
    until("liquidity on both sides", Duration::from_secs(60), || {
        state_has(&net, |s| {
            [C1, C2].iter().all(|c| {
                s.chain(*c)
                    .and_then(|c| c.pool(PoolId(0)))
                    .is_some_and(|p| !p.reserve.is_zero())
            })
        })
    })
    .await;
    let honest = net.storage.last_block().await.unwrap();
    until(
        "the honest blocks executed everywhere",
        Duration::from_secs(600),
        || executed_everywhere(&net, honest),
    )
    .await;
    // Every one of them was approved by the auditor (the gate let nothing else through).
    assert_eq!(net.audit.last_approved().await.unwrap(), honest);
    let n = honest + 1;

    // 1. A balance changed in the node's state after execution: alice gains 1 ETH from nowhere.
    corrupt_balance(&net, AccountId(1), alice.address(), amount(ETH)).await;
    let transfer = alice.sign(L2Tx::Transfer(Transfer {
        chain: C1,
        from: AccountId(1),
        to: bob.address(),
        token: TokenId(0),
        amount: amount(ETH / 100),
        fee: amount(10),
        nonce: Nonce(3),
    }));
    net.submit(transfer.clone()).await;
    let reason = refused(&net, n).await;
    assert!(reason.contains("final root"), "{reason}");
    operator_resumes(&mut net, n).await;

    // 2. A deposit no L1 queue holds, in the node's database (a watcher bug).
    let serial = net
        .shared
        .state
        .lock()
        .await
        .chain(C1)
        .unwrap()
        .next_priority_serial();
    let fake = Tx::Deposit(Deposit {
        chain: C1,
        serial_id: serial,
        from: alice.address(),
        to: alice.address(),
        token: TokenId(0),
        amount: amount(10 * ETH),
    });
    let cursor = net.storage.cursor(1).await.unwrap().unwrap();
    net.storage
        .record_watch(1, &[(serial, fake.encode().unwrap(), 1)], &cursor)
        .await
        .unwrap();
    net.spawn_components().await;
    let reason = refused(&net, n).await;
    assert!(reason.contains("priority op"), "{reason}");
    operator_resumes(&mut net, n).await;

    // 3. A pool reserve changed: chain 2's half gains reserve nobody added; alice swaps against it.
    net.shared
        .state
        .lock()
        .await
        .chain_mut(C2)
        .unwrap()
        .apply_op(&Op::SwapIn {
            account: AccountId(2),
            pool: PoolId(0),
            amount: amount(ETH / 100),
            fee: Amount::ZERO,
        })
        .unwrap();
    let swap = alice.sign(L2Tx::Swap(Swap {
        chain: C1,
        account: AccountId(1),
        pool: PoolId(0),
        amount_in: amount(ETH / 50),
        min_out: Amount::ZERO,
        fee: amount(10),
        nonce: Nonce(4),
    }));
    // In the mempool before the keeper starts: the swap is in the refused block.
    net.submit(swap).await;
    net.spawn_components().await;
    let reason = refused(&net, n).await;
    // The node priced the swap against its inflated reserve: the cross-chain invariant
    // catches it before the roots are compared.
    assert!(reason.contains("pool 0"), "{reason}");
    operator_resumes(&mut net, n).await;

    // 4. A wrong fee: the fee account (account 0) credited more than the fees paid.
    let fee_account = net.network.fee_account;
    corrupt_balance(&net, AccountId(0), fee_account, amount(1_000)).await;
    net.spawn_components().await;
    let reason = refused(&net, n).await;
    assert!(reason.contains("final root"), "{reason}");
    operator_resumes(&mut net, n).await;

    // The network resumes: block n (the transfer and the swap, once each) is approved and
    // executed on every chain.
    net.spawn_components().await;
    until(
        "the resumed block executed everywhere",
        Duration::from_secs(600),
        || executed_everywhere(&net, n),
    )
    .await;
    assert!(net.audit.active_halt().await.unwrap().is_none());
    assert!(net.audit.last_approved().await.unwrap() >= n);
    let s = net.shared.state.lock().await;
    let a = s.chain(C1).unwrap().account(AccountId(1)).unwrap();
    assert_eq!(a.nonce, Nonce(5), "alice's transfer and swap, once each");
    // Account ids are the network's: bob is account 2 on every chain.
    let bob_on_c1 = s.chain(C1).unwrap().account(AccountId(2)).unwrap();
    assert_eq!(bob_on_c1.balance(TokenId(0)).get(), ETH / 100);
    for i in 0..3 {
        assert_eq!(
            net.rollup(i, 3).totalBlocksExecuted().call().await.unwrap(),
            net.storage.last_block().await.unwrap()
        );
    }
    drop(s);

    // Around the gate: with the node's API down (the auditor cannot even see the block), the
    // operator's key tries to commit a block sealed on a corrupted state straight to chain 1.
    net.stop_node().await;
    corrupt_balance(&net, AccountId(1), alice.address(), amount(ETH)).await;
    net.submit(alice.sign(L2Tx::Transfer(Transfer {
        chain: C1,
        from: AccountId(1),
        to: bob.address(),
        token: TokenId(0),
        amount: amount(ETH / 100),
        fee: amount(10),
        nonce: Nonce(5),
    })))
    .await;
    let rogue = keeper::seal(&net.shared, 64).await.unwrap().unwrap();
    let (prev, block) = {
        let blocks = net.shared.blocks.lock().await;
        (blocks[&(rogue - 1)].clone(), blocks[&rogue].clone())
    };
    let operator_c1 = net.rollup(0, 0);
    let rogue_commit = |approval: Vec<u8>| {
        operator_c1.commitBlocks(
            encode::stored_block(&prev, C1).unwrap(),
            vec![encode::commit_info(&block, C1).unwrap()],
            vec![approval.into()],
        )
    };
    // The contract wants the auditor's approval: none, or the approval of the previous block
    // replayed, is refused.
    let refused = |e: alloy::contract::Error| {
        matches!(
            e.as_decoded_interface_error::<rollup_l1::bindings::Rollup::RollupErrors>(),
            Some(rollup_l1::bindings::Rollup::RollupErrors::BadApproval(_))
        )
    };
    assert!(refused(rogue_commit(vec![0; 65]).call().await.unwrap_err()));
    let previous = net.audit.approval(rogue - 1).await.unwrap().unwrap();
    assert!(refused(rogue_commit(previous).call().await.unwrap_err()));
    assert_eq!(
        net.rollup(0, 3)
            .totalBlocksCommitted()
            .call()
            .await
            .unwrap(),
        rogue - 1
    );
    // With the auditor's key stolen too, the attacker signs the sync hash the contract computes
    // from this calldata (on the corrupted state the block's own differs: its old final root is
    // not the committed one); the contract takes it; the auditor, following every chain's
    // commits, finds a block it never approved and halts.
    let sent = encode::commit_sync_hash(
        &encode::stored_block(&prev, C1).unwrap(),
        &encode::commit_info(&block, C1).unwrap(),
    );
    let stolen = rollup_l1::approval::sign(&net.auditor_key, net.network_id, rogue, sent).unwrap();
    let receipt = rogue_commit(stolen)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status(), "chain 1 took the commit");
    let audit = net.audit.clone();
    until("the auditor to notice", Duration::from_secs(60), || async {
        audit.active_halt().await.unwrap().is_some()
    })
    .await;
    let halt = net.audit.active_halt().await.unwrap().unwrap();
    assert_eq!(halt.number, rogue);
    assert!(halt.reason.contains("did not approve"), "{}", halt.reason);
    assert!(net.audit.approval(rogue).await.unwrap().is_none());
}
