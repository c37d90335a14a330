-- The oracles' board of abandonments: each oracle's signature abandoning (block, sync_hash) — a
-- block whose prove window has passed on every chain without every chain proving it, so it can
-- never be synced. `rollup-node revert` collects a threshold set to revert the block on the
-- chains that proved it. Checked on chain like attestations, so the board needs no trust.
CREATE TABLE abandonments (
    number BIGINT NOT NULL,
    sync_hash BYTEA NOT NULL,
    signer BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (number, sync_hash, signer)
);
