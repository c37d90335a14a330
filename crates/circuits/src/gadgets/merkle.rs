//! Merkle
