// The explorer's entry: hash routing, the search box, the connection indicator.

import { fill, h, heading, tickTimes, alertBox } from "./dom";
import { parseQuery } from "./format";
import { Page } from "./page";
import { socket, type ConnState } from "./rpc";
import { onBlock } from "./data";
import * as account from "./pages/account";
import * as block from "./pages/block";
import * as blocks from "./pages/blocks";
import * as charts from "./pages/charts";
import * as network from "./pages/network";
import * as pools from "./pages/pools";
import * as search from "./pages/search";
import * as tx from "./pages/tx";

declare global {
  interface Window {
    /** Set once per page load: tests check that live updates came without a reload. */
    explorerBoot?: { id: string; at: number; count: number };
  }
}

type Render = (page: Page) => void;

interface Route {
  pattern: RegExp;
  render: Render;
  title: (m: string[]) => string;
  nav: string;
}

const routes: Route[] = [
  { pattern: /^\/?$/, render: network.render, title: () => "Network", nav: "network" },
  { pattern: /^\/blocks$/, render: blocks.render, title: () => "Blocks", nav: "blocks" },
  { pattern: /^\/block\/([^/]*)$/, render: block.render, title: (m) => `Block ${m[0] ?? ""}`, nav: "blocks" },
  { pattern: /^\/tx\/([^/]*)$/, render: tx.render, title: () => "Transaction", nav: "" },
  { pattern: /^\/account\/([^/]*)$/, render: account.render, title: () => "Account", nav: "" },
  { pattern: /^\/pools$/, render: pools.render, title: () => "Pools", nav: "pools" },
  { pattern: /^\/charts$/, render: charts.render, title: () => "Charts", nav: "charts" },
  { pattern: /^\/search\/?(.*)$/, render: search.render, title: () => "Search", nav: "" },
];

let current: Page | null = null;
let firstRoute = true;

function route(): void {
  const main = document.getElementById("main");
  if (!main) return;
  const raw = location.hash.replace(/^#/, "");
  const [path = "", qs = ""] = raw.split("?", 2);
  current?.close();
  current = null;
  let found: { r: Route; m: string[] } | null = null;
  for (const r of routes) {
    const m = r.pattern.exec(path);
    if (m) {
      found = { r, m: m.slice(1).map((x) => safeDecode(x ?? "")) };
      break;
    }
  }
  for (const a of document.querySelectorAll<HTMLAnchorElement>("nav.site a[data-nav]")) {
    if (found && a.dataset.nav === found.r.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const page = new Page(main, found?.m ?? [], new URLSearchParams(qs));
  current = page;
  main.dataset.route = found ? found.r.nav || path.split("/")[1] || "network" : "not-found";
  if (!found) {
    document.title = "Not found · Rollup explorer";
    fill(main, heading("Page not found"), alertBox("warn", `There is no page “${raw}”.`, "search-error"), h("p", null, h("a", { href: "#/" }, "Go to the network overview")));
  } else {
    document.title = `${found.r.title(found.m)} · Rollup explorer`;
    try {
      found.r.render(page);
    } catch (e) {
      fill(main, alertBox("error", `This page failed: ${(e as Error).message ?? String(e)}`, "api-error"));
    }
  }
  if (!firstRoute) {
    window.scrollTo(0, 0);
    main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
  }
  firstRoute = false;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function setupSearch(): void {
  const form = document.getElementById("search") as HTMLFormElement | null;
  const input = document.getElementById("search-input") as HTMLInputElement | null;
  if (!form || !input) return;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const target = search.routeFor(parseQuery(input.value));
    if (location.hash === target) route();
    else location.hash = target;
    input.select();
  });
}

function setupIndicator(): void {
  const el = document.getElementById("conn");
  if (!el) return;
  const show = (s: ConnState) => {
    el.dataset.state = s;
    const text = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" }[s];
    el.title = s === "live" ? "Connected to the node: pages update live" : "Not connected to the node's WebSocket: retrying";
    fill(el, h("span", { class: "dot", "aria-hidden": "true" }), h("span", { class: "conn-text" }, text));
  };
  show(socket.state);
  socket.onState(show);
}

function boot(): void {
  const prev = window.explorerBoot;
  window.explorerBoot = { id: Math.random().toString(36).slice(2), at: Date.now(), count: (prev?.count ?? 0) + 1 };
  setupIndicator();
  setupSearch();
  document.querySelector("[data-skip]")?.addEventListener("click", (e) => {
    e.preventDefault();
    document.getElementById("main")?.focus();
  });
  // One block subscription for the whole app; it also opens the socket.
  onBlock(() => {});
  socket.start();
  setInterval(() => tickTimes(), 5000);
  window.addEventListener("hashchange", route);
  route();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
