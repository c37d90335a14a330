// #/account/<address-or-id> — an account on every chain: nonce, key, balances; recent
// transactions. Refreshed on every block notification.

import { alertBox, blockLink, facts, fill, h, hash, heading, loading, table, txLink } from "../dom";
import { isZeroHex, kindLabel, LP_BASE } from "../format";
import { amount, tokenMeta, tokens, type Tokens } from "../data";
import { call } from "../rpc";
import { errorBox, staleNote, type Page } from "../page";
import type { AccountChain, AccountInfo } from "../types";

function chainCard(chain: number, a: AccountChain, toks: Tokens): HTMLElement {
  // Every registered token of the chain (zero when absent), then whatever else is held (LP shares).
  const ids = new Set<number>();
  for (const t of toks.values()) if (t.chain === chain) ids.add(t.token);
  for (const k of Object.keys(a.balances)) ids.add(Number(k));
  const sorted = [...ids].sort((x, y) => x - y);
  const keySet = !isZeroHex(a.pubkeyHash);
  return h(
    "section",
    { class: "card chain-card", "data-testid": `account-chain-${chain}`, "aria-labelledby": `acct-chain-${chain}` },
    h("h2", { id: `acct-chain-${chain}` }, `Chain ${chain}`),
    facts([
      ["Nonce", h("span", { class: "num", "data-testid": `nonce-${chain}` }, String(a.nonce))],
      [
        "L2 key",
        h(
          "span",
          { "data-testid": `key-${chain}`, "data-set": keySet ? "true" : "false" },
          keySet ? h("span", null, h("span", { class: "pill ok" }, "✓ Set"), " ", hash(a.pubkeyHash, { copy: true })) : h("span", { class: "pill warn" }, "✗ Not set"),
        ),
      ],
    ]),
    table(
      `Balances on chain ${chain}`,
      ["Token", "Balance"],
      sorted.map((t) => {
        const m = tokenMeta(toks, chain, t);
        return {
          cls: t >= LP_BASE ? "lp" : undefined,
          cells: [
            h("span", { class: "sym", title: m.lp ? `LP shares of pool ${t - LP_BASE} (base units)` : `token ${t} on chain ${chain}` }, m.symbol),
            amount(toks, chain, t, a.balances[String(t)] ?? "0", `balance-${chain}-${t}`),
          ],
        };
      }),
      { captionHidden: true, empty: "No balance." },
    ),
  );
}

export function render(page: Page): void {
  const q = page.params[0] ?? "";
  const isAddress = /^0x[0-9a-fA-F]{40}$/.test(q);
  const isId = /^\d{1,10}$/.test(q);
  if (!isAddress && !isId) {
    fill(page.main, heading("Account"), alertBox("warn", `“${q}” is not an address (0x and 40 hex digits) or an account id.`, "search-error"));
    return;
  }
  const head = heading(isAddress ? "Account" : `Account ${q}`, isAddress ? hash(q, { copy: true, full: true }) : null);
  const body = h("div", { class: "live", "aria-live": "polite" }, loading());
  const stale = h("div");
  fill(page.main, head, stale, body);

  let loaded = false;
  let lastKey = "";
  const refresh = async () => {
    let info: AccountInfo | null;
    let toks: Tokens;
    try {
      [info, toks] = await Promise.all([call<AccountInfo | null>("rollup_accountInfo", [q]), tokens()]);
    } catch (e) {
      if (!page.alive) return;
      if (loaded) staleNote(stale, e);
      else fill(body, errorBox(e, "Could not load the account"));
      return;
    }
    if (!page.alive) return;
    loaded = true;
    staleNote(stale, null);
    const key = JSON.stringify(info) + toks.size;
    if (key === lastKey) return;
    lastKey = key;
    if (!info) {
      fill(
        body,
        alertBox(
          "warn",
          isAddress ? h("span", null, "No account ", h("span", { class: "mono" }, q), " is known to this node.") : `No account with id ${q} is known to this node.`,
          "search-error",
        ),
        h("p", { class: "muted" }, "An account exists once a deposit or transfer to its address is in a block; this page updates when one is."),
      );
      return;
    }
    const chains = Object.keys(info.chains).map(Number).sort((a, b) => a - b);
    fill(
      body,
      h(
        "section",
        { class: "card" },
        facts(
          [
            ["Address", h("span", { "data-testid": "account-address" }, hash(info.address, { copy: true, full: true }))],
            ["Account id", h("span", { class: "num", "data-testid": "account-id" }, String(info.id))],
          ],
          "account-facts",
        ),
      ),
      h("div", { class: "chain-grid" }, chains.map((c) => chainCard(c, info.chains[String(c)] as AccountChain, toks))),
      h(
        "section",
        { class: "card", "aria-labelledby": "acct-txs-h" },
        h("h2", { id: "acct-txs-h" }, "Recent transactions"),
        table(
          "Recent transactions of this account, newest first",
          ["Hash", "Kind", "Chain", "Block", "Position"],
          info.txs.map((t) => ({
            testid: `account-tx-${t.hash}`,
            cells: [txLink(t.hash, true), kindLabel(t.kind), h("span", { class: "chain-tag" }, `Chain ${t.chain}`), blockLink(t.block), String(t.position)],
          })),
          { captionHidden: true, empty: "No transaction in a block yet." },
        ),
      ),
    );
  };

  page.live(refresh, 1500)();
}
