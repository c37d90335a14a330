//! Development wallets: deterministic keys from small seeds, for tests, benchmarks and the local
//! scenario. **Insecure by construction** — the keys are public knowledge; never use them for a
//! network holding value.

use rollup_crypto::{EthSigner, PrivateKey, keccak256};
use rollup_types::tx::*;
use rollup_types::*;

/// The domain of tests and benchmarks that run no contracts (INSECURE: public and shared by every
/// such run). Anything that deploys contracts reads the real domain from them instead.
pub const TEST_DOMAIN: Domain = Domain([0x0d; 32]);

/// A user with an L1 key and the L2 key derived from it, signing for one deployment.
#[derive(Clone, Debug)]
pub struct DevWallet {
    /// L1 key (INSECURE: derived from a public seed).
    pub eth: EthSigner,
    /// L2 key, derived from the L1 key as a real wallet does.
    pub l2: PrivateKey,
    /// The deployment it signs for.
    pub domain: Domain,
}

impl DevWallet {
    /// The wallet for `seed` (INSECURE), signing for [`TEST_DOMAIN`].
    pub fn new(seed: u64) -> Self {
        let secret = keccak256(format!("insecure dev wallet {seed}").as_bytes());
        let eth = EthSigner::from_bytes(&secret).expect("keccak output is a valid key w.h.p.");
        let l2 = PrivateKey::derive_from_eth(&eth);
        DevWallet {
            eth,
            l2,
            domain: TEST_DOMAIN,
        }
    }

    /// The same keys, signing for `domain`.
    pub fn on(mut self, domain: Domain) -> Self {
        self.domain = domain;
        self
    }

    /// L1 address.
    pub fn address(&self) -> Address {
        self.eth.address()
    }

    /// Its L2 key hash.
    pub fn pubkey_hash(&self) -> PubKeyHash {
        self.l2.public_key().hash()
    }

    /// A ChangePubKey setting this wallet's L2 key, authorised by its L1 key.
    pub fn change_pubkey(
        &self,
        chain: ChainId,
        account: AccountId,
        nonce: u32,
        fee_token: u16,
        fee: u128,
    ) -> Tx {
        ChangePubKey {
            chain,
            account,
            new_pubkey_hash: self.pubkey_hash(),
            nonce: Nonce(nonce),
            fee_token: TokenId(fee_token),
            fee: amount(fee),
        }
        .sign(&self.eth, &self.domain)
        .expect("well-formed")
    }

    /// Signs any L2 transaction.
    pub fn sign(&self, tx: L2Tx) -> Tx {
        tx.sign(&self.l2, &self.domain).expect("well-formed")
    }
}

/// An amount from a literal (panics above the bound: test input only).
pub fn amount(v: u128) -> Amount {
    Amount::new(v).expect("amount within bound")
}

/// A deposit request as the chain's queue would deliver it.
pub fn deposit(chain: u8, serial: u64, to: Address, token: u16, value: u128) -> Tx {
    Tx::Deposit(Deposit {
        chain: ChainId(chain),
        serial_id: serial,
        from: to,
        to,
        token: TokenId(token),
        amount: amount(value),
    })
}
