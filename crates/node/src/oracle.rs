//! An oracle instance. It watches every chain's contract; when every chain has proven block `n`
//! with the same `sync_hash`, it signs the attestation digest with its own key and posts the
//! signature to the board (a table any instance reads); once the board holds a threshold of
//! signatures for the newest such block that verify — each a signature of the digest by its
//! claimed signer under the contracts' rules, from distinct oracles the contracts register
//! ([`relay_set`]) — it relays them to every chain that has not synced it yet, so a malformed
//! or foreign row cannot stall consensus, and any oracle relays. Relaying is idempotent: a
//! chain already synced refuses the call at estimation and nothing is sent. Syncing `n` syncs every earlier block (the sync hash chains them).
//!
//! It also **abandons** blocks that can never be synced, so that the operator may revert them
//! where they were proven (`rollup-node revert`; a contract reverts a proven block only with a
//! threshold of abandonments). The rule, the same at every honest oracle: sign the abandonment
//! of block `k` with sync hash `h` — `k` being the lowest block not proven alike on every chain,
//! above every chain's synced blocks — only once every chain's newest block is later than `k`'s
//! prove deadline (its timestamp plus the contracts' prove window), read *before* the proven
//! state, and only if, after that, not every chain has proven `k` with `h`. Contracts refuse
//! proofs after the deadline, so from then on the set of chains that proved `(k, h)` can only
//! shrink: an honest oracle never abandons a block that every chain proved (which it would
//! attest), and never attests one it abandoned. Exclusivity then holds with fewer than
//! `threshold` faulty oracles, the same assumption the sync attestations rest on
//! (docs/CONTRACTS.md).

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use rollup_l1::bindings::Rollup;
use rollup_storage::Storage;
use rollup_types::ChainId;
use std::collections::BTreeSet;
use std::time::Duration;

/// How long a relay's receipt is awaited.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one round may take.
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);
/// Most unsynced blocks looked at for an abandonment in one round.
const ABANDON_SCAN: u32 = 256;

/// The attestation digest of (`number`, `sync`, `mask`) as the contract computes it.
async fn digest_of(
    r: &Rollup::RollupInstance<DynProvider>,
    number: u32,
    sync: B256,
    mask: U256,
) -> anyhow::Result<B256> {
    Ok(r.attestationDigest(number, sync, mask).call().await?)
}

/// The signatures to relay for `digest`: of the board's `rows` (claimed signer, signature), those
/// whose signature is a `personal_sign` of `digest` by the claimed signer under the contract's
/// rules (65 bytes, low s, v ∈ {27, 28}), from a `registered` oracle, one per oracle — the
/// first `threshold` of them, or `None` while fewer verify.
pub fn relay_set(
    rows: &[([u8; 20], Vec<u8>)],
    digest: &B256,
    registered: &[Address],
    threshold: usize,
) -> Option<Vec<Bytes>> {
    let message = rollup_crypto::eth::personal_message_hash(digest.as_slice());
    let mut used = BTreeSet::new();
    let mut out = Vec::new();
    for (signer, sig) in rows {
        let Ok(bytes) = <[u8; 65]>::try_from(sig.as_slice()) else {
            continue;
        };
        let Ok(by) = rollup_crypto::EthSignature(bytes).recover(&message) else {
            continue;
        };
        let by = Address::from(by.0);
        if by != Address::from(*signer) || !registered.contains(&by) || !used.insert(by) {
            continue;
        }
        out.push(Bytes::from(sig.clone()));
        if out.len() == threshold {
            return Some(out);
        }
    }
    None
}

/// One oracle instance.
pub struct Oracle {
    signer: PrivateKeySigner,
    board: Storage,
    /// Per chain: the contract through a provider that signs as this oracle (for relays).
    chains: Vec<(ChainId, Rollup::RollupInstance<DynProvider>)>,
    threshold: usize,
    attested: u32,
    /// Abandonments signed by this process (also on the board; this saves the round trips).
    abandoned: BTreeSet<(u32, B256)>,
}

impl Oracle {
    /// An oracle signing with `signer`; `chains`: each chain's contract through a provider whose
    /// wallet is this oracle's key.
    pub fn new(
        signer: PrivateKeySigner,
        board: Storage,
        chains: Vec<(ChainId, DynProvider, Address)>,
        threshold: usize,
    ) -> Self {
        Oracle {
            signer,
            board,
            chains: chains
                .into_iter()
                .map(|(c, p, a)| (c, Rollup::new(a, p)))
                .collect(),
            threshold,
            attested: 0,
            abandoned: BTreeSet::new(),
        }
    }

    /// The oracle's address.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// One round: abandon what can never be synced, attest the newest block every chain proved
    /// alike, relay a threshold set.
    pub async fn step(&mut self) -> anyhow::Result<()> {
        self.abandon().await?;
        self.attest().await
    }

    /// Signs the abandonment of the lowest block not proven alike everywhere, once its prove
    /// deadline has passed on every chain (the rule in the module docs). Posted to the board for
    /// the operator's `rollup-node revert`.
    pub async fn abandon(&mut self) -> anyhow::Result<()> {
        // The chains' clocks first: whatever the contracts show after these reads, no proof can
        // be added to it at a time before them.
        let mut clock = u64::MAX;
        for (_, r) in &self.chains {
            let head = r
                .provider()
                .get_block_by_number(BlockNumberOrTag::Latest)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no latest block"))?;
            clock = clock.min(head.header.timestamp);
        }
        let mut proven = Vec::new();
        let mut synced = 0u32;
        for (_, r) in &self.chains {
            proven.push(r.totalBlocksProven().call().await?);
            synced = synced.max(r.totalBlocksSynced().call().await?);
        }
        let top = proven.iter().copied().max().unwrap_or(0);
        for k in synced + 1..=top.min(synced + ABANDON_SCAN) {
            // Each chain's sync hash for k (None: not proven there).
            let mut hashes = Vec::new();
            for ((_, r), p) in self.chains.iter().zip(&proven) {
                hashes.push(if *p >= k {
                    Some(r.provenSyncHash(k).call().await?)
                } else {
                    None
                });
            }
            let first = hashes[0];
            if first.is_some() && hashes.iter().all(|h| *h == first) {
                continue; // proven alike everywhere: to be attested, never abandoned
            }
            for (i, h) in hashes.iter().enumerate() {
                let Some(h) = *h else { continue };
                if self.abandoned.contains(&(k, h)) {
                    continue;
                }
                let r = &self.chains[i].1;
                let deadline = r.proveDeadline(k).call().await?;
                if deadline == 0 || clock <= deadline {
                    continue; // some chain may still prove it
                }
                let mine = self.address();
                if self
                    .board
                    .attestations(k, &h.0)
                    .await?
                    .iter()
                    .any(|(a, _)| Address::from(*a) == mine)
                {
                    tracing::error!(block = k, "attested this block before; not abandoning it");
                    continue;
                }
                let digest = r.abandonmentDigest(k, h).call().await?;
                let sig = self.signer.sign_message_sync(digest.as_slice())?;
                self.board
                    .post_abandonment(k, &h.0, &mine.0.0, &sig.as_bytes())
                    .await?;
                self.abandoned.insert((k, h));
                metrics::counter!(crate::metrics::ORACLE_ABANDONED).increment(1);
                tracing::warn!(oracle = %mine, block = k, sync_hash = %h, "abandoned: not proven on every chain within its prove window");
            }
            // Blocks above k chain through it: abandoning k abandons them.
            break;
        }
        Ok(())
    }

    /// Attests the newest block every chain proved alike and relays a threshold set.
    pub async fn attest(&mut self) -> anyhow::Result<()> {
        let mut newest = u32::MAX;
        for (_, r) in &self.chains {
            newest = newest.min(r.totalBlocksProven().call().await?);
        }
        if newest == 0 || newest == u32::MAX {
            return Ok(());
        }
        let mut sync: Option<B256> = None;
        for (chain, r) in &self.chains {
            let h = r.provenSyncHash(newest).call().await?;
            match sync {
                None => sync = Some(h),
                Some(s) if s != h => {
                    tracing::error!(block = newest, %chain, "chains proved different sync hashes; not attesting");
                    return Ok(());
                }
                _ => {}
            }
        }
        let sync = sync.expect("at least one chain");
        let (_, first) = &self.chains[0];
        let mask: U256 = first.chainsMask().call().await?;
        if newest > self.attested {
            let digest = digest_of(first, newest, sync, mask).await?;
            let sig = self.signer.sign_message_sync(digest.as_slice())?;
            self.board
                .post_attestation(newest, &sync.0, &self.address().0.0, &sig.as_bytes())
                .await?;
            self.attested = newest;
            metrics::counter!(crate::metrics::ORACLE_SIGNED).increment(1);
            tracing::info!(oracle = %self.address(), block = newest, "attested");
        }
        // Only signatures that verify, from distinct registered oracles: a malformed or foreign
        // row on the board (anyone with the database can write one) must not stall consensus.
        let registered = first.oracleSet().call().await?;
        let threshold = usize::from(first.oracleThreshold().call().await?);
        if threshold != self.threshold {
            tracing::warn!(
                configured = self.threshold,
                contract = threshold,
                "the contracts' oracle threshold differs from the configured one; using the contracts'"
            );
        }
        let rows = self.board.attestations(newest, &sync.0).await?;
        let Some(sigs) = relay_set(
            &rows,
            &digest_of(first, newest, sync, mask).await?,
            &registered,
            threshold,
        ) else {
            return Ok(());
        };
        for (chain, r) in &self.chains {
            if r.totalBlocksSynced().call().await? >= newest {
                continue;
            }
            match r
                .receiveSyncAttestation(newest, sync, mask, sigs.clone())
                .send()
                .await
            {
                Ok(pending) => {
                    // Bounded: a relay that never mines must not stall this oracle for good.
                    let receipt = pending
                        .with_timeout(Some(RECEIPT_TIMEOUT))
                        .get_receipt()
                        .await?;
                    if receipt.status() {
                        metrics::counter!(crate::metrics::ORACLE_RELAYED, "chain" => chain.to_string())
                            .increment(1);
                    }
                    tracing::info!(%chain, block = newest, ok = receipt.status(), "attestation relayed");
                }
                // Another oracle relayed first, or the chain has not proven it yet.
                Err(e) => tracing::debug!(%chain, block = newest, error = %e, "relay skipped"),
            }
        }
        Ok(())
    }

    /// Rounds every `poll`; transport errors are logged and retried. A round is bounded in
    /// time: one that hangs on L1 (seen under load: a relay's receipt that never came) is
    /// abandoned and the next round starts from the chains' counters again.
    pub async fn run(mut self, poll: Duration) -> anyhow::Result<()> {
        loop {
            match tokio::time::timeout(ROUND_TIMEOUT, self.step()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(oracle = %self.address(), error = %e, "oracle round failed")
                }
                Err(_) => tracing::warn!(
                    oracle = %self.address(),
                    "oracle round timed out; retrying"
                ),
            }
            tokio::time::sleep(poll).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rollup_crypto::EthSigner;

    fn key(i: u8) -> EthSigner {
        EthSigner::from_bytes(&[i; 32]).unwrap()
    }

    fn row(claimed: &EthSigner, by: &EthSigner, digest: &B256) -> ([u8; 20], Vec<u8>) {
        (
            claimed.address().0,
            by.personal_sign(digest.as_slice()).0.to_vec(),
        )
    }

    #[test]
    fn only_verified_signatures_of_distinct_registered_oracles_are_relayed() {
        let digest = B256::repeat_byte(0x5a);
        let (o1, o2, o3, foreign) = (key(1), key(2), key(3), key(9));
        let registered: Vec<Address> = [&o1, &o2, &o3]
            .iter()
            .map(|k| Address::from(k.address().0))
            .collect();
        let good1 = row(&o1, &o1, &digest);
        // The same signature with s mirrored to the high half (and v flipped): it recovers the
        // same key, but the contract refuses it.
        let mut high = good1.clone();
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .unwrap();
        let s = U256::from_be_slice(&high.1[32..64]);
        high.1[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        high.1[64] = if high.1[64] == 27 { 28 } else { 27 };
        let rows = vec![
            ([0; 20], b"junk".to_vec()),
            row(&foreign, &foreign, &digest),
            row(&o3, &o2, &digest), // o2's signature posted under o3's name
            row(&o3, &o3, &B256::repeat_byte(1)), // another digest
            high,
            good1.clone(),
            good1.clone(), // o1 again
            row(&o2, &o2, &digest),
        ];
        assert_eq!(
            relay_set(&rows, &digest, &registered, 2),
            Some(vec![
                Bytes::from(good1.1.clone()),
                Bytes::from(rows[7].1.clone())
            ])
        );
        // Two distinct valid oracles only: a threshold of three waits.
        assert_eq!(relay_set(&rows, &digest, &registered, 3), None);
        // Control: the junk alone would have been the first two rows the old relay took.
        assert_eq!(relay_set(&rows[..5], &digest, &registered, 1), None);
    }
}
