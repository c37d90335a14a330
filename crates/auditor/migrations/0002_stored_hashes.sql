-- Per approved block: keccak(abi.encode(StoredBlockInfo)) of every chain (32 bytes each,
-- ascending chain id) — what each contract's storedBlockHashes(number) must hold once it is
-- committed. The auditor compares them with the chains to catch a commit it never approved.
ALTER TABLE audited ADD COLUMN stored_hashes BLOB;

-- Per chain: the committed blocks already compared with the approvals.
CREATE TABLE l1_checked (
    chain INTEGER PRIMARY KEY,
    committed INTEGER NOT NULL
);
