// #/blocks[?before=N] — blocks newest first, paged, each chain's stages live.

import { blockLink, fill, h, hash, heading, loading, stageTrack, table, timeAgo } from "../dom";
import { call } from "../rpc";
import { errorBox, staleNote, type Page } from "../page";
import type { BlockSummary } from "../types";

const PAGE_SIZE = 20;

export function render(page: Page): void {
  const raw = page.query.get("before");
  const before = raw !== null && /^\d+$/.test(raw) ? Number(raw) : null;
  const list = h("section", { class: "card live", "aria-live": "polite", "aria-label": "Blocks" }, loading());
  const stale = h("div");
  const pager = h("nav", { class: "pager", "aria-label": "Block pages" });
  fill(
    page.main,
    heading("Blocks", before === null ? "Newest first; stages update live." : `Blocks before #${before}; stages update live.`),
    stale,
    list,
    pager,
  );

  let loaded = false;
  const refresh = async () => {
    let blocks: BlockSummary[];
    let newest: number;
    try {
      const [bs, top] = await Promise.all([
        call<BlockSummary[]>("rollup_blocks", [before, PAGE_SIZE]),
        before === null ? Promise.resolve(null) : call<BlockSummary[]>("rollup_blocks", [null, 1]),
      ]);
      blocks = bs;
      newest = top?.[0]?.number ?? bs[0]?.number ?? 0;
    } catch (e) {
      if (!page.alive) return;
      if (loaded) staleNote(stale, e);
      else fill(list, errorBox(e, "Could not load the blocks"));
      return;
    }
    if (!page.alive) return;
    loaded = true;
    staleNote(stale, null);
    fill(
      list,
      table(
        before === null ? "Newest blocks" : `Blocks before #${before}`,
        ["Block", "Age", "Txs", "Final root", "Stages per chain"],
        blocks.map((b) => ({
          testid: `block-row-${b.number}`,
          cells: [
            blockLink(b.number),
            timeAgo(b.createdAt * 1000),
            h("span", { class: "num", "data-testid": "tx-count" }, String(b.txCount)),
            hash(b.finalRoot, { copy: false }),
            h("div", { class: "tracks" }, b.chains.map((c) => stageTrack(c.chain, c.stage))),
          ],
        })),
        { captionHidden: true, empty: before === null ? "No block yet." : "No block before this one." },
      ),
    );
    const first = blocks[0]?.number;
    const last = blocks[blocks.length - 1]?.number;
    const links: HTMLElement[] = [];
    if (before !== null) {
      const newer = (first ?? before) + PAGE_SIZE + 1;
      links.push(h("a", { href: newer > newest ? "#/blocks" : `#/blocks?before=${newer}`, rel: "prev", "data-testid": "newer" }, "← Newer"));
      links.push(h("a", { href: "#/blocks" }, "Newest"));
    }
    if (last !== undefined && last > 1) {
      links.push(h("a", { href: `#/blocks?before=${last}`, rel: "next", "data-testid": "older" }, "Older →"));
    }
    fill(pager, links);
  };

  page.live(refresh, 1000)();
}
