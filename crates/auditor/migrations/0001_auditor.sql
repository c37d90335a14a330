-- The auditor's own database (SQLite): nothing here is shared with the node.

-- Priority requests read from each chain's queue by the auditor's own watchers.
CREATE TABLE requests (
    chain INTEGER NOT NULL,
    serial INTEGER NOT NULL,
    tx BLOB NOT NULL,
    PRIMARY KEY (chain, serial)
);

-- Where each chain's watcher resumes, written with the requests it covers.
CREATE TABLE cursors (
    chain INTEGER PRIMARY KEY,
    cursor TEXT NOT NULL
);

-- Approved blocks: the inputs every chain receives (replayed at start to rebuild the replica),
-- what the replay gave, and the signed approval.
CREATE TABLE audited (
    number INTEGER PRIMARY KEY,
    inputs BLOB NOT NULL,
    final_root BLOB NOT NULL,
    sync_hash BLOB NOT NULL,
    approval BLOB NOT NULL,
    at INTEGER NOT NULL
);

-- Halts: the refused block, why, the evidence; resolved only by an operator.
CREATE TABLE halts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number INTEGER NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolution TEXT
);
