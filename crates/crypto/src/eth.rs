//! The L1-facing cryptography: keccak, Ethereum addresses and secp256k1 ECDSA signatures in the
//! `personal_sign` (EIP-191) form that wallets produce and `ecrecover` checks.

use crate::CryptoError;
use k256::ecdsa::{RecoveryId, Signature as K256Signature, SigningKey, VerifyingKey};
use sha3::{Digest, Keccak256};
use std::fmt;

/// keccak256 of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// keccak256 of several byte strings concatenated, without an intermediate buffer.
pub fn keccak256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The EIP-191 `personal_sign` digest of `message`.
pub fn personal_message_hash(message: &[u8]) -> [u8; 32] {
    let prefix = format!("\x19Ethereum Signed Message:\n{}", message.len());
    keccak256_concat(&[prefix.as_bytes(), message])
}

/// A 20-byte Ethereum address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The zero address (never a valid account owner).
    pub const ZERO: Address = Address([0; 20]);

    /// Whether this is the zero address.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 20]
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A 65-byte recoverable ECDSA signature `r ‖ s ‖ v` with `v ∈ {27, 28}`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EthSignature(pub [u8; 65]);

impl fmt::Debug for EthSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EthSignature(0x{:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

impl EthSignature {
    /// Recovers the signer of a 32-byte digest. Rejects high-s signatures (as EIP-2 does) and
    /// `v` outside {27, 28}.
    pub fn recover(&self, digest: &[u8; 32]) -> Result<Address, CryptoError> {
        let v = self.0[64];
        let recid = match v {
            27 | 28 => v - 27,
            _ => return Err(CryptoError::BadEcdsa("v must be 27 or 28")),
        };
        let sig = K256Signature::from_slice(&self.0[..64])
            .map_err(|_| CryptoError::BadEcdsa("r or s out of range"))?;
        if sig.normalize_s().is_some() {
            return Err(CryptoError::BadEcdsa("high s"));
        }
        let recid = RecoveryId::from_byte(recid).ok_or(CryptoError::BadEcdsa("recovery id"))?;
        let key = VerifyingKey::recover_from_prehash(digest, &sig, recid)
            .map_err(|_| CryptoError::BadEcdsa("cannot recover public key"))?;
        Ok(address_of(&key))
    }
}

fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&hash[12..]);
    Address(a)
}

/// A secp256k1 private key: a user's L1 wallet, or an operator key.
///
/// Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct EthSigner {
    key: SigningKey,
}

impl fmt::Debug for EthSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EthSigner({})", self.address())
    }
}

impl EthSigner {
    /// A signer from a 32-byte private key.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, CryptoError> {
        let key = SigningKey::from_bytes(secret.into()).map_err(|_| CryptoError::BadEthKey)?;
        Ok(Self { key })
    }

    /// The signer's Ethereum address.
    pub fn address(&self) -> Address {
        address_of(self.key.verifying_key())
    }

    /// Signs a 32-byte digest (deterministic, RFC 6979, low-s).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> EthSignature {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(digest)
            .expect("a 32-byte prehash is always signable");
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + recid.to_byte();
        EthSignature(out)
    }

    /// `personal_sign(message)`, as a wallet would.
    pub fn personal_sign(&self, message: &[u8]) -> EthSignature {
        self.sign_digest(&personal_message_hash(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_address_and_recovery() {
        // Anvil's first development account.
        let sk: [u8; 32] =
            hex32("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
        let signer = EthSigner::from_bytes(&sk).unwrap();
        assert_eq!(
            format!("{}", signer.address()),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        let sig = signer.personal_sign(b"hello");
        assert_eq!(
            sig.recover(&personal_message_hash(b"hello")).unwrap(),
            signer.address()
        );
        assert_ne!(
            sig.recover(&personal_message_hash(b"hellO")).unwrap(),
            signer.address()
        );
    }

    #[test]
    fn rejects_bad_v_and_high_s() {
        let signer = EthSigner::from_bytes(&[7u8; 32]).unwrap();
        let digest = keccak256(b"x");
        let mut sig = signer.sign_digest(&digest);
        sig.0[64] = 29;
        assert!(sig.recover(&digest).is_err());
        // Flip s to n - s (the high-s twin of a valid signature).
        let good = signer.sign_digest(&digest);
        let s = K256Signature::from_slice(&good.0[..64]).unwrap();
        let (r, s) = s.split_scalars();
        let high = K256Signature::from_scalars(r, -*s).unwrap();
        let mut bad = good;
        bad.0[..64].copy_from_slice(&high.to_bytes());
        bad.0[64] = if good.0[64] == 27 { 28 } else { 27 };
        assert_eq!(bad.recover(&digest), Err(CryptoError::BadEcdsa("high s")));
    }

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in 0..32 {
            out[i] = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }
}
