//! Each chain's gas price as its driver last read it (`migrations/0009_gas_prices.sql`): what
//! the API's fee policy prices L1 costs at, the same on every API replica.

use crate::{Result, Storage, StorageError, now_ms};
use sqlx::Row;

impl Storage {
    /// Records `chain`'s gas price (wei), read now.
    pub async fn save_gas_price(&self, chain: u8, wei: u128) -> Result<()> {
        sqlx::query(
            "INSERT INTO gas_prices (chain, wei, at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (chain) DO UPDATE SET wei = $2, at_ms = $3",
        )
        .bind(chain as i64)
        .bind(wei.to_string())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every chain's last gas price: (chain, wei, when read in Unix ms).
    pub async fn gas_prices(&self) -> Result<Vec<(u8, u128, i64)>> {
        sqlx::query("SELECT chain, wei, at_ms FROM gas_prices ORDER BY chain")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| {
                let chain: i64 = r.try_get(0)?;
                let wei: String = r.try_get(1)?;
                let at: i64 = r.try_get(2)?;
                let wei = wei
                    .parse()
                    .map_err(|_| StorageError::Corrupt(format!("gas price {wei:?}")))?;
                Ok((chain as u8, wei, at))
            })
            .collect()
    }
}
