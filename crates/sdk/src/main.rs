//! `rollup-wallet`: the rollup's wallet CLI. The key comes from `ROLLUP_WALLET_KEY` (32-byte hex
//! Ethereum key); the L2 key is derived from it.
//!
//! ```text
//! rollup-wallet address
//! rollup-wallet balance --chain 1
//! rollup-wallet deposit --rpc http://127.0.0.1:8545 --contract 0x… --wei 1000000000000000000
//! rollup-wallet change-pubkey --chain 1 [--wait executed]
//! rollup-wallet change-pubkey --chain 1 --onchain --rpc … --contract 0x…   (authorised by an L1 transaction)
//! rollup-wallet --account 0x<wallet> auth-calldata --chain 1   (what a contract wallet sends)
//! rollup-wallet --account 0x<wallet> change-pubkey --chain 1 --onchain --fee 0.0005
//! rollup-wallet transfer --chain 1 --to 0x… --token 0 --amount 0.25 [--fee 0.0001]
//! rollup-wallet withdraw --chain 1 --to 0x… --token 0 --amount 0.25 [--fee 0.0001]
//! rollup-wallet sweep --chain 1 --to 0x…   (withdraw every token; the operator's fee account)
//! rollup-wallet pools --chain 1
//! rollup-wallet quote --chain 1 --pool 0 --amount 0.01
//! rollup-wallet create-pool --chain 1 --pool 1 --token 0 --peer-chain 2 --peer-token 1 [--fee-bps 30]
//! rollup-wallet add-liquidity --chain 1 --pool 0 --amount 1.5 [--min-shares 0]
//! rollup-wallet remove-liquidity --chain 1 --pool 0 [--shares 500] --min-out 0.4
//! rollup-wallet swap --chain 1 --pool 0 --amount 0.1 --min-out 25
//! rollup-wallet full-exit --rpc … --contract 0x… --chain 1 --token 0 [--wait executed]
//! rollup-wallet status 0x<tx hash>
//! rollup-wallet claim --rpc … --contract 0x… --token 0 [--amount 0.5]
//! ```
//! Amounts (`--amount`, `--fee`, `--min-out`) are in the token's units, with at most its
//! decimals (ETH 18, TUSD 6: the contracts' registered tokens, through `rollup_tokens`);
//! `--wei` is wei, and LP shares (`--shares`, `--min-shares`) are counted in base units.
//! Without `--fee` a transaction pays the node's minimum (`rollup_estimateFee`, priced from the
//! chains' L1 gas), printed before it is sent.
//! Errors are one line on stderr and a non-zero exit status.
//!
//! `--account 0x…` acts for the L2 account of a contract wallet the key controls (a multisig,
//! an ERC-1271 account: anything that cannot `personal_sign`). Its key is the one derived from
//! `ROLLUP_WALLET_KEY`, set by an on-chain authorisation: `auth-calldata` prints the
//! `setAuthPubkeyHash` call the wallet must make on the chain's rollup contract, then
//! `change-pubkey --onchain --fee F` (the fee printed) submits the change once the node has
//! read the authorisation from L1.
//!
//! `--wait STAGE` fails with the node's reason as soon as the transaction expires in the
//! node's mempool (e.g. an earlier nonce never came) or is rejected at sealing; `status` prints
//! the node's answer, `{"status": "expired", "reason": …}` among them.

use alloy::primitives::Address as L1Address;
use anyhow::Context;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rollup_sdk::{Client, Wallet};
use rollup_types::amount::Amount;
use rollup_types::tx::*;
use rollup_types::*;
use std::time::Duration;

#[derive(Parser)]
#[command(version, about = "Wallet of the multi-chain rollup")]
struct Cli {
    /// The node's API.
    #[arg(long, default_value = "http://127.0.0.1:3030", global = true)]
    api: String,
    /// Act for the L2 account of this L1 address (a contract wallet the key controls) instead
    /// of the key's own.
    #[arg(long, global = true)]
    account: Option<L1Address>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Send {
    /// Chain of the transaction (nonce, fee, tokens).
    #[arg(long)]
    chain: u8,
    /// Fee in units of the transaction's fee token (the token moved; ETH for a key change;
    /// the pool half's token for pool operations). Default: the node's minimum.
    #[arg(long)]
    fee: Option<String>,
    /// Wait until the transaction's block reaches this stage on every chain (sealed,
    /// committed, proven, synced, executed).
    #[arg(long)]
    wait: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the L1 address and the L2 key hash.
    Address,
    /// Balances and nonce on a chain.
    Balance {
        /// Chain.
        #[arg(long)]
        chain: u8,
    },
    /// Deposit ETH on L1 to an L2 account (yours by default).
    Deposit {
        /// The chain's RPC endpoint.
        #[arg(long)]
        rpc: String,
        /// The chain's rollup contract.
        #[arg(long)]
        contract: L1Address,
        /// Amount in wei.
        #[arg(long)]
        wei: u128,
        /// L2 recipient (default: this wallet).
        #[arg(long)]
        to: Option<L1Address>,
    },
    /// Set this wallet's L2 key on every chain: authorised by an ECDSA signature of the L1 key,
    /// or with `--onchain` by a `setAuthPubkeyHash` transaction on the chain's contract.
    ChangePubkey {
        #[command(flatten)]
        send: Send,
        /// Authorised on L1 instead of signed: with `--rpc` and `--contract` this wallet's key
        /// sends the authorisation first; for a contract wallet (`--account`) the wallet must
        /// have made the `auth-calldata` call, with the same fee.
        #[arg(long)]
        onchain: bool,
        /// The chain's RPC endpoint (to send the on-chain authorisation).
        #[arg(long, requires = "onchain")]
        rpc: Option<String>,
        /// The chain's rollup contract (to send the on-chain authorisation).
        #[arg(long, requires = "rpc")]
        contract: Option<L1Address>,
    },
    /// Print the `setAuthPubkeyHash` call (to, data) that authorises this wallet's key change
    /// on L1, for a contract wallet to make; then run `change-pubkey --onchain` with the fee
    /// printed.
    AuthCalldata {
        /// Chain of the key change (its nonce and fee).
        #[arg(long)]
        chain: u8,
        /// Fee in ETH (default: the node's minimum now).
        #[arg(long)]
        fee: Option<String>,
    },
    /// Withdraw the whole balance of every token on a chain, less each withdrawal's fee, to an
    /// L1 address (how the operator collects the fee account's earnings).
    Sweep {
        /// Chain.
        #[arg(long)]
        chain: u8,
        /// L1 recipient.
        #[arg(long)]
        to: L1Address,
        /// Wait until the withdrawals' blocks reach this stage on every chain.
        #[arg(long)]
        wait: Option<String>,
    },
    /// Transfer on L2.
    Transfer {
        #[command(flatten)]
        send: Send,
        /// Recipient address.
        #[arg(long)]
        to: L1Address,
        /// Token id on the chain.
        #[arg(long)]
        token: u16,
        /// Amount in the token's units (must be packable).
        #[arg(long)]
        amount: String,
    },
    /// Withdraw to an L1 address on the transaction's chain.
    Withdraw {
        #[command(flatten)]
        send: Send,
        /// L1 recipient.
        #[arg(long)]
        to: L1Address,
        /// Token id.
        #[arg(long)]
        token: u16,
        /// Amount in the token's units.
        #[arg(long)]
        amount: String,
    },
    /// Every pool half on a chain: tokens, reserves, LP supply, fee.
    Pools {
        /// Chain.
        #[arg(long)]
        chain: u8,
    },
    /// What a swap into a pool's half on `--chain` pays on the pool's other chain now.
    Quote {
        /// Chain of the input side.
        #[arg(long)]
        chain: u8,
        /// Pool id.
        #[arg(long)]
        pool: u16,
        /// Input amount in the units of the half's token.
        #[arg(long)]
        amount: String,
    },
    /// Create a pool: its first half on `--chain` (fee and nonce there), the other on
    /// `--peer-chain`; both start empty.
    CreatePool {
        #[command(flatten)]
        send: Send,
        /// The new pool's id (unused on both chains).
        #[arg(long)]
        pool: u16,
        /// Token of the half on `--chain`.
        #[arg(long)]
        token: u16,
        /// Chain of the other half.
        #[arg(long)]
        peer_chain: u8,
        /// Token of the other half.
        #[arg(long)]
        peer_token: u16,
        /// Swap fee kept by the pool, basis points (at most 1000).
        #[arg(long, default_value_t = 30)]
        fee_bps: u16,
    },
    /// Add one-coin liquidity to a pool's half on the chain.
    AddLiquidity {
        #[command(flatten)]
        send: Send,
        /// Pool id.
        #[arg(long)]
        pool: u16,
        /// Amount in the units of the half's token.
        #[arg(long)]
        amount: String,
        /// Fewest shares accepted (base units).
        #[arg(long, default_value_t = 0)]
        min_shares: u128,
    },
    /// Remove one-coin liquidity: burn LP shares of a pool's half on the chain for its token.
    RemoveLiquidity {
        #[command(flatten)]
        send: Send,
        /// Pool id.
        #[arg(long)]
        pool: u16,
        /// Shares to burn, base units (default: all this wallet holds in the half).
        #[arg(long)]
        shares: Option<u128>,
        /// Fewest tokens accepted, in the units of the half's token.
        #[arg(long)]
        min_out: String,
    },
    /// Swap across chains: pay on `--chain`, receive on the pool's other chain.
    Swap {
        #[command(flatten)]
        send: Send,
        /// Pool id.
        #[arg(long)]
        pool: u16,
        /// Input amount, in the units of the half's token.
        #[arg(long)]
        amount: String,
        /// Least output accepted, in the units of the other half's token.
        #[arg(long)]
        min_out: String,
    },
    /// Request on L1 the full exit of this wallet's whole balance of a token on a chain: the
    /// operator must include it (or the chain enters exodus); claim the balance afterwards.
    FullExit {
        /// The chain's RPC endpoint.
        #[arg(long)]
        rpc: String,
        /// The chain's rollup contract.
        #[arg(long)]
        contract: L1Address,
        /// Rollup chain id of that contract.
        #[arg(long)]
        chain: u8,
        /// Token id.
        #[arg(long)]
        token: u16,
        /// Wait until the request's block reaches this stage on every chain.
        #[arg(long)]
        wait: Option<String>,
    },
    /// A transaction's status.
    Status {
        /// Transaction hash.
        hash: String,
    },
    /// Claim a pending L1 balance (credited by executed withdrawals) to its owner.
    Claim {
        /// The chain's RPC endpoint.
        #[arg(long)]
        rpc: String,
        /// The chain's rollup contract.
        #[arg(long)]
        contract: L1Address,
        /// Token id.
        #[arg(long)]
        token: u16,
        /// Amount in the token's units (default: everything pending).
        #[arg(long)]
        amount: Option<String>,
        /// Owner (default: this wallet).
        #[arg(long)]
        owner: Option<L1Address>,
    },
}

fn key() -> anyhow::Result<[u8; 32]> {
    let hex_key = std::env::var("ROLLUP_WALLET_KEY").context("set ROLLUP_WALLET_KEY")?;
    let bytes = hex::decode(hex_key.trim().trim_start_matches("0x")).context("key: hex")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("key: 32 bytes"))
}

fn amt(v: u128) -> anyhow::Result<Amount> {
    Amount::new(v).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `text` in the units of `token` on `chain` (its decimals from the node's registered tokens).
async fn units(
    client: &Client,
    chain: ChainId,
    token: TokenId,
    text: &str,
) -> anyhow::Result<u128> {
    let t = client.token(chain, token).await?;
    rollup_sdk::units::parse_units(text, t.decimals)
        .with_context(|| format!("{} on chain {chain}", t.name()))
}

/// The fee given in `text` (units of `token`), or the node's minimum for `kind` now (printed
/// on stderr: stdout starts with what the command produced); a transfer's minimum for its
/// recipient `to` (cheaper when the recipient has an account).
async fn fee_or_min(
    client: &Client,
    kind: &str,
    chain: ChainId,
    token: TokenId,
    text: Option<String>,
    to: Option<rollup_crypto::Address>,
) -> anyhow::Result<u128> {
    match text {
        Some(t) => units(client, chain, token, &t).await,
        None => {
            let min = match to {
                Some(to) => client.min_transfer_fee(chain, token, to).await?,
                None => client.min_fee(kind, chain, token).await?,
            };
            let t = client.token(chain, token).await?;
            eprintln!(
                "fee {} {} (the node's minimum for a {kind})",
                rollup_sdk::units::format_units(min, t.decimals),
                t.name()
            );
            Ok(min)
        }
    }
}

/// `value` base units of `token` on `chain` as `1.5 ETH`; LP shares and tokens the node does
/// not list in base units.
fn shown(tokens: &[rollup_sdk::TokenInfo], chain: ChainId, token: TokenId, value: u128) -> String {
    match tokens
        .iter()
        .find(|t| t.chain == chain.0 && t.token == token.0)
    {
        Some(t) => format!(
            "{} {}",
            rollup_sdk::units::format_units(value, t.decimals),
            t.name()
        ),
        None if token.0 >= rollup_types::MAX_TOKENS => {
            format!(
                "{value} LP shares of pool {}",
                token.0 - rollup_types::MAX_TOKENS
            )
        }
        None => format!("{value} of token {token}"),
    }
}

fn addr(a: L1Address) -> rollup_crypto::Address {
    rollup_crypto::Address(a.0.0)
}

async fn send_tx(client: &Client, tx: Tx, wait: Option<String>) -> anyhow::Result<()> {
    let hash = match &tx {
        // Admitted once the node's watcher has read the authorisation from L1.
        Tx::ChangePubKey {
            auth: CpkAuth::Onchain,
            ..
        } => {
            client
                .submit_authorised(&tx, Duration::from_secs(300))
                .await?
        }
        _ => client.submit(&tx).await?,
    };
    println!("{hash}");
    if let Some(stage) = wait {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")?);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(format!("waiting for {stage}"));
        let block = client
            .wait_tx(&hash, &stage, Duration::from_secs(3600))
            .await?;
        bar.finish_with_message(format!("block {block}: {stage} on every chain"));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors in one line too (help and version print as usual).
        Err(e) if e.use_stderr() => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return std::process::ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A pool half that must exist before anything is signed for it.
async fn pool_half(
    client: &Client,
    chain: ChainId,
    pool: u16,
) -> anyhow::Result<rollup_sdk::PoolInfo> {
    client
        .pool(chain, PoolId(pool))
        .await?
        .with_context(|| format!("no pool {pool} on chain {chain}"))
}

fn stage_arg(stage: &Option<String>) -> anyhow::Result<()> {
    if let Some(s) = stage {
        anyhow::ensure!(
            ["sealed", "committed", "proven", "synced", "executed"].contains(&s.as_str()),
            "--wait {s}: one of sealed, committed, proven, synced, executed"
        );
    }
    Ok(())
}

/// The wallet of `ROLLUP_WALLET_KEY`, acting for `account` when given (a contract wallet).
fn wallet(account: Option<L1Address>) -> anyhow::Result<Wallet> {
    let w = Wallet::from_eth_key(&key()?)?;
    Ok(match account {
        Some(a) => w.for_account(addr(a)),
        None => w,
    })
}

/// The account of `w` on `chain`, which must exist.
async fn account_of(
    client: &Client,
    w: &Wallet,
    chain: ChainId,
) -> anyhow::Result<rollup_sdk::AccountInfo> {
    client.account(w.address(), chain).await?.with_context(|| {
        format!(
            "{} has no account on chain {chain}: deposit first",
            w.address()
        )
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let client = Client::new(&cli.api)?;
    let for_account = cli.account;
    match cli.command {
        Command::Address => {
            let w = wallet(for_account)?;
            println!("address {}", w.address());
            println!("l2 key hash 0x{}", hex::encode(w.pubkey_hash().0));
        }
        Command::Balance { chain } => {
            let w = wallet(for_account)?;
            match client.account(w.address(), ChainId::new(chain)?).await? {
                None => println!("no account yet (deposit first)"),
                Some(a) => {
                    println!("account {} nonce {} key {}", a.id, a.nonce, a.pubkey_hash);
                    let tokens = client.tokens().await?;
                    for (t, v) in &a.balances {
                        let (t, v): (u16, u128) = (t.parse()?, v.parse()?);
                        let chain = ChainId::new(chain)?;
                        println!("  token {t}: {}", shown(&tokens, chain, TokenId(t), v));
                    }
                }
            }
        }
        Command::Deposit {
            rpc,
            contract,
            wei,
            to,
        } => {
            let k = key()?;
            let w = wallet(for_account)?;
            let to = to.unwrap_or(L1Address::from(w.address().0));
            rollup_sdk::l1::Chain::new(&rpc, contract, &k)?
                .deposit_eth(to, wei)
                .await?;
            println!("deposited {wei} wei to {to}");
        }
        Command::Claim {
            rpc,
            contract,
            token,
            amount,
            owner,
        } => {
            let k = key()?;
            let w = wallet(for_account)?;
            let owner = owner.unwrap_or(L1Address::from(w.address().0));
            let chain = rollup_sdk::l1::Chain::new(&rpc, contract, &k)?;
            let decimals = chain.decimals(token).await?;
            let amount = match amount {
                Some(a) => rollup_sdk::units::parse_units(&a, decimals)?,
                None => chain.pending(owner, token).await?,
            };
            anyhow::ensure!(amount > 0, "nothing pending for {owner}");
            chain.claim(owner, token, amount).await?;
            println!(
                "claimed {} of token {token} ({amount} base units) to {owner}",
                rollup_sdk::units::format_units(amount, decimals)
            );
        }
        Command::Pools { chain } => {
            let chain = ChainId::new(chain)?;
            let pools = client.pools(chain).await?;
            if pools.is_empty() {
                println!("no pools on chain {chain}");
            }
            let tokens = client.tokens().await?;
            for p in pools {
                println!(
                    "pool {}: token {} on chain {chain} <-> token {} on chain {}, reserve {}, LP supply {}, fee {} bps",
                    p.pool,
                    p.token,
                    p.peer_token,
                    p.peer_chain,
                    shown(&tokens, chain, TokenId(p.token), p.reserve()),
                    p.supply,
                    p.fee_bps
                );
            }
        }
        Command::Quote {
            chain,
            pool: id,
            amount,
        } => {
            let chain = ChainId::new(chain)?;
            let half = pool_half(&client, chain, id).await?;
            let amount = units(&client, chain, TokenId(half.token), &amount).await?;
            let out = client.quote(chain, PoolId(id), amount).await?;
            let tokens = client.tokens().await?;
            let peer = ChainId::new(half.peer_chain)?;
            println!(
                "{} on chain {chain} -> {} on chain {peer} ({out} base units)",
                shown(&tokens, chain, TokenId(half.token), amount),
                shown(&tokens, peer, TokenId(half.peer_token), out),
            );
        }
        Command::FullExit {
            rpc,
            contract,
            chain,
            token,
            wait,
        } => {
            stage_arg(&wait)?;
            anyhow::ensure!(
                for_account.is_none(),
                "--account: a contract wallet requests its full exit itself (requestFullExit \
                 from the wallet)"
            );
            let k = key()?;
            let w = wallet(None)?;
            let chain = ChainId::new(chain)?;
            let token = TokenId::new(token)?;
            let account = account_of(&client, &w, chain).await?;
            let queued = rollup_sdk::l1::Chain::new(&rpc, contract, &k)?
                .request_full_exit(AccountId(account.id), token.0)
                .await?;
            let hash = hex::encode(queued.tx.hash()?);
            println!(
                "full exit of account {} token {token} queued on chain {chain} as request {} (tx 0x{hash})",
                account.id, queued.serial
            );
            if let Some(stage) = wait {
                let block = client
                    .wait_priority(chain, queued.serial, &stage, Duration::from_secs(3600))
                    .await?;
                println!(
                    "block {block}: {stage} on every chain; claim the balance on chain {chain}"
                );
            }
        }
        Command::Status { hash } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&client.tx_status(&hash).await?)?
            );
        }
        Command::AuthCalldata { chain, fee } => {
            let w = wallet(for_account)?;
            let chain = ChainId::new(chain)?;
            let account = account_of(&client, &w, chain).await?;
            let fee = fee_or_min(&client, "change_pubkey", chain, TokenId(0), fee, None).await?;
            let change =
                w.key_change(chain, AccountId(account.id), account.nonce, TokenId(0), fee)?;
            let to = client.contract(chain).await?;
            println!("to {to}");
            println!(
                "data 0x{}",
                hex::encode(rollup_sdk::l1::auth_calldata(&change))
            );
            println!(
                "then: rollup-wallet{} change-pubkey --chain {chain} --onchain --fee {}",
                for_account.map_or(String::new(), |a| format!(" --account {a}")),
                rollup_sdk::units::format_units(fee, 18)
            );
        }
        Command::Sweep { chain, to, wait } => {
            stage_arg(&wait)?;
            let w = wallet(for_account)?;
            let chain = ChainId::new(chain)?;
            let account = account_of(&client, &w, chain).await?;
            let domain = client.domain().await?;
            let tokens = client.tokens().await?;
            let mut nonce = account.nonce;
            let mut sent = Vec::new();
            for (t, v) in &account.balances {
                let (t, v): (u16, u128) = (t.parse()?, v.parse()?);
                // Tokens only: LP shares are removed from their pool first.
                if t >= rollup_types::MAX_TOKENS || v == 0 {
                    continue;
                }
                let token = TokenId(t);
                let fee = client.min_fee("withdraw", chain, token).await?;
                if v <= fee {
                    println!(
                        "token {t}: {} does not cover the withdrawal's fee {}",
                        shown(&tokens, chain, token, v),
                        shown(&tokens, chain, token, fee)
                    );
                    continue;
                }
                let tx = w.sign(
                    L2Tx::Withdraw(Withdraw {
                        chain,
                        account: AccountId(account.id),
                        to: addr(to),
                        token,
                        amount: amt(v - fee)?,
                        fee: amt(fee)?,
                        nonce: Nonce(nonce),
                    }),
                    &domain,
                )?;
                let hash = client.submit(&tx).await?;
                println!(
                    "{hash} withdraws {} (fee {}) to {to}",
                    shown(&tokens, chain, token, v - fee),
                    shown(&tokens, chain, token, fee)
                );
                sent.push(hash);
                nonce += 1;
            }
            anyhow::ensure!(!sent.is_empty(), "nothing to withdraw on chain {chain}");
            if let Some(stage) = wait {
                for hash in &sent {
                    client
                        .wait_tx(hash, &stage, Duration::from_secs(3600))
                        .await?;
                }
                println!("{stage} on every chain: claim on chain {chain}'s contract");
            }
        }
        cmd => {
            let w = wallet(for_account)?;
            let (chain, fee, wait) = match &cmd {
                Command::ChangePubkey { send, .. }
                | Command::Transfer { send, .. }
                | Command::Withdraw { send, .. }
                | Command::CreatePool { send, .. }
                | Command::AddLiquidity { send, .. }
                | Command::RemoveLiquidity { send, .. }
                | Command::Swap { send, .. } => (send.chain, send.fee.clone(), send.wait.clone()),
                _ => unreachable!("handled above"),
            };
            stage_arg(&wait)?;
            let chain = ChainId::new(chain)?;
            let account = account_of(&client, &w, chain).await?;
            let (id, nonce) = (AccountId(account.id), Nonce(account.nonce));
            // Signatures are bound to the deployment: the node reports its domain, and a node
            // that lied would only get a signature no contract or circuit of ours accepts.
            let domain = client.domain().await?;
            // Amounts in the units of `token` on this chain.
            let units_of = |token: u16, text: String| {
                let client = &client;
                async move { units(client, chain, TokenId::new(token)?, &text).await }
            };
            // The fee of a `kind` paid in `token`: given, or the node's minimum.
            let fee_in = |kind: &'static str, token: u16, to: Option<rollup_crypto::Address>| {
                let (client, fee) = (&client, fee.clone());
                async move { fee_or_min(client, kind, chain, TokenId::new(token)?, fee, to).await }
            };
            let tx = match cmd {
                Command::ChangePubkey {
                    onchain,
                    rpc,
                    contract,
                    ..
                } => {
                    // Refused before the fee is looked up (which prints a line of its own).
                    anyhow::ensure!(
                        onchain || !w.is_contract_account(),
                        "--account: a contract wallet cannot sign its key change; use \
                         auth-calldata and change-pubkey --onchain"
                    );
                    let fee = fee_in("change_pubkey", 0, None).await?;
                    if onchain {
                        let change = w.key_change(chain, id, nonce.0, TokenId(0), fee)?;
                        if let (Some(rpc), Some(contract)) = (rpc, contract) {
                            anyhow::ensure!(
                                !w.is_contract_account(),
                                "--account: the contract wallet sends its authorisation itself \
                                 (auth-calldata prints it)"
                            );
                            rollup_sdk::l1::Chain::new(&rpc, contract, &key()?)?
                                .authorise_key_change(&change)
                                .await?;
                            eprintln!("authorised on chain {chain}'s contract (setAuthPubkeyHash)");
                        }
                        change.onchain()?
                    } else {
                        w.change_pubkey(&domain, chain, id, nonce.0, TokenId(0), fee)?
                    }
                }
                Command::Transfer {
                    to, token, amount, ..
                } => w.sign(
                    L2Tx::Transfer(Transfer {
                        chain,
                        from: id,
                        to: addr(to),
                        token: TokenId::new(token)?,
                        amount: amt(units_of(token, amount).await?)?,
                        fee: amt(fee_in("transfer", token, Some(addr(to))).await?)?,
                        nonce,
                    }),
                    &domain,
                )?,
                Command::Withdraw {
                    to, token, amount, ..
                } => w.sign(
                    L2Tx::Withdraw(Withdraw {
                        chain,
                        account: id,
                        to: addr(to),
                        token: TokenId::new(token)?,
                        amount: amt(units_of(token, amount).await?)?,
                        fee: amt(fee_in("withdraw", token, None).await?)?,
                        nonce,
                    }),
                    &domain,
                )?,
                Command::CreatePool {
                    pool: pid,
                    token,
                    peer_chain,
                    peer_token,
                    fee_bps,
                    ..
                } => {
                    let peer_chain = ChainId::new(peer_chain)?;
                    for c in [chain, peer_chain] {
                        anyhow::ensure!(
                            client.pool(c, PoolId(pid)).await?.is_none(),
                            "pool {pid} already exists on chain {c}"
                        );
                    }
                    w.sign(
                        L2Tx::CreatePool(CreatePool {
                            chain,
                            account: id,
                            pool: PoolId(pid),
                            token: TokenId::new(token)?,
                            peer_chain,
                            peer_token: TokenId::new(peer_token)?,
                            fee_bps,
                            fee: amt(fee_in("create_pool", token, None).await?)?,
                            nonce,
                        }),
                        &domain,
                    )?
                }
                Command::RemoveLiquidity {
                    pool: pid,
                    shares,
                    min_out,
                    ..
                } => {
                    let half = pool_half(&client, chain, pid).await?;
                    let held = account.balance(TokenId::lp_share(PoolId(pid)));
                    let shares = shares.unwrap_or(held);
                    anyhow::ensure!(shares > 0, "no LP shares of pool {pid} on chain {chain}");
                    anyhow::ensure!(
                        shares <= held,
                        "too few shares: {held} of pool {pid} held on chain {chain}, {shares} to burn"
                    );
                    w.sign(
                        L2Tx::RemoveLiquidity(RemoveLiquidity {
                            chain,
                            account: id,
                            pool: PoolId(pid),
                            shares: amt(shares)?,
                            min_out: amt(units_of(half.token, min_out).await?)?,
                            fee: amt(fee_in("remove_liquidity", half.token, None).await?)?,
                            nonce,
                        }),
                        &domain,
                    )?
                }
                Command::AddLiquidity {
                    pool,
                    amount,
                    min_shares,
                    ..
                } => {
                    let half = pool_half(&client, chain, pool).await?;
                    w.sign(
                        L2Tx::AddLiquidity(AddLiquidity {
                            chain,
                            account: id,
                            pool: PoolId(pool),
                            amount: amt(units_of(half.token, amount).await?)?,
                            min_shares: amt(min_shares)?,
                            fee: amt(fee_in("add_liquidity", half.token, None).await?)?,
                            nonce,
                        }),
                        &domain,
                    )?
                }
                Command::Swap {
                    pool,
                    amount,
                    min_out,
                    ..
                } => {
                    let half = pool_half(&client, chain, pool).await?;
                    let peer = ChainId::new(half.peer_chain)?;
                    let min_out = units(&client, peer, TokenId(half.peer_token), &min_out).await?;
                    w.sign(
                        L2Tx::Swap(Swap {
                            chain,
                            account: id,
                            pool: PoolId(pool),
                            amount_in: amt(units_of(half.token, amount).await?)?,
                            min_out: amt(min_out)?,
                            fee: amt(fee_in("swap", half.token, None).await?)?,
                            nonce,
                        }),
                        &domain,
                    )?
                }
                _ => unreachable!("handled above"),
            };
            send_tx(&client, tx, wait).await?;
        }
    }
    Ok(())
}
