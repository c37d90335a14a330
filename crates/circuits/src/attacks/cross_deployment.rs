//! Replay of a signature from another deployment (review finding 5, low).
//!
//! Rollup chain ids are 1..=8 in every deployment and nonces start at 0 everywhere, so when the
//! EdDSA message bound only the chain id, a transfer the victim signed on one deployment was a
//! valid transfer on any other where the same wallet had an account with the same id and nonce
//! (a test network, a redeployment). The message hash now starts with the deployment domain,
//! which the contracts derive from their own chain id and address and put in every chain proof's
//! public input.
//!
//! The forged block is the victim's transfer to the attacker, signed for deployment A, proven on
//! deployment B whose state is the same: every root, path and the pubdata are those of the honest
//! block; only the domain (a public value, fixed by B's contracts) differs.

use super::*;
use rollup_state::dev::amount;
use rollup_types::tx::{L2Tx, Transfer};

pub(super) fn attack(capacity: usize) -> Attack {
    let cast = Cast::new();
    let state = network(&cast);
    assert_eq!(
        state.domain(),
        cast.victim.domain,
        "the attack network is deployment A"
    );
    let transfer = cast.victim.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: AccountId(2),
        to: cast.attacker.address(),
        token: TokenId(0),
        amount: amount(900_000),
        fee: Amount::ZERO,
        nonce: Nonce(1),
    }));
    let (b, _) = block(&state, 2, vec![transfer]);
    let honest = chain_witness(&b, 0, capacity);
    // Deployment B: another network id, so another domain; same state, same accounts.
    let peers: Vec<Peer> = CHAINS
        .iter()
        .map(|&chain| Peer {
            chain,
            evm_chain_id: 1000 + chain.0 as u64,
            rollup: Address([0xbb; 20]),
        })
        .collect();
    let elsewhere = Domain::derive(&[0xbb; 32], &peers).expect("peers ascending");
    assert_ne!(elsewhere, b.domain);
    let mut forged = honest.clone();
    forged.domain = elsewhere.to_field();
    Attack {
        name: "cross_deployment",
        gain: "on deployment B, the balance the victim sent to the attacker on deployment A",
        forged: vec![Witness::Chain(forged)],
        control: vec![Witness::Chain(honest)],
    }
}
