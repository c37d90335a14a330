//! The auditor's configuration (TOML), separate from the node's: its own database, the node's
//! API it reads blocks from, its own API, the network id the contracts were deployed with, and
//! the chains it watches with its own connections. Listed in `docs/CONFIG.md` ("Auditor").

use alloy::primitives::{Address, B256};
use anyhow::Context;
use rollup_state::NetworkConfig;
use rollup_types::{ChainId, Domain};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One watched chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditorChain {
    /// Rollup chain id (1..=8).
    pub id: u8,
    /// JSON-RPC endpoint (the auditor's own).
    pub rpc_url: String,
    /// The rollup contract.
    pub contract: String,
    /// Confirmations before a priority request counts.
    #[serde(default = "one")]
    pub confirmations: u64,
}

fn one() -> u64 {
    1
}

/// The auditor's configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditorConfig {
    /// `sqlite://path`: the auditor's own database.
    pub database_url: String,
    /// The node's API, where block inputs are read.
    pub node_url: String,
    /// This auditor's API (approvals, status).
    #[serde(default = "default_api")]
    pub api_addr: String,
    /// The network id the contracts were deployed with (hex).
    pub network_id: String,
    /// Chain-circuit capacity in chunks (the contracts' `proofChunks`: pubdata is hashed in
    /// sub-blocks of this size).
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// L1 address of the fee account (account 0).
    pub fee_account: String,
    /// Poll interval (milliseconds).
    #[serde(default = "default_poll")]
    pub poll_ms: u64,
    /// Watched chains.
    pub chains: Vec<AuditorChain>,
}

fn default_api() -> String {
    "127.0.0.1:3040".into()
}
fn default_capacity() -> usize {
    16
}
fn default_poll() -> u64 {
    500
}

impl AuditorConfig {
    /// Parses and checks a configuration.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let c: AuditorConfig = toml::from_str(text)?;
        anyhow::ensure!(!c.chains.is_empty(), "no chains configured");
        anyhow::ensure!(
            c.database_url.starts_with("sqlite:"),
            "the auditor's database is SQLite (sqlite://path)"
        );
        c.network_id
            .parse::<B256>()
            .context("network_id: 32 bytes hex")?;
        c.chain_ids()?;
        c.fee_account.parse::<Address>().context("fee_account")?;
        Ok(c)
    }

    /// The watched chains' ids.
    pub fn chain_ids(&self) -> anyhow::Result<Vec<ChainId>> {
        self.chains
            .iter()
            .map(|x| ChainId::new(x.id).context("chain id"))
            .collect()
    }

    /// The network the configuration describes, under the deployment `domain` (read from the
    /// chains: `rollup_l1::deploy::read_domain`).
    pub fn network(&self, domain: Domain) -> anyhow::Result<NetworkConfig> {
        let fee: Address = self.fee_account.parse().context("fee_account")?;
        Ok(NetworkConfig {
            chains: self.chain_ids()?,
            fee_account: rollup_crypto::Address(fee.0.0),
            domain,
        })
    }
}

/// Reads and checks the configuration file at `path`.
pub fn load(path: &Path) -> anyhow::Result<AuditorConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    AuditorConfig::from_toml(&text).with_context(|| format!("{}", path.display()))
}
