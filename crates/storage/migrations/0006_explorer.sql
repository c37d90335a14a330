-- What the explorer reads (crates/storage/src/explorer.rs), written with what it describes.
--
-- Each sealed block's summary (JSON: timestamp, transaction count, per chain its chunks, roots
-- and priority operations), written with the block. NULL for a block stored before this
-- migration until the keeper's restore indexes it.
ALTER TABLE blocks ADD COLUMN summary TEXT;

-- Every transaction of a stored block by its hash, with its kind and chain (the one whose nonce
-- or queue it uses) and its canonical encoding: transaction status is a lookup, not a scan.
CREATE TABLE block_txs (
    hash BYTEA PRIMARY KEY,
    number BIGINT NOT NULL,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    chain BIGINT NOT NULL,
    tx BYTEA NOT NULL
);
CREATE INDEX block_txs_by_block ON block_txs (number, position);

-- Which accounts each transaction touches (sender, recipient), for an account's history.
CREATE TABLE account_txs (
    account BIGINT NOT NULL,
    number BIGINT NOT NULL,
    position BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (account, number, position)
);

-- The L1 transaction that moved a block to a stage on a chain (from the contract's events, read
-- by the chain's watcher with its cursor), its gas and its L1 block's timestamp (Unix ms).
CREATE TABLE stage_txs (
    number BIGINT NOT NULL,
    chain BIGINT NOT NULL,
    stage BIGINT NOT NULL,
    l1_hash BYTEA NOT NULL,
    l1_block BIGINT NOT NULL,
    gas_used BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (number, chain, stage)
);

-- Tokens registered on each chain's contract (ETH, token 0, is implicit), as its driver read
-- them: address, decimals as the contract recorded them, the token's own symbol (NULL if it has
-- none).
CREATE TABLE tokens (
    chain BIGINT NOT NULL,
    token BIGINT NOT NULL,
    address BYTEA NOT NULL,
    symbol TEXT,
    decimals BIGINT NOT NULL,
    PRIMARY KEY (chain, token)
);

-- Each chain's L1 facts as its driver last read them: EVM chain id, rollup contract, the oracle
-- set (their 20-byte addresses, concatenated) and threshold.
CREATE TABLE l1_chains (
    chain BIGINT PRIMARY KEY,
    evm_chain_id BIGINT NOT NULL,
    contract BYTEA NOT NULL,
    oracles BYTEA NOT NULL,
    oracle_threshold BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
