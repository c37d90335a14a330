//! A small big-endian byte writer/reader shared by the tx and pubdata encoders.

use crate::amount::{self, Amount};
use crate::ids::{AccountId, ChainId, Nonce, PoolId, TokenId};
use rollup_crypto::{Address, PubKeyHash};

/// Why a byte string is not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Input ended before the structure was complete.
    #[error("input too short: needed {needed} more bytes at offset {offset}")]
    Truncated {
        /// Offset where reading stopped.
        offset: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// Bytes were left after a complete structure.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// Unknown transaction or operation type byte.
    #[error("unknown type byte 0x{0:02x}")]
    UnknownType(u8),
    /// A field is outside its allowed range.
    #[error("{field} out of range: {value}")]
    OutOfRange {
        /// The field's name.
        field: &'static str,
        /// The offending value.
        value: u128,
    },
    /// A packed amount or fee is not in its canonical (smallest-exponent) form.
    #[error("non-canonical packed {0}")]
    NonCanonicalPacking(&'static str),
    /// Padding bytes that must be zero were not.
    #[error("non-zero padding in an operation")]
    NonZeroPadding,
    /// The fields decode but violate a stateless rule (zero amount, same-chain pool, …).
    #[error("ill-formed transaction: {0}")]
    Format(#[from] crate::tx::TxFormatError),
    /// A signature or key failed to parse.
    #[error("bad signature encoding: {0}")]
    Signature(#[from] rollup_crypto::CryptoError),
}

pub(crate) struct Writer(pub Vec<u8>);

impl Writer {
    pub fn new() -> Self {
        Writer(Vec::with_capacity(96))
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u24(&mut self, v: u32) -> &mut Self {
        debug_assert!(v < 1 << 24);
        self.0.extend_from_slice(&v.to_be_bytes()[1..]);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    pub fn chain(&mut self, c: ChainId) -> &mut Self {
        self.u8(c.0)
    }
    pub fn account(&mut self, a: AccountId) -> &mut Self {
        self.u24(a.0)
    }
    pub fn token(&mut self, t: TokenId) -> &mut Self {
        self.u16(t.0)
    }
    pub fn pool(&mut self, p: PoolId) -> &mut Self {
        self.u16(p.0)
    }
    pub fn nonce(&mut self, n: Nonce) -> &mut Self {
        self.u32(n.0)
    }
    pub fn address(&mut self, a: &Address) -> &mut Self {
        self.bytes(&a.0)
    }
    pub fn pkh(&mut self, h: &PubKeyHash) -> &mut Self {
        self.bytes(&h.0)
    }
    /// A full amount in 14 bytes (112 bits).
    pub fn amount(&mut self, a: Amount) -> &mut Self {
        self.bytes(&a.to_be_bytes14())
    }
    /// A packed amount (5 bytes); the caller has checked packability.
    pub fn packed_amount(&mut self, a: Amount) -> &mut Self {
        self.bytes(&amount::pack_amount(a).expect("checked packable"))
    }
    /// A packed fee (2 bytes); the caller has checked packability.
    pub fn packed_fee(&mut self, a: Amount) -> &mut Self {
        self.bytes(&amount::pack_fee(a).expect("checked packable"))
    }
}

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() - self.pos < n {
            return Err(DecodeError::Truncated {
                offset: self.pos,
                needed: n - (self.buf.len() - self.pos),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.buf.len() - self.pos {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub fn u24(&mut self) -> Result<u32, DecodeError> {
        let b: [u8; 3] = self.array()?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub fn chain(&mut self) -> Result<ChainId, DecodeError> {
        ChainId::new(self.u8()?)
    }
    pub fn account(&mut self) -> Result<AccountId, DecodeError> {
        AccountId::new(self.u24()?)
    }
    pub fn token(&mut self) -> Result<TokenId, DecodeError> {
        TokenId::new(self.u16()?)
    }
    pub fn pool(&mut self) -> Result<PoolId, DecodeError> {
        PoolId::new(self.u16()?)
    }
    pub fn nonce(&mut self) -> Result<Nonce, DecodeError> {
        Ok(Nonce(self.u32()?))
    }
    pub fn address(&mut self) -> Result<Address, DecodeError> {
        Ok(Address(self.array()?))
    }
    pub fn pkh(&mut self) -> Result<PubKeyHash, DecodeError> {
        Ok(PubKeyHash(self.array()?))
    }
    pub fn amount(&mut self) -> Result<Amount, DecodeError> {
        Amount::from_be_bytes14(&self.array()?)
    }
    pub fn packed_amount(&mut self) -> Result<Amount, DecodeError> {
        amount::unpack_amount(&self.array()?)
    }
    pub fn packed_fee(&mut self) -> Result<Amount, DecodeError> {
        amount::unpack_fee(&self.array()?)
    }
}
