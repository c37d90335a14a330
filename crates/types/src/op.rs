//! Chain-local operations ("halves") and their pubdata encoding.
//!
//! A block's pubdata on chain `c` is the concatenation of the halves of every transaction that
//! touch chain `c`, each padded to whole [`CHUNK_BYTES`]-byte chunks. Account ids take 3 bytes,
//! amounts 14 (full) or 5 (packed), fees 2 (packed). The chain id is implicit: chain `c`'s contract
//! only ever sees chain `c`'s pubdata. Operations the contract must act on (priority operations,
//! withdrawals, key changes it authorises) are "onchain operations"; their bytes are folded into
//! that chain's onchain-operations hash.

use crate::amount::Amount;
use crate::codec::{DecodeError, Reader, Writer};
use crate::ids::{AccountId, ChainId, Nonce, PoolId, TokenId};
use rollup_crypto::{Address, PubKeyHash};

/// Bytes per pubdata chunk.
pub const CHUNK_BYTES: usize = 16;

/// The block capacities in chunks per chain. A chain's pubdata is zero-padded (Noop chunks) to the
/// smallest capacity that holds it, and that padded form is what `pubdata_hash` covers; the
/// contract pads its calldata the same way. The largest is the most a block may ever put on one
/// chain; a deployment proves only the capacities it has keys for and tells the block builder its
/// limit (`BuildOptions::max_chunks`).
pub const CHUNK_CAPACITIES: [usize; 7] = [16, 64, 256, 1024, 4096, 16384, 65536];

/// The capacity a chain's pubdata of `chunks` chunks is padded to, if it fits any.
pub fn capacity_for(chunks: usize) -> Option<usize> {
    CHUNK_CAPACITIES.iter().copied().find(|c| *c >= chunks)
}

/// Operation type bytes (first byte of each operation's pubdata).
#[allow(missing_docs)]
pub mod code {
    pub const NOOP: u8 = 0x00;
    pub const DEPOSIT: u8 = 0x01;
    pub const FULL_EXIT: u8 = 0x02;
    pub const CHANGE_PUBKEY: u8 = 0x03;
    pub const TRANSFER: u8 = 0x04;
    pub const WITHDRAW: u8 = 0x05;
    pub const ADD_LIQUIDITY: u8 = 0x06;
    pub const REMOVE_LIQUIDITY: u8 = 0x07;
    pub const SWAP_IN: u8 = 0x08;
    pub const CREATE_POOL: u8 = 0x09;
    pub const CREATE_ACCOUNT: u8 = 0x0a;
    pub const SET_PUBKEY: u8 = 0x0b;
    pub const SWAP_OUT: u8 = 0x0c;
    pub const DEPOSIT_REFUND: u8 = 0x0d;
    pub const CREATE_POOL_PEER: u8 = 0x0e;
}

/// One chain-local operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Padding: changes nothing.
    Noop,
    /// Credit a deposit (onchain: matches the chain's priority queue).
    Deposit {
        /// Credited account.
        account: AccountId,
        /// Token.
        token: TokenId,
        /// Amount.
        amount: Amount,
        /// Owner address of the account (as queued).
        to: Address,
    },
    /// A deposit that could not be credited (balance bound or account space exhausted): the
    /// contract pays it back to `to` on L1 (onchain).
    DepositRefund {
        /// The account if it exists, else 0.
        account: AccountId,
        /// Token.
        token: TokenId,
        /// Amount.
        amount: Amount,
        /// Address the deposit was for; the refund goes there.
        to: Address,
    },
    /// Withdraw a whole balance on the exit request's chain (onchain; amount 0 if the owner did
    /// not match or there was nothing).
    FullExit {
        /// Account.
        account: AccountId,
        /// Token.
        token: TokenId,
        /// Amount withdrawn.
        amount: Amount,
        /// Requester (`msg.sender`).
        owner: Address,
    },
    /// Key change on its origin chain: nonce, fee and the ECDSA-authorised fields (onchain).
    ChangePubKey {
        /// Account.
        account: AccountId,
        /// New key hash.
        pubkey_hash: PubKeyHash,
        /// Owner address (the ECDSA signer).
        address: Address,
        /// Nonce used.
        nonce: Nonce,
        /// Fee token.
        fee_token: TokenId,
        /// Fee.
        fee: Amount,
    },
    /// The broadcast half of a key change on every other chain.
    SetPubKey {
        /// Account.
        account: AccountId,
        /// New key hash.
        pubkey_hash: PubKeyHash,
    },
    /// The broadcast creation of an account (on every chain).
    CreateAccount {
        /// New account id.
        account: AccountId,
        /// Its L1 address.
        address: Address,
    },
    /// Transfer between existing accounts (the recipient may have been created just before).
    Transfer {
        /// Sender.
        from: AccountId,
        /// Recipient.
        to: AccountId,
        /// Token.
        token: TokenId,
        /// Amount (packed).
        amount: Amount,
        /// Fee (packed).
        fee: Amount,
    },
    /// Withdrawal to L1 (onchain).
    Withdraw {
        /// Account.
        account: AccountId,
        /// Token.
        token: TokenId,
        /// Amount.
        amount: Amount,
        /// Fee (packed).
        fee: Amount,
        /// L1 recipient.
        to: Address,
        /// Nonce used (makes each withdrawal unique on L1).
        nonce: Nonce,
    },
    /// One-coin liquidity add.
    AddLiquidity {
        /// LP.
        account: AccountId,
        /// Pool.
        pool: PoolId,
        /// Tokens added (packed).
        amount: Amount,
        /// Fee (packed).
        fee: Amount,
    },
    /// One-coin liquidity removal.
    RemoveLiquidity {
        /// LP.
        account: AccountId,
        /// Pool.
        pool: PoolId,
        /// Shares burned.
        shares: Amount,
        /// Fee (packed).
        fee: Amount,
    },
    /// The input half of a cross-chain swap.
    SwapIn {
        /// Trader.
        account: AccountId,
        /// Pool.
        pool: PoolId,
        /// Input (packed).
        amount: Amount,
        /// Fee (packed).
        fee: Amount,
    },
    /// The output half of a cross-chain swap.
    SwapOut {
        /// Trader.
        account: AccountId,
        /// Pool.
        pool: PoolId,
        /// Output.
        amount: Amount,
    },
    /// The origin half of a pool creation (nonce and fee of the creator).
    CreatePool {
        /// Creator.
        account: AccountId,
        /// Pool.
        pool: PoolId,
        /// This half's token.
        token: TokenId,
        /// The other half's chain.
        peer_chain: ChainId,
        /// The other half's token.
        peer_token: TokenId,
        /// Swap fee (bps).
        fee_bps: u16,
        /// Tx fee in `token` (packed).
        fee: Amount,
    },
    /// The other half of a pool creation.
    CreatePoolPeer {
        /// Pool.
        pool: PoolId,
        /// This half's token.
        token: TokenId,
        /// The other half's chain.
        peer_chain: ChainId,
        /// The other half's token.
        peer_token: TokenId,
        /// Swap fee (bps).
        fee_bps: u16,
    },
}

impl Op {
    /// The type byte.
    pub fn code(&self) -> u8 {
        match self {
            Op::Noop => code::NOOP,
            Op::Deposit { .. } => code::DEPOSIT,
            Op::DepositRefund { .. } => code::DEPOSIT_REFUND,
            Op::FullExit { .. } => code::FULL_EXIT,
            Op::ChangePubKey { .. } => code::CHANGE_PUBKEY,
            Op::SetPubKey { .. } => code::SET_PUBKEY,
            Op::CreateAccount { .. } => code::CREATE_ACCOUNT,
            Op::Transfer { .. } => code::TRANSFER,
            Op::Withdraw { .. } => code::WITHDRAW,
            Op::AddLiquidity { .. } => code::ADD_LIQUIDITY,
            Op::RemoveLiquidity { .. } => code::REMOVE_LIQUIDITY,
            Op::SwapIn { .. } => code::SWAP_IN,
            Op::SwapOut { .. } => code::SWAP_OUT,
            Op::CreatePool { .. } => code::CREATE_POOL,
            Op::CreatePoolPeer { .. } => code::CREATE_POOL_PEER,
        }
    }

    /// Whether the contract processes this operation (its bytes feed the onchain-ops hash).
    pub fn is_onchain(&self) -> bool {
        matches!(
            self,
            Op::Deposit { .. }
                | Op::DepositRefund { .. }
                | Op::FullExit { .. }
                | Op::ChangePubKey { .. }
                | Op::Withdraw { .. }
        )
    }

    /// Whether this operation consumes an entry of the chain's priority queue.
    pub fn is_priority(&self) -> bool {
        matches!(
            self,
            Op::Deposit { .. } | Op::DepositRefund { .. } | Op::FullExit { .. }
        )
    }

    /// Number of chunks this operation occupies.
    pub fn chunks(&self) -> usize {
        chunks_for_code(self.code()).expect("every op code has a size")
    }

    /// The operation's pubdata, zero-padded to whole chunks.
    pub fn to_pubdata(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(self.code());
        match self {
            Op::Noop => {}
            Op::Deposit {
                account,
                token,
                amount,
                to,
            }
            | Op::DepositRefund {
                account,
                token,
                amount,
                to,
            } => {
                w.account(*account)
                    .token(*token)
                    .amount(*amount)
                    .address(to);
            }
            Op::FullExit {
                account,
                token,
                amount,
                owner,
            } => {
                w.account(*account)
                    .token(*token)
                    .amount(*amount)
                    .address(owner);
            }
            Op::ChangePubKey {
                account,
                pubkey_hash,
                address,
                nonce,
                fee_token,
                fee,
            } => {
                w.account(*account)
                    .pkh(pubkey_hash)
                    .address(address)
                    .nonce(*nonce);
                w.token(*fee_token).packed_fee(*fee);
            }
            Op::SetPubKey {
                account,
                pubkey_hash,
            } => {
                w.account(*account).pkh(pubkey_hash);
            }
            Op::CreateAccount { account, address } => {
                w.account(*account).address(address);
            }
            Op::Transfer {
                from,
                to,
                token,
                amount,
                fee,
            } => {
                w.account(*from)
                    .account(*to)
                    .token(*token)
                    .packed_amount(*amount);
                w.packed_fee(*fee);
            }
            Op::Withdraw {
                account,
                token,
                amount,
                fee,
                to,
                nonce,
            } => {
                w.account(*account)
                    .token(*token)
                    .amount(*amount)
                    .packed_fee(*fee);
                w.address(to).nonce(*nonce);
            }
            Op::AddLiquidity {
                account,
                pool,
                amount,
                fee,
            } => {
                w.account(*account)
                    .pool(*pool)
                    .packed_amount(*amount)
                    .packed_fee(*fee);
            }
            Op::RemoveLiquidity {
                account,
                pool,
                shares,
                fee,
            } => {
                w.account(*account)
                    .pool(*pool)
                    .amount(*shares)
                    .packed_fee(*fee);
            }
            Op::SwapIn {
                account,
                pool,
                amount,
                fee,
            } => {
                w.account(*account)
                    .pool(*pool)
                    .packed_amount(*amount)
                    .packed_fee(*fee);
            }
            Op::SwapOut {
                account,
                pool,
                amount,
            } => {
                w.account(*account).pool(*pool).amount(*amount);
            }
            Op::CreatePool {
                account,
                pool,
                token,
                peer_chain,
                peer_token,
                fee_bps,
                fee,
            } => {
                w.account(*account)
                    .pool(*pool)
                    .token(*token)
                    .chain(*peer_chain);
                w.token(*peer_token).u16(*fee_bps).packed_fee(*fee);
            }
            Op::CreatePoolPeer {
                pool,
                token,
                peer_chain,
                peer_token,
                fee_bps,
            } => {
                w.pool(*pool)
                    .token(*token)
                    .chain(*peer_chain)
                    .token(*peer_token)
                    .u16(*fee_bps);
            }
        }
        let len = self.chunks() * CHUNK_BYTES;
        debug_assert!(w.0.len() <= len, "{self:?} exceeds its chunks");
        w.0.resize(len, 0);
        w.0
    }

    /// Decodes one operation from the start of `bytes`; returns it and the bytes consumed.
    pub fn decode(bytes: &[u8]) -> Result<(Op, usize), DecodeError> {
        let code = *bytes.first().ok_or(DecodeError::Truncated {
            offset: 0,
            needed: 1,
        })?;
        let len = chunks_for_code(code).ok_or(DecodeError::UnknownType(code))? * CHUNK_BYTES;
        if bytes.len() < len {
            return Err(DecodeError::Truncated {
                offset: bytes.len(),
                needed: len - bytes.len(),
            });
        }
        let mut r = Reader::new(&bytes[1..len]);
        let op = match code {
            code::NOOP => Op::Noop,
            code::DEPOSIT | code::DEPOSIT_REFUND => {
                let (account, token, amount, to) =
                    (r.account()?, r.token()?, r.amount()?, r.address()?);
                if code == code::DEPOSIT {
                    Op::Deposit {
                        account,
                        token,
                        amount,
                        to,
                    }
                } else {
                    Op::DepositRefund {
                        account,
                        token,
                        amount,
                        to,
                    }
                }
            }
            code::FULL_EXIT => Op::FullExit {
                account: r.account()?,
                token: r.token()?,
                amount: r.amount()?,
                owner: r.address()?,
            },
            code::CHANGE_PUBKEY => Op::ChangePubKey {
                account: r.account()?,
                pubkey_hash: r.pkh()?,
                address: r.address()?,
                nonce: r.nonce()?,
                fee_token: r.token()?,
                fee: r.packed_fee()?,
            },
            code::SET_PUBKEY => Op::SetPubKey {
                account: r.account()?,
                pubkey_hash: r.pkh()?,
            },
            code::CREATE_ACCOUNT => Op::CreateAccount {
                account: r.account()?,
                address: r.address()?,
            },
            code::TRANSFER => Op::Transfer {
                from: r.account()?,
                to: r.account()?,
                token: r.token()?,
                amount: r.packed_amount()?,
                fee: r.packed_fee()?,
            },
            code::WITHDRAW => Op::Withdraw {
                account: r.account()?,
                token: r.token()?,
                amount: r.amount()?,
                fee: r.packed_fee()?,
                to: r.address()?,
                nonce: r.nonce()?,
            },
            code::ADD_LIQUIDITY => Op::AddLiquidity {
                account: r.account()?,
                pool: r.pool()?,
                amount: r.packed_amount()?,
                fee: r.packed_fee()?,
            },
            code::REMOVE_LIQUIDITY => Op::RemoveLiquidity {
                account: r.account()?,
                pool: r.pool()?,
                shares: r.amount()?,
                fee: r.packed_fee()?,
            },
            code::SWAP_IN => Op::SwapIn {
                account: r.account()?,
                pool: r.pool()?,
                amount: r.packed_amount()?,
                fee: r.packed_fee()?,
            },
            code::SWAP_OUT => Op::SwapOut {
                account: r.account()?,
                pool: r.pool()?,
                amount: r.amount()?,
            },
            code::CREATE_POOL => Op::CreatePool {
                account: r.account()?,
                pool: r.pool()?,
                token: r.token()?,
                peer_chain: r.chain()?,
                peer_token: r.token()?,
                fee_bps: r.u16()?,
                fee: r.packed_fee()?,
            },
            code::CREATE_POOL_PEER => Op::CreatePoolPeer {
                pool: r.pool()?,
                token: r.token()?,
                peer_chain: r.chain()?,
                peer_token: r.token()?,
                fee_bps: r.u16()?,
            },
            other => return Err(DecodeError::UnknownType(other)),
        };
        if bytes[1 + r.pos()..len].iter().any(|&b| b != 0) {
            return Err(DecodeError::NonZeroPadding);
        }
        Ok((op, len))
    }
}

/// Chunks per operation type.
pub fn chunks_for_code(c: u8) -> Option<usize> {
    Some(match c {
        code::NOOP => 1,
        code::TRANSFER | code::SWAP_IN => 1,
        code::CREATE_POOL | code::CREATE_POOL_PEER => 1,
        code::ADD_LIQUIDITY | code::REMOVE_LIQUIDITY | code::SWAP_OUT => 2,
        code::CREATE_ACCOUNT | code::SET_PUBKEY => 2,
        code::DEPOSIT | code::DEPOSIT_REFUND | code::FULL_EXIT | code::WITHDRAW => 3,
        code::CHANGE_PUBKEY => 4,
        _ => return None,
    })
}

/// Decodes a chain's whole pubdata into its operations.
pub fn decode_pubdata(mut bytes: &[u8]) -> Result<Vec<Op>, DecodeError> {
    if !bytes.len().is_multiple_of(CHUNK_BYTES) {
        return Err(DecodeError::Trailing(bytes.len() % CHUNK_BYTES));
    }
    let mut ops = Vec::new();
    while !bytes.is_empty() {
        let (op, used) = Op::decode(bytes)?;
        ops.push(op);
        bytes = &bytes[used..];
    }
    Ok(ops)
}
