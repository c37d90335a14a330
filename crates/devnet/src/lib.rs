//! A local network in one process: three anvil chains (npm `@foundry-rs/anvil-linux-amd64`) with
//! the rollup contracts (the block verifier generated from the development keys), a test ERC-20
//! on chain 2, the node's components (state keeper, prover worker, a driver per chain, the API)
//! over an SQLite database, and three oracle instances (threshold 2) — then [`scenario`], a
//! scripted session through the SDK: deposits, key changes, a cross-chain pool with one-coin
//! liquidity on both sides, a cross-chain swap, a transfer, and a withdrawal claimed on chain 2.
//!
//! INSECURE by design: development proving keys, anvil's public dev accounts.

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use rollup_l1::bindings::{Rollup, TestToken};
use rollup_l1::deploy::{DeployConfig, deploy};
use rollup_l1::watcher::WatcherConfig;
use rollup_l1::{encode, solc};
use rollup_node::driver::Driver;
use rollup_node::oracle::Oracle;
use rollup_node::{Shared, api, keeper, worker};
use rollup_prover::{Keys, Network, Shape};
use rollup_sdk::{Client, Wallet};
use rollup_state::{NetworkConfig, NetworkState};
use rollup_storage::{Stage, Storage};
use rollup_types::tx::*;
use rollup_types::*;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Chain-circuit capacity of the devnet.
pub const CAPACITY: usize = 16;
/// The devnet's chains.
pub const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];
const OPERATOR: usize = 0;
const ORACLES: [usize; 3] = [7, 8, 9];
/// Anvil accounts of the scenario's users.
pub const ALICE: usize = 1;
/// Bob.
pub const BOB: usize = 2;
/// Carol.
pub const CAROL: usize = 3;

/// Where the devnet keeps its files.
#[derive(Clone, Debug)]
pub struct DevnetConfig {
    /// Database and scratch files (recreated at start).
    pub data_dir: PathBuf,
    /// Proving-key cache (kept across runs; safe to delete).
    pub keys_dir: PathBuf,
    /// API address (`127.0.0.1:0` picks a free port).
    pub api_addr: SocketAddr,
}

/// A running devnet. Dropping it stops the chains.
pub struct Devnet {
    /// The anvil chains, by slot (chain id = slot + 1).
    pub anvils: Vec<AnvilInstance>,
    /// Each chain's rollup contract.
    pub contracts: Vec<Address>,
    /// The test ERC-20 on chain 2 (token id 1 there).
    pub token: Address,
    /// The node's database.
    pub storage: Storage,
    /// The node's shared state.
    pub shared: Arc<Shared>,
    /// The API's address.
    pub api: SocketAddr,
    tasks: tokio::task::JoinSet<anyhow::Result<()>>,
    /// Keeps the API server running as long as the devnet.
    _api: jsonrpsee::server::ServerHandle,
}

/// Anvil account `i` of a chain.
pub fn account(anvil: &AnvilInstance, i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_signing_key(anvil.keys()[i].clone().into())
}

/// A provider signing as `s`.
pub fn provider(anvil: &AnvilInstance, s: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(s.clone()))
        .connect_http(anvil.endpoint_url())
        .erased()
}

/// The 32-byte key of anvil account `i` (the same on every devnet chain).
pub fn key(anvil: &AnvilInstance, i: usize) -> [u8; 32] {
    anvil.keys()[i].to_bytes().into()
}

impl Devnet {
    /// Starts everything; `progress` gets one line per step.
    pub async fn start(cfg: &DevnetConfig, progress: &dyn Fn(&str)) -> anyhow::Result<Devnet> {
        let repo = solc::repo_root();
        progress("loading the development proving keys (first run: a setup of about a minute)");
        let mut chains = CHAINS.to_vec();
        chains.sort();
        let keys = Arc::new((
            Keys::load_or_setup(
                Shape::Chain { capacity: CAPACITY },
                &cfg.keys_dir,
                Network::Dev,
            )?,
            Keys::load_or_setup(
                Shape::Binding {
                    chains: chains.clone(),
                    links: CAPACITY,
                },
                &cfg.keys_dir,
                Network::Dev,
            )?,
        ));
        let _ = std::fs::remove_dir_all(&cfg.data_dir);
        std::fs::create_dir_all(&cfg.data_dir)?;
        progress("compiling the block verifier generated from the keys (solcjs)");
        let source =
            rollup_prover::verifier::solidity_verifier(&keys.0.vk, &keys.1.vk, CHAINS.len());
        let verifier = solc::compile_source(
            &repo,
            &cfg.data_dir.join("verifier"),
            "BlockVerifier.sol",
            &source,
            "BlockVerifier",
        )?;
        let network = NetworkConfig {
            chains: chains.clone(),
            fee_account: rollup_crypto::Address([0xfe; 20]),
        };
        let mut genesis = NetworkState::genesis(&network)?;
        let final_root = genesis.final_root();
        let anvil_bin = repo.join("node_modules/.bin/anvil");
        anyhow::ensure!(anvil_bin.exists(), "anvil missing: run `npm ci`");
        let mut anvils = Vec::new();
        let mut contracts = Vec::new();
        for id in CHAINS {
            let anvil = Anvil::at(&anvil_bin)
                .chain_id(31_336 + id.0 as u64)
                .args(["--code-size-limit", "24576"])
                .try_spawn()
                .context("starting anvil")?;
            let op = account(&anvil, OPERATOR);
            let d = deploy(
                &provider(&anvil, &op),
                verifier.bytecode.clone(),
                &DeployConfig {
                    chain: id,
                    chains: chains.clone(),
                    governor: op.address(),
                    operators: vec![op.address()],
                    oracles: ORACLES
                        .iter()
                        .map(|&i| account(&anvil, i).address())
                        .collect(),
                    oracle_threshold: 2,
                    priority_expiry: 24 * 3600,
                    network_id: keccak256("rollup devnet"),
                    genesis_final_root: encode::root(&final_root),
                    genesis_chain_root: encode::root(
                        &genesis.chain_mut(id).context("chain")?.root(),
                    ),
                },
            )
            .await?;
            progress(&format!(
                "chain {id}: anvil at {} (EVM chain id {}), rollup contract {}",
                anvil.endpoint(),
                31_336 + id.0 as u64,
                d.rollup
            ));
            anvils.push(anvil);
            contracts.push(d.rollup);
        }
        // A 6-decimals test token on chain 2, registered as token 1 there.
        let op2 = provider(&anvils[1], &account(&anvils[1], OPERATOR));
        let token = *TestToken::deploy(op2.clone(), "Test USD".into(), "TUSD".into(), 6, 0)
            .await?
            .address();
        Rollup::new(contracts[1], op2)
            .addToken(token)
            .send()
            .await?
            .get_receipt()
            .await?;
        progress(&format!("chain 2: test token TUSD at {token} (token id 1)"));

        let storage = Storage::connect(&format!(
            "sqlite://{}",
            cfg.data_dir.join("node.db").display()
        ))
        .await?;
        let shared = Arc::new(keeper::restore(storage.clone(), network, CAPACITY).await?);
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(keeper::run(shared.clone(), Duration::from_millis(1500), 64));
        tasks.spawn(worker::run(
            storage.clone(),
            keys.clone(),
            "devnet-prover".into(),
        ));
        for (i, id) in CHAINS.iter().enumerate() {
            let op = account(&anvils[i], OPERATOR);
            let driver = Driver::new(
                shared.clone(),
                *id,
                provider(&anvils[i], &op),
                contracts[i],
                op,
                WatcherConfig {
                    confirmations: 0,
                    max_range: 1000,
                },
                0,
            )
            .await?;
            tasks.spawn(driver.run(Duration::from_millis(300)));
        }
        for &k in &ORACLES {
            let chains = CHAINS
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    (
                        *id,
                        provider(&anvils[i], &account(&anvils[i], k)),
                        contracts[i],
                    )
                })
                .collect();
            let oracle = Oracle::new(account(&anvils[0], k), storage.clone(), chains, 2);
            tasks.spawn(oracle.run(Duration::from_millis(500)));
        }
        let (api, handle) = api::serve(shared.clone(), cfg.api_addr).await?;
        progress(&format!(
            "node: state keeper, prover worker, 3 chain drivers, 3 oracles (2 of 3), API at http://{api}"
        ));
        Ok(Devnet {
            anvils,
            contracts,
            token,
            storage,
            shared,
            api,
            tasks,
            _api: handle,
        })
    }

    /// Fails if a component stopped with an error.
    pub fn check_components(&mut self) -> anyhow::Result<()> {
        if let Some(done) = self.tasks.try_join_next() {
            match done {
                Ok(Err(e)) => return Err(e.context("a node component stopped")),
                Ok(Ok(())) => anyhow::bail!("a node component stopped"),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// A wallet for anvil account `i`.
    pub fn wallet(&self, i: usize) -> anyhow::Result<Wallet> {
        Ok(Wallet::from_eth_key(&key(&self.anvils[0], i))?)
    }

    /// Chain slot `i` seen by the wallet of anvil account `who`.
    pub fn l1(&self, i: usize, who: usize) -> anyhow::Result<rollup_sdk::l1::Chain> {
        Ok(rollup_sdk::l1::Chain::new(
            self.anvils[i].endpoint().as_str(),
            self.contracts[i],
            &key(&self.anvils[i], who),
        )?)
    }

    /// Whether every sealed block is executed on every chain.
    pub async fn all_executed(&self) -> anyhow::Result<bool> {
        let last = self.storage.last_block().await?;
        for n in 1..=last {
            let stages = self.storage.stages(n).await?;
            if stages.len() != CHAINS.len() || stages.iter().any(|(_, s)| *s != Stage::Executed) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// What the scenario leaves behind, for display and for the test's assertions.
#[derive(Debug)]
pub struct Report {
    /// Blocks sealed.
    pub blocks: u32,
    /// TUSD alice received from the swap (chain 2 units).
    pub swap_out: u128,
    /// Alice's TUSD claimed to her L1 wallet on chain 2.
    pub claimed: u128,
    /// Pool reserves after the scenario: (chain 1 ETH, chain 2 TUSD).
    pub reserves: (u128, u128),
    /// Seconds from the withdrawal's submission to its claimability.
    pub withdrawal_latency: f64,
}

const ETH: u128 = 1_000_000_000_000_000_000;
const TUSD: u128 = 1_000_000;

async fn sealed(client: &Client, hash: &str) -> anyhow::Result<u32> {
    Ok(client
        .wait_tx(hash, "sealed", Duration::from_secs(120))
        .await?)
}

/// The scripted session. `progress` gets one line per step.
pub async fn scenario(net: &mut Devnet, progress: &dyn Fn(&str)) -> anyhow::Result<Report> {
    let client = Client::new(&format!("http://{}", net.api))?;
    let (alice, bob, carol) = (net.wallet(ALICE)?, net.wallet(BOB)?, net.wallet(CAROL)?);
    let a_l1 = Address::from(alice.address().0);
    let b_l1 = Address::from(bob.address().0);
    let (c1, c2) = (ChainId(1), ChainId(2));

    progress("alice deposits 10 ETH on chain 1; bob deposits 500,000 TUSD on chain 2");
    net.l1(0, ALICE)?.deposit_eth(a_l1, 10 * ETH).await?;
    let tusd = TestToken::new(
        net.token,
        provider(&net.anvils[1], &account(&net.anvils[1], BOB)),
    );
    tusd.mint(b_l1, U256::from(1_000_000 * TUSD))
        .send()
        .await?
        .get_receipt()
        .await?;
    net.l1(1, BOB)?
        .deposit_erc20(net.token, 500_000 * TUSD, b_l1)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let (a, b) = loop {
        net.check_components()?;
        let a = client.account(alice.address(), c1).await?;
        let b = client.account(bob.address(), c2).await?;
        if let (Some(a), Some(b)) = (&a, &b)
            && a.balance(TokenId(0)) > 0
            && b.balance(TokenId(1)) > 0
        {
            break (a.clone(), b.clone());
        }
        anyhow::ensure!(Instant::now() < deadline, "deposits did not reach L2");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    progress(&format!(
        "  on L2: alice is account {} with {} wei, bob is account {} with {} TUSD units",
        a.id,
        a.balance(TokenId(0)),
        b.id,
        b.balance(TokenId(1))
    ));
    let (aid, bid) = (AccountId(a.id), AccountId(b.id));

    progress("alice and bob set their L2 keys (authorised by their L1 keys)");
    let h1 = client
        .submit(&alice.change_pubkey(c1, aid, 0, TokenId(0), 0)?)
        .await?;
    let h2 = client
        .submit(&bob.change_pubkey(c2, bid, 0, TokenId(1), 0)?)
        .await?;
    sealed(&client, &h1).await?;
    sealed(&client, &h2).await?;

    progress("alice creates pool 0: ETH on chain 1 <-> TUSD on chain 2, fee 0.3%");
    let h = client
        .submit(&alice.sign(L2Tx::CreatePool(CreatePool {
            chain: c1,
            account: aid,
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: c2,
            peer_token: TokenId(1),
            fee_bps: 30,
            fee: Amount::ZERO,
            nonce: Nonce(1),
        }))?)
        .await?;
    sealed(&client, &h).await?;

    progress("one-coin liquidity: alice adds 5 ETH on chain 1, bob adds 400,000 TUSD on chain 2");
    let add = |w: &Wallet, chain, account, value: u128| {
        w.sign(L2Tx::AddLiquidity(AddLiquidity {
            chain,
            account,
            pool: PoolId(0),
            amount: Amount::new(value).expect("bounded"),
            min_shares: Amount::ZERO,
            fee: Amount::ZERO,
            nonce: Nonce(if chain == c1 { 2 } else { 1 }),
        }))
    };
    let h1 = client.submit(&add(&alice, c1, aid, 5 * ETH)?).await?;
    let h2 = client.submit(&add(&bob, c2, bid, 400_000 * TUSD)?).await?;
    sealed(&client, &h1).await?;
    sealed(&client, &h2).await?;

    progress("alice swaps 0.1 ETH on chain 1 for TUSD on chain 2 (min out 7,000 TUSD)");
    let h = client
        .submit(&alice.sign(L2Tx::Swap(Swap {
            chain: c1,
            account: aid,
            pool: PoolId(0),
            amount_in: Amount::new(ETH / 10).expect("bounded"),
            min_out: Amount::new(7_000 * TUSD).expect("bounded"),
            fee: Amount::ZERO,
            nonce: Nonce(3),
        }))?)
        .await?;
    sealed(&client, &h).await?;
    let got = client
        .account(alice.address(), c2)
        .await?
        .context("alice on chain 2")?
        .balance(TokenId(1));
    progress(&format!("  alice received {got} TUSD units on chain 2"));

    progress("alice pays carol 1,000 TUSD on chain 2 and withdraws 5,000 TUSD to her L1 wallet");
    let h1 = client
        .submit(&alice.sign(L2Tx::Transfer(Transfer {
            chain: c2,
            from: aid,
            to: carol.address(),
            token: TokenId(1),
            amount: Amount::new(1_000 * TUSD).expect("bounded"),
            fee: Amount::ZERO,
            nonce: Nonce(0),
        }))?)
        .await?;
    let submitted = Instant::now();
    let h2 = client
        .submit(&alice.sign(L2Tx::Withdraw(Withdraw {
            chain: c2,
            account: aid,
            to: alice.address(),
            token: TokenId(1),
            amount: Amount::new(5_000 * TUSD).expect("bounded"),
            fee: Amount::ZERO,
            nonce: Nonce(1),
        }))?)
        .await?;
    sealed(&client, &h1).await?;
    progress("waiting for every block to be committed, proven, synced and executed on every chain");
    client
        .wait_tx(&h2, "executed", Duration::from_secs(1800))
        .await?;
    let latency = submitted.elapsed().as_secs_f64();
    let chain2 = net.l1(1, ALICE)?;
    let pending = chain2.pending(a_l1, 1).await?;
    chain2.claim(a_l1, 1, pending).await?;
    let claimed = tusd.balanceOf(a_l1).call().await?;
    progress(&format!(
        "alice claimed {pending} TUSD units on chain 2's L1 (her wallet holds {claimed}); withdrawal latency {latency:.0} s"
    ));
    let deadline = Instant::now() + Duration::from_secs(1800);
    while !net.all_executed().await? {
        net.check_components()?;
        anyhow::ensure!(Instant::now() < deadline, "blocks not executed everywhere");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let state = net.shared.state.lock().await;
    let r1 = state
        .chain(c1)
        .and_then(|c| c.pool(PoolId(0)))
        .context("pool")?;
    let r2 = state
        .chain(c2)
        .and_then(|c| c.pool(PoolId(0)))
        .context("pool")?;
    let reserves = (r1.reserve.get(), r2.reserve.get());
    drop(state);
    let blocks = net.storage.last_block().await?;
    progress(&format!(
        "done: {blocks} blocks executed on all 3 chains; pool reserves {} wei (chain 1) / {} TUSD units (chain 2)",
        reserves.0, reserves.1
    ));
    Ok(Report {
        blocks,
        swap_out: got,
        claimed: pending,
        reserves,
        withdrawal_latency: latency,
    })
}
