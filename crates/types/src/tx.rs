//! Transactions (DESIGN §3), their signed messages and their canonical encoding.
//!
//! * L1 priority operations: [`Deposit`], [`FullExit`] — from a chain's priority queue, never
//!   signed on L2, never rejectable (an impossible one is processed as a no-op or a refund).
//! * [`ChangePubKey`] — authorised by the account's L1 owner ([`CpkAuth`]): an ECDSA
//!   `personal_sign` of its message (checked natively here and by the origin chain's contract at
//!   commit), or, for owners that cannot sign (contract wallets), a fact the owner set on that
//!   contract beforehand (`setAuthPubkeyHash`: [`ChangePubKey::auth_fact`]), checked by the node
//!   against the facts its watcher read and by the contract at commit.
//! * [`L2Tx`] — signed with the account's L2 EdDSA key over `Poseidon(domain, message packed in
//!   31-byte field elements)`. Every message carries its chain id and the account's nonce on that
//!   chain, and the hash the deployment [`Domain`], so neither same-chain, cross-chain nor
//!   cross-deployment replay is possible. The ChangePubKey message ends with the domain too.
//!
//! Canonical encoding: one type byte, the message fields, then the authorisation (96-byte EdDSA
//! signature, 65-byte ECDSA signature, or nothing for an on-chain authorised key change).
//! Priority operations are encoded as queued on L1.

use crate::amount::Amount;
use crate::codec::{DecodeError, Reader, Writer};
use crate::domain::Domain;
use crate::ids::{AccountId, ChainId, Nonce, PoolId, TokenId};
use ark_bn254::Fr;
use rollup_crypto::eddsa::SIGNATURE_BYTES;
use rollup_crypto::{Address, EthSignature, PubKeyHash, Signature, field, keccak256, poseidon};

/// Type bytes of transactions (the first byte of the canonical encoding and of signed messages).
#[allow(missing_docs)]
pub mod kind {
    pub const DEPOSIT: u8 = 0x01;
    pub const FULL_EXIT: u8 = 0x02;
    pub const CHANGE_PUBKEY: u8 = 0x03;
    pub const TRANSFER: u8 = 0x04;
    pub const WITHDRAW: u8 = 0x05;
    pub const ADD_LIQUIDITY: u8 = 0x06;
    pub const REMOVE_LIQUIDITY: u8 = 0x07;
    pub const SWAP: u8 = 0x08;
    pub const CREATE_POOL: u8 = 0x09;
}

/// Maximum pool fee: 10% (in basis points).
pub const MAX_POOL_FEE_BPS: u16 = 1000;

/// An L1 deposit from chain `chain`'s priority queue: credit `amount` of `token` to `to`'s account
/// (created if new) on `chain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    /// The chain whose queue holds the request.
    pub chain: ChainId,
    /// The request's serial id in that queue.
    pub serial_id: u64,
    /// The L1 sender (refunds go back to it).
    pub from: Address,
    /// The L2 owner address.
    pub to: Address,
    /// Token on `chain`.
    pub token: TokenId,
    /// Amount in base units.
    pub amount: Amount,
}

/// An L1 full-exit request: withdraw all of `token` on `chain` from `account`, if `owner` owns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullExit {
    /// The chain whose queue holds the request.
    pub chain: ChainId,
    /// The request's serial id in that queue.
    pub serial_id: u64,
    /// The account to exit.
    pub account: AccountId,
    /// `msg.sender` of the request; must be the account's address for anything to move.
    pub owner: Address,
    /// Token on `chain`.
    pub token: TokenId,
}

/// Set the account's L2 key hash on every chain; nonce and fee apply on `chain`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangePubKey {
    /// The chain whose nonce and fee this uses, and whose contract checks the ECDSA auth.
    pub chain: ChainId,
    /// The account.
    pub account: AccountId,
    /// The new key hash (non-zero).
    pub new_pubkey_hash: PubKeyHash,
    /// Nonce on `chain`.
    pub nonce: Nonce,
    /// Fee token on `chain`.
    pub fee_token: TokenId,
    /// Fee (fee-packable).
    pub fee: Amount,
}

/// Move `amount` of `token` on `chain` to the account of address `to` (created if new).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// Chain of the token.
    pub chain: ChainId,
    /// Sender.
    pub from: AccountId,
    /// Recipient L2 address.
    pub to: Address,
    /// Token on `chain`.
    pub token: TokenId,
    /// Amount (packable).
    pub amount: Amount,
    /// Fee in `token` (fee-packable).
    pub fee: Amount,
    /// Sender's nonce on `chain`.
    pub nonce: Nonce,
}

/// Withdraw `amount` of `token` from L2 to `to`'s pending balance on `chain`'s contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdraw {
    /// Chain of the token and of the L1 payout.
    pub chain: ChainId,
    /// The account.
    pub account: AccountId,
    /// L1 recipient.
    pub to: Address,
    /// Token on `chain`.
    pub token: TokenId,
    /// Amount (full precision).
    pub amount: Amount,
    /// Fee in `token` (fee-packable).
    pub fee: Amount,
    /// Nonce on `chain`.
    pub nonce: Nonce,
}

/// One-coin liquidity: add `amount` of the pool's token on `chain` to the pool's half there, for
/// that half's LP shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddLiquidity {
    /// Chain of the pool half.
    pub chain: ChainId,
    /// The LP.
    pub account: AccountId,
    /// The pool.
    pub pool: PoolId,
    /// Tokens added (packable).
    pub amount: Amount,
    /// Minimum shares to receive (slippage bound).
    pub min_shares: Amount,
    /// Fee in the pool token (fee-packable).
    pub fee: Amount,
    /// Nonce on `chain`.
    pub nonce: Nonce,
}

/// One-coin liquidity removal: burn `shares` of the half on `chain` for its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoveLiquidity {
    /// Chain of the pool half.
    pub chain: ChainId,
    /// The LP.
    pub account: AccountId,
    /// The pool.
    pub pool: PoolId,
    /// Shares burned (full precision).
    pub shares: Amount,
    /// Minimum tokens to receive (slippage bound).
    pub min_out: Amount,
    /// Fee in the pool token (fee-packable), paid from the balance after the payout.
    pub fee: Amount,
    /// Nonce on `chain`.
    pub nonce: Nonce,
}

/// Cross-chain swap: pay `amount_in` into the pool half on `chain`, receive at least `min_out` from
/// the other half on its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swap {
    /// Chain of the input side.
    pub chain: ChainId,
    /// The trader (same account id on both chains).
    pub account: AccountId,
    /// The pool.
    pub pool: PoolId,
    /// Input amount (packable).
    pub amount_in: Amount,
    /// Minimum output on the other chain.
    pub min_out: Amount,
    /// Fee in the input token (fee-packable).
    pub fee: Amount,
    /// Nonce on `chain`.
    pub nonce: Nonce,
}

/// Create a pool with halves (`chain`, `token`) and (`peer_chain`, `peer_token`) (permissionless).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatePool {
    /// Chain of the first half (and of the fee and nonce).
    pub chain: ChainId,
    /// The creator.
    pub account: AccountId,
    /// The new pool's id (must be unused).
    pub pool: PoolId,
    /// Token of the first half.
    pub token: TokenId,
    /// Chain of the second half (≠ `chain`).
    pub peer_chain: ChainId,
    /// Token of the second half.
    pub peer_token: TokenId,
    /// Swap fee kept by the pool, in basis points (≤ [`MAX_POOL_FEE_BPS`]).
    pub fee_bps: u16,
    /// Tx fee in `token` (fee-packable).
    pub fee: Amount,
    /// Nonce on `chain`.
    pub nonce: Nonce,
}

/// An L2 transaction signed with the account's EdDSA key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum L2Tx {
    Transfer(Transfer),
    Withdraw(Withdraw),
    AddLiquidity(AddLiquidity),
    RemoveLiquidity(RemoveLiquidity),
    Swap(Swap),
    CreatePool(CreatePool),
}

/// How the L1 owner authorised a key change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpkAuth {
    /// The owner's `personal_sign` of [`ChangePubKey::message`].
    Ecdsa(EthSignature),
    /// The owner's fact on the chain's contract (`authFacts(owner, nonce)` equal to
    /// [`ChangePubKey::auth_fact`]); the commit carries an empty signature.
    Onchain,
}

impl CpkAuth {
    /// The bytes a commit carries for it (the signature, or none).
    pub fn bytes(&self) -> &[u8] {
        match self {
            CpkAuth::Ecdsa(s) => &s.0,
            CpkAuth::Onchain => &[],
        }
    }
}

/// Any transaction, with its authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Tx {
    Deposit(Deposit),
    FullExit(FullExit),
    ChangePubKey { tx: ChangePubKey, auth: CpkAuth },
    L2 { tx: L2Tx, signature: Signature },
}

/// Bytes of each L2 message (without the signature), by type byte.
fn l2_message_len(kind: u8) -> Option<usize> {
    Some(match kind {
        kind::TRANSFER => 1 + 1 + 3 + 20 + 2 + 5 + 2 + 4,
        kind::WITHDRAW => 1 + 1 + 3 + 20 + 2 + 14 + 2 + 4,
        kind::ADD_LIQUIDITY => 1 + 1 + 3 + 2 + 5 + 14 + 2 + 4,
        kind::REMOVE_LIQUIDITY => 1 + 1 + 3 + 2 + 14 + 14 + 2 + 4,
        kind::SWAP => 1 + 1 + 3 + 2 + 5 + 14 + 2 + 4,
        kind::CREATE_POOL => 1 + 1 + 3 + 2 + 2 + 1 + 2 + 2 + 2 + 4,
        _ => return None,
    })
}

/// Why a transaction is malformed regardless of state (checked before it reaches the mempool).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxFormatError {
    /// An amount that must be packable is not exactly representable.
    #[error("{0} is not exactly representable in packed form")]
    NotPackable(&'static str),
    /// A fee is not exactly representable in packed form.
    #[error("fee is not exactly representable in packed form")]
    FeeNotPackable,
    /// Zero amount where a positive one is required.
    #[error("{0} must be positive")]
    Zero(&'static str),
    /// Pool fee above the maximum.
    #[error("pool fee {0} bps above maximum")]
    PoolFee(u16),
    /// A pool's two halves must be on different chains.
    #[error("a pool's halves must be on different chains")]
    SameChainPool,
    /// The zero address as owner/recipient.
    #[error("zero address")]
    ZeroAddress,
    /// The zero public-key hash.
    #[error("public key hash must be non-zero")]
    ZeroPubKeyHash,
}

impl L2Tx {
    /// The chain whose nonce the tx uses and whose fee account receives its fee.
    pub fn chain(&self) -> ChainId {
        match self {
            L2Tx::Transfer(t) => t.chain,
            L2Tx::Withdraw(t) => t.chain,
            L2Tx::AddLiquidity(t) => t.chain,
            L2Tx::RemoveLiquidity(t) => t.chain,
            L2Tx::Swap(t) => t.chain,
            L2Tx::CreatePool(t) => t.chain,
        }
    }

    /// The signing account.
    pub fn account(&self) -> AccountId {
        match self {
            L2Tx::Transfer(t) => t.from,
            L2Tx::Withdraw(t) => t.account,
            L2Tx::AddLiquidity(t) => t.account,
            L2Tx::RemoveLiquidity(t) => t.account,
            L2Tx::Swap(t) => t.account,
            L2Tx::CreatePool(t) => t.account,
        }
    }

    /// The signer's nonce on [`Self::chain`].
    pub fn nonce(&self) -> Nonce {
        match self {
            L2Tx::Transfer(t) => t.nonce,
            L2Tx::Withdraw(t) => t.nonce,
            L2Tx::AddLiquidity(t) => t.nonce,
            L2Tx::RemoveLiquidity(t) => t.nonce,
            L2Tx::Swap(t) => t.nonce,
            L2Tx::CreatePool(t) => t.nonce,
        }
    }

    /// The fee.
    pub fn fee(&self) -> Amount {
        match self {
            L2Tx::Transfer(t) => t.fee,
            L2Tx::Withdraw(t) => t.fee,
            L2Tx::AddLiquidity(t) => t.fee,
            L2Tx::RemoveLiquidity(t) => t.fee,
            L2Tx::Swap(t) => t.fee,
            L2Tx::CreatePool(t) => t.fee,
        }
    }

    /// Stateless checks: packability, positivity, pool parameters, addresses.
    pub fn check_format(&self) -> Result<(), TxFormatError> {
        if !self.fee().is_fee_packable() {
            return Err(TxFormatError::FeeNotPackable);
        }
        match self {
            L2Tx::Transfer(t) => {
                packable_positive(t.amount, "amount")?;
                nonzero_address(&t.to)
            }
            L2Tx::Withdraw(t) => {
                positive(t.amount, "amount")?;
                nonzero_address(&t.to)
            }
            L2Tx::AddLiquidity(t) => packable_positive(t.amount, "amount"),
            L2Tx::RemoveLiquidity(t) => positive(t.shares, "shares"),
            L2Tx::Swap(t) => packable_positive(t.amount_in, "amount_in"),
            L2Tx::CreatePool(t) => {
                if t.fee_bps > MAX_POOL_FEE_BPS {
                    return Err(TxFormatError::PoolFee(t.fee_bps));
                }
                if t.chain == t.peer_chain {
                    return Err(TxFormatError::SameChainPool);
                }
                Ok(())
            }
        }
    }

    /// The signed message bytes (type byte first). Fails only on a format error.
    pub fn message(&self) -> Result<Vec<u8>, TxFormatError> {
        self.check_format()?;
        let mut w = Writer::new();
        match self {
            L2Tx::Transfer(t) => {
                w.u8(kind::TRANSFER)
                    .chain(t.chain)
                    .account(t.from)
                    .address(&t.to)
                    .token(t.token);
                w.packed_amount(t.amount).packed_fee(t.fee).nonce(t.nonce);
            }
            L2Tx::Withdraw(t) => {
                w.u8(kind::WITHDRAW)
                    .chain(t.chain)
                    .account(t.account)
                    .address(&t.to);
                w.token(t.token)
                    .amount(t.amount)
                    .packed_fee(t.fee)
                    .nonce(t.nonce);
            }
            L2Tx::AddLiquidity(t) => {
                w.u8(kind::ADD_LIQUIDITY)
                    .chain(t.chain)
                    .account(t.account)
                    .pool(t.pool);
                w.packed_amount(t.amount)
                    .amount(t.min_shares)
                    .packed_fee(t.fee)
                    .nonce(t.nonce);
            }
            L2Tx::RemoveLiquidity(t) => {
                w.u8(kind::REMOVE_LIQUIDITY)
                    .chain(t.chain)
                    .account(t.account)
                    .pool(t.pool);
                w.amount(t.shares)
                    .amount(t.min_out)
                    .packed_fee(t.fee)
                    .nonce(t.nonce);
            }
            L2Tx::Swap(t) => {
                w.u8(kind::SWAP)
                    .chain(t.chain)
                    .account(t.account)
                    .pool(t.pool);
                w.packed_amount(t.amount_in)
                    .amount(t.min_out)
                    .packed_fee(t.fee)
                    .nonce(t.nonce);
            }
            L2Tx::CreatePool(t) => {
                w.u8(kind::CREATE_POOL)
                    .chain(t.chain)
                    .account(t.account)
                    .pool(t.pool);
                w.token(t.token)
                    .chain(t.peer_chain)
                    .token(t.peer_token)
                    .u16(t.fee_bps);
                w.packed_fee(t.fee).nonce(t.nonce);
            }
        }
        debug_assert_eq!(Some(w.0.len()), l2_message_len(w.0[0]));
        Ok(w.0)
    }

    /// The field element the EdDSA signature signs: Poseidon of the deployment domain followed
    /// by the message in 31-byte chunks (the domain stops a replay on another deployment, whose
    /// rollup chain ids are the same 1..=8).
    pub fn message_hash(&self, domain: &Domain) -> Result<Fr, TxFormatError> {
        let mut inputs = vec![domain.to_field()];
        inputs.extend(field::pack_bytes(&self.message()?));
        Ok(poseidon::hash(&inputs))
    }

    /// Signs the transaction for the deployment `domain` (wallet side).
    pub fn sign(
        self,
        key: &rollup_crypto::PrivateKey,
        domain: &Domain,
    ) -> Result<Tx, TxFormatError> {
        let signature = key.sign(self.message_hash(domain)?);
        Ok(Tx::L2 {
            tx: self,
            signature,
        })
    }

    fn decode_message(bytes: &[u8]) -> Result<L2Tx, DecodeError> {
        let mut r = Reader::new(bytes);
        let k = r.u8()?;
        let tx = match k {
            kind::TRANSFER => L2Tx::Transfer(Transfer {
                chain: r.chain()?,
                from: r.account()?,
                to: r.address()?,
                token: r.token()?,
                amount: r.packed_amount()?,
                fee: r.packed_fee()?,
                nonce: r.nonce()?,
            }),
            kind::WITHDRAW => L2Tx::Withdraw(Withdraw {
                chain: r.chain()?,
                account: r.account()?,
                to: r.address()?,
                token: r.token()?,
                amount: r.amount()?,
                fee: r.packed_fee()?,
                nonce: r.nonce()?,
            }),
            kind::ADD_LIQUIDITY => L2Tx::AddLiquidity(AddLiquidity {
                chain: r.chain()?,
                account: r.account()?,
                pool: r.pool()?,
                amount: r.packed_amount()?,
                min_shares: r.amount()?,
                fee: r.packed_fee()?,
                nonce: r.nonce()?,
            }),
            kind::REMOVE_LIQUIDITY => L2Tx::RemoveLiquidity(RemoveLiquidity {
                chain: r.chain()?,
                account: r.account()?,
                pool: r.pool()?,
                shares: r.amount()?,
                min_out: r.amount()?,
                fee: r.packed_fee()?,
                nonce: r.nonce()?,
            }),
            kind::SWAP => L2Tx::Swap(Swap {
                chain: r.chain()?,
                account: r.account()?,
                pool: r.pool()?,
                amount_in: r.packed_amount()?,
                min_out: r.amount()?,
                fee: r.packed_fee()?,
                nonce: r.nonce()?,
            }),
            kind::CREATE_POOL => L2Tx::CreatePool(CreatePool {
                chain: r.chain()?,
                account: r.account()?,
                pool: r.pool()?,
                token: r.token()?,
                peer_chain: r.chain()?,
                peer_token: r.token()?,
                fee_bps: r.u16()?,
                fee: r.packed_fee()?,
                nonce: r.nonce()?,
            }),
            other => return Err(DecodeError::UnknownType(other)),
        };
        r.finish()?;
        Ok(tx)
    }
}

fn positive(a: Amount, what: &'static str) -> Result<(), TxFormatError> {
    if a.is_zero() {
        Err(TxFormatError::Zero(what))
    } else {
        Ok(())
    }
}

fn packable_positive(a: Amount, what: &'static str) -> Result<(), TxFormatError> {
    positive(a, what)?;
    if !a.is_packable() {
        return Err(TxFormatError::NotPackable(what));
    }
    Ok(())
}

fn nonzero_address(a: &Address) -> Result<(), TxFormatError> {
    if a.is_zero() {
        Err(TxFormatError::ZeroAddress)
    } else {
        Ok(())
    }
}

impl ChangePubKey {
    /// Format rules: a packable fee and a real key hash.
    pub fn check_format(&self) -> Result<(), TxFormatError> {
        if !self.fee.is_fee_packable() {
            return Err(TxFormatError::FeeNotPackable);
        }
        if self.new_pubkey_hash == PubKeyHash::NONE {
            return Err(TxFormatError::ZeroPubKeyHash);
        }
        Ok(())
    }

    /// The change's 33 bytes (type byte first): its canonical encoding before the authorisation.
    pub fn body(&self) -> Result<Vec<u8>, TxFormatError> {
        self.check_format()?;
        let mut w = Writer::new();
        w.u8(kind::CHANGE_PUBKEY)
            .chain(self.chain)
            .account(self.account)
            .pkh(&self.new_pubkey_hash);
        w.nonce(self.nonce)
            .token(self.fee_token)
            .packed_fee(self.fee);
        debug_assert_eq!(w.0.len(), CHANGE_PUBKEY_MESSAGE_LEN);
        Ok(w.0)
    }

    /// The 65-byte message the L1 owner signs with `personal_sign`: the change's 33 bytes and the
    /// deployment domain, so the authorisation holds on one deployment only.
    pub fn message(&self, domain: &Domain) -> Result<Vec<u8>, TxFormatError> {
        let mut m = self.body()?;
        m.extend_from_slice(&domain.0);
        Ok(m)
    }

    /// Authorises the change with the owner's L1 key for the deployment `domain` (wallet side).
    pub fn sign(
        self,
        owner: &rollup_crypto::EthSigner,
        domain: &Domain,
    ) -> Result<Tx, TxFormatError> {
        let auth = CpkAuth::Ecdsa(owner.personal_sign(&self.message(domain)?));
        Ok(Tx::ChangePubKey { tx: self, auth })
    }

    /// The change authorised on L1 by its owner's fact (wallet side, after `setAuthPubkeyHash`).
    pub fn onchain(self) -> Result<Tx, TxFormatError> {
        self.check_format()?;
        Ok(Tx::ChangePubKey {
            tx: self,
            auth: CpkAuth::Onchain,
        })
    }

    /// The fact the owner sets on the chain's contract to authorise this change:
    /// keccak256(account u32 ‖ key hash 20 ‖ fee token u16 ‖ fee u256), stored under the owner
    /// and the nonce (the contract's `setAuthPubkeyHash` and `_authFact`).
    pub fn auth_fact(&self) -> [u8; 32] {
        auth_fact(
            self.account.0,
            &self.new_pubkey_hash,
            self.fee_token.0,
            self.fee.get(),
        )
    }
}

/// The fact an owner's `setAuthPubkeyHash(account, pubkey_hash, nonce, fee_token, fee)` stores
/// (under the owner and the nonce): keccak256(account u32 ‖ key hash 20 ‖ fee token u16 ‖ fee
/// u256), as the contract's `_authFact`.
pub fn auth_fact(account: u32, pubkey_hash: &PubKeyHash, fee_token: u16, fee: u128) -> [u8; 32] {
    let mut m = Vec::with_capacity(4 + 20 + 2 + 32);
    m.extend_from_slice(&account.to_be_bytes());
    m.extend_from_slice(&pubkey_hash.0);
    m.extend_from_slice(&fee_token.to_be_bytes());
    m.extend_from_slice(&[0u8; 16]);
    m.extend_from_slice(&fee.to_be_bytes());
    keccak256(&m)
}

/// The change's own bytes (its canonical encoding before the authorisation).
const CHANGE_PUBKEY_MESSAGE_LEN: usize = 1 + 1 + 3 + 20 + 4 + 2 + 2;

impl Tx {
    /// The type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Tx::Deposit(_) => kind::DEPOSIT,
            Tx::FullExit(_) => kind::FULL_EXIT,
            Tx::ChangePubKey { .. } => kind::CHANGE_PUBKEY,
            Tx::L2 { tx, .. } => match tx {
                L2Tx::Transfer(_) => kind::TRANSFER,
                L2Tx::Withdraw(_) => kind::WITHDRAW,
                L2Tx::AddLiquidity(_) => kind::ADD_LIQUIDITY,
                L2Tx::RemoveLiquidity(_) => kind::REMOVE_LIQUIDITY,
                L2Tx::Swap(_) => kind::SWAP,
                L2Tx::CreatePool(_) => kind::CREATE_POOL,
            },
        }
    }

    /// Whether this is an L1 priority operation.
    pub fn is_priority(&self) -> bool {
        matches!(self, Tx::Deposit(_) | Tx::FullExit(_))
    }

    /// Canonical encoding. Fails only for an L2 tx or ChangePubKey with a format error.
    pub fn encode(&self) -> Result<Vec<u8>, TxFormatError> {
        let mut w = Writer::new();
        match self {
            Tx::Deposit(d) => {
                if d.amount.is_zero() {
                    return Err(TxFormatError::Zero("amount"));
                }
                nonzero_address(&d.to)?;
                w.u8(kind::DEPOSIT)
                    .chain(d.chain)
                    .u64(d.serial_id)
                    .address(&d.from);
                w.address(&d.to).token(d.token).amount(d.amount);
            }
            Tx::FullExit(e) => {
                w.u8(kind::FULL_EXIT)
                    .chain(e.chain)
                    .u64(e.serial_id)
                    .account(e.account);
                w.address(&e.owner).token(e.token);
            }
            Tx::ChangePubKey { tx, auth } => {
                w.bytes(&tx.body()?).bytes(auth.bytes());
            }
            Tx::L2 { tx, signature } => {
                w.bytes(&tx.message()?).bytes(&signature.to_bytes());
            }
        }
        Ok(w.0)
    }

    /// Decodes a canonical encoding; rejects every malformed input with a typed error.
    pub fn decode(bytes: &[u8]) -> Result<Tx, DecodeError> {
        let kind = *bytes.first().ok_or(DecodeError::Truncated {
            offset: 0,
            needed: 1,
        })?;
        match kind {
            kind::DEPOSIT => {
                let mut r = Reader::new(&bytes[1..]);
                let d = Deposit {
                    chain: r.chain()?,
                    serial_id: r.u64()?,
                    from: r.address()?,
                    to: r.address()?,
                    token: r.token()?,
                    amount: r.amount()?,
                };
                r.finish()?;
                if d.amount.is_zero() {
                    return Err(TxFormatError::Zero("amount").into());
                }
                nonzero_address(&d.to)?;
                Ok(Tx::Deposit(d))
            }
            kind::FULL_EXIT => {
                let mut r = Reader::new(&bytes[1..]);
                let e = FullExit {
                    chain: r.chain()?,
                    serial_id: r.u64()?,
                    account: r.account()?,
                    owner: r.address()?,
                    token: r.token()?,
                };
                r.finish()?;
                Ok(Tx::FullExit(e))
            }
            kind::CHANGE_PUBKEY => {
                let mut r = Reader::new(bytes);
                r.u8()?;
                let tx = ChangePubKey {
                    chain: r.chain()?,
                    account: r.account()?,
                    new_pubkey_hash: r.pkh()?,
                    nonce: r.nonce()?,
                    fee_token: r.token()?,
                    fee: r.packed_fee()?,
                };
                debug_assert_eq!(r.pos(), CHANGE_PUBKEY_MESSAGE_LEN);
                // Nothing after the message is the on-chain authorisation; anything else must
                // be a whole signature.
                let auth = if bytes.len() == CHANGE_PUBKEY_MESSAGE_LEN {
                    CpkAuth::Onchain
                } else {
                    CpkAuth::Ecdsa(EthSignature(r.array()?))
                };
                r.finish()?;
                tx.check_format()?;
                Ok(Tx::ChangePubKey { tx, auth })
            }
            k => {
                let len = l2_message_len(k).ok_or(DecodeError::UnknownType(k))?;
                if bytes.len() != len + SIGNATURE_BYTES {
                    return Err(if bytes.len() < len + SIGNATURE_BYTES {
                        DecodeError::Truncated {
                            offset: bytes.len(),
                            needed: len + SIGNATURE_BYTES - bytes.len(),
                        }
                    } else {
                        DecodeError::Trailing(bytes.len() - len - SIGNATURE_BYTES)
                    });
                }
                let tx = L2Tx::decode_message(&bytes[..len])?;
                // Amount/fee constraints beyond packing (positivity, pool parameters) are part of
                // the canonical form: an encoding of an ill-formed tx is malformed input.
                tx.check_format()?;
                let signature =
                    Signature::from_bytes(bytes[len..].try_into().expect("length checked"))?;
                Ok(Tx::L2 { tx, signature })
            }
        }
    }

    /// The transaction hash: keccak256 of the canonical encoding.
    pub fn hash(&self) -> Result<[u8; 32], TxFormatError> {
        Ok(keccak256(&self.encode()?))
    }
}
