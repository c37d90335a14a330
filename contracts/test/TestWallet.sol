// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// A minimal contract wallet for tests: an account that cannot `personal_sign`, owned by one EOA
/// that makes its calls. It sets its rollup key with `setAuthPubkeyHash` through `execute`.
contract TestWallet {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /// Calls `target` with `data` and `value` as this wallet; only the owner may.
    function execute(address target, uint256 value, bytes calldata data) external returns (bytes memory) {
        require(msg.sender == owner, "not the owner");
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// Takes ETH (claims of its pending balance land here).
    receive() external payable {}
}
