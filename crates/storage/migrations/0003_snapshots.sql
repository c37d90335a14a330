-- State snapshots written by state recovery from L1: a node restores from the newest one instead
-- of replaying blocks 1..number (whose signed transactions L1 does not carry). `stored` is JSON:
-- each chain's StoredBlockInfo of block `number` (ABI hex), what its next commit refers to.
CREATE TABLE snapshots (
    number BIGINT PRIMARY KEY,
    state BYTEA NOT NULL,
    final_root BYTEA NOT NULL,
    sync_hash BYTEA NOT NULL,
    stored TEXT NOT NULL
);
