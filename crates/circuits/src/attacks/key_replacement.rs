//! Key replacement without the owner's authorisation (review finding 1, critical).
//!
//! A key change is the L1-authorised ChangePubKey on its origin chain (the contract checks the
//! owner's ECDSA signature of op 0x03) and an unsigned SetPubKey on every other chain. When both
//! emitted the same link, SetPubKey(victim, thief's key) on *every* chain — no ChangePubKey, no
//! authorisation anywhere — passed every chain circuit, the binding circuit and the contracts,
//! and the thief's next Withdraw drained the victim. The origin half now has its own link kind,
//! and the binding expects exactly one on the key change's origin chain.
//!
//! The forged block takes chain 1 from a block where the victim's key change originates on
//! chain 2 and chains 2 and 3 from one where it originates on chain 1: every chain carries only
//! a SetPubKey, each a valid chain proof. The binding is what must refuse it, whichever origin
//! the forger names.

use super::*;
use crate::binding::BroadcastEvent;
use rollup_types::tx::ChangePubKey;

pub(super) fn attack(capacity: usize) -> Attack {
    let cast = Cast::new();
    let state = network(&cast);
    let victim = AccountId(2);
    // The victim "authorises" the thief's key only so that the builder emits the halves; the
    // forged block carries none of these authorisations.
    let change_on = |chain: u8, nonce: u32| {
        ChangePubKey {
            chain: ChainId(chain),
            account: victim,
            new_pubkey_hash: cast.thief_key.pubkey_hash(),
            nonce: Nonce(nonce),
            fee_token: TokenId(0),
            fee: Amount::ZERO,
        }
        .sign(&cast.victim.eth, &cast.victim.domain)
        .expect("well-formed")
    };
    let (from_chain1, _) = block(&state, 2, vec![change_on(1, 1)]);
    let (from_chain2, _) = block(&state, 2, vec![change_on(2, 0)]);
    let mut forged_block = from_chain1.clone();
    forged_block.chains[0] = from_chain2.chains[0].clone();
    // Every chain's part is a SetPubKey: each a valid chain proof on its own.
    let chain_halves: Vec<Witness> = (0..3)
        .map(|c| Witness::Chain(chain_witness(&forged_block, c, capacity)))
        .collect();
    let mut template = BindingWitness::new(&forged_block, &CHAINS, capacity).expect("binding");
    assert!(template.broadcasts.is_empty(), "no origin half, no event");
    let forged = CHAINS
        .iter()
        .map(|origin| {
            let mut w = template.clone();
            w.broadcasts = vec![BroadcastEvent {
                kind: 4,
                id: 0,
                account: victim.0,
                value: cast.thief_key.pubkey_hash().to_fr(),
                origin: origin.0,
            }];
            Witness::Binding(w)
        })
        .collect();
    template.broadcasts.clear();
    let mut control = chain_halves;
    control.push(Witness::Binding(
        BindingWitness::new(&from_chain1, &CHAINS, capacity).expect("binding"),
    ));
    Attack {
        name: "key_replacement",
        gain: "the thief's key on the victim's account on every chain, so every balance of it",
        forged,
        control,
    }
}
