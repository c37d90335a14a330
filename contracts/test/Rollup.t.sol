// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup} from "../src/Rollup.sol";
import {PoseidonT5} from "../src/PoseidonT5.sol";

/// The forge cheatcodes these tests use (forge's hevm address; no forge-std needed).
interface Vm {
    function prank(address) external;
    function warp(uint256) external;
    function expectRevert(bytes calldata) external;
    /// Matches the error's selector only (for errors whose argument is a recovered address).
    function expectPartialRevert(bytes4) external;
    function sign(uint256 privateKey, bytes32 digest) external returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external returns (address);
    function getNonce(address) external view returns (uint64);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
}

/// Stands in for the block verifier in these unit tests, which never reach the prove stage (the
/// real generated verifier is exercised by crates/l1/tests/stages.rs).
contract NoVerifier {
    function verifyBlock(uint256[3] calldata, uint256[8][3] calldata) external pure returns (bool) {
        return false;
    }
}

/// Accepts every proof: for the unit tests of the bookkeeping around proven blocks (revert,
/// abandonment, exodus). Real proofs against the generated verifier: crates/l1/tests/stages.rs.
contract AcceptingVerifier {
    function verifyBlock(uint256[3] calldata, uint256[8][3] calldata) external pure returns (bool) {
        return true;
    }
}

contract RollupTest {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    Rollup internal rollup;
    PoseidonT5 internal poseidon;
    address internal constant ALICE = address(0xA11CE);
    address internal constant STRANGER = address(0xBAD);
    /// Test keys: oracles 1..3, the auditor 11, another would-be auditor 12.
    uint256 internal constant AUDITOR_KEY = 11;
    uint256 internal constant OTHER_KEY = 12;
    uint64 internal constant PROVE_WINDOW = 1 hours;

    function setUp() public {
        poseidon = new PoseidonT5();
        rollup = new Rollup(_own(_config(2)));
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
            evmChainIds: new uint64[](0),
            rollups: new address[](0),
            verifier: address(new NoVerifier()),
            poseidon: address(poseidon),
            governor: address(this),
            operators: operators,
            oracles: oracles,
            oracleThreshold: threshold,
            priorityExpiry: 3600,
            networkId: keccak256("forge"),
            auditor: vm.addr(AUDITOR_KEY),
            proveWindow: PROVE_WINDOW,
            genesisFinalRoot: bytes32(uint256(1)),
            genesisChainRoot: bytes32(uint256(2))
        });
    }

    /// Fills in the peers: this chain's entry is the address the next `new Rollup` will get, as
    /// the constructor checks; chain 2's is a stand-in.
    function _own(Rollup.Config memory c) internal view returns (Rollup.Config memory) {
        c.evmChainIds = new uint64[](2);
        c.evmChainIds[0] = uint64(block.chainid);
        c.evmChainIds[1] = 2;
        c.rollups = new address[](2);
        c.rollups[0] = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        c.rollups[1] = address(0xB2);
        return c;
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
        _own(c);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "oracle threshold"));
        new Rollup(c);
    }

    function testConfigRefusesUnsortedChains() public {
        Rollup.Config memory c = _config(2);
        c.chains[1] = 1;
        _own(c);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "chain ids"));
        new Rollup(c);
    }

    function testConfigRefusesAnotherDeploymentsPeer() public {
        Rollup.Config memory c = _config(2);
        _own(c);
        c.rollups[0] = address(0xE15E);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "own peer"));
        new Rollup(c);
        _own(c);
        c.evmChainIds[0] = 1;
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "own peer"));
        new Rollup(c);
        _own(c);
        c.rollups = new address[](1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "peers"));
        new Rollup(c);
    }

    function testDomainHashesEveryPeer() public {
        Rollup.Config memory c = _config(2);
        _own(c);
        bytes32 expected = bytes32(
            uint256(
                keccak256(
                    abi.encodePacked(
                        "rollup domain v1",
                        c.networkId,
                        uint8(1),
                        uint64(block.chainid),
                        c.rollups[0],
                        uint8(2),
                        uint64(2),
                        address(0xB2)
                    )
                )
            ) & ((1 << 253) - 1)
        );
        Rollup r = new Rollup(c);
        require(r.domain() == expected, "domain");
        require(r.domain() != rollup.domain(), "another deployment, another domain");
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

    // ---- the auditor's approval on chain (finding 8)
    function _genesis() internal pure returns (Rollup.StoredBlockInfo memory g) {
        g.newFinalRoot = bytes32(uint256(1));
        g.syncHash = keccak256("");
    }

    /// An empty block `n` after `prev` (no operations on this chain), and what the contract will
    /// store for it.
    function _block(Rollup.StoredBlockInfo memory prev)
        internal
        view
        returns (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s)
    {
        b.blockNumber = prev.blockNumber + 1;
        b.timestamp = uint64(block.timestamp);
        b.newFinalRoot = bytes32(uint256(100 + b.blockNumber));
        b.pubdata = "";
        b.pubdataHashes = new bytes32[](2);
        b.pubdataHashes[0] = rollup.paddedPubdataHash("");
        b.pubdataHashes[1] = bytes32(uint256(7));
        b.onchainOpsHashes = new bytes32[](2);
        b.onchainOpsHashes[0] = keccak256("");
        b.onchainOpsHashes[1] = bytes32(uint256(8));
        b.changePubKeyAuth = new bytes[](0);
        s.blockNumber = b.blockNumber;
        s.timestamp = b.timestamp;
        s.oldFinalRoot = prev.newFinalRoot;
        s.newFinalRoot = b.newFinalRoot;
        s.pubdataHash = b.pubdataHashes[0];
        s.onchainOpsHash = keccak256("");
        s.commitment =
            keccak256(abi.encodePacked(b.blockNumber, b.timestamp, prev.newFinalRoot, b.newFinalRoot, b.pubdataHashes));
        s.syncHash = keccak256(abi.encodePacked(prev.syncHash, s.commitment, b.onchainOpsHashes));
    }

    function _sign(uint256 key, bytes32 digest) internal returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _approve(uint256 key, Rollup r, Rollup.StoredBlockInfo memory s) internal returns (bytes[] memory a) {
        a = new bytes[](1);
        a[0] = _sign(key, r.approvalDigest(s.blockNumber, s.syncHash));
    }

    function _one(Rollup.CommitBlockInfo memory b) internal pure returns (Rollup.CommitBlockInfo[] memory bs) {
        bs = new Rollup.CommitBlockInfo[](1);
        bs[0] = b;
    }

    function testCommitNeedsTheAuditorsApprovalOfExactlyThatBlock() public {
        Rollup.StoredBlockInfo memory g = _genesis();
        (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s) = _block(g);
        // No approval at all.
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "approval count"));
        rollup.commitBlocks(g, _one(b), new bytes[](0));
        bytes[] memory empty = new bytes[](1);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadApproval.selector, uint32(1)));
        rollup.commitBlocks(g, _one(b), empty);
        // Another key's signature over the right digest.
        bytes[] memory otherKey = _approve(OTHER_KEY, rollup, s);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadApproval.selector, uint32(1)));
        rollup.commitBlocks(g, _one(b), otherKey);
        // The auditor's signature over other data (another sync hash for block 1).
        Rollup.StoredBlockInfo memory other;
        other.blockNumber = 1;
        other.syncHash = bytes32(uint256(s.syncHash) ^ 1);
        bytes[] memory otherData = _approve(AUDITOR_KEY, rollup, other);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadApproval.selector, uint32(1)));
        rollup.commitBlocks(g, _one(b), otherData);
        // The auditor's approval of this block on another network (another deployment).
        Rollup.Config memory c = _config(2);
        c.networkId = keccak256("another network");
        _own(c);
        Rollup elsewhere = new Rollup(c);
        bytes[] memory otherNetwork = _approve(AUDITOR_KEY, elsewhere, s);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadApproval.selector, uint32(1)));
        rollup.commitBlocks(g, _one(b), otherNetwork);
        // The auditor's raw-hash signature only: a personal_sign of the digest is another message.
        bytes[] memory prefixed = new bytes[](1);
        prefixed[0] = _sign(
            AUDITOR_KEY,
            keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", rollup.approvalDigest(1, s.syncHash)))
        );
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadApproval.selector, uint32(1)));
        rollup.commitBlocks(g, _one(b), prefixed);
        // Control: the auditor's approval of exactly this block.
        bytes[] memory approval1 = _approve(AUDITOR_KEY, rollup, s);
        rollup.commitBlocks(g, _one(b), approval1);
        _eq(rollup.totalBlocksCommitted(), 1, "committed");
        require(rollup.storedBlockHashes(1) == rollup.hashStoredBlockInfo(s), "stored as computed here");
        // Replaying block 1's approval for block 2 is refused.
        (Rollup.CommitBlockInfo memory b2,) = _block(s);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadApproval.selector, uint32(2)));
        rollup.commitBlocks(s, _one(b2), approval1);
    }

    /// A block whose only operation is account 5's ChangePubKey to `pkh` at nonce 7, paying a fee
    /// of 3·10^2 (packed 3<<5 | 2) in token 0, by `owner`, authorised by `auth`.
    function _keyChangeBlock(Rollup.StoredBlockInfo memory prev, address owner, bytes memory auth)
        internal
        view
        returns (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s)
    {
        (b, s) = _block(prev);
        bytes memory op = abi.encodePacked(
            uint8(0x03), uint24(5), bytes20(uint160(0xBEEF)), owner, uint32(7), uint16(0), uint16((3 << 5) | 2)
        );
        b.pubdata = abi.encodePacked(op, new bytes(64 - op.length));
        b.pubdataHashes[0] = rollup.paddedPubdataHash(b.pubdata);
        b.onchainOpsHashes[0] = keccak256(abi.encodePacked(keccak256(""), b.pubdata));
        b.changePubKeyAuth = new bytes[](1);
        b.changePubKeyAuth[0] = auth;
        s.pubdataHash = b.pubdataHashes[0];
        s.onchainOpsHash = b.onchainOpsHashes[0];
        s.commitment =
            keccak256(abi.encodePacked(b.blockNumber, b.timestamp, prev.newFinalRoot, b.newFinalRoot, b.pubdataHashes));
        s.syncHash = keccak256(abi.encodePacked(prev.syncHash, s.commitment, b.onchainOpsHashes));
    }

    function testKeyChangeAuthorisedOnchain() public {
        Rollup.StoredBlockInfo memory g = _genesis();
        (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s) = _keyChangeBlock(g, ALICE, "");
        bytes[] memory approval = _approve(AUDITOR_KEY, rollup, s);
        // No fact yet: the empty signature authorises nothing.
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadChangePubKeyAuth.selector, uint256(0)));
        rollup.commitBlocks(g, _one(b), approval);
        // Facts that differ from the change in one field each, or set by someone else.
        vm.prank(ALICE);
        rollup.setAuthPubkeyHash(5, bytes20(uint160(0xBEEF)), 8, 0, 300); // another nonce
        vm.prank(STRANGER);
        rollup.setAuthPubkeyHash(5, bytes20(uint160(0xBEEF)), 7, 0, 300); // not the owner
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadChangePubKeyAuth.selector, uint256(0)));
        rollup.commitBlocks(g, _one(b), approval);
        // The owner's fact with a larger fee than the change pays is another change.
        vm.prank(ALICE);
        rollup.setAuthPubkeyHash(5, bytes20(uint160(0xBEEF)), 7, 0, 301);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadChangePubKeyAuth.selector, uint256(0)));
        rollup.commitBlocks(g, _one(b), approval);
        // A fact is set once: the owner cannot replace it (an operator that saw it can rely on it).
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Rollup.AuthFactSet.selector, ALICE, uint32(7)));
        rollup.setAuthPubkeyHash(5, bytes20(uint160(0xBEEF)), 7, 0, 300);
        // Control: the exact fact at a fresh owner's nonce commits the change without a signature.
        address bob = address(0xB0B);
        (b, s) = _keyChangeBlock(g, bob, "");
        approval = _approve(AUDITOR_KEY, rollup, s);
        vm.prank(bob);
        rollup.setAuthPubkeyHash(5, bytes20(uint160(0xBEEF)), 7, 0, 300);
        require(rollup.authFacts(bob, 7) != bytes32(0), "fact stored");
        rollup.commitBlocks(g, _one(b), approval);
        _eq(rollup.totalBlocksCommitted(), 1, "committed with the on-chain authorisation");
    }

    /// The ECDSA path still takes only the owner's signature: a stranger's does not pass, even
    /// with a fact set for the change (a non-empty signature is always checked as a signature).
    function testKeyChangeSignatureIsNotReplacedByAFact() public {
        Rollup.StoredBlockInfo memory g = _genesis();
        address owner = vm.addr(21);
        vm.prank(owner);
        rollup.setAuthPubkeyHash(5, bytes20(uint160(0xBEEF)), 7, 0, 300);
        (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s) =
            _keyChangeBlock(g, owner, _sign(22, keccak256("anything")));
        bytes[] memory approval = _approve(AUDITOR_KEY, rollup, s);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadChangePubKeyAuth.selector, uint256(0)));
        rollup.commitBlocks(g, _one(b), approval);
    }

    function testGovernanceRotatesTheAuditor() public {
        Rollup.StoredBlockInfo memory g = _genesis();
        (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s) = _block(g);
        address next = vm.addr(OTHER_KEY);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotGovernor.selector));
        rollup.setAuditor(next);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "auditor"));
        rollup.setAuditor(address(0));
        rollup.setAuditor(next);
        require(rollup.auditor() == next, "rotated");
        // The old auditor's approval no longer counts; the new one's does.
        bytes[] memory old = _approve(AUDITOR_KEY, rollup, s);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadApproval.selector, uint32(1)));
        rollup.commitBlocks(g, _one(b), old);
        rollup.commitBlocks(g, _one(b), _approve(OTHER_KEY, rollup, s));
        _eq(rollup.totalBlocksCommitted(), 1, "committed with the new auditor");
    }

    function testConfigNeedsAnAuditorAndAProveWindow() public {
        Rollup.Config memory c = _config(2);
        c.auditor = address(0);
        _own(c);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "auditor"));
        new Rollup(c);
        c = _config(2);
        c.proveWindow = 0;
        _own(c);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "prove window"));
        new Rollup(c);
    }

    // ---- proven blocks: revert only with an abandonment, exodus only from a settled state (finding 4)
    function _proofInput(Rollup.StoredBlockInfo memory s, bytes32[] memory pubdataHashes)
        internal
        pure
        returns (Rollup.ProofInput[] memory p)
    {
        p = new Rollup.ProofInput[](1);
        p[0].storedBlock = s;
        p[0].oldChainRoots = new bytes32[](2);
        p[0].newChainRoots = new bytes32[](2);
        p[0].newChainRoots[0] = bytes32(uint256(500 + s.blockNumber));
        p[0].pubdataHashes = pubdataHashes;
        p[0].linksHashes = new bytes32[](2);
        p[0].proofs = new uint256[8][](3);
    }

    /// A rollup whose verifier accepts any proof, with blocks 1 and 2 committed and block 1 proven.
    function _provenRollup()
        internal
        returns (Rollup r, Rollup.StoredBlockInfo memory s1, Rollup.StoredBlockInfo memory s2)
    {
        Rollup.Config memory c = _config(2);
        c.verifier = address(new AcceptingVerifier());
        _own(c);
        r = new Rollup(c);
        Rollup saved = rollup;
        rollup = r;
        Rollup.CommitBlockInfo memory b1;
        Rollup.CommitBlockInfo memory b2;
        (b1, s1) = _block(_genesis());
        (b2, s2) = _block(s1);
        rollup = saved;
        r.commitBlocks(_genesis(), _one(b1), _approve(AUDITOR_KEY, r, s1));
        r.commitBlocks(s1, _one(b2), _approve(AUDITOR_KEY, r, s2));
        r.proveBlocks(_proofInput(s1, b1.pubdataHashes));
        _eq(r.totalBlocksProven(), 1, "block 1 proven");
        _eq(r.proveDeadline(1), s1.timestamp + PROVE_WINDOW, "deadline recorded");
    }

    function _abandon(Rollup r, uint32 n, bytes32 h, uint256 k1, uint256 k2) internal returns (bytes[] memory sigs) {
        bytes32 d = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", r.abandonmentDigest(n, h)));
        (uint256 lo, uint256 hi) = vm.addr(k1) < vm.addr(k2) ? (k1, k2) : (k2, k1);
        sigs = new bytes[](2);
        sigs[0] = _sign(lo, d);
        sigs[1] = _sign(hi, d);
    }

    function _newestFirst(Rollup.StoredBlockInfo memory a, Rollup.StoredBlockInfo memory b)
        internal
        pure
        returns (Rollup.StoredBlockInfo[] memory bs)
    {
        bs = new Rollup.StoredBlockInfo[](2);
        bs[0] = a;
        bs[1] = b;
    }

    function testAProvenBlockIsRevertedOnlyWithTheOraclesAbandonment() public {
        (Rollup r, Rollup.StoredBlockInfo memory s1, Rollup.StoredBlockInfo memory s2) = _provenRollup();
        Rollup.StoredBlockInfo[] memory top = new Rollup.StoredBlockInfo[](1);
        top[0] = s2;
        // Block 2 is only committed: the operator reverts it alone without anyone's say.
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(Rollup.NotOperator.selector));
        r.revertBlocks(top, new bytes[](0));
        r.revertBlocks(top, new bytes[](0));
        _eq(r.totalBlocksCommitted(), 1, "block 2 reverted");
        Rollup.StoredBlockInfo[] memory one = new Rollup.StoredBlockInfo[](1);
        one[0] = s1;
        // Block 1 is proven: no abandonment, too few signers, strangers' signatures, an
        // abandonment of another block, or the oracles' sync attestation in its place: refused.
        vm.expectRevert(abi.encodeWithSelector(Rollup.BelowThreshold.selector, uint256(0), uint256(2)));
        r.revertBlocks(one, new bytes[](0));
        bytes[] memory forged = _abandon(r, 1, s1.syncHash, 1, 21);
        address stranger = vm.addr(21);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BadSigner.selector, stranger));
        r.revertBlocks(one, forged);
        bytes[] memory otherBlock = _abandon(r, 1, bytes32(uint256(s1.syncHash) ^ 1), 1, 2);
        vm.expectPartialRevert(Rollup.BadSigner.selector);
        r.revertBlocks(one, otherBlock);
        bytes32 syncDigest = keccak256(
            abi.encodePacked("\x19Ethereum Signed Message:\n32", r.attestationDigest(1, s1.syncHash, r.chainsMask()))
        );
        bytes[] memory sync = new bytes[](2);
        (uint256 lo, uint256 hi) = vm.addr(1) < vm.addr(2) ? (uint256(1), uint256(2)) : (uint256(2), uint256(1));
        sync[0] = _sign(lo, syncDigest);
        sync[1] = _sign(hi, syncDigest);
        vm.expectPartialRevert(Rollup.BadSigner.selector);
        r.revertBlocks(one, sync);
        _eq(r.totalBlocksProven(), 1, "still proven");
        // The oracles' abandonment of block 1: reverted.
        bytes[] memory abandonment = _abandon(r, 1, s1.syncHash, 2, 3);
        r.revertBlocks(one, abandonment);
        _eq(r.totalBlocksCommitted(), 0, "reverted");
        _eq(r.totalBlocksProven(), 0, "unproven");
        require(r.provenSyncHash(1) == bytes32(0) && r.proveDeadline(1) == 0, "cleared");
    }

    function testASyncedBlockIsNeverReverted() public {
        (Rollup r, Rollup.StoredBlockInfo memory s1,) = _provenRollup();
        uint256 mask = r.chainsMask();
        bytes32 d =
            keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", r.attestationDigest(1, s1.syncHash, mask)));
        bytes[] memory sigs = new bytes[](2);
        (uint256 lo, uint256 hi) = vm.addr(1) < vm.addr(2) ? (uint256(1), uint256(2)) : (uint256(2), uint256(1));
        sigs[0] = _sign(lo, d);
        sigs[1] = _sign(hi, d);
        r.receiveSyncAttestation(1, s1.syncHash, mask, sigs);
        // Even with the block above reverted and an abandonment signed by the oracles (which honest
        // oracles never sign for a synced block), block 1 stays.
        (, Rollup.StoredBlockInfo memory s2) = _block(s1);
        bytes[] memory abandonment = _abandon(r, 1, s1.syncHash, 1, 2);
        vm.expectRevert(abi.encodeWithSelector(Rollup.CannotRevert.selector, uint32(1)));
        r.revertBlocks(_newestFirst(s2, s1), abandonment);
        // Anyone executes it (no operator needed).
        Rollup.ExecuteBlockInfo[] memory e = new Rollup.ExecuteBlockInfo[](1);
        e[0].storedBlock = s1;
        e[0].onchainOps = new bytes[](0);
        vm.prank(STRANGER);
        r.executeBlocks(e);
        _eq(r.totalBlocksExecuted(), 1, "executed by a stranger");
        require(r.lastExecutedChainRoot() == bytes32(uint256(501)), "its chain root");
    }

    function testNoProofAfterTheProveWindow() public {
        Rollup.Config memory c = _config(2);
        c.verifier = address(new AcceptingVerifier());
        _own(c);
        Rollup r = new Rollup(c);
        Rollup saved = rollup;
        rollup = r;
        (Rollup.CommitBlockInfo memory b1, Rollup.StoredBlockInfo memory s1) = _block(_genesis());
        rollup = saved;
        r.commitBlocks(_genesis(), _one(b1), _approve(AUDITOR_KEY, r, s1));
        vm.warp(block.timestamp + PROVE_WINDOW + 1);
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.ProveWindowPassed.selector, uint32(1), uint64(s1.timestamp + PROVE_WINDOW))
        );
        r.proveBlocks(_proofInput(s1, b1.pubdataHashes));
    }

    function testExodusWaitsForEveryProvenBlock() public {
        (Rollup r, Rollup.StoredBlockInfo memory s1, Rollup.StoredBlockInfo memory s2) = _provenRollup();
        r.depositETH{value: 1 ether}(ALICE);
        vm.warp(block.timestamp + 3601);
        r.activateExodusMode();
        // Block 1 is proven and not settled: no refund, no exit yet.
        vm.expectRevert(abi.encodeWithSelector(Rollup.PendingBlocks.selector, uint32(0), uint32(1)));
        r.refundDeposit(0, ALICE, 0, 1 ether);
        Rollup.ExitProof memory p;
        vm.expectRevert(abi.encodeWithSelector(Rollup.PendingBlocks.selector, uint32(0), uint32(1)));
        r.exit(p);
        // Its abandonment, applied by anyone in exodus mode, settles it.
        bytes[] memory abandonment = _abandon(r, 1, s1.syncHash, 1, 3);
        vm.prank(STRANGER);
        r.revertBlocks(_newestFirst(s2, s1), abandonment);
        r.refundDeposit(0, ALICE, 0, 1 ether);
        _eq(r.pendingBalance(address(this), 0), 1 ether, "refunded once settled");
    }

    function testExodusAfterASyncedBlockExitsFromItsState() public {
        (Rollup r, Rollup.StoredBlockInfo memory s1,) = _provenRollup();
        r.depositETH{value: 1 ether}(ALICE);
        vm.warp(block.timestamp + 3601);
        r.activateExodusMode();
        // The attestation arrives in exodus mode and a stranger executes the block.
        uint256 mask = r.chainsMask();
        bytes32 d =
            keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", r.attestationDigest(1, s1.syncHash, mask)));
        bytes[] memory sigs = new bytes[](2);
        (uint256 lo, uint256 hi) = vm.addr(2) < vm.addr(3) ? (uint256(2), uint256(3)) : (uint256(3), uint256(2));
        sigs[0] = _sign(lo, d);
        sigs[1] = _sign(hi, d);
        vm.prank(STRANGER);
        r.receiveSyncAttestation(1, s1.syncHash, mask, sigs);
        Rollup.ExecuteBlockInfo[] memory e = new Rollup.ExecuteBlockInfo[](1);
        e[0].storedBlock = s1;
        e[0].onchainOps = new bytes[](0);
        vm.prank(STRANGER);
        r.executeBlocks(e);
        require(r.lastExecutedChainRoot() == bytes32(uint256(501)), "exits prove against block 1's root");
        r.refundDeposit(0, ALICE, 0, 1 ether);
        _eq(r.pendingBalance(address(this), 0), 1 ether, "refunded once settled");
    }

    receive() external payable {}
}
