// #/search/<text> — what the search box could not place.

import { alertBox, fill, h, heading } from "../dom";
import { parseQuery, type Query } from "../format";
import type { Page } from "../page";

/** The route a search goes to: a page for what it names, or this page's explanation. */
export function routeFor(q: Query): string {
  switch (q.kind) {
    case "tx":
      return `#/tx/${q.hash}`;
    case "account":
      return `#/account/${q.query}`;
    case "block":
      return `#/block/${q.number}`;
    case "invalid":
      return `#/search/${encodeURIComponent(q.text)}`;
  }
}

export function render(page: Page): void {
  const text = page.params[0] ?? "";
  const q = parseQuery(text);
  if (q.kind !== "invalid") {
    location.replace(routeFor(q));
    return;
  }
  fill(
    page.main,
    heading("Search"),
    alertBox(
      "warn",
      text === "" ? "Enter a transaction hash, an address, an account id or a block number." : `“${text}” is not a transaction hash, address, account id or block number.`,
      "search-error",
    ),
    h(
      "div",
      { class: "card help" },
      h("h2", null, "What you can search for"),
      h(
        "ul",
        null,
        h("li", null, h("code", null, "0x"), " and 64 hex digits: a transaction hash"),
        h("li", null, h("code", null, "0x"), " and 40 hex digits: an account's address"),
        h("li", null, "decimal digits, e.g. ", h("code", null, "7"), ": an account id"),
        h("li", null, h("code", null, "block 12"), " or ", h("code", null, "#12"), ": a block"),
      ),
    ),
  );
}
