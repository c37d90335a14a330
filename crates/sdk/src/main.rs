//! `rollup-wallet`: the rollup's wallet CLI. The key comes from `ROLLUP_WALLET_KEY` (32-byte hex
//! Ethereum key); the L2 key is derived from it.
//!
//! ```text
//! rollup-wallet address
//! rollup-wallet balance --chain 1
//! rollup-wallet deposit --rpc http://127.0.0.1:8545 --contract 0x… --wei 1000000000000000000
//! rollup-wallet change-pubkey --chain 1 [--wait executed]
//! rollup-wallet transfer --chain 1 --to 0x… --token 0 --amount 1000 [--fee 10]
//! rollup-wallet withdraw --chain 1 --to 0x… --token 0 --amount 1000 [--fee 10]
//! rollup-wallet add-liquidity --chain 1 --pool 0 --amount 1000 [--min-shares 0]
//! rollup-wallet swap --chain 1 --pool 0 --amount 1000 --min-out 900
//! rollup-wallet status 0x<tx hash>
//! rollup-wallet claim --rpc … --contract 0x… --token 0 --amount 1000
//! ```
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
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Send {
    /// Chain of the transaction (nonce, fee, tokens).
    #[arg(long)]
    chain: u8,
    /// Fee in the transaction's token (base units).
    #[arg(long, default_value_t = 0)]
    fee: u128,
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
    /// Set this wallet's L2 key (authorised by the L1 key).
    ChangePubkey {
        #[command(flatten)]
        send: Send,
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
        /// Amount (base units; must be packable).
        #[arg(long)]
        amount: u128,
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
        /// Amount (base units).
        #[arg(long)]
        amount: u128,
    },
    /// Add one-coin liquidity to a pool's half on the chain.
    AddLiquidity {
        #[command(flatten)]
        send: Send,
        /// Pool id.
        #[arg(long)]
        pool: u16,
        /// Amount of the half's token.
        #[arg(long)]
        amount: u128,
        /// Fewest shares accepted.
        #[arg(long, default_value_t = 0)]
        min_shares: u128,
    },
    /// Swap across chains: pay on `--chain`, receive on the pool's other chain.
    Swap {
        #[command(flatten)]
        send: Send,
        /// Pool id.
        #[arg(long)]
        pool: u16,
        /// Input amount.
        #[arg(long)]
        amount: u128,
        /// Least output accepted.
        #[arg(long)]
        min_out: u128,
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
        /// Amount (default: everything pending).
        #[arg(long)]
        amount: Option<u128>,
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

fn addr(a: L1Address) -> rollup_crypto::Address {
    rollup_crypto::Address(a.0.0)
}

async fn send_tx(client: &Client, tx: Tx, wait: Option<String>) -> anyhow::Result<()> {
    let hash = client.submit(&tx).await?;
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
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let client = Client::new(&cli.api)?;
    match cli.command {
        Command::Address => {
            let w = Wallet::from_eth_key(&key()?)?;
            println!("address {}", w.address());
            println!("l2 key hash 0x{}", hex::encode(w.pubkey_hash().0));
        }
        Command::Balance { chain } => {
            let w = Wallet::from_eth_key(&key()?)?;
            match client.account(w.address(), ChainId::new(chain)?).await? {
                None => println!("no account yet (deposit first)"),
                Some(a) => {
                    println!("account {} nonce {} key {}", a.id, a.nonce, a.pubkey_hash);
                    for (t, v) in &a.balances {
                        println!("  token {t}: {v}");
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
            let w = Wallet::from_eth_key(&k)?;
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
            let w = Wallet::from_eth_key(&k)?;
            let owner = owner.unwrap_or(L1Address::from(w.address().0));
            let chain = rollup_sdk::l1::Chain::new(&rpc, contract, &k)?;
            let amount = match amount {
                Some(a) => a,
                None => chain.pending(owner, token).await?,
            };
            anyhow::ensure!(amount > 0, "nothing pending for {owner}");
            chain.claim(owner, token, amount).await?;
            println!("claimed {amount} of token {token} to {owner}");
        }
        Command::Status { hash } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&client.tx_status(&hash).await?)?
            );
        }
        cmd => {
            let w = Wallet::from_eth_key(&key()?)?;
            let (chain, fee, wait) = match &cmd {
                Command::ChangePubkey { send }
                | Command::Transfer { send, .. }
                | Command::Withdraw { send, .. }
                | Command::AddLiquidity { send, .. }
                | Command::Swap { send, .. } => (send.chain, send.fee, send.wait.clone()),
                _ => unreachable!("handled above"),
            };
            let chain = ChainId::new(chain)?;
            let account = client
                .account(w.address(), chain)
                .await?
                .context("no account yet: deposit first")?;
            let (id, nonce) = (AccountId(account.id), Nonce(account.nonce));
            // Signatures are bound to the deployment: the node reports its domain, and a node
            // that lied would only get a signature no contract or circuit of ours accepts.
            let domain = client.domain().await?;
            let tx = match cmd {
                Command::ChangePubkey { .. } => {
                    w.change_pubkey(&domain, chain, id, nonce.0, TokenId(0), fee)?
                }
                Command::Transfer {
                    to, token, amount, ..
                } => w.sign(
                    L2Tx::Transfer(Transfer {
                        chain,
                        from: id,
                        to: addr(to),
                        token: TokenId::new(token)?,
                        amount: amt(amount)?,
                        fee: amt(fee)?,
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
                        amount: amt(amount)?,
                        fee: amt(fee)?,
                        nonce,
                    }),
                    &domain,
                )?,
                Command::AddLiquidity {
                    pool,
                    amount,
                    min_shares,
                    ..
                } => w.sign(
                    L2Tx::AddLiquidity(AddLiquidity {
                        chain,
                        account: id,
                        pool: PoolId(pool),
                        amount: amt(amount)?,
                        min_shares: amt(min_shares)?,
                        fee: amt(fee)?,
                        nonce,
                    }),
                    &domain,
                )?,
                Command::Swap {
                    pool,
                    amount,
                    min_out,
                    ..
                } => w.sign(
                    L2Tx::Swap(Swap {
                        chain,
                        account: id,
                        pool: PoolId(pool),
                        amount_in: amt(amount)?,
                        min_out: amt(min_out)?,
                        fee: amt(fee)?,
                        nonce,
                    }),
                    &domain,
                )?,
                _ => unreachable!("handled above"),
            };
            send_tx(&client, tx, wait).await?;
        }
    }
    Ok(())
}
