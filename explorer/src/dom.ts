// Small DOM helpers and the components every page shares (links, hashes, stage badges, alerts).

import { age, shortHash, timestamp } from "./format";
import { L1_STAGES, STAGES, type Stage } from "./types";

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h("a", {href: "#/"}, "text")`: an element; `on…` attributes become listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2), v);
      } else if (k === "class") {
        el.className = String(v);
      } else {
        el.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** Replaces `el`'s content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

const SVG_NS = "http://www.w3.org/2000/svg";
export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** Copies `text`; works on plain-http pages too (no async clipboard there). */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall back below
  }
  const area = h("textarea", { class: "sr-only", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

function copyIcon(): SVGElement {
  const icon = svg("svg", { viewBox: "0 0 16 16", width: 12, height: 12, "aria-hidden": "true", fill: "none", stroke: "currentColor", "stroke-width": 1.5 });
  icon.append(svg("rect", { x: 5.5, y: 5.5, width: 8, height: 8, rx: 1.5 }), svg("path", { d: "M10.5 3.5v-1a1 1 0 0 0-1-1h-6a1 1 0 0 0-1 1v6a1 1 0 0 0 1 1h1" }));
  return icon;
}

export function copyButton(text: string, what = "value"): HTMLButtonElement {
  const b = h("button", { type: "button", class: "copy", title: `Copy ${what}`, "aria-label": `Copy ${what}` }, copyIcon());
  b.addEventListener("click", async (e) => {
    e.preventDefault();
    e.stopPropagation();
    const ok = await copyText(text);
    b.textContent = ok ? "✓" : "✗";
    b.setAttribute("aria-label", ok ? "Copied" : "Copy failed");
    setTimeout(() => {
      b.replaceChildren(copyIcon());
      b.setAttribute("aria-label", `Copy ${what}`);
    }, 1200);
  });
  return b;
}

/** A shortened hash (full value on hover and for copy), optionally a link. */
export function hash(value: string | null | undefined, opts: { href?: string; copy?: boolean; full?: boolean; testid?: string } = {}): HTMLElement {
  if (!value) return h("span", { class: "muted" }, "—");
  const text = opts.full ? value : shortHash(value);
  const inner = opts.href
    ? h("a", { href: opts.href, class: "mono", title: value, "data-testid": opts.testid }, text)
    : h("span", { class: "mono", title: value, "data-testid": opts.testid }, text);
  if (opts.copy === false) return inner;
  return h("span", { class: "hash" }, inner, copyButton(value, "hash"));
}

export function txLink(txHash: string, copy = false): HTMLElement {
  return hash(txHash, { href: `#/tx/${txHash}`, copy });
}

export function blockLink(n: number): HTMLAnchorElement {
  return h("a", { href: `#/block/${n}`, class: "num" }, `#${n}`);
}

export function accountLink(addressOrId: string | number): HTMLElement {
  if (typeof addressOrId === "number") {
    return h("a", { href: `#/account/${addressOrId}`, title: `Account id ${addressOrId}` }, `account ${addressOrId}`);
  }
  return hash(addressOrId, { href: `#/account/${addressOrId}` });
}

/** A relative time that the page's ticker keeps current; absolute time on hover. */
export function timeAgo(ms: number): HTMLTimeElement {
  return h("time", { datetime: new Date(ms).toISOString(), title: timestamp(ms), "data-ms": ms }, age(ms));
}

/** Re-renders every relative time on the page. */
export function tickTimes(root: ParentNode = document): void {
  for (const t of root.querySelectorAll<HTMLTimeElement>("time[data-ms]")) {
    const ms = Number(t.dataset.ms);
    const text = age(ms);
    if (t.textContent !== text) t.textContent = text;
  }
}

export function stageIndex(stage: Stage): number {
  return STAGES.indexOf(stage);
}

const STAGE_LABEL: Record<Stage, string> = {
  sealed: "Sealed",
  committed: "Committed",
  proven: "Proven",
  synced: "Synced",
  executed: "Executed",
};

/**
 * One chain's progress: the four L1 stages as badges, lit (✓) up to `stage`, and the stage's
 * name (`data-testid="stage-<chain>"`, text = the API's stage name).
 */
export function stageTrack(chain: number, stage: Stage | null, none = "unknown"): HTMLElement {
  const at = stage ? stageIndex(stage) : -1;
  const badges = L1_STAGES.map((s) => {
    const on = at >= stageIndex(s);
    return h(
      "li",
      { class: `badge ${on ? "on" : "off"} st-${s}`, title: on ? `${STAGE_LABEL[s]} on chain ${chain}` : `Not ${s} on chain ${chain} yet` },
      h("span", { "aria-hidden": "true" }, on ? "✓ " : "○ "),
      STAGE_LABEL[s],
    );
  });
  return h(
    "div",
    { class: "track", "data-chain": chain, "data-stage": stage ?? none },
    h("span", { class: "chain-tag" }, `Chain ${chain}`),
    h("ol", { class: "badges", "aria-label": `L1 stages on chain ${chain}` }, badges),
    h(
      "span",
      { class: `stage-name st-${stage ?? none}`, "data-testid": `stage-${chain}` },
      stage ?? none,
    ),
  );
}

export function alertBox(kind: "error" | "warn" | "info", message: Child, testid?: string, title?: string): HTMLElement {
  const t = title ?? (kind === "error" ? "Error" : "");
  return h(
    "div",
    { class: `alert ${kind}`, role: kind === "error" ? "alert" : "status", "data-testid": testid },
    t ? h("strong", null, `${t}: `) : null,
    message,
  );
}

/** A page heading with an optional subtitle; focusable so navigation can move focus to it. */
export function heading(title: Child, subtitle?: Child): HTMLElement {
  return h(
    "div",
    { class: "page-head" },
    h("h1", { tabindex: "-1" }, title),
    subtitle ? h("p", { class: "subtitle" }, subtitle) : null,
  );
}

/** A definition list from label → value pairs. */
export function facts(rows: ([string, Child] | [string, Child, "wide"])[], testid?: string): HTMLElement {
  return h(
    "dl",
    { class: "facts", "data-testid": testid },
    rows.map(([k, v, wide]) => h("div", { class: wide ? "fact wide" : "fact" }, h("dt", null, k), h("dd", null, v))),
  );
}

/** A table: header cells are `<th scope="col">`; a row's first cell `<th scope="row">`. */
export function table(
  caption: string,
  headers: string[],
  rows: { cells: Child[]; testid?: string; cls?: string }[],
  opts: { captionHidden?: boolean; empty?: string; testid?: string } = {},
): HTMLElement {
  const body = rows.length
    ? rows.map((r) =>
        h(
          "tr",
          { "data-testid": r.testid, class: r.cls },
          r.cells.map((c, i) => (i === 0 ? h("th", { scope: "row" }, c) : h("td", null, c))),
        ),
      )
    : [h("tr", null, h("td", { colspan: headers.length, class: "empty" }, opts.empty ?? "Nothing yet."))];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "data-testid": opts.testid },
      h("caption", { class: opts.captionHidden ? "sr-only" : null }, caption),
      h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", null, body),
    ),
  );
}

export function loading(what = "Loading…"): HTMLElement {
  return h("p", { class: "loading", role: "status" }, what);
}
