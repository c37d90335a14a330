-- Leadership leases (crates/storage/src/lease.rs): the state keeper and each chain's sender run
-- in every node server, but only a lease's holder acts. `epoch` grows whenever the holder
-- changes, and a leader's writes check its lease (holder, epoch, not expired) in the same
-- transaction — fencing: a deposed leader (paused past its lease, partitioned) writes nothing,
-- so it seals no block and, since a sender persists each L1 transaction before broadcasting
-- it, sends nothing. `expires_ms` is Unix milliseconds by the writers' clocks.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
