// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Rollup, IBlockVerifier} from "../src/Rollup.sol";
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
    /// Expects exactly `count` calls (of any kind, staticcalls included) to `callee` with `data`.
    function expectCall(address callee, bytes calldata data, uint64 count) external;
}

/// Stands in for the block verifier in the unit tests that never prove (the real generated
/// verifier is exercised by crates/prover/tests/prove.rs and crates/l1/tests/stages.rs).
contract NoVerifier is IBlockVerifier {
    function verifyProofs(uint256[] calldata, uint256[8][] calldata, uint256[] calldata, uint256[8][] calldata)
        external
        pure
        returns (bool)
    {
        return false;
    }
}

/// Accepts every batch whose lengths match (as the generated verifier requires): for the unit
/// tests of the bookkeeping around proven blocks (revert, abandonment, exodus). Real proofs
/// against the generated verifier: crates/prover/tests/prove.rs, crates/l1/tests/stages.rs.
contract AcceptingVerifier is IBlockVerifier {
    function verifyProofs(
        uint256[] calldata chainInputs,
        uint256[8][] calldata chainProofs,
        uint256[] calldata bindingInputs,
        uint256[8][] calldata bindingProofs
    ) external pure returns (bool) {
        return chainInputs.length == chainProofs.length && bindingInputs.length == bindingProofs.length
            && chainInputs.length > 0 && bindingInputs.length > 0;
    }
}

/// Accepts exactly the batch it was told to expect (`expect`): the public inputs the rollup
/// computed and the proofs it passed on, in order. The rollup calls it with a staticcall, so it
/// records nothing; the tests count the calls with `vm.expectCall`.
contract CheckingVerifier is IBlockVerifier {
    bytes32 public expected;

    function expect(
        uint256[] calldata chainInputs,
        uint256[8][] calldata chainProofs,
        uint256[] calldata bindingInputs,
        uint256[8][] calldata bindingProofs
    ) external {
        expected = keccak256(abi.encode(chainInputs, chainProofs, bindingInputs, bindingProofs));
    }

    function verifyProofs(
        uint256[] calldata chainInputs,
        uint256[8][] calldata chainProofs,
        uint256[] calldata bindingInputs,
        uint256[8][] calldata bindingProofs
    ) external view returns (bool) {
        if (chainInputs.length != chainProofs.length || bindingInputs.length != bindingProofs.length) return false;
        return keccak256(abi.encode(chainInputs, chainProofs, bindingInputs, bindingProofs)) == expected;
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
    /// Chunks per sub-block of the default rollup (`Config.proofChunks`).
    uint16 internal constant P = 16;
    /// What the contract reduces every proof input modulo.
    uint256 internal constant INPUT_MASK = (1 << 253) - 1;

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
            genesisChainRoot: bytes32(uint256(2)),
            proofChunks: P
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
    /// h = sha256(`sub` zero-padded to `p` chunks): one sub-block's hash, computed here by hand.
    function _padded(bytes memory sub, uint256 p) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(sub, new bytes(p * 16 - sub.length)));
    }

    /// An operation of `chunks` chunks with code `code` (the rest of its bytes a marker).
    function _op(uint8 code, uint256 chunks, uint8 marker) internal pure returns (bytes memory op) {
        op = new bytes(chunks * 16);
        op[0] = bytes1(code);
        for (uint256 i = 1; i < op.length; i++) {
            op[i] = bytes1(marker);
        }
    }

    function testPubdataHashOfOneSubBlockPadsToProofChunks() public view {
        bytes memory pd = new bytes(32);
        pd[0] = 0x04;
        pd[16] = 0x04;
        bytes32 h = _padded(pd, P);
        require(rollup.pubdataHashOf(pd) == sha256(abi.encodePacked(h)), "one sub-block");
        // The empty part is one empty sub-block.
        require(
            rollup.pubdataHashOf("") == sha256(abi.encodePacked(sha256(new bytes(uint256(P) * 16)))), "empty part"
        );
        // A part of exactly P one-chunk operations is one full sub-block.
        bytes memory full = new bytes(uint256(P) * 16);
        require(rollup.pubdataHashOf(full) == sha256(abi.encodePacked(sha256(full))), "one full sub-block");
    }

    /// A rollup like the default one with sub-blocks of `p` chunks.
    function _rollupWithProofChunks(uint16 p, address verifier) internal returns (Rollup r) {
        Rollup.Config memory c = _config(2);
        c.proofChunks = p;
        if (verifier != address(0)) c.verifier = verifier;
        _own(c);
        r = new Rollup(c);
    }

    /// A part of six ops for sub-blocks of 5 chunks, split greedily as the spec says:
    /// [transfer 1, add liquidity 2] (3 chunks: the withdrawal's 3 do not fit) |
    /// [withdraw 3, transfer 1, noop 1] (exactly full) | [create account 2]. Returns the part and
    /// its three sub-blocks.
    function _threeSubBlocks() internal pure returns (bytes memory pd, bytes[] memory subs) {
        subs = new bytes[](3);
        subs[0] = abi.encodePacked(_op(0x04, 1, 0x11), _op(0x06, 2, 0x22));
        subs[1] = abi.encodePacked(_op(0x05, 3, 0x33), _op(0x04, 1, 0x44), _op(0x00, 1, 0x00));
        subs[2] = _op(0x0a, 2, 0x55);
        pd = abi.encodePacked(subs[0], subs[1], subs[2]);
    }

    function _subBlockHashes(bytes[] memory subs, uint256 p) internal pure returns (bytes32[] memory hs) {
        hs = new bytes32[](subs.length);
        for (uint256 k = 0; k < subs.length; k++) {
            hs[k] = _padded(subs[k], p);
        }
    }

    function testPubdataHashOfSplitsGreedilyIntoSubBlocks() public {
        Rollup r = _rollupWithProofChunks(5, address(0));
        (bytes memory pd, bytes[] memory subs) = _threeSubBlocks();
        bytes32[] memory hs = _subBlockHashes(subs, 5);
        require(r.pubdataHashOf(pd) == sha256(abi.encodePacked(hs[0], hs[1], hs[2])), "three sub-blocks");
        // Not the hash of the part padded whole, nor of another split.
        require(r.pubdataHashOf(pd) != sha256(abi.encodePacked(_padded(pd, 10))), "not padded whole");
        // The empty part: one empty sub-block of 5 chunks.
        require(r.pubdataHashOf("") == sha256(abi.encodePacked(sha256(new bytes(5 * 16)))), "empty part");
        // The smallest sub-blocks (4 chunks) hold one ChangePubKey each; two make two sub-blocks.
        Rollup r4 = _rollupWithProofChunks(4, address(0));
        bytes memory cpk = _op(0x03, 4, 0x66);
        require(
            r4.pubdataHashOf(abi.encodePacked(cpk, cpk)) == sha256(abi.encodePacked(sha256(cpk), sha256(cpk))),
            "two full sub-blocks"
        );
    }

    function testConfigRefusesProofChunksOutOfRange() public {
        uint16[2] memory bad = [uint16(3), uint16(4097)];
        for (uint256 i = 0; i < 2; i++) {
            Rollup.Config memory c = _config(2);
            c.proofChunks = bad[i];
            _own(c);
            vm.expectRevert(abi.encodeWithSelector(Rollup.BadConfig.selector, "proof chunks"));
            new Rollup(c);
        }
        _eq(_rollupWithProofChunks(4, address(0)).proofChunks(), 4, "4 is the least");
        _eq(_rollupWithProofChunks(4096, address(0)).proofChunks(), 4096, "4096 the most");
    }

    function testTheRollupCreatesItsHelpers() public view {
        require(address(rollup.exitVerifier()).code.length > 0, "exit verifier deployed");
        require(address(rollup.exitVerifier().poseidon()) == address(poseidon), "with the rollup's Poseidon");
        require(address(rollup.proofInputs()).code.length > 0, "proof inputs deployed");
        require(rollup.proofInputs().domain() == rollup.domain(), "with the rollup's domain");
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

    /// Chain 2's single sub-block hash in the blocks of `_block` (its pubdata hash is its sha256).
    bytes32 internal constant OTHER_H = bytes32(uint256(7));

    /// An empty block `n` after `prev` (no operations on this chain: one empty sub-block; chain 2
    /// one sub-block of hash `OTHER_H`), and what the contract will store for it.
    function _block(Rollup.StoredBlockInfo memory prev)
        internal
        view
        returns (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s)
    {
        return _blockWith(prev, "", rollup.pubdataHashOf(""), keccak256(""), sha256(abi.encodePacked(OTHER_H)));
    }

    /// Block `n` after `prev` with this chain's part `pd` (of pubdata hash `own` and onchain-ops
    /// hash `ownOps`) and chain 2's pubdata hash `other`, and what the contract will store for it.
    function _blockWith(Rollup.StoredBlockInfo memory prev, bytes memory pd, bytes32 own, bytes32 ownOps, bytes32 other)
        internal
        view
        returns (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s)
    {
        b.blockNumber = prev.blockNumber + 1;
        b.timestamp = uint64(block.timestamp);
        b.newFinalRoot = bytes32(uint256(100 + b.blockNumber));
        b.pubdata = pd;
        b.pubdataHashes = new bytes32[](2);
        b.pubdataHashes[0] = own;
        b.pubdataHashes[1] = other;
        b.onchainOpsHashes = new bytes32[](2);
        b.onchainOpsHashes[0] = ownOps;
        b.onchainOpsHashes[1] = bytes32(uint256(8));
        b.changePubKeyAuth = new bytes[](0);
        s.blockNumber = b.blockNumber;
        s.timestamp = b.timestamp;
        s.oldFinalRoot = prev.newFinalRoot;
        s.newFinalRoot = b.newFinalRoot;
        s.pubdataHash = own;
        s.onchainOpsHash = ownOps;
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
        b.pubdataHashes[0] = rollup.pubdataHashOf(b.pubdata);
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
    /// The proof input of a block of `_block`: one sub-block per chain, this chain's new root
    /// 500 + n.
    function _proofInput(Rollup.StoredBlockInfo memory s) internal pure returns (Rollup.ProofInput[] memory p) {
        p = new Rollup.ProofInput[](1);
        p[0].storedBlock = s;
        p[0].chains = new Rollup.ChainProof[](2);
        bytes32[] memory own = new bytes32[](1);
        own[0] = sha256(new bytes(uint256(P) * 16));
        p[0].chains[0] = _oneSubBlock(own[0], bytes32(uint256(500 + s.blockNumber)));
        p[0].chains[1] = _oneSubBlock(OTHER_H, bytes32(uint256(600 + s.blockNumber)));
    }

    function _oneSubBlock(bytes32 h, bytes32 newRoot) internal pure returns (Rollup.ChainProof memory cp) {
        cp.roots = new bytes32[](2);
        cp.roots[1] = newRoot;
        cp.pubdataHashes = new bytes32[](1);
        cp.pubdataHashes[0] = h;
        cp.carries = new bytes32[](0);
    }

    /// `proveBlocks(p)` with as many (empty) proofs as it takes: one per sub-block, one per block.
    function _prove(Rollup r, Rollup.ProofInput[] memory p) internal {
        uint256 total;
        for (uint256 i = 0; i < p.length; i++) {
            for (uint256 c = 0; c < p[i].chains.length; c++) {
                total += p[i].chains[c].pubdataHashes.length;
            }
        }
        r.proveBlocks(p, new uint256[8][](total), new uint256[8][](p.length));
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
        _prove(r, _proofInput(s1));
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
        Rollup.ProofInput[] memory p = _proofInput(s1); // (its sha256 is a call: before expectRevert)
        vm.expectRevert(
            abi.encodeWithSelector(Rollup.ProveWindowPassed.selector, uint32(1), uint64(s1.timestamp + PROVE_WINDOW))
        );
        _prove(r, p);
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

    // ---- sub-blocks: commit, proof inputs, batching
    /// A rollup with sub-blocks of 5 chunks and a verifier that checks what it is given.
    function _subBlockRollup() internal returns (Rollup r, CheckingVerifier v) {
        v = new CheckingVerifier();
        r = _rollupWithProofChunks(5, address(v));
    }

    /// Chain 2's sub-block hashes in the sub-block tests: two of them.
    function _otherHashes() internal pure returns (bytes32[] memory hs) {
        hs = new bytes32[](2);
        hs[0] = bytes32(uint256(0x0710));
        hs[1] = bytes32(uint256(0x0711));
    }

    /// Block `prev + 1` on a rollup of 5-chunk sub-blocks: this chain's part `_threeSubBlocks`
    /// (its withdrawal an onchain op) when `split`, else empty; chain 2's part `_otherHashes`.
    function _subBlockBlock(Rollup.StoredBlockInfo memory prev, bool split)
        internal
        view
        returns (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s, bytes32[] memory own)
    {
        bytes memory pd;
        bytes32 ops = keccak256("");
        if (split) {
            bytes[] memory subs;
            (pd, subs) = _threeSubBlocks();
            own = _subBlockHashes(subs, 5);
            ops = keccak256(abi.encodePacked(ops, _op(0x05, 3, 0x33)));
        } else {
            own = new bytes32[](1);
            own[0] = sha256(new bytes(5 * 16));
        }
        (b, s) = _blockWith(prev, pd, sha256(abi.encodePacked(own)), ops, sha256(abi.encodePacked(_otherHashes())));
    }

    /// A chain's values for sub-block hashes `hs`: roots tag·100 + k, carries tag·1000 + k, links
    /// hash tag·7777 (opaque to the contract).
    function _chainProof(uint256 tag, bytes32[] memory hs) internal pure returns (Rollup.ChainProof memory cp) {
        uint256 s = hs.length;
        cp.roots = new bytes32[](s + 1);
        for (uint256 k = 0; k <= s; k++) {
            cp.roots[k] = bytes32(tag * 100 + k);
        }
        cp.pubdataHashes = new bytes32[](s);
        for (uint256 k = 0; k < s; k++) {
            cp.pubdataHashes[k] = hs[k];
        }
        cp.carries = new bytes32[](s - 1);
        for (uint256 k = 0; k + 1 < s; k++) {
            cp.carries[k] = bytes32(tag * 1000 + k);
        }
        cp.linksHash = bytes32(tag * 7777);
    }

    function _subBlockInput(Rollup.StoredBlockInfo memory s, bytes32[] memory own, uint256 tag)
        internal
        pure
        returns (Rollup.ProofInput memory p)
    {
        p.storedBlock = s;
        p.chains = new Rollup.ChainProof[](2);
        p.chains[0] = _chainProof(tag, own);
        p.chains[1] = _chainProof(tag + 1, _otherHashes());
    }

    /// The spec's chain proof input of sub-block k, written out byte by byte:
    /// sha256(domain(32) ‖ chain(1) ‖ n(4) ‖ last(1) ‖ root_k ‖ root_k+1 ‖ h_k ‖ carry_in ‖ carry_out)
    /// & (2^253 - 1).
    function _specChainInput(bytes32 domain, uint8 chain, uint32 n, Rollup.ChainProof memory cp, uint256 k)
        internal
        pure
        returns (uint256)
    {
        uint256 s = cp.pubdataHashes.length;
        bool last = k == s - 1;
        bytes32 carryIn = k == 0 ? bytes32(0) : cp.carries[k - 1];
        bytes32 carryOut = last ? cp.linksHash : cp.carries[k];
        bytes memory pre = abi.encodePacked(domain, bytes1(chain), bytes4(n), last ? bytes1(0x01) : bytes1(0x00));
        require(pre.length == 38, "38 bytes before the roots");
        return uint256(
            sha256(abi.encodePacked(pre, cp.roots[k], cp.roots[k + 1], cp.pubdataHashes[k], carryIn, carryOut))
        ) & INPUT_MASK;
    }

    /// The spec's binding input: sha256(n ‖ oldFinalRoot ‖ newFinalRoot ‖ per chain (roots[0] ‖
    /// roots[S] ‖ linksHash)) & (2^253 - 1).
    function _specBindingInput(Rollup.ProofInput memory p) internal pure returns (uint256) {
        bytes memory perChain;
        for (uint256 c = 0; c < p.chains.length; c++) {
            Rollup.ChainProof memory cp = p.chains[c];
            perChain = abi.encodePacked(perChain, cp.roots[0], cp.roots[cp.roots.length - 1], cp.linksHash);
        }
        Rollup.StoredBlockInfo memory b = p.storedBlock;
        return uint256(sha256(abi.encodePacked(bytes4(b.blockNumber), b.oldFinalRoot, b.newFinalRoot, perChain)))
            & INPUT_MASK;
    }

    /// Every input of `ps` in the spec's order (per block, per chain ascending, per sub-block) and
    /// distinct stand-in proofs for them.
    function _expected(Rollup r, Rollup.ProofInput[] memory ps)
        internal
        view
        returns (uint256[] memory ci, uint256[8][] memory cpf, uint256[] memory bi, uint256[8][] memory bpf)
    {
        uint256 total;
        for (uint256 i = 0; i < ps.length; i++) {
            for (uint256 c = 0; c < ps[i].chains.length; c++) {
                total += ps[i].chains[c].pubdataHashes.length;
            }
        }
        ci = new uint256[](total);
        cpf = new uint256[8][](total);
        bi = new uint256[](ps.length);
        bpf = new uint256[8][](ps.length);
        uint256 next;
        for (uint256 i = 0; i < ps.length; i++) {
            for (uint256 c = 0; c < ps[i].chains.length; c++) {
                for (uint256 k = 0; k < ps[i].chains[c].pubdataHashes.length; k++) {
                    ci[next] = _specChainInput(r.domain(), uint8(c + 1), ps[i].storedBlock.blockNumber, ps[i].chains[c], k);
                    cpf[next] = [next + 1, 2, 3, 4, 5, 6, 7, 8];
                    next++;
                }
            }
            bi[i] = _specBindingInput(ps[i]);
            bpf[i] = [1000 + i, 2, 3, 4, 5, 6, 7, 8];
        }
    }

    function _commitSubBlocks(Rollup r, Rollup.StoredBlockInfo memory prev, bool split)
        internal
        returns (Rollup.StoredBlockInfo memory s, bytes32[] memory own)
    {
        Rollup.CommitBlockInfo memory b;
        (b, s, own) = _subBlockBlock(prev, split);
        r.commitBlocks(prev, _one(b), _approve(AUDITOR_KEY, r, s));
    }

    function testCommitStoresTheHashOfTheSubBlockHashes() public {
        (Rollup r,) = _subBlockRollup();
        (Rollup.CommitBlockInfo memory b, Rollup.StoredBlockInfo memory s, bytes32[] memory own) =
            _subBlockBlock(_genesis(), true);
        _eq(own.length, 3, "three sub-blocks");
        require(s.pubdataHash == sha256(abi.encodePacked(own[0], own[1], own[2])), "hash of the hashes");
        // The part's hash padded whole (the old rule) is not this chain's pubdata hash.
        (Rollup.CommitBlockInfo memory whole,,) = _subBlockBlock(_genesis(), true);
        whole.pubdataHashes[0] = _padded(whole.pubdata, 16);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "own pubdata hash"));
        r.commitBlocks(_genesis(), _one(whole), new bytes[](1));
        r.commitBlocks(_genesis(), _one(b), _approve(AUDITOR_KEY, r, s));
        require(r.storedBlockHashes(1) == r.hashStoredBlockInfo(s), "stored with the sub-blocks' hash");
        require(r.pubdataHashOf(b.pubdata) == s.pubdataHash, "pubdataHashOf agrees");
    }

    function testProveBlocksWithSubBlocksPassesTheSpecsInputs() public {
        (Rollup r, CheckingVerifier v) = _subBlockRollup();
        (Rollup.StoredBlockInfo memory s, bytes32[] memory own) = _commitSubBlocks(r, _genesis(), true);
        Rollup.ProofInput[] memory ps = new Rollup.ProofInput[](1);
        ps[0] = _subBlockInput(s, own, 1);
        (uint256[] memory ci, uint256[8][] memory cpf, uint256[] memory bi, uint256[8][] memory bpf) = _expected(r, ps);
        _eq(ci.length, 5, "3 + 2 chain proofs");
        v.expect(ci, cpf, bi, bpf);
        // The chain proofs of two sub-blocks swapped: the verifier refuses, InvalidProof(first).
        uint256[8][] memory swapped = new uint256[8][](5);
        for (uint256 i = 0; i < 5; i++) {
            swapped[i] = cpf[i];
        }
        (swapped[0], swapped[1]) = (cpf[1], cpf[0]);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidProof.selector, uint32(1)));
        r.proveBlocks(ps, swapped, bpf);
        // Control: exactly the spec's inputs and the proofs as given, in one verifier call.
        vm.expectCall(address(v), abi.encodeCall(IBlockVerifier.verifyProofs, (ci, cpf, bi, bpf)), 1);
        r.proveBlocks(ps, cpf, bpf);
        _eq(r.totalBlocksProven(), 1, "proven");
        require(r.provenChainRoot(1) == bytes32(uint256(103)), "this chain's root after its last sub-block");
        require(r.provenSyncHash(1) == s.syncHash, "sync hash");
    }

    function testProveBlocksRefusesSubBlockValuesThatDoNotMatch() public {
        (Rollup r, CheckingVerifier v) = _subBlockRollup();
        (Rollup.StoredBlockInfo memory s, bytes32[] memory own) = _commitSubBlocks(r, _genesis(), true);
        Rollup.ProofInput[] memory ps = new Rollup.ProofInput[](1);
        ps[0] = _subBlockInput(s, own, 1);
        (uint256[] memory ci, uint256[8][] memory cpf, uint256[] memory bi, uint256[8][] memory bpf) = _expected(r, ps);
        v.expect(ci, cpf, bi, bpf);
        // Reordered sub-block hashes hash to another pubdata hash: not what was committed.
        Rollup.ProofInput[] memory bad = new Rollup.ProofInput[](1);
        bad[0] = _subBlockInput(s, own, 1);
        (bad[0].chains[0].pubdataHashes[0], bad[0].chains[0].pubdataHashes[1]) = (own[1], own[0]);
        vm.expectRevert(abi.encodeWithSelector(Rollup.CommitmentMismatch.selector, uint32(1)));
        r.proveBlocks(bad, cpf, bpf);
        // Another chain's sub-block hash dropped (its proof too): also not what was committed.
        bad[0] = _subBlockInput(s, own, 1);
        bytes32[] memory one = new bytes32[](1);
        one[0] = _otherHashes()[0];
        bad[0].chains[1] = _chainProof(2, one);
        vm.expectRevert(abi.encodeWithSelector(Rollup.CommitmentMismatch.selector, uint32(1)));
        r.proveBlocks(bad, new uint256[8][](4), bpf);
        // Roots or carries of the wrong length, no sub-block, a chain missing: "lengths".
        bad[0] = _subBlockInput(s, own, 1);
        bad[0].chains[0].roots = new bytes32[](3);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "lengths"));
        r.proveBlocks(bad, cpf, bpf);
        bad[0] = _subBlockInput(s, own, 1);
        bad[0].chains[0].roots = new bytes32[](5);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "lengths"));
        r.proveBlocks(bad, cpf, bpf);
        bad[0] = _subBlockInput(s, own, 1);
        bad[0].chains[1].carries = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "lengths"));
        r.proveBlocks(bad, cpf, bpf);
        bad[0] = _subBlockInput(s, own, 1);
        bad[0].chains[0].carries = new bytes32[](3);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "lengths"));
        r.proveBlocks(bad, cpf, bpf);
        bad[0] = _subBlockInput(s, own, 1);
        bad[0].chains[1].roots = new bytes32[](1);
        bad[0].chains[1].pubdataHashes = new bytes32[](0);
        bad[0].chains[1].carries = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "lengths"));
        r.proveBlocks(bad, new uint256[8][](3), bpf);
        bad[0] = _subBlockInput(s, own, 1);
        Rollup.ChainProof[] memory first = new Rollup.ChainProof[](1);
        first[0] = bad[0].chains[0];
        bad[0].chains = first;
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "lengths"));
        r.proveBlocks(bad, new uint256[8][](3), bpf);
        // A proof too few or too many, of either kind: "proof count".
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "proof count"));
        r.proveBlocks(ps, new uint256[8][](4), bpf);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "proof count"));
        r.proveBlocks(ps, new uint256[8][](6), bpf);
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "proof count"));
        r.proveBlocks(ps, cpf, new uint256[8][](2));
        vm.expectRevert(abi.encodeWithSelector(Rollup.ChainValues.selector, "proof count"));
        r.proveBlocks(ps, cpf, new uint256[8][](0));
        _eq(r.totalBlocksProven(), 0, "nothing proven");
        r.proveBlocks(ps, cpf, bpf);
        _eq(r.totalBlocksProven(), 1, "control: proven");
    }

    function testTwoBlocksInOneProveCallMakeOneVerifierCall() public {
        (Rollup r, CheckingVerifier v) = _subBlockRollup();
        (Rollup.StoredBlockInfo memory s1, bytes32[] memory own1) = _commitSubBlocks(r, _genesis(), true);
        (Rollup.StoredBlockInfo memory s2, bytes32[] memory own2) = _commitSubBlocks(r, s1, false);
        Rollup.ProofInput[] memory ps = new Rollup.ProofInput[](2);
        ps[0] = _subBlockInput(s1, own1, 1);
        ps[1] = _subBlockInput(s2, own2, 3);
        (uint256[] memory ci, uint256[8][] memory cpf, uint256[] memory bi, uint256[8][] memory bpf) = _expected(r, ps);
        _eq(ci.length, 3 + 2 + 1 + 2, "every sub-block of both blocks");
        _eq(bi.length, 2, "a binding proof per block");
        v.expect(ci, cpf, bi, bpf);
        // The binding proofs in the other order: refused as a whole, nothing proven.
        uint256[8][] memory swapped = new uint256[8][](2);
        (swapped[0], swapped[1]) = (bpf[1], bpf[0]);
        vm.expectRevert(abi.encodeWithSelector(Rollup.InvalidProof.selector, uint32(1)));
        r.proveBlocks(ps, cpf, swapped);
        // Blocks given out of order: block 2 first is refused.
        Rollup.ProofInput[] memory reversed = new Rollup.ProofInput[](2);
        (reversed[0], reversed[1]) = (ps[1], ps[0]);
        vm.expectRevert(abi.encodeWithSelector(Rollup.BlockNumber.selector, uint32(1), uint32(2)));
        r.proveBlocks(reversed, cpf, bpf);
        vm.expectCall(address(v), abi.encodeCall(IBlockVerifier.verifyProofs, (ci, cpf, bi, bpf)), 1);
        r.proveBlocks(ps, cpf, bpf);
        _eq(r.totalBlocksProven(), 2, "both proven");
        require(r.provenChainRoot(1) == bytes32(uint256(103)), "block 1's root");
        require(r.provenChainRoot(2) == bytes32(uint256(301)), "block 2's root");
        require(r.provenSyncHash(1) == s1.syncHash && r.provenSyncHash(2) == s2.syncHash, "sync hashes");
        _eq(r.proveDeadline(2), s2.timestamp + PROVE_WINDOW, "deadlines");
    }

    receive() external payable {}
}
