// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup} from "../src/Rollup.sol";
import {PoseidonT5} from "../src/PoseidonT5.sol";

/// The forge cheatcodes these tests use (forge's hevm address; no forge-std needed).
interface Vm {
    function prank(address) external;
    function warp(uint256) external;
    function expectRevert(bytes calldata) external;
    function sign(uint256 privateKey, bytes32 digest) external returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external returns (address);
}

/// Stands in for the block verifier in these unit tests, which never reach the prove stage (the
/// real generated verifier is exercised by crates/l1/tests/stages.rs).
contract NoVerifier {
    function verifyBlock(uint256[3] calldata, uint256[8][3] calldata) external pure returns (bool) {
        return false;
    }
}

contract RollupTest {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    Rollup internal rollup;
    PoseidonT5 internal poseidon;
    address internal constant ALICE = address(0xA11CE);
    address internal constant STRANGER = address(0xBAD);

    function setUp() public {
        poseidon = new PoseidonT5();
        rollup = new Rollup(_config(2));
    }

    function _config(uint8 threshold) internal returns (Rollup.Config memory c) {
        uint8[] memory chains = new uint8[](2);
        chains[0] = 1;
        chains[1] = 2;
        address[] memory operators = new address[](1);
        operators[0] = address(this);
        address[] memory oracles = new address[](3);
        for (uint256 i = 0; i < 3; i++) {
            oracles[i] = vm.addr(i + 1);
        }
        c = Rollup.Config({
            chainId: 1,
            chains: chains,
            verifier: address(new NoVerifier()),
            poseidon: address(poseidon),
            governor: address(this),
            operators: operators,
            oracles: oracles,
            oracleThreshold: threshold,
            priorityExpiry: 3600,
            networkId: keccak256("forge"),
            genesisFinalRoot: bytes32(uint256(1)),
            genesisChainRoot: bytes32(uint256(2))
        });
    }

    function _eq(uint256 a, uint256 b, string memory what) internal pure {
        require(a == b, what);
    }

    // ---- Poseidon
    function testPoseidonMatchesCircomlibVector() public view {
        // circomlib poseidon([1, 2, 3, 4])
        _eq(
            poseidon.hash([uint256(1), 2, 3, 4]),
            0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465,
            "poseidon([1,2,3,4])"
        );
    }

    function testPoseidonRefusesNonCanonicalInputs() public {
        uint256 p = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
        vm.expectRevert("");
        poseidon.hash([p, 0, 0, 0]);
    }

    // ---- configuration and governance
    function testConfigRefusesBadOracleThreshold() public {
        Rollup.Config memory c = _config(4);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "oracle threshold"));
        new Rollup(c);
    }

    function testConfigRefusesUnsortedChains() public {
        Rollup.Config memory c = _config(2);
        c.chains[1] = 1;
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "chain ids"));
        new Rollup(c);
    }

    function testGovernanceIsGovernorOnly() public {
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotGovernor.selector));
        rollup.setOperator(STRANGER, true);
        address[] memory dup = new address[](2);
        dup[0] = ALICE;
        dup[1] = ALICE;
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "oracle set"));
        rollup.setOracles(dup, 1);
    }

    // ---- priority queue
    function testDepositQueuesItsHash() public {
        rollup.depositETH{value: 1 ether}(ALICE);
        _eq(rollup.totalPriorityRequests(), 1, "one request");
        (bytes32 h, uint64 expiresAt, address from) = rollup.priorityRequests(0);
        require(h == keccak256(abi.encodePacked(uint8(1), uint16(0), uint112(1 ether), ALICE)), "hash");
        _eq(expiresAt, block.timestamp + 3600, "expiry");
        require(from == address(this), "depositor");
    }

    function testDepositRejections() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadDeposit.selector, "zero amount"));
        rollup.depositETH{value: 0}(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadDeposit.selector, "zero recipient"));
        rollup.depositETH{value: 1}(address(0));
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadDeposit.selector, "unknown token"));
        rollup.depositERC20(address(0x1234), 5, ALICE);
    }

    function testFullExitRequestValidation() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "account id"));
        rollup.requestFullExit(uint32(1 << 24), 0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownToken.selector, uint16(7)));
        rollup.requestFullExit(1, 7);
    }

    // ---- pubdata helpers
    function testPaddedPubdataHashPadsToTheCapacity() public view {
        bytes memory pd = new bytes(32);
        pd[0] = 0x04;
        bytes memory padded = new bytes(16 * 16);
        padded[0] = 0x04;
        require(rollup.paddedPubdataHash(pd) == sha256(padded), "16-chunk capacity");
        bytes memory big = new bytes(17 * 16);
        require(rollup.paddedPubdataHash(big) == sha256(new bytes(64 * 16)), "64-chunk capacity");
    }

    function testUnknownOperationsAreRefused() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.UnknownOp.selector, uint8(0x0f), uint256(5)));
        rollup.opChunks(0x0f, 5);
        _eq(rollup.opChunks(0x03, 0), 4, "ChangePubKey is 4 chunks");
    }

    // ---- consensus and exodus
    function testAttestationNeedsALocallyProvenBlock() public {
        bytes[] memory sigs = new bytes[](0);
        uint256 mask = rollup.chainsMask();
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotProven.selector, uint32(1)));
        rollup.receiveSyncAttestation(1, bytes32(0), mask, sigs);
    }

    function testExodusNeedsAnExpiredRequest() public {
        vm.expectRevert(abi.encodeWithSelector(Rollup.NoExpiredRequest.selector));
        rollup.activateExodusMode();
        rollup.depositETH{value: 1 ether}(ALICE);
        vm.warp(block.timestamp + 3600);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NoExpiredRequest.selector));
        rollup.activateExodusMode();
        vm.warp(block.timestamp + 1);
        rollup.activateExodusMode();
        require(rollup.exodusMode(), "exodus");
        vm.expectRevert(abi.encodeWithSelector(Rollup.Exodus.selector));
        rollup.depositETH{value: 1}(ALICE);
        // The unprocessed deposit is refundable to the depositor, once.
        rollup.refundDeposit(0, ALICE, 0, 1 ether);
        _eq(rollup.pendingBalance(address(this), 0), 1 ether, "refund credited");
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotRefundable.selector, uint64(0)));
        rollup.refundDeposit(0, ALICE, 0, 1 ether);
    }

    receive() external payable {}
}
