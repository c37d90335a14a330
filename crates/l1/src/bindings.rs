//! alloy bindings of the committed contract artifacts (`contracts/out`, built by
//! `scripts/build-contracts.sh`).
#![allow(missing_docs)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Rollup,
    "../../contracts/out/Rollup.json"
);

alloy::sol!(
    #[sol(rpc)]
    PoseidonT5,
    "../../contracts/out/PoseidonT5.json"
);

alloy::sol!(
    #[sol(rpc)]
    TestToken,
    "../../contracts/out/TestToken.json"
);

alloy::sol!(
    #[sol(rpc)]
    TestWallet,
    "../../contracts/out/TestWallet.json"
);
