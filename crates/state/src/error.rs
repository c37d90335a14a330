//! Why a transaction or operation is rejected. Every rejection leaves the state unchanged.

use rollup_types::tx::TxFormatError;
use rollup_types::{AccountId, Address, Amount, ChainId, Nonce, PoolId, TokenId};

/// A rejected transaction or operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The transaction is ill-formed regardless of state.
    #[error("malformed transaction: {0}")]
    Format(#[from] TxFormatError),
    /// The chain is not connected to this network.
    #[error("chain {0} is not connected")]
    ChainNotConnected(ChainId),
    /// No account with this id.
    #[error("unknown account {0}")]
    UnknownAccount(AccountId),
    /// All 2^24 account ids are taken.
    #[error("account space exhausted")]
    AccountSpaceExhausted,
    /// An operation names an address that is not the account's.
    #[error("account {account} has address {expected}, not {got}")]
    AddressMismatch {
        /// Account.
        account: AccountId,
        /// Its address.
        expected: Address,
        /// The address given.
        got: Address,
    },
    /// The account has no L2 key set (ChangePubKey first).
    #[error("account {0} has no L2 key")]
    NoPubKey(AccountId),
    /// The signature's key is not the account's key.
    #[error("signing key does not match account {0}'s key")]
    PubKeyMismatch(AccountId),
    /// The EdDSA signature does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// The L1 (ECDSA) authorisation of a key change is invalid or not from the owner.
    #[error("invalid L1 authorisation: {0}")]
    BadEthAuth(String),
    /// Wrong nonce (replays land here).
    #[error("bad nonce: expected {expected}, got {got}")]
    BadNonce {
        /// The account's nonce on the chain.
        expected: Nonce,
        /// The nonce in the transaction.
        got: Nonce,
    },
    /// Not enough balance.
    #[error("account {account} has {balance} of token {token}, needs {needed}")]
    InsufficientBalance {
        /// Account.
        account: AccountId,
        /// Token or LP slot.
        token: TokenId,
        /// Current balance.
        balance: Amount,
        /// Amount required.
        needed: Amount,
    },
    /// A balance would exceed the amount bound.
    #[error("balance of account {account} in token {token} would exceed the maximum")]
    BalanceOverflow {
        /// Account.
        account: AccountId,
        /// Token or LP slot.
        token: TokenId,
    },
    /// No such pool half on the chain.
    #[error("no pool {pool} on chain {chain}")]
    UnknownPool {
        /// Chain.
        chain: ChainId,
        /// Pool.
        pool: PoolId,
    },
    /// The pool id is already used.
    #[error("pool {pool} already exists on chain {chain}")]
    PoolExists {
        /// Chain.
        chain: ChainId,
        /// Pool.
        pool: PoolId,
    },
    /// A reserve or LP supply would exceed the amount bound.
    #[error("pool {0} reserve or supply would exceed the maximum")]
    PoolOverflow(PoolId),
    /// The pool cannot serve the trade (empty reserve, output ≥ reserve, zero output or shares).
    #[error("pool {0} has insufficient liquidity for this trade")]
    InsufficientLiquidity(PoolId),
    /// The output is below the signed minimum.
    #[error("slippage: output {got} below minimum {min}")]
    Slippage {
        /// Signed minimum.
        min: Amount,
        /// Actual output.
        got: Amount,
    },
    /// A priority operation out of queue order.
    #[error(
        "priority operation on chain {chain} out of order: expected serial {expected}, got {got}"
    )]
    PriorityOutOfOrder {
        /// Chain.
        chain: ChainId,
        /// Next expected serial id.
        expected: u64,
        /// Serial id given.
        got: u64,
    },
    /// The transaction is valid but does not fit the current block (it would need another fee
    /// slot on a chain); it goes into the next block.
    #[error("block full: retry in the next block")]
    BlockFull,
    /// A replayed operation is inconsistent with the state (only reachable from pubdata that the
    /// native rules would never produce: the auditor's signal of a bad block).
    #[error("invalid operation: {0}")]
    InvalidOp(&'static str),
}
