//! The operator's fee policy: a minimum fee per pubdata chunk for each (chain, token) the operator
//! accepts fees in. A transaction's minimum is its kind's chunk count (the worst case, e.g. a
//! transfer that creates the recipient's account) times that rate, rounded up to a fee-packable
//! amount. Tokens without a rule carry no minimum — list every token you want to charge in.
//!
//! Fees are what the L2 protocol collects for the operator (settled to the fee account in every
//! block); the policy only decides which transactions the API admits.

use rollup_types::tx::{L2Tx, Tx};
use rollup_types::{Amount, ChainId, PoolId, TokenId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One configured rate (`[[fees]]` in the node's TOML).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FeeRule {
    /// Rollup chain id.
    pub chain: u8,
    /// Token id on that chain.
    pub token: u16,
    /// Minimum fee per chunk in the token's base units (decimal string: amounts exceed 2^64).
    pub per_chunk: String,
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
    /// A rule that does not parse or repeats a (chain, token).
    #[error("fee rule for chain {chain} token {token}: {reason}")]
    Rule {
        /// Chain.
        chain: u8,
        /// Token.
        token: u16,
        /// What is wrong.
        reason: String,
    },
    /// A kind name the API does not know.
    #[error("unknown transaction kind {0:?} (one of {KINDS:?})")]
    Kind(String),
    /// The minimum is beyond the largest representable fee.
    #[error("minimum fee not representable")]
    Overflow,
}

/// Minimum fee per chunk by (chain, token).
#[derive(Clone, Debug, Default)]
pub struct FeePolicy {
    per_chunk: BTreeMap<(ChainId, TokenId), u128>,
}

impl FeePolicy {
    /// Builds the policy from configured rules; refuses malformed or repeated ones.
    pub fn new(rules: &[FeeRule]) -> Result<Self, FeeError> {
        let mut per_chunk = BTreeMap::new();
        for r in rules {
            let bad = |reason: String| FeeError::Rule {
                chain: r.chain,
                token: r.token,
                reason,
            };
            let chain = ChainId::new(r.chain).map_err(|e| bad(e.to_string()))?;
            let v: u128 = r
                .per_chunk
                .trim()
                .parse()
                .map_err(|e| bad(format!("per_chunk: {e}")))?;
            Amount::new(v).map_err(|e| bad(format!("per_chunk: {e}")))?;
            if per_chunk.insert((chain, TokenId(r.token)), v).is_some() {
                return Err(bad("repeated".into()));
            }
        }
        Ok(FeePolicy { per_chunk })
    }

    /// Chunks a transaction of `kind` may occupy over all chains, in the worst case, on a
    /// network of `chains` chains.
    pub fn chunks(kind: &str, chains: usize) -> Result<usize, FeeError> {
        Ok(match kind {
            // The key-change op here, a set-key op on every other chain.
            "change_pubkey" => 4 + 2 * chains.saturating_sub(1),
            // Possibly creating the recipient's account.
            "transfer" => 1 + 2,
            "withdraw" => 3,
            "add_liquidity" | "remove_liquidity" => 2,
            // Swap-in here, swap-out (possibly creating the account) on the peer chain.
            "swap" => 1 + 2 + 2,
            "create_pool" => 2,
            other => return Err(FeeError::Kind(other.to_string())),
        })
    }

    /// The minimum fee for `kind` paid in `token` on `chain`.
    pub fn minimum(
        &self,
        kind: &str,
        chain: ChainId,
        token: TokenId,
        chains: usize,
    ) -> Result<Amount, FeeError> {
        let chunks = Self::chunks(kind, chains)?;
        let rate = self.per_chunk.get(&(chain, token)).copied().unwrap_or(0);
        let v = rate
            .checked_mul(chunks as u128)
            .and_then(|v| Amount::new(v).ok())
            .ok_or(FeeError::Overflow)?;
        v.round_up_fee().ok_or(FeeError::Overflow)
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

    fn rule(chain: u8, token: u16, per_chunk: &str) -> FeeRule {
        FeeRule {
            chain,
            token,
            per_chunk: per_chunk.into(),
        }
    }

    #[test]
    fn minimum_is_rate_times_chunks_rounded_up_to_packable() {
        let p = FeePolicy::new(&[rule(1, 0, "1000001")]).unwrap();
        // Transfer: 3 chunks → 3,000,003, rounded up to a fee-packable 3,010,000.
        let m = p.minimum("transfer", ChainId(1), TokenId(0), 3).unwrap();
        assert_eq!(m.get(), 3_010_000);
        assert!(m.is_fee_packable());
        // Other tokens and chains are free.
        assert_eq!(
            p.minimum("transfer", ChainId(2), TokenId(0), 3).unwrap(),
            Amount::ZERO
        );
        // A key change on 3 chains: 4 + 2·2 chunks.
        assert_eq!(FeePolicy::chunks("change_pubkey", 3).unwrap(), 8);
    }

    #[test]
    fn bad_rules_and_kinds_are_refused() {
        assert!(FeePolicy::new(&[rule(0, 0, "1")]).is_err());
        assert!(FeePolicy::new(&[rule(1, 0, "-1")]).is_err());
        assert!(FeePolicy::new(&[rule(1, 0, "1"), rule(1, 0, "2")]).is_err());
        assert!(FeePolicy::new(&[rule(1, 0, &u128::MAX.to_string())]).is_err());
        assert!(matches!(
            FeePolicy::chunks("mint", 3),
            Err(FeeError::Kind(_))
        ));
    }
}
