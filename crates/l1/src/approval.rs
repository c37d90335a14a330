//! The auditor's approval of a block: an ECDSA signature (the auditor's own key) over exactly the
//! `commitBlocks` inputs every chain is about to receive. A sender that holds the block can
//! rebuild those inputs, so it checks the approval against what it will send — an approval of
//! other data, of another block or from another key does not verify.
//!
//! `digest = keccak256("rollup auditor approval v1" ‖ network_id ‖ u32 number ‖
//! keccak256(abi.encode(CommitBlockInfo[] inputs, ascending chain id)))`, signed as a raw hash.

use crate::bindings::Rollup::CommitBlockInfo;
use alloy::primitives::{Address, B256, Signature, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;

const DOMAIN: &[u8] = b"rollup auditor approval v1";

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

/// The digest the auditor signs for block `number` with the chains' inputs.
pub fn digest(network_id: B256, number: u32, inputs: &[CommitBlockInfo]) -> B256 {
    let body = keccak256(inputs.to_vec().abi_encode());
    let mut buf = Vec::with_capacity(DOMAIN.len() + 32 + 4 + 32);
    buf.extend_from_slice(DOMAIN);
    buf.extend_from_slice(network_id.as_slice());
    buf.extend_from_slice(&number.to_be_bytes());
    buf.extend_from_slice(body.as_slice());
    keccak256(&buf)
}

/// Signs the approval (65 bytes `r ‖ s ‖ v`).
pub fn sign(
    auditor: &PrivateKeySigner,
    network_id: B256,
    number: u32,
    inputs: &[CommitBlockInfo],
) -> Result<Vec<u8>, alloy::signers::Error> {
    let sig = auditor.sign_hash_sync(&digest(network_id, number, inputs))?;
    Ok(sig.as_bytes().to_vec())
}

/// Checks that `signature` is `auditor`'s approval of exactly these inputs for block `number`.
pub fn verify(
    auditor: Address,
    network_id: B256,
    number: u32,
    inputs: &[CommitBlockInfo],
    signature: &[u8],
) -> Result<(), ApprovalError> {
    let sig =
        Signature::try_from(signature).map_err(|e| ApprovalError::Malformed(e.to_string()))?;
    let got = sig
        .recover_address_from_prehash(&digest(network_id, number, inputs))
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
    use alloy::primitives::Bytes;

    fn input(n: u32, pubdata: &[u8]) -> CommitBlockInfo {
        CommitBlockInfo {
            blockNumber: n,
            timestamp: 7,
            newFinalRoot: B256::repeat_byte(1),
            pubdata: Bytes::copy_from_slice(pubdata),
            pubdataHashes: vec![B256::repeat_byte(2)],
            onchainOpsHashes: vec![B256::repeat_byte(3)],
            changePubKeyAuth: vec![],
        }
    }

    #[test]
    fn an_approval_covers_exactly_its_inputs_block_network_and_key() {
        let auditor = PrivateKeySigner::random();
        let net = B256::repeat_byte(9);
        let inputs = vec![input(5, &[1; 16]), input(5, &[2; 16])];
        let sig = sign(&auditor, net, 5, &inputs).unwrap();
        assert_eq!(verify(auditor.address(), net, 5, &inputs, &sig), Ok(()));
        // Other pubdata on one chain, another block, another network, another key: refused.
        let mut changed = inputs.clone();
        changed[1] = input(5, &[3; 16]);
        assert!(matches!(
            verify(auditor.address(), net, 5, &changed, &sig),
            Err(ApprovalError::WrongSigner { .. })
        ));
        assert!(verify(auditor.address(), net, 6, &inputs, &sig).is_err());
        assert!(verify(auditor.address(), B256::ZERO, 5, &inputs, &sig).is_err());
        let other = PrivateKeySigner::random();
        let forged = sign(&other, net, 5, &inputs).unwrap();
        assert!(verify(auditor.address(), net, 5, &inputs, &forged).is_err());
        assert!(matches!(
            verify(auditor.address(), net, 5, &inputs, &sig[..64]),
            Err(ApprovalError::Malformed(_))
        ));
    }
}
