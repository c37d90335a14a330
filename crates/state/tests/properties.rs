//! Property test over random transaction sequences: per (chain, token) conservation, LP-share
//! conservation, the constant product never decreasing across swaps, and no state change on
//! rejection.

use proptest::prelude::*;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::pool::MIN_LIQUIDITY;
use rollup_state::*;
use rollup_types::tx::*;
use rollup_types::*;
use ruint::aliases::U256;
use std::collections::BTreeMap;

const USERS: u64 = 4;
/// Chain c holds token c − 1.
fn token_of(chain: ChainId) -> TokenId {
    TokenId(chain.0 as u16 - 1)
}
/// Pool p joins chain p+1 and chain (p+1) % 3 + 1.
fn pool_chains(p: u16) -> (ChainId, ChainId) {
    (ChainId(p as u8 + 1), ChainId((p as u8 + 1) % 3 + 1))
}

#[derive(Clone, Debug)]
enum Action {
    Deposit {
        chain: u8,
        user: u64,
        value: u128,
    },
    FullExit {
        chain: u8,
        user: u64,
        wrong_owner: bool,
    },
    Transfer {
        chain: u8,
        from: u64,
        to: u64,
        value: u128,
        fee: u128,
        bad_nonce: bool,
    },
    Withdraw {
        chain: u8,
        user: u64,
        value: u128,
        fee: u128,
    },
    AddLiquidity {
        pool: u16,
        side: bool,
        user: u64,
        value: u128,
        min: u128,
    },
    RemoveLiquidity {
        pool: u16,
        side: bool,
        user: u64,
        per_mille: u128,
    },
    Swap {
        pool: u16,
        side: bool,
        user: u64,
        value: u128,
        min_out: u128,
    },
}

fn value() -> impl Strategy<Value = u128> {
    prop_oneof![4 => 1u128..200_000, 1 => 0u128..=MAX_AMOUNT]
}

fn action() -> impl Strategy<Value = Action> {
    let chain = 1u8..=3;
    let user = 1u64..=USERS;
    prop_oneof![
        (chain.clone(), user.clone(), value()).prop_map(|(chain, user, value)| Action::Deposit {
            chain,
            user,
            value
        }),
        (chain.clone(), user.clone(), any::<bool>()).prop_map(|(chain, user, wrong_owner)| {
            Action::FullExit {
                chain,
                user,
                wrong_owner,
            }
        }),
        (
            chain.clone(),
            user.clone(),
            1u64..=USERS + 2,
            value(),
            0u128..100,
            prop::bool::weighted(0.1)
        )
            .prop_map(
                |(chain, from, to, value, fee, bad_nonce)| Action::Transfer {
                    chain,
                    from,
                    to,
                    value,
                    fee,
                    bad_nonce
                }
            ),
        (chain, user.clone(), value(), 0u128..100).prop_map(|(chain, user, value, fee)| {
            Action::Withdraw {
                chain,
                user,
                value,
                fee,
            }
        }),
        (
            0u16..3,
            any::<bool>(),
            user.clone(),
            value(),
            0u128..300_000
        )
            .prop_map(|(pool, side, user, value, min)| Action::AddLiquidity {
                pool,
                side,
                user,
                value,
                min
            }),
        (0u16..3, any::<bool>(), user.clone(), 0u128..=1000).prop_map(
            |(pool, side, user, per_mille)| Action::RemoveLiquidity {
                pool,
                side,
                user,
                per_mille
            }
        ),
        (0u16..3, any::<bool>(), user, value(), 0u128..100_000).prop_map(
            |(pool, side, user, value, min_out)| Action::Swap {
                pool,
                side,
                user,
                value,
                min_out
            }
        ),
    ]
}

struct World {
    state: NetworkState,
    wallets: Vec<DevWallet>,
    serial: [u64; 4],
    /// Deposits credited − withdrawals, per (chain, token).
    ledger: BTreeMap<(ChainId, TokenId), u128>,
}

impl World {
    fn new() -> Self {
        let wallets: Vec<DevWallet> = (0..=USERS + 2).map(DevWallet::new).collect();
        let config = NetworkConfig {
            chains: vec![ChainId(1), ChainId(2), ChainId(3)],
            fee_account: wallets[0].address(),
            domain: rollup_state::dev::TEST_DOMAIN,
        };
        let mut w = World {
            state: NetworkState::genesis(&config).unwrap(),
            wallets,
            serial: [0; 4],
            ledger: BTreeMap::new(),
        };
        for u in 1..=USERS {
            for c in 1..=3u8 {
                w.run(Action::Deposit {
                    chain: c,
                    user: u,
                    value: 1_000_000,
                });
            }
            let id = w.id(u);
            let tx = w.wallets[u as usize].change_pubkey(ChainId(1), id, 0, 0, 0);
            w.state.apply_tx(tx, 0).unwrap();
        }
        for p in 0..3u16 {
            let (a, b) = pool_chains(p);
            let id = w.id(1);
            let tx = L2Tx::CreatePool(CreatePool {
                chain: a,
                account: id,
                pool: PoolId(p),
                token: token_of(a),
                peer_chain: b,
                peer_token: token_of(b),
                fee_bps: 30 * p,
                fee: amount(0),
                nonce: w.nonce(a, id),
            });
            w.sign_apply(1, tx).unwrap();
            for side in [false, true] {
                w.run(Action::AddLiquidity {
                    pool: p,
                    side,
                    user: 1,
                    value: 300_000,
                    min: 0,
                });
            }
        }
        w.state.settle_fees();
        w
    }

    fn id(&self, user: u64) -> AccountId {
        self.state
            .account_id(&self.wallets[user as usize].address())
            .unwrap()
    }

    fn nonce(&self, chain: ChainId, id: AccountId) -> Nonce {
        self.state.chain(chain).unwrap().account(id).unwrap().nonce
    }

    fn sign_apply(&mut self, user: u64, tx: L2Tx) -> Result<network::TxOutput, TxError> {
        let signed = self.wallets[user as usize].sign(tx);
        self.state.apply_tx(signed, 0)
    }

    fn pool_k(&self, p: u16) -> U256 {
        let (a, b) = pool_chains(p);
        let r = |c: ChainId| {
            U256::from(
                self.state
                    .chain(c)
                    .unwrap()
                    .pool(PoolId(p))
                    .map_or(0, |h| h.reserve.get()),
            )
        };
        r(a) * r(b)
    }

    /// Runs one action; returns whether it was accepted.
    fn run(&mut self, action: Action) -> bool {
        let side_chain = |pool: u16, side: bool| {
            let (a, b) = pool_chains(pool);
            if side { b } else { a }
        };
        let result = match action {
            Action::Deposit { chain, user, value } => {
                let Ok(v) = Amount::new(value.max(1)) else {
                    return false;
                };
                let to = self.wallets[user as usize].address();
                let s = self.serial[chain as usize];
                self.serial[chain as usize] += 1;
                self.state
                    .apply_tx(deposit(chain, s, to, chain as u16 - 1, v.get()), 0)
            }
            Action::FullExit {
                chain,
                user,
                wrong_owner,
            } => {
                let owner = self.wallets[if wrong_owner { 0 } else { user as usize }].address();
                let s = self.serial[chain as usize];
                self.serial[chain as usize] += 1;
                let account = self.id(user);
                let tx = Tx::FullExit(FullExit {
                    chain: ChainId(chain),
                    serial_id: s,
                    account,
                    owner,
                    token: TokenId(chain as u16 - 1),
                });
                self.state.apply_tx(tx, 0)
            }
            Action::Transfer {
                chain,
                from,
                to,
                value,
                fee,
                bad_nonce,
            } => {
                let c = ChainId(chain);
                let id = self.id(from);
                let mut nonce = self.nonce(c, id);
                if bad_nonce {
                    nonce.0 += 1;
                }
                let tx = L2Tx::Transfer(Transfer {
                    chain: c,
                    from: id,
                    to: self.wallets[to as usize].address(),
                    token: token_of(c),
                    amount: amount(value.max(1)).round_down_packable(),
                    fee: amount(fee).round_down_fee(),
                    nonce,
                });
                self.sign_apply(from, tx)
            }
            Action::Withdraw {
                chain,
                user,
                value,
                fee,
            } => {
                let c = ChainId(chain);
                let id = self.id(user);
                let tx = L2Tx::Withdraw(Withdraw {
                    chain: c,
                    account: id,
                    to: self.wallets[user as usize].address(),
                    token: token_of(c),
                    amount: amount(value.max(1)),
                    fee: amount(fee).round_down_fee(),
                    nonce: self.nonce(c, id),
                });
                self.sign_apply(user, tx)
            }
            Action::AddLiquidity {
                pool,
                side,
                user,
                value,
                min,
            } => {
                let c = side_chain(pool, side);
                let id = self.id(user);
                let tx = L2Tx::AddLiquidity(AddLiquidity {
                    chain: c,
                    account: id,
                    pool: PoolId(pool),
                    amount: amount(value.max(1)).round_down_packable(),
                    min_shares: amount(min),
                    fee: amount(1),
                    nonce: self.nonce(c, id),
                });
                self.sign_apply(user, tx)
            }
            Action::RemoveLiquidity {
                pool,
                side,
                user,
                per_mille,
            } => {
                let c = side_chain(pool, side);
                let id = self.id(user);
                let held = self
                    .state
                    .chain(c)
                    .unwrap()
                    .account(id)
                    .unwrap()
                    .balance(TokenId::lp_share(PoolId(pool)));
                let tx = L2Tx::RemoveLiquidity(RemoveLiquidity {
                    chain: c,
                    account: id,
                    pool: PoolId(pool),
                    shares: amount((held.get() * per_mille / 1000).max(1)),
                    min_out: amount(0),
                    fee: amount(2),
                    nonce: self.nonce(c, id),
                });
                self.sign_apply(user, tx)
            }
            Action::Swap {
                pool,
                side,
                user,
                value,
                min_out,
            } => {
                let c = side_chain(pool, side);
                let id = self.id(user);
                let k = self.pool_k(pool);
                let tx = L2Tx::Swap(Swap {
                    chain: c,
                    account: id,
                    pool: PoolId(pool),
                    amount_in: amount(value.max(1)).round_down_packable(),
                    min_out: amount(min_out),
                    fee: amount(3),
                    nonce: self.nonce(c, id),
                });
                let before = self.state.final_root();
                let r = self.sign_apply(user, tx);
                if r.is_ok() {
                    assert!(
                        self.pool_k(pool) >= k,
                        "constant product decreased across a swap"
                    );
                } else {
                    assert_eq!(self.state.final_root(), before);
                }
                r
            }
        };
        match result {
            Ok(out) => {
                for (c, op) in &out.halves {
                    match op {
                        Op::Deposit { token, amount, .. } => {
                            *self.ledger.entry((*c, *token)).or_default() += amount.get()
                        }
                        Op::Withdraw { token, amount, .. } | Op::FullExit { token, amount, .. } => {
                            *self.ledger.entry((*c, *token)).or_default() -= amount.get()
                        }
                        _ => {}
                    }
                }
                true
            }
            Err(_) => false,
        }
    }

    fn check_invariants(&self) {
        for c in [ChainId(1), ChainId(2), ChainId(3)] {
            let chain = self.state.chain(c).unwrap();
            let t = token_of(c);
            let accounts = (0..chain.account_count()).map(|i| chain.account(AccountId(i)).unwrap());
            let balances: u128 = accounts.clone().map(|a| a.balance(t).get()).sum();
            let reserves: u128 = chain
                .pools()
                .filter(|(_, h)| h.token == t)
                .map(|(_, h)| h.reserve.get())
                .sum();
            assert_eq!(
                balances + reserves,
                self.ledger.get(&(c, t)).copied().unwrap_or(0),
                "conservation of {t:?} on {c:?}"
            );
            for (p, h) in chain.pools() {
                let shares: u128 = accounts
                    .clone()
                    .map(|a| a.balance(TokenId::lp_share(p)).get())
                    .sum();
                let locked = if h.lp_supply.is_zero() {
                    0
                } else {
                    MIN_LIQUIDITY
                };
                assert_eq!(
                    shares + locked,
                    h.lp_supply.get(),
                    "LP shares of pool {p} on {c:?}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_conserve_value(actions in prop::collection::vec(action(), 1..40)) {
        let mut w = World::new();
        w.check_invariants();
        let mut accepted = 0;
        for a in actions {
            accepted += w.run(a) as usize;
            // Each action is its own block: the fees it collected are credited now.
            w.state.settle_fees();
            w.check_invariants();
        }
        prop_assert!(accepted <= 40);
    }
}
