//! EdDSA over Baby Jubjub with a Poseidon challenge: the L2 signature scheme.
//!
//! * Curve: `ark-ed-on-bn254` (the a = 1 twisted Edwards form of Baby Jubjub, base field = the BN254
//!   scalar field, so points are native in-circuit). Generator `B` = the crate's prime-order
//!   subgroup generator; subgroup order `l`.
//! * Sign `m ∈ Fr`: `r = H512(sk ‖ m) mod l`, `R = r·B`, `h = Poseidon(R.x, R.y, A.x, A.y, m)`,
//!   `s = r + h·sk mod l`.
//! * Verify: `s < l`, `A` and `R` valid subgroup points, `A` not of small order, and `[8]·s·B = [8]·R + [8]·h·A` with
//!   `h` taken as the full 254-bit integer — exactly what the circuit computes (the cofactor
//!   multiplication makes the two readings of `h` agree for subgroup points).
//! * An account stores only [`PubKeyHash`], the low 20 bytes of `Poseidon(A.x, A.y)`; a signature
//!   carries its public key.
//!
//! L2 keys are derived deterministically from an L1 `personal_sign` signature of
//! [`L2_KEY_MESSAGE`] (RFC 6979 makes it reproducible), so a user needs only their Ethereum wallet.

use crate::eth::EthSigner;
use crate::{CryptoError, field, poseidon};
use ark_bn254::Fr;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as Fs};
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use sha2::{Digest, Sha512};
use std::fmt;
use std::sync::OnceLock;

/// The message a wallet signs (EIP-191) to derive its L2 key. Changing it changes every L2 key.
pub const L2_KEY_MESSAGE: &str =
    "Access your multi-chain rollup account.\n\nOnly sign this message for a trusted client!";

/// An L2 private key (a scalar mod the Baby Jubjub subgroup order). `Debug` never shows it.
#[derive(Clone)]
pub struct PrivateKey(Fs);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey(pubkey hash {})", self.public_key().hash())
    }
}

/// An L2 public key: a point of the prime-order subgroup, not the identity.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicKey(pub EdwardsAffine);

/// The 20-byte hash of a public key stored in an account leaf; all zero means "no key set".
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct PubKeyHash(pub [u8; 20]);

impl fmt::Debug for PubKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PubKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl PubKeyHash {
    /// The hash of an account with no L2 key.
    pub const NONE: PubKeyHash = PubKeyHash([0; 20]);

    /// The field element form used in the account leaf.
    pub fn to_fr(&self) -> Fr {
        field::fr_from_short_be(&self.0)
    }
}

/// An EdDSA signature together with the signer's public key (96 bytes on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Signature {
    /// The signer's public key.
    pub pubkey: PublicKey,
    /// The commitment point `R`.
    pub r: EdwardsAffine,
    /// The response scalar `s < l`.
    pub s: Fs,
}

/// Size of [`Signature::to_bytes`]: packed public key, packed `R`, `s`.
pub const SIGNATURE_BYTES: usize = 96;

fn point_to_bytes(p: &EdwardsAffine) -> [u8; 32] {
    let mut out = [0u8; 32];
    p.serialize_compressed(&mut out[..])
        .expect("a point packs into 32 bytes");
    out
}

fn point_from_bytes(bytes: &[u8]) -> Result<EdwardsAffine, CryptoError> {
    // Validation includes the on-curve and prime-order subgroup checks.
    let p = EdwardsAffine::deserialize_compressed(bytes)
        .map_err(|_| CryptoError::InvalidPoint("not a subgroup point"))?;
    if p.is_zero() {
        return Err(CryptoError::InvalidPoint("identity"));
    }
    Ok(p)
}

/// The challenge `h = Poseidon(R.x, R.y, A.x, A.y, m)`.
fn challenge(r: &EdwardsAffine, a: &EdwardsAffine, msg: Fr) -> Fr {
    poseidon::hash(&[r.x, r.y, a.x, a.y, msg])
}

/// `s·B` for the fixed generator, from a table of `j·16^w·B` (64 windows of 4 bits): 64 mixed
/// additions instead of ~250 doublings and ~125 additions. Verification and signing both need it.
fn mul_generator(s: &Fs) -> EdwardsProjective {
    static TABLE: OnceLock<Vec<[EdwardsAffine; 16]>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut base = EdwardsProjective::generator();
        (0..64)
            .map(|_| {
                let mut row = [EdwardsProjective::zero(); 16];
                for j in 1..16 {
                    row[j] = row[j - 1] + base;
                }
                base = row[15] + base;
                let affine = EdwardsProjective::normalize_batch(&row);
                <[EdwardsAffine; 16]>::try_from(affine).expect("16 points")
            })
            .collect()
    });
    let bytes = s.into_bigint().to_bytes_le();
    let mut acc = EdwardsProjective::zero();
    for (w, row) in table.iter().enumerate() {
        let nibble = (bytes[w / 2] >> (4 * (w % 2))) & 0xf;
        if nibble != 0 {
            acc += row[nibble as usize];
        }
    }
    acc
}

fn fr_as_scalar(h: &Fr) -> Fs {
    Fs::from_le_bytes_mod_order(&h.into_bigint().to_bytes_le())
}

impl PrivateKey {
    /// A key from arbitrary seed bytes (SHA-512, reduced mod `l`). The seed must be secret and
    /// high-entropy.
    pub fn from_seed(seed: &[u8]) -> Self {
        let digest = Sha512::new()
            .chain_update(b"rollup-l2-key")
            .chain_update(seed)
            .finalize();
        let mut k = Fs::from_le_bytes_mod_order(&digest);
        if k.is_zero() {
            k = Fs::from(1u8); // unreachable in practice (probability 2^-251)
        }
        PrivateKey(k)
    }

    /// The L2 key of an L1 wallet: derived from its `personal_sign` of [`L2_KEY_MESSAGE`].
    pub fn derive_from_eth(signer: &EthSigner) -> Self {
        let sig = signer.personal_sign(L2_KEY_MESSAGE.as_bytes());
        Self::from_seed(&sig.0)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(mul_generator(&self.0).into_affine())
    }

    /// Signs a message field element.
    pub fn sign(&self, msg: Fr) -> Signature {
        let pubkey = self.public_key();
        let digest = Sha512::new()
            .chain_update(b"rollup-eddsa-nonce")
            .chain_update(self.0.into_bigint().to_bytes_le())
            .chain_update(msg.into_bigint().to_bytes_le())
            .finalize();
        let r = Fs::from_le_bytes_mod_order(&digest);
        let big_r = mul_generator(&r).into_affine();
        let h = challenge(&big_r, &pubkey.0, msg);
        let s = r + fr_as_scalar(&h) * self.0;
        Signature {
            pubkey,
            r: big_r,
            s,
        }
    }
}

impl PublicKey {
    /// The 20-byte hash stored in account leaves: low 20 bytes of `Poseidon(x, y)`.
    pub fn hash(&self) -> PubKeyHash {
        let h = field::fr_to_be_bytes(&poseidon::hash2(self.0.x, self.0.y));
        let mut out = [0u8; 20];
        out.copy_from_slice(&h[12..]);
        PubKeyHash(out)
    }

    /// Packed 32-byte form.
    pub fn to_bytes(&self) -> [u8; 32] {
        point_to_bytes(&self.0)
    }

    /// Parses a packed key; rejects off-curve, non-subgroup and identity points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        point_from_bytes(bytes).map(PublicKey)
    }
}

impl Signature {
    /// Verifies the signature over `msg` under its embedded public key. A key of small order is
    /// refused (under it the cofactored check holds for any `s`); the circuit refuses it too.
    pub fn verify(&self, msg: Fr) -> Result<(), CryptoError> {
        if self.pubkey.0.mul_by_cofactor().is_zero() {
            return Err(CryptoError::InvalidPoint("small-order key"));
        }
        let h = challenge(&self.r, &self.pubkey.0, msg);
        let lhs = mul_generator(&self.s);
        let rhs = self.r.into_group() + self.pubkey.0.mul_bigint(h.into_bigint());
        if (lhs - rhs).into_affine().mul_by_cofactor().is_zero() {
            Ok(())
        } else {
            Err(CryptoError::BadSignature)
        }
    }

    /// `pubkey ‖ R ‖ s` (s little-endian).
    pub fn to_bytes(&self) -> [u8; SIGNATURE_BYTES] {
        let mut out = [0u8; SIGNATURE_BYTES];
        out[..32].copy_from_slice(&self.pubkey.to_bytes());
        out[32..64].copy_from_slice(&point_to_bytes(&self.r));
        let s = self.s.into_bigint().to_bytes_le();
        out[64..64 + s.len()].copy_from_slice(&s);
        out
    }

    /// Parses a signature; rejects invalid points and a non-canonical `s`.
    pub fn from_bytes(bytes: &[u8; SIGNATURE_BYTES]) -> Result<Self, CryptoError> {
        let pubkey = PublicKey::from_bytes(bytes[..32].try_into().expect("32 bytes"))?;
        let r = point_from_bytes(&bytes[32..64])?;
        let s = Fs::from_le_bytes_mod_order(&bytes[64..]);
        let canonical = s.into_bigint().to_bytes_le();
        if canonical[..] != bytes[64..64 + canonical.len()] {
            return Err(CryptoError::NonCanonicalScalar);
        }
        Ok(Signature { pubkey, r, s })
    }
}

/// The 96-byte wire form, so that circuit witnesses holding signatures serialize (prover jobs).
impl CanonicalSerialize for Signature {
    fn serialize_with_mode<W: std::io::Write>(
        &self,
        mut writer: W,
        _compress: ark_serialize::Compress,
    ) -> Result<(), ark_serialize::SerializationError> {
        Ok(writer.write_all(&self.to_bytes())?)
    }

    fn serialized_size(&self, _compress: ark_serialize::Compress) -> usize {
        SIGNATURE_BYTES
    }
}

impl ark_serialize::Valid for Signature {
    fn check(&self) -> Result<(), ark_serialize::SerializationError> {
        Ok(())
    }
}

impl CanonicalDeserialize for Signature {
    /// Always validates (points on the curve, canonical `s`): a signature is never trusted.
    fn deserialize_with_mode<R: std::io::Read>(
        mut reader: R,
        _compress: ark_serialize::Compress,
        _validate: ark_serialize::Validate,
    ) -> Result<Self, ark_serialize::SerializationError> {
        let mut bytes = [0u8; SIGNATURE_BYTES];
        reader.read_exact(&mut bytes)?;
        Signature::from_bytes(&bytes).map_err(|_| ark_serialize::SerializationError::InvalidData)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;

    #[test]
    fn sign_verify_and_tamper() {
        let sk = PrivateKey::from_seed(b"alice");
        let msg = Fr::from(42u8);
        let sig = sk.sign(msg);
        sig.verify(msg).unwrap();
        assert_eq!(sig.verify(Fr::from(43u8)), Err(CryptoError::BadSignature));
        let other = PrivateKey::from_seed(b"bob").public_key();
        let forged = Signature {
            pubkey: other,
            ..sig
        };
        assert_eq!(forged.verify(msg), Err(CryptoError::BadSignature));
        let mut bad_s = sig;
        bad_s.s += Fs::from(1u8);
        assert_eq!(bad_s.verify(msg), Err(CryptoError::BadSignature));
    }

    #[test]
    fn bytes_round_trip_and_rejections() {
        let sig = PrivateKey::from_seed(b"carol").sign(Fr::from(7u8));
        let bytes = sig.to_bytes();
        assert_eq!(Signature::from_bytes(&bytes).unwrap(), sig);
        // s + l is the same scalar but non-canonical.
        let mut big = bytes;
        let l = Fs::MODULUS.to_bytes_le();
        let mut carry = 0u16;
        for i in 0..32 {
            let v = big[64 + i] as u16 + l[i] as u16 + carry;
            big[64 + i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!(
            Signature::from_bytes(&big),
            Err(CryptoError::NonCanonicalScalar)
        );
        let mut bad_point = bytes;
        bad_point[0] ^= 0x55;
        bad_point[1] ^= 0x55;
        assert!(Signature::from_bytes(&bad_point).is_err());
        let zero = point_to_bytes(&EdwardsAffine::zero());
        let mut id = bytes;
        id[..32].copy_from_slice(&zero);
        assert_eq!(
            Signature::from_bytes(&id),
            Err(CryptoError::InvalidPoint("identity"))
        );
    }

    #[test]
    fn derived_keys_are_deterministic_and_distinct() {
        let a = EthSigner::from_bytes(&[1u8; 32]).unwrap();
        let b = EthSigner::from_bytes(&[2u8; 32]).unwrap();
        let ka = PrivateKey::derive_from_eth(&a).public_key();
        assert_eq!(ka, PrivateKey::derive_from_eth(&a).public_key());
        assert_ne!(
            ka.hash(),
            PrivateKey::derive_from_eth(&b).public_key().hash()
        );
        assert_ne!(ka.hash(), PubKeyHash::NONE);
    }

    #[test]
    fn fixed_base_table_matches_generic_multiplication() {
        let mut rng = ark_std::test_rng();
        for _ in 0..16 {
            let s = Fs::rand(&mut rng);
            assert_eq!(mul_generator(&s), EdwardsProjective::generator() * s);
        }
        assert_eq!(mul_generator(&Fs::zero()), EdwardsProjective::zero());
        assert_eq!(
            mul_generator(&-Fs::from(1u8)),
            -EdwardsProjective::generator()
        );
    }

    #[test]
    fn random_messages_verify() {
        let mut rng = ark_std::test_rng();
        let sk = PrivateKey::from_seed(b"dave");
        for _ in 0..8 {
            let m = Fr::rand(&mut rng);
            sk.sign(m).verify(m).unwrap();
        }
    }
}
