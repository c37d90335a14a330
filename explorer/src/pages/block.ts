// #/block/<n> — one block: its transactions and, per chain, its data and L1 transactions.

import { alertBox, facts, fill, h, hash, heading, loading, stageTrack, table, timeAgo, txLink } from "../dom";
import { kindLabel, timestamp } from "../format";
import { call } from "../rpc";
import { errorBox, staleNote, type Page } from "../page";
import { L1_STAGES, type BlockChain, type BlockDetail } from "../types";

function gas(v: number | string | null): string {
  if (v === null || v === undefined) return "—";
  return BigInt(v).toLocaleString("en-US");
}

function chainCard(c: BlockChain): HTMLElement {
  return h(
    "section",
    { class: "card chain-card", "data-testid": `block-chain-${c.chain}`, "aria-labelledby": `chain-h-${c.chain}` },
    h("h2", { id: `chain-h-${c.chain}` }, `Chain ${c.chain}`),
    stageTrack(c.chain, c.stage),
    facts([
      ["Chunks", c.chunks === null ? "—" : String(c.chunks)],
      ["Priority operations", c.priorityOps === null ? "—" : String(c.priorityOps)],
      ["Old root", hash(c.oldRoot, { copy: true })],
      ["New root", hash(c.newRoot, { copy: true })],
    ]),
    table(
      `L1 transactions on chain ${c.chain}`,
      ["Stage", "L1 transaction", "Gas used", "Mined"],
      L1_STAGES.map((s) => {
        const r = c.l1[s];
        return {
          testid: `l1-${c.chain}-${s}`,
          cells: [
            h("span", { class: "cap" }, s),
            r ? hash(r.hash, { copy: true }) : h("span", { class: "muted" }, "not yet"),
            r ? h("span", { class: "num" }, gas(r.gasUsed)) : "—",
            r ? timeAgo(r.at) : "—",
          ],
        };
      }),
    ),
  );
}

export function render(page: Page): void {
  const raw = page.params[0] ?? "";
  if (!/^\d{1,10}$/.test(raw)) {
    fill(page.main, heading("Block"), alertBox("warn", `“${raw}” is not a block number.`, "search-error"));
    return;
  }
  const n = Number(raw);
  const body = h("div", { class: "live", "aria-live": "polite" }, loading());
  const stale = h("div");
  fill(page.main, heading(`Block #${n}`), stale, body);

  let loaded = false;
  let known = false;
  const refresh = async () => {
    let b: BlockDetail | null;
    try {
      b = await call<BlockDetail | null>("rollup_block", [n]);
    } catch (e) {
      if (!page.alive) return;
      if (loaded) staleNote(stale, e);
      else fill(body, errorBox(e, `Could not load block ${n}`));
      return;
    }
    if (!page.alive) return;
    loaded = true;
    staleNote(stale, null);
    if (!b) {
      known = false;
      fill(body, alertBox("warn", `No block ${n} is known to this node.`, "search-error"), h("p", null, h("a", { href: "#/blocks" }, "See the newest blocks")));
      return;
    }
    known = true;
    fill(
      body,
      h(
        "nav",
        { class: "pager", "aria-label": "Neighbouring blocks" },
        n > 1 ? h("a", { href: `#/block/${n - 1}`, rel: "prev" }, `← #${n - 1}`) : null,
        h("a", { href: `#/block/${n + 1}`, rel: "next" }, `#${n + 1} →`),
      ),
      h(
        "section",
        { class: "card" },
        facts(
          [
            ["Block", h("span", { class: "num" }, `#${b.number}`)],
            ["Sealed", h("span", null, timeAgo(b.createdAt * 1000), h("span", { class: "muted small" }, ` · ${timestamp(b.createdAt * 1000)}`))],
            ["Transactions", h("span", { "data-testid": "tx-count" }, String(b.txCount))],
            ["Final root", hash(b.finalRoot, { copy: true, full: true, testid: "final-root" }), "wide"],
            ["Sync hash", hash(b.syncHash, { copy: true, full: true, testid: "sync-hash" }), "wide"],
          ],
          "block-facts",
        ),
        h("div", { class: "tracks" }, b.chains.map((c) => stageTrack(c.chain, c.stage))),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "txs-h" },
        h("h2", { id: "txs-h" }, "Transactions"),
        table(
          `Transactions of block ${n}`,
          ["Position", "Hash", "Kind", "Chain"],
          b.txs.map((t) => ({
            testid: `block-tx-${t.position}`,
            cells: [String(t.position), txLink(t.hash, true), kindLabel(t.kind), h("span", { class: "chain-tag" }, `Chain ${t.chain}`)],
          })),
          { captionHidden: true, empty: "This block has no transactions (only priority operations or an empty seal)." },
        ),
      ),
      h("div", { class: "chain-list" }, b.chains.map(chainCard)),
    );
  };

  page.live(refresh, 1000, (note) => note.number === n || !known)();
}
