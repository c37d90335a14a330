//! The operator's fee policy: the minimum fee of a transaction is what its share of the L1 cost
//! of its blocks is worth in its fee token.
//!
//! A kind occupies, in the worst case, a known number of pubdata chunks on each chain (its
//! [`placement`]: a transfer may create its recipient's account, which is broadcast to every
//! chain; a key change broadcasts the key). Every chain commits, proves, syncs and executes
//! every block, and verifies every chain's proofs: a block costs each chain `block_gas` (its
//! commit, the prove transaction's fixed part, sync and execute) plus `proof_gas` per proof it
//! verifies — each chain's sub-blocks (`expected_chunks` per chain at the expected fill, in
//! proofs of `capacity` chunks) and the binding proof. A chunk's share of that, on every chain,
//! is the block's cost over the block's chunks on all chains; on its own chain it adds what the
//! chunk itself costs in the commit (`chunk_gas`: calldata, hashing, the op's walk). A
//! withdrawal adds what its execution does on L1 (`withdraw_gas`: crediting the pending
//! balance). Each chain's gas is priced at that chain's
//! gas price (read from the chain by its driver: [`rollup_storage::Storage::gas_prices`]) and
//! converted into the fee token through a [`PriceSource`] (fixed prices from the configuration
//! on the devnet; a real feed implements the same trait), plus `margin_percent`, then rounded up
//! to a fee-packable amount. `rollup_estimateFee` returns every part.
//!
//! Without a `[fees]` section every transaction is free (tests, private networks). With one,
//! a fee token the source cannot price is refused, as is any fee while a touched chain's gas
//! price is unknown: nothing falls back to a made-up rate.
//!
//! Fees are what the L2 protocol collects for the operator (settled to the fee account in every
//! block); the policy only decides which transactions the API admits. The fee account withdraws
//! them like any account (`rollup-wallet sweep`, docs/CONFIG.md).

use alloy::primitives::U256;
use rollup_types::tx::{L2Tx, Tx};
use rollup_types::{Amount, ChainId, PoolId, TokenId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One fixed price (`[[fees.prices]]`): what one whole token (10^decimals base units) is worth in
/// the configuration's reference unit (any unit, the same for every price: a dollar, say).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PriceRule {
    /// Rollup chain id.
    pub chain: u8,
    /// Token id on that chain (0 is the chain's ETH, which prices its gas).
    pub token: u16,
    /// Decimal string, at most 9 decimals ("3000", "0.9995").
    pub price: String,
}

/// The `[fees]` section of the node's TOML.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeeConfig {
    /// L1 gas of one block on one chain for its commit, the fixed part of its prove
    /// transaction, its sync and its execution, apart from its proofs and its chunks
    /// (docs/PERFORMANCE.md measures it).
    #[serde(default = "default_block_gas")]
    pub block_gas: u64,
    /// L1 gas each proof adds to a chain's prove transaction (calldata, its public input, its
    /// share of the batched pairing check); every chain verifies every chain's proofs.
    #[serde(default = "default_proof_gas")]
    pub proof_gas: u64,
    /// L1 gas each pubdata chunk adds to a commit.
    #[serde(default = "default_chunk_gas")]
    pub chunk_gas: u64,
    /// Chunks per chain a block is expected to carry (its fixed gas is shared by them);
    /// default: the largest block, `capacity × sub_blocks`.
    #[serde(default)]
    pub expected_chunks: Option<u64>,
    /// L1 gas a withdrawal's execution adds (crediting the pending balance).
    #[serde(default = "default_withdraw_gas")]
    pub withdraw_gas: u64,
    /// Added on top of the cost, in percent.
    #[serde(default)]
    pub margin_percent: u32,
    /// Fixed prices (the devnet's price source).
    #[serde(default)]
    pub prices: Vec<PriceRule>,
}

fn default_block_gas() -> u64 {
    510_000
}
fn default_proof_gas() -> u64 {
    81_000
}
fn default_chunk_gas() -> u64 {
    4_000
}
fn default_withdraw_gas() -> u64 {
    30_000
}

/// The kinds of transactions the API takes, with the names the API uses.
pub const KINDS: [&str; 7] = [
    "change_pubkey",
    "transfer",
    "withdraw",
    "add_liquidity",
    "remove_liquidity",
    "swap",
    "create_pool",
];

/// Errors of the fee policy.
#[derive(Debug, thiserror::Error)]
pub enum FeeError {
    /// A configuration value that does not parse or makes no sense.
    #[error("fees: {0}")]
    Config(String),
    /// A kind name the API does not know.
    #[error("unknown transaction kind {0:?} (one of {KINDS:?})")]
    Kind(String),
    /// The price source has no price for a token the fee needs.
    #[error("no price for token {token} on chain {chain}: the operator does not take fees in it")]
    NoPrice {
        /// Chain.
        chain: ChainId,
        /// Token.
        token: TokenId,
    },
    /// A chain's gas price has not been read yet.
    #[error("chain {0}'s gas price is not known yet (its driver reads it): retry shortly")]
    NoGasPrice(ChainId),
    /// The fee token's decimals are not known yet.
    #[error("token {token} on chain {chain} is not known to the node")]
    UnknownToken {
        /// Chain.
        chain: ChainId,
        /// Token.
        token: TokenId,
    },
    /// The minimum is beyond the largest representable fee.
    #[error("minimum fee not representable in token {0}")]
    Overflow(TokenId),
}

impl FeeError {
    /// Whether the fee cannot be computed for a reason the caller cannot fix (against a bad fee).
    pub fn unavailable(&self) -> bool {
        matches!(
            self,
            FeeError::NoGasPrice(_) | FeeError::UnknownToken { .. }
        )
    }
}

/// Decimal places of a [`Price`].
const PRICE_DECIMALS: u32 = 9;

/// A price in billionths of the reference unit per whole token.
pub type Price = u128;

/// Where prices come from: fixed in the configuration, or a feed.
pub trait PriceSource: Send + Sync {
    /// What one whole `token` on `chain` is worth, in billionths of the reference unit.
    fn price(&self, chain: ChainId, token: TokenId) -> Option<Price>;
}

/// Prices fixed in the configuration.
#[derive(Clone, Debug, Default)]
pub struct FixedPrices(BTreeMap<(ChainId, TokenId), Price>);

impl FixedPrices {
    /// From `[[fees.prices]]`; refuses malformed, non-positive or repeated prices.
    pub fn new(rules: &[PriceRule]) -> Result<Self, FeeError> {
        let mut m = BTreeMap::new();
        for r in rules {
            let bad = |why: String| {
                FeeError::Config(format!(
                    "price of token {} on chain {}: {why}",
                    r.token, r.chain
                ))
            };
            let chain = ChainId::new(r.chain).map_err(|e| bad(e.to_string()))?;
            let p = parse_price(&r.price).map_err(bad)?;
            if m.insert((chain, TokenId(r.token)), p).is_some() {
                return Err(bad("repeated".into()));
            }
        }
        Ok(FixedPrices(m))
    }
}

impl PriceSource for FixedPrices {
    fn price(&self, chain: ChainId, token: TokenId) -> Option<Price> {
        self.0.get(&(chain, token)).copied()
    }
}

/// "3000" or "0.9995" → billionths; positive, at most [`PRICE_DECIMALS`] decimals.
fn parse_price(s: &str) -> Result<Price, String> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (!frac.is_empty() && !digits(frac)) || s.ends_with('.') {
        return Err(format!("{s:?} is not a decimal number"));
    }
    if frac.len() > PRICE_DECIMALS as usize {
        return Err(format!("{s:?} has more than {PRICE_DECIMALS} decimals"));
    }
    let scaled = format!("{int}{frac:0<width$}", width = PRICE_DECIMALS as usize);
    let v: u128 = scaled.parse().map_err(|_| format!("{s:?} is too large"))?;
    if v == 0 || v > 10u128.pow(24) {
        return Err(format!("{s:?} must be positive and below 10^15"));
    }
    Ok(v)
}

/// Chunks a transaction of `kind` paying on `home` occupies on each chain of `chains`, in the
/// worst case. The other half of a swap or a new pool is on another chain: charged at the
/// dearest other chain (`peer`, chosen by the caller from the gas prices), so the minimum does
/// not depend on the pool. A transfer creates its recipient's account unless
/// `recipient_exists` (known from the state: accounts are never removed).
pub fn placement(
    kind: &str,
    home: ChainId,
    peer: Option<ChainId>,
    chains: &[ChainId],
    recipient_exists: bool,
) -> Result<BTreeMap<ChainId, u64>, FeeError> {
    let mut m: BTreeMap<ChainId, u64> = chains.iter().map(|c| (*c, 0)).collect();
    let mut add = |c: ChainId, n: u64| {
        if let Some(v) = m.get_mut(&c) {
            *v += n;
        }
    };
    // An account created on the way is broadcast: 2 chunks on every chain.
    let creates = |add: &mut dyn FnMut(ChainId, u64)| {
        for c in chains {
            add(*c, 2);
        }
    };
    match kind {
        // The key change here, its broadcast (set-key, 2 chunks) on every other chain.
        "change_pubkey" => {
            for c in chains {
                add(*c, if *c == home { 4 } else { 2 });
            }
        }
        "transfer" => {
            add(home, 1);
            if !recipient_exists {
                creates(&mut add);
            }
        }
        "withdraw" => add(home, 3),
        "add_liquidity" | "remove_liquidity" => add(home, 2),
        // Swap-in here, swap-out on the peer chain (possibly creating the account).
        "swap" => {
            add(home, 1);
            if let Some(p) = peer {
                add(p, 2);
            }
            creates(&mut add);
        }
        "create_pool" => {
            add(home, 1);
            if let Some(p) = peer {
                add(p, 1);
            }
        }
        other => return Err(FeeError::Kind(other.to_string())),
    }
    Ok(m)
}

/// One chain's part of a fee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeePart {
    /// Chain.
    pub chain: u8,
    /// Chunks the transaction may occupy there.
    pub chunks: u64,
    /// L1 gas charged there.
    pub gas: u64,
    /// The chain's gas price (wei, decimal string).
    pub gas_price: String,
    /// The chain's ETH price (billionths of the reference unit per ETH, decimal string).
    pub eth_price: String,
}

/// A minimum fee and how it was reached (`rollup_estimateFee`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    /// The kind.
    pub kind: String,
    /// A transfer's recipient has an account already (its creation is not charged).
    pub recipient_exists: bool,
    /// Chunks over every chain.
    pub chunks: u64,
    /// The minimum, in base units of the fee token (decimal string), fee-packable.
    pub min_fee: String,
    /// Per chain.
    pub parts: Vec<FeePart>,
    /// The fee token's price (billionths of the reference unit per whole token).
    pub token_price: String,
    /// Its decimals.
    pub token_decimals: u8,
    /// The policy's constants.
    pub block_gas: u64,
    /// Gas per verified proof.
    pub proof_gas: u64,
    /// Chunks per proof (the chain circuit's capacity).
    pub capacity: u64,
    /// Gas of each chunk's share of a block, on every chain (the network's `chains` at the
    /// expected fill).
    pub share_gas: u64,
    /// Chunk gas.
    pub chunk_gas: u64,
    /// Expected chunks per chain and block.
    pub expected_chunks: u64,
    /// Withdrawal gas.
    pub withdraw_gas: u64,
    /// Margin.
    pub margin_percent: u32,
}

/// What the policy needs to know about the chains now.
#[derive(Clone, Debug, Default)]
pub struct Market {
    /// Gas price (wei) of each chain, as its driver last read it.
    pub gas_price: BTreeMap<ChainId, u128>,
    /// Decimals of each known token.
    pub decimals: BTreeMap<(ChainId, TokenId), u8>,
}

/// The fee policy: free, or priced from L1 costs.
#[derive(Clone, Default)]
pub struct FeePolicy {
    priced: Option<Priced>,
}

#[derive(Clone)]
struct Priced {
    cfg: FeeConfig,
    capacity: u64,
    expected_chunks: u64,
    prices: Arc<dyn PriceSource>,
}

impl Priced {
    /// One chunk's share of a block's gas on each chain of a network of `chains` chains: the
    /// block's fixed gas and every proof it verifies (each chain's sub-blocks at the expected
    /// fill, and the binding), over the block's chunks on every chain; rounded up.
    fn share_gas(&self, chains: u64) -> u64 {
        let chains = chains.max(1);
        let proofs = chains * self.expected_chunks.div_ceil(self.capacity) + 1;
        let block = self.cfg.block_gas + self.cfg.proof_gas * proofs;
        block.div_ceil(chains * self.expected_chunks)
    }
}

impl FeePolicy {
    /// Every transaction free.
    pub fn free() -> Self {
        FeePolicy::default()
    }

    /// From the `[fees]` section (`None`: free) with its fixed prices; `capacity` is the chain
    /// circuit's (chunks per proof), `sub_blocks` the proofs of the largest block per chain
    /// (their product is the default expected fill).
    pub fn new(
        cfg: Option<&FeeConfig>,
        capacity: usize,
        sub_blocks: usize,
    ) -> Result<Self, FeeError> {
        match cfg {
            None => Ok(Self::free()),
            Some(c) => {
                let prices = FixedPrices::new(&c.prices)?;
                Self::with_source(c.clone(), capacity, sub_blocks, Arc::new(prices))
            }
        }
    }

    /// From `cfg` with another price source (a feed).
    pub fn with_source(
        cfg: FeeConfig,
        capacity: usize,
        sub_blocks: usize,
        prices: Arc<dyn PriceSource>,
    ) -> Result<Self, FeeError> {
        if capacity == 0 || sub_blocks == 0 {
            return Err(FeeError::Config(
                "capacity and sub_blocks must be positive".into(),
            ));
        }
        let capacity = capacity as u64;
        let expected_chunks = cfg
            .expected_chunks
            .unwrap_or(capacity.saturating_mul(sub_blocks as u64));
        if expected_chunks == 0 || expected_chunks > 1_000_000 {
            return Err(FeeError::Config(
                "expected_chunks must be 1 to 1,000,000".into(),
            ));
        }
        if cfg.block_gas > 100_000_000
            || cfg.proof_gas > 10_000_000
            || cfg.chunk_gas > 1_000_000
            || cfg.withdraw_gas > 10_000_000
        {
            return Err(FeeError::Config("gas figures beyond any L1 block".into()));
        }
        if cfg.margin_percent > 1_000 {
            return Err(FeeError::Config("margin_percent above 1000".into()));
        }
        Ok(FeePolicy {
            priced: Some(Priced {
                cfg,
                capacity,
                expected_chunks,
                prices,
            }),
        })
    }

    /// Whether fees are charged at all.
    pub fn is_free(&self) -> bool {
        self.priced.is_none()
    }

    /// The minimum fee for `kind` paid in `token` on `home`, on a network of `chains`, with its
    /// parts; `None` when every transaction is free. `recipient_exists`: a transfer's
    /// recipient has an account already (see [`placement`]).
    pub fn estimate(
        &self,
        kind: &str,
        home: ChainId,
        token: TokenId,
        chains: &[ChainId],
        market: &Market,
        recipient_exists: bool,
    ) -> Result<Option<Estimate>, FeeError> {
        let Some(p) = &self.priced else {
            placement(kind, home, None, chains, recipient_exists)?;
            return Ok(None);
        };
        let gas_price = |c: ChainId| {
            market
                .gas_price
                .get(&c)
                .copied()
                .ok_or(FeeError::NoGasPrice(c))
        };
        let eth_price = |c: ChainId| {
            p.prices.price(c, TokenId(0)).ok_or(FeeError::NoPrice {
                chain: c,
                token: TokenId(0),
            })
        };
        // The other half's chain: the dearest other chain (gas × ETH price).
        let mut peer = None;
        let mut dearest = U256::ZERO;
        let has_peer = matches!(kind, "swap" | "create_pool");
        for c in chains.iter().filter(|c| has_peer && **c != home) {
            let v = U256::from(gas_price(*c)?) * U256::from(eth_price(*c)?);
            if peer.is_none() || v > dearest {
                (peer, dearest) = (Some(*c), v);
            }
        }
        let place = placement(kind, home, peer, chains, recipient_exists)?;
        let token_price = p
            .prices
            .price(home, token)
            .ok_or(FeeError::NoPrice { chain: home, token })?;
        let decimals = *market
            .decimals
            .get(&(home, token))
            .ok_or(FeeError::UnknownToken { chain: home, token })?;
        if decimals > 36 {
            return Err(FeeError::Overflow(token));
        }
        let c = &p.cfg;
        let total: u64 = place.values().sum();
        let share = p.share_gas(chains.len() as u64);
        // Σ gas · gas price · ETH price, in wei × billionths. Every chain pays its share of
        // every chunk, wherever the chunk is; a chunk's own commit cost is its chain's.
        let mut value = U256::ZERO;
        let mut parts = Vec::new();
        for (&chain, &chunks) in &place {
            let mut gas = total * share + chunks * c.chunk_gas;
            if kind == "withdraw" && chain == home {
                gas += c.withdraw_gas;
            }
            let (gp, ep) = (gas_price(chain)?, eth_price(chain)?);
            value += U256::from(gas) * U256::from(gp) * U256::from(ep);
            parts.push(FeePart {
                chain: chain.0,
                chunks,
                gas,
                gas_price: gp.to_string(),
                eth_price: ep.to_string(),
            });
        }
        // fee = value · 10^decimals · (100 + margin) / (10^18 · token price · 100), rounded up.
        let num =
            value * U256::from(10u8).pow(U256::from(decimals)) * U256::from(100 + c.margin_percent);
        let den = U256::from(10u64).pow(U256::from(18)) * U256::from(token_price) * U256::from(100);
        let fee = num.div_ceil(den);
        let fee: u128 = fee.try_into().map_err(|_| FeeError::Overflow(token))?;
        let min = Amount::new(fee)
            .ok()
            .and_then(Amount::round_up_fee)
            .ok_or(FeeError::Overflow(token))?;
        Ok(Some(Estimate {
            kind: kind.to_string(),
            recipient_exists: recipient_exists && kind == "transfer",
            chunks: total,
            min_fee: min.get().to_string(),
            parts,
            token_price: token_price.to_string(),
            token_decimals: decimals,
            block_gas: c.block_gas,
            proof_gas: c.proof_gas,
            capacity: p.capacity,
            share_gas: share,
            chunk_gas: c.chunk_gas,
            expected_chunks: p.expected_chunks,
            withdraw_gas: c.withdraw_gas,
            margin_percent: c.margin_percent,
        }))
    }

    /// The minimum fee alone (zero when free).
    pub fn minimum(
        &self,
        kind: &str,
        home: ChainId,
        token: TokenId,
        chains: &[ChainId],
        market: &Market,
        recipient_exists: bool,
    ) -> Result<Amount, FeeError> {
        Ok(
            match self.estimate(kind, home, token, chains, market, recipient_exists)? {
                None => Amount::ZERO,
                Some(e) => {
                    Amount::new(e.min_fee.parse().expect("written above")).expect("checked above")
                }
            },
        )
    }
}

/// A transaction's kind name, and the chain and token its fee is paid in. `pool_token` resolves
/// a pool's token on a chain (pool transactions pay in it); `None` for priority requests, which
/// pay no fee, and for pool transactions on an unknown pool (the rules refuse those anyway).
pub fn fee_of(
    tx: &Tx,
    pool_token: impl Fn(ChainId, PoolId) -> Option<TokenId>,
) -> Option<(&'static str, ChainId, TokenId, Amount)> {
    Some(match tx {
        Tx::Deposit(_) | Tx::FullExit(_) => return None,
        Tx::ChangePubKey { tx, .. } => ("change_pubkey", tx.chain, tx.fee_token, tx.fee),
        Tx::L2 { tx, .. } => {
            let (kind, token) = match tx {
                L2Tx::Transfer(t) => ("transfer", t.token),
                L2Tx::Withdraw(t) => ("withdraw", t.token),
                L2Tx::CreatePool(t) => ("create_pool", t.token),
                L2Tx::AddLiquidity(t) => ("add_liquidity", pool_token(t.chain, t.pool)?),
                L2Tx::RemoveLiquidity(t) => ("remove_liquidity", pool_token(t.chain, t.pool)?),
                L2Tx::Swap(t) => ("swap", pool_token(t.chain, t.pool)?),
            };
            (kind, tx.chain(), token, tx.fee())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];

    fn price(chain: u8, token: u16, price: &str) -> PriceRule {
        PriceRule {
            chain,
            token,
            price: price.into(),
        }
    }

    /// 510k gas per block and chain, 81k per proof, 4k per chunk; 48 chunks per chain expected,
    /// in proofs of 16 (`FeePolicy::new(.., 16, 3)`): 3 chains × 3 sub-blocks + the binding =
    /// 10 proofs, so a block costs each chain 510k + 810k = 1,320k gas, and each of its 144
    /// chunks (48 on each of 3 chains) costs every chain ⌈1,320k / 144⌉ = 9,167 gas.
    fn config(prices: Vec<PriceRule>) -> FeeConfig {
        FeeConfig {
            block_gas: 510_000,
            proof_gas: 81_000,
            chunk_gas: 4_000,
            expected_chunks: Some(48),
            withdraw_gas: 30_000,
            margin_percent: 0,
            prices,
        }
    }

    fn market(gwei: [u128; 3]) -> Market {
        Market {
            gas_price: CHAINS
                .iter()
                .zip(gwei)
                .map(|(c, g)| (*c, g * 1_000_000_000))
                .collect(),
            decimals: [
                ((ChainId(1), TokenId(0)), 18),
                ((ChainId(1), TokenId(1)), 6),
                ((ChainId(2), TokenId(0)), 18),
                ((ChainId(3), TokenId(0)), 18),
            ]
            .into_iter()
            .collect(),
        }
    }

    /// A withdrawal's estimate on chain 1, paid in its ETH, at `gwei` on the three chains.
    fn withdrawal(p: &FeePolicy, gwei: [u128; 3]) -> Estimate {
        p.estimate(
            "withdraw",
            ChainId(1),
            TokenId(0),
            &CHAINS,
            &market(gwei),
            false,
        )
        .unwrap()
        .unwrap()
    }

    fn eth_everywhere() -> Vec<PriceRule> {
        vec![
            price(1, 0, "3000"),
            price(2, 0, "3000"),
            price(3, 0, "3000"),
        ]
    }

    #[test]
    fn the_minimum_is_every_chains_share_of_the_chunks_at_its_gas_price() {
        let p = FeePolicy::new(Some(&config(eth_everywhere())), 16, 3).unwrap();
        // A withdrawal: 3 chunks on chain 1. Each chain pays 3 · 9,167 = 27,501 gas; chain 1
        // adds 3 · 4k for the chunks' commit and 30k for the withdrawal: 69,501. At 2, 1 and
        // 1 gwei: 139,002 + 27,501 + 27,501 = 194,004 gwei, rounded up to the fee-packable
        // 1,941 · 10^11 wei (the mantissa has 11 bits).
        let e = withdrawal(&p, [2, 1, 1]);
        assert_eq!(e.share_gas, 9_167);
        let gas: Vec<(u8, u64, u64)> = e.parts.iter().map(|x| (x.chain, x.chunks, x.gas)).collect();
        assert_eq!(gas, vec![(1, 3, 69_501), (2, 0, 27_501), (3, 0, 27_501)]);
        assert_eq!(e.min_fee, "194100000000000");
        // A transfer: 1 + 2 chunks at home, 2 on each other chain (a new recipient is
        // broadcast), 7 in all: each chain pays 7 · 9,167 = 64,169 gas plus 4k per chunk of its
        // own — 76,169 at home (2 gwei), 72,169 on chains 2 (1 gwei) and 3 (3 gwei):
        // 152,338 + 72,169 + 216,507 = 441,014 gwei → 442 · 10^12 wei (4,411 · 10^11 has a
        // mantissa above 2,047).
        let e = p
            .estimate(
                "transfer",
                ChainId(1),
                TokenId(0),
                &CHAINS,
                &market([2, 1, 3]),
                false,
            )
            .unwrap()
            .unwrap();
        assert_eq!(e.chunks, 7);
        assert_eq!(e.min_fee, "442000000000000");
        // Paid in a 6-decimal token worth 1: 441,014 gwei of ETH at 3000 = 1.323042 →
        // 1,323,042 units, rounded up to the fee-packable 1,324,000.
        let mut prices = eth_everywhere();
        prices.push(price(1, 1, "1"));
        let p = FeePolicy::new(Some(&config(prices)), 16, 3).unwrap();
        let m = p
            .minimum(
                "transfer",
                ChainId(1),
                TokenId(1),
                &CHAINS,
                &market([2, 1, 3]),
                false,
            )
            .unwrap();
        assert_eq!(m.get(), 1_324_000);
        assert!(m.is_fee_packable());
    }

    #[test]
    fn a_transfer_to_an_existing_account_pays_for_its_one_chunk() {
        let p = FeePolicy::new(Some(&config(eth_everywhere())), 16, 3).unwrap();
        let fee = |exists: bool| {
            p.estimate(
                "transfer",
                ChainId(1),
                TokenId(0),
                &CHAINS,
                &market([1, 1, 1]),
                exists,
            )
            .unwrap()
            .unwrap()
        };
        // 1 chunk: 9,167 gas on every chain, 4k more at home → 31,501 gwei, rounded up to the
        // fee-packable 316 · 10^11 wei.
        let known = fee(true);
        assert_eq!(known.chunks, 1);
        let gas: Vec<u64> = known.parts.iter().map(|x| x.gas).collect();
        assert_eq!(gas, vec![13_167, 9_167, 9_167]);
        assert_eq!(known.min_fee, "31600000000000");
        // A new recipient: 7 chunks (its creation broadcast to every chain): 220,507 gwei →
        // 221 · 10^12 wei.
        let new = fee(false);
        assert_eq!(new.chunks, 7);
        assert_eq!(new.min_fee, "221000000000000");
        // Only a transfer has a recipient: every other kind is priced the same either way.
        for kind in KINDS.iter().filter(|k| **k != "transfer") {
            let [a, b] = [true, false].map(|e| {
                p.estimate(kind, ChainId(1), TokenId(0), &CHAINS, &market([1, 1, 1]), e)
                    .unwrap()
                    .unwrap()
                    .min_fee
            });
            assert_eq!(a, b, "{kind}");
        }
    }

    #[test]
    fn a_chunks_share_follows_the_proofs_a_block_needs() {
        let share = |capacity: usize, sub_blocks: usize, expected: Option<u64>| {
            let mut c = config(eth_everywhere());
            c.expected_chunks = expected;
            let p = FeePolicy::new(Some(&c), capacity, sub_blocks).unwrap();
            let e = withdrawal(&p, [1, 1, 1]);
            (e.expected_chunks, e.share_gas)
        };
        // By default a block is expected full: 8 sub-blocks of 16 chunks per chain, 25 proofs,
        // (510k + 25 · 81k) / 384 chunks = 6,601.6 gas each.
        assert_eq!(share(16, 8, None), (128, 6_602));
        // Bigger proofs, fewer of them: 8 of 32 chunks, (510k + 25 · 81k) / 768.
        assert_eq!(share(32, 8, None), (256, 3_301));
        // A block expected a third full still needs a proof per chain, however empty:
        // 16 chunks per chain in proofs of 16 → 4 proofs, (510k + 324k) / 48.
        assert_eq!(share(16, 8, Some(16)), (16, 17_375));
        // 17 chunks need two sub-blocks on each chain: 7 proofs, (510k + 567k) / 51.
        assert_eq!(share(16, 8, Some(17)), (17, 21_118));
    }

    #[test]
    fn a_swap_charges_its_other_half_at_the_dearest_other_chain() {
        let p = FeePolicy::new(Some(&config(eth_everywhere())), 16, 3).unwrap();
        let e = p
            .estimate(
                "swap",
                ChainId(1),
                TokenId(0),
                &CHAINS,
                &market([1, 1, 5]),
                false,
            )
            .unwrap()
            .unwrap();
        let chunks: BTreeMap<u8, u64> = e.parts.iter().map(|x| (x.chain, x.chunks)).collect();
        assert_eq!(chunks, [(1, 3), (2, 2), (3, 4)].into_iter().collect());
    }

    #[test]
    fn margin_and_rounding_only_raise_the_minimum() {
        let mut c = config(eth_everywhere());
        c.margin_percent = 10;
        let p = FeePolicy::new(Some(&c), 16, 3).unwrap();
        let m = p
            .minimum(
                "withdraw",
                ChainId(1),
                TokenId(0),
                &CHAINS,
                &market([2, 1, 1]),
                false,
            )
            .unwrap();
        assert!(m.get() >= 194_004_000_000_000 * 11 / 10, "{m:?}");
        assert!(m.is_fee_packable());
    }

    #[test]
    fn what_cannot_be_priced_is_refused_and_free_is_free() {
        let p = FeePolicy::new(Some(&config(vec![price(1, 0, "3000")])), 16, 3).unwrap();
        // No ETH price for chain 2, which a key change touches.
        assert!(matches!(
            p.minimum(
                "change_pubkey",
                ChainId(1),
                TokenId(0),
                &CHAINS,
                &market([1, 1, 1]),
                false
            ),
            Err(FeeError::NoPrice {
                chain: ChainId(2),
                ..
            })
        ));
        // Token 1 has no price (checked before any chain's part).
        assert!(matches!(
            p.minimum(
                "withdraw",
                ChainId(1),
                TokenId(1),
                &CHAINS,
                &market([1, 1, 1]),
                false
            ),
            Err(FeeError::NoPrice { .. })
        ));
        // No gas price read yet.
        let mut m = market([1, 1, 1]);
        m.gas_price.remove(&ChainId(1));
        let e = p
            .minimum("withdraw", ChainId(1), TokenId(0), &CHAINS, &m, false)
            .unwrap_err();
        assert!(matches!(e, FeeError::NoGasPrice(ChainId(1))) && e.unavailable());
        assert!(matches!(
            p.minimum(
                "mint",
                ChainId(1),
                TokenId(0),
                &CHAINS,
                &market([1, 1, 1]),
                false
            ),
            Err(FeeError::Kind(_))
        ));
        let free = FeePolicy::free();
        assert_eq!(
            free.minimum(
                "transfer",
                ChainId(1),
                TokenId(9),
                &CHAINS,
                &Market::default(),
                false
            )
            .unwrap(),
            Amount::ZERO
        );
        assert!(
            free.minimum(
                "mint",
                ChainId(1),
                TokenId(0),
                &CHAINS,
                &Market::default(),
                false
            )
            .is_err()
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        for bad in ["0", "-1", "1.0000000001", "abc", "1.", ".5", "1e3", ""] {
            assert!(
                FixedPrices::new(&[price(1, 0, bad)]).is_err(),
                "price {bad:?}"
            );
        }
        assert_eq!(parse_price("0.9995").unwrap(), 999_500_000);
        assert!(FixedPrices::new(&[price(0, 0, "1")]).is_err());
        assert!(FixedPrices::new(&[price(1, 0, "1"), price(1, 0, "2")]).is_err());
        let mut c = config(vec![]);
        c.expected_chunks = Some(0);
        assert!(FeePolicy::new(Some(&c), 16, 3).is_err());
        c.expected_chunks = Some(1_000_001);
        assert!(FeePolicy::new(Some(&c), 16, 3).is_err());
        let mut c = config(vec![]);
        c.margin_percent = 5_000;
        assert!(FeePolicy::new(Some(&c), 16, 3).is_err());
        let mut c = config(vec![]);
        c.proof_gas = 10_000_001;
        assert!(FeePolicy::new(Some(&c), 16, 3).is_err());
        let c = config(vec![]);
        assert!(FeePolicy::new(Some(&c), 0, 3).is_err());
        assert!(FeePolicy::new(Some(&c), 16, 0).is_err());
        assert!(FeePolicy::new(Some(&c), 16, 3).is_ok());
    }
}
