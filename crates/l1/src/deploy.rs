//! Deployment of a network's contracts: on every chain the Poseidon contract, the block verifier
//! generated from the proving keys, and the rollup contract configured for the network.
//!
//! Every rollup contract names every chain's rollup contract (the deployment domain hashes them
//! all, docs/PROTOCOL.md), so deployment runs in two rounds: [`prepare`] deploys the support
//! contracts on every chain and predicts each rollup's address from its deployer's nonce, then
//! [`deploy_rollup`] creates each rollup with the whole peer list. [`deploy_network`] does both.
//! [`read_domain`] re-derives the domain from what the chains say and checks every contract
//! agrees (what the node and the auditor do at start).

use crate::bindings::{PoseidonT5, Rollup};
use crate::{L1Error, rpc};
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use rollup_types::{ChainId, Domain, Peer};

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
    /// Chunks per sub-block: the chain circuit's capacity, which the verifier's chain key was
    /// made for (the contracts hash pubdata in sub-blocks of this size).
    pub proof_chunks: u16,
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
    /// The deployment domain, as the contract derived it (checked against the native derivation).
    pub domain: Domain,
}

/// One chain after the first round: support contracts deployed, the rollup's address predicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The Poseidon contract.
    pub poseidon: Address,
    /// The generated block verifier.
    pub verifier: Address,
    /// The address the deployer's next creation gets: the rollup's, if nothing else is sent from
    /// the deployer's key in between ([`deploy_rollup`] checks it).
    pub rollup: Address,
    /// The chain's EVM chain id.
    pub evm_chain_id: u64,
}

/// Deploys creation code from the provider's default sender; returns the contract address.
pub async fn deploy_code<P: Provider>(provider: &P, code: Bytes) -> Result<Address, L1Error> {
    Ok(create(provider, code).await?.0)
}

/// Deploys creation code; returns the contract address and the sender.
async fn create<P: Provider>(provider: &P, code: Bytes) -> Result<(Address, Address), L1Error> {
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
    let address = receipt
        .contract_address
        .ok_or_else(|| L1Error::Reverted("no contract address".into()))?;
    Ok((address, receipt.from))
}

/// First round on one chain: deploys the Poseidon contract and the block verifier
/// (`verifier_code`: the creation code of the verifier generated for this network's keys), and
/// predicts the rollup contract's address.
pub async fn prepare<P: Provider>(provider: &P, verifier_code: Bytes) -> Result<Prepared, L1Error> {
    let poseidon = *PoseidonT5::deploy(provider).await.map_err(rpc)?.address();
    let (verifier, deployer) = create(provider, verifier_code).await?;
    let nonce = provider
        .get_transaction_count(deployer)
        .pending()
        .await
        .map_err(rpc)?;
    Ok(Prepared {
        poseidon,
        verifier,
        rollup: deployer.create(nonce),
        evm_chain_id: provider.get_chain_id().await.map_err(rpc)?,
    })
}

/// The peer list of a network whose chains were prepared (`(chain, prepared)`, any order).
pub fn peers(prepared: &[(ChainId, Prepared)]) -> Vec<Peer> {
    let mut peers: Vec<Peer> = prepared
        .iter()
        .map(|(chain, p)| Peer {
            chain: *chain,
            evm_chain_id: p.evm_chain_id,
            rollup: rollup_types::Address(p.rollup.into_array()),
        })
        .collect();
    peers.sort_by_key(|p| p.chain);
    peers
}

/// Deploys every chain's contracts (`targets`: each chain's provider and configuration, whose
/// `chains` must be the targets' chains).
pub async fn deploy_network<P: Provider>(
    targets: &[(&P, DeployConfig)],
    verifier_code: Bytes,
) -> Result<Vec<Deployment>, L1Error> {
    let mut prepared = Vec::with_capacity(targets.len());
    for (provider, cfg) in targets {
        prepared.push((cfg.chain, prepare(*provider, verifier_code.clone()).await?));
    }
    let peers = peers(&prepared);
    let mut out = Vec::with_capacity(targets.len());
    for ((provider, cfg), (_, p)) in targets.iter().zip(&prepared) {
        out.push(deploy_rollup(*provider, p, cfg, &peers).await?);
    }
    Ok(out)
}

/// Second round on one chain: the rollup contract configured with every chain's `peers`.
pub async fn deploy_rollup<P: Provider>(
    provider: &P,
    prepared: &Prepared,
    cfg: &DeployConfig,
    peers: &[Peer],
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
    if peers.iter().map(|p| p.chain).collect::<Vec<_>>() != chains {
        return Err(L1Error::Invalid(
            "the peers must be exactly the connected chains".into(),
        ));
    }
    let domain =
        Domain::derive(&cfg.network_id.0, peers).map_err(|e| L1Error::Invalid(e.to_string()))?;
    let config = Rollup::Config {
        chainId: cfg.chain.0,
        chains: chains.iter().map(|c| c.0).collect(),
        evmChainIds: peers.iter().map(|p| p.evm_chain_id).collect(),
        rollups: peers.iter().map(|p| Address::from(p.rollup.0)).collect(),
        verifier: prepared.verifier,
        poseidon: prepared.poseidon,
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
        proofChunks: cfg.proof_chunks,
    };
    let rollup = Rollup::deploy(provider, config).await.map_err(rpc)?;
    if *rollup.address() != prepared.rollup {
        return Err(L1Error::Invalid(format!(
            "chain {}: the rollup was created at {}, not at the predicted {} (another transaction \
             from the deployer's key in between)",
            cfg.chain,
            rollup.address(),
            prepared.rollup
        )));
    }
    let onchain = rollup.domain().call().await.map_err(rpc)?;
    if onchain.0 != domain.0 {
        return Err(L1Error::Invalid(format!(
            "chain {}: the contract derived domain {onchain}, the node {domain}",
            cfg.chain
        )));
    }
    Ok(Deployment {
        rollup: prepared.rollup,
        verifier: prepared.verifier,
        poseidon: prepared.poseidon,
        domain,
    })
}

/// The deployment domain of the network whose chains are `chains` (`(chain, provider, rollup
/// contract)`): derived from each contract's network id, each provider's EVM chain id and the
/// contract addresses, and checked against every contract's own `domain()` — a contract that names
/// other peers, another network id or sits on another chain than the configuration says is an
/// error, not a domain.
pub async fn read_domain<P: Provider>(
    chains: &[(ChainId, &P, Address)],
) -> Result<Domain, L1Error> {
    let mut peers = Vec::with_capacity(chains.len());
    let mut network_id = None;
    let mut domains = Vec::with_capacity(chains.len());
    for (chain, provider, address) in chains {
        let contract = Rollup::new(*address, *provider);
        let id = contract.networkId().call().await.map_err(rpc)?;
        match network_id {
            None => network_id = Some(id),
            Some(first) if first != id => {
                return Err(L1Error::Invalid(format!(
                    "chain {chain}'s contract belongs to another network ({id} vs {first})"
                )));
            }
            Some(_) => {}
        }
        domains.push((*chain, contract.domain().call().await.map_err(rpc)?));
        peers.push(Peer {
            chain: *chain,
            evm_chain_id: provider.get_chain_id().await.map_err(rpc)?,
            rollup: rollup_types::Address(address.into_array()),
        });
    }
    peers.sort_by_key(|p| p.chain);
    let network_id = network_id.ok_or_else(|| L1Error::Invalid("no chains".into()))?;
    let domain =
        Domain::derive(&network_id.0, &peers).map_err(|e| L1Error::Invalid(e.to_string()))?;
    for (chain, d) in domains {
        if d.0 != domain.0 {
            return Err(L1Error::Invalid(format!(
                "chain {chain}'s contract was deployed for other peers (domain {d}, the \
                 configured chains give {domain})"
            )));
        }
    }
    Ok(domain)
}
