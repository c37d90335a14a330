-- The oracles' board: each oracle's signature over (block, sync_hash); any oracle relays a set
-- that reaches the threshold. Signatures are checked on chain, so the board needs no trust.
CREATE TABLE attestations (
    number BIGINT NOT NULL,
    sync_hash BYTEA NOT NULL,
    signer BYTEA NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (number, sync_hash, signer)
);
