//! Link-id overflow (review finding 2, critical).
//!
//! A link header packs `kind + id·2^8 + payload·2^40`. With the id unchecked beyond
//! `id − next_id ∈ [0, 2^32)`, a second link of a block could carry id `k + 2^32` (when the
//! previous link's id is ≥ k), which reads as id `k` with the payload's lowest field one higher:
//! the thief's own, authorised key change of account `a` reads as one of account `a + 1`.
//!
//! Forged block: chain 1 holds a transfer, a deposit creating an account (link id 1) and the
//! attacker's own ChangePubKey to the thief's key (id 2, forged to 2^32 + 0: "account 2, id 0");
//! chains 2 and 3 hold SetPubKey(victim = account 2, thief's key) with id 0 and the account
//! creation with id 1. The binding is satisfied by the forged links — the chain circuit's range
//! check on the id is what refuses it.

use super::*;
use crate::binding::BroadcastEvent;
use rollup_state::dev::amount;
use rollup_types::link::Link;
use rollup_types::tx::{ChangePubKey, L2Tx, Transfer};

pub(super) fn attack(capacity: usize) -> Attack {
    let cast = Cast::new();
    let state = network(&cast);
    let (attacker, victim) = (AccountId(1), AccountId(2));
    let thief = cast.thief_key.pubkey_hash();
    let newcomer = DevWallet::new(7).address();
    let transfer = cast.attacker.sign(L2Tx::Transfer(Transfer {
        chain: ChainId(1),
        from: attacker,
        to: cast.victim.address(),
        token: TokenId(0),
        amount: amount(10),
        fee: Amount::ZERO,
        nonce: Nonce(1),
    }));
    let change = |wallet: &DevWallet, account: AccountId, nonce: u32| {
        ChangePubKey {
            chain: ChainId(1),
            account,
            new_pubkey_hash: thief,
            nonce: Nonce(nonce),
            fee_token: TokenId(0),
            fee: Amount::ZERO,
        }
        .sign(&wallet.eth, &wallet.domain)
        .expect("well-formed")
    };
    let new_account = deposit(1, 2, newcomer, 0, 5);
    // Chain 1: the attacker's own key change as the block's third transaction.
    let (own, _) = block(
        &state,
        2,
        vec![
            transfer,
            new_account.clone(),
            change(&cast.attacker, attacker, 2),
        ],
    );
    // Chains 2 and 3: the victim's key change as the first (taken without its origin half).
    let (theirs, _) = block(
        &state,
        2,
        vec![change(&cast.victim, victim, 1), new_account],
    );
    let mut forged_block = theirs.clone();
    forged_block.chains[0] = own.chains[0].clone();

    let honest1 = chain_witness(&forged_block, 0, capacity);
    let mut w1 = honest1.clone();
    let step = w1
        .steps
        .iter()
        .position(|s| s.op[0] == rollup_types::op::code::CHANGE_PUBKEY)
        .expect("the key change step");
    assert_eq!(w1.steps[step].link_id, F::from(2u8));
    for s in &mut w1.steps[step..step + 4] {
        s.link_id = F::from(1u64 << 32); // reads as id 0, account 2
    }
    let reads_as = Link::SetPubKey {
        id: 0,
        account: victim,
        pubkey_hash: thief,
        origin: true,
    }
    .to_fields();
    let mut links: Vec<[F; 4]> = forged_block.chains[0]
        .links
        .iter()
        .map(Link::to_fields)
        .collect();
    links[1] = reads_as;
    w1.links_hash = fold_links(&links);

    let mut binding = BindingWitness::new(&forged_block, &CHAINS, capacity).expect("binding");
    binding.links[0] = links.clone();
    binding.links_hashes[0] = w1.links_hash;
    binding.broadcasts.retain(|b| b.kind == 3);
    binding.broadcasts.push(BroadcastEvent {
        kind: 4,
        id: 0,
        account: victim.0,
        value: thief.to_fr(),
        origin: 1,
    });
    // The rest of the forgery is consistent (in the control): the other chains' halves are honest
    // and the binding accepts the forged links — only the chain circuit's id check is in the way.
    let mut control = vec![Witness::Chain(honest1), Witness::Binding(binding)];
    control.extend((1..3).map(|c| Witness::Chain(chain_witness(&forged_block, c, capacity))));
    Attack {
        name: "link_id_overflow",
        gain: "the thief's key on the next account (the victim's) on every other chain",
        forged: vec![Witness::Chain(w1)],
        control,
    }
}
