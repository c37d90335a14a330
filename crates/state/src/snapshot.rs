//! A snapshot of the whole L2 state between blocks: every chain's accounts (address, key hash,
//! nonce, balances), pool halves and next priority serial. State recovery writes one from the
//! state it rebuilt from L1, and a node restores from it instead of replaying blocks whose signed
//! transactions L1 does not carry. Restoring recomputes every tree, and the caller checks the
//! resulting `final_root` against the one the chains executed, so a snapshot cannot smuggle in a
//! state the chains do not hold.
//!
//! Encoding (big-endian): `version 1 ‖ chains u8 ‖ per chain: id u8 ‖ next_serial u64 ‖
//! accounts u32 ‖ per account: address 20 ‖ key hash 20 ‖ nonce u32 ‖ balances u16 ‖
//! (token u16 ‖ amount u128)* ‖ pools u16 ‖ per pool: id u16 ‖ token u16 ‖ peer_chain u8 ‖
//! peer_token u16 ‖ fee_bps u16 ‖ reserve u128 ‖ lp_supply u128`.

use crate::account::Account;
use crate::chain::ChainState;
use crate::network::{NetworkConfig, NetworkState};
use crate::pool::PoolHalf;
use rollup_crypto::{Address, PubKeyHash};
use rollup_types::{AccountId, Amount, ChainId, MAX_ACCOUNTS, MAX_POOLS, Nonce, PoolId, TokenId};

const VERSION: u8 = 1;

/// Why a snapshot cannot be restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotError {
    /// Truncated, trailing bytes, unknown version.
    #[error("malformed snapshot: {0}")]
    Malformed(&'static str),
    /// A value out of its range.
    #[error("snapshot field out of range: {0}")]
    Range(&'static str),
    /// Not the configured network's chains, or chains that disagree on the accounts.
    #[error("snapshot does not fit the network: {0}")]
    Network(String),
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        if self.0.len() < N {
            return Err(SnapshotError::Malformed("truncated"));
        }
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        Ok(head.try_into().expect("length checked"))
    }
    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, SnapshotError> {
        Ok(u16::from_be_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_be_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_be_bytes(self.take()?))
    }
    fn amount(&mut self) -> Result<Amount, SnapshotError> {
        Amount::new(u128::from_be_bytes(self.take()?)).map_err(|_| SnapshotError::Range("amount"))
    }
    fn chain(&mut self) -> Result<ChainId, SnapshotError> {
        ChainId::new(self.u8()?).map_err(|_| SnapshotError::Range("chain id"))
    }
}

impl NetworkState {
    /// The snapshot of this state (between blocks: no block in progress).
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = vec![VERSION, self.chain_ids().len() as u8];
        for id in self.chain_ids() {
            let c = self.chain(id).expect("listed chain");
            out.push(id.0);
            out.extend_from_slice(&c.next_priority_serial().to_be_bytes());
            out.extend_from_slice(&c.account_count().to_be_bytes());
            for i in 0..c.account_count() {
                let a = c.account(AccountId(i)).expect("counted account");
                out.extend_from_slice(&a.address.0);
                out.extend_from_slice(&a.pubkey_hash.0);
                out.extend_from_slice(&a.nonce.0.to_be_bytes());
                let mut balances: Vec<(TokenId, Amount)> = a.balances().collect();
                balances.sort_by_key(|(t, _)| t.0);
                out.extend_from_slice(&(balances.len() as u16).to_be_bytes());
                for (t, v) in balances {
                    out.extend_from_slice(&t.0.to_be_bytes());
                    out.extend_from_slice(&v.get().to_be_bytes());
                }
            }
            let mut pools: Vec<(PoolId, &PoolHalf)> = c.pools().collect();
            pools.sort_by_key(|(p, _)| p.0);
            out.extend_from_slice(&(pools.len() as u16).to_be_bytes());
            for (p, h) in pools {
                out.extend_from_slice(&p.0.to_be_bytes());
                out.extend_from_slice(&h.token.0.to_be_bytes());
                out.push(h.peer_chain.0);
                out.extend_from_slice(&h.peer_token.0.to_be_bytes());
                out.extend_from_slice(&h.fee_bps.to_be_bytes());
                out.extend_from_slice(&h.reserve.get().to_be_bytes());
                out.extend_from_slice(&h.lp_supply.get().to_be_bytes());
            }
        }
        out
    }

    /// Rebuilds a state from a snapshot of the network `config` describes, recomputing every
    /// tree (the caller compares [`NetworkState::final_root`] with the expected root).
    pub fn from_snapshot(config: &NetworkConfig, bytes: &[u8]) -> Result<Self, SnapshotError> {
        let mut r = Reader(bytes);
        if r.u8()? != VERSION {
            return Err(SnapshotError::Malformed("unknown version"));
        }
        let mut state =
            NetworkState::genesis(config).map_err(|e| SnapshotError::Network(e.to_string()))?;
        let expected = state.chain_ids();
        let count = r.u8()? as usize;
        if count != expected.len() {
            return Err(SnapshotError::Network(format!(
                "{count} chains, the network has {}",
                expected.len()
            )));
        }
        let mut addresses: Option<Vec<Address>> = None;
        for want in expected {
            let id = r.chain()?;
            if id != want {
                return Err(SnapshotError::Network(format!(
                    "chain {id} where chain {want} was expected"
                )));
            }
            let mut chain = ChainState::new(id);
            chain.set_next_priority_serial(r.u64()?);
            let accounts = r.u32()?;
            if accounts == 0 || accounts > MAX_ACCOUNTS {
                return Err(SnapshotError::Range("account count"));
            }
            let mut these = Vec::with_capacity(accounts as usize);
            for i in 0..accounts {
                let address = Address(r.take()?);
                if address.is_zero() {
                    return Err(SnapshotError::Range("zero address"));
                }
                let mut a = Account::new(address);
                a.pubkey_hash = PubKeyHash(r.take()?);
                a.nonce = Nonce(r.u32()?);
                for _ in 0..r.u16()? {
                    let token = TokenId(r.u16()?);
                    let amount = r.amount()?;
                    if amount.is_zero() {
                        return Err(SnapshotError::Malformed("zero balance listed"));
                    }
                    a.set_balance(token, amount);
                }
                these.push(a.address);
                chain.restore_account(AccountId(i), a);
            }
            match &addresses {
                None => addresses = Some(these),
                Some(first) if *first != these => {
                    return Err(SnapshotError::Network(format!(
                        "chain {id}'s accounts differ from the first chain's"
                    )));
                }
                Some(_) => {}
            }
            for _ in 0..r.u16()? {
                let pool = r.u16()?;
                if pool >= MAX_POOLS {
                    return Err(SnapshotError::Range("pool id"));
                }
                let half = PoolHalf {
                    token: TokenId(r.u16()?),
                    peer_chain: r.chain()?,
                    peer_token: TokenId(r.u16()?),
                    fee_bps: r.u16()?,
                    reserve: r.amount()?,
                    lp_supply: r.amount()?,
                };
                chain.restore_pool(PoolId(pool), half);
            }
            state.replace_chain(chain);
        }
        if !r.0.is_empty() {
            return Err(SnapshotError::Malformed("trailing bytes"));
        }
        let addresses = addresses.expect("at least one chain");
        if addresses[0] != config.fee_account {
            return Err(SnapshotError::Network(
                "account 0 is not the fee account".into(),
            ));
        }
        state.reindex(&addresses)?;
        Ok(state)
    }
}
