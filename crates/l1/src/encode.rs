//! The calldata of the four stages for one chain, from a block built by `rollup-state`.

use crate::L1Error;
use crate::bindings::Rollup::{
    ChainProof, CommitBlockInfo, ExecuteBlockInfo, ProofInput, StoredBlockInfo,
};
use alloy::primitives::{B256, Bytes, U256};
use alloy::sol_types::SolValue;
use ark_bn254::Fr;
use rollup_crypto::field::fr_to_be_bytes;
use rollup_types::ChainId;
use rollup_types::tx::Tx;

/// What the contract stores for block 0.
pub fn genesis_stored_block(genesis_final_root: &Fr) -> StoredBlockInfo {
    StoredBlockInfo {
        blockNumber: 0,
        timestamp: 0,
        priorityOperations: 0,
        oldFinalRoot: B256::ZERO,
        newFinalRoot: root(genesis_final_root),
        pubdataHash: B256::ZERO,
        onchainOpsHash: B256::ZERO,
        commitment: B256::ZERO,
        syncHash: B256::from(rollup_state::genesis_sync_hash()),
    }
}

/// A field element as the contract's `bytes32`.
pub fn root(f: &Fr) -> B256 {
    B256::from(fr_to_be_bytes(f))
}

fn chain_block(
    block: &rollup_state::Block,
    chain: ChainId,
) -> Result<&rollup_state::ChainBlock, L1Error> {
    block
        .chains
        .iter()
        .find(|c| c.chain == chain)
        .ok_or_else(|| L1Error::Invalid(format!("block {} has no chain {chain}", block.number)))
}

/// What the contract of `chain` stores for `block` once committed.
pub fn stored_block(
    block: &rollup_state::Block,
    chain: ChainId,
) -> Result<StoredBlockInfo, L1Error> {
    let cb = chain_block(block, chain)?;
    Ok(StoredBlockInfo {
        blockNumber: block.number.0,
        timestamp: block.timestamp,
        priorityOperations: cb.priority_ops as u64,
        oldFinalRoot: root(&block.old_final_root),
        newFinalRoot: root(&block.new_final_root),
        pubdataHash: B256::from(cb.pubdata_hash),
        onchainOpsHash: B256::from(cb.onchain_ops_hash),
        commitment: B256::from(block.commitment),
        syncHash: B256::from(block.sync_hash),
    })
}

/// `commitBlocks` input for `chain`: its pubdata, every chain's hashes, and the owners'
/// authorisations of the key changes made on this chain (in pubdata order).
pub fn commit_info(
    block: &rollup_state::Block,
    chain: ChainId,
) -> Result<CommitBlockInfo, L1Error> {
    let cb = chain_block(block, chain)?;
    let auth = block
        .txs
        .iter()
        .filter_map(|tx| match tx {
            Tx::ChangePubKey { tx, auth } if tx.chain == chain => {
                Some(Bytes::copy_from_slice(auth.bytes()))
            }
            _ => None,
        })
        .collect();
    Ok(CommitBlockInfo {
        blockNumber: block.number.0,
        timestamp: block.timestamp,
        newFinalRoot: root(&block.new_final_root),
        pubdata: Bytes::copy_from_slice(&cb.pubdata),
        pubdataHashes: block
            .chains
            .iter()
            .map(|c| B256::from(c.pubdata_hash))
            .collect(),
        onchainOpsHashes: block
            .chains
            .iter()
            .map(|c| B256::from(c.onchain_ops_hash))
            .collect(),
        changePubKeyAuth: auth,
    })
}

/// The sync hash a contract computes when it commits `info` after `last` — what the auditor's
/// approval must be over for the contract to take the commit. Computed from the calldata, not
/// from the block's own `sync_hash`, so a check of an approval against it checks what is sent.
pub fn commit_sync_hash(last: &StoredBlockInfo, info: &CommitBlockInfo) -> B256 {
    let hashes = |v: &[B256]| v.iter().map(|h| h.0).collect::<Vec<_>>();
    let commitment = rollup_state::block::commitment_of(
        rollup_types::BlockNumber(info.blockNumber),
        info.timestamp,
        &last.newFinalRoot.0,
        &info.newFinalRoot.0,
        &hashes(&info.pubdataHashes),
    );
    B256::from(rollup_state::block::sync_hash_of(
        &last.syncHash.0,
        &commitment,
        &hashes(&info.onchainOpsHashes),
    ))
}

/// One chain's sub-block boundaries in a block: the roots between its sub-blocks (S + 1: old
/// root, the intermediate roots, new root) and the carries between them (S − 1), as the chain
/// proofs state them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Boundaries {
    /// S + 1 roots.
    pub roots: Vec<Fr>,
    /// S − 1 carries.
    pub carries: Vec<Fr>,
}

/// `proveBlocks` input for `chain`: the block's stored info and, per chain in the block's order,
/// its sub-block public values — the boundaries given (from the proofs' statements), the
/// sub-block hashes and links hash the block has. Refuses boundaries that do not fit the block
/// (another number of sub-blocks, or another old or new root).
pub fn proof_input(
    block: &rollup_state::Block,
    chain: ChainId,
    boundaries: &[Boundaries],
) -> Result<ProofInput, L1Error> {
    fill_proof_input(&proof_template(block, chain)?, boundaries)
}

/// The block's `proveBlocks` input for `chain` before its proofs exist: each chain's roots are
/// only its old and new root, and there are no carries; [`fill_proof_input`] puts in the
/// boundaries the proofs state.
pub fn proof_template(block: &rollup_state::Block, chain: ChainId) -> Result<ProofInput, L1Error> {
    Ok(ProofInput {
        storedBlock: stored_block(block, chain)?,
        chains: block
            .chains
            .iter()
            .map(|cb| ChainProof {
                roots: vec![root(&cb.old_root), root(&cb.new_root)],
                pubdataHashes: cb
                    .sub_blocks
                    .iter()
                    .map(|sb| B256::from(sb.pubdata_hash))
                    .collect(),
                carries: Vec::new(),
                linksHash: root(&cb.links_hash),
            })
            .collect(),
    })
}

/// [`proof_template`]'s input with the sub-block boundaries of the proofs (per chain in the
/// block's order). Refuses boundaries that do not fit (another number of chains or sub-blocks,
/// or another old or new root).
pub fn fill_proof_input(
    template: &ProofInput,
    boundaries: &[Boundaries],
) -> Result<ProofInput, L1Error> {
    let number = template.storedBlock.blockNumber;
    if boundaries.len() != template.chains.len() {
        return Err(L1Error::Invalid(format!(
            "sub-block boundaries of {} chains for a block of {}",
            boundaries.len(),
            template.chains.len()
        )));
    }
    let chains = template
        .chains
        .iter()
        .zip(boundaries)
        .enumerate()
        .map(|(i, (t, b))| {
            let s = t.pubdataHashes.len();
            let fits = t.roots.len() == 2
                && b.roots.len() == s + 1
                && b.carries.len() + 1 == s
                && root(&b.roots[0]) == t.roots[0]
                && root(&b.roots[s]) == t.roots[1];
            if !fits {
                return Err(L1Error::Invalid(format!(
                    "block {number}, the block's chain {}: boundaries of {} roots and {} carries \
                     do not fit its {s} sub-blocks from its old to its new root",
                    i + 1,
                    b.roots.len(),
                    b.carries.len()
                )));
            }
            Ok(ChainProof {
                roots: b.roots.iter().map(root).collect(),
                pubdataHashes: t.pubdataHashes.clone(),
                carries: b.carries.iter().map(root).collect(),
                linksHash: t.linksHash,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProofInput {
        storedBlock: template.storedBlock.clone(),
        chains,
    })
}

/// The stored form of each chain's `StoredBlockInfo` of a snapshot's block (the `snapshots`
/// table's `stored` column): JSON, chain id → ABI hex.
pub fn stored_blocks_json(infos: &[(ChainId, StoredBlockInfo)]) -> String {
    let map: std::collections::BTreeMap<u8, String> = infos
        .iter()
        .map(|(c, info)| (c.0, format!("0x{}", hex::encode(info.abi_encode()))))
        .collect();
    serde_json::to_string(&map).expect("a map of strings")
}

/// Reads [`stored_blocks_json`] back.
pub fn parse_stored_blocks_json(
    json: &str,
) -> Result<std::collections::BTreeMap<ChainId, StoredBlockInfo>, L1Error> {
    let bad = |e: String| L1Error::Invalid(format!("snapshot stored blocks: {e}"));
    let map: std::collections::BTreeMap<u8, String> =
        serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    map.into_iter()
        .map(|(chain, hex_info)| {
            let bytes =
                hex::decode(hex_info.trim_start_matches("0x")).map_err(|e| bad(e.to_string()))?;
            let info = StoredBlockInfo::abi_decode(&bytes).map_err(|e| bad(e.to_string()))?;
            let chain = ChainId::new(chain).map_err(|e| bad(e.to_string()))?;
            Ok((chain, info))
        })
        .collect()
}

/// What a chain's driver sends of one block, made when the block is sealed and kept in the
/// database (opaque ABI bytes there): the drivers send from it, so the node holds no block in
/// memory until every chain executed it, and a restart does not rebuild old blocks to send them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainCalls {
    /// `commitBlocks` input.
    pub commit: CommitBlockInfo,
    /// `executeBlocks` input (its `storedBlock`: what the contract stores once committed).
    pub execute: ExecuteBlockInfo,
    /// `proveBlocks` input before the proofs ([`proof_template`]).
    pub prove: ProofInput,
}

impl ChainCalls {
    /// The calls of `block` on `chain`.
    pub fn of(block: &rollup_state::Block, chain: ChainId) -> Result<ChainCalls, L1Error> {
        Ok(ChainCalls {
            commit: commit_info(block, chain)?,
            execute: execute_info(block, chain)?,
            prove: proof_template(block, chain)?,
        })
    }

    /// What the contract stores for the block once committed.
    pub fn stored(&self) -> &StoredBlockInfo {
        &self.execute.storedBlock
    }

    /// The stored form: the ABI encodings of the commit, execute and prove inputs.
    pub fn to_bytes(&self) -> [Vec<u8>; 3] {
        [
            self.commit.abi_encode(),
            self.execute.abi_encode(),
            self.prove.abi_encode(),
        ]
    }

    /// Reads [`ChainCalls::to_bytes`] back; a malformed part is an error, and so are parts
    /// of different blocks.
    pub fn from_bytes(commit: &[u8], execute: &[u8], prove: &[u8]) -> Result<Self, L1Error> {
        let bad = |what: &str, e: alloy::sol_types::Error| {
            L1Error::Invalid(format!("stored {what} calldata: {e}"))
        };
        let calls = ChainCalls {
            commit: CommitBlockInfo::abi_decode(commit).map_err(|e| bad("commit", e))?,
            execute: ExecuteBlockInfo::abi_decode(execute).map_err(|e| bad("execute", e))?,
            prove: ProofInput::abi_decode(prove).map_err(|e| bad("prove", e))?,
        };
        let n = calls.commit.blockNumber;
        if calls.execute.storedBlock != calls.prove.storedBlock || calls.stored().blockNumber != n {
            return Err(L1Error::Invalid(format!(
                "stored calldata of block {n}: its parts are of different blocks"
            )));
        }
        Ok(calls)
    }
}

/// A proof as the contract takes it (`verifier::proof_words` of the prover crate).
pub fn proof(words: &[[u8; 32]; 8]) -> [U256; 8] {
    words.map(|w| U256::from_be_bytes(w))
}

/// `executeBlocks` input for `chain`: the stored block and this chain's onchain operations.
pub fn execute_info(
    block: &rollup_state::Block,
    chain: ChainId,
) -> Result<ExecuteBlockInfo, L1Error> {
    let cb = chain_block(block, chain)?;
    Ok(ExecuteBlockInfo {
        storedBlock: stored_block(block, chain)?,
        onchainOps: cb
            .onchain_ops
            .iter()
            .map(|o| Bytes::copy_from_slice(&o.bytes))
            .collect(),
    })
}

/// The exodus proof of `account`'s balance of `token` in `state` (this chain's last executed
/// state): the balance path, the account leaf fields and the account path. `None` if the account
/// does not exist.
pub fn exit_proof(
    state: &mut rollup_state::ChainState,
    account: rollup_types::AccountId,
    token: rollup_types::TokenId,
) -> Option<crate::bindings::Rollup::ExitProof> {
    let amount = state.account(account)?.balance(token).get();
    let leaf = state.account_leaf(account)?;
    let balance_path = state.balance_path(account, token)?;
    let account_path = state.account_path(account);
    let word = |f: &Fr| U256::from_be_bytes(fr_to_be_bytes(f));
    let levels = |p: &rollup_state::smt::MerklePath| -> Vec<[U256; 3]> {
        p.siblings.iter().map(|s| s.map(|f| word(&f))).collect()
    };
    Some(crate::bindings::Rollup::ExitProof {
        accountId: account.0,
        token: token.0,
        amount,
        owner: alloy::primitives::Address::from(leaf.address.0),
        pubkeyHash: U256::from_be_slice(&leaf.pubkey_hash.0),
        nonce: leaf.nonce.0,
        balancePath: levels(&balance_path).try_into().ok()?,
        accountPath: levels(&account_path).try_into().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_stored_blocks_read_back_and_bad_text_is_refused() {
        let a = genesis_stored_block(&Fr::from(7u64));
        let mut b = a.clone();
        b.blockNumber = 9;
        let json = stored_blocks_json(&[(ChainId(1), a.clone()), (ChainId(3), b.clone())]);
        // The column's form: chain id → 0x-prefixed ABI hex.
        assert!(json.starts_with("{\"1\":\"0x"), "{json}");
        let back = parse_stored_blocks_json(&json).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[&ChainId(1)], a);
        assert_eq!(back[&ChainId(3)], b);
        for bad in [
            "[]",
            "{\"1\":\"0xzz\"}",
            "{\"1\":\"0x00\"}",
            "{\"0\":\"0x\"}",
        ] {
            assert!(parse_stored_blocks_json(bad).is_err(), "{bad}");
        }
    }
}
