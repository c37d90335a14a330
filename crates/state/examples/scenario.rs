//! A multi-chain scenario through the native state machine: deposits on chains 1 and 2, a
//! cross-chain pool with one-coin liquidity on both sides, a cross-chain swap, a transfer and a
//! withdrawal; prints every block's roots, pubdata sizes and sync hash, then the final balances.
//!
//! Run: `cargo run --release -p rollup-state --example scenario`

use rollup_crypto::field::fr_to_be_bytes;
use rollup_state::dev::{DevWallet, amount, deposit};
use rollup_state::*;
use rollup_types::tx::*;
use rollup_types::*;

const ETH: TokenId = TokenId(0); // token 0 on chain 1
const USDC: TokenId = TokenId(1); // token 1 on chain 2
const C1: ChainId = ChainId(1);
const C2: ChainId = ChainId(2);
const C3: ChainId = ChainId(3);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() {
    let operator = DevWallet::new(0);
    let (alice, bob, carol) = (DevWallet::new(1), DevWallet::new(2), DevWallet::new(3));
    let config = NetworkConfig {
        chains: vec![C1, C2, C3],
        fee_account: operator.address(),
        domain: rollup_state::dev::TEST_DOMAIN,
    };
    let mut state = NetworkState::genesis(&config).expect("valid config");
    println!(
        "genesis final_root 0x{}",
        hex(&fr_to_be_bytes(&state.final_root()))
    );
    let (a, b) = (AccountId(1), AccountId(2));
    let e18 = 1_000_000_000_000_000_000u128;
    let blocks: Vec<(&str, Vec<Tx>)> = vec![
        (
            "deposits on chains 1 and 2, L2 keys",
            vec![
                deposit(1, 0, alice.address(), ETH.0, 100 * e18),
                deposit(2, 0, alice.address(), USDC.0, 300_000 * e18),
                deposit(1, 1, bob.address(), ETH.0, 10 * e18),
                alice.change_pubkey(C1, a, 0, ETH.0, 0),
                bob.change_pubkey(C1, b, 0, ETH.0, 0),
            ],
        ),
        (
            "pool ETH@1 <-> USDC@2, one-coin liquidity on both sides",
            vec![
                alice.sign(L2Tx::CreatePool(CreatePool {
                    chain: C1,
                    account: a,
                    pool: PoolId(0),
                    token: ETH,
                    peer_chain: C2,
                    peer_token: USDC,
                    fee_bps: 30,
                    fee: amount(0),
                    nonce: Nonce(1),
                })),
                alice.sign(L2Tx::AddLiquidity(AddLiquidity {
                    chain: C1,
                    account: a,
                    pool: PoolId(0),
                    amount: amount(50 * e18),
                    min_shares: amount(0),
                    fee: amount(0),
                    nonce: Nonce(2),
                })),
                alice.sign(L2Tx::AddLiquidity(AddLiquidity {
                    chain: C2,
                    account: a,
                    pool: PoolId(0),
                    amount: amount(150_000 * e18),
                    min_shares: amount(0),
                    fee: amount(0),
                    nonce: Nonce(0),
                })),
            ],
        ),
        (
            "cross-chain swap, transfer, withdrawal",
            vec![
                bob.sign(L2Tx::Swap(Swap {
                    chain: C1,
                    account: b,
                    pool: PoolId(0),
                    amount_in: amount(e18),
                    min_out: amount(2_900 * e18),
                    fee: amount(1_000_000_000_000_000),
                    nonce: Nonce(1),
                })),
                bob.sign(L2Tx::Transfer(Transfer {
                    chain: C2,
                    from: b,
                    to: carol.address(),
                    token: USDC,
                    amount: amount(1_000 * e18),
                    fee: amount(1_000_000_000_000_000),
                    nonce: Nonce(0),
                })),
                bob.sign(L2Tx::Withdraw(Withdraw {
                    chain: C2,
                    account: b,
                    to: bob.address(),
                    token: USDC,
                    amount: amount(1_500 * e18),
                    fee: amount(1_000_000_000_000_000),
                    nonce: Nonce(1),
                })),
            ],
        ),
    ];
    let mut prev = genesis_sync_hash();
    for (i, (title, txs)) in blocks.into_iter().enumerate() {
        let ctx = BlockContext {
            number: BlockNumber(i as u32 + 1),
            timestamp: 1_700_000_000 + i as u64,
            prev_sync_hash: prev,
        };
        let block = build_block(&mut state, &ctx, txs, BuildOptions::default());
        assert!(
            block.rejected.is_empty(),
            "scenario tx rejected: {:?}",
            block.rejected
        );
        println!(
            "\nblock {} — {title}: {} txs",
            block.number,
            block.txs.len()
        );
        for cb in &block.chains {
            println!(
                "  chain {}: {:>2} ops, {:>3} B pubdata, {} onchain ops, {} priority ops, {} links, root 0x{}",
                cb.chain,
                cb.ops.len(),
                cb.pubdata.len(),
                cb.onchain_ops.len(),
                cb.priority_ops,
                cb.links.len(),
                hex(&fr_to_be_bytes(&cb.new_root)),
            );
        }
        println!(
            "  final_root 0x{}",
            hex(&fr_to_be_bytes(&block.new_final_root))
        );
        println!("  commitment 0x{}", hex(&block.commitment));
        println!("  sync_hash  0x{}", hex(&block.sync_hash));
        prev = block.sync_hash;
    }
    println!("\nbalances (base units):");
    let names = [
        ("operator", operator.address()),
        ("alice", alice.address()),
        ("bob", bob.address()),
        ("carol", carol.address()),
    ];
    for (name, addr) in names {
        let id = state.account_id(&addr).expect("account exists");
        for c in [C1, C2, C3] {
            let acc = state
                .chain(c)
                .expect("connected")
                .account(id)
                .expect("exists on every chain");
            let mut bals: Vec<_> = acc.balances().collect();
            bals.sort();
            if !bals.is_empty() {
                let list: Vec<String> = bals
                    .iter()
                    .map(|(t, v)| {
                        if t.0 >= MAX_TOKENS {
                            format!("LP(pool {})={v}", t.0 - MAX_TOKENS)
                        } else {
                            format!("token {}={v}", t.0)
                        }
                    })
                    .collect();
                println!("  {name:<8} (account {id}) chain {c}: {}", list.join(", "));
            }
        }
    }
    println!("\npools:");
    for c in [C1, C2] {
        for (p, h) in state.chain(c).expect("connected").pools() {
            println!(
                "  pool {p} on chain {c}: token {} reserve {} LP supply {} (peer chain {} token {}, fee {} bps)",
                h.token, h.reserve, h.lp_supply, h.peer_chain, h.peer_token, h.fee_bps
            );
        }
    }
}
