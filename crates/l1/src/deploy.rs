//! Deployment of one chain's contracts: the Poseidon contract, the block verifier generated from
//! the proving keys, and the rollup contract configured for the network.

use crate::bindings::{PoseidonT5, Rollup};
use crate::{L1Error, rpc};
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use rollup_types::ChainId;

/// How one chain's rollup contract is configured.
#[derive(Clone, Debug)]
pub struct DeployConfig {
    /// This chain's rollup id.
    pub chain: ChainId,
    /// Every connected chain (ascending after sorting; includes `chain`).
    pub chains: Vec<ChainId>,
    /// Governance (token registry, operator and oracle sets).
    pub governor: Address,
    /// Addresses allowed to commit, prove, execute and revert blocks.
    pub operators: Vec<Address>,
    /// Oracle keys whose attestations are counted.
    pub oracles: Vec<Address>,
    /// Attestation signatures needed (m of n).
    pub oracle_threshold: u8,
    /// Seconds a priority request may wait before exodus can be activated.
    pub priority_expiry: u64,
    /// Distinguishes this network's attestations from other deployments'.
    pub network_id: B256,
    /// The independent auditor whose approval every commit needs (governance may rotate it).
    pub auditor: Address,
    /// Seconds after a block's L2 timestamp during which chains may prove it; a block not proven
    /// on every chain by then can be abandoned by the oracles and reverted (docs/CONTRACTS.md).
    pub prove_window: u64,
    /// `final_root` of the genesis state.
    pub genesis_final_root: B256,
    /// This chain's state root at genesis.
    pub genesis_chain_root: B256,
}

/// Addresses of one chain's deployed contracts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// The rollup contract.
    pub rollup: Address,
    /// The generated block verifier.
    pub verifier: Address,
    /// The Poseidon contract.
    pub poseidon: Address,
}

/// Deploys creation code from the provider's default sender; returns the contract address.
pub async fn deploy_code<P: Provider>(provider: &P, code: Bytes) -> Result<Address, L1Error> {
    let tx = TransactionRequest::default().with_deploy_code(code);
    let receipt = provider
        .send_transaction(tx)
        .await
        .map_err(rpc)?
        .get_receipt()
        .await
        .map_err(rpc)?;
    if !receipt.status() {
        return Err(L1Error::Reverted("contract creation failed".into()));
    }
    receipt
        .contract_address
        .ok_or_else(|| L1Error::Reverted("no contract address".into()))
}

/// Deploys the Poseidon contract, the block verifier (`verifier_code`: the creation code of the
/// verifier generated for this network's keys) and the rollup contract.
pub async fn deploy<P: Provider>(
    provider: &P,
    verifier_code: Bytes,
    cfg: &DeployConfig,
) -> Result<Deployment, L1Error> {
    let mut chains = cfg.chains.clone();
    chains.sort();
    chains.dedup();
    if chains.len() != cfg.chains.len() || !chains.contains(&cfg.chain) {
        return Err(L1Error::Invalid(
            "chains must be distinct and include this chain".into(),
        ));
    }
    if cfg.oracle_threshold == 0 || cfg.oracle_threshold as usize > cfg.oracles.len() {
        return Err(L1Error::Invalid(format!(
            "oracle threshold {} of {} oracles",
            cfg.oracle_threshold,
            cfg.oracles.len()
        )));
    }
    if cfg.auditor == Address::ZERO {
        return Err(L1Error::Invalid("no auditor address".into()));
    }
    if cfg.prove_window == 0 {
        return Err(L1Error::Invalid("a prove window of 0 seconds".into()));
    }
    let poseidon = *PoseidonT5::deploy(provider).await.map_err(rpc)?.address();
    let verifier = deploy_code(provider, verifier_code).await?;
    let config = Rollup::Config {
        chainId: cfg.chain.0,
        chains: chains.iter().map(|c| c.0).collect(),
        verifier,
        poseidon,
        governor: cfg.governor,
        operators: cfg.operators.clone(),
        oracles: cfg.oracles.clone(),
        oracleThreshold: cfg.oracle_threshold,
        priorityExpiry: cfg.priority_expiry,
        networkId: cfg.network_id,
        auditor: cfg.auditor,
        proveWindow: cfg.prove_window,
        genesisFinalRoot: cfg.genesis_final_root,
        genesisChainRoot: cfg.genesis_chain_root,
    };
    let rollup = *Rollup::deploy(provider, config)
        .await
        .map_err(rpc)?
        .address();
    Ok(Deployment {
        rollup,
        verifier,
        poseidon,
    })
}
