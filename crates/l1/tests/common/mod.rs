//! A local multi-chain network for L1 tests: one anvil per chain (from the repository's npm
//! packages), the generated block verifier compiled with solcjs, the rollup contracts deployed and
//! configured, and the rollup's native state beside them.
#![allow(dead_code)]

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use rollup_l1::bindings::Rollup::{self, RollupErrors, RollupInstance};
use rollup_l1::deploy::{DeployConfig, deploy_network};
use rollup_l1::encode;
use rollup_l1::solc;
use rollup_prover::{Keys, Network, Shape};
use rollup_state::{NetworkConfig, NetworkState};
use rollup_types::{ChainId, Domain};
use std::path::PathBuf;
use std::sync::OnceLock;

pub const CAPACITY: usize = 16;
pub const CHAINS: [ChainId; 3] = [ChainId(1), ChainId(2), ChainId(3)];
pub const PRIORITY_EXPIRY: u64 = 3600;
/// Seconds after a block's timestamp during which the chains accept its proofs.
pub const PROVE_WINDOW: u64 = 1800;

pub fn repo() -> PathBuf {
    solc::repo_root()
}

/// The chain and binding keys (cached under `.data/keys`, shared with the prover's tests).
pub fn keys() -> &'static (Keys, Keys) {
    static KEYS: OnceLock<(Keys, Keys)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = repo().join(".data/keys");
        let chain = Keys::load_or_setup(Shape::Chain { capacity: CAPACITY }, &dir, Network::Dev)
            .expect("chain keys");
        let binding = Keys::load_or_setup(
            Shape::Binding {
                chains: CHAINS.to_vec(),
                links: CAPACITY,
            },
            &dir,
            Network::Dev,
        )
        .expect("binding keys");
        (chain, binding)
    })
}

/// One connected chain: its anvil, a provider signing as the operator/governor (anvil account
/// 0), and the rollup contract.
pub struct Chain {
    pub id: ChainId,
    pub anvil: AnvilInstance,
    pub provider: DynProvider,
    pub rollup: RollupInstance<DynProvider>,
}

impl Chain {
    /// A provider signing as anvil account `i`.
    pub fn user(&self, i: usize) -> (PrivateKeySigner, DynProvider) {
        let signer = PrivateKeySigner::from_signing_key(self.anvil.keys()[i].clone().into());
        let p = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(self.anvil.endpoint_url())
            .erased();
        (signer, p)
    }

    /// The rollup contract as seen by anvil account `i`.
    pub fn rollup_as(&self, i: usize) -> RollupInstance<DynProvider> {
        Rollup::new(*self.rollup.address(), self.user(i).1)
    }

    pub async fn balance(&self, who: Address) -> U256 {
        self.provider.get_balance(who).await.unwrap()
    }

    /// Moves this chain's clock forward.
    pub async fn warp(&self, seconds: u64) {
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_increaseTime".into(), (seconds,))
            .await
            .unwrap();
        let _: serde_json::Value = self
            .provider
            .raw_request("evm_mine".into(), ())
            .await
            .unwrap();
    }
}

pub struct Net {
    pub chains: Vec<Chain>,
    pub oracles: Vec<PrivateKeySigner>,
    /// TEST ONLY: the auditor's key, random per run; the contracts need its approval of every
    /// commit.
    pub auditor: PrivateKeySigner,
    pub state: NetworkState,
    pub network_id: B256,
    /// The deployment domain the contracts derived (every signature and proof is bound to it).
    pub domain: Domain,
}

/// The test network under `domain`.
pub fn network(domain: Domain) -> NetworkConfig {
    NetworkConfig {
        chains: CHAINS.to_vec(),
        fee_account: rollup_state::dev::DevWallet::new(0).address(),
        domain,
    }
}

/// The decoded custom error of a failed call or transaction.
pub fn revert_of(e: alloy::contract::Error) -> RollupErrors {
    e.as_decoded_interface_error::<RollupErrors>()
        .unwrap_or_else(|| panic!("not a Rollup error: {e}"))
}

impl Net {
    pub async fn start() -> Net {
        let (chain_keys, binding_keys) = keys();
        let source = rollup_prover::verifier::solidity_verifier(&chain_keys.vk, &binding_keys.vk);
        let scratch =
            std::env::temp_dir().join(format!("rollup-l1-verifier-{}", std::process::id()));
        let verifier = solc::compile_source(
            &repo(),
            &scratch,
            "BlockVerifier.sol",
            &source,
            "BlockVerifier",
        )
        .expect("compile the block verifier");
        // The genesis roots do not depend on the domain, which exists only once the contracts'
        // addresses are known; the state is rebuilt under the deployed domain below.
        let mut genesis = NetworkState::genesis(&network(rollup_state::dev::TEST_DOMAIN)).unwrap();
        let final_root = genesis.final_root();
        let oracles: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
        let network_id = keccak256("rollup-l1 test network");
        let auditor = PrivateKeySigner::random();
        let anvil_bin = repo().join("node_modules/.bin/anvil");
        assert!(anvil_bin.exists(), "anvil missing: run `npm ci`");
        let mut anvils = Vec::new();
        let mut providers = Vec::new();
        let mut targets = Vec::new();
        for id in CHAINS {
            let anvil = Anvil::at(&anvil_bin)
                .chain_id(1000 + id.0 as u64)
                .args(["--code-size-limit", "24576"])
                .spawn();
            let signer = PrivateKeySigner::from_signing_key(anvil.keys()[0].clone().into());
            let operator = signer.address();
            providers.push(
                ProviderBuilder::new()
                    .wallet(EthereumWallet::from(signer))
                    .connect_http(anvil.endpoint_url())
                    .erased(),
            );
            anvils.push(anvil);
            let chain_root = genesis.chain_mut(id).unwrap().root();
            targets.push(DeployConfig {
                chain: id,
                chains: CHAINS.to_vec(),
                governor: operator,
                operators: vec![operator],
                oracles: oracles.iter().map(|o| o.address()).collect(),
                oracle_threshold: 2,
                priority_expiry: PRIORITY_EXPIRY,
                network_id,
                auditor: auditor.address(),
                prove_window: PROVE_WINDOW,
                genesis_final_root: encode::root(&final_root),
                genesis_chain_root: encode::root(&chain_root),
                proof_chunks: CAPACITY as u16,
            });
        }
        let targets: Vec<_> = providers.iter().zip(targets).collect();
        let deployments = deploy_network(&targets, verifier.bytecode.clone())
            .await
            .expect("deploy");
        let domain = deployments[0].domain;
        let state = NetworkState::genesis(&network(domain)).unwrap();
        let chains = CHAINS
            .iter()
            .zip(anvils)
            .zip(providers)
            .zip(&deployments)
            .map(|(((id, anvil), provider), d)| Chain {
                id: *id,
                anvil,
                rollup: Rollup::new(d.rollup, provider.clone()),
                provider,
            })
            .collect();
        Net {
            chains,
            oracles,
            auditor,
            state,
            network_id,
            domain,
        }
    }

    pub fn chain(&self, id: ChainId) -> &Chain {
        &self.chains[id.index()]
    }

    /// The auditor's approval of `block`, as `commitBlocks` takes it.
    pub fn approve(&self, block: &rollup_state::Block) -> Vec<alloy::primitives::Bytes> {
        vec![
            rollup_l1::approval::sign(
                &self.auditor,
                self.network_id,
                block.number.0,
                B256::from(block.sync_hash),
            )
            .unwrap()
            .into(),
        ]
    }

    /// Oracle signatures (personal_sign) over the oracles' abandonment of block `number` with
    /// `sync_hash`, ordered by signer address.
    pub async fn abandon(
        &self,
        chain: &Chain,
        number: u32,
        sync_hash: B256,
        signers: &[&PrivateKeySigner],
    ) -> Vec<alloy::primitives::Bytes> {
        let digest = chain
            .rollup
            .abandonmentDigest(number, sync_hash)
            .call()
            .await
            .unwrap();
        sign_sorted(digest, signers)
    }

    /// Oracle signatures (personal_sign) over the attestation digest, ordered by signer address.
    pub async fn attest(
        &self,
        chain: &Chain,
        number: u32,
        sync_hash: B256,
        signers: &[&PrivateKeySigner],
    ) -> Vec<alloy::primitives::Bytes> {
        let digest = chain
            .rollup
            .attestationDigest(
                number,
                sync_hash,
                chain.rollup.chainsMask().call().await.unwrap(),
            )
            .call()
            .await
            .unwrap();
        sign_sorted(digest, signers)
    }
}

/// personal_sign signatures of `digest` by `signers`, ordered by signer address (as the contract
/// counts them).
pub fn sign_sorted(digest: B256, signers: &[&PrivateKeySigner]) -> Vec<alloy::primitives::Bytes> {
    use alloy::signers::SignerSync;
    let mut signed: Vec<(Address, alloy::primitives::Bytes)> = signers
        .iter()
        .map(|s| {
            let sig = s.sign_message_sync(digest.as_slice()).unwrap();
            (s.address(), sig.as_bytes().to_vec().into())
        })
        .collect();
    signed.sort_by_key(|(a, _)| *a);
    signed.into_iter().map(|(_, s)| s).collect()
}
