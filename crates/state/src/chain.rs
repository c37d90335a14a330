//! One chain's state: its account tree and pool tree, and the chain-local operation rules.
//!
//! `chain_root` is the root of one 4-ary tree of depth 12: account leaves at their ids, pool halves
//! at `PoolId::leaf_index` (the last `MAX_POOLS` leaves).
//!
//! [`ChainState::apply_op`] applies one operation half as it appears in the chain's pubdata. It is
//! the rule set the auditor and state recovery replay, and the block builder reaches it through the
//! transaction rules in [`crate::network`]. Every mutation goes through a journal so a rejected
//! transaction (even one that failed on its second chain) is undone exactly, and, in witness mode,
//! through a recorder that captures each leaf update with its Merkle paths for the circuits.

use crate::TxError;
use crate::account::{Account, AccountLeaf};
use crate::pool::{self, PoolHalf};
use crate::smt::{MerklePath, SparseMerkleTree};
use crate::witness::{BalanceChange, Update};
use ark_bn254::Fr;
use rayon::prelude::*;
use rollup_types::*;
use rustc_hash::FxHashMap;

/// Reversal record for one mutation.
#[derive(Clone, Debug)]
enum Undo {
    Balance(AccountId, TokenId, Amount),
    Nonce(AccountId, Nonce),
    PubKey(AccountId, PubKeyHash),
    Pool(PoolId, Option<PoolHalf>),
    CreateAccount,
    PrioritySerial(u64),
    Fee(TokenId, Amount),
    Chunks(usize),
}

/// Journal and witness positions to roll back to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mark {
    journal: usize,
    witness: usize,
}

/// The state of one connected chain.
#[derive(Clone, Debug)]
pub struct ChainState {
    id: ChainId,
    accounts: Vec<Account>,
    account_tree: SparseMerkleTree,
    dirty: Vec<u32>,
    pools: FxHashMap<PoolId, PoolHalf>,
    /// Serial id of the next priority operation expected from this chain's queue.
    next_priority_serial: u64,
    /// Fees collected in the current block, credited to the fee account when the block is sealed.
    pending_fees: Vec<(TokenId, Amount)>,
    /// Pubdata chunks used by the current block, the padding of its sub-blocks included.
    block_chunks: usize,
    /// Cross-chain links emitted on this chain by the current block.
    block_links: usize,
    /// Chunks per chain proof: the current block's pubdata is split greedily into sub-blocks of
    /// this many chunks ([`rollup_types::op::op_start`]).
    proof_chunks: usize,
    journal: Vec<Undo>,
    witness: Option<Vec<Update>>,
}

/// The root of a chain with no accounts and no pools (unused `final_root` slots hold this).
pub fn empty_chain_root() -> Fr {
    crate::smt::empty_hash(ACCOUNT_TREE_DEPTH)
}

impl ChainState {
    /// An empty chain state.
    pub fn new(id: ChainId) -> Self {
        ChainState {
            id,
            accounts: Vec::new(),
            account_tree: SparseMerkleTree::new(ACCOUNT_TREE_DEPTH),
            dirty: Vec::new(),
            pools: FxHashMap::default(),
            next_priority_serial: 0,
            pending_fees: Vec::new(),
            block_chunks: 0,
            block_links: 0,
            proof_chunks: 16,
            journal: Vec::new(),
            witness: None,
        }
    }

    /// The chain's id.
    pub fn id(&self) -> ChainId {
        self.id
    }

    /// Number of accounts (the same on every chain).
    pub fn account_count(&self) -> u32 {
        self.accounts.len() as u32
    }

    /// An account, if it exists.
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(id.0 as usize)
    }

    /// A pool half, if it exists on this chain.
    pub fn pool(&self, id: PoolId) -> Option<&PoolHalf> {
        self.pools.get(&id)
    }

    /// All pool halves on this chain.
    pub fn pools(&self) -> impl Iterator<Item = (PoolId, &PoolHalf)> {
        self.pools.iter().map(|(k, v)| (*k, v))
    }

    /// Serial id of the next expected priority operation.
    pub fn next_priority_serial(&self) -> u64 {
        self.next_priority_serial
    }

    /// Recomputes every dirty leaf and path; returns the chain root.
    pub fn root(&mut self) -> Fr {
        self.refresh();
        self.account_tree.clean_root()
    }

    fn refresh(&mut self) {
        if !self.dirty.is_empty() {
            let leaves: Vec<(u32, Fr)> = if self.dirty.len() >= 64 {
                self.accounts
                    .par_iter_mut()
                    .enumerate()
                    .filter(|(_, a)| a.dirty)
                    .map(|(i, a)| {
                        a.dirty = false;
                        (i as u32, a.leaf().hash())
                    })
                    .collect()
            } else {
                let mut out = Vec::with_capacity(self.dirty.len());
                for &i in &self.dirty {
                    let a = &mut self.accounts[i as usize];
                    if a.dirty {
                        a.dirty = false;
                        out.push((i, a.leaf().hash()));
                    }
                }
                out
            };
            self.dirty.clear();
            for (i, leaf) in leaves {
                self.account_tree.set_leaf(i as u64, leaf);
            }
        }
        self.account_tree.root();
    }

    /// Merkle path of an account leaf (after recomputation).
    pub fn account_path(&mut self, id: AccountId) -> MerklePath {
        self.refresh();
        self.account_tree.path(id.0 as u64)
    }

    /// Merkle path of a pool leaf (after recomputation).
    pub fn pool_path(&mut self, id: PoolId) -> MerklePath {
        self.refresh();
        self.account_tree.path(id.leaf_index())
    }

    /// The leaf fields of an account (after recomputing its balance root).
    pub fn account_leaf(&mut self, id: AccountId) -> Option<AccountLeaf> {
        self.accounts.get_mut(id.0 as usize).map(|a| a.leaf())
    }

    /// The balance path of (account, token) within the account's balance tree.
    pub fn balance_path(&mut self, id: AccountId, token: TokenId) -> Option<MerklePath> {
        self.accounts
            .get_mut(id.0 as usize)
            .map(|a| a.balance_path(token))
    }

    // ---- journal and witness ------------------------------------------------------------------

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            journal: self.journal.len(),
            witness: self.witness.as_ref().map_or(0, Vec::len),
        }
    }

    pub(crate) fn commit(&mut self) {
        self.journal.clear();
    }

    pub(crate) fn rollback(&mut self, mark: Mark) {
        while self.journal.len() > mark.journal {
            match self.journal.pop().expect("length checked") {
                Undo::Balance(a, t, v) => {
                    self.accounts[a.0 as usize].set_balance(t, v);
                    self.mark_dirty(a);
                }
                Undo::Nonce(a, n) => {
                    self.accounts[a.0 as usize].nonce = n;
                    self.mark_dirty(a);
                }
                Undo::PubKey(a, h) => {
                    self.accounts[a.0 as usize].pubkey_hash = h;
                    self.mark_dirty(a);
                }
                Undo::Pool(p, old) => self.write_pool(p, old),
                Undo::CreateAccount => {
                    let id = self.accounts.len() as u32 - 1;
                    self.accounts.pop();
                    self.dirty.retain(|&d| d != id);
                    self.account_tree.set_leaf(id as u64, Fr::from(0u8));
                }
                Undo::PrioritySerial(s) => self.next_priority_serial = s,
                Undo::Fee(t, v) => self.set_pending_fee(t, v),
                Undo::Chunks(n) => self.block_chunks = n,
            }
        }
        if let Some(w) = self.witness.as_mut() {
            w.truncate(mark.witness);
        }
    }

    /// Starts recording a witness for every subsequent update.
    pub fn start_witness(&mut self) {
        self.refresh();
        self.witness = Some(Vec::new());
    }

    /// Stops recording and returns the updates recorded since the last call.
    pub fn take_witness(&mut self) -> Vec<Update> {
        self.witness
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Stops recording.
    pub fn stop_witness(&mut self) -> Vec<Update> {
        self.witness.take().unwrap_or_default()
    }

    /// Snapshot restore: the next priority serial.
    pub(crate) fn set_next_priority_serial(&mut self, serial: u64) {
        self.next_priority_serial = serial;
    }

    /// Snapshot restore: appends account `id` (the next one).
    pub(crate) fn restore_account(&mut self, id: AccountId, account: Account) {
        debug_assert_eq!(id.0 as usize, self.accounts.len());
        self.accounts.push(account);
        self.mark_dirty(id);
    }

    /// Snapshot restore: a pool half.
    pub(crate) fn restore_pool(&mut self, id: PoolId, half: PoolHalf) {
        self.write_pool(id, Some(half));
    }

    fn mark_dirty(&mut self, id: AccountId) {
        let a = &mut self.accounts[id.0 as usize];
        a.dirty = true;
        self.dirty.push(id.0);
    }

    fn write_pool(&mut self, id: PoolId, half: Option<PoolHalf>) {
        match half {
            Some(h) => {
                self.account_tree.set_leaf(id.leaf_index(), h.hash());
                self.pools.insert(id, h);
            }
            None => {
                self.account_tree.set_leaf(id.leaf_index(), Fr::from(0u8));
                self.pools.remove(&id);
            }
        }
    }

    /// Applies `f` to an account as one recorded update (with at most one balance change).
    fn touch_account(
        &mut self,
        id: AccountId,
        token: Option<TokenId>,
        f: impl FnOnce(&mut Account),
    ) {
        let pre = self.witness.is_some().then(|| {
            self.refresh();
            let path = self.account_tree.path(id.0 as u64);
            let acc = &mut self.accounts[id.0 as usize];
            let balance = token.map(|t| (t, acc.balance(t), acc.balance_path(t)));
            (acc.leaf(), balance, path)
        });
        f(&mut self.accounts[id.0 as usize]);
        self.mark_dirty(id);
        if let Some((before, balance, path)) = pre {
            self.refresh();
            let acc = &mut self.accounts[id.0 as usize];
            let after = acc.leaf();
            let balance = balance.map(|(token, before, path)| BalanceChange {
                token,
                before,
                after: acc.balance(token),
                path,
            });
            let update = Update::Account {
                account: id,
                before: Some(before),
                after,
                balance,
                path,
            };
            self.witness.as_mut().expect("recording").push(update);
        }
    }

    /// Records a read of an account leaf (and of one balance) in witness mode: an update that
    /// changes nothing, or a proof that the leaf is empty.
    fn read(&mut self, id: AccountId, token: Option<TokenId>) {
        if self.witness.is_none() {
            return;
        }
        if self.account(id).is_some() {
            self.touch_account(id, token, |_| {});
        } else {
            self.refresh();
            let path = self.account_tree.path(id.0 as u64);
            let update = Update::EmptyRead { account: id, path };
            self.witness.as_mut().expect("recording").push(update);
        }
    }

    fn touch_pool(&mut self, id: PoolId, half: PoolHalf) {
        let old = self.pools.get(&id).copied();
        self.journal.push(Undo::Pool(id, old));
        let pre = self.witness.is_some().then(|| {
            self.refresh();
            self.account_tree.path(id.leaf_index())
        });
        self.write_pool(id, Some(half));
        if let Some(path) = pre {
            self.refresh();
            let update = Update::Pool {
                pool: id,
                before: old,
                after: half,
                path,
            };
            self.witness.as_mut().expect("recording").push(update);
        }
    }

    // ---- primitive, checked mutations ---------------------------------------------------------

    fn existing(&self, id: AccountId) -> Result<&Account, TxError> {
        self.accounts
            .get(id.0 as usize)
            .ok_or(TxError::UnknownAccount(id))
    }

    fn check_nonce(&self, id: AccountId, nonce: Nonce) -> Result<(), TxError> {
        let expected = self.existing(id)?.nonce;
        if expected != nonce {
            return Err(TxError::BadNonce {
                expected,
                got: nonce,
            });
        }
        Ok(())
    }

    /// Subtracts `amount` of `token` from an account; optionally bumps its nonce in the same update
    /// (a signed operation's first update carries the nonce).
    fn debit(
        &mut self,
        id: AccountId,
        token: TokenId,
        amount: Amount,
        bump_nonce: bool,
    ) -> Result<(), TxError> {
        let acc = self.existing(id)?;
        let balance = acc.balance(token);
        let new = balance
            .checked_sub(amount)
            .ok_or(TxError::InsufficientBalance {
                account: id,
                token,
                balance,
                needed: amount,
            })?;
        let nonce = acc.nonce;
        if bump_nonce && nonce.0 == u32::MAX {
            return Err(TxError::BadNonce {
                expected: nonce,
                got: nonce,
            });
        }
        self.journal.push(Undo::Balance(id, token, balance));
        if bump_nonce {
            self.journal.push(Undo::Nonce(id, nonce));
        }
        self.touch_account(id, Some(token), |a| {
            a.set_balance(token, new);
            if bump_nonce {
                a.nonce = Nonce(nonce.0 + 1);
            }
        });
        Ok(())
    }

    fn credit(&mut self, id: AccountId, token: TokenId, amount: Amount) -> Result<(), TxError> {
        let balance = self.existing(id)?.balance(token);
        let new = balance
            .checked_add(amount)
            .ok_or(TxError::BalanceOverflow { account: id, token })?;
        self.journal.push(Undo::Balance(id, token, balance));
        self.touch_account(id, Some(token), |a| a.set_balance(token, new));
        Ok(())
    }

    /// `balance + add − sub` as one update (the bound and non-negativity checked on the result).
    fn adjust(
        &mut self,
        id: AccountId,
        token: TokenId,
        add: Amount,
        sub: Amount,
    ) -> Result<(), TxError> {
        let balance = self.existing(id)?.balance(token);
        let up = balance
            .checked_add(add)
            .ok_or(TxError::BalanceOverflow { account: id, token })?;
        let new = up.checked_sub(sub).ok_or(TxError::InsufficientBalance {
            account: id,
            token,
            balance: up,
            needed: sub,
        })?;
        self.journal.push(Undo::Balance(id, token, balance));
        self.touch_account(id, Some(token), |a| a.set_balance(token, new));
        Ok(())
    }

    /// Whether crediting would stay within the bound (used to route impossible deposits to refunds).
    pub(crate) fn can_credit(&self, id: AccountId, token: TokenId, amount: Amount) -> bool {
        self.account(id)
            .is_some_and(|a| a.balance(token).checked_add(amount).is_some())
    }

    /// Pubdata chunks the current block uses on this chain, sub-block padding included.
    pub fn block_chunks(&self) -> usize {
        self.block_chunks
    }

    /// Cross-chain links the current block emits on this chain.
    pub fn block_links(&self) -> usize {
        self.block_links
    }

    /// Counts links emitted by a transaction that has been applied (the network layer's limit).
    pub(crate) fn add_block_links(&mut self, n: usize) {
        self.block_links += n;
    }

    /// Sets the chunks per chain proof (the sub-block size the current block is split by).
    pub(crate) fn set_proof_chunks(&mut self, proof_chunks: usize) {
        self.proof_chunks = proof_chunks;
    }

    /// Fees collected in the current block, by token (not yet in the fee account's balance).
    pub fn pending_fees(&self) -> &[(TokenId, Amount)] {
        &self.pending_fees
    }

    fn set_pending_fee(&mut self, token: TokenId, amount: Amount) {
        match self.pending_fees.iter().position(|(t, _)| *t == token) {
            Some(i) if amount.is_zero() => {
                self.pending_fees.remove(i);
            }
            Some(i) => self.pending_fees[i].1 = amount,
            None if amount.is_zero() => {}
            None => self.pending_fees.push((token, amount)),
        }
    }

    /// Adds a fee to the block's collection. Fees are credited once per block and token
    /// ([`Self::settle_fees`]) instead of once per transaction: the circuit then pays one fee-account
    /// update per token per block, not one per transaction. The bound is checked now, so settling
    /// can never fail.
    fn accrue_fee(&mut self, token: TokenId, fee: Amount) -> Result<(), TxError> {
        if fee.is_zero() {
            return Ok(());
        }
        let pending = self
            .pending_fees
            .iter()
            .find(|(t, _)| *t == token)
            .map_or(Amount::ZERO, |p| p.1);
        let overflow = TxError::BalanceOverflow {
            account: AccountId::FEE,
            token,
        };
        let total = pending.checked_add(fee).ok_or(overflow.clone())?;
        if !self.can_credit(AccountId::FEE, token, total) {
            return Err(overflow);
        }
        self.journal.push(Undo::Fee(token, pending));
        self.set_pending_fee(token, total);
        Ok(())
    }

    /// Credits the block's collected fees to the fee account, in token order (one recorded update
    /// per token), and clears the collection. Called when a block is sealed — by the builder and by
    /// anyone replaying a block from its pubdata.
    pub fn settle_fees(&mut self) {
        self.block_chunks = 0;
        self.block_links = 0;
        let mut fees = std::mem::take(&mut self.pending_fees);
        fees.sort();
        for (token, amount) in fees {
            self.credit(AccountId::FEE, token, amount)
                .expect("bound checked when accrued");
        }
        self.journal.clear();
    }

    fn half(&self, pool: PoolId) -> Result<PoolHalf, TxError> {
        self.pools.get(&pool).copied().ok_or(TxError::UnknownPool {
            chain: self.id,
            pool,
        })
    }

    fn check_token(token: TokenId) -> Result<(), TxError> {
        TokenId::new(token.0)
            .map(|_| ())
            .map_err(|_| TxError::InvalidOp("token id out of range"))
    }

    /// Consumes the next priority request of this chain's queue (its serial must be the next).
    pub fn consume_priority(&mut self, serial: u64) -> Result<(), TxError> {
        if serial != self.next_priority_serial {
            return Err(TxError::PriorityOutOfOrder {
                chain: self.id,
                expected: self.next_priority_serial,
                got: serial,
            });
        }
        self.journal.push(Undo::PrioritySerial(serial));
        self.next_priority_serial += 1;
        Ok(())
    }

    /// Creates the next account (the id must be the next free one).
    pub(crate) fn create_account(
        &mut self,
        id: AccountId,
        address: Address,
    ) -> Result<(), TxError> {
        if id.0 != self.accounts.len() as u32 {
            return Err(TxError::InvalidOp("account id is not the next free id"));
        }
        if id.0 >= MAX_ACCOUNTS {
            return Err(TxError::AccountSpaceExhausted);
        }
        if address.is_zero() {
            return Err(TxError::InvalidOp("zero address"));
        }
        let pre = self.witness.is_some().then(|| {
            self.refresh();
            self.account_tree.path(id.0 as u64)
        });
        self.journal.push(Undo::CreateAccount);
        self.accounts.push(Account::new(address));
        self.mark_dirty(id);
        if let Some(path) = pre {
            self.refresh();
            let after = self.accounts[id.0 as usize].leaf();
            let update = Update::Account {
                account: id,
                before: None,
                after,
                balance: None,
                path,
            };
            self.witness.as_mut().expect("recording").push(update);
        }
        Ok(())
    }

    // ---- the operation rules ------------------------------------------------------------------

    /// Applies one operation half. On error the chain may be partially modified: callers wrap it
    /// with [`Self::mark`]/[`Self::rollback`] (the network layer does).
    pub fn apply_op(&mut self, op: &Op) -> Result<(), TxError> {
        self.journal.push(Undo::Chunks(self.block_chunks));
        self.block_chunks =
            rollup_types::op::op_start(self.block_chunks, op.chunks(), self.proof_chunks)
                + op.chunks();
        match *op {
            Op::Noop => Ok(()),
            Op::CreateAccount { account, address } => self.create_account(account, address),
            Op::Deposit {
                account,
                token,
                amount,
                to,
            } => {
                Self::check_token(token)?;
                self.check_address(account, to)?;
                self.credit(account, token, amount)
            }
            Op::DepositRefund {
                account,
                token,
                amount,
                to,
            } => {
                Self::check_token(token)?;
                // Justified only if the credit is impossible: account space exhausted, or the
                // owner's balance would exceed the bound.
                let space_left = self.account_count() < MAX_ACCOUNTS;
                if space_left
                    && (self.check_address(account, to).is_err()
                        || self.can_credit(account, token, amount))
                {
                    return Err(TxError::InvalidOp("refund of a creditable deposit"));
                }
                if space_left {
                    // The circuit proves the overflow from the account's balance.
                    self.read(account, Some(token));
                }
                Ok(())
            }
            Op::FullExit {
                account,
                token,
                amount,
                owner,
            } => {
                Self::check_token(token)?;
                let owned = self.account(account).filter(|a| a.address == owner);
                // Always one recorded update: the debit, or a read proving the owner differs (or
                // that the account does not exist).
                match owned {
                    Some(a) if a.balance(token) == amount => {
                        self.debit(account, token, amount, false)
                    }
                    None if amount.is_zero() => {
                        self.read(account, Some(token));
                        Ok(())
                    }
                    _ => Err(TxError::InvalidOp(
                        "full exit amount is not the whole balance",
                    )),
                }
            }
            Op::ChangePubKey {
                account,
                pubkey_hash,
                address,
                nonce,
                fee_token,
                fee,
            } => {
                Self::check_token(fee_token)?;
                self.check_address(account, address)?;
                self.check_nonce(account, nonce)?;
                self.debit(account, fee_token, fee, true)?;
                self.accrue_fee(fee_token, fee)?;
                self.set_pubkey(account, pubkey_hash)
            }
            Op::SetPubKey {
                account,
                pubkey_hash,
            } => self.set_pubkey(account, pubkey_hash),
            Op::Transfer {
                from,
                to,
                token,
                amount,
                fee,
            } => {
                Self::check_token(token)?;
                self.existing(to)?;
                let total = amount
                    .checked_add(fee)
                    .ok_or(TxError::InsufficientBalance {
                        account: from,
                        token,
                        balance: self.existing(from)?.balance(token),
                        needed: Amount::MAX,
                    })?;
                self.debit(from, token, total, true)?;
                self.credit(to, token, amount)?;
                self.accrue_fee(token, fee)?;
                Ok(())
            }
            Op::Withdraw {
                account,
                token,
                amount,
                fee,
                to: _,
                nonce,
            } => {
                Self::check_token(token)?;
                self.check_nonce(account, nonce)?;
                let total = self.total(account, token, amount, fee)?;
                self.debit(account, token, total, true)?;
                self.accrue_fee(token, fee)?;
                Ok(())
            }
            Op::AddLiquidity {
                account,
                pool,
                amount,
                fee,
            } => {
                let mut half = self.half(pool)?;
                let (minted, to_user) = pool::shares_for_add(&half, amount)
                    .ok_or(TxError::InsufficientLiquidity(pool))?;
                let total = self.total(account, half.token, amount, fee)?;
                half.reserve = half
                    .reserve
                    .checked_add(amount)
                    .ok_or(TxError::PoolOverflow(pool))?;
                half.lp_supply = half
                    .lp_supply
                    .checked_add(minted)
                    .ok_or(TxError::PoolOverflow(pool))?;
                self.debit(account, half.token, total, true)?;
                self.accrue_fee(half.token, fee)?;
                self.touch_pool(pool, half);
                self.credit(account, TokenId::lp_share(pool), to_user)
            }
            Op::RemoveLiquidity {
                account,
                pool,
                shares,
                fee,
            } => {
                let mut half = self.half(pool)?;
                let out = pool::output_for_remove(&half, shares)
                    .ok_or(TxError::InsufficientLiquidity(pool))?;
                if out.is_zero() {
                    return Err(TxError::InsufficientLiquidity(pool));
                }
                half.reserve = half.reserve.checked_sub(out).expect("out ≤ reserve");
                half.lp_supply = half.lp_supply.checked_sub(shares).expect("shares ≤ supply");
                self.debit(account, TokenId::lp_share(pool), shares, true)?;
                self.touch_pool(pool, half);
                // Payout and fee in one update, as the circuit's second step does it.
                self.adjust(account, half.token, out, fee)?;
                self.accrue_fee(half.token, fee)
            }
            Op::SwapIn {
                account,
                pool,
                amount,
                fee,
            } => {
                let mut half = self.half(pool)?;
                let total = self.total(account, half.token, amount, fee)?;
                half.reserve = half
                    .reserve
                    .checked_add(amount)
                    .ok_or(TxError::PoolOverflow(pool))?;
                self.debit(account, half.token, total, true)?;
                self.accrue_fee(half.token, fee)?;
                self.touch_pool(pool, half);
                Ok(())
            }
            Op::SwapOut {
                account,
                pool,
                amount,
            } => {
                let mut half = self.half(pool)?;
                if amount.is_zero() || amount >= half.reserve {
                    return Err(TxError::InsufficientLiquidity(pool));
                }
                half.reserve = half.reserve.checked_sub(amount).expect("amount < reserve");
                // Trader first, then the pool: the circuit's update order within a step.
                self.credit(account, half.token, amount)?;
                self.touch_pool(pool, half);
                Ok(())
            }
            Op::CreatePool {
                account,
                pool,
                token,
                peer_chain,
                peer_token,
                fee_bps,
                fee,
            } => {
                self.check_new_pool(pool, token, peer_chain, peer_token, fee_bps)?;
                self.debit(account, token, fee, true)?;
                self.accrue_fee(token, fee)?;
                self.new_pool(pool, token, peer_chain, peer_token, fee_bps);
                Ok(())
            }
            Op::CreatePoolPeer {
                pool,
                token,
                peer_chain,
                peer_token,
                fee_bps,
            } => {
                self.check_new_pool(pool, token, peer_chain, peer_token, fee_bps)?;
                self.new_pool(pool, token, peer_chain, peer_token, fee_bps);
                Ok(())
            }
        }
    }

    fn total(
        &self,
        id: AccountId,
        token: TokenId,
        amount: Amount,
        fee: Amount,
    ) -> Result<Amount, TxError> {
        amount
            .checked_add(fee)
            .ok_or_else(|| TxError::InsufficientBalance {
                account: id,
                token,
                balance: self
                    .account(id)
                    .map(|a| a.balance(token))
                    .unwrap_or_default(),
                needed: Amount::MAX,
            })
    }

    fn check_address(&self, id: AccountId, address: Address) -> Result<(), TxError> {
        let expected = self.existing(id)?.address;
        if expected != address {
            return Err(TxError::AddressMismatch {
                account: id,
                expected,
                got: address,
            });
        }
        Ok(())
    }

    fn set_pubkey(&mut self, id: AccountId, h: PubKeyHash) -> Result<(), TxError> {
        if h == PubKeyHash::NONE {
            return Err(TxError::InvalidOp("zero pubkey hash"));
        }
        let old = self.existing(id)?.pubkey_hash;
        self.journal.push(Undo::PubKey(id, old));
        self.touch_account(id, None, |a| a.pubkey_hash = h);
        Ok(())
    }

    fn check_new_pool(
        &self,
        pool: PoolId,
        token: TokenId,
        peer_chain: ChainId,
        peer_token: TokenId,
        fee_bps: u16,
    ) -> Result<(), TxError> {
        if self.pools.contains_key(&pool) {
            return Err(TxError::PoolExists {
                chain: self.id,
                pool,
            });
        }
        Self::check_token(token)?;
        Self::check_token(peer_token)?;
        if peer_chain == self.id {
            return Err(TxError::Format(
                rollup_types::tx::TxFormatError::SameChainPool,
            ));
        }
        if fee_bps > rollup_types::tx::MAX_POOL_FEE_BPS {
            return Err(TxError::Format(rollup_types::tx::TxFormatError::PoolFee(
                fee_bps,
            )));
        }
        Ok(())
    }

    fn new_pool(
        &mut self,
        pool: PoolId,
        token: TokenId,
        peer_chain: ChainId,
        peer_token: TokenId,
        fee_bps: u16,
    ) {
        let half = PoolHalf {
            token,
            peer_chain,
            peer_token,
            fee_bps,
            reserve: Amount::ZERO,
            lp_supply: Amount::ZERO,
        };
        self.touch_pool(pool, half);
    }
}
