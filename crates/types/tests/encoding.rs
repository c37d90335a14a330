//! Round-trip and malformed-input tests for the canonical tx encoding and the pubdata encoding.

use proptest::prelude::*;
use rollup_crypto::{EthSigner, PrivateKey};
use rollup_types::op::{CHUNK_BYTES, decode_pubdata};
use rollup_types::tx::*;
use rollup_types::*;

/// Any deployment's domain: these tests are about encodings, not deployments.
const DOMAIN: Domain = Domain([0x0d; 32]);

fn chain() -> impl Strategy<Value = ChainId> {
    (1u8..=MAX_CHAINS as u8).prop_map(ChainId)
}
fn account() -> impl Strategy<Value = AccountId> {
    (0u32..MAX_ACCOUNTS).prop_map(AccountId)
}
fn token() -> impl Strategy<Value = TokenId> {
    (0u16..MAX_TOKENS).prop_map(TokenId)
}
fn pool() -> impl Strategy<Value = PoolId> {
    (0u16..MAX_POOLS).prop_map(PoolId)
}
fn amount() -> impl Strategy<Value = Amount> {
    (1u128..=MAX_AMOUNT).prop_map(|v| Amount::new(v).unwrap())
}
fn packable() -> impl Strategy<Value = Amount> {
    amount()
        .prop_map(|a| a.round_down_packable())
        .prop_filter("positive", |a| !a.is_zero())
}
fn fee() -> impl Strategy<Value = Amount> {
    (0u128..=MAX_AMOUNT).prop_map(|v| Amount::new(v).unwrap().round_down_fee())
}
fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>()
        .prop_filter("non-zero", |a| a != &[0; 20])
        .prop_map(Address)
}
fn nonce() -> impl Strategy<Value = Nonce> {
    any::<u32>().prop_map(Nonce)
}

fn l2_tx() -> impl Strategy<Value = L2Tx> {
    prop_oneof![
        (
            chain(),
            account(),
            address(),
            token(),
            packable(),
            fee(),
            nonce()
        )
            .prop_map(
                |(chain, from, to, token, amount, fee, nonce)| L2Tx::Transfer(Transfer {
                    chain,
                    from,
                    to,
                    token,
                    amount,
                    fee,
                    nonce
                })
            ),
        (
            chain(),
            account(),
            address(),
            token(),
            amount(),
            fee(),
            nonce()
        )
            .prop_map(
                |(chain, account, to, token, amount, fee, nonce)| L2Tx::Withdraw(Withdraw {
                    chain,
                    account,
                    to,
                    token,
                    amount,
                    fee,
                    nonce
                })
            ),
        (
            chain(),
            account(),
            pool(),
            packable(),
            amount(),
            fee(),
            nonce()
        )
            .prop_map(|(chain, account, pool, amount, min_shares, fee, nonce)| {
                L2Tx::AddLiquidity(AddLiquidity {
                    chain,
                    account,
                    pool,
                    amount,
                    min_shares,
                    fee,
                    nonce,
                })
            }),
        (
            chain(),
            account(),
            pool(),
            amount(),
            amount(),
            fee(),
            nonce()
        )
            .prop_map(|(chain, account, pool, shares, min_out, fee, nonce)| {
                L2Tx::RemoveLiquidity(RemoveLiquidity {
                    chain,
                    account,
                    pool,
                    shares,
                    min_out,
                    fee,
                    nonce,
                })
            }),
        (
            chain(),
            account(),
            pool(),
            packable(),
            amount(),
            fee(),
            nonce()
        )
            .prop_map(
                |(chain, account, pool, amount_in, min_out, fee, nonce)| L2Tx::Swap(Swap {
                    chain,
                    account,
                    pool,
                    amount_in,
                    min_out,
                    fee,
                    nonce
                })
            ),
        (
            chain(),
            account(),
            pool(),
            token(),
            token(),
            0u16..=MAX_POOL_FEE_BPS,
            fee(),
            nonce()
        )
            .prop_map(
                |(chain, account, pool, token, peer_token, fee_bps, fee, nonce)| {
                    let peer_chain = ChainId(chain.0 % MAX_CHAINS as u8 + 1);
                    L2Tx::CreatePool(CreatePool {
                        chain,
                        account,
                        pool,
                        token,
                        peer_chain,
                        peer_token,
                        fee_bps,
                        fee,
                        nonce,
                    })
                }
            ),
    ]
}

fn any_tx() -> impl Strategy<Value = Tx> {
    prop_oneof![
        (l2_tx(), any::<[u8; 8]>())
            .prop_map(|(tx, seed)| { tx.sign(&PrivateKey::from_seed(&seed), &DOMAIN).unwrap() }),
        (
            chain(),
            any::<u64>(),
            address(),
            address(),
            token(),
            amount()
        )
            .prop_map(
                |(chain, serial_id, from, to, token, amount)| Tx::Deposit(Deposit {
                    chain,
                    serial_id,
                    from,
                    to,
                    token,
                    amount
                })
            ),
        (chain(), any::<u64>(), account(), address(), token()).prop_map(
            |(chain, serial_id, account, owner, token)| Tx::FullExit(FullExit {
                chain,
                serial_id,
                account,
                owner,
                token
            })
        ),
        (
            chain(),
            account(),
            any::<[u8; 20]>(),
            nonce(),
            token(),
            fee(),
            any::<bool>()
        )
            .prop_map(|(chain, account, pkh, nonce, fee_token, fee, onchain)| {
                let mut pkh = pkh;
                pkh[0] |= 1;
                let change = ChangePubKey {
                    chain,
                    account,
                    new_pubkey_hash: PubKeyHash(pkh),
                    nonce,
                    fee_token,
                    fee,
                };
                if onchain {
                    change.onchain().unwrap()
                } else {
                    change
                        .sign(&EthSigner::from_bytes(&[9u8; 32]).unwrap(), &DOMAIN)
                        .unwrap()
                }
            }),
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Noop),
        (account(), token(), amount(), address()).prop_map(|(account, token, amount, to)| {
            Op::Deposit {
                account,
                token,
                amount,
                to,
            }
        }),
        (account(), token(), amount(), address()).prop_map(|(account, token, amount, to)| {
            Op::DepositRefund {
                account,
                token,
                amount,
                to,
            }
        }),
        (account(), token(), amount(), address()).prop_map(|(account, token, amount, owner)| {
            Op::FullExit {
                account,
                token,
                amount,
                owner,
            }
        }),
        (
            account(),
            any::<[u8; 20]>(),
            address(),
            nonce(),
            token(),
            fee()
        )
            .prop_map(
                |(account, pkh, address, nonce, fee_token, fee)| Op::ChangePubKey {
                    account,
                    pubkey_hash: PubKeyHash(pkh),
                    address,
                    nonce,
                    fee_token,
                    fee
                }
            ),
        (account(), any::<[u8; 20]>()).prop_map(|(account, pkh)| Op::SetPubKey {
            account,
            pubkey_hash: PubKeyHash(pkh)
        }),
        (account(), address())
            .prop_map(|(account, address)| Op::CreateAccount { account, address }),
        (account(), account(), token(), packable(), fee()).prop_map(
            |(from, to, token, amount, fee)| Op::Transfer {
                from,
                to,
                token,
                amount,
                fee
            }
        ),
        (account(), token(), amount(), fee(), address(), nonce()).prop_map(
            |(account, token, amount, fee, to, nonce)| Op::Withdraw {
                account,
                token,
                amount,
                fee,
                to,
                nonce
            }
        ),
        (account(), pool(), packable(), fee()).prop_map(|(account, pool, amount, fee)| {
            Op::AddLiquidity {
                account,
                pool,
                amount,
                fee,
            }
        }),
        (account(), pool(), amount(), fee()).prop_map(|(account, pool, shares, fee)| {
            Op::RemoveLiquidity {
                account,
                pool,
                shares,
                fee,
            }
        }),
        (account(), pool(), packable(), fee()).prop_map(|(account, pool, amount, fee)| {
            Op::SwapIn {
                account,
                pool,
                amount,
                fee,
            }
        }),
        (account(), pool(), amount()).prop_map(|(account, pool, amount)| Op::SwapOut {
            account,
            pool,
            amount
        }),
        (
            account(),
            pool(),
            token(),
            chain(),
            token(),
            0u16..=MAX_POOL_FEE_BPS,
            fee()
        )
            .prop_map(
                |(account, pool, token, peer_chain, peer_token, fee_bps, fee)| Op::CreatePool {
                    account,
                    pool,
                    token,
                    peer_chain,
                    peer_token,
                    fee_bps,
                    fee
                }
            ),
        (pool(), token(), chain(), token(), 0u16..=MAX_POOL_FEE_BPS).prop_map(
            |(pool, token, peer_chain, peer_token, fee_bps)| Op::CreatePoolPeer {
                pool,
                token,
                peer_chain,
                peer_token,
                fee_bps
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn tx_round_trip(tx in any_tx()) {
        let bytes = tx.encode().unwrap();
        let back = Tx::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &tx);
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }

    #[test]
    fn tx_truncation_and_trailing_rejected(tx in any_tx(), cut in 1usize..40) {
        let bytes = tx.encode().unwrap();
        let cut = cut.min(bytes.len());
        prop_assert!(Tx::decode(&bytes[..bytes.len() - cut]).is_err());
        let mut long = bytes.clone();
        long.push(0);
        prop_assert!(Tx::decode(&long).is_err());
    }

    #[test]
    fn tx_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Tx::decode(&bytes);
    }

    #[test]
    fn op_round_trip(ops in proptest::collection::vec(any_op(), 0..20)) {
        let pubdata: Vec<u8> = ops.iter().flat_map(|op| op.to_pubdata()).collect();
        prop_assert_eq!(pubdata.len() % CHUNK_BYTES, 0);
        prop_assert_eq!(pubdata.len(), ops.iter().map(|o| o.chunks()).sum::<usize>() * CHUNK_BYTES);
        prop_assert_eq!(decode_pubdata(&pubdata).unwrap(), ops);
    }

    #[test]
    fn pubdata_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        let _ = decode_pubdata(&bytes);
    }

    #[test]
    fn signatures_verify_over_message(tx in l2_tx(), seed in any::<[u8; 8]>()) {
        let key = PrivateKey::from_seed(&seed);
        let Tx::L2 { tx, signature } = tx.sign(&key, &DOMAIN).unwrap() else { unreachable!() };
        prop_assert!(signature.verify(tx.message_hash(&DOMAIN).unwrap()).is_ok());
        // Another deployment's domain: another message, the signature does not carry over.
        let other = Domain([0x0e; 32]);
        prop_assert!(signature.verify(tx.message_hash(&other).unwrap()).is_err());
    }
}

fn sample_transfer() -> Tx {
    L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(5),
        to: Address([7; 20]),
        token: TokenId(1),
        amount: Amount::new(1000).unwrap(),
        fee: Amount::new(10).unwrap(),
        nonce: Nonce(0),
    })
    .sign(&PrivateKey::from_seed(b"k"), &DOMAIN)
    .unwrap()
}

#[test]
fn malformed_inputs_are_typed_errors() {
    assert!(matches!(
        Tx::decode(&[]),
        Err(DecodeError::Truncated { .. })
    ));
    assert_eq!(Tx::decode(&[0xee]), Err(DecodeError::UnknownType(0xee)));
    let good = sample_transfer().encode().unwrap();
    // Chain id 0 and > MAX_CHAINS.
    let mut bad = good.clone();
    bad[1] = 0;
    assert!(matches!(
        Tx::decode(&bad),
        Err(DecodeError::OutOfRange {
            field: "chain id",
            ..
        })
    ));
    bad[1] = MAX_CHAINS as u8 + 1;
    assert!(matches!(
        Tx::decode(&bad),
        Err(DecodeError::OutOfRange {
            field: "chain id",
            ..
        })
    ));
    // Token id above the registry range (bytes 25..27 of a transfer).
    let mut bad = good.clone();
    bad[25] = 0xff;
    assert!(matches!(
        Tx::decode(&bad),
        Err(DecodeError::OutOfRange {
            field: "token id",
            ..
        })
    ));
    // Zero amount.
    let mut bad = good.clone();
    bad[27..32].copy_from_slice(&[0; 5]);
    assert!(matches!(
        Tx::decode(&bad),
        Err(DecodeError::Format(TxFormatError::Zero("amount")))
    ));
    // Corrupted signature point.
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 96] ^= 0xff;
    bad[n - 95] ^= 0xff;
    assert!(matches!(Tx::decode(&bad), Err(DecodeError::Signature(_))));
    // A key change is its 33-byte message alone (authorised on L1) or with a whole 65-byte
    // signature: anything in between is truncated, anything beyond trailing.
    let change = ChangePubKey {
        chain: ChainId(1),
        account: AccountId(3),
        new_pubkey_hash: PubKeyHash([1; 20]),
        nonce: Nonce(0),
        fee_token: TokenId(0),
        fee: Amount::ZERO,
    };
    let onchain = change.clone().onchain().unwrap().encode().unwrap();
    assert_eq!(onchain.len(), 33);
    assert!(matches!(
        Tx::decode(&onchain),
        Ok(Tx::ChangePubKey {
            auth: CpkAuth::Onchain,
            ..
        })
    ));
    let signed = change
        .sign(&EthSigner::from_bytes(&[9u8; 32]).unwrap(), &DOMAIN)
        .unwrap()
        .encode()
        .unwrap();
    assert!(matches!(
        Tx::decode(&signed[..40]),
        Err(DecodeError::Truncated { .. })
    ));
    let mut long = signed.clone();
    long.push(0);
    assert!(matches!(Tx::decode(&long), Err(DecodeError::Trailing(1))));
    // Non-zero pubdata padding.
    let mut pd = Op::Noop.to_pubdata();
    pd[5] = 1;
    assert_eq!(decode_pubdata(&pd), Err(DecodeError::NonZeroPadding));
    assert!(matches!(
        decode_pubdata(&[0u8; CHUNK_BYTES + 1]),
        Err(DecodeError::Trailing(1))
    ));
    assert_eq!(
        decode_pubdata(&[0x7f; CHUNK_BYTES]),
        Err(DecodeError::UnknownType(0x7f))
    );
}

#[test]
fn format_rules() {
    let t = |amount: u128, fee: u128| {
        L2Tx::Transfer(Transfer {
            chain: ChainId(1),
            from: AccountId(1),
            to: Address([1; 20]),
            token: TokenId(0),
            amount: Amount::new(amount).unwrap(),
            fee: Amount::new(fee).unwrap(),
            nonce: Nonce(0),
        })
    };
    assert_eq!(t(0, 0).check_format(), Err(TxFormatError::Zero("amount")));
    assert_eq!(
        t((1 << 35) + 1, 0).check_format(),
        Err(TxFormatError::NotPackable("amount"))
    );
    assert_eq!(
        t(1, 2049).check_format(),
        Err(TxFormatError::FeeNotPackable)
    );
    let pool = |chain: u8, peer: u8, bps: u16| {
        L2Tx::CreatePool(CreatePool {
            chain: ChainId(chain),
            account: AccountId(1),
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: ChainId(peer),
            peer_token: TokenId(0),
            fee_bps: bps,
            fee: Amount::ZERO,
            nonce: Nonce(0),
        })
    };
    assert_eq!(
        pool(1, 1, 30).check_format(),
        Err(TxFormatError::SameChainPool)
    );
    assert_eq!(
        pool(1, 2, 1001).check_format(),
        Err(TxFormatError::PoolFee(1001))
    );
    assert!(pool(1, 2, 30).check_format().is_ok());
}
