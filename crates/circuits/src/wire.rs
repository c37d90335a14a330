//! Binary form of the circuit witnesses, so that a block's proving jobs can be stored and handed
//! to prover workers on other machines (`ark-serialize`, the arkworks wire format).

use ark_serialize::{
    CanonicalDeserialize, CanonicalSerialize, Compress, SerializationError, Valid, Validate,
};
use std::io::{Read, Write};
use std::ops::{Deref, DerefMut};

/// A `u128` that serializes (ark-serialize has no `u128`): 16 bytes little-endian.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct U128(pub u128);

impl Deref for U128 {
    type Target = u128;
    fn deref(&self) -> &u128 {
        &self.0
    }
}

impl DerefMut for U128 {
    fn deref_mut(&mut self) -> &mut u128 {
        &mut self.0
    }
}

impl CanonicalSerialize for U128 {
    fn serialize_with_mode<W: Write>(
        &self,
        mut writer: W,
        _compress: Compress,
    ) -> Result<(), SerializationError> {
        Ok(writer.write_all(&self.0.to_le_bytes())?)
    }

    fn serialized_size(&self, _compress: Compress) -> usize {
        16
    }
}

impl Valid for U128 {
    fn check(&self) -> Result<(), SerializationError> {
        Ok(())
    }
}

impl CanonicalDeserialize for U128 {
    fn deserialize_with_mode<R: Read>(
        mut reader: R,
        _compress: Compress,
        _validate: Validate,
    ) -> Result<Self, SerializationError> {
        let mut b = [0u8; 16];
        reader.read_exact(&mut b)?;
        Ok(U128(u128::from_le_bytes(b)))
    }
}
