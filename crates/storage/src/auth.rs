//! Key-change facts set on L1 (`migrations/0008_auth_facts.sql`): written by a chain's watcher
//! in the same transaction as its cursor, read by the API before it admits a ChangePubKey
//! authorised on-chain.

use crate::{Result, Storage, StorageError};
use sqlx::Row;

/// One `AuthPubkeyHashSet` event of a chain's contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFact {
    /// The owner that set it.
    pub owner: [u8; 20],
    /// The account nonce it authorises a change at.
    pub nonce: u32,
    /// The fact (`rollup_types::tx::auth_fact` of the change).
    pub fact: [u8; 32],
    /// The L1 block it was set in.
    pub l1_block: u64,
}

/// Stores `facts` of `chain` inside the watcher's transaction `t`; a fact already stored must be
/// identical (the contract never changes one).
pub(crate) async fn write_facts(
    t: &mut sqlx::Transaction<'static, sqlx::Any>,
    chain: u8,
    facts: &[AuthFact],
) -> Result<()> {
    for f in facts {
        // Every node server's watcher writes the same facts, concurrently: insert if missing,
        // then compare with what is stored.
        sqlx::query(
            "INSERT INTO auth_facts (chain, owner, nonce, fact, l1_block) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (chain, owner, nonce) DO NOTHING",
        )
        .bind(chain as i64)
        .bind(f.owner.to_vec())
        .bind(f.nonce as i64)
        .bind(f.fact.to_vec())
        .bind(f.l1_block as i64)
        .execute(&mut **t)
        .await?;
        let stored: Vec<u8> = sqlx::query(
            "SELECT fact FROM auth_facts WHERE chain = $1 AND owner = $2 AND nonce = $3",
        )
        .bind(chain as i64)
        .bind(f.owner.to_vec())
        .bind(f.nonce as i64)
        .fetch_one(&mut **t)
        .await?
        .try_get(0)?;
        if stored != f.fact {
            return Err(StorageError::Corrupt(format!(
                "chain {chain}: the key-change fact of 0x{} at nonce {} differs from the \
                 stored one",
                f.owner
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
                f.nonce
            )));
        }
    }
    Ok(())
}

impl Storage {
    /// The fact `owner` set on `chain`'s contract for its change at `nonce`, if the watcher read
    /// one.
    pub async fn auth_fact(
        &self,
        chain: u8,
        owner: &[u8; 20],
        nonce: u32,
    ) -> Result<Option<[u8; 32]>> {
        let row = sqlx::query(
            "SELECT fact FROM auth_facts WHERE chain = $1 AND owner = $2 AND nonce = $3",
        )
        .bind(chain as i64)
        .bind(owner.to_vec())
        .bind(nonce as i64)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let v: Vec<u8> = r.try_get(0)?;
            v.try_into()
                .map_err(|_| StorageError::Corrupt("a key-change fact is not 32 bytes".into()))
        })
        .transpose()
    }
}
