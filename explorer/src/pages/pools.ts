// #/pools — every cross-chain pool once, with both halves, price, LP supply, fee, and a quote box.

import { fill, h, heading, loading, table } from "../dom";
import { bps, formatUnits, parseUnits, ratio } from "../format";
import { amount, tokenMeta, tokens, type Tokens } from "../data";
import { call } from "../rpc";
import { errorBox, errorMessage, staleNote, type Page } from "../page";
import type { Network, PoolHalf, Quote } from "../types";

interface Half extends PoolHalf {
  chain: number;
}

/** Pool id → its halves (one per chain), from every chain's `rollup_pools`. */
export function groupPools(perChain: { chain: number; pools: PoolHalf[] }[]): Map<number, Half[]> {
  const out = new Map<number, Half[]>();
  for (const { chain, pools } of perChain) {
    for (const p of pools) {
      const list = out.get(p.pool) ?? [];
      if (!list.some((x) => x.chain === chain)) list.push({ ...p, chain });
      out.set(p.pool, list);
    }
  }
  for (const list of out.values()) list.sort((a, b) => a.chain - b.chain);
  return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
}

function label(toks: Tokens, chain: number, token: number): string {
  return `${tokenMeta(toks, chain, token).symbol} on chain ${chain}`;
}

function info(id: number, halves: Half[], toks: Tokens): HTMLElement {
  const [a, b] = halves;
  const price =
    a && b
      ? (() => {
          const ma = tokenMeta(toks, a.chain, a.token);
          const mb = tokenMeta(toks, b.chain, b.token);
          return h(
            "p",
            { class: "price", "data-testid": `price-${id}` },
            `1 ${ma.symbol} = ${ratio(b.reserve, mb.decimals, a.reserve, ma.decimals)} ${mb.symbol}`,
            h("span", { class: "muted" }, " · "),
            `1 ${mb.symbol} = ${ratio(a.reserve, ma.decimals, b.reserve, mb.decimals)} ${ma.symbol}`,
            h("span", { class: "muted small" }, " (reserve ratio)"),
          );
        })()
      : h("p", { class: "muted" }, "Only one half of this pool is on a connected chain.");
  return h(
    "div",
    { class: "pool-info" },
    table(
      `Halves of pool ${id}`,
      ["Chain", "Token", "Reserve", "LP supply", "Swap fee"],
      halves.map((x) => ({
        testid: `pool-${id}-half-${x.chain}`,
        cells: [
          h("span", { class: "chain-tag" }, `Chain ${x.chain}`),
          h("span", { class: "sym" }, tokenMeta(toks, x.chain, x.token).symbol),
          amount(toks, x.chain, x.token, x.reserve, `reserve-${id}-${x.chain}`),
          h("span", { class: "num", "data-testid": `supply-${id}-${x.chain}`, title: "LP shares (base units)" }, formatUnits(x.supply, 0)),
          h("span", { "data-testid": `fee-${id}-${x.chain}` }, bps(x.feeBps)),
        ],
      })),
      { captionHidden: true },
    ),
    price,
  );
}

function quoteBox(id: number, halves: Half[], toks: Tokens, page: Page): HTMLElement {
  const uid = `q${id}`;
  const select = h(
    "select",
    { id: `${uid}-dir`, "data-testid": "quote-direction" },
    halves.map((x) => {
      const peer = halves.find((y) => y.chain === x.peerChain);
      return h("option", { value: String(x.chain) }, `${label(toks, x.chain, x.token)} → ${peer ? label(toks, peer.chain, peer.token) : label(toks, x.peerChain, x.peerToken)}`);
    }),
  );
  const unitLabel = h("span");
  const input = h("input", {
    id: `${uid}-amount`,
    type: "text",
    inputmode: "decimal",
    autocomplete: "off",
    placeholder: "0.0",
    "data-testid": "quote-amount",
    "aria-describedby": `${uid}-result`,
  });
  const out = h("output", { id: `${uid}-result`, for: `${uid}-amount ${uid}-dir`, class: "quote-out", "data-testid": "quote-out", "data-state": "empty" }, "Enter an amount to see what a swap pays now.");
  const err = h("p", { class: "quote-error", "data-testid": "quote-error", role: "alert", hidden: true });

  let seq = 0;
  const half = () => halves.find((x) => String(x.chain) === select.value) ?? halves[0];
  const setUnit = () => {
    const x = half();
    unitLabel.textContent = x ? `Amount in ${tokenMeta(toks, x.chain, x.token).symbol}` : "Amount";
  };
  setUnit();

  const showError = (msg: string) => {
    err.textContent = msg;
    err.hidden = false;
    out.dataset.state = "error";
    out.removeAttribute("data-amount-out");
    out.textContent = "—";
  };

  const quote = async () => {
    const my = ++seq;
    const x = half();
    if (!x) return;
    const m = tokenMeta(toks, x.chain, x.token);
    const parsed = parseUnits(input.value, m.decimals, m.symbol);
    if (!parsed.ok) {
      showError(parsed.error);
      input.setAttribute("aria-invalid", "true");
      return;
    }
    input.removeAttribute("aria-invalid");
    err.hidden = true;
    out.dataset.state = "pending";
    out.textContent = "Quoting…";
    try {
      const q = await call<Quote>("rollup_quote", [x.chain, id, parsed.value.toString()]);
      if (my !== seq || !page.alive) return;
      const mo = tokenMeta(toks, q.peerChain, q.peerToken);
      out.dataset.state = "ok";
      out.dataset.amountIn = parsed.value.toString();
      out.dataset.amountOut = q.amountOut;
      fill(
        out,
        "You receive ",
        h("strong", { class: "num", "data-testid": "quote-out-units" }, formatUnits(q.amountOut, mo.decimals)),
        " ",
        h("span", { class: "sym" }, mo.symbol),
        ` on chain ${q.peerChain}`,
        h("span", { class: "muted small" }, ` (pool fee ${bps(q.feeBps)}; the amount the pool pays now, before any other swap)`),
      );
    } catch (e) {
      if (my !== seq || !page.alive) return;
      showError(errorMessage(e));
    }
  };

  let debounce: ReturnType<typeof setTimeout> | null = null;
  page.onCleanup(() => {
    if (debounce) clearTimeout(debounce);
  });
  input.addEventListener("input", () => {
    if (debounce) clearTimeout(debounce);
    if (input.value.trim() === "") return;
    debounce = setTimeout(() => void quote(), 500);
  });
  select.addEventListener("change", () => {
    setUnit();
    if (input.value.trim() !== "") void quote();
  });

  return h(
    "form",
    {
      class: "quote",
      "aria-labelledby": `${uid}-h`,
      onsubmit: (e: Event) => {
        e.preventDefault();
        if (debounce) clearTimeout(debounce);
        void quote();
      },
    },
    h("h3", { id: `${uid}-h` }, "Quote a swap"),
    h(
      "div",
      { class: "quote-row" },
      h("label", { for: `${uid}-dir` }, "Direction", select),
      h("label", { for: `${uid}-amount` }, unitLabel, input),
      h("button", { type: "submit", "data-testid": "quote-submit" }, "Quote"),
    ),
    err,
    out,
  );
}

export function render(page: Page): void {
  const body = h("div", null, loading());
  const stale = h("div");
  fill(page.main, heading("Pools", "Cross-chain liquidity pools: each pool's two halves live on two chains."), stale, body);

  const cards = new Map<number, { infoSlot: HTMLElement; key: string }>();
  let loaded = false;
  const refresh = async () => {
    let grouped: Map<number, Half[]>;
    let toks: Tokens;
    try {
      const [net, tk] = await Promise.all([call<Network>("rollup_network"), tokens()]);
      toks = tk;
      const perChain = await Promise.all(net.chains.map(async (c) => ({ chain: c.chain, pools: await call<PoolHalf[]>("rollup_pools", [c.chain]) })));
      grouped = groupPools(perChain);
    } catch (e) {
      if (!page.alive) return;
      if (loaded) staleNote(stale, e);
      else fill(body, errorBox(e, "Could not load the pools"));
      return;
    }
    if (!page.alive) return;
    staleNote(stale, null);
    if (!loaded) {
      loaded = true;
      body.replaceChildren();
    }
    if (grouped.size === 0 && cards.size === 0) {
      fill(body, h("p", { class: "empty-state", "data-testid": "no-pools" }, "No pool exists yet."));
      return;
    }
    body.querySelector('[data-testid="no-pools"]')?.remove();
    for (const [id, halves] of grouped) {
      const key = JSON.stringify(halves);
      const have = cards.get(id);
      if (have) {
        if (have.key !== key) {
          fill(have.infoSlot, info(id, halves, toks));
          have.key = key;
        }
        continue;
      }
      const [a, b] = halves;
      const title = a && b ? `${label(toks, a.chain, a.token)} ⇄ ${label(toks, b.chain, b.token)}` : a ? label(toks, a.chain, a.token) : "";
      const infoSlot = h("div", { "aria-live": "polite" }, info(id, halves, toks));
      body.append(
        h(
          "section",
          { class: "card pool", "data-testid": `pool-${id}`, "aria-labelledby": `pool-h-${id}` },
          h("h2", { id: `pool-h-${id}` }, `Pool ${id}`, h("span", { class: "pool-pair" }, title)),
          infoSlot,
          quoteBox(id, halves, toks, page),
        ),
      );
      cards.set(id, { infoSlot, key });
    }
  };

  page.live(refresh, 3000)();
}
