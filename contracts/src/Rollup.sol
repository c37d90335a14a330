// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PoseidonT5} from "./PoseidonT5.sol";
import {ExitVerifier} from "./ExitVerifier.sol";
import {ProofInputs} from "./ProofInputs.sol";

/// Minimal ERC-20 surface the vault uses.
interface IERC20 {
    function balanceOf(address owner) external view returns (uint256);
    function decimals() external view returns (uint8);
}

/// The generated block verifier (crates/prover/src/verifier.rs): every chain proof (one key) and
/// every binding proof (the other key) against its public input, in one batched pairing check.
interface IBlockVerifier {
    function verifyProofs(
        uint256[] calldata chainInputs,
        uint256[8][] calldata chainProofs,
        uint256[] calldata bindingInputs,
        uint256[8][] calldata bindingProofs
    ) external view returns (bool);
}

/// The rollup's contract on one connected chain: this chain's token vault, its priority queue, and
/// the four stages of every L2 block — commit, prove, consensus (oracle attestations that every
/// chain proved the same block), execute — plus pending balances, reverts, exodus and governance.
/// Byte layouts: docs/PROTOCOL.md. Design: docs/CONTRACTS.md.
contract Rollup {
    // ---------------------------------------------------------------- protocol constants
    uint256 internal constant CHUNK_BYTES = 16;
    uint256 internal constant MAX_AMOUNT = (1 << 112) - 1;
    uint256 internal constant MAX_TOKENS = 512;
    uint256 internal constant MAX_ACCOUNTS = (1 << 24) - 512;
    uint256 internal constant ACCOUNT_TREE_DEPTH = 12;
    uint256 internal constant BALANCE_TREE_DEPTH = 5;
    /// The most chunks of one chain's part of a block (a bound on the commit's calldata and walk;
    /// the part is proven in sub-blocks of `proofChunks`).
    uint256 internal constant MAX_CHUNKS = 65536;
    /// Inputs of the proofs are reduced below 2^253 (the top three bits of a SHA-256 cleared).
    uint256 internal constant INPUT_MASK = (1 << 253) - 1;
    /// How far in the future a block's timestamp may be (the operator's clock may run ahead).
    uint256 internal constant TIMESTAMP_SLACK = 15 minutes;

    uint8 internal constant OP_NOOP = 0x00;
    uint8 internal constant OP_DEPOSIT = 0x01;
    uint8 internal constant OP_FULL_EXIT = 0x02;
    uint8 internal constant OP_CHANGE_PUBKEY = 0x03;
    uint8 internal constant OP_WITHDRAW = 0x05;
    uint8 internal constant OP_DEPOSIT_REFUND = 0x0d;

    // ---------------------------------------------------------------- types
    /// What the contract keeps of a committed block (only its hash is stored).
    struct StoredBlockInfo {
        uint32 blockNumber;
        uint64 timestamp;
        /// This chain's priority operations consumed by the block.
        uint64 priorityOperations;
        bytes32 oldFinalRoot;
        bytes32 newFinalRoot;
        /// This chain's pubdata hash: sha256 of its sub-block hashes (`pubdataHashOf`).
        bytes32 pubdataHash;
        bytes32 onchainOpsHash;
        bytes32 commitment;
        bytes32 syncHash;
    }

    /// A block to commit on this chain.
    struct CommitBlockInfo {
        uint32 blockNumber;
        uint64 timestamp;
        bytes32 newFinalRoot;
        /// This chain's pubdata (whole 16-byte chunks, unpadded).
        bytes pubdata;
        /// Every connected chain's pubdata hash, ascending chain id (this chain's must match).
        bytes32[] pubdataHashes;
        /// Every connected chain's onchain-ops hash, ascending chain id (this chain's must match).
        bytes32[] onchainOpsHashes;
        /// The owner's ECDSA authorisation of each ChangePubKey in the pubdata, in order.
        bytes[] changePubKeyAuth;
    }

    /// One chain's public values in a block: its part split into S >= 1 sub-blocks, each proven by
    /// its own chain proof (docs/CONTRACTS.md, "Sub-blocks").
    struct ChainProof {
        /// S + 1 roots: the chain's old root, the roots between sub-blocks, its new root.
        bytes32[] roots;
        /// The S sub-block hashes h_k; their sha256 is the chain's committed pubdata hash.
        bytes32[] pubdataHashes;
        /// The S - 1 carries between sub-blocks (opaque to the contract: each is passed to the
        /// proofs of the two sub-blocks it joins).
        bytes32[] carries;
        /// The chain's final links fold, shared with the binding proof.
        bytes32 linksHash;
    }

    /// A committed block to prove, with the public values of every connected chain (ascending id).
    struct ProofInput {
        StoredBlockInfo storedBlock;
        ChainProof[] chains;
    }

    /// A synced block to execute, with this chain's onchain operations (their pubdata bytes).
    struct ExecuteBlockInfo {
        StoredBlockInfo storedBlock;
        bytes[] onchainOps;
    }

    /// An L1 request the operator must include in order (deposits, full exits).
    struct PriorityRequest {
        /// keccak of the fields the pubdata must repeat (see `_depositHash`, `_fullExitHash`).
        bytes32 hash;
        uint64 expiresAt;
        /// The depositor (refunds go back to it); zero for full exits.
        address from;
    }

    /// An account's balance in the last executed state, with its Merkle proof (exodus).
    struct ExitProof {
        uint32 accountId;
        uint16 token;
        uint128 amount;
        address owner;
        uint256 pubkeyHash;
        uint32 nonce;
        /// Balance tree, leaf level first: the three siblings of each level.
        uint256[3][5] balancePath;
        /// State tree, leaf level first.
        uint256[3][12] accountPath;
    }

    /// Deployment parameters.
    struct Config {
        uint8 chainId;
        /// Connected rollup chain ids, strictly ascending; includes `chainId`.
        uint8[] chains;
        /// Per connected chain (same order): the EVM chain id it settles on and its rollup
        /// contract. This chain's entry must be `(block.chainid, address(this))`.
        uint64[] evmChainIds;
        address[] rollups;
        address verifier;
        address poseidon;
        address governor;
        address[] operators;
        address[] oracles;
        uint8 oracleThreshold;
        uint64 priorityExpiry;
        /// Distinguishes this network's attestations from any other deployment's.
        bytes32 networkId;
        /// The independent auditor whose signature every commit needs (rotated by governance).
        address auditor;
        /// Seconds after a block's L2 timestamp during which it may be proven; after that no
        /// chain proves it, which is what lets the oracles abandon a block some chain never
        /// proved (docs/CONTRACTS.md, "Reverts and abandonment").
        uint64 proveWindow;
        bytes32 genesisFinalRoot;
        bytes32 genesisChainRoot;
        /// P: the chunks of one sub-block, i.e. the chain circuit's capacity (4 ..= 4096; every
        /// operation has at most 4 chunks, so every split is possible).
        uint16 proofChunks;
    }

    // ---------------------------------------------------------------- errors
    error NotGovernor();
    error NotOperator();
    error Exodus();
    error NotExodus();
    error BadConfig(string what);
    error BadDeposit(string what);
    error UnknownToken(uint16 token);
    error TokenExists(address token);
    error TooManyTokens();
    error TransferFailed();
    error BlockNumber(uint32 expected, uint32 got);
    error StoredBlockMismatch(uint32 blockNumber);
    error BadTimestamp(uint64 timestamp);
    error BadPubdata(string what, uint256 offset);
    error UnknownOp(uint8 code, uint256 offset);
    error PriorityOpMismatch(uint64 serialId, uint256 offset);
    error NotEnoughPriorityRequests();
    error BadChangePubKeyAuth(uint256 offset);
    error ChainValues(string what);
    error CommitmentMismatch(uint32 blockNumber);
    error InvalidProof(uint32 blockNumber);
    error NotProven(uint32 blockNumber);
    error AlreadySynced(uint32 blockNumber);
    error SyncHashMismatch(uint32 blockNumber);
    error AttestationChains(uint256 mask);
    error BelowThreshold(uint256 valid, uint256 threshold);
    error BadSigner(address signer);
    error NotSynced(uint32 blockNumber);
    error OnchainOpsMismatch(uint32 blockNumber);
    error CannotRevert(uint32 blockNumber);
    error BadApproval(uint32 blockNumber);
    error ProveWindowPassed(uint32 blockNumber, uint64 deadline);
    error PendingBlocks(uint32 executed, uint32 proven);
    error NoExpiredRequest();
    error AlreadyExited(uint32 accountId, uint16 token);
    error BadExitProof();
    error NotRefundable(uint64 serialId);
    error InsufficientPending(uint256 pending, uint256 amount);
    error Reentrancy();
    error AuthFactSet(address owner, uint32 nonce);

    // ---------------------------------------------------------------- events
    event TokenAdded(uint16 indexed tokenId, address indexed token, uint8 decimals);
    /// A priority request: `op` is its canonical queue encoding (docs/PROTOCOL.md).
    event PriorityRequestQueued(uint64 indexed serialId, uint8 opType, bytes op, uint64 expiresAt);
    event BlockCommitted(uint32 indexed blockNumber, bytes32 commitment, bytes32 syncHash);
    event BlockProven(uint32 indexed blockNumber, bytes32 finalRoot, bytes32 syncHash);
    event BlockSynced(uint32 indexed blockNumber, bytes32 syncHash);
    event BlockExecuted(uint32 indexed blockNumber);
    event BlocksReverted(uint32 totalCommitted, uint32 totalProven);
    event PendingBalanceCredited(address indexed owner, uint16 indexed token, uint128 amount);
    event Withdrawn(address indexed owner, uint16 indexed token, uint128 amount);
    event ExodusActivated(uint64 expiredSerialId);
    event ExodusExit(uint32 indexed accountId, uint16 indexed token, address owner, uint128 amount);
    event DepositRefunded(uint64 indexed serialId, address indexed to, uint16 token, uint128 amount);
    event OperatorSet(address indexed operator, bool active);
    event OraclesSet(address[] oracles, uint8 threshold);
    event GovernorSet(address governor);
    event AuditorSet(address auditor);
    event BlocksAbandoned(uint32 blockNumber, bytes32 syncHash);
    /// An owner authorised, on L1, the key change of its account at `nonce` (see `setAuthPubkeyHash`).
    event AuthPubkeyHashSet(
        address indexed owner, uint32 nonce, uint32 accountId, bytes20 pubkeyHash, uint16 feeToken, uint128 fee
    );

    // ---------------------------------------------------------------- state
    uint8 public immutable chainId;
    /// Bit `c` set for every connected chain `c`.
    uint256 public immutable chainsMask;
    uint256 internal immutable chainCount;
    /// Position of this chain among the connected chains.
    uint256 internal immutable ownIndex;
    address public immutable verifier;
    PoseidonT5 public immutable poseidon;
    /// The Merkle part of exodus exits, created by the constructor (see `ExitVerifier`).
    ExitVerifier public immutable exitVerifier;
    /// The pure part of `proveBlocks` (lengths, commitments, public inputs), created by the
    /// constructor (see `ProofInputs`).
    ProofInputs public immutable proofInputs;
    /// Chunks per sub-block (`Config.proofChunks`).
    uint16 public immutable proofChunks;
    uint64 public immutable priorityExpiry;
    uint64 public immutable proveWindow;
    bytes32 public immutable networkId;
    /// The deployment domain every user signature and every chain proof is bound to:
    /// keccak256("rollup domain v1" ‖ networkId ‖ (chain ‖ evmChainId ‖ rollup)*) mod 2^253
    /// (docs/PROTOCOL.md, "Deployment domain").
    bytes32 public immutable domain;
    uint8[] internal chainIds;

    address public governor;
    address public auditor;
    mapping(address => bool) public isOperator;
    address[] internal oracleList;
    mapping(address => bool) public isOracle;
    uint8 public oracleThreshold;

    /// Token id => token contract (id 0 is ETH, address 0).
    mapping(uint16 => address) public tokenAddress;
    mapping(uint16 => uint8) public tokenDecimals;
    mapping(address => uint16) internal tokenIdPlusOne;
    uint16 public tokenCount;

    mapping(uint64 => PriorityRequest) public priorityRequests;
    /// First request not yet executed.
    uint64 public firstPriorityRequest;
    /// Requests opened so far.
    uint64 public totalPriorityRequests;
    /// Requests consumed by committed blocks.
    uint64 public totalCommittedPriorityRequests;

    mapping(uint32 => bytes32) public storedBlockHashes;
    uint32 public totalBlocksCommitted;
    uint32 public totalBlocksProven;
    uint32 public totalBlocksSynced;
    uint32 public totalBlocksExecuted;
    /// Per proven block: its sync hash and this chain's new state root.
    mapping(uint32 => bytes32) public provenSyncHash;
    mapping(uint32 => bytes32) public provenChainRoot;
    /// Per proven, unexecuted block: the last L1 time any chain may prove it (its L2 timestamp
    /// plus `proveWindow`), read by the oracles to decide abandonment.
    mapping(uint32 => uint64) public proveDeadline;
    /// This chain's state root after the last executed block (what exodus exits prove against).
    bytes32 public lastExecutedChainRoot;
    bytes32 public lastExecutedFinalRoot;

    mapping(address => mapping(uint16 => uint128)) public pendingBalance;

    bool public exodusMode;
    mapping(uint32 => mapping(uint16 => bool)) public exited;

    /// Key changes authorised on L1 (for owners that cannot `personal_sign`, such as contract
    /// wallets): owner => account nonce => keccak256(accountId ‖ pubkeyHash ‖ feeToken ‖ fee).
    mapping(address => mapping(uint32 => bytes32)) public authFacts;

    uint256 private locked = 1;

    modifier onlyGovernor() {
        if (msg.sender != governor) revert NotGovernor();
        _;
    }

    modifier onlyOperator() {
        if (!isOperator[msg.sender]) revert NotOperator();
        _;
    }

    modifier active() {
        if (exodusMode) revert Exodus();
        _;
    }

    modifier nonReentrant() {
        if (locked != 1) revert Reentrancy();
        locked = 2;
        _;
        locked = 1;
    }

    constructor(Config memory c) {
        if (c.chains.length == 0 || c.chains.length > 8) revert BadConfig("chains");
        if (c.evmChainIds.length != c.chains.length || c.rollups.length != c.chains.length) {
            revert BadConfig("peers");
        }
        uint256 mask;
        uint256 own = type(uint256).max;
        bytes memory peers;
        for (uint256 i = 0; i < c.chains.length; i++) {
            uint8 id = c.chains[i];
            if (id == 0 || id > 8 || (i > 0 && id <= c.chains[i - 1])) revert BadConfig("chain ids");
            mask |= 1 << id;
            if (id == c.chainId) own = i;
            chainIds.push(id);
            peers = abi.encodePacked(peers, id, c.evmChainIds[i], c.rollups[i]);
        }
        if (own == type(uint256).max) revert BadConfig("own chain not connected");
        // No deployment can claim the domain of another on this chain: its own entry is checked.
        if (c.evmChainIds[own] != block.chainid || c.rollups[own] != address(this)) revert BadConfig("own peer");
        domain = bytes32(uint256(keccak256(abi.encodePacked("rollup domain v1", c.networkId, peers))) & INPUT_MASK);
        if (c.verifier.code.length == 0 || c.poseidon.code.length == 0) revert BadConfig("code");
        if (c.governor == address(0)) revert BadConfig("governor");
        if (c.priorityExpiry == 0) revert BadConfig("priority expiry");
        if (c.auditor == address(0)) revert BadConfig("auditor");
        if (c.proveWindow == 0 || c.proveWindow > 365 days) revert BadConfig("prove window");
        if (c.proofChunks < 4 || c.proofChunks > 4096) revert BadConfig("proof chunks");
        chainId = c.chainId;
        chainsMask = mask;
        chainCount = c.chains.length;
        ownIndex = own;
        verifier = c.verifier;
        poseidon = PoseidonT5(c.poseidon);
        exitVerifier = new ExitVerifier(PoseidonT5(c.poseidon));
        proofInputs = new ProofInputs(domain, c.chains);
        proofChunks = c.proofChunks;
        priorityExpiry = c.priorityExpiry;
        proveWindow = c.proveWindow;
        networkId = c.networkId;
        governor = c.governor;
        auditor = c.auditor;
        emit AuditorSet(c.auditor);
        for (uint256 i = 0; i < c.operators.length; i++) {
            isOperator[c.operators[i]] = true;
            emit OperatorSet(c.operators[i], true);
        }
        _setOracles(c.oracles, c.oracleThreshold);
        tokenCount = 1; // ETH
        tokenDecimals[0] = 18;
        emit TokenAdded(0, address(0), 18);
        StoredBlockInfo memory genesis;
        genesis.newFinalRoot = c.genesisFinalRoot;
        genesis.syncHash = keccak256("");
        storedBlockHashes[0] = hashStoredBlockInfo(genesis);
        provenSyncHash[0] = genesis.syncHash;
        provenChainRoot[0] = c.genesisChainRoot;
        lastExecutedChainRoot = c.genesisChainRoot;
        lastExecutedFinalRoot = c.genesisFinalRoot;
    }

    // ================================================================ governance
    function setGovernor(address g) external onlyGovernor {
        if (g == address(0)) revert BadConfig("governor");
        governor = g;
        emit GovernorSet(g);
    }

    /// Rotates the auditor key: from now on commits need the new auditor's approval.
    function setAuditor(address a) external onlyGovernor {
        if (a == address(0)) revert BadConfig("auditor");
        auditor = a;
        emit AuditorSet(a);
    }

    function setOperator(address operator, bool isActive) external onlyGovernor {
        isOperator[operator] = isActive;
        emit OperatorSet(operator, isActive);
    }

    function setOracles(address[] calldata oracles, uint8 threshold) external onlyGovernor {
        _setOracles(oracles, threshold);
    }

    function _setOracles(address[] memory oracles, uint8 threshold) internal {
        if (threshold == 0 || threshold > oracles.length) revert BadConfig("oracle threshold");
        for (uint256 i = 0; i < oracleList.length; i++) {
            isOracle[oracleList[i]] = false;
        }
        delete oracleList;
        for (uint256 i = 0; i < oracles.length; i++) {
            if (oracles[i] == address(0) || isOracle[oracles[i]]) revert BadConfig("oracle set");
            isOracle[oracles[i]] = true;
            oracleList.push(oracles[i]);
        }
        oracleThreshold = threshold;
        emit OraclesSet(oracles, threshold);
    }

    function oracleSet() external view returns (address[] memory) {
        return oracleList;
    }

    function connectedChains() external view returns (uint8[] memory) {
        return chainIds;
    }

    /// Registers an ERC-20 token under the next token id (its decimals are recorded as reported;
    /// L2 amounts are in the token's base units).
    function addToken(address token) external onlyGovernor returns (uint16 id) {
        if (token == address(0) || token.code.length == 0) revert BadConfig("token");
        if (tokenIdPlusOne[token] != 0) revert TokenExists(token);
        if (tokenCount >= MAX_TOKENS) revert TooManyTokens();
        uint8 decimals = IERC20(token).decimals();
        id = tokenCount++;
        tokenAddress[id] = token;
        tokenDecimals[id] = decimals;
        tokenIdPlusOne[token] = id + 1;
        emit TokenAdded(id, token, decimals);
    }

    function tokenId(address token) external view returns (uint16) {
        uint16 v = tokenIdPlusOne[token];
        if (v == 0) revert BadConfig("unknown token");
        return v - 1;
    }

    // ================================================================ priority queue
    /// Deposits ETH to the L2 account of `to` (created on first deposit).
    function depositETH(address to) external payable active {
        _deposit(to, 0, msg.value);
    }

    /// Deposits `amount` of an ERC-20 token (approved beforehand). The amount credited is what the
    /// vault actually received, so fee-on-transfer tokens cannot inflate L2 balances.
    function depositERC20(address token, uint128 amount, address to) external active nonReentrant {
        uint16 v = tokenIdPlusOne[token];
        if (v == 0) revert BadDeposit("unknown token");
        uint256 before = IERC20(token).balanceOf(address(this));
        _call(token, abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), amount)); // transferFrom
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        _deposit(to, v - 1, received);
    }

    function _deposit(address to, uint16 token, uint256 amount) internal {
        if (to == address(0)) revert BadDeposit("zero recipient");
        if (amount == 0) revert BadDeposit("zero amount");
        if (amount > MAX_AMOUNT) revert BadDeposit("amount above 2^112 - 1");
        bytes memory op = abi.encodePacked(
            OP_DEPOSIT, chainId, totalPriorityRequests, msg.sender, to, token, uint112(amount)
        );
        _queue(OP_DEPOSIT, op, _depositHash(token, amount, to), msg.sender);
    }

    /// Requests the whole balance of `token` of account `accountId` to be withdrawn to the caller,
    /// if the caller owns the account. The operator must process it before it expires.
    function requestFullExit(uint32 accountId, uint16 token) external active {
        if (accountId >= MAX_ACCOUNTS) revert BadConfig("account id");
        if (token >= tokenCount) revert UnknownToken(token);
        bytes memory op = abi.encodePacked(
            OP_FULL_EXIT, chainId, totalPriorityRequests, uint24(accountId), msg.sender, token
        );
        _queue(OP_FULL_EXIT, op, _fullExitHash(accountId, token, msg.sender), address(0));
    }

    /// Authorises, as the caller, the ChangePubKey of account `accountId` at `nonce` to
    /// `pubkeyHash` with exactly this fee (token and amount as the ChangePubKey carries them):
    /// a commit then takes that ChangePubKey with an empty signature. A fact is set once per
    /// (owner, nonce) and never changes, so an operator that saw it can include the change
    /// without racing the owner; an owner that set a wrong key still has the full exit.
    function setAuthPubkeyHash(uint32 accountId, bytes20 pubkeyHash, uint32 nonce, uint16 feeToken, uint128 fee)
        external
        active
    {
        if (authFacts[msg.sender][nonce] != bytes32(0)) revert AuthFactSet(msg.sender, nonce);
        authFacts[msg.sender][nonce] = _authFact(accountId, pubkeyHash, feeToken, fee);
        emit AuthPubkeyHashSet(msg.sender, nonce, accountId, pubkeyHash, feeToken, fee);
    }

    function _authFact(uint32 accountId, bytes20 pubkeyHash, uint16 feeToken, uint256 fee)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(accountId, pubkeyHash, feeToken, fee));
    }

    function _queue(uint8 opType, bytes memory op, bytes32 h, address from) internal {
        uint64 serial = totalPriorityRequests;
        uint64 expiresAt = uint64(block.timestamp) + priorityExpiry;
        priorityRequests[serial] = PriorityRequest({hash: h, expiresAt: expiresAt, from: from});
        totalPriorityRequests = serial + 1;
        emit PriorityRequestQueued(serial, opType, op, expiresAt);
    }

    function _depositHash(uint16 token, uint256 amount, address to) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(OP_DEPOSIT, token, uint112(amount), to));
    }

    function _fullExitHash(uint32 accountId, uint16 token, address owner) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(OP_FULL_EXIT, uint24(accountId), token, owner));
    }

    // ================================================================ stage 1: commit
    /// Commits `blocks` after `lastCommitted`. Each needs `approvals[i]`, the auditor's signature
    /// over `approvalDigest(blockNumber, syncHash)` of the block as this contract computes it, so
    /// committing takes two independent keys: the operator's (the sender) and the auditor's.
    function commitBlocks(
        StoredBlockInfo calldata lastCommitted,
        CommitBlockInfo[] calldata blocks,
        bytes[] calldata approvals
    ) external onlyOperator active {
        _checkStored(lastCommitted);
        if (lastCommitted.blockNumber != totalBlocksCommitted) {
            revert BlockNumber(totalBlocksCommitted, lastCommitted.blockNumber);
        }
        if (approvals.length != blocks.length) revert ChainValues("approval count");
        StoredBlockInfo memory prev = lastCommitted;
        for (uint256 i = 0; i < blocks.length; i++) {
            prev = _commitOne(prev, blocks[i]);
            if (_recover(approvalDigest(prev.blockNumber, prev.syncHash), approvals[i]) != auditor) {
                revert BadApproval(prev.blockNumber);
            }
            storedBlockHashes[prev.blockNumber] = hashStoredBlockInfo(prev);
            emit BlockCommitted(prev.blockNumber, prev.commitment, prev.syncHash);
        }
        totalBlocksCommitted = prev.blockNumber;
    }

    function _commitOne(StoredBlockInfo memory prev, CommitBlockInfo calldata b)
        internal
        returns (StoredBlockInfo memory s)
    {
        if (b.blockNumber != prev.blockNumber + 1) revert BlockNumber(prev.blockNumber + 1, b.blockNumber);
        if (b.timestamp < prev.timestamp || b.timestamp > block.timestamp + TIMESTAMP_SLACK) {
            revert BadTimestamp(b.timestamp);
        }
        if (b.pubdataHashes.length != chainCount || b.onchainOpsHashes.length != chainCount) {
            revert ChainValues("hash count");
        }
        (bytes32 onchainOpsHash, uint64 priorityOps, bytes32 pubdataHash) =
            _processPubdata(b.pubdata, b.changePubKeyAuth);
        if (b.pubdataHashes[ownIndex] != pubdataHash) revert ChainValues("own pubdata hash");
        if (b.onchainOpsHashes[ownIndex] != onchainOpsHash) revert ChainValues("own onchain ops hash");
        s.blockNumber = b.blockNumber;
        s.timestamp = b.timestamp;
        s.priorityOperations = priorityOps;
        s.oldFinalRoot = prev.newFinalRoot;
        s.newFinalRoot = b.newFinalRoot;
        s.pubdataHash = pubdataHash;
        s.onchainOpsHash = onchainOpsHash;
        s.commitment = _commitment(b.blockNumber, b.timestamp, prev.newFinalRoot, b.newFinalRoot, b.pubdataHashes);
        s.syncHash = keccak256(abi.encodePacked(prev.syncHash, s.commitment, b.onchainOpsHashes));
    }

    /// Walks this chain's pubdata: every op code known and whole; priority ops equal to the queue
    /// in order; ChangePubKey authorised by its owner; the split into sub-blocks. Returns the
    /// onchain-ops hash, the number of priority requests consumed and the pubdata hash.
    function _processPubdata(bytes calldata pd, bytes[] calldata auth)
        internal
        returns (bytes32 h, uint64 priorityOps, bytes32 pubdataHash)
    {
        if (pd.length % CHUNK_BYTES != 0) revert BadPubdata("not whole chunks", pd.length);
        if (pd.length > MAX_CHUNKS * CHUNK_BYTES) revert BadPubdata("above the largest capacity", pd.length);
        h = keccak256("");
        Split memory split = _newSplit(pd.length / CHUNK_BYTES);
        uint64 serial = totalCommittedPriorityRequests;
        uint256 authUsed;
        uint256 off;
        while (off < pd.length) {
            uint8 code = uint8(pd[off]);
            uint256 len = opChunks(code, off) * CHUNK_BYTES;
            if (off + len > pd.length) revert BadPubdata("truncated operation", off);
            _take(split, pd, off, len);
            bytes calldata op = pd[off:off + len];
            if (code == OP_DEPOSIT || code == OP_DEPOSIT_REFUND || code == OP_FULL_EXIT) {
                if (serial >= totalPriorityRequests) revert NotEnoughPriorityRequests();
                bytes32 expected = code == OP_FULL_EXIT
                    ? _fullExitHash(uint32(_u(op, 1, 3)), uint16(_u(op, 4, 2)), address(uint160(_u(op, 20, 20))))
                    : _depositHash(uint16(_u(op, 4, 2)), _u(op, 6, 14), address(uint160(_u(op, 20, 20))));
                if (priorityRequests[serial].hash != expected) revert PriorityOpMismatch(serial, off);
                serial++;
                priorityOps++;
            } else if (code == OP_CHANGE_PUBKEY) {
                if (authUsed >= auth.length) revert BadChangePubKeyAuth(off);
                _checkChangePubKey(op, auth[authUsed++], off);
            }
            if (code == OP_DEPOSIT || code == OP_DEPOSIT_REFUND || code == OP_FULL_EXIT
                || code == OP_CHANGE_PUBKEY || code == OP_WITHDRAW)
            {
                h = keccak256(abi.encodePacked(h, op));
            }
            off += len;
        }
        if (authUsed != auth.length) revert BadChangePubKeyAuth(pd.length);
        totalCommittedPriorityRequests = serial;
        pubdataHash = _finish(split, pd);
    }

    /// The greedy split of one chain's pubdata into sub-blocks of at most `proofChunks` chunks, in
    /// progress: the open sub-block starts at byte `start` and holds `used` bytes; `count` closed
    /// sub-blocks have their hashes in `hashes`; `buf` is the scratch of one padded sub-block
    /// (P chunks).
    struct Split {
        uint256 start;
        uint256 used;
        uint256 count;
        bytes32[] hashes;
        bytes buf;
    }

    /// A split of a part of `chunks` chunks. Room for the hashes: two neighbouring sub-blocks hold
    /// more than P chunks together (the second's first op did not fit in the first), so S sub-blocks
    /// hold at least floor(S/2)·(P+1) chunks and S <= 2·floor(chunks/(P+1)) + 1.
    function _newSplit(uint256 chunks) internal view returns (Split memory s) {
        s.hashes = new bytes32[](2 * (chunks / (uint256(proofChunks) + 1)) + 1);
        s.buf = new bytes(uint256(proofChunks) * CHUNK_BYTES);
    }

    /// Adds the op of `len` bytes at byte `off` of `pd`: into the open sub-block if it fits,
    /// otherwise it closes that sub-block and opens the next. (An op never exceeds P chunks, so an
    /// empty sub-block is never closed here.)
    function _take(Split memory s, bytes calldata pd, uint256 off, uint256 len) internal view {
        if (s.used + len > s.buf.length) {
            _close(s, pd, off);
        }
        s.used += len;
    }

    /// Closes the open sub-block at byte `end`: h = sha256(its bytes zero-padded to P chunks).
    function _close(Split memory s, bytes calldata pd, uint256 end) internal view {
        bytes memory buf = s.buf;
        uint256 start = s.start;
        assembly ("memory-safe") {
            let p := add(buf, 32)
            let len := sub(end, start)
            calldatacopy(p, add(pd.offset, start), len)
            // Calldata reads as zeros past its end: this zeroes what an earlier sub-block left.
            calldatacopy(add(p, len), calldatasize(), sub(mload(buf), len))
        }
        s.hashes[s.count++] = sha256(buf);
        s.start = end;
        s.used = 0;
    }

    /// Closes the last sub-block (an empty part has one, empty, sub-block) and returns the chain's
    /// pubdata hash: sha256(h_0 ‖ … ‖ h_{S-1}).
    function _finish(Split memory s, bytes calldata pd) internal view returns (bytes32) {
        _close(s, pd, pd.length);
        bytes32[] memory hashes = s.hashes;
        uint256 count = s.count;
        assembly ("memory-safe") {
            mstore(hashes, count)
        }
        return sha256(abi.encodePacked(hashes));
    }

    /// The pubdata hash of a chain's part `pubdata` (valid pubdata, as a commit checks it): split
    /// greedily into sub-blocks of at most `proofChunks` chunks, h_k = sha256(sub-block k
    /// zero-padded to `proofChunks` chunks), the hash sha256(h_0 ‖ … ‖ h_{S-1}).
    function pubdataHashOf(bytes calldata pubdata) public view returns (bytes32) {
        Split memory split = _newSplit(pubdata.length / CHUNK_BYTES);
        uint256 off;
        while (off < pubdata.length) {
            uint256 len = opChunks(uint8(pubdata[off]), off) * CHUNK_BYTES;
            _take(split, pubdata, off, len);
            off += len;
        }
        return _finish(split, pubdata);
    }

    /// What the auditor signs to approve block `blockNumber` (a raw hash, no personal_sign
    /// prefix). The sync hash chains the block's commitment (number, timestamp, old and new final
    /// roots, every chain's pubdata hash) to every chain's onchain-ops hash and to the previous
    /// block's sync hash, so it fixes exactly what every chain stores for the block; binding the
    /// network id stops a replay from another deployment. Same bytes as `rollup_l1::approval`.
    function approvalDigest(uint32 blockNumber, bytes32 syncHash) public view returns (bytes32) {
        return keccak256(abi.encodePacked("rollup auditor approval v2", networkId, blockNumber, syncHash));
    }

    /// ChangePubKey pubdata: code account3 pkh20 address20 nonce4 fee_token2 fee2. Either the owner
    /// signed (personal_sign) 0x03 chain account3 pkh20 nonce4 fee_token2 fee2 domain32, or the
    /// signature is empty and the owner set the change's fact on this contract beforehand.
    function _checkChangePubKey(bytes calldata op, bytes calldata sig, uint256 off) internal view {
        address owner = address(uint160(_u(op, 24, 20)));
        if (owner == address(0)) revert BadChangePubKeyAuth(off);
        if (sig.length == 0) {
            uint256 packedFee = _u(op, 50, 2);
            bytes32 fact = _authFact(
                uint32(_u(op, 1, 3)), bytes20(op[4:24]), uint16(_u(op, 48, 2)), (packedFee >> 5) * 10 ** (packedFee & 31)
            );
            if (authFacts[owner][uint32(_u(op, 44, 4))] != fact) revert BadChangePubKeyAuth(off);
            return;
        }
        bytes memory message = abi.encodePacked(OP_CHANGE_PUBKEY, chainId, op[1:24], op[44:52], domain);
        bytes32 digest = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n65", message));
        if (_recover(digest, sig) != owner) revert BadChangePubKeyAuth(off);
    }

    /// Chunks of an operation by its code (docs/PROTOCOL.md); unknown codes are refused.
    function opChunks(uint8 code, uint256 off) public pure returns (uint256) {
        if (code == 0x00 || code == 0x04 || code == 0x08 || code == 0x09 || code == 0x0e) return 1;
        if (code == 0x06 || code == 0x07 || code == 0x0a || code == 0x0b || code == 0x0c) return 2;
        if (code == 0x01 || code == 0x02 || code == 0x05 || code == 0x0d) return 3;
        if (code == 0x03) return 4;
        revert UnknownOp(code, off);
    }

    function _commitment(uint32 n, uint64 ts, bytes32 oldFinal, bytes32 newFinal, bytes32[] memory hashes)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(n, ts, oldFinal, newFinal, hashes));
    }

    // ================================================================ stage 2: prove
    /// Proves `inputs`, the next committed blocks in order, with every sub-block's chain proof
    /// (`chainProofs`: per block, per chain in ascending id, its S proofs in order) and one binding
    /// proof per block (`bindingProofs`, in order): (A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x,
    /// C.y). The contract computes every public input itself from the calldata it checks against
    /// the commitments, and checks all the proofs with one call to the verifier (one batched
    /// pairing check), so a batch costs one set of fixed pairings however many blocks it holds.
    /// The lengths, the commitments and the inputs are `proofInputs`' (it takes these very
    /// arguments: the calldata is forwarded, and its errors are passed on); the block numbers,
    /// the stored blocks and the prove deadlines are checked here.
    function proveBlocks(
        ProofInput[] calldata inputs,
        uint256[8][] calldata chainProofs,
        uint256[8][] calldata bindingProofs
    ) external onlyOperator active {
        (bool ok, bytes memory ret) =
            address(proofInputs).staticcall(abi.encodePacked(ProofInputs.verifierCall.selector, msg.data[4:]));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        if (inputs.length == 0) return;
        uint32 first = totalBlocksProven + 1;
        for (uint256 i = 0; i < inputs.length; i++) {
            _checkProvable(inputs[i].storedBlock, first + uint32(i));
        }
        (ok, ret) = verifier.staticcall(abi.decode(ret, (bytes)));
        if (!ok || ret.length != 32 || abi.decode(ret, (uint256)) != 1) revert InvalidProof(first);
        for (uint256 i = 0; i < inputs.length; i++) {
            _markProven(inputs[i]);
        }
        totalBlocksProven = first + uint32(inputs.length - 1);
        // (`chainProofs` and `bindingProofs` are read through the forwarded calldata only.)
        chainProofs;
        bindingProofs;
    }

    /// Checks that `b` is block `n`, the next to prove: committed, stored as given, within its
    /// prove window.
    function _checkProvable(StoredBlockInfo calldata b, uint32 n) internal view {
        if (b.blockNumber != n || n > totalBlocksCommitted) revert BlockNumber(n, b.blockNumber);
        _checkStored(b);
        uint64 deadline = b.timestamp + proveWindow;
        if (block.timestamp > deadline) revert ProveWindowPassed(n, deadline);
    }

    /// Records a verified block: its sync hash, this chain's new root and its prove deadline.
    function _markProven(ProofInput calldata p) internal {
        StoredBlockInfo calldata b = p.storedBlock;
        bytes32[] calldata roots = p.chains[ownIndex].roots;
        uint32 n = b.blockNumber;
        provenSyncHash[n] = b.syncHash;
        provenChainRoot[n] = roots[roots.length - 1];
        proveDeadline[n] = b.timestamp + proveWindow;
        emit BlockProven(n, b.newFinalRoot, b.syncHash);
    }

    // ================================================================ stage 3: consensus
    /// The digest oracles sign (personal_sign of these 32 bytes): every connected chain (`chains`,
    /// a bit per chain id) proved block `blockNumber` with `syncHash`.
    function attestationDigest(uint32 blockNumber, bytes32 syncHash, uint256 chains) public view returns (bytes32) {
        return keccak256(abi.encodePacked("rollup-sync-attestation", networkId, blockNumber, syncHash, chains));
    }

    /// Accepts an attestation signed by at least `oracleThreshold` distinct registered oracles
    /// (signatures ordered by signer address, strictly ascending). Marks this block — and, by the
    /// sync-hash chain, every block before it — synced.
    /// Open in exodus mode too: a block every chain proved may still be synced and executed here
    /// (and must be, before anyone exits: see `exit`).
    function receiveSyncAttestation(uint32 blockNumber, bytes32 syncHash, uint256 chains, bytes[] calldata signatures)
        external
    {
        if (blockNumber <= totalBlocksSynced) revert AlreadySynced(blockNumber);
        if (blockNumber > totalBlocksProven) revert NotProven(blockNumber);
        if (provenSyncHash[blockNumber] != syncHash) revert SyncHashMismatch(blockNumber);
        if (chains != chainsMask) revert AttestationChains(chains);
        _checkOracles(attestationDigest(blockNumber, syncHash, chains), signatures);
        totalBlocksSynced = blockNumber;
        emit BlockSynced(blockNumber, syncHash);
    }

    /// Checks `signatures` (personal_sign of `digest`) come from at least `oracleThreshold`
    /// distinct registered oracles, ordered by signer address, strictly ascending.
    function _checkOracles(bytes32 digest, bytes[] calldata signatures) internal view {
        bytes32 signed = keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", digest));
        address last;
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = _recover(signed, signatures[i]);
            if (!isOracle[signer] || signer <= last) revert BadSigner(signer);
            last = signer;
        }
        if (signatures.length < oracleThreshold) revert BelowThreshold(signatures.length, oracleThreshold);
    }

    // ================================================================ stage 4: execute
    /// Anyone may execute a synced block, in exodus mode too: once the oracles attest that every
    /// chain proved it, its effects are due on every chain, and an operator that executes it on
    /// one chain and withholds it on another must not be able to (docs/CONTRACTS.md).
    function executeBlocks(ExecuteBlockInfo[] calldata blocks) external {
        for (uint256 i = 0; i < blocks.length; i++) {
            _executeOne(blocks[i]);
        }
    }

    function _executeOne(ExecuteBlockInfo calldata e) internal {
        StoredBlockInfo calldata b = e.storedBlock;
        uint32 n = totalBlocksExecuted + 1;
        if (b.blockNumber != n) revert BlockNumber(n, b.blockNumber);
        if (n > totalBlocksSynced) revert NotSynced(n);
        _checkStored(b);
        bytes32 h = keccak256("");
        uint64 serial = firstPriorityRequest;
        for (uint256 i = 0; i < e.onchainOps.length; i++) {
            bytes calldata op = e.onchainOps[i];
            h = keccak256(abi.encodePacked(h, op));
            uint8 code = uint8(op[0]);
            if (code == OP_DEPOSIT) {
                delete priorityRequests[serial++];
            } else if (code == OP_DEPOSIT_REFUND) {
                _credit(priorityRequests[serial].from, uint16(_u(op, 4, 2)), uint128(_u(op, 6, 14)));
                delete priorityRequests[serial++];
            } else if (code == OP_FULL_EXIT) {
                _credit(address(uint160(_u(op, 20, 20))), uint16(_u(op, 4, 2)), uint128(_u(op, 6, 14)));
                delete priorityRequests[serial++];
            } else if (code == OP_WITHDRAW) {
                _credit(address(uint160(_u(op, 22, 20))), uint16(_u(op, 4, 2)), uint128(_u(op, 6, 14)));
            }
        }
        if (h != b.onchainOpsHash || serial - firstPriorityRequest != b.priorityOperations) {
            revert OnchainOpsMismatch(n);
        }
        firstPriorityRequest = serial;
        totalBlocksExecuted = n;
        lastExecutedChainRoot = provenChainRoot[n];
        lastExecutedFinalRoot = b.newFinalRoot;
        delete provenChainRoot[n - 1];
        delete proveDeadline[n];
        emit BlockExecuted(n);
    }

    function _credit(address owner, uint16 token, uint128 amount) internal {
        if (amount == 0) return;
        pendingBalance[owner][token] += amount;
        emit PendingBalanceCredited(owner, token, amount);
    }

    /// Pays `amount` of `owner`'s pending balance to `owner` (anyone may trigger it).
    function withdrawPendingBalance(address payable owner, uint16 token, uint128 amount) external nonReentrant {
        uint128 pending = pendingBalance[owner][token];
        if (amount > pending) revert InsufficientPending(pending, amount);
        pendingBalance[owner][token] = pending - amount;
        if (token == 0) {
            (bool ok,) = owner.call{value: amount}("");
            if (!ok) revert TransferFailed();
        } else {
            if (token >= tokenCount) revert UnknownToken(token);
            _call(tokenAddress[token], abi.encodeWithSelector(0xa9059cbb, owner, amount)); // transfer
        }
        emit Withdrawn(owner, token, amount);
    }

    // ================================================================ revert
    /// What the oracles sign (personal_sign of these 32 bytes) to abandon block `blockNumber`
    /// with `syncHash`: its prove window has passed on every chain and not every chain proved it,
    /// so it can never be synced (docs/CONTRACTS.md). Domain-separated from the sync attestation.
    function abandonmentDigest(uint32 blockNumber, bytes32 syncHash) public view returns (bytes32) {
        return keccak256(abi.encodePacked("rollup-abandon-attestation", networkId, blockNumber, syncHash));
    }

    /// Reverts the newest committed blocks (given newest first). A synced block is never
    /// reverted: every chain proved it and it must be executed everywhere. A block proven here
    /// but not synced is reverted only with the oracles' abandonment of the lowest proven block
    /// being reverted (`abandonment`: signatures as for a sync attestation; the blocks above it
    /// chain their sync hashes through it, so they can never be synced either); unproven blocks
    /// need none. The operator reverts while the chain is active; in exodus mode anyone may, so
    /// that exits are not blocked by an abandoned block (see `exit`).
    function revertBlocks(StoredBlockInfo[] calldata blocks, bytes[] calldata abandonment) external {
        if (!exodusMode && !isOperator[msg.sender]) revert NotOperator();
        uint32 top = totalBlocksCommitted;
        for (uint256 i = 0; i < blocks.length; i++) {
            StoredBlockInfo calldata b = blocks[i];
            if (b.blockNumber != top) revert BlockNumber(top, b.blockNumber);
            if (top <= totalBlocksSynced) revert CannotRevert(top);
            _checkStored(b);
            top--;
        }
        uint32 proven = totalBlocksProven;
        if (top < proven) {
            uint32 lowest = top + 1;
            bytes32 h = provenSyncHash[lowest];
            _checkOracles(abandonmentDigest(lowest, h), abandonment);
            emit BlocksAbandoned(lowest, h);
        }
        for (uint32 n = totalBlocksCommitted; n > top; n--) {
            delete storedBlockHashes[n];
            delete provenSyncHash[n];
            delete provenChainRoot[n];
            delete proveDeadline[n];
            totalCommittedPriorityRequests -= blocks[totalBlocksCommitted - n].priorityOperations;
        }
        totalBlocksCommitted = top;
        if (proven > top) totalBlocksProven = top;
        emit BlocksReverted(top, totalBlocksProven);
    }

    // ================================================================ exodus
    /// Anyone may switch this chain to exodus mode once the oldest unexecuted priority request has
    /// expired: no more blocks; users leave with proofs against the last executed state.
    function activateExodusMode() external active {
        uint64 first = firstPriorityRequest;
        if (first >= totalPriorityRequests || priorityRequests[first].expiresAt >= block.timestamp) {
            revert NoExpiredRequest();
        }
        exodusMode = true;
        emit ExodusActivated(first);
    }

    /// Exodus leaves only from a settled state: every block proven here must first be executed
    /// (it was synced: anyone may deliver the attestation and execute it, in exodus mode too) or
    /// reverted (it was abandoned by the oracles). Otherwise an operator could execute a block on
    /// another chain (paying out a swap's output there) and let users exit here from the state
    /// before it (keeping the swap's input too).
    modifier settled() {
        if (!exodusMode) revert NotExodus();
        if (totalBlocksExecuted != totalBlocksProven) revert PendingBlocks(totalBlocksExecuted, totalBlocksProven);
        _;
    }

    /// Exodus: credits an account's balance in the last executed state of this chain to its owner,
    /// once per (account, token), on a Merkle proof (docs/PROTOCOL.md tree layout).
    function exit(ExitProof calldata p) external settled {
        if (p.accountId >= MAX_ACCOUNTS || p.token >= tokenCount) revert BadExitProof();
        if (exited[p.accountId][p.token]) revert AlreadyExited(p.accountId, p.token);
        bytes32 root = exitVerifier.chainRoot(
            p.accountId, p.token, p.amount, p.owner, p.pubkeyHash, p.nonce, p.balancePath, p.accountPath
        );
        if (root != lastExecutedChainRoot) revert BadExitProof();
        exited[p.accountId][p.token] = true;
        _credit(p.owner, p.token, p.amount);
        emit ExodusExit(p.accountId, p.token, p.owner, p.amount);
    }

    /// Exodus: refunds a deposit that no executed block processed, to its depositor. The caller
    /// repeats the deposit's fields (the queue keeps only their hash).
    /// Waits for a settled state like `exit`: a proven block that consumed the deposit may still
    /// be executed, and then the deposit lives in the L2 state.
    function refundDeposit(uint64 serialId, address to, uint16 token, uint128 amount) external settled {
        PriorityRequest memory r = priorityRequests[serialId];
        if (
            serialId < firstPriorityRequest || r.from == address(0)
                || r.hash != _depositHash(token, amount, to)
        ) revert NotRefundable(serialId);
        delete priorityRequests[serialId];
        _credit(r.from, token, amount);
        emit DepositRefunded(serialId, r.from, token, amount);
    }

    // ================================================================ helpers
    function hashStoredBlockInfo(StoredBlockInfo memory b) public pure returns (bytes32) {
        return keccak256(abi.encode(b));
    }

    function _checkStored(StoredBlockInfo calldata b) internal view {
        if (storedBlockHashes[b.blockNumber] != hashStoredBlockInfo(b)) revert StoredBlockMismatch(b.blockNumber);
    }

    /// `len` big-endian bytes of `data` at `off` (the caller has checked the bounds).
    function _u(bytes calldata data, uint256 off, uint256 len) internal pure returns (uint256 v) {
        assembly {
            v := shr(sub(256, mul(len, 8)), calldataload(add(data.offset, off)))
        }
    }

    /// ecrecover of a 65-byte r‖s‖v signature; low-s and v ∈ {27, 28} only (no malleability).
    function _recover(bytes32 digest, bytes calldata sig) internal pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0) return address(0);
        if (v != 27 && v != 28) return address(0);
        return ecrecover(digest, v, r, s);
    }

    /// A token call that tolerates tokens returning nothing, and fails on `false` or a revert.
    function _call(address token, bytes memory data) internal {
        (bool ok, bytes memory ret) = token.call(data);
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool))) || token.code.length == 0) revert TransferFailed();
    }
}
