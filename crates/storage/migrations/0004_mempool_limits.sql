-- Mempool limits and expiry (the rules are in crates/node/src/api.rs and docs/CONFIG.md).
--
-- Each entry is indexed by its sender — the chain whose nonce it uses, the account, the nonce —
-- so the keeper selects per sender in nonce order (looking past senders whose next nonce is
-- missing) and admission counts an account's share. `added_ms`/`expires_ms` are Unix
-- milliseconds. All five are NULL in an entry stored before this migration or returned to the
-- mempool by the operator's discard: the keeper fills them in from the transaction itself (and
-- gives it its full lifetime from then) before it selects.
ALTER TABLE mempool ADD COLUMN chain BIGINT;
ALTER TABLE mempool ADD COLUMN account BIGINT;
ALTER TABLE mempool ADD COLUMN nonce BIGINT;
ALTER TABLE mempool ADD COLUMN added_ms BIGINT;
ALTER TABLE mempool ADD COLUMN expires_ms BIGINT;
CREATE INDEX mempool_by_sender ON mempool (chain, account, nonce);
CREATE INDEX mempool_by_account ON mempool (account);
CREATE INDEX mempool_by_expiry ON mempool (expires_ms);

-- What became of a transaction that left the mempool without a block: `status` is `expired`
-- (not sealed within its lifetime) or `rejected` (the rules refused it at sealing); `reason`
-- says why, for `rollup_txStatus`. Pruned by age and count (`seq` orders them), so the table
-- stays bounded however many transactions strangers send.
CREATE TABLE tx_outcomes (
    hash BYTEA PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX tx_outcomes_by_time ON tx_outcomes (at_ms);

-- One row every admission updates first. In PostgreSQL the row lock serialises admissions from
-- any number of API processes, so two of them cannot both take an account's last slot or the
-- mempool's last place (in SQLite, BEGIN IMMEDIATE serialises them already).
CREATE TABLE mempool_admission (
    id BIGINT PRIMARY KEY,
    admitted BIGINT NOT NULL
);
INSERT INTO mempool_admission (id, admitted) VALUES (0, 0);
