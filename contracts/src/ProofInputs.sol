// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup, IBlockVerifier} from "./Rollup.sol";

/// The pure part of `Rollup.proveBlocks`: from the blocks' public values it checks the per-chain
/// lengths, the proof counts and that each chain's sub-block hashes hash to what was committed,
/// and computes every public input (docs/CONTRACTS.md, "Sub-blocks"). Split from `Rollup` only
/// to keep the rollup below the EVM's code size limit: it holds no state — `Rollup.proveBlocks`
/// checks the block numbers, the stored blocks and the prove deadlines, calls the verifier with
/// the calldata returned here and records the blocks. The rollup creates it in its constructor
/// with its own domain and chain ids, so its code and parameters are fixed by the rollup's.
contract ProofInputs {
    /// Inputs of the proofs are reduced below 2^253 (the top three bits of a SHA-256 cleared).
    uint256 internal constant INPUT_MASK = (1 << 253) - 1;

    /// The rollup's deployment domain (a chain proof input's first 32 bytes).
    bytes32 public immutable domain;
    /// The connected chain ids, ascending, one byte each from the lowest (at most 8).
    uint256 internal immutable packedChainIds;
    uint256 internal immutable chainCount;

    /// The rollup's errors of the same name (same selectors, so the rollup passes them on as its own).
    error ChainValues(string what);
    error CommitmentMismatch(uint32 blockNumber);

    constructor(bytes32 domain_, uint8[] memory chainIds) {
        domain = domain_;
        uint256 packed;
        for (uint256 i = 0; i < chainIds.length; i++) {
            packed |= uint256(chainIds[i]) << (8 * i);
        }
        packedChainIds = packed;
        chainCount = chainIds.length;
    }

    /// The verifier call (`IBlockVerifier.verifyProofs` calldata) that proves `inputs` with these
    /// proofs: `proveBlocks`' own arguments, so the rollup forwards its calldata. Reverts with
    /// `ChainValues("lengths")` (a block without every connected chain, or a chain whose roots,
    /// sub-block hashes and carries are not S + 1, S >= 1 and S - 1), `ChainValues("proof count")`
    /// (not one chain proof per sub-block and one binding proof per block) or
    /// `CommitmentMismatch(n)` (block n's sub-block hashes do not hash to its committed pubdata
    /// hashes).
    function verifierCall(
        Rollup.ProofInput[] calldata inputs,
        uint256[8][] calldata chainProofs,
        uint256[8][] calldata bindingProofs
    ) external view returns (bytes memory) {
        uint256 total;
        for (uint256 i = 0; i < inputs.length; i++) {
            Rollup.ChainProof[] calldata chains = inputs[i].chains;
            if (chains.length != chainCount) revert ChainValues("lengths");
            for (uint256 c = 0; c < chains.length; c++) {
                total += chains[c].pubdataHashes.length;
            }
        }
        if (chainProofs.length != total || bindingProofs.length != inputs.length) revert ChainValues("proof count");
        uint256[] memory chainInputs = new uint256[](total);
        uint256[] memory bindingInputs = new uint256[](inputs.length);
        uint256 next;
        for (uint256 i = 0; i < inputs.length; i++) {
            (bindingInputs[i], next) = _blockInputs(inputs[i], chainInputs, next);
        }
        return abi.encodeWithSelector(
            IBlockVerifier.verifyProofs.selector, chainInputs, chainProofs, bindingInputs, bindingProofs
        );
    }

    /// Checks block `p`'s per-chain lengths and sub-block hashes against its commitment, writes
    /// its chain proofs' public inputs into `chainInputs` from `next` on, and returns its binding
    /// input and the next free slot.
    function _blockInputs(Rollup.ProofInput calldata p, uint256[] memory chainInputs, uint256 next)
        internal
        view
        returns (uint256 bindingInput, uint256)
    {
        Rollup.StoredBlockInfo calldata b = p.storedBlock;
        uint32 n = b.blockNumber;
        uint256 k = chainCount;
        bytes32[] memory pubdataHashes = new bytes32[](k);
        for (uint256 c = 0; c < k; c++) {
            Rollup.ChainProof calldata cp = p.chains[c];
            uint256 s = cp.pubdataHashes.length;
            if (s == 0 || cp.roots.length != s + 1 || cp.carries.length != s - 1) revert ChainValues("lengths");
            pubdataHashes[c] = sha256(abi.encodePacked(cp.pubdataHashes));
        }
        // The sub-block hashes are bound to what was committed: the commitment holds their hashes
        // (the same formula as `Rollup._commitment`).
        if (keccak256(abi.encodePacked(n, b.timestamp, b.oldFinalRoot, b.newFinalRoot, pubdataHashes)) != b.commitment)
        {
            revert CommitmentMismatch(n);
        }
        bytes memory perChain;
        for (uint256 c = 0; c < k; c++) {
            Rollup.ChainProof calldata cp = p.chains[c];
            next = _chainInputs(cp, uint8(packedChainIds >> (8 * c)), n, chainInputs, next);
            perChain = abi.encodePacked(perChain, cp.roots[0], cp.roots[cp.roots.length - 1], cp.linksHash);
        }
        bindingInput = uint256(sha256(abi.encodePacked(n, b.oldFinalRoot, b.newFinalRoot, perChain))) & INPUT_MASK;
        return (bindingInput, next);
    }

    /// Writes the public inputs of chain `chain`'s S sub-block proofs into `out` from `next` on:
    /// sha256(domain ‖ chain ‖ n ‖ last ‖ root_k ‖ root_{k+1} ‖ h_k ‖ carry_in ‖ carry_out) mod
    /// 2^253, where the first sub-block's carry_in is 0 and the last one's carry_out is the
    /// chain's links hash (which the binding proof takes), so the sub-blocks' proofs chain from
    /// the old root to the new root and into the binding proof. Returns the next free slot.
    function _chainInputs(Rollup.ChainProof calldata cp, uint8 chain, uint32 n, uint256[] memory out, uint256 next)
        internal
        view
        returns (uint256)
    {
        uint256 last = cp.pubdataHashes.length - 1;
        for (uint256 k = 0; k <= last; k++) {
            bytes memory values = abi.encodePacked(
                domain, chain, n, k == last, cp.roots[k], cp.roots[k + 1], cp.pubdataHashes[k]
            );
            out[next++] = uint256(
                sha256(
                    abi.encodePacked(
                        values, k == 0 ? bytes32(0) : cp.carries[k - 1], k == last ? cp.linksHash : cp.carries[k]
                    )
                )
            ) & INPUT_MASK;
        }
        return next;
    }
}
