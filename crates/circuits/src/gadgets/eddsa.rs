//! EdDSA (todo in this session)
