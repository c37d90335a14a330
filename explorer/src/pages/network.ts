// #/ — the network dashboard: every connected chain's progress, the auditor, oracles, mempool.

import { blockLink, fill, h, hash, heading, loading, stageTrack, table, timeAgo, type Child } from "../dom";
import { call } from "../rpc";
import { errorBox, staleNote, type Page } from "../page";
import type { AuditorState, BlockSummary, Network, NetworkChain } from "../types";

export function auditorText(a: AuditorState): string {
  switch (a.state) {
    case "notWatched":
      return "not watched by this node";
    case "unknown":
      return `unknown: ${a.reason}`;
    case "running":
      return `running, last approved block ${a.lastApproved}`;
    case "halted":
      return `halted at block ${a.block}: ${a.reason}`;
  }
}

function threshold(c: NetworkChain): string {
  if (c.oracleThreshold === null) return "not read yet";
  return c.oracles ? `${c.oracleThreshold} of ${c.oracles.length}` : `${c.oracleThreshold} of ?`;
}

function stat(label: string, value: Child, testid: string, note?: Child): HTMLElement {
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "stat-label" }, label),
    h("div", { class: "stat-value", "data-testid": testid }, value),
    note ? h("div", { class: "stat-note" }, note) : null,
  );
}

function auditorStat(a: AuditorState): HTMLElement {
  const cls = a.state === "running" ? "ok" : a.state === "halted" ? "bad" : "warn";
  const label = { notWatched: "Not watched", unknown: "Unknown", running: "Running", halted: "Halted" }[a.state];
  const note =
    a.state === "running"
      ? h("span", null, "last approved ", blockLink(a.lastApproved))
      : a.state === "halted"
        ? h("span", null, "refused ", blockLink(a.block), `: ${a.reason}`)
        : a.state === "unknown"
          ? a.reason
          : "this node does not wait for an auditor";
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "stat-label" }, "Auditor"),
    h("div", { class: "stat-value", "data-testid": "auditor-state", "data-state": a.state, title: auditorText(a) }, h("span", { class: `pill ${cls}` }, label)),
    h("div", { class: "stat-note", "data-testid": "auditor-approval" }, note),
  );
}

function oraclesStat(chains: NetworkChain[]): HTMLElement {
  const values = [...new Set(chains.map(threshold))];
  const text = values.length === 1 ? (values[0] ?? "—") : "per chain (see below)";
  return stat("Oracle threshold", text, "oracle-threshold", "signatures needed to sync a block");
}

export function render(page: Page): void {
  const halted = h("div", { "data-testid": "halted-slot" });
  const live = h("div", { class: "live", "aria-live": "polite" }, loading());
  const recent = h("section", { class: "card", "aria-labelledby": "recent-h" }, h("h2", { id: "recent-h" }, "Latest blocks"), loading());
  const stale = h("div");
  fill(page.main, heading("Network", "Every connected chain's progress through the four L1 stages, live."), halted, stale, live, recent);

  let loaded = false;
  let recentLoaded = false;
  const refreshNet = async () => {
    let net: Network;
    try {
      net = await call<Network>("rollup_network");
    } catch (e) {
      if (!page.alive) return;
      if (loaded) staleNote(stale, e);
      else fill(live, errorBox(e, "Could not load the network"));
      return;
    }
    if (!page.alive) return;
    loaded = true;
    staleNote(stale, null);
    fill(
      halted,
      net.halted
        ? h(
            "div",
            { class: "alert error banner", role: "alert", "data-testid": "halted-banner" },
            h("strong", null, "The network is halted. "),
            `The auditor ${net.auditor.state === "halted" ? `refused block ${net.auditor.block}: ${net.auditor.reason}` : "refused a block"}. `,
            "Every chain's L1 sender is stopped until an operator resumes the network.",
          )
        : null,
    );
    fill(
      live,
      h(
        "div",
        { class: "stats" },
        stat("Last block", net.lastBlock ? blockLink(net.lastBlock) : "none yet", "last-block"),
        stat("Mempool", String(net.mempool), "mempool-size", net.mempool === 1 ? "transaction waiting" : "transactions waiting"),
        auditorStat(net.auditor),
        oraclesStat(net.chains),
        stat("Chains", String(net.chains.length), "chain-count", h("span", { class: "mono", title: net.domain }, "domain ", hash(net.domain, { copy: true }))),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "chains-h" },
        h("h2", { id: "chains-h" }, "Connected chains"),
        table(
          "Connected chains and the last block at each stage",
          ["Chain", "EVM chain id", "Rollup contract", "Oracles", "Committed", "Proven", "Synced", "Executed"],
          net.chains.map((c) => ({
            testid: `chain-row-${c.chain}`,
            cells: [
              h("span", { class: "chain-tag" }, `Chain ${c.chain}`),
              h("span", { class: "num", "data-testid": `evm-chain-id-${c.chain}` }, c.evmChainId === null ? "not read yet" : String(c.evmChainId)),
              c.contract ? hash(c.contract, { copy: true }) : h("span", { class: "muted" }, "not read yet"),
              h("span", { "data-testid": `oracles-${c.chain}` }, threshold(c)),
              ...(["committed", "proven", "synced", "executed"] as const).map((s) =>
                h("span", { "data-testid": `${s}-${c.chain}`, class: "num" }, c[s] ? blockLink(c[s]) : "—"),
              ),
            ],
          })),
          { captionHidden: true, empty: "No chain connected." },
        ),
      ),
    );
  };
  const refreshRecent = async () => {
    let blocks: BlockSummary[];
    try {
      blocks = await call<BlockSummary[]>("rollup_blocks", [null, 5]);
    } catch (e) {
      if (!page.alive) return;
      if (!recentLoaded) fill(recent, h("h2", { id: "recent-h" }, "Latest blocks"), errorBox(e, "Could not load the latest blocks"));
      return;
    }
    if (!page.alive) return;
    recentLoaded = true;
    fill(
      recent,
      h("h2", { id: "recent-h" }, "Latest blocks ", h("a", { href: "#/blocks", class: "more" }, "all blocks →")),
      table(
        "The five newest blocks",
        ["Block", "Age", "Txs", "Stages per chain"],
        blocks.map((b) => ({
          testid: `block-row-${b.number}`,
          cells: [blockLink(b.number), timeAgo(b.createdAt * 1000), String(b.txCount), h("div", { class: "tracks" }, b.chains.map((c) => stageTrack(c.chain, c.stage)))],
        })),
        { captionHidden: true, empty: "No block yet." },
      ),
    );
  };
  const refresh = async () => {
    await Promise.all([refreshNet(), refreshRecent()]);
  };

  const trigger = page.live(refresh, 1500);
  trigger();
  // The mempool changes without block notifications: a slow poll.
  page.every(5000, trigger);
}
