// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PoseidonT5} from "./PoseidonT5.sol";

/// The Merkle part of an exodus exit: the chain state root an account's balance proof leads to
/// (docs/PROTOCOL.md tree layout: balance tree of depth 5 in an account leaf
/// `Poseidon(address, pkh, nonce, balance_root)`, state tree of depth 12, both 4-ary).
/// Split from `Rollup` only to keep the rollup below the EVM's code size limit: it holds no state
/// and decides nothing — `Rollup.exit` checks the account, the token, the settled state and the
/// root it returns. The rollup creates it in its constructor, so a deployment needs no extra step
/// and its code is fixed by the rollup's own.
contract ExitVerifier {
    PoseidonT5 public immutable poseidon;

    constructor(PoseidonT5 poseidon_) {
        poseidon = poseidon_;
    }

    /// The state root of the tree in which account `accountId` — `owner`, `pubkeyHash`, `nonce`
    /// and a balance tree in which `token` holds `amount` — has these sibling paths (leaf level
    /// first, the three siblings of each level in position order).
    function chainRoot(
        uint32 accountId,
        uint16 token,
        uint128 amount,
        address owner,
        uint256 pubkeyHash,
        uint32 nonce,
        uint256[3][5] calldata balancePath,
        uint256[3][12] calldata accountPath
    ) external view returns (bytes32) {
        uint256 cur = amount;
        uint256 index = token;
        for (uint256 h = 0; h < 5; h++) {
            cur = _node(cur, index % 4, balancePath[h]);
            index /= 4;
        }
        cur = poseidon.hash([uint256(uint160(owner)), pubkeyHash, nonce, cur]);
        index = accountId;
        for (uint256 h = 0; h < 12; h++) {
            cur = _node(cur, index % 4, accountPath[h]);
            index /= 4;
        }
        return bytes32(cur);
    }

    /// The parent of `cur` at position `pos` among its siblings `sib`.
    function _node(uint256 cur, uint256 pos, uint256[3] calldata sib) internal view returns (uint256) {
        uint256[4] memory c;
        uint256 k;
        for (uint256 i = 0; i < 4; i++) {
            c[i] = i == pos ? cur : sib[k++];
        }
        return poseidon.hash(c);
    }
}
