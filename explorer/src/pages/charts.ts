// #/charts — throughput (transactions per block) and stage latency (seal → executed per chain)
// over the newest 100 blocks, drawn as SVG.

import { fill, h, heading, loading, svg, table } from "../dom";
import { duration } from "../format";
import { call } from "../rpc";
import { errorBox, staleNote, type Page } from "../page";
import { L1_STAGES, type BlockSummary } from "../types";

const W = 760;
const H = 260;
const M = { left: 52, right: 16, top: 14, bottom: 40 };
const COLORS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2"];
const DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"];

/** About five round tick values from 0 to at least `max`. */
export function ticks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

interface Frame {
  x: (v: number) => number;
  y: (v: number) => number;
  root: SVGElement;
}

function frame(title: string, desc: string, xs: [number, number], yMax: number, xLabel: string, yLabel: string, yFmt: (v: number) => string): Frame {
  const [x0, x1] = xs;
  const yt = ticks(yMax);
  const top = yt[yt.length - 1] ?? 1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number) => M.left + (x1 === x0 ? pw / 2 : ((v - x0) / (x1 - x0)) * pw);
  const y = (v: number) => M.top + ph - (v / top) * ph;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart", preserveAspectRatio: "xMidYMid meet" });
  root.append(svg("title", {}, title), svg("desc", {}, desc));
  for (const t of yt) {
    root.append(svg("line", { x1: M.left, x2: W - M.right, y1: y(t), y2: y(t), class: "grid" }));
    root.append(svg("text", { x: M.left - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, yFmt(t)));
  }
  const span = x1 - x0;
  const step = Math.max(1, Math.ceil(span / 10));
  for (let v = Math.ceil(x0); v <= x1; v += step) {
    root.append(svg("text", { x: x(v), y: H - M.bottom + 16, "text-anchor": "middle", class: "tick" }, String(v)));
  }
  root.append(svg("line", { x1: M.left, x2: W - M.right, y1: y(0), y2: y(0), class: "axis" }));
  root.append(svg("text", { x: M.left + pw / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, xLabel));
  root.append(svg("text", { x: 12, y: M.top + ph / 2, transform: `rotate(-90 12 ${M.top + ph / 2})`, "text-anchor": "middle", class: "axis-label" }, yLabel));
  return { x, y, root };
}

function throughput(blocks: BlockSummary[]): HTMLElement {
  const asc = [...blocks].sort((a, b) => a.number - b.number);
  const first = asc[0];
  const last = asc[asc.length - 1];
  if (!first || !last) return h("p", { class: "empty-state" }, "No block yet.");
  const total = asc.reduce((s, b) => s + b.txCount, 0);
  const minutes = (last.createdAt - first.createdAt) / 60;
  const max = Math.max(1, ...asc.map((b) => b.txCount));
  const f = frame(
    "Transactions per block",
    `Bars: transactions in each of blocks ${first.number} to ${last.number}.`,
    [first.number - 0.5, last.number + 0.5],
    max,
    "block",
    "transactions",
    (v) => String(v),
  );
  const pw = W - M.left - M.right;
  const bw = Math.max(2, Math.min(28, (pw / Math.max(1, last.number - first.number + 1)) * 0.7));
  for (const b of asc) {
    const y = f.y(b.txCount);
    const rect = svg("rect", { x: f.x(b.number) - bw / 2, y, width: bw, height: Math.max(0, f.y(0) - y), class: "bar", "data-block": b.number });
    rect.append(svg("title", {}, `Block ${b.number}: ${b.txCount} transaction${b.txCount === 1 ? "" : "s"}`));
    f.root.append(rect);
  }
  const rate = minutes > 0 ? `${(total / minutes).toFixed(2)} transactions per minute` : "one block so far";
  return h(
    "figure",
    { "data-testid": "chart-throughput" },
    f.root,
    h("figcaption", null, `${total} transactions in ${asc.length} blocks (#${first.number}–#${last.number}) over ${duration(minutes * 60)}: ${rate}.`),
  );
}

/** Seconds from a block's seal to its stage `s` on each chain (null while not reached). */
function latency(b: BlockSummary, chain: number, s: (typeof L1_STAGES)[number]): number | null {
  const c = b.chains.find((x) => x.chain === chain);
  const r = c?.l1[s];
  if (!r) return null;
  return Math.max(0, r.at / 1000 - b.createdAt);
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? null) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

function latencyChart(blocks: BlockSummary[]): HTMLElement {
  const asc = [...blocks].sort((a, b) => a.number - b.number);
  const chains = [...new Set(asc.flatMap((b) => b.chains.map((c) => c.chain)))].sort((a, b) => a - b);
  const series = chains.map((c) => ({
    chain: c,
    points: asc.map((b) => [b.number, latency(b, c, "executed")] as const).filter((p): p is readonly [number, number] => p[1] !== null),
  }));
  const all = series.flatMap((s) => s.points.map((p) => p[1]));
  const first = asc[0];
  const last = asc[asc.length - 1];
  if (!first || !last || all.length === 0) {
    return h("p", { class: "empty-state", "data-testid": "chart-latency" }, "No block executed yet: the latency chart appears with the first executed block.");
  }
  const f = frame(
    "Seconds from seal to executed, per chain",
    `Lines: for each chain, seconds from each block's seal to its execution on that chain, blocks ${first.number} to ${last.number}.`,
    [first.number, last.number],
    Math.max(...all),
    "block",
    "seconds",
    (v) => String(v),
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] ?? "#333";
    const d = s.points.map((p, j) => `${j ? "L" : "M"}${f.x(p[0]).toFixed(1)},${f.y(p[1]).toFixed(1)}`).join(" ");
    if (s.points.length > 1) f.root.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": DASHES[i % DASHES.length] ?? "" }));
    for (const p of s.points) {
      const dot = svg("circle", { cx: f.x(p[0]), cy: f.y(p[1]), r: 3.5, fill: color });
      dot.append(svg("title", {}, `Block ${p[0]} on chain ${s.chain}: executed ${duration(p[1])} after sealing`));
      f.root.append(dot);
    }
  });
  const legend = h(
    "ul",
    { class: "legend" },
    series.map((s, i) =>
      h(
        "li",
        null,
        (() => {
          const sw = svg("svg", { width: 28, height: 10, "aria-hidden": "true" });
          sw.append(svg("line", { x1: 0, x2: 28, y1: 5, y2: 5, stroke: COLORS[i % COLORS.length] ?? "#333", "stroke-width": 3, "stroke-dasharray": DASHES[i % DASHES.length] ?? "" }));
          return sw;
        })(),
        ` Chain ${s.chain}`,
      ),
    ),
  );
  return h("figure", { "data-testid": "chart-latency" }, f.root, legend, h("figcaption", null, "Each point: one block, seconds from its seal to its execution on that chain (hover for the figure)."));
}

function latencyTable(blocks: BlockSummary[]): HTMLElement {
  const chains = [...new Set(blocks.flatMap((b) => b.chains.map((c) => c.chain)))].sort((a, b) => a - b);
  return table(
    "Median (and slowest) seconds from seal to each stage, per chain",
    ["Chain", ...L1_STAGES.map((s) => `Sealed → ${s}`)],
    chains.map((c) => ({
      testid: `latency-${c}`,
      cells: [
        h("span", { class: "chain-tag" }, `Chain ${c}`),
        ...L1_STAGES.map((s) => {
          const xs = blocks.map((b) => latency(b, c, s)).filter((v): v is number => v !== null);
          const m = median(xs);
          return m === null ? h("span", { class: "muted" }, "—") : h("span", { class: "num" }, duration(m), h("span", { class: "muted small" }, ` (max ${duration(Math.max(...xs))}, ${xs.length} blocks)`));
        }),
      ],
    })),
  );
}

export function render(page: Page): void {
  const body = h("div", { "aria-live": "polite" }, loading());
  const stale = h("div");
  fill(page.main, heading("Charts", "The newest 100 blocks."), stale, body);
  let loaded = false;
  let lastKey = "";
  const refresh = async () => {
    let blocks: BlockSummary[];
    try {
      blocks = await call<BlockSummary[]>("rollup_blocks", [null, 100]);
    } catch (e) {
      if (!page.alive) return;
      if (loaded) staleNote(stale, e);
      else fill(body, errorBox(e, "Could not load the blocks"));
      return;
    }
    if (!page.alive) return;
    loaded = true;
    staleNote(stale, null);
    const key = JSON.stringify(blocks);
    if (key === lastKey) return;
    lastKey = key;
    fill(
      body,
      h("section", { class: "card", "aria-labelledby": "tp-h" }, h("h2", { id: "tp-h" }, "Throughput"), throughput(blocks)),
      h("section", { class: "card", "aria-labelledby": "lat-h" }, h("h2", { id: "lat-h" }, "Stage latency"), latencyChart(blocks), latencyTable(blocks)),
    );
  };
  page.live(refresh, 5000)();
}
