// #/tx/<hash> — one transaction: what it does, and its status and stage per chain, live until it
// is executed everywhere (or left the mempool unsealed).

import { accountLink, alertBox, blockLink, facts, fill, h, hash, heading, loading, stageTrack, timeAgo, type Child } from "../dom";
import { bps, kindLabel, timestamp } from "../format";
import { amount, tokens, type Tokens } from "../data";
import { call, socket } from "../rpc";
import { errorBox, errorMessage, type Page } from "../page";
import { STAGES, type PoolHalf, type Stage, type Stages, type TxDetail, type TxFields, type TxStatus } from "../types";

function num(v: unknown): number | null {
  return typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : null;
}
function str(v: unknown): string | null {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : null;
}

/** The lowest stage over every chain, or null when `stages` is empty. */
export function lowestStage(stages: Stages): Stage | null {
  let low: number | null = null;
  for (const s of Object.values(stages)) {
    const i = STAGES.indexOf(s);
    low = low === null ? i : Math.min(low, i);
  }
  return low === null ? null : (STAGES[low] ?? null);
}

function statusLine(s: TxStatus): { key: string; text: string; cls: string } {
  switch (s.status) {
    case "mempool":
      return { key: "mempool", text: "Pending in the mempool", cls: "warn" };
    case "block": {
      const low = lowestStage(s.stages);
      if (low === "executed") return { key: "executed", text: `Executed on every chain (block #${s.block})`, cls: "ok" };
      if (low === null || low === "sealed") return { key: "sealed", text: `Sealed in block #${s.block}, on its way to L1`, cls: "info" };
      return { key: low, text: `In block #${s.block}: ${low} on every chain, not yet executed everywhere`, cls: "info" };
    }
    case "expired":
      return { key: "expired", text: "Expired: no block took it before its lifetime ran out", cls: "bad" };
    case "rejected":
      return { key: "rejected", text: "Rejected: the rules refused it at sealing", cls: "bad" };
    case "unknown":
      return { key: "unknown", text: "Unknown to this node", cls: "bad" };
  }
}

function isFinal(s: TxStatus): boolean {
  return s.status === "expired" || s.status === "rejected" || (s.status === "block" && lowestStage(s.stages) === "executed");
}

/** The status a `rollup_tx` answer carries, as `rollup_txStatus` would give it. */
function statusOf(t: TxDetail): TxStatus {
  if (t.status === "block") return { status: "block", block: t.block ?? 0, stages: t.stages ?? {} };
  if (t.status === "mempool") return { status: "mempool", addedAt: t.addedAt ?? NaN, expiresAt: t.expiresAt ?? NaN };
  return { status: t.status, reason: t.reason ?? "", at: t.at ?? NaN };
}

interface PoolInfo {
  token: number;
  peerChain: number;
  peerToken: number;
}

/** The kind-specific rows: parties, amounts (in units, with symbols), fee, nonce. */
function fieldRows(tx: TxFields, toks: Tokens, pool: PoolInfo | null): [string, Child][] {
  const chain = tx.chain;
  const amt = (token: unknown, v: unknown, testid: string, onChain = chain): Child => {
    const t = num(token);
    const a = str(v);
    if (a === null) return "—";
    if (t === null) return h("span", { class: "num", "data-testid": testid }, `${a} (base units)`);
    return amount(toks, onChain, t, a, testid);
  };
  const acct = (v: unknown, testid: string): Child => {
    const id = num(v);
    return h("span", { "data-testid": testid }, id === null ? String(v) : accountLink(id));
  };
  const addr = (v: unknown, testid: string): Child => {
    const a = str(v);
    return h("span", { "data-testid": testid }, a ? accountLink(a) : "—");
  };
  const l1addr = (v: unknown, testid: string): Child => {
    const a = str(v);
    return h("span", { "data-testid": testid }, a ? hash(a, { copy: true }) : "—", h("span", { class: "muted small" }, " (L1)"));
  };
  const poolLink = (v: unknown): Child => h("a", { href: "#/pools", "data-testid": "tx-pool" }, `Pool ${String(v)}`);
  const LP = 512 + (num(tx.pool) ?? 0);
  const nonce: [string, Child] = ["Nonce", str(tx.nonce) ?? "—"];
  switch (tx.kind) {
    case "deposit":
      return [
        ["From", l1addr(tx.from, "tx-from")],
        ["To", addr(tx.to, "tx-to")],
        ["Amount", amt(tx.token, tx.amount, "tx-amount")],
        ["L1 queue serial", str(tx.serialId) ?? "—"],
      ];
    case "fullExit":
      return [
        ["Account", acct(tx.account, "tx-from")],
        ["Owner", addr(tx.owner, "tx-to")],
        ["Token", amt(tx.token, "0", "tx-token")],
        ["L1 queue serial", str(tx.serialId) ?? "—"],
      ];
    case "changePubKey":
      return [
        ["Account", acct(tx.account, "tx-from")],
        ["New key hash", hash(str(tx.newPubkeyHash), { copy: true })],
        ["Fee", amt(tx.feeToken, tx.fee, "tx-fee")],
        nonce,
      ];
    case "transfer":
      return [
        ["From", acct(tx.from, "tx-from")],
        ["To", addr(tx.to, "tx-to")],
        ["Amount", amt(tx.token, tx.amount, "tx-amount")],
        ["Fee", amt(tx.token, tx.fee, "tx-fee")],
        nonce,
      ];
    case "withdraw":
      return [
        ["Account", acct(tx.account, "tx-from")],
        ["To", l1addr(tx.to, "tx-to")],
        ["Amount", amt(tx.token, tx.amount, "tx-amount")],
        ["Fee", amt(tx.token, tx.fee, "tx-fee")],
        nonce,
      ];
    case "addLiquidity":
      return [
        ["Account", acct(tx.account, "tx-from")],
        ["Pool", poolLink(tx.pool)],
        ["Amount", amt(pool?.token ?? null, tx.amount, "tx-amount")],
        ["Minimum shares", amt(LP, tx.minShares, "tx-min")],
        ["Fee", amt(pool?.token ?? null, tx.fee, "tx-fee")],
        nonce,
      ];
    case "removeLiquidity":
      return [
        ["Account", acct(tx.account, "tx-from")],
        ["Pool", poolLink(tx.pool)],
        ["Shares", amt(LP, tx.shares, "tx-amount")],
        ["Minimum out", amt(pool?.token ?? null, tx.minOut, "tx-min")],
        ["Fee", amt(pool?.token ?? null, tx.fee, "tx-fee")],
        nonce,
      ];
    case "swap":
      return [
        ["Account", acct(tx.account, "tx-from")],
        ["Pool", poolLink(tx.pool)],
        ["Amount in", amt(pool?.token ?? null, tx.amountIn, "tx-amount")],
        [
          "Minimum out",
          pool
            ? h("span", null, amt(pool.peerToken, tx.minOut, "tx-min", pool.peerChain), h("span", { class: "muted small" }, ` on chain ${pool.peerChain}`))
            : amt(null, tx.minOut, "tx-min"),
        ],
        ["Fee", amt(pool?.token ?? null, tx.fee, "tx-fee")],
        nonce,
      ];
    case "createPool": {
      const feeBps = num(tx.feeBps);
      const peerChain = num(tx.peerChain) ?? 0;
      const half = (c: number, t: unknown) => {
        const id = num(t);
        return h("span", null, h("span", { class: "chain-tag" }, `Chain ${c}`), " ", id === null ? "?" : h("span", { class: "sym" }, amountSymbol(toks, c, id)));
      };
      return [
        ["Account", acct(tx.account, "tx-from")],
        ["Pool", poolLink(tx.pool)],
        ["First half", half(chain, tx.token)],
        ["Second half", half(peerChain, tx.peerToken)],
        ["Pool fee", feeBps === null ? "—" : bps(feeBps)],
        ["Fee", amt(tx.token, tx.fee, "tx-fee")],
        nonce,
      ];
    }
    default:
      return Object.entries(tx)
        .filter(([k]) => k !== "kind" && k !== "chain")
        .map(([k, v]) => [k, h("span", { class: "mono" }, typeof v === "object" ? JSON.stringify(v) : String(v))]);
  }
}

function amountSymbol(toks: Tokens, chain: number, token: number): string {
  return toks.get(`${chain}:${token}`)?.symbol ?? `token ${token}`;
}

export function render(page: Page): void {
  const txHash = (page.params[0] ?? "").toLowerCase();
  if (!/^0x[0-9a-f]{64}$/.test(txHash)) {
    fill(page.main, heading("Transaction"), alertBox("warn", `“${page.params[0] ?? ""}” is not a transaction hash (0x and 64 hex digits).`, "search-error"));
    return;
  }
  const details = h("div", null, loading());
  const statusCard = h("section", { class: "card status-card", "aria-labelledby": "status-h", "aria-live": "polite", "data-testid": "tx-live" });
  fill(page.main, heading("Transaction", hash(txHash, { copy: true, full: true, testid: "tx-hash" })), statusCard, details);

  let detail: TxDetail | null = null;
  let status: TxStatus | null = null;
  let toks: Tokens = new Map();
  let loadingDetail = false;
  let cancelSub: (() => void) | null = null;
  let mempoolTimes: { addedAt: number; expiresAt: number } | null = null;
  let reasonAt: number | null = null;

  const renderStatus = () => {
    if (!status || !detail) return;
    const line = statusLine(status);
    const touched = new Set(detail.chains);
    const stages = status.status === "block" ? status.stages : null;
    const chains = stages ? Object.keys(stages).map(Number).sort((a, b) => a - b) : [...detail.chains].sort((a, b) => a - b);
    const none = status.status === "mempool" ? "mempool" : status.status;
    const extra: Child[] = [];
    if (status.status === "mempool" && mempoolTimes && Number.isFinite(mempoolTimes.addedAt)) {
      extra.push(
        h("p", { class: "muted" }, "Waiting since ", timeAgo(mempoolTimes.addedAt), "; expires ", timeAgo(mempoolTimes.expiresAt), ` (${timestamp(mempoolTimes.expiresAt)}) unless a block takes it.`),
      );
    }
    if (status.status === "expired" || status.status === "rejected") {
      extra.push(
        alertBox(
          "error",
          h("span", null, h("span", { "data-testid": "tx-reason" }, status.reason || detail.reason || "no reason given"), reasonAt ? h("span", { class: "muted" }, ` (${timestamp(reasonAt)})`) : null),
          "tx-reason-box",
          status.status === "expired" ? "Why it expired" : "Why it was rejected",
        ),
      );
    }
    fill(
      statusCard,
      h("h2", { id: "status-h" }, "Status"),
      h("p", { class: `status-line ${line.cls}` }, h("span", { class: `pill ${line.cls}`, "data-testid": "tx-status", "data-status": line.key }, line.text)),
      extra,
      h(
        "div",
        { class: "tracks" },
        chains.map((c) => {
          const t = stageTrack(c, stages ? (stages[String(c)] ?? null) : null, none);
          if (touched.has(c)) t.append(h("span", { class: "touched", title: "This transaction changes state on this chain" }, "touched"));
          return t;
        }),
      ),
      isFinal(status) ? null : h("p", { class: "muted small live-note" }, socket.state === "live" ? "Updating live." : "Reconnecting to the node for live updates…"),
    );
  };

  const renderDetail = async () => {
    if (!detail) return;
    const tx = detail.tx;
    if (!tx) {
      const d = detail;
      fill(
        details,
        h(
          "section",
          { class: "card", "aria-labelledby": "details-h" },
          h("h2", { id: "details-h" }, "Details"),
          h("p", { class: "muted" }, "This node no longer holds the transaction's content; only its status is known."),
          d.block !== undefined ? facts([["Block", h("span", { "data-testid": "tx-block" }, blockLink(d.block), d.position !== undefined ? h("span", { class: "muted" }, `, position ${d.position}`) : null)]]) : null,
        ),
      );
      return;
    }
    let pool: PoolInfo | null = null;
    if (["addLiquidity", "removeLiquidity", "swap"].includes(tx.kind) && num(tx.pool) !== null) {
      try {
        const p = await call<PoolHalf | null>("rollup_pool", [tx.chain, num(tx.pool)]);
        if (p) pool = { token: p.token, peerChain: p.peerChain, peerToken: p.peerToken };
      } catch {
        // amounts then show in base units
      }
    }
    if (!page.alive || !detail) return;
    const d = detail;
    fill(
      details,
      h(
        "section",
        { class: "card", "aria-labelledby": "details-h" },
        h("h2", { id: "details-h" }, "Details"),
        facts(
          [
            ["Kind", h("span", { "data-testid": "tx-kind", "data-kind": tx.kind }, kindLabel(tx.kind))],
            ["Chain", h("span", { class: "chain-tag" }, `Chain ${tx.chain}`)],
            ["Chains touched", h("span", { "data-testid": "tx-chains" }, d.chains.map((c) => h("span", { class: "chain-tag" }, `Chain ${c}`)))],
            ...fieldRows(tx, toks, pool),
            [
              "Block",
              d.block !== undefined
                ? h("span", { "data-testid": "tx-block" }, blockLink(d.block), d.position !== undefined ? h("span", { class: "muted" }, `, position ${d.position}`) : null)
                : h("span", { class: "muted", "data-testid": "tx-block" }, "not in a block yet"),
            ],
          ],
          "tx-facts",
        ),
      ),
    );
  };

  let again = false;
  const load = async (first: boolean): Promise<void> => {
    if (loadingDetail) {
      again = true;
      return;
    }
    loadingDetail = true;
    try {
      const [t, tk] = await Promise.all([call<TxDetail | null>("rollup_tx", [txHash]), tokens()]);
      if (!page.alive) return;
      toks = tk;
      if (!t) {
        if (first) {
          fill(
            details,
            alertBox("warn", h("span", null, "No transaction ", h("span", { class: "mono" }, txHash), " is known to this node."), "search-error"),
            h("p", { class: "muted" }, "It may not have reached this node yet; this page shows it as soon as it does."),
          );
        }
        return;
      }
      detail = t;
      if (t.status === "mempool" && typeof t.addedAt === "number" && typeof t.expiresAt === "number" && !mempoolTimes) {
        mempoolTimes = { addedAt: t.addedAt, expiresAt: t.expiresAt };
      }
      if ((t.status === "expired" || t.status === "rejected") && typeof t.at === "number" && reasonAt === null) reasonAt = t.at;
      if (!status || status.status === "unknown" || (t.status === "block" && status.status === "mempool")) status = statusOf(t);
      await renderDetail();
      renderStatus();
    } catch (e) {
      if (page.alive && first) fill(details, errorBox(e, "Could not load the transaction"));
      else if (page.alive) statusCard.append(h("p", { class: "stale", "data-testid": "refresh-error" }, `Refresh failed: ${errorMessage(e)}`));
    } finally {
      loadingDetail = false;
      if (again && page.alive) {
        again = false;
        void load(false);
      }
    }
  };

  const onStatus = (r: unknown) => {
    const s = r as TxStatus;
    if (s.status === "mempool") mempoolTimes = { addedAt: s.addedAt, expiresAt: s.expiresAt };
    if (s.status === "expired" || s.status === "rejected") reasonAt = s.at;
    if (s.status === "unknown") {
      if (!detail) return; // the "not known" message stays; a later notification brings it
    }
    const before = status;
    status = s;
    // Block membership, position and the reason come with `rollup_tx`: fetch it again when the
    // transaction first shows up, enters a block or leaves the mempool.
    if (!detail || (s.status !== before?.status) || (s.status === "block" && (detail.block !== s.block))) {
      void load(false);
    } else {
      renderStatus();
    }
    if (isFinal(s) && cancelSub) {
      cancelSub();
      cancelSub = null;
    }
  };

  void load(true);
  let subFailed = false;
  cancelSub = page.subscribe("rollup_subscribeTx", [txHash], "rollup_unsubscribeTx", onStatus, (e) => {
    subFailed = true;
    statusCard.append(h("p", { class: "stale" }, `Live updates unavailable (${errorMessage(e)}): polling instead.`));
  });
  // Without the socket or the subscription: poll.
  page.every(5000, () => {
    if ((socket.state !== "live" || subFailed) && !(status && isFinal(status))) {
      call<TxStatus>("rollup_txStatus", [txHash]).then(onStatus, () => {});
    }
  });
  // Keep the "updating live / reconnecting" note current.
  page.onCleanup(socket.onState(() => renderStatus()));
}
