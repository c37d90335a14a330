//! The devnet scenario end to end with real proofs on three anvil chains, the node and the three
//! oracles running as `rollup-node` processes — and the node killed with SIGKILL in the middle of
//! the scenario, then restarted from its database. Asserts the swap against the quote and the
//! constant product, the L1 wallet balance after the claim (exactly once), the L2 balances
//! (nothing lost, nothing twice), the pool reserves, that every block reached "executed" on
//! every chain (node records and contract counters), that the state recovered from the anvil
//! chains alone (through the auditor's replay) has the node's final root and every account's
//! balances and nonces, that the node's metrics are served, that the auditor process approved
//! every block — and then `rollup-auditor recover --into` an empty database: the node and the
//! oracles restarted on it serve the same state and the next block executes on every chain.

use rollup_auditor::recover::{Until, from_l1};
use rollup_devnet::{
    ALICE, CAROL, CHAINS, Devnet, DevnetConfig, ScenarioOptions, account, key, network_config,
    provider, scenario,
};
use rollup_sdk::Client;
use rollup_types::tx::{L2Tx, Transfer};
use rollup_types::{AccountId, Amount, ChainId, Nonce, PoolId, TokenId};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devnet_scenario_with_a_node_sigkill_then_recovery_from_l1_and_exodus() {
    let repo = rollup_l1::solc::repo_root();
    let dir = std::env::temp_dir().join(format!("rollup-devnet-{}", std::process::id()));
    // Chain proofs of 8 chunks: every block's 4 proofs take about half as long as at the
    // default 16 (a 2^19 domain against 2^20), and this scenario's blocks are small. The
    // default capacity runs end to end in the HA and workers tests, on the same devnet code.
    let mut net = Devnet::start(
        &DevnetConfig {
            capacity: 8,
            ..DevnetConfig::on_free_ports(dir.clone(), repo.join(".data/keys"), false)
        },
        &|s| println!("{s}"),
    )
    .await
    .unwrap();
    let report = scenario(&mut net, ScenarioOptions { crash_node: true }, &|s| {
        println!("{s}")
    })
    .await
    .unwrap();
    println!("{report:?}");
    const ETH: u128 = 1_000_000_000_000_000_000;
    const TUSD: u128 = 1_000_000;
    // The swap paid what the constant product with the 0.3% fee gives, within the min-out.
    let a_in = ETH / 10 * 9_970;
    let expected_out = 400_000 * TUSD * a_in / (5 * ETH * 10_000 + a_in);
    assert_eq!(report.swap_out, expected_out);
    assert_eq!(report.quoted, expected_out);
    assert_eq!(
        report.reserves,
        (5 * ETH + ETH / 10, 400_000 * TUSD - expected_out)
    );
    assert_eq!(report.claimed, 5_000 * TUSD);
    assert!(net.all_executed().await.unwrap());
    // The auditor process approved every block (nothing is committed without its approval).
    assert_eq!(report.approved, report.blocks);
    let client = Client::new(&format!("http://{}", net.api)).unwrap();
    let alice = net.wallet(ALICE).unwrap();
    let carol = net.wallet(CAROL).unwrap();
    let a2 = client
        .account(alice.address(), ChainId(2))
        .await
        .unwrap()
        .unwrap();
    let paid = |who: rollup_crypto::Address, chain: u8, token: u16| {
        report.fees.get(&(who, chain, token)).copied().unwrap_or(0)
    };
    assert!(paid(alice.address(), 2, 1) > 0, "the devnet charges fees");
    assert_eq!(
        a2.balance(TokenId(1)),
        expected_out - 6_000 * TUSD - paid(alice.address(), 2, 1)
    );
    let c2 = client
        .account(carol.address(), ChainId(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.balance(TokenId(1)), 1_000 * TUSD);
    let a1 = client
        .account(alice.address(), ChainId(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        a1.balance(TokenId(0)),
        10 * ETH - 5 * ETH - ETH / 10 - paid(alice.address(), 1, 0)
    );
    // Every fee, each the node's estimate when it was sent, landed in the fee account (account
    // 0, anvil's account 5 on the devnet) on its chain and token: nothing more, nothing less.
    let fee_account = network_config(net.domain).fee_account;
    for (chain, token) in [(1u8, 0u16), (2, 1), (2, 0), (3, 0)] {
        let collected: u128 = report
            .fees
            .iter()
            .filter(|((_, c, t), _)| (*c, *t) == (chain, token))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(
            account_on(&client, fee_account, chain)
                .await
                .balance(TokenId(token)),
            collected,
            "fees in token {token} on chain {chain}"
        );
    }
    // State recovery from the anvil chains alone (their events and commit calldata), through the
    // auditor's replay: the same final root as the node's last block, the same balances.
    let sources = net.chain_sources();
    let started = std::time::Instant::now();
    let recovered = from_l1(
        &sources,
        &network_config(net.domain),
        net.capacity,
        Until::ExecutedEverywhere,
        &|_, _| {},
    )
    .await
    .unwrap()
    .auditor;
    println!(
        "recovered {} blocks from L1 in {:.2} s",
        recovered.last_block(),
        started.elapsed().as_secs_f64()
    );
    let last = net.storage.last_block().await.unwrap();
    assert_eq!(recovered.last_block(), last);
    let stored = net.storage.block(last).await.unwrap().unwrap();
    assert_eq!(recovered.final_root(), stored.final_root);
    // Every account's balances and nonce on every chain equal the node's (its API).
    let every_account = |state: &rollup_state::NetworkState| {
        let mut out = Vec::new();
        for chain in CHAINS {
            let c = state.chain(chain).unwrap();
            for id in 0..c.account_count() {
                let a = c.account(AccountId(id)).unwrap();
                let mut balances: Vec<(u16, u128)> =
                    a.balances().map(|(t, v)| (t.0, v.get())).collect();
                balances.sort();
                out.push((chain, id, a.address, a.nonce.0, balances));
            }
        }
        out
    };
    let api = format!("http://{}", net.api);
    let from_api = |client: Client, accounts: Vec<(ChainId, u32, rollup_crypto::Address)>| async move {
        let mut out = Vec::new();
        for (chain, id, address) in accounts {
            let info = client.account(address, chain).await.unwrap().unwrap();
            assert_eq!(info.id, id);
            let mut balances: Vec<(u16, u128)> = info
                .balances
                .iter()
                .map(|(t, v)| (t.parse().unwrap(), v.parse().unwrap()))
                .filter(|(_, v)| *v != 0)
                .collect();
            balances.sort();
            out.push((chain, id, address, info.nonce, balances));
        }
        out
    };
    let expected = every_account(recovered.state());
    let keys: Vec<_> = expected
        .iter()
        .map(|(c, i, a, _, _)| (*c, *i, *a))
        .collect();
    assert!(
        keys.len() >= 3 * 4,
        "fee account, alice, bob, carol on every chain"
    );
    assert_eq!(
        from_api(Client::new(&api).unwrap(), keys.clone()).await,
        expected
    );

    // `rollup-auditor recover --into` an empty database from the anvil chains alone, then the
    // node and the oracles on it: the same state, and the next block executes on every chain.
    net.kill_node().await.unwrap();
    let (url, printed) = net.recover_into("recovered.db").await.unwrap();
    println!("{printed}");
    assert!(
        printed.contains(&format!("recovered blocks 1..={last}")),
        "{printed}"
    );
    net.switch_database(&url).await.unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status["lastBlock"], last);
    assert_eq!(from_api(Client::new(&api).unwrap(), keys).await, expected);
    let nonce = a2.nonce;
    let h = client
        .submit(
            &alice
                .sign(
                    L2Tx::Transfer(Transfer {
                        chain: ChainId(2),
                        from: AccountId(a2.id),
                        to: carol.address(),
                        token: TokenId(1),
                        amount: Amount::new(TUSD).unwrap(),
                        fee: Amount::new(
                            client
                                .min_fee("transfer", ChainId(2), TokenId(1))
                                .await
                                .unwrap(),
                        )
                        .unwrap(),
                        nonce: Nonce(nonce),
                    }),
                    &net.domain,
                )
                .unwrap(),
        )
        .await
        .unwrap();
    client
        .wait_tx(&h, "executed", std::time::Duration::from_secs(600))
        .await
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !net.all_executed().await.unwrap() {
        assert!(
            std::time::Instant::now() < until,
            "next block not executed everywhere"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(net.storage.last_block().await.unwrap(), last + 1);
    let c2 = client
        .account(carol.address(), ChainId(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.balance(TokenId(1)), 1_001 * TUSD);
    assert_eq!(net.auditor_status().await.unwrap(), (last + 1, None));

    // Prometheus metrics of the (restarted) node.
    let metrics = reqwest::get(format!("http://{}/metrics", net.metrics))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("rollup_chain_blocks"), "{metrics}");
    assert!(metrics.contains("rollup_l1_txs_sent_total"), "{metrics}");

    // The rest of a user's operations through the wallet CLI, as alice: list the pools, quote,
    // create a pool, add and remove liquidity, withdraw, request a full exit on L1 and claim.
    let alice_key = hex::encode(key(&net.anvils[0], ALICE));
    let cli = |args: Vec<String>| wallet_cli(&net, Some(alice_key.clone()), args);
    let out = cli(words("pools --chain 1")).await.unwrap();
    assert!(
        out.contains("pool 0: token 0 on chain 1 <-> token 1 on chain 2"),
        "{out}"
    );
    let quoted = client
        .quote(ChainId(1), PoolId(0), ETH / 100)
        .await
        .unwrap();
    // Amounts in token units (ETH 18 decimals, TUSD 6: the contracts' registered tokens).
    let out = cli(words("quote --chain 1 --pool 0 --amount 0.01"))
        .await
        .unwrap();
    assert!(
        out.starts_with(&format!(
            "0.01 ETH on chain 1 -> {} TUSD on chain 2 ({quoted} base units)",
            rollup_sdk::units::format_units(quoted, 6)
        )),
        "{out}"
    );
    // What the fee account holds in chain 1's ETH: the CLI pays the node's minimum when no
    // `--fee` is given, and alice's fees since `before` are what it gained.
    let fees_now = || {
        let client = &client;
        async move { account_on(client, fee_account, 1).await.balance(TokenId(0)) }
    };
    let before = account_on(&client, alice.address(), 1).await;
    let fees_before = fees_now().await;
    cli(words(
        "create-pool --chain 1 --pool 1 --token 0 --peer-chain 3 --peer-token 0 --fee-bps 5 --wait sealed",
    ))
    .await
    .unwrap();
    for c in [ChainId(1), ChainId(3)] {
        let half = client.pool(c, PoolId(1)).await.unwrap().unwrap();
        assert_eq!((half.token, half.fee_bps, half.reserve()), (0, 5, 0));
    }
    cli(words(
        "add-liquidity --chain 1 --pool 1 --amount 1 --min-shares 1 --wait sealed",
    ))
    .await
    .unwrap();
    let lp = TokenId::lp_share(PoolId(1));
    let added = account_on(&client, alice.address(), 1).await;
    let shares = added.balance(lp);
    assert_eq!(shares, ETH - rollup_state::pool::MIN_LIQUIDITY);
    let fees_paid = fees_now().await - fees_before;
    assert!(fees_paid > 0, "create-pool and add-liquidity paid fees");
    assert_eq!(
        added.balance(TokenId(0)),
        before.balance(TokenId(0)) - ETH - fees_paid
    );
    assert_eq!(
        client
            .pool(ChainId(1), PoolId(1))
            .await
            .unwrap()
            .unwrap()
            .reserve(),
        ETH
    );
    // Bad input: one line on stderr, a non-zero exit, nothing sent.
    for (args, expected) in [
        (
            "remove-liquidity --chain 1 --pool 9 --min-out 1",
            "error: no pool 9 on chain 1",
        ),
        (
            &*format!(
                "remove-liquidity --chain 1 --pool 1 --shares {} --min-out 1",
                shares + 1
            ),
            "error: too few shares",
        ),
        (
            "transfer --chain 1 --to 0x12 --token 0 --amount 1",
            "error: invalid value '0x12' for '--to <TO>'",
        ),
        (
            "create-pool --chain 1 --pool 0 --token 0 --peer-chain 2 --peer-token 1",
            "error: pool 0 already exists on chain 1",
        ),
        (
            "transfer --chain 2 --to 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --token 1 --amount 1.0000001",
            "error: TUSD on chain 2: invalid: amount \"1.0000001\": the token has 6 decimals",
        ),
        (
            "withdraw --chain 1 --to 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --token 0 --amount 1,5",
            "error: ETH on chain 1: invalid: amount \"1,5\": not a decimal number",
        ),
        (
            "transfer --chain 1 --to 0x90F79bf6EB2c4f870365E785982E1f101E93b906 --token 7 --amount 1",
            "error: invalid: no token 7 on chain 1",
        ),
    ] {
        let err = cli(words(args)).await.unwrap_err().to_string();
        assert!(err.starts_with(expected), "{args}: {err}");
        assert_eq!(err.lines().count(), 1, "{args}: {err}");
    }
    let err = wallet_cli(&net, None, words("balance --chain 1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("error: set ROLLUP_WALLET_KEY"), "{err}");
    cli(words(
        "remove-liquidity --chain 1 --pool 1 --min-out 0.9 --wait sealed",
    ))
    .await
    .unwrap();
    let removed = account_on(&client, alice.address(), 1).await;
    // Every share burnt; the first deposit's locked minimum stays in the pool (its share price
    // can never be inflated from a near-empty supply), so alice gets back all but that.
    let locked = rollup_state::pool::MIN_LIQUIDITY;
    assert_eq!(removed.balance(lp), 0);
    assert_eq!(
        removed.balance(TokenId(0)),
        before.balance(TokenId(0)) - locked - (fees_now().await - fees_before)
    );
    assert_eq!(
        client
            .pool(ChainId(1), PoolId(1))
            .await
            .unwrap()
            .unwrap()
            .reserve(),
        locked
    );
    let a_l1 = alloy::primitives::Address::from(alice.address().0);
    cli(words(&format!(
        "withdraw --chain 1 --to {a_l1} --token 0 --amount 0.5 --wait sealed"
    )))
    .await
    .unwrap();
    let tusd_l2 = client
        .account(alice.address(), ChainId(2))
        .await
        .unwrap()
        .unwrap()
        .balance(TokenId(1));
    assert!(tusd_l2 > 0);
    let (rpc2, contract2) = (net.anvils[1].endpoint(), net.contracts[1]);
    let out = cli(words(&format!(
        "full-exit --rpc {rpc2} --contract {contract2} --chain 2 --token 1 --wait executed"
    )))
    .await
    .unwrap();
    assert!(out.contains("queued on chain 2"), "{out}");
    assert_eq!(
        client
            .account(alice.address(), ChainId(2))
            .await
            .unwrap()
            .unwrap()
            .balance(TokenId(1)),
        0
    );
    // Both credited on L1 (the withdrawal's block is before the full exit's): claimed with the
    // CLI, exactly what L2 held.
    let tusd = rollup_l1::bindings::TestToken::new(
        net.token,
        provider(&net.anvils[1], &account(&net.anvils[1], ALICE)),
    );
    let l1_before = tusd.balanceOf(a_l1).call().await.unwrap();
    cli(words(&format!(
        "claim --rpc {rpc2} --contract {contract2} --token 1"
    )))
    .await
    .unwrap();
    let l1_after = tusd.balanceOf(a_l1).call().await.unwrap();
    assert_eq!(l1_after - l1_before, alloy::primitives::U256::from(tusd_l2));
    let chain1_l1 = net.l1(0, ALICE).unwrap();
    assert_eq!(chain1_l1.pending(a_l1, 0).await.unwrap(), ETH / 2);
    cli(words(&format!(
        "claim --rpc {} --contract {} --token 0",
        net.anvils[0].endpoint(),
        net.contracts[0]
    )))
    .await
    .unwrap();
    assert_eq!(chain1_l1.pending(a_l1, 0).await.unwrap(), 0);
    // The explorer in a real browser (Debian's Chromium, headless, driven by Playwright): the
    // network page, a deposit's balance change and a transfer followed to executed on every
    // chain without a reload, a quote, search errors, a screenshot of each page
    // (explorer/tests/browser.test.mjs). Its deposit and transfer are checked here too.
    let carol_before = account_on(&client, carol.address(), 1)
        .await
        .balance(TokenId(0));
    let alice3_before = account_on(&client, alice.address(), 3)
        .await
        .balance(TokenId(0));
    let alice1_before = account_on(&client, alice.address(), 1)
        .await
        .balance(TokenId(0));
    let fees_before = fees_now().await;
    let printed = browser_tests(&net, &alice_key, carol.address())
        .await
        .unwrap();
    println!("{printed}");
    assert_eq!(
        account_on(&client, carol.address(), 1)
            .await
            .balance(TokenId(0)),
        carol_before + BROWSER_TRANSFER
    );
    assert_eq!(
        account_on(&client, alice.address(), 3)
            .await
            .balance(TokenId(0)),
        alice3_before + BROWSER_DEPOSIT
    );
    let alice_l2_eth = account_on(&client, alice.address(), 1)
        .await
        .balance(TokenId(0));
    assert_eq!(
        alice_l2_eth,
        alice1_before - BROWSER_TRANSFER - (fees_now().await - fees_before)
    );

    contract_wallet_and_fees(&net, &client, fee_account).await;

    // Exodus: the operator is gone. A deposit on chain 1 nobody processes expires (anvil's
    // clock moved past the 24 h priority expiry), anyone activates exodus mode there, and alice
    // leaves with her chain-1 ETH using nothing but L1 data and `rollup-auditor exit` (a friend,
    // anvil account 4, pays the gas; the funds go to alice's L1 wallet).
    net.stop_operator().await.unwrap();
    let c1 = net.l1(0, ALICE).unwrap();
    c1.deposit_eth(a_l1, ETH).await.unwrap();
    let chain1 = provider(&net.anvils[0], &account(&net.anvils[0], 4));
    use alloy::providers::Provider;
    chain1
        .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (24 * 3600 + 1,))
        .await
        .unwrap();
    chain1
        .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
        .await
        .unwrap();
    let rollup1 = rollup_l1::bindings::Rollup::new(net.contracts[0], chain1.clone());
    assert!(
        rollup1
            .activateExodusMode()
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
            .status()
    );
    assert!(rollup1.exodusMode().call().await.unwrap());
    let before = chain1.get_balance(a_l1).await.unwrap();
    let printed = net.exit_with_tool(0, a_l1, 0, 4).await.unwrap();
    println!("{printed}");
    let after = chain1.get_balance(a_l1).await.unwrap();
    assert_eq!(after - before, alloy::primitives::U256::from(alice_l2_eth));
    // Once only.
    assert!(net.exit_with_tool(0, a_l1, 0, 4).await.is_err());
    drop(net);
    let _ = std::fs::remove_dir_all(dir);
}

async fn account_on(
    client: &Client,
    who: rollup_crypto::Address,
    chain: u8,
) -> rollup_sdk::AccountInfo {
    client.account(who, ChainId(chain)).await.unwrap().unwrap()
}

/// What the browser test transfers (alice to carol, chain 1) and deposits (alice, chain 3), in
/// wei: its own constants, checked against the L2 balances afterwards.
const BROWSER_TRANSFER: u128 = 1_000_000_000_000_000;
const BROWSER_DEPOSIT: u128 = 2_000_000_000_000_000;

/// Runs the explorer's browser tests (`node --test explorer/tests/`) against the devnet, as
/// alice; their output, or an error with it.
async fn browser_tests(
    net: &Devnet,
    alice_key: &str,
    carol: rollup_crypto::Address,
) -> anyhow::Result<String> {
    let repo = rollup_l1::solc::repo_root();
    let out = tokio::process::Command::new("node")
        .args(["--test", "--test-reporter=spec", "explorer/tests/"])
        .current_dir(&repo)
        .env("EXPLORER_URL", format!("http://{}/", net.api))
        .env(
            "WALLET_BIN",
            rollup_devnet::binary("rollup-wallet", "ROLLUP_WALLET_BIN")?,
        )
        .env("WALLET_KEY", alice_key)
        .env("CAROL", format!("0x{}", hex::encode(carol.0)))
        .env("TRANSFER_WEI", BROWSER_TRANSFER.to_string())
        .env("DEPOSIT_WEI", BROWSER_DEPOSIT.to_string())
        .env("DEPOSIT_RPC", net.anvils[2].endpoint())
        .env("DEPOSIT_CONTRACT", net.contracts[2].to_string())
        .env("SCREENSHOTS", repo.join("docs/screenshots"))
        .output()
        .await?;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    anyhow::ensure!(out.status.success(), "browser tests failed:\n{printed}");
    // They skip themselves without a devnet's environment: here, none may.
    anyhow::ensure!(
        printed.contains("skipped 0"),
        "browser tests skipped or failed:\n{printed}"
    );
    Ok(printed)
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// Runs `rollup-wallet` against the devnet's API with `key` (none: no key in the environment);
/// stdout on success, stderr as the error otherwise.
async fn wallet_cli(
    net: &Devnet,
    key: Option<String>,
    args: Vec<String>,
) -> anyhow::Result<String> {
    let bin = rollup_devnet::binary("rollup-wallet", "ROLLUP_WALLET_BIN")?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--api")
        .arg(format!("http://{}", net.api))
        .args(&args)
        .env_remove("ROLLUP_WALLET_KEY");
    if let Some(k) = key {
        cmd.env("ROLLUP_WALLET_KEY", k);
    }
    let out = cmd.output().await?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.success() {
        println!("rollup-wallet {}: {stdout}", args.join(" "));
        Ok(stdout)
    } else {
        anyhow::ensure!(!out.status.success());
        Err(anyhow::anyhow!(
            "{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        ))
    }
}

/// A contract wallet (`TestWallet`, owned by anvil account 4: it cannot `personal_sign`) sets its
/// L2 key through an on-chain authorisation made by the wallet itself, then transfers with that
/// key; a fee below the node's estimate is refused with its code; and the operator withdraws
/// what the fee account earned on chain 1 (`rollup-wallet sweep` with the fee account's key),
/// then claims it on L1. All through the wallet CLI.
async fn contract_wallet_and_fees(
    net: &Devnet,
    client: &Client,
    fee_account: rollup_crypto::Address,
) {
    use alloy::primitives::U256;
    use rollup_l1::bindings::TestWallet;
    const ETH: u128 = 1_000_000_000_000_000_000;
    const OWNER: usize = 4;
    let owner_key = hex::encode(key(&net.anvils[0], OWNER));
    let owner = account(&net.anvils[0], OWNER);
    let wallet = TestWallet::deploy(provider(&net.anvils[0], &owner), owner.address())
        .await
        .unwrap();
    let w = *wallet.address();
    let w_l2 = rollup_crypto::Address(w.0.0);
    let (rpc1, contract1) = (net.anvils[0].endpoint(), net.contracts[0]);
    let cli = |args: String| wallet_cli(net, Some(owner_key.clone()), words(&args));
    cli(format!(
        "deposit --rpc {rpc1} --contract {contract1} --wei {} --to {w}",
        ETH / 10
    ))
    .await
    .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while client
        .account(w_l2, ChainId(1))
        .await
        .unwrap()
        .is_none_or(|a| a.balance(TokenId(0)) == 0)
    {
        assert!(std::time::Instant::now() < until, "the wallet's deposit");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // It cannot sign: the CLI says what to do instead.
    let err = cli(format!("--account {w} change-pubkey --chain 1"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("error: --account: a contract wallet cannot sign"),
        "{err}"
    );
    let out = cli(format!("--account {w} auth-calldata --chain 1"))
        .await
        .unwrap();
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name:?} in {out}"))
            .trim()
            .to_string()
    };
    let to: alloy::primitives::Address = field("to ").parse().unwrap();
    assert_eq!(to, contract1);
    let data = hex::decode(field("data ").trim_start_matches("0x")).unwrap();
    let then = field("then: rollup-wallet");
    let fee = then.rsplit("--fee ").next().unwrap().to_string();
    // The owner has the wallet make the call (any contract wallet can: a multisig would
    // collect its signatures first) — through a new connection: the CLI's deposit used the
    // owner's nonce after the deployment's provider cached it.
    let wallet = TestWallet::new(w, provider(&net.anvils[0], &owner));
    assert!(
        wallet
            .execute(to, U256::ZERO, data.into())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap()
            .status()
    );
    let out = cli(format!(
        "--account {w} change-pubkey --chain 1 --onchain --fee {fee} --wait sealed"
    ))
    .await
    .unwrap();
    let hash = out.lines().next().unwrap().to_string();
    let tx = client.tx(&hash).await.unwrap();
    assert_eq!(tx["tx"]["auth"], "onchain", "{tx}");
    let derived = rollup_sdk::Wallet::from_eth_key(&key(&net.anvils[0], OWNER)).unwrap();
    for chain in CHAINS {
        assert_eq!(
            account_on(client, w_l2, chain.0).await.pubkey_hash,
            format!("0x{}", hex::encode(derived.pubkey_hash().0)),
            "the wallet's key on chain {chain}"
        );
    }
    // The wallet's account transfers with that key.
    let carol = net.wallet(CAROL).unwrap().address();
    let carol_before = account_on(client, carol, 1).await.balance(TokenId(0));
    cli(format!(
        "--account {w} transfer --chain 1 --to {carol} --token 0 --amount 0.001 --wait sealed"
    ))
    .await
    .unwrap();
    assert_eq!(
        account_on(client, carol, 1).await.balance(TokenId(0)),
        carol_before + ETH / 1000
    );
    // A fee below the node's estimate: refused, with its code.
    let err = cli(format!(
        "--account {w} transfer --chain 1 --to {carol} --token 0 --amount 0.001 --fee 0.000000000000000001"
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("rejected (-32014): fee 1 below the minimum"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // The operator collects: the fee account sets its key like any account, then sweeps its
    // chain-1 ETH to its own L1 address and claims it there.
    assert_eq!(
        account(&net.anvils[0], rollup_devnet::FEE_ACCOUNT)
            .address()
            .0
            .0,
        fee_account.0,
        "the devnet's fee account is anvil's account FEE_ACCOUNT"
    );
    let fee_key = hex::encode(key(&net.anvils[0], rollup_devnet::FEE_ACCOUNT));
    let op = |args: String| wallet_cli(net, Some(fee_key.clone()), words(&args));
    op("change-pubkey --chain 1 --wait sealed".into())
        .await
        .unwrap();
    let collected = account_on(client, fee_account, 1).await.balance(TokenId(0));
    assert!(collected > 0);
    let fee_l1 = alloy::primitives::Address::from(fee_account.0);
    let out = op(format!("sweep --chain 1 --to {fee_l1} --wait executed"))
        .await
        .unwrap();
    assert!(out.contains("withdraws"), "{out}");
    let chain1 = net.l1(0, rollup_devnet::FEE_ACCOUNT).unwrap();
    let pending = chain1.pending(fee_l1, 0).await.unwrap();
    // What stays on L2 is the sweep's own fee, paid to itself.
    let left = account_on(client, fee_account, 1).await.balance(TokenId(0));
    assert!(
        pending > 0 && left < pending,
        "pending {pending}, left {left}"
    );
    assert_eq!(pending + left, collected);
    op(format!(
        "claim --rpc {rpc1} --contract {contract1} --token 0"
    ))
    .await
    .unwrap();
    assert_eq!(chain1.pending(fee_l1, 0).await.unwrap(), 0);
}
