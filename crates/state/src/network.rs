//! The network state (every connected chain's state) and the transaction rules.
//!
//! A transaction is checked in two steps:
//! 1. [`verify`] — stateless and parallelisable: format, EdDSA signature (or ECDSA recovery for a key
//!    change). Yields a [`VerifiedTx`]; nothing else can be applied.
//! 2. [`NetworkState::apply`] — stateful: account/key/nonce/balance/pool/slippage rules; the tx
//!    splits into chain-local [`Op`] halves applied through [`ChainState::apply_op`], and emits the
//!    cross-chain [`Link`]s. Any failure on any chain rolls every chain back: no state change on
//!    rejection.

use crate::TxError;
use crate::chain::{ChainState, Mark, empty_chain_root};
use crate::pool;
use crate::witness::OpWitness;
use ark_bn254::Fr;
use rollup_crypto::eth::personal_message_hash;
use rollup_crypto::{PubKeyHash, poseidon};
use rollup_types::tx::{CpkAuth, L2Tx, Tx};
use rollup_types::*;
use rustc_hash::FxHashMap;

/// Static parameters of a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Connected chains (distinct, each in 1..=MAX_CHAINS).
    pub chains: Vec<ChainId>,
    /// L1 address of the fee account (account 0), the operator's.
    pub fee_account: Address,
    /// The deployment every signature is bound to (read from the contracts, which derive it).
    pub domain: Domain,
}

/// Configuration errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No chain, or a duplicate chain.
    #[error("connected chains must be non-empty and distinct")]
    Chains,
    /// The fee account address is zero.
    #[error("fee account address must be non-zero")]
    FeeAccount,
}

/// Who authorised a transaction, established by [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Signer {
    Priority,
    /// The L1 owner: the recovered ECDSA signer, or `None` for an on-chain authorisation (the
    /// contract ties it to the owner's address).
    Eth(Option<Address>),
    L2(PubKeyHash),
}

/// A transaction whose stateless checks (format, signature) passed.
#[derive(Clone, Debug)]
pub struct VerifiedTx {
    tx: Tx,
    signer: Signer,
}

impl VerifiedTx {
    /// The transaction.
    pub fn tx(&self) -> &Tx {
        &self.tx
    }
}

/// Stateless verification: format and signature for the deployment `domain`. Cheap to run in
/// parallel, ahead of sealing.
pub fn verify(tx: Tx, domain: &Domain) -> Result<VerifiedTx, TxError> {
    let signer = match &tx {
        Tx::Deposit(d) => {
            if d.amount.is_zero() || d.to.is_zero() {
                return Err(TxError::InvalidOp("deposit of zero or to the zero address"));
            }
            Signer::Priority
        }
        Tx::FullExit(_) => Signer::Priority,
        Tx::ChangePubKey {
            tx: cpk,
            auth: CpkAuth::Ecdsa(sig),
        } => {
            let digest = personal_message_hash(&cpk.message(domain)?);
            let signer = sig
                .recover(&digest)
                .map_err(|e| TxError::BadEthAuth(e.to_string()))?;
            Signer::Eth(Some(signer))
        }
        // The owner's fact on L1 authorises it: the node checks it against the facts its
        // watcher read before admitting the change, and the contract again at commit.
        Tx::ChangePubKey {
            tx: cpk,
            auth: CpkAuth::Onchain,
        } => {
            cpk.check_format()?;
            Signer::Eth(None)
        }
        Tx::L2 { tx: l2, signature } => {
            let msg = l2.message_hash(domain)?;
            signature.verify(msg).map_err(|_| TxError::BadSignature)?;
            Signer::L2(signature.pubkey.hash())
        }
    };
    Ok(VerifiedTx { tx, signer })
}

/// What an accepted transaction produced.
#[derive(Clone, Debug, Default)]
pub struct TxOutput {
    /// Chain-local halves in application order.
    pub halves: Vec<(ChainId, Op)>,
    /// Cross-chain links.
    pub links: Vec<(ChainId, Link)>,
    /// Per-half witnesses, when recording.
    pub witness: Vec<(ChainId, OpWitness)>,
}

/// Every connected chain's state plus the global address index.
#[derive(Clone, Debug)]
pub struct NetworkState {
    chains: Vec<ChainState>,
    slot: [Option<usize>; MAX_CHAINS],
    addresses: FxHashMap<Address, AccountId>,
    created: Vec<Address>,
    recording: bool,
    max_chunks: usize,
    max_links: usize,
    domain: Domain,
}

impl NetworkState {
    /// The genesis state: the fee account exists on every chain.
    pub fn genesis(config: &NetworkConfig) -> Result<Self, ConfigError> {
        let mut chains = config.chains.clone();
        chains.sort();
        chains.dedup();
        if chains.is_empty() || chains.len() != config.chains.len() {
            return Err(ConfigError::Chains);
        }
        if config.fee_account.is_zero() {
            return Err(ConfigError::FeeAccount);
        }
        let mut slot = [None; MAX_CHAINS];
        for (i, c) in chains.iter().enumerate() {
            slot[c.index()] = Some(i);
        }
        let mut state = NetworkState {
            chains: chains.into_iter().map(ChainState::new).collect(),
            slot,
            addresses: FxHashMap::default(),
            created: Vec::new(),
            recording: false,
            max_chunks: op::MAX_BLOCK_CHUNKS,
            max_links: usize::MAX,
            domain: config.domain,
        };
        let mut out = TxOutput::default();
        state
            .create_account(config.fee_account, 0, &mut out)
            .expect("empty state has room");
        state.commit();
        // Genesis is not a block: the first block starts with no chunks used.
        state.settle_fees();
        Ok(state)
    }

    /// Connected chains, ascending.
    pub fn chain_ids(&self) -> Vec<ChainId> {
        self.chains.iter().map(ChainState::id).collect()
    }

    /// A connected chain's state.
    pub fn chain(&self, id: ChainId) -> Option<&ChainState> {
        self.slot
            .get(id.0.wrapping_sub(1) as usize)
            .copied()
            .flatten()
            .map(|i| &self.chains[i])
    }

    /// A connected chain's state, mutably (for root and path queries).
    pub fn chain_mut(&mut self, id: ChainId) -> Option<&mut ChainState> {
        let i = self
            .slot
            .get(id.0.wrapping_sub(1) as usize)
            .copied()
            .flatten()?;
        Some(&mut self.chains[i])
    }

    fn connected(&mut self, id: ChainId) -> Result<&mut ChainState, TxError> {
        self.chain_mut(id).ok_or(TxError::ChainNotConnected(id))
    }

    /// The account id of an L1 address.
    pub fn account_id(&self, address: &Address) -> Option<AccountId> {
        self.addresses.get(address).copied()
    }

    /// Number of accounts.
    pub fn account_count(&self) -> u32 {
        self.chains[0].account_count()
    }

    /// Every chain root, in `final_root` slot order (unused slots: the empty chain root).
    pub fn chain_roots(&mut self) -> [Fr; MAX_CHAINS] {
        let mut roots = [empty_chain_root(); MAX_CHAINS];
        let slots: Vec<usize> = self.chains.iter().map(|c| c.id().index()).collect();
        // Chains are independent: recompute them in parallel.
        let computed: Vec<Fr> = {
            use rayon::prelude::*;
            self.chains.par_iter_mut().map(ChainState::root).collect()
        };
        for (s, r) in slots.into_iter().zip(computed) {
            roots[s] = r;
        }
        roots
    }

    /// `final_root = Poseidon(chain_root_1, …, chain_root_MAX_CHAINS)`.
    pub fn final_root(&mut self) -> Fr {
        poseidon::hash(&self.chain_roots())
    }

    /// Sets how a block's part on each chain is split into chain proofs (`proof_chunks` each) and
    /// limits what a block may use per chain: `max_chunks` pubdata chunks, sub-block padding
    /// included (clamped to [`op::MAX_BLOCK_CHUNKS`]), and `max_links` cross-chain links (the
    /// binding circuit's slots). A transaction that would pass a limit gets [`TxError::BlockFull`].
    pub fn set_block_limits(&mut self, proof_chunks: usize, max_chunks: usize, max_links: usize) {
        self.max_chunks = max_chunks.min(op::MAX_BLOCK_CHUNKS);
        self.max_links = max_links;
        for c in &mut self.chains {
            c.set_proof_chunks(proof_chunks);
        }
    }

    /// Credits every chain's collected fees to the fee account (the end of a block).
    pub fn settle_fees(&mut self) {
        self.chains.iter_mut().for_each(ChainState::settle_fees);
    }

    /// Starts recording witnesses on every chain.
    pub fn start_witness(&mut self) {
        self.recording = true;
        self.chains.iter_mut().for_each(ChainState::start_witness);
    }

    /// Stops recording witnesses.
    pub fn stop_witness(&mut self) {
        self.recording = false;
        self.chains.iter_mut().for_each(|c| {
            c.stop_witness();
        });
    }

    fn marks(&self) -> (Vec<Mark>, usize) {
        (
            self.chains.iter().map(ChainState::mark).collect(),
            self.created.len(),
        )
    }

    fn rollback(&mut self, (marks, created): (Vec<Mark>, usize)) {
        for (c, m) in self.chains.iter_mut().zip(marks) {
            c.rollback(m);
        }
        for a in self.created.drain(created..) {
            self.addresses.remove(&a);
        }
    }

    /// Snapshot restore: replaces a connected chain's state.
    pub(crate) fn replace_chain(&mut self, chain: ChainState) {
        let i = self.slot[chain.id().index()].expect("connected chain");
        self.chains[i] = chain;
    }

    /// Snapshot restore: the address index from the accounts in id order.
    pub(crate) fn reindex(
        &mut self,
        addresses: &[Address],
    ) -> Result<(), crate::snapshot::SnapshotError> {
        self.addresses.clear();
        for (i, a) in addresses.iter().enumerate() {
            if self.addresses.insert(*a, AccountId(i as u32)).is_some() {
                return Err(crate::snapshot::SnapshotError::Network(format!(
                    "address {a:?} holds two accounts"
                )));
            }
        }
        Ok(())
    }

    fn commit(&mut self) {
        self.chains.iter_mut().for_each(ChainState::commit);
        self.created.clear();
    }

    /// Verifies and applies one transaction (`link_id`: its position in the block).
    pub fn apply_tx(&mut self, tx: Tx, link_id: u32) -> Result<TxOutput, TxError> {
        let v = verify(tx, &self.domain)?;
        self.apply(&v, link_id)
    }

    /// The deployment domain signatures are checked against.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// Checks a verified transaction against the current state and leaves the state unchanged
    /// either way (the API's admission check).
    pub fn check(&mut self, vtx: &VerifiedTx) -> Result<(), TxError> {
        let marks = self.marks();
        let mut out = TxOutput::default();
        let result = self.rules(vtx, 0, &mut out);
        self.rollback(marks);
        result
    }

    /// Applies a verified transaction; on any error the state is unchanged.
    pub fn apply(&mut self, vtx: &VerifiedTx, link_id: u32) -> Result<TxOutput, TxError> {
        let marks = self.marks();
        let mut out = TxOutput::default();
        let fits = |s: &Self, out: &TxOutput| {
            s.chains.iter().all(|c| {
                let links = out.links.iter().filter(|(l, _)| *l == c.id()).count();
                c.pending_fees().len() <= FEE_TOKENS_PER_BLOCK
                    && c.block_chunks() <= s.max_chunks
                    && c.block_links() + links <= s.max_links
            })
        };
        let result = self.rules(vtx, link_id, &mut out);
        if let (Ok(()), Tx::L2 { tx, signature }) = (&result, &vtx.tx) {
            // The signed half is the first half on the tx's chain that is not an account creation.
            let signed = out
                .witness
                .iter_mut()
                .find(|(c, w)| *c == tx.chain() && !matches!(w.op, Op::CreateAccount { .. }));
            if let Some((_, w)) = signed {
                w.signature = Some(*signature);
                w.signed = Some(tx.clone());
            }
        }
        match result.and_then(|()| {
            if fits(self, &out) {
                Ok(())
            } else {
                Err(TxError::BlockFull)
            }
        }) {
            Ok(()) => {
                self.commit();
                for c in &mut self.chains {
                    let id = c.id();
                    c.add_block_links(out.links.iter().filter(|(l, _)| *l == id).count());
                }
                Ok(out)
            }
            Err(e) => {
                self.rollback(marks);
                Err(e)
            }
        }
    }

    /// Applies one half on its chain and records it.
    fn emit(&mut self, chain: ChainId, op: Op, out: &mut TxOutput) -> Result<(), TxError> {
        let recording = self.recording;
        let c = self.connected(chain)?;
        c.apply_op(&op)?;
        if recording {
            out.witness.push((
                chain,
                OpWitness {
                    op: op.clone(),
                    updates: c.take_witness(),
                    signature: None,
                    signed: None,
                },
            ));
        }
        out.halves.push((chain, op));
        Ok(())
    }

    fn create_account(
        &mut self,
        address: Address,
        link_id: u32,
        out: &mut TxOutput,
    ) -> Result<AccountId, TxError> {
        let id = AccountId(self.account_count());
        if id.0 >= MAX_ACCOUNTS {
            return Err(TxError::AccountSpaceExhausted);
        }
        for chain in self.chain_ids() {
            self.emit(
                chain,
                Op::CreateAccount {
                    account: id,
                    address,
                },
                out,
            )?;
            out.links.push((
                chain,
                Link::CreateAccount {
                    id: link_id,
                    account: id,
                    address,
                },
            ));
        }
        self.addresses.insert(address, id);
        self.created.push(address);
        Ok(id)
    }

    fn rules(&mut self, vtx: &VerifiedTx, id: u32, out: &mut TxOutput) -> Result<(), TxError> {
        match (&vtx.tx, &vtx.signer) {
            (Tx::Deposit(d), Signer::Priority) => {
                self.connected(d.chain)?.consume_priority(d.serial_id)?;
                let existing = self.account_id(&d.to);
                let refund = |account| Op::DepositRefund {
                    account,
                    token: d.token,
                    amount: d.amount,
                    to: d.to,
                };
                let op = match existing {
                    Some(acc) if !self.connected(d.chain)?.can_credit(acc, d.token, d.amount) => {
                        refund(acc)
                    }
                    None if self.account_count() >= MAX_ACCOUNTS => refund(AccountId(0)),
                    _ => {
                        let account = match existing {
                            Some(a) => a,
                            None => self.create_account(d.to, id, out)?,
                        };
                        Op::Deposit {
                            account,
                            token: d.token,
                            amount: d.amount,
                            to: d.to,
                        }
                    }
                };
                self.emit(d.chain, op, out)
            }
            (Tx::FullExit(e), Signer::Priority) => {
                let c = self.connected(e.chain)?;
                c.consume_priority(e.serial_id)?;
                let amount = c
                    .account(e.account)
                    .filter(|a| a.address == e.owner)
                    .map_or(Amount::ZERO, |a| a.balance(e.token));
                let op = Op::FullExit {
                    account: e.account,
                    token: e.token,
                    amount,
                    owner: e.owner,
                };
                self.emit(e.chain, op, out)
            }
            (Tx::ChangePubKey { tx, .. }, Signer::Eth(signer)) => {
                let owner = self
                    .connected(tx.chain)?
                    .account(tx.account)
                    .ok_or(TxError::UnknownAccount(tx.account))?
                    .address;
                if let Some(signer) = signer
                    && *signer != owner
                {
                    return Err(TxError::BadEthAuth(format!(
                        "signed by {signer}, account owner is {owner}"
                    )));
                }
                let op = Op::ChangePubKey {
                    account: tx.account,
                    pubkey_hash: tx.new_pubkey_hash,
                    address: owner,
                    nonce: tx.nonce,
                    fee_token: tx.fee_token,
                    fee: tx.fee,
                };
                self.emit(tx.chain, op, out)?;
                for chain in self.chain_ids() {
                    if chain != tx.chain {
                        let op = Op::SetPubKey {
                            account: tx.account,
                            pubkey_hash: tx.new_pubkey_hash,
                        };
                        self.emit(chain, op, out)?;
                    }
                    let link = Link::SetPubKey {
                        id,
                        account: tx.account,
                        pubkey_hash: tx.new_pubkey_hash,
                        origin: chain == tx.chain,
                    };
                    out.links.push((chain, link));
                }
                Ok(())
            }
            (Tx::L2 { tx, .. }, Signer::L2(pkh)) => self.l2_rules(tx, *pkh, id, out),
            _ => unreachable!("verify() pairs each tx kind with its signer kind"),
        }
    }

    fn l2_rules(
        &mut self,
        tx: &L2Tx,
        pkh: PubKeyHash,
        id: u32,
        out: &mut TxOutput,
    ) -> Result<(), TxError> {
        let chain = tx.chain();
        let signer = tx.account();
        let acc = self
            .connected(chain)?
            .account(signer)
            .ok_or(TxError::UnknownAccount(signer))?;
        if acc.pubkey_hash == PubKeyHash::NONE {
            return Err(TxError::NoPubKey(signer));
        }
        if acc.pubkey_hash != pkh {
            return Err(TxError::PubKeyMismatch(signer));
        }
        if acc.nonce != tx.nonce() {
            return Err(TxError::BadNonce {
                expected: acc.nonce,
                got: tx.nonce(),
            });
        }
        match tx {
            L2Tx::Transfer(t) => {
                let to = match self.account_id(&t.to) {
                    Some(a) => a,
                    None => self.create_account(t.to, id, out)?,
                };
                let op = Op::Transfer {
                    from: t.from,
                    to,
                    token: t.token,
                    amount: t.amount,
                    fee: t.fee,
                };
                self.emit(chain, op, out)
            }
            L2Tx::Withdraw(w) => {
                let op = Op::Withdraw {
                    account: w.account,
                    token: w.token,
                    amount: w.amount,
                    fee: w.fee,
                    to: w.to,
                    nonce: w.nonce,
                };
                self.emit(chain, op, out)
            }
            L2Tx::AddLiquidity(a) => {
                let half = self.half(chain, a.pool)?;
                let (_, shares) = pool::shares_for_add(&half, a.amount)
                    .ok_or(TxError::InsufficientLiquidity(a.pool))?;
                if shares < a.min_shares {
                    return Err(TxError::Slippage {
                        min: a.min_shares,
                        got: shares,
                    });
                }
                let op = Op::AddLiquidity {
                    account: signer,
                    pool: a.pool,
                    amount: a.amount,
                    fee: a.fee,
                };
                self.emit(chain, op, out)
            }
            L2Tx::RemoveLiquidity(r) => {
                let half = self.half(chain, r.pool)?;
                let got = pool::output_for_remove(&half, r.shares)
                    .ok_or(TxError::InsufficientLiquidity(r.pool))?;
                if got < r.min_out {
                    return Err(TxError::Slippage {
                        min: r.min_out,
                        got,
                    });
                }
                let op = Op::RemoveLiquidity {
                    account: signer,
                    pool: r.pool,
                    shares: r.shares,
                    fee: r.fee,
                };
                self.emit(chain, op, out)
            }
            L2Tx::Swap(s) => {
                let side_in = self.half(chain, s.pool)?;
                let out_chain = side_in.peer_chain;
                let side_out = self.half(out_chain, s.pool)?;
                let amount_out = pool::swap_output(
                    side_in.reserve,
                    side_out.reserve,
                    s.amount_in,
                    side_in.fee_bps,
                )
                .filter(|o| !o.is_zero() && *o < side_out.reserve)
                .ok_or(TxError::InsufficientLiquidity(s.pool))?;
                if amount_out < s.min_out {
                    return Err(TxError::Slippage {
                        min: s.min_out,
                        got: amount_out,
                    });
                }
                debug_assert!(pool::swap_invariant_holds(
                    side_in.reserve,
                    side_out.reserve,
                    s.amount_in,
                    amount_out,
                    side_in.fee_bps
                ));
                let op_in = Op::SwapIn {
                    account: signer,
                    pool: s.pool,
                    amount: s.amount_in,
                    fee: s.fee,
                };
                self.emit(chain, op_in, out)?;
                let op_out = Op::SwapOut {
                    account: signer,
                    pool: s.pool,
                    amount: amount_out,
                };
                self.emit(out_chain, op_out, out)?;
                out.links.push((
                    chain,
                    Link::SwapIn {
                        id,
                        pool: s.pool,
                        account: signer,
                        reserve_before: side_in.reserve,
                        amount_in: s.amount_in,
                        min_out: s.min_out,
                        fee_bps: side_in.fee_bps,
                        peer_chain: out_chain,
                    },
                ));
                out.links.push((
                    out_chain,
                    Link::SwapOut {
                        id,
                        pool: s.pool,
                        account: signer,
                        reserve_before: side_out.reserve,
                        amount_out,
                        peer_chain: chain,
                    },
                ));
                Ok(())
            }
            L2Tx::CreatePool(p) => {
                self.connected(p.peer_chain)?;
                let origin_op = Op::CreatePool {
                    account: signer,
                    pool: p.pool,
                    token: p.token,
                    peer_chain: p.peer_chain,
                    peer_token: p.peer_token,
                    fee_bps: p.fee_bps,
                    fee: p.fee,
                };
                self.emit(chain, origin_op, out)?;
                let peer = Op::CreatePoolPeer {
                    pool: p.pool,
                    token: p.peer_token,
                    peer_chain: chain,
                    peer_token: p.token,
                    fee_bps: p.fee_bps,
                };
                self.emit(p.peer_chain, peer, out)?;
                for (c, t, pc, pt, origin) in [
                    (chain, p.token, p.peer_chain, p.peer_token, true),
                    (p.peer_chain, p.peer_token, chain, p.token, false),
                ] {
                    let link = Link::CreatePool {
                        id,
                        pool: p.pool,
                        chain: c,
                        token: t,
                        peer_chain: pc,
                        peer_token: pt,
                        fee_bps: p.fee_bps,
                        origin,
                    };
                    out.links.push((c, link));
                }
                Ok(())
            }
        }
    }

    fn half(&mut self, chain: ChainId, pool: PoolId) -> Result<pool::PoolHalf, TxError> {
        self.connected(chain)?
            .pool(pool)
            .copied()
            .ok_or(TxError::UnknownPool { chain, pool })
    }
}
