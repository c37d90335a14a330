//! The auditor's approval of a block: an ECDSA signature (the auditor's own key) that every
//! chain's contract checks in `commitBlocks`, so committing needs two independent keys — the
//! operator's, which sends, and the auditor's, which approves.
//!
//! `digest = keccak256("rollup auditor approval v2" ‖ network_id ‖ u32 number ‖ sync_hash)`,
//! signed as a raw hash (no personal_sign prefix), the same bytes as the contract's
//! `approvalDigest`. The block's `sync_hash` chains its commitment (number, timestamp, old and new
//! final roots, every chain's pubdata hash) to every chain's onchain-ops hash and to the previous
//! block's sync hash, so it fixes exactly what each chain stores for the block: an approval of
//! other data, of another block, of another network or from another key does not verify, on chain
//! or here. (The owners' ChangePubKey authorisations are not covered: each contract checks those
//! itself against the pubdata the approval does cover.)

use alloy::primitives::{Address, B256, Signature, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;

const DOMAIN: &[u8] = b"rollup auditor approval v2";

/// Why an approval does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ApprovalError {
    /// Not a 65-byte signature.
    #[error("malformed approval signature: {0}")]
    Malformed(String),
    /// Signed by another key, or over other data.
    #[error("approval signed by {got}, expected the auditor {expected}")]
    WrongSigner {
        /// The configured auditor.
        expected: Address,
        /// Who signed what was given.
        got: Address,
    },
}

/// The digest the auditor signs for block `number` whose sync hash is `sync_hash`.
pub fn digest(network_id: B256, number: u32, sync_hash: B256) -> B256 {
    let mut buf = Vec::with_capacity(DOMAIN.len() + 32 + 4 + 32);
    buf.extend_from_slice(DOMAIN);
    buf.extend_from_slice(network_id.as_slice());
    buf.extend_from_slice(&number.to_be_bytes());
    buf.extend_from_slice(sync_hash.as_slice());
    keccak256(&buf)
}

/// Signs the approval (65 bytes `r ‖ s ‖ v`, `v` ∈ {27, 28} as the contract requires).
pub fn sign(
    auditor: &PrivateKeySigner,
    network_id: B256,
    number: u32,
    sync_hash: B256,
) -> Result<Vec<u8>, alloy::signers::Error> {
    let sig = auditor.sign_hash_sync(&digest(network_id, number, sync_hash))?;
    Ok(sig.as_bytes().to_vec())
}

/// Checks that `signature` is `auditor`'s approval of block `number` with `sync_hash`.
pub fn verify(
    auditor: Address,
    network_id: B256,
    number: u32,
    sync_hash: B256,
    signature: &[u8],
) -> Result<(), ApprovalError> {
    let sig =
        Signature::try_from(signature).map_err(|e| ApprovalError::Malformed(e.to_string()))?;
    let got = sig
        .recover_address_from_prehash(&digest(network_id, number, sync_hash))
        .map_err(|e| ApprovalError::Malformed(e.to_string()))?;
    if got != auditor {
        return Err(ApprovalError::WrongSigner {
            expected: auditor,
            got,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_covers_exactly_its_block_network_and_key() {
        let auditor = PrivateKeySigner::random();
        let net = B256::repeat_byte(9);
        let h = B256::repeat_byte(4);
        let sig = sign(&auditor, net, 5, h).unwrap();
        assert_eq!(verify(auditor.address(), net, 5, h, &sig), Ok(()));
        assert!(matches!(sig[64], 27 | 28), "v is 27 or 28");
        // Another sync hash (other data on some chain), another block, another network, another
        // key: refused.
        assert!(matches!(
            verify(auditor.address(), net, 5, B256::repeat_byte(5), &sig),
            Err(ApprovalError::WrongSigner { .. })
        ));
        assert!(verify(auditor.address(), net, 6, h, &sig).is_err());
        assert!(verify(auditor.address(), B256::ZERO, 5, h, &sig).is_err());
        let other = PrivateKeySigner::random();
        let forged = sign(&other, net, 5, h).unwrap();
        assert!(verify(auditor.address(), net, 5, h, &forged).is_err());
        assert!(matches!(
            verify(auditor.address(), net, 5, h, &sig[..64]),
            Err(ApprovalError::Malformed(_))
        ));
    }
}
