//! The deployment domain: what every user signature is bound to, so that a transaction signed for
//! one deployment of the rollup cannot be replayed on another.
//!
//! A rollup chain id (1..=8) is the same in every deployment, so it alone does not tell two
//! networks apart. The domain hashes everything that does: the network id and, for every connected
//! chain, its rollup chain id, its EVM chain id and its rollup contract's address:
//!
//! `domain = keccak256("rollup domain v1" ‖ network_id ‖ (u8 chain ‖ u64 evm_chain_id ‖
//! address20)*) mod 2^253`, chains ascending.
//!
//! Each contract computes it in its constructor from the configured chains after checking that its
//! own entry is `(block.chainid, address(this))`, so no deployment can claim another's domain for
//! the chain it runs on. Every chain proof takes the domain as part of its public input and every
//! EdDSA message hash starts with it; the ChangePubKey `personal_sign` message ends with it.

use crate::ids::ChainId;
use ark_bn254::Fr;
use ark_ff::PrimeField;
use rollup_crypto::Address;
use rollup_crypto::eth::keccak256;

/// One connected chain as the domain sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The rollup chain id.
    pub chain: ChainId,
    /// The EVM chain id of the L1 the chain settles on.
    pub evm_chain_id: u64,
    /// The rollup contract on that L1.
    pub rollup: Address,
}

/// The deployment domain (a field element below 2^253).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Domain(pub [u8; 32]);

/// Domain errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// No chain, or chains not strictly ascending.
    #[error("peers must be non-empty with strictly ascending chain ids")]
    Peers,
    /// The value is 2^253 or more (not a domain any contract computes).
    #[error("domain is not below 2^253")]
    Range,
    /// Not `0x` and 64 hex digits.
    #[error("domain must be 0x and 64 hex digits")]
    Format,
}

impl Domain {
    /// The domain of the deployment with `network_id` and `peers` (every connected chain).
    pub fn derive(network_id: &[u8; 32], peers: &[Peer]) -> Result<Domain, DomainError> {
        if peers.is_empty() || peers.windows(2).any(|w| w[0].chain >= w[1].chain) {
            return Err(DomainError::Peers);
        }
        let mut buf = Vec::with_capacity(16 + 32 + peers.len() * 29);
        buf.extend_from_slice(b"rollup domain v1");
        buf.extend_from_slice(network_id);
        for p in peers {
            buf.push(p.chain.0);
            buf.extend_from_slice(&p.evm_chain_id.to_be_bytes());
            buf.extend_from_slice(&p.rollup.0);
        }
        let mut d = keccak256(&buf);
        d[0] &= 0x1f;
        Ok(Domain(d))
    }

    /// A domain read back (from a contract or the API): must be below 2^253.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Domain, DomainError> {
        if bytes[0] & 0xe0 != 0 {
            return Err(DomainError::Range);
        }
        Ok(Domain(bytes))
    }

    /// The domain as the field element the circuits and the EdDSA message hash use.
    pub fn to_field(&self) -> Fr {
        Fr::from_be_bytes_mod_order(&self.0)
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl std::str::FromStr for Domain {
    type Err = DomainError;

    /// `0x` and 64 hex digits, below 2^253.
    fn from_str(s: &str) -> Result<Domain, DomainError> {
        let digits = s.strip_prefix("0x").ok_or(DomainError::Format)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| DomainError::Format)?;
        Domain::from_bytes(bytes)
    }
}

impl serde::Serialize for Domain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Domain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Domain, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers() -> Vec<Peer> {
        (1..=3u8)
            .map(|c| Peer {
                chain: ChainId(c),
                evm_chain_id: 1000 + c as u64,
                rollup: Address([c; 20]),
            })
            .collect()
    }

    #[test]
    fn every_component_changes_the_domain() {
        let id = [7u8; 32];
        let d = Domain::derive(&id, &peers()).unwrap();
        assert_eq!(d.0[0] & 0xe0, 0, "below 2^253");
        assert_ne!(Domain::derive(&[8u8; 32], &peers()).unwrap(), d);
        let mut p = peers();
        p[1].evm_chain_id += 1;
        assert_ne!(Domain::derive(&id, &p).unwrap(), d);
        let mut p = peers();
        p[2].rollup.0[19] ^= 1;
        assert_ne!(Domain::derive(&id, &p).unwrap(), d);
        assert_ne!(Domain::derive(&id, &peers()[..2]).unwrap(), d);
    }

    #[test]
    fn refuses_unordered_peers_and_wide_values() {
        let mut p = peers();
        p.swap(0, 1);
        assert_eq!(Domain::derive(&[0; 32], &p), Err(DomainError::Peers));
        assert_eq!(Domain::derive(&[0; 32], &[]), Err(DomainError::Peers));
        let mut wide = [0u8; 32];
        wide[0] = 0x20;
        assert_eq!(Domain::from_bytes(wide), Err(DomainError::Range));
        wide[0] = 0x1f;
        assert!(Domain::from_bytes(wide).is_ok());
        let d = Domain::derive(&[1; 32], &peers()).unwrap();
        assert_eq!(d.to_string().parse::<Domain>(), Ok(d));
        assert_eq!("0x12".parse::<Domain>(), Err(DomainError::Format));
    }
}
