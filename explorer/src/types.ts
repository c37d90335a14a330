// The JSON-RPC contract's shapes (see the node's `crates/node/src/api.rs`).

export type Stage = "sealed" | "committed" | "proven" | "synced" | "executed";
export const STAGES: readonly Stage[] = ["sealed", "committed", "proven", "synced", "executed"];
/** The four L1 stages a block goes through after sealing. */
export const L1_STAGES = ["committed", "proven", "synced", "executed"] as const;
export type L1Stage = (typeof L1_STAGES)[number];

/** Chain id (as a decimal string key) → stage. */
export type Stages = Record<string, Stage>;

export type AuditorState =
  | { state: "notWatched" }
  | { state: "unknown"; reason: string }
  | { state: "running"; lastApproved: number }
  | { state: "halted"; block: number; reason: string };

export interface NetworkChain {
  chain: number;
  evmChainId: number | null;
  contract: string | null;
  oracleThreshold: number | null;
  oracles: string[] | null;
  committed: number;
  proven: number;
  synced: number;
  executed: number;
}

export interface Network {
  lastBlock: number;
  domain: string;
  mempool: number;
  halted: boolean;
  auditor: AuditorState;
  chains: NetworkChain[];
}

export interface TokenInfo {
  chain: number;
  token: number;
  symbol: string;
  decimals: number;
  address: string;
}

export interface L1Record {
  hash: string;
  gasUsed: number | string | null;
  at: number;
}

export interface BlockChain {
  chain: number;
  stage: Stage;
  /** Null when the node no longer holds the block's per-chain summary. */
  chunks: number | null;
  oldRoot: string | null;
  newRoot: string | null;
  priorityOps: number | null;
  l1: Record<L1Stage, L1Record | null>;
}

export interface BlockSummary {
  number: number;
  createdAt: number;
  txCount: number;
  finalRoot: string;
  syncHash: string;
  chains: BlockChain[];
}

export interface TxSummary {
  hash: string;
  kind: string;
  chain: number;
  position: number;
}

export interface BlockDetail extends BlockSummary {
  txs: TxSummary[];
}

export type TxStatus =
  | { status: "mempool"; addedAt: number; expiresAt: number }
  | { status: "block"; block: number; stages: Stages }
  | { status: "expired" | "rejected"; reason: string; at: number }
  | { status: "unknown" };

/** The transaction's own fields; which are present depends on `kind`. */
export interface TxFields {
  kind: string;
  chain: number;
  [field: string]: unknown;
}

export interface TxDetail {
  hash: string;
  status: "mempool" | "block" | "expired" | "rejected";
  block?: number;
  position?: number;
  stages?: Stages;
  reason?: string;
  /** Mempool entries: Unix ms. */
  addedAt?: number | null;
  expiresAt?: number | null;
  /** Expired/rejected: when, Unix ms. */
  at?: number | null;
  chains: number[];
  /** Null when the node no longer holds the transaction's body. */
  tx: TxFields | null;
}

export interface AccountChain {
  nonce: number;
  pubkeyHash: string;
  balances: Record<string, string>;
}

export interface AccountTx {
  hash: string;
  kind: string;
  chain: number;
  block: number;
  position: number;
}

export interface AccountInfo {
  id: number;
  address: string;
  chains: Record<string, AccountChain>;
  txs: AccountTx[];
}

export interface PoolHalf {
  pool: number;
  token: number;
  peerChain: number;
  peerToken: number;
  feeBps: number;
  reserve: string;
  supply: string;
}

export interface Quote {
  amountOut: string;
  peerChain: number;
  peerToken: number;
  feeBps: number;
}

export interface BlockNotification {
  number: number;
  stages: Stages;
}
