-- Portable across SQLite and PostgreSQL: BIGINT for every integer, BYTEA for bytes (a BLOB in
-- SQLite), TEXT for JSON.

-- Signed transactions accepted by the API, waiting for a block, in arrival order.
CREATE TABLE mempool (
    hash BYTEA PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    tx BYTEA NOT NULL
);

-- Priority requests read from each chain's queue (the protocol's canonical encoding).
CREATE TABLE priority_ops (
    chain BIGINT NOT NULL,
    serial BIGINT NOT NULL,
    tx BYTEA NOT NULL,
    l1_block BIGINT NOT NULL,
    PRIMARY KEY (chain, serial)
);

-- Where each chain's watcher resumes (JSON cursor), written with the events it covers.
CREATE TABLE watcher_cursors (
    chain BIGINT PRIMARY KEY,
    cursor TEXT NOT NULL
);

-- Sealed L2 blocks (the node's encoding) with their roots.
CREATE TABLE blocks (
    number BIGINT PRIMARY KEY,
    data BYTEA NOT NULL,
    final_root BYTEA NOT NULL,
    sync_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Stage of each block on each chain (0 sealed, 1 committed, 2 proven, 3 synced, 4 executed).
CREATE TABLE block_stages (
    number BIGINT NOT NULL,
    chain BIGINT NOT NULL,
    stage BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (number, chain)
);

-- Proving jobs, claimed by workers under a lease (0 queued, 1 claimed, 2 done, 3 failed).
CREATE TABLE proof_jobs (
    number BIGINT NOT NULL,
    job BIGINT NOT NULL,
    payload BYTEA NOT NULL,
    status BIGINT NOT NULL,
    worker TEXT,
    attempts BIGINT NOT NULL,
    proof BYTEA,
    error TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (number, job)
);

-- The L1 senders' transactions (JSON records), per chain.
CREATE TABLE l1_txs (
    chain BIGINT NOT NULL,
    id BIGINT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (chain, id)
);
