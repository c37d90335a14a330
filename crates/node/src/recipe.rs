//! A sealed block as the node stores it: the context and the accepted transactions (canonical
//! encodings). Replaying recipes from genesis through the deterministic block builder rebuilds the
//! state and every block exactly; the stored roots check that it did.

use rollup_state::BlockContext;
use rollup_types::BlockNumber;
use rollup_types::tx::Tx;

/// Why a stored recipe cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// Truncated or trailing bytes.
    #[error("malformed block recipe")]
    Malformed,
    /// A transaction does not decode.
    #[error("transaction {0} of the recipe: {1}")]
    Tx(usize, String),
}

/// Context and transactions of a block.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// The builder's context.
    pub ctx: BlockContext,
    /// The accepted transactions, in order.
    pub txs: Vec<Tx>,
}

impl Recipe {
    /// `number4 ‖ timestamp8 ‖ prev_sync_hash32 ‖ count4 ‖ (len4 ‖ tx)*`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.ctx.number.0.to_be_bytes());
        out.extend_from_slice(&self.ctx.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ctx.prev_sync_hash);
        out.extend_from_slice(&(self.txs.len() as u32).to_be_bytes());
        for tx in &self.txs {
            let bytes = tx.encode().expect("accepted transactions encode");
            out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Parses [`Self::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecipeError> {
        let mut r = bytes;
        let mut take = |n: usize| -> Result<&[u8], RecipeError> {
            if r.len() < n {
                return Err(RecipeError::Malformed);
            }
            let (a, b) = r.split_at(n);
            r = b;
            Ok(a)
        };
        let number = u32::from_be_bytes(take(4)?.try_into().expect("4"));
        let timestamp = u64::from_be_bytes(take(8)?.try_into().expect("8"));
        let prev_sync_hash: [u8; 32] = take(32)?.try_into().expect("32");
        let count = u32::from_be_bytes(take(4)?.try_into().expect("4")) as usize;
        let mut txs = Vec::with_capacity(count.min(1 << 16));
        for i in 0..count {
            let len = u32::from_be_bytes(take(4)?.try_into().expect("4")) as usize;
            let tx = Tx::decode(take(len)?).map_err(|e| RecipeError::Tx(i, e.to_string()))?;
            txs.push(tx);
        }
        if !r.is_empty() {
            return Err(RecipeError::Malformed);
        }
        Ok(Recipe {
            ctx: BlockContext {
                number: BlockNumber(number),
                timestamp,
                prev_sync_hash,
            },
            txs,
        })
    }
}
