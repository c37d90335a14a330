//! L1 side of the wallet: deposits into a chain's rollup contract, full-exit requests, key
//! changes authorised on-chain, and claims of pending balances.

use crate::SdkError;
use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use rollup_l1::bindings::Rollup;
use rollup_types::AccountId;
use rollup_types::tx::{ChangePubKey, Tx};

/// A request queued on L1.
#[derive(Clone, Debug)]
pub struct Queued {
    /// Its serial in the chain's priority queue.
    pub serial: u64,
    /// The request as the rollup reads it (its hash is the transaction hash the API reports).
    pub tx: Tx,
}

/// The call an owner makes on `change.chain`'s rollup contract to authorise `change` on L1
/// (`setAuthPubkeyHash`): for a contract wallet, what it must send (its `to` is the contract).
pub fn auth_calldata(change: &ChangePubKey) -> Vec<u8> {
    Rollup::setAuthPubkeyHashCall {
        accountId: change.account.0,
        pubkeyHash: change.new_pubkey_hash.0.into(),
        nonce: change.nonce.0,
        feeToken: change.fee_token.0,
        fee: change.fee.get(),
    }
    .abi_encode()
}

/// A chain's rollup contract as seen by the wallet's L1 key.
pub struct Chain {
    rollup: Rollup::RollupInstance<DynProvider>,
}

fn t(e: impl std::fmt::Display) -> SdkError {
    SdkError::Transport(e.to_string())
}

impl Chain {
    /// Connects to `rpc_url` with the wallet's Ethereum key.
    pub fn new(rpc_url: &str, contract: Address, key: &[u8; 32]) -> Result<Self, SdkError> {
        let signer = PrivateKeySigner::from_bytes(&(*key).into()).map_err(t)?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(rpc_url.parse().map_err(t)?)
            .erased();
        Ok(Chain {
            rollup: Rollup::new(contract, provider),
        })
    }

    /// Sends, waits for the receipt, and refuses a reverted transaction.
    async fn confirm(
        call: Result<
            alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
            alloy::contract::Error,
        >,
    ) -> Result<alloy::rpc::types::TransactionReceipt, SdkError> {
        let receipt = call
            .map_err(|e| SdkError::Rejected {
                code: 0,
                message: e.to_string(),
            })?
            .get_receipt()
            .await
            .map_err(t)?;
        if !receipt.status() {
            return Err(SdkError::Rejected {
                code: 0,
                message: "the L1 transaction reverted".into(),
            });
        }
        Ok(receipt)
    }

    /// Deposits `wei` of ETH to the L2 account of `to`.
    pub async fn deposit_eth(&self, to: Address, wei: u128) -> Result<(), SdkError> {
        Self::confirm(
            self.rollup
                .depositETH(to)
                .value(U256::from(wei))
                .send()
                .await,
        )
        .await
        .map(|_| ())
    }

    /// Deposits `amount` of the ERC-20 `token` (approving the rollup contract first) to the L2
    /// account of `to`.
    pub async fn deposit_erc20(
        &self,
        token: Address,
        amount: u128,
        to: Address,
    ) -> Result<(), SdkError> {
        let erc20 = rollup_l1::bindings::TestToken::new(token, self.rollup.provider().clone());
        Self::confirm(
            erc20
                .approve(*self.rollup.address(), U256::from(amount))
                .send()
                .await,
        )
        .await?;
        Self::confirm(self.rollup.depositERC20(token, amount, to).send().await)
            .await
            .map(|_| ())
    }

    /// Requests the full exit of `account`'s whole balance of `token` on this chain (the sender
    /// must be the account's owner for the exit to pay anything): a priority request the
    /// operator must include in order, or the chain enters exodus once it expires. Returns the
    /// queued request (its serial for `Client::wait_priority`, its transaction for its hash).
    pub async fn request_full_exit(
        &self,
        account: AccountId,
        token: u16,
    ) -> Result<Queued, SdkError> {
        let receipt =
            Self::confirm(self.rollup.requestFullExit(account.0, token).send().await).await?;
        let log = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| Rollup::PriorityRequestQueued::decode_log(&l.inner).ok())
            .ok_or_else(|| t("no PriorityRequestQueued event in the receipt"))?;
        let tx = Tx::decode(&log.op).map_err(t)?;
        Ok(Queued {
            serial: log.serialId,
            tx,
        })
    }

    /// Authorises `change` on L1 as the key's own address (`setAuthPubkeyHash`): for an owner
    /// that prefers a transaction to a signature. A fact is set once per nonce.
    pub async fn authorise_key_change(&self, change: &ChangePubKey) -> Result<(), SdkError> {
        Self::confirm(
            self.rollup
                .setAuthPubkeyHash(
                    change.account.0,
                    change.new_pubkey_hash.0.into(),
                    change.nonce.0,
                    change.fee_token.0,
                    change.fee.get(),
                )
                .send()
                .await,
        )
        .await
        .map(|_| ())
    }

    /// The pending (claimable) balance of `owner` in `token`.
    pub async fn pending(&self, owner: Address, token: u16) -> Result<u128, SdkError> {
        self.rollup
            .pendingBalance(owner, token)
            .call()
            .await
            .map_err(t)
    }

    /// The decimals the contract recorded for `token` (18 for ETH, token 0); an error for a
    /// token the contract has not registered.
    pub async fn decimals(&self, token: u16) -> Result<u8, SdkError> {
        if token == 0 {
            return Ok(18);
        }
        let count = self.rollup.tokenCount().call().await.map_err(t)?;
        if token >= count {
            return Err(SdkError::Invalid(format!(
                "token {token} is not registered on this contract"
            )));
        }
        self.rollup.tokenDecimals(token).call().await.map_err(t)
    }

    /// Claims `amount` of `owner`'s pending balance to `owner`'s L1 wallet.
    pub async fn claim(&self, owner: Address, token: u16, amount: u128) -> Result<(), SdkError> {
        Self::confirm(
            self.rollup
                .withdrawPendingBalance(owner, token, amount)
                .send()
                .await,
        )
        .await
        .map(|_| ())
    }

    /// The provider's view of an L1 balance.
    pub async fn eth_balance(&self, who: Address) -> Result<U256, SdkError> {
        self.rollup.provider().get_balance(who).await.map_err(t)
    }
}
