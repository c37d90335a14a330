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

/// The chunks one chain proof covers (the chain circuit's capacity, a deployment parameter) may
/// be any value in this range: at least the longest operation (4 chunks), at most what a prover
/// can hold in memory.
pub const PROOF_CHUNKS: std::ops::RangeInclusive<usize> = 4..=4096;

/// The most pubdata chunks one block may put on one chain (the contracts refuse more), counted
/// with the padding of its sub-blocks.
pub const MAX_BLOCK_CHUNKS: usize = 65536;

/// Where an operation of `chunks` chunks starts when a chain's part of a block has used `used`
/// chunks (padding included) and is split greedily into sub-blocks of `proof_chunks`: in the
/// current sub-block if it fits, else at the start of the next one (an operation never spans two
/// chain proofs). The contracts split a chain's pubdata by the same rule.
pub fn op_start(used: usize, chunks: usize, proof_chunks: usize) -> usize {
    if used % proof_chunks + chunks > proof_chunks {
        used.div_ceil(proof_chunks) * proof_chunks
    } else {
        used
    }
}

/// The greedy split of a chain's operations (their chunk counts, in pubdata order) into
/// sub-blocks of `proof_chunks`: the range of operation indices of each sub-block. At least one
/// sub-block (an empty chain part is one empty sub-block).
pub fn sub_blocks(
    op_chunks: impl IntoIterator<Item = usize>,
    proof_chunks: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    out.push(0..0);
    let mut used = 0;
    for (i, n) in op_chunks.into_iter().enumerate() {
        let start = op_start(used, n, proof_chunks);
        if start != used || (used > 0 && used % proof_chunks == 0) {
            out.push(i..i);
        }
        out.last_mut().expect("non-empty").end = i + 1;
        used = start + n;
    }
    out
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

#[cfg(test)]
mod split_tests {
    use super::*;

    #[test]
    fn greedy_split_starts_a_sub_block_when_an_op_does_not_fit() {
        // P = 4: [1,1,1] fills 3, the 3-chunk op goes to the next sub-block; [4] exactly fills
        // one; an op after an exactly full sub-block starts a new one.
        assert_eq!(
            sub_blocks([1, 1, 1, 3, 4, 1], 4),
            vec![0..3, 3..4, 4..5, 5..6]
        );
        assert_eq!(op_start(3, 3, 4), 4);
        assert_eq!(op_start(3, 1, 4), 3);
        assert_eq!(op_start(4, 4, 4), 4);
        // Nothing: one empty sub-block.
        assert_eq!(sub_blocks([], 16), vec![0..0]);
        assert_eq!(sub_blocks([1; 16], 16), vec![0..16]);
        assert_eq!(sub_blocks([1; 17], 16), vec![0..16, 16..17]);
    }
}
