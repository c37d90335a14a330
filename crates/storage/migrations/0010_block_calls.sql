-- What each chain's driver sends of a stored block: the ABI encodings of its commit, execute and
-- prove inputs (`rollup_l1::encode::ChainCalls`), written in the block's transaction. The drivers
-- send from these rows, so the node keeps no block in memory until every chain executed it, and
-- a restart need not rebuild old blocks. A block stored before this table gets its rows when the
-- node next replays it.
CREATE TABLE block_calls (
    number BIGINT NOT NULL,
    chain BIGINT NOT NULL,
    commit_info BYTEA NOT NULL,
    execute_info BYTEA NOT NULL,
    prove_input BYTEA NOT NULL,
    PRIMARY KEY (number, chain)
);
