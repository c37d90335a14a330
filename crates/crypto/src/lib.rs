//! Cryptographic primitives shared by every part of the rollup.
//!
//! * [`poseidon`]: Poseidon over the BN254 scalar field with circom-compatible parameters (the same
//!   constants as `light-poseidon`; the circuits use them too). Every Merkle node, leaf and L2
//!   signature challenge is a Poseidon hash.
//! * [`eddsa`]: EdDSA over Baby Jubjub (`ark-ed-on-bn254`) with a Poseidon challenge — the L2
//!   signature scheme, cheap to verify in-circuit.
//! * [`eth`]: the L1-facing side — keccak, Ethereum addresses, secp256k1 ECDSA (personal_sign), and
//!   the deterministic derivation of an L2 key from an L1 signature.
//! * [`field`]: conversions between field elements and the byte/integer forms used on the wire.

pub mod eddsa;
pub mod eth;
pub mod field;
pub mod poseidon;

pub use ark_bn254::Fr;
pub use eddsa::{PrivateKey, PubKeyHash, PublicKey, Signature};
pub use eth::{Address, EthSignature, EthSigner, keccak256};

/// Errors from parsing or checking cryptographic objects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A byte string is not a canonical encoding of a field element.
    #[error("bytes are not a canonical field element")]
    NonCanonicalField,
    /// A compressed point is not on the curve or not in the prime-order subgroup.
    #[error("invalid curve point: {0}")]
    InvalidPoint(&'static str),
    /// A signature scalar is not canonical (s ≥ subgroup order).
    #[error("signature scalar is not canonical")]
    NonCanonicalScalar,
    /// An EdDSA signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// An ECDSA signature is malformed or cannot be recovered.
    #[error("invalid ECDSA signature: {0}")]
    BadEcdsa(&'static str),
    /// A secp256k1 private key is out of range.
    #[error("invalid secp256k1 private key")]
    BadEthKey,
}
