-- Key changes authorised on L1 (`setAuthPubkeyHash`, for owners that cannot sign, such as
-- contract wallets), read by each chain's watcher with its cursor once confirmed. The API admits
-- an on-chain authorised ChangePubKey only when its fact is here; the contract checks it again at
-- commit. A fact never changes on L1, so a different one for the same key is corruption.
CREATE TABLE auth_facts (
    chain BIGINT NOT NULL,
    owner BYTEA NOT NULL,
    nonce BIGINT NOT NULL,
    fact BYTEA NOT NULL,
    l1_block BIGINT NOT NULL,
    PRIMARY KEY (chain, owner, nonce)
);
