// What pages share: the token registry (for amounts in units) and the one block subscription.

import { call, socket } from "./rpc";
import { formatUnits, LP_BASE, type TokenMeta } from "./format";
import { h } from "./dom";
import type { BlockNotification, TokenInfo } from "./types";

export type Tokens = Map<string, TokenInfo>;

let cached: Promise<Tokens> | null = null;
let cachedAt = 0;
const TOKENS_TTL_MS = 60_000;

/** `rollup_tokens` keyed by "chain:token", fetched again after a minute. */
export function tokens(): Promise<Tokens> {
  if (!cached || Date.now() - cachedAt > TOKENS_TTL_MS) {
    cachedAt = Date.now();
    const p = call<TokenInfo[]>("rollup_tokens").then((list) => new Map(list.map((t) => [`${t.chain}:${t.token}`, t])));
    cached = p;
    // A failed fetch is not cached.
    p.catch(() => {
      if (cached === p) cached = null;
    });
  }
  return cached;
}

export interface TokenView extends TokenMeta {
  /** An LP share of pool `pool` (shown in base units). */
  lp: boolean;
  known: boolean;
}

export function tokenMeta(map: Tokens, chain: number, token: number): TokenView {
  if (token >= LP_BASE) return { symbol: `LP pool ${token - LP_BASE}`, decimals: 0, lp: true, known: true };
  const t = map.get(`${chain}:${token}`);
  if (t) return { symbol: t.symbol, decimals: t.decimals, lp: false, known: true };
  return { symbol: `token ${token}`, decimals: 0, lp: false, known: false };
}

/** "1.5 ETH" with the base units on hover and in `data-base`. */
export function amount(map: Tokens, chain: number, token: number, base: string | bigint, testid?: string): HTMLElement {
  const m = tokenMeta(map, chain, token);
  const units = formatUnits(base, m.decimals);
  return h(
    "span",
    {
      class: "amount",
      title: `${String(base)} base units${m.known ? "" : " (unregistered token: base units shown)"}`,
      "data-base": String(base),
      "data-testid": testid,
    },
    h("span", { class: "num" }, units),
    " ",
    h("span", { class: "sym" }, m.symbol),
  );
}

type BlockListener = (n: BlockNotification | null) => void;
const blockListeners = new Set<BlockListener>();
let blocksStarted = false;

/**
 * Calls `l` on every `rollup_block` notification, and with `null` after the socket came back
 * (notifications may have been missed). Returns the function that removes it.
 */
export function onBlock(l: BlockListener): () => void {
  if (!blocksStarted) {
    blocksStarted = true;
    socket.subscribe("rollup_subscribeBlocks", [], "rollup_unsubscribeBlocks", (r) => {
      for (const f of blockListeners) f(r as BlockNotification);
    });
    socket.onReconnect(() => {
      for (const f of blockListeners) f(null);
    });
  }
  blockListeners.add(l);
  return () => blockListeners.delete(l);
}
