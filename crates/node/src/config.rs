//! Node configuration: a TOML file, then environment overrides (`ROLLUP_…`). Every option and its
//! default is listed in `docs/CONFIG.md`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One connected chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainConfig {
    /// Rollup chain id (1..=8).
    pub id: u8,
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The rollup contract.
    pub contract: String,
    /// Block the watcher starts from (the contract's deployment block).
    #[serde(default)]
    pub start_block: u64,
    /// Confirmations before the watcher acts on an event.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
}

fn default_confirmations() -> u64 {
    1
}

/// The node's configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Database URL (`sqlite://…` or `postgres://…`).
    pub database_url: String,
    /// Directory of the proving keys (safe to delete; dev keys are remade).
    pub keys_dir: PathBuf,
    /// Chain-circuit capacity in chunks (the deployed verifier's and the contracts'
    /// `proofChunks`): each chain's part of a block is proven in sub-blocks of this size. Also
    /// the binding circuit's link slots per chain, so the most cross-chain links per block.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    /// Most sub-blocks (chain proofs) per chain and block: a block holds up to
    /// `capacity × sub_blocks` chunks per chain.
    #[serde(default = "default_sub_blocks")]
    pub sub_blocks: usize,
    /// How many blocks one commit, prove or execute transaction takes (`[batch]`: `max_blocks`,
    /// `gas_budget`).
    #[serde(default)]
    pub batch: crate::driver::BatchLimits,
    /// The keeper stores a state snapshot after every block whose number is a multiple of this:
    /// a restart replays at most this many blocks, however long the history.
    #[serde(default = "default_snapshot_interval")]
    pub snapshot_interval: u32,
    /// Seal a block at most this often (milliseconds), when there is anything to include.
    #[serde(default = "default_seal_interval_ms")]
    pub seal_interval_ms: u64,
    /// Most transactions taken from the mempool per block.
    #[serde(default = "default_max_txs")]
    pub max_txs: usize,
    /// The mempool's limits and lifetimes (`[mempool]`).
    #[serde(default)]
    pub mempool: crate::mempool::MempoolConfig,
    /// L1 address of the fee account (account 0).
    pub fee_account: String,
    /// Connected chains.
    pub chains: Vec<ChainConfig>,
    /// Operator key (hex) for every chain's sender. Prefer the env override
    /// `ROLLUP_OPERATOR_KEY`; never logged.
    #[serde(default, skip_serializing)]
    pub operator_key: Option<String>,
    /// Poll interval of the L1 drivers (milliseconds).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Address of the JSON-RPC API (HTTP and WebSocket).
    #[serde(default = "default_api_addr")]
    pub api_addr: String,
    /// Address of the Prometheus endpoint (`/metrics`); empty disables it.
    #[serde(default = "default_metrics_addr")]
    pub metrics_addr: String,
    /// The fee policy (`[fees]`: minimum fees priced from L1 gas; absent: every transaction
    /// free).
    #[serde(default)]
    pub fees: Option<crate::fees::FeeConfig>,
    /// The auditor's API (`http://…`); the `chains` component does not start without it.
    #[serde(default)]
    pub auditor_url: Option<String>,
    /// The auditor's signing address: only its approvals let a block be committed.
    #[serde(default)]
    pub auditor_address: Option<String>,
    /// This server's name among the node servers sharing the database (the holder of the
    /// leases it takes: `crate::lead`); unique per server. Default: host name and process id.
    #[serde(default)]
    pub node_id: Option<String>,
    /// Lifetime of a leadership lease (ms): the leader renews it every round; a standby takes
    /// over this long after the leader's last renewal.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
    /// How long a claimed proving job stays with a worker that stopped renewing it (ms): a
    /// killed worker's job goes to another this long after its last renewal. Workers renew four
    /// times per lease.
    #[serde(default = "default_job_lease_ms")]
    pub job_lease_ms: u64,
    /// The explorer's built pages (`explorer/dist`, made by `npm run build:explorer`), served
    /// by the API at `/`; none: the API serves no pages.
    #[serde(default)]
    pub explorer_dir: Option<PathBuf>,
}

fn default_metrics_addr() -> String {
    "127.0.0.1:9464".into()
}

fn default_api_addr() -> String {
    "127.0.0.1:3030".into()
}

fn default_capacity() -> usize {
    16
}
fn default_sub_blocks() -> usize {
    8
}
fn default_seal_interval_ms() -> u64 {
    1000
}
fn default_max_txs() -> usize {
    64
}
fn default_poll_ms() -> u64 {
    300
}
fn default_lease_ms() -> u64 {
    10_000
}
fn default_snapshot_interval() -> u32 {
    crate::keeper::SNAPSHOT_EVERY
}
fn default_job_lease_ms() -> u64 {
    crate::worker::LEASE.as_millis() as u64
}

impl NodeConfig {
    /// Parses TOML, then applies `ROLLUP_DATABASE_URL`, `ROLLUP_KEYS_DIR`,
    /// `ROLLUP_OPERATOR_KEY`, `ROLLUP_NODE_ID`, `ROLLUP_API_ADDR` and `ROLLUP_METRICS_ADDR` from
    /// the environment (the last three let several servers of one deployment share a file).
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let mut c: NodeConfig = toml::from_str(text)?;
        if let Ok(v) = std::env::var("ROLLUP_DATABASE_URL") {
            c.database_url = v;
        }
        if let Ok(v) = std::env::var("ROLLUP_KEYS_DIR") {
            c.keys_dir = v.into();
        }
        if let Ok(v) = std::env::var("ROLLUP_OPERATOR_KEY") {
            c.operator_key = Some(v);
        }
        if let Ok(v) = std::env::var("ROLLUP_NODE_ID") {
            c.node_id = Some(v);
        }
        if let Ok(v) = std::env::var("ROLLUP_API_ADDR") {
            c.api_addr = v;
        }
        if let Ok(v) = std::env::var("ROLLUP_METRICS_ADDR") {
            c.metrics_addr = v;
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks what the node cannot run without.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.chains.is_empty(), "no chains configured");
        let mut ids: Vec<u8> = self.chains.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        anyhow::ensure!(ids.len() == self.chains.len(), "chain ids must be distinct");
        anyhow::ensure!(
            rollup_types::op::PROOF_CHUNKS.contains(&self.capacity),
            "capacity {} is not a circuit capacity ({:?} chunks)",
            self.capacity,
            rollup_types::op::PROOF_CHUNKS
        );
        anyhow::ensure!(
            self.sub_blocks > 0
                && self.capacity * self.sub_blocks <= rollup_types::op::MAX_BLOCK_CHUNKS,
            "sub_blocks {}: 1 to {} sub-blocks of {} chunks per block",
            self.sub_blocks,
            rollup_types::op::MAX_BLOCK_CHUNKS / self.capacity,
            self.capacity
        );
        anyhow::ensure!(self.max_txs > 0, "max_txs must be positive");
        anyhow::ensure!(
            (1..=100_000).contains(&self.snapshot_interval),
            "snapshot_interval {}: a snapshot every 1 to 100000 blocks",
            self.snapshot_interval
        );
        anyhow::ensure!(
            (1..=64).contains(&self.batch.max_blocks),
            "batch.max_blocks {}: 1 to 64 blocks per stage transaction",
            self.batch.max_blocks
        );
        anyhow::ensure!(
            self.batch.gas_budget >= 1_000_000,
            "batch.gas_budget {}: at least 1,000,000 gas (one block's prove costs about 700k)",
            self.batch.gas_budget
        );
        // The keeper renews at least three times per lease (however long its seal interval);
        // a chain driver renews once a round of `poll_ms`.
        anyhow::ensure!(
            self.lease_ms > 2 * self.poll_ms,
            "lease_ms {} must exceed twice poll_ms: a chain driver renews its sender lease once \
             a round",
            self.lease_ms
        );
        anyhow::ensure!(
            self.job_lease_ms >= 1_000,
            "job_lease_ms {}: at least 1000 (a worker renews four times per lease)",
            self.job_lease_ms
        );
        if let Some(id) = &self.node_id {
            anyhow::ensure!(
                !id.is_empty() && id.len() <= 64,
                "node_id: 1 to 64 characters"
            );
        }
        self.mempool.validate(self.max_txs)?;
        crate::fees::FeePolicy::new(self.fees.as_ref(), self.capacity, self.sub_blocks)?;
        self.api_addr
            .parse::<std::net::SocketAddr>()
            .map_err(|e| anyhow::anyhow!("api_addr {:?}: {e}", self.api_addr))?;
        if let Some(a) = &self.auditor_address {
            a.parse::<alloy::primitives::Address>()
                .map_err(|e| anyhow::anyhow!("auditor_address {a:?}: {e}"))?;
        }
        if let Some(u) = &self.auditor_url {
            anyhow::ensure!(
                u.starts_with("http://") || u.starts_with("https://"),
                "auditor_url {u:?}: an http(s) URL"
            );
        }
        if !self.metrics_addr.is_empty() {
            self.metrics_addr
                .parse::<std::net::SocketAddr>()
                .map_err(|e| anyhow::anyhow!("metrics_addr {:?}: {e}", self.metrics_addr))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
database_url = "sqlite:///tmp/x.db"
keys_dir = "/tmp/keys"
fee_account = "0x0000000000000000000000000000000000000001"
[[chains]]
id = 1
rpc_url = "http://127.0.0.1:8545"
contract = "0x0000000000000000000000000000000000000002"
"#;

    #[test]
    fn the_mempool_section_is_read_and_validated_at_load() {
        let c = NodeConfig::from_toml(BASE).unwrap();
        assert_eq!(c.mempool, crate::mempool::MempoolConfig::default());
        let c = NodeConfig::from_toml(&format!(
            "{BASE}\n[mempool]\ncapacity = 500\nper_account = 4\nnonce_window = 2\nttl_secs = 30\n"
        ))
        .unwrap();
        assert_eq!(
            (
                c.mempool.capacity,
                c.mempool.per_account,
                c.mempool.nonce_window,
                c.mempool.ttl_secs
            ),
            (500, 4, 2, 30)
        );
        assert_eq!(
            c.mempool.scan_senders, 1024,
            "unset keys keep their defaults"
        );
        // A typo is an error, not a silent default; so is a bound that makes no sense.
        let e = NodeConfig::from_toml(&format!("{BASE}\n[mempool]\nttl = 30\n")).unwrap_err();
        assert!(format!("{e:#}").contains("unknown field"), "{e:#}");
        let e =
            NodeConfig::from_toml(&format!("{BASE}\n[mempool]\nnonce_window = 17\n")).unwrap_err();
        assert!(format!("{e:#}").contains("mempool.nonce_window"), "{e:#}");
        let e = NodeConfig::from_toml(&format!(
            "max_txs = 100\n{BASE}\n[mempool]\ncapacity = 99\n"
        ))
        .unwrap_err();
        assert!(format!("{e:#}").contains("below max_txs"), "{e:#}");
        // A written configuration (the devnet writes one) reads back with its section.
        let mut c = NodeConfig::from_toml(BASE).unwrap();
        c.mempool.per_account = 1024;
        c.mempool.nonce_window = 1024;
        let back = NodeConfig::from_toml(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back.mempool, c.mempool);
    }
}
