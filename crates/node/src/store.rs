//! The L1 senders' records in the node's database.

use rollup_l1::L1Error;
use rollup_l1::sender::{TxRecord, TxStore};
use rollup_storage::Storage;

/// A chain's sender records in the `l1_txs` table.
pub struct DbTxStore {
    storage: Storage,
    chain: u8,
}

impl DbTxStore {
    /// The store of `chain`'s sender.
    pub fn new(storage: Storage, chain: u8) -> Self {
        DbTxStore { storage, chain }
    }
}

fn err(e: impl std::fmt::Display) -> L1Error {
    L1Error::Store(e.to_string())
}

impl TxStore for DbTxStore {
    async fn load(&self) -> Result<Vec<TxRecord>, L1Error> {
        self.storage
            .l1_txs(self.chain)
            .await
            .map_err(err)?
            .iter()
            .map(|j| serde_json::from_str(j).map_err(err))
            .collect()
    }

    async fn save(&mut self, record: &TxRecord) -> Result<(), L1Error> {
        let json = serde_json::to_string(record).map_err(err)?;
        self.storage
            .save_l1_tx(self.chain, record.id, &json)
            .await
            .map_err(err)
    }
}
