//! A pool nobody signed or paid for (review finding 1, the same root cause, lower impact).
//!
//! A pool creation is the signed CreatePool on its origin chain (fee paid, nonce used) and a
//! CreatePoolPeer on the other chain. With one link kind for both, two peer halves passed for a
//! pool creation. The origin half now has its own kind; the binding expects it on `chain_a`.
//!
//! The forged block takes chain 1 from a pool created on chain 2 and chain 2 from the same pool
//! created on chain 1: two peer halves, each a valid chain proof.

use super::*;
use crate::binding::PoolEvent;
use rollup_types::tx::{CreatePool, L2Tx};

pub(super) fn attack(capacity: usize) -> Attack {
    let cast = Cast::new();
    let state = network(&cast);
    let create_on = |chain: u8, peer: u8, nonce: u32| {
        cast.attacker.sign(L2Tx::CreatePool(CreatePool {
            chain: ChainId(chain),
            account: AccountId(1),
            pool: PoolId(0),
            token: TokenId(0),
            peer_chain: ChainId(peer),
            peer_token: TokenId(0),
            fee_bps: 30,
            fee: Amount::ZERO,
            nonce: Nonce(nonce),
        }))
    };
    let (on1, _) = block(&state, 2, vec![create_on(1, 2, 1)]);
    let (on2, _) = block(&state, 2, vec![create_on(2, 1, 0)]);
    let mut forged_block = on1.clone();
    forged_block.chains[0] = on2.chains[0].clone();
    forged_block.chains[1] = on1.chains[1].clone();
    let mut control: Vec<Witness> = (0..2)
        .map(|c| Witness::Chain(chain_witness(&forged_block, c, capacity)))
        .collect();
    let template = BindingWitness::new(&forged_block, &CHAINS, capacity).expect("binding");
    assert!(template.pools.is_empty(), "no origin half, no event");
    let forged = [(1u8, 2u8), (2, 1)]
        .into_iter()
        .map(|(a, b)| {
            let mut w = template.clone();
            w.pools = vec![PoolEvent {
                id: 0,
                pool: 0,
                chain_a: a,
                token_a: 0,
                chain_b: b,
                token_b: 0,
                fee_bps: 30,
            }];
            Witness::Binding(w)
        })
        .collect();
    control.push(Witness::Binding(
        BindingWitness::new(&on1, &CHAINS, capacity).expect("binding"),
    ));
    Attack {
        name: "pool_without_origin",
        gain: "a pool created without its creator's signature or fee",
        forged,
        control,
    }
}
