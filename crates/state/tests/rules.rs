//! Every transaction kind applied, and each of its rejections leaving the state unchanged.

use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::pool::MIN_LIQUIDITY;
use rollup_state::{NetworkConfig, NetworkState, TxError};
use rollup_types::tx::*;
use rollup_types::*;

struct Net {
    state: NetworkState,
    serial: [u64; MAX_CHAINS + 1],
}

const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);
const C3: ChainId = ChainId(3);

impl Net {
    fn new() -> Self {
        let config = NetworkConfig {
            chains: vec![C1, C2, C3],
            fee_account: DevWallet::new(0).address(),
            domain: rollup_state::dev::TEST_DOMAIN,
        };
        Net {
            state: NetworkState::genesis(&config).unwrap(),
            serial: [0; MAX_CHAINS + 1],
        }
    }

    fn deposit(&mut self, chain: u8, to: Address, token: u16, value: u128) -> AccountId {
        let s = self.serial[chain as usize];
        self.state
            .apply_tx(deposit(chain, s, to, token, value), 0)
            .unwrap();
        self.serial[chain as usize] += 1;
        self.state.account_id(&to).unwrap()
    }

    /// A user with 10^6 of token 0 on chain 1 and token 1 on chain 2, and an L2 key.
    fn user(&mut self, seed: u64) -> (DevWallet, AccountId) {
        let w = DevWallet::new(seed);
        let id = self.deposit(1, w.address(), 0, 1_000_000);
        self.deposit(2, w.address(), 1, 1_000_000);
        self.state
            .apply_tx(w.change_pubkey(C1, id, 0, 0, 0), 0)
            .unwrap();
        (w, id)
    }

    fn balance(&self, chain: ChainId, account: AccountId, token: TokenId) -> u128 {
        self.state
            .chain(chain)
            .unwrap()
            .account(account)
            .unwrap()
            .balance(token)
            .get()
    }

    fn nonce(&self, chain: ChainId, account: AccountId) -> u32 {
        self.state
            .chain(chain)
            .unwrap()
            .account(account)
            .unwrap()
            .nonce
            .0
    }

    /// Applies `tx`, expects `err`, and checks that nothing changed.
    fn reject(&mut self, tx: Tx, err: TxError) {
        let before = self.state.final_root();
        let accounts = self.state.account_count();
        assert_eq!(self.state.apply_tx(tx, 0).unwrap_err(), err);
        assert_eq!(
            self.state.final_root(),
            before,
            "rejection must not change state"
        );
        assert_eq!(self.state.account_count(), accounts);
    }
}

fn transfer(
    chain: ChainId,
    from: AccountId,
    to: Address,
    amt: u128,
    fee: u128,
    nonce: u32,
) -> L2Tx {
    L2Tx::Transfer(Transfer {
        chain,
        from,
        to,
        token: TokenId(if chain == C1 { 0 } else { 1 }),
        amount: amount(amt),
        fee: amount(fee),
        nonce: Nonce(nonce),
    })
}

fn create_pool(account: AccountId, pool: u16, nonce: u32) -> L2Tx {
    L2Tx::CreatePool(CreatePool {
        chain: C1,
        account,
        pool: PoolId(pool),
        token: TokenId(0),
        peer_chain: C2,
        peer_token: TokenId(1),
        fee_bps: 30,
        fee: amount(0),
        nonce: Nonce(nonce),
    })
}

fn add_liq(chain: ChainId, account: AccountId, amt: u128, min_shares: u128, nonce: u32) -> L2Tx {
    L2Tx::AddLiquidity(AddLiquidity {
        chain,
        account,
        pool: PoolId(0),
        amount: amount(amt),
        min_shares: amount(min_shares),
        fee: amount(0),
        nonce: Nonce(nonce),
    })
}

fn swap(account: AccountId, amt: u128, min_out: u128, nonce: u32) -> L2Tx {
    L2Tx::Swap(Swap {
        chain: C1,
        account,
        pool: PoolId(0),
        amount_in: amount(amt),
        min_out: amount(min_out),
        fee: amount(10),
        nonce: Nonce(nonce),
    })
}

/// A network with a funded pool 0 (chain 1 token 0 ↔ chain 2 token 1), 100k on each side.
fn with_pool() -> (Net, DevWallet, AccountId) {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    n.state.apply_tx(w.sign(create_pool(a, 0, 1)), 0).unwrap();
    n.state
        .apply_tx(w.sign(add_liq(C1, a, 100_000, 0, 2)), 0)
        .unwrap();
    n.state
        .apply_tx(w.sign(add_liq(C2, a, 100_000, 0, 0)), 0)
        .unwrap();
    (n, w, a)
}

#[test]
fn deposit_creates_account_on_every_chain_in_queue_order() {
    let mut n = Net::new();
    let w = DevWallet::new(5);
    let out = n
        .state
        .apply_tx(deposit(2, 0, w.address(), 3, 500), 0)
        .unwrap();
    let id = n.state.account_id(&w.address()).unwrap();
    assert_eq!(id, AccountId(1));
    // CreateAccount on chains 1, 2, 3, then the deposit on chain 2.
    assert_eq!(out.halves.len(), 4);
    assert_eq!(out.links.len(), 3);
    for c in [C1, C2, C3] {
        assert_eq!(
            n.state.chain(c).unwrap().account(id).unwrap().address,
            w.address()
        );
    }
    assert_eq!(n.balance(C2, id, TokenId(3)), 500);
    assert_eq!(n.balance(C1, id, TokenId(3)), 0);
    // Out of order (serial 5 while 1 is next) and a replay of serial 0 are rejected.
    let err = |got| TxError::PriorityOutOfOrder {
        chain: C2,
        expected: 1,
        got,
    };
    n.reject(deposit(2, 5, w.address(), 3, 1), err(5));
    n.reject(deposit(2, 0, w.address(), 3, 1), err(0));
    n.reject(
        deposit(7, 0, w.address(), 3, 1),
        TxError::ChainNotConnected(ChainId(7)),
    );
}

#[test]
fn deposit_beyond_balance_bound_is_refunded() {
    let mut n = Net::new();
    let w = DevWallet::new(5);
    n.deposit(1, w.address(), 0, MAX_AMOUNT);
    let root = n.state.final_root();
    let out = n
        .state
        .apply_tx(deposit(1, 1, w.address(), 0, 1), 0)
        .unwrap();
    assert!(matches!(out.halves[..], [(C1, Op::DepositRefund { .. })]));
    assert!(out.halves[0].1.is_onchain());
    assert_eq!(n.state.final_root(), root, "a refund changes no L2 state");
    assert_eq!(
        n.state.chain(C1).unwrap().next_priority_serial(),
        2,
        "but consumes the request"
    );
}

#[test]
fn full_exit_pays_whole_balance_only_to_owner() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    let intruder = DevWallet::new(2).address();
    let out = n
        .state
        .apply_tx(
            Tx::FullExit(FullExit {
                chain: C1,
                serial_id: 1,
                account: a,
                owner: intruder,
                token: TokenId(0),
            }),
            0,
        )
        .unwrap();
    assert!(matches!(out.halves[0].1, Op::FullExit { amount, .. } if amount.is_zero()));
    assert_eq!(n.balance(C1, a, TokenId(0)), 1_000_000);
    let out = n
        .state
        .apply_tx(
            Tx::FullExit(FullExit {
                chain: C1,
                serial_id: 2,
                account: a,
                owner: w.address(),
                token: TokenId(0),
            }),
            0,
        )
        .unwrap();
    assert!(matches!(out.halves[0].1, Op::FullExit { amount, .. } if amount.get() == 1_000_000));
    assert_eq!(n.balance(C1, a, TokenId(0)), 0);
    // Unknown account: processed with amount 0.
    let out = n
        .state
        .apply_tx(
            Tx::FullExit(FullExit {
                chain: C1,
                serial_id: 3,
                account: AccountId(999),
                owner: intruder,
                token: TokenId(0),
            }),
            0,
        )
        .unwrap();
    assert!(matches!(out.halves[0].1, Op::FullExit { amount, .. } if amount.is_zero()));
}

#[test]
fn change_pubkey_broadcasts_and_checks_l1_owner() {
    let mut n = Net::new();
    let w = DevWallet::new(3);
    let a = n.deposit(2, w.address(), 1, 1000);
    let out = n
        .state
        .apply_tx(w.change_pubkey(C2, a, 0, 1, 10), 0)
        .unwrap();
    assert_eq!(
        out.halves.len(),
        3,
        "origin half on chain 2 and SetPubKey on chains 1 and 3"
    );
    assert_eq!(out.links.len(), 3);
    for c in [C1, C2, C3] {
        assert_eq!(
            n.state.chain(c).unwrap().account(a).unwrap().pubkey_hash,
            w.pubkey_hash()
        );
    }
    assert_eq!(n.nonce(C2, a), 1);
    assert_eq!(n.nonce(C1, a), 0, "nonces are per chain");
    assert_eq!(n.balance(C2, a, TokenId(1)), 990);
    assert_eq!(
        n.balance(C2, AccountId::FEE, TokenId(1)),
        0,
        "fees are credited at block end"
    );
    assert_eq!(
        n.state.chain(C2).unwrap().pending_fees(),
        &[(TokenId(1), amount(10))]
    );
    n.state.settle_fees();
    assert_eq!(n.balance(C2, AccountId::FEE, TokenId(1)), 10);
    // Signed by someone else.
    let other = DevWallet::new(4);
    let forged = ChangePubKey {
        chain: C2,
        account: a,
        new_pubkey_hash: other.pubkey_hash(),
        nonce: Nonce(1),
        fee_token: TokenId(1),
        fee: amount(0),
    }
    .sign(&other.eth, &rollup_state::dev::TEST_DOMAIN)
    .unwrap();
    let err = n.state.apply_tx(forged, 0).unwrap_err();
    assert!(matches!(err, TxError::BadEthAuth(_)), "{err:?}");
    // Replay of the same authorisation.
    n.reject(
        w.change_pubkey(C2, a, 0, 1, 10),
        TxError::BadNonce {
            expected: Nonce(1),
            got: Nonce(0),
        },
    );
    // Fee larger than the balance.
    n.reject(
        w.change_pubkey(C2, a, 1, 1, 2000),
        TxError::InsufficientBalance {
            account: a,
            token: TokenId(1),
            balance: amount(990),
            needed: amount(2000),
        },
    );
    n.reject(
        w.change_pubkey(C1, AccountId(77), 0, 0, 0),
        TxError::UnknownAccount(AccountId(77)),
    );
}

#[test]
fn signatures_for_another_deployment_are_refused() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    let bob = DevWallet::new(2).address();
    // The same keys, the same chain ids and nonces, another deployment's domain.
    let elsewhere = w.clone().on(Domain([0x0e; 32]));
    n.reject(
        elsewhere.sign(transfer(C1, a, bob, 300, 7, 1)),
        TxError::BadSignature,
    );
    let err = n
        .state
        .apply_tx(elsewhere.change_pubkey(C2, a, 0, 0, 0), 0)
        .unwrap_err();
    assert!(matches!(err, TxError::BadEthAuth(_)), "{err:?}");
    // The control: signed for this deployment, both go through.
    n.state
        .apply_tx(w.sign(transfer(C1, a, bob, 300, 7, 1)), 0)
        .unwrap();
    n.state
        .apply_tx(w.change_pubkey(C2, a, 0, 0, 0), 0)
        .unwrap();
}

#[test]
fn transfer_to_existing_and_new_accounts() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    let (_, b) = n.user(2);
    let bob = DevWallet::new(2).address();
    n.state
        .apply_tx(w.sign(transfer(C1, a, bob, 300, 7, 1)), 0)
        .unwrap();
    assert_eq!(n.balance(C1, a, TokenId(0)), 1_000_000 - 307);
    assert_eq!(n.balance(C1, b, TokenId(0)), 1_000_300);
    n.state.settle_fees();
    assert_eq!(n.balance(C1, AccountId::FEE, TokenId(0)), 7);
    assert_eq!(n.nonce(C1, a), 2);
    let carol = DevWallet::new(9).address();
    let out = n
        .state
        .apply_tx(w.sign(transfer(C2, a, carol, 50, 0, 0)), 0)
        .unwrap();
    let c = n.state.account_id(&carol).unwrap();
    assert_eq!(
        out.halves.len(),
        4,
        "CreateAccount on three chains + the transfer"
    );
    assert_eq!(n.balance(C2, c, TokenId(1)), 50);
    assert!(n.state.chain(C3).unwrap().account(c).is_some());
}

#[test]
fn transfer_rejections() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    let bob = DevWallet::new(2);
    let b = n.deposit(1, bob.address(), 0, 10);
    let tx = transfer(C1, a, bob.address(), 100, 1, 1);
    // Replay: the same signed tx twice.
    let signed = w.sign(tx.clone());
    n.state.apply_tx(signed.clone(), 0).unwrap();
    n.reject(
        signed,
        TxError::BadNonce {
            expected: Nonce(2),
            got: Nonce(1),
        },
    );
    // Cross-chain replay: the same fields on chain 2 need a signature over chain 2.
    let Tx::L2 { signature, .. } = w.sign(transfer(C1, a, bob.address(), 100, 1, 0)) else {
        unreachable!()
    };
    let on_c2 = Tx::L2 {
        tx: transfer(C2, a, bob.address(), 100, 1, 0),
        signature,
    };
    n.reject(on_c2, TxError::BadSignature);
    // Tampered amount.
    let Tx::L2 { signature, .. } = w.sign(transfer(C1, a, bob.address(), 100, 1, 2)) else {
        unreachable!()
    };
    n.reject(
        Tx::L2 {
            tx: transfer(C1, a, bob.address(), 1000, 1, 2),
            signature,
        },
        TxError::BadSignature,
    );
    // Signed with a key that is not the account's.
    n.reject(
        bob.sign(transfer(C1, a, bob.address(), 1, 0, 2)),
        TxError::PubKeyMismatch(a),
    );
    // Account without a key.
    n.reject(
        bob.sign(transfer(C1, b, w.address(), 1, 0, 0)),
        TxError::NoPubKey(b),
    );
    // Insufficient balance (amount + fee).
    n.reject(
        w.sign(transfer(C1, a, bob.address(), 999_900, 1, 2)),
        TxError::InsufficientBalance {
            account: a,
            token: TokenId(0),
            balance: amount(999_899),
            needed: amount(999_901),
        },
    );
    // Unknown sender, unconnected chain, and a malformed (unpackable) amount.
    n.reject(
        w.sign(transfer(C1, AccountId(50), bob.address(), 1, 0, 0)),
        TxError::UnknownAccount(AccountId(50)),
    );
    let Tx::L2 { signature, .. } = w.sign(transfer(C1, a, bob.address(), 1, 0, 2)) else {
        unreachable!()
    };
    let mut t = transfer(C1, a, bob.address(), 1, 0, 2);
    if let L2Tx::Transfer(x) = &mut t {
        x.chain = ChainId(5);
    }
    n.reject(Tx::L2 { tx: t, signature }, TxError::BadSignature);
    n.reject(
        w.sign(transfer(ChainId(5), a, bob.address(), 1, 0, 0)),
        TxError::ChainNotConnected(ChainId(5)),
    );
    let Tx::L2 { signature, .. } = w.sign(transfer(C1, a, bob.address(), 1, 0, 2)) else {
        unreachable!()
    };
    let bad = Tx::L2 {
        tx: transfer(C1, a, bob.address(), (1 << 35) + 1, 0, 2),
        signature,
    };
    n.reject(bad, TxError::Format(TxFormatError::NotPackable("amount")));
}

#[test]
fn withdraw_emits_onchain_op() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    let tx = |amt: u128, nonce: u32| {
        L2Tx::Withdraw(Withdraw {
            chain: C1,
            account: a,
            to: Address([0x42; 20]),
            token: TokenId(0),
            amount: amount(amt),
            fee: amount(5),
            nonce: Nonce(nonce),
        })
    };
    let out = n.state.apply_tx(w.sign(tx(400_000, 1)), 0).unwrap();
    assert!(out.halves[0].1.is_onchain());
    assert_eq!(n.balance(C1, a, TokenId(0)), 599_995);
    n.reject(
        w.sign(tx(600_000, 2)),
        TxError::InsufficientBalance {
            account: a,
            token: TokenId(0),
            balance: amount(599_995),
            needed: amount(600_005),
        },
    );
}

#[test]
fn pools_create_add_remove() {
    let (mut n, w, a) = with_pool();
    let half1 = *n.state.chain(C1).unwrap().pool(PoolId(0)).unwrap();
    assert_eq!(
        (half1.reserve.get(), half1.lp_supply.get()),
        (100_000, 100_000)
    );
    assert_eq!(
        n.balance(C1, a, TokenId::lp_share(PoolId(0))),
        100_000 - MIN_LIQUIDITY
    );
    let half2 = *n.state.chain(C2).unwrap().pool(PoolId(0)).unwrap();
    assert_eq!(
        (half2.token, half2.peer_chain, half2.peer_token),
        (TokenId(1), C1, TokenId(0))
    );
    n.reject(
        w.sign(create_pool(a, 0, 3)),
        TxError::PoolExists {
            chain: C1,
            pool: PoolId(0),
        },
    );
    let mut to_c7 = create_pool(a, 1, 3);
    if let L2Tx::CreatePool(p) = &mut to_c7 {
        p.peer_chain = ChainId(7);
    }
    n.reject(w.sign(to_c7), TxError::ChainNotConnected(ChainId(7)));
    // Slippage on add: 1000 tokens give 1000 shares; asking for 1001 fails.
    n.reject(
        w.sign(add_liq(C1, a, 1000, 1001, 3)),
        TxError::Slippage {
            min: amount(1001),
            got: amount(1000),
        },
    );
    let mut unknown = add_liq(C1, a, 1000, 0, 3);
    if let L2Tx::AddLiquidity(x) = &mut unknown {
        x.pool = PoolId(9);
    }
    n.reject(
        w.sign(unknown),
        TxError::UnknownPool {
            chain: C1,
            pool: PoolId(9),
        },
    );
    // Remove half the shares.
    let remove = |shares: u128, min_out: u128, nonce: u32| {
        L2Tx::RemoveLiquidity(RemoveLiquidity {
            chain: C1,
            account: a,
            pool: PoolId(0),
            shares: amount(shares),
            min_out: amount(min_out),
            fee: amount(1),
            nonce: Nonce(nonce),
        })
    };
    n.reject(
        w.sign(remove(50_000, 50_001, 3)),
        TxError::Slippage {
            min: amount(50_001),
            got: amount(50_000),
        },
    );
    let before = n.balance(C1, a, TokenId(0));
    n.state
        .apply_tx(w.sign(remove(50_000, 50_000, 3)), 0)
        .unwrap();
    assert_eq!(n.balance(C1, a, TokenId(0)), before + 50_000 - 1);
    // The locked minimum can never be withdrawn.
    let lp = n.balance(C1, a, TokenId::lp_share(PoolId(0)));
    n.reject(
        w.sign(remove(lp + 1, 0, 4)),
        TxError::InsufficientBalance {
            account: a,
            token: TokenId::lp_share(PoolId(0)),
            balance: amount(lp),
            needed: amount(lp + 1),
        },
    );
}

#[test]
fn cross_chain_swap_moves_value_between_chains() {
    let (mut n, _, _) = with_pool();
    let (t, b) = n.user(2);
    let out = n.state.apply_tx(t.sign(swap(b, 1000, 980, 1)), 0).unwrap();
    // 100000·(1000·0.997)/(100000 + 997) = 987.1 → 987.
    assert_eq!(n.balance(C1, b, TokenId(0)), 1_000_000 - 1000 - 10);
    assert_eq!(n.balance(C2, b, TokenId(1)), 1_000_000 + 987);
    assert_eq!(
        n.state
            .chain(C1)
            .unwrap()
            .pool(PoolId(0))
            .unwrap()
            .reserve
            .get(),
        101_000
    );
    assert_eq!(
        n.state
            .chain(C2)
            .unwrap()
            .pool(PoolId(0))
            .unwrap()
            .reserve
            .get(),
        100_000 - 987
    );
    assert_eq!(n.nonce(C1, b), 2);
    assert_eq!(n.nonce(C2, b), 0, "the output side uses no nonce");
    let kinds: Vec<_> = out
        .links
        .iter()
        .map(|(c, l)| (c.0, std::mem::discriminant(l)))
        .collect();
    assert_eq!(kinds.len(), 2);
    assert!(
        matches!(out.links[0], (C1, Link::SwapIn { amount_in, min_out, .. }) if amount_in.get() == 1000 && min_out.get() == 980)
    );
    assert!(
        matches!(out.links[1], (C2, Link::SwapOut { amount_out, .. }) if amount_out.get() == 987)
    );
    // Slippage and an unusable pool.
    n.reject(
        t.sign(swap(b, 1000, 1000, 2)),
        TxError::Slippage {
            min: amount(1000),
            got: amount(967),
        },
    );
    n.reject(
        t.sign(swap(b, 999_000, 0, 2)),
        TxError::InsufficientBalance {
            account: b,
            token: TokenId(0),
            balance: amount(998_990),
            needed: amount(999_010),
        },
    );
    let mut unknown = swap(b, 1000, 0, 2);
    if let L2Tx::Swap(s) = &mut unknown {
        s.pool = PoolId(3);
    }
    n.reject(
        t.sign(unknown),
        TxError::UnknownPool {
            chain: C1,
            pool: PoolId(3),
        },
    );
}

#[test]
fn swap_on_empty_pool_is_rejected_on_its_second_chain_without_trace() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    n.state.apply_tx(w.sign(create_pool(a, 0, 1)), 0).unwrap();
    n.state
        .apply_tx(w.sign(add_liq(C1, a, 100_000, 0, 2)), 0)
        .unwrap();
    // Chain 2's half is empty: no output possible.
    n.reject(
        w.sign(swap(a, 1000, 0, 3)),
        TxError::InsufficientLiquidity(PoolId(0)),
    );
    assert_eq!(n.nonce(C1, a), 3);
}

#[test]
fn credits_beyond_the_amount_bound_are_rejected() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    let whale = DevWallet::new(2);
    let b = n.deposit(1, whale.address(), 0, MAX_AMOUNT);
    n.reject(
        w.sign(transfer(C1, a, whale.address(), 1, 0, 1)),
        TxError::BalanceOverflow {
            account: b,
            token: TokenId(0),
        },
    );
    // A pool half whose reserve would pass the bound.
    n.state.apply_tx(w.sign(create_pool(a, 0, 1)), 0).unwrap();
    n.state
        .apply_tx(whale.change_pubkey(C1, b, 0, 0, 0), 0)
        .unwrap();
    let big = amount(MAX_AMOUNT / 4 * 3).round_down_packable();
    n.state
        .apply_tx(whale.sign(add_liq(C1, b, big.get(), 0, 1)), 0)
        .unwrap();
    let whale2 = DevWallet::new(3);
    let c = n.deposit(1, whale2.address(), 0, MAX_AMOUNT);
    n.state
        .apply_tx(whale2.change_pubkey(C1, c, 0, 0, 0), 0)
        .unwrap();
    n.reject(
        whale2.sign(add_liq(C1, c, big.get(), 0, 1)),
        TxError::PoolOverflow(PoolId(0)),
    );
}

#[test]
fn fees_use_at_most_the_block_fee_slots_per_chain() {
    let mut n = Net::new();
    let (w, a) = n.user(1);
    for t in 2..=FEE_TOKENS_PER_BLOCK as u16 + 1 {
        n.deposit(1, w.address(), t, 100);
    }
    let pay = |t: u16, nonce: u32| {
        w.sign(L2Tx::Transfer(Transfer {
            chain: C1,
            from: a,
            to: Address([5; 20]),
            token: TokenId(t),
            amount: amount(1),
            fee: amount(1),
            nonce: Nonce(nonce),
        }))
    };
    for (i, t) in (2..FEE_TOKENS_PER_BLOCK as u16 + 2).enumerate() {
        n.state.apply_tx(pay(t, i as u32 + 1), 0).unwrap();
    }
    assert_eq!(
        n.state.chain(C1).unwrap().pending_fees().len(),
        FEE_TOKENS_PER_BLOCK
    );
    let next = FEE_TOKENS_PER_BLOCK as u32 + 1;
    n.reject(pay(0, next), TxError::BlockFull);
    // A fee in a token already collected still fits; after the block ends, so does a new one.
    n.state.apply_tx(pay(2, next), 0).unwrap();
    n.state.settle_fees();
    assert!(n.state.chain(C1).unwrap().pending_fees().is_empty());
    n.state.apply_tx(pay(0, next + 1), 0).unwrap();
}
