// The explorer in headless Chromium against a live devnet, as a user would use it. The Rust test
// starts the devnet and passes everything through the environment:
//   EXPLORER_URL      the node's API server (serves the explorer and answers JSON-RPC)
//   WALLET_BIN        the rollup-wallet CLI;  WALLET_KEY  alice's Ethereum key (L2 key set, ETH on chain 1)
//   CAROL             another L2 address (the transfer's recipient)
//   DEPOSIT_RPC, DEPOSIT_CONTRACT   chain 3's L1 RPC and rollup contract (alice deposits there)
//   DEPOSIT_WEI, TRANSFER_WEI       optional amounts (default 10^15 wei each)
//   SCREENSHOTS       directory for <page>.png
//   CHROMIUM          optional, default /usr/bin/chromium
//
// The deposit and the transfer start together so that both ride the same blocks; the other pages
// are checked while those blocks go through their stages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

const env = process.env;
const REQUIRED = ["EXPLORER_URL", "WALLET_BIN", "WALLET_KEY", "CAROL", "DEPOSIT_RPC", "DEPOSIT_CONTRACT", "SCREENSHOTS"];
const missing = REQUIRED.filter((k) => !env[k]);
const skip = missing.length ? `needs a devnet (the Rust test sets ${missing.join(", ")})` : false;

const URL_ = env.EXPLORER_URL ?? "";
/** The Rust test may pass the amounts (and checks the balances with them afterwards). */
const DEPOSIT_WEI = BigInt(env.DEPOSIT_WEI ?? "1000000000000000");
const TRANSFER_WEI = BigInt(env.TRANSFER_WEI ?? "1000000000000000");
/** Blocks take 1–2 minutes each with real proofs. */
const LIVE_TIMEOUT = 6 * 60_000;
const STAGES = ["mempool", "sealed", "committed", "proven", "synced", "executed"];

let browser;
/** Uncaught page errors, from every page. */
const pageErrors = [];
const shared = {
  alice: "",
  chains: [],
  balanceBefore: null,
  txHash: "",
  depositDone: null,
  startedAt: 0,
  /** page → its load-event count and the marker set after its first load. */
  pages: new Map(),
};

async function rpc(method, params = []) {
  const r = await fetch(URL_, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await r.json();
  if (body.error) throw new Error(`${method}: ${body.error.message} (${body.error.code})`);
  return body.result;
}

function wallet(args, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    execFile(
      env.WALLET_BIN,
      ["--api", URL_, ...args],
      { env: { ...env, ROLLUP_WALLET_KEY: env.WALLET_KEY }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`rollup-wallet ${args[0]} failed (${err.code ?? err.signal}): ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** A new page that counts its load events (a reload or navigation would add one). */
async function newPage(name) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const info = { name, loads: 0 };
  page.on("load", () => info.loads++);
  page.on("pageerror", (e) => pageErrors.push(`${name}: ${e.message}`));
  shared.pages.set(page, info);
  return page;
}

async function open(page, hash) {
  await page.goto(new URL(hash, URL_).href);
  await page.waitForSelector("main h1");
}

/** Marks the window after the first load: a reload would lose the mark and the boot id. */
async function mark(page) {
  const boot = await page.evaluate(() => {
    window.__testMark = "still the same document";
    return window.explorerBoot;
  });
  assert.ok(boot && boot.id, "the explorer sets window.explorerBoot once at boot");
  shared.pages.get(page).boot = boot.id;
}

async function assertNoReload(page) {
  const info = shared.pages.get(page);
  const now = await page.evaluate(() => ({ mark: window.__testMark, boot: window.explorerBoot }));
  assert.equal(info.loads, 1, `the ${info.name} page loaded ${info.loads} times: it must update without a reload`);
  assert.equal(now.mark, "still the same document", `the ${info.name} page lost the test's mark on window: it was reloaded`);
  assert.equal(now.boot.id, info.boot, `the ${info.name} page booted again`);
  assert.equal(now.boot.count, 1, `the ${info.name} page's boot counter moved`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(env.SCREENSHOTS, `${name}.png`), fullPage: true });
}

const text = (page, sel) => page.locator(sel).first().innerText();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Token units (as the page shows them, maybe with "," grouping) → base units. */
function toBase(units, decimals) {
  const plain = units.replace(/,/g, "").trim();
  const m = /^(\d+)(?:\.(\d+))?$/.exec(plain);
  assert.ok(m, `"${units}" is an amount`);
  const frac = m[2] ?? "";
  assert.ok(frac.length <= decimals, `"${units}" has at most ${decimals} decimals`);
  return BigInt(m[1] + frac.padEnd(decimals, "0"));
}

function toUnits(base, decimals) {
  const s = base.toString().padStart(decimals + 1, "0");
  const int = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, "");
  return frac ? `${int}.${frac}` : int;
}

before(async () => {
  if (skip) return;
  await mkdir(env.SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: env.CHROMIUM ?? "/usr/bin/chromium" });
});

after(async () => {
  await browser?.close();
});

let network, accountPage, txPage, otherPage;

test("network page: every chain with its EVM chain id, auditor, oracles, mempool", { skip, timeout: 120_000 }, async () => {
  const api = await rpc("rollup_network");
  shared.chains = api.chains.map((c) => c.chain).sort((a, b) => a - b);
  assert.deepEqual(shared.chains, [1, 2, 3], "the devnet connects chains 1, 2 and 3");
  network = await newPage("network");
  await open(network, "#/");
  for (const c of shared.chains) {
    const row = network.locator(`[data-testid="chain-row-${c}"]`);
    await row.waitFor({ timeout: 30_000 });
    // The driver may not have read the chain's parameters yet: wait for the id (live refresh).
    await network.waitForFunction(
      (c) => /^\d+$/.test(document.querySelector(`[data-testid="evm-chain-id-${c}"]`)?.textContent ?? ""),
      c,
      { timeout: 60_000, polling: 500 },
    );
    const now = await rpc("rollup_network");
    const expected = now.chains.find((x) => x.chain === c).evmChainId;
    assert.equal(await text(network, `[data-testid="evm-chain-id-${c}"]`), String(expected), `chain ${c}'s EVM chain id as rollup_network says`);
    assert.match(await row.innerText(), new RegExp(`Chain ${c}`), `chain ${c}'s row names it`);
  }
  assert.match(await text(network, '[data-testid="oracle-threshold"]'), /^\d+ of \d+$|not read yet/, "the oracle threshold as k of n");
  assert.match(await text(network, '[data-testid="mempool-size"]'), /^\d+$/, "the mempool size");
  const auditor = await network.getAttribute('[data-testid="auditor-state"]', "data-state");
  assert.equal(auditor, api.auditor.state, "the auditor's state as rollup_network says");
  assert.equal(await network.locator('[data-testid="halted-banner"]').count(), api.halted ? 1 : 0, "a halted banner exactly when halted");
  await network.waitForSelector('[data-testid="conn"][data-state="live"]', { timeout: 20_000 });
  await shot(network, "network");
  await network.close();
});

test("alice's balance is read, then the deposit and the transfer start together", { skip, timeout: 180_000 }, async () => {
  const addr = (await wallet(["address"])).split("\n")[0] ?? "";
  const m = /^address (0x[0-9a-fA-F]{40})/.exec(addr);
  assert.ok(m, `rollup-wallet address prints "address 0x…" first (got ${JSON.stringify(addr)})`);
  shared.alice = m[1];

  accountPage = await newPage("account");
  await open(accountPage, `#/account/${shared.alice}`);
  const cell = accountPage.locator('[data-testid="balance-3-0"]');
  await cell.waitFor({ timeout: 30_000 });
  shared.balanceBefore = BigInt(await cell.getAttribute("data-base"));
  const info = await rpc("rollup_accountInfo", [shared.alice]);
  const apiBefore = BigInt(info.chains["3"].balances["0"] ?? "0");
  assert.equal(shared.balanceBefore, apiBefore, "the page shows alice's chain-3 ETH balance as rollup_accountInfo does");
  const shown = await text(accountPage, '[data-testid="balance-3-0"]');
  assert.equal(toBase(shown.replace(/\s*ETH$/, ""), 18), apiBefore, `the balance "${shown}" is in ETH units`);
  await mark(accountPage);

  shared.startedAt = Date.now();
  // Both at once: the deposit returns once mined on L1; the transfer once admitted.
  const deposit = wallet(["deposit", "--rpc", env.DEPOSIT_RPC, "--contract", env.DEPOSIT_CONTRACT, "--wei", DEPOSIT_WEI.toString()], 180_000);
  // The wallet takes amounts in token units (ETH: 18 decimals).
  const transfer = wallet(["transfer", "--chain", "1", "--to", env.CAROL, "--token", "0", "--amount", toUnits(TRANSFER_WEI, 18)], 120_000);
  shared.depositDone = deposit.then(() => true, (e) => e);
  const out = await transfer;
  const hash = out.split("\n")[0]?.trim() ?? "";
  assert.match(hash, /^0x[0-9a-f]{64}$/i, `the transfer prints its hash first (got ${JSON.stringify(out)})`);
  shared.txHash = hash.toLowerCase();

  txPage = await newPage("tx");
  await open(txPage, `#/tx/${shared.txHash}`);
  await txPage.waitForSelector('[data-testid="tx-status"]', { timeout: 30_000 });
  await mark(txPage);
  // Record every status the page shows, from now on, from inside the page.
  await txPage.evaluate(() => {
    const seen = [];
    window.__txHistory = seen;
    const read = () => {
      const status = document.querySelector('[data-testid="tx-status"]')?.getAttribute("data-status") ?? "";
      const stages = {};
      for (const el of document.querySelectorAll('[data-testid="tx-live"] [data-testid^="stage-"]')) {
        stages[el.getAttribute("data-testid").slice(6)] = el.textContent.trim();
      }
      const key = JSON.stringify({ status, stages });
      if (seen[seen.length - 1]?.key !== key) seen.push({ key, status, stages, at: Date.now() });
    };
    read();
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  const first = await txPage.evaluate(() => window.__txHistory[0]);
  assert.notEqual(first.status, "executed", "the transfer is seen before it is executed everywhere");
  assert.ok(["mempool", "sealed", "committed", "proven", "synced"].includes(first.status), `the new transfer shows as pending or in a block (got ${first.status})`);
  assert.equal(await txPage.getAttribute('[data-testid="tx-kind"]', "data-kind"), "transfer", "the tx page shows its kind");
  assert.equal(await txPage.getAttribute('[data-testid="tx-amount"]', "data-base"), TRANSFER_WEI.toString(), "the transfer's amount");
  const shownAmount = await text(txPage, '[data-testid="tx-amount"]');
  assert.match(shownAmount, / ETH$/, `the amount "${shownAmount}" with its symbol`);
  assert.equal(toBase(shownAmount.replace(/ ETH$/, ""), 18), TRANSFER_WEI, `the amount "${shownAmount}" in ETH units`);
  assert.equal((await txPage.getAttribute('[data-testid="tx-to"] a', "href")).toLowerCase(), `#/account/${env.CAROL.toLowerCase()}`, "the recipient links to her account page");
  assert.match(await txPage.getAttribute('[data-testid="tx-from"] a', "href"), /^#\/account\/\d+$/, "the sender links to its account page");
  assert.match(await text(txPage, '[data-testid="tx-fee"]'), /ETH$/, "the fee with its symbol");
});

test("pools page: a quote shows what rollup_quote returns, bad amounts are explained", { skip, timeout: 120_000 }, async () => {
  const tokens = await rpc("rollup_tokens");
  const decimals = (chain, token) => tokens.find((t) => t.chain === chain && t.token === token)?.decimals ?? 0;
  let pick = null;
  for (const c of shared.chains) {
    for (const p of await rpc("rollup_pools", [c])) {
      const peer = (await rpc("rollup_pools", [p.peerChain])).find((x) => x.pool === p.pool);
      if (!pick && BigInt(p.reserve) > 0n && peer && BigInt(peer.reserve) > 0n) pick = { chain: c, ...p };
    }
  }
  assert.ok(pick, "the devnet has a pool with liquidity in both halves (the quote check needs one)");
  otherPage = await newPage("other");
  await open(otherPage, "#/pools");
  const card = otherPage.locator(`[data-testid="pool-${pick.pool}"]`);
  await card.waitFor({ timeout: 30_000 });
  for (const half of [pick.chain, pick.peerChain]) {
    await card.locator(`[data-testid="pool-${pick.pool}-half-${half}"]`).waitFor();
  }
  await card.locator('[data-testid="quote-direction"]').selectOption(String(pick.chain));
  const inDec = decimals(pick.chain, pick.token);
  const amount = card.locator('[data-testid="quote-amount"]');
  const submit = card.locator('[data-testid="quote-submit"]');
  const error = card.locator('[data-testid="quote-error"]');
  for (const [input, why] of [
    ["abc", /not a number/],
    ["0", /more than zero/],
    [`1.${"1".repeat(inDec + 1)}`, inDec ? new RegExp(`has ${inDec} decimals`) : /no decimals/],
  ]) {
    await amount.fill(input);
    await submit.click();
    await error.waitFor({ state: "visible" });
    assert.match(await error.innerText(), why, `the quote box explains why ${JSON.stringify(input)} is refused`);
  }
  // A thousandth of the input half's reserve, typed in token units.
  const base = BigInt(pick.reserve) / 1000n > 0n ? BigInt(pick.reserve) / 1000n : 1n;
  await amount.fill(toUnits(base, inDec));
  await submit.click();
  const out = card.locator('[data-testid="quote-out"][data-state="ok"]');
  await out.waitFor({ timeout: 15_000 });
  assert.equal(await error.isVisible(), false, "no error for a good amount");
  const api = await rpc("rollup_quote", [pick.chain, pick.pool, base.toString()]);
  assert.equal(await out.getAttribute("data-amount-in"), base.toString(), "the page quoted the typed amount in base units");
  assert.equal(await out.getAttribute("data-amount-out"), api.amountOut, "the quoted output is rollup_quote's");
  const shownUnits = await card.locator('[data-testid="quote-out-units"]').innerText();
  assert.equal(toBase(shownUnits, decimals(api.peerChain, api.peerToken)), BigInt(api.amountOut), `the shown "${shownUnits}" is rollup_quote's ${api.amountOut} in units`);
  await shot(otherPage, "pools");
});

test("search: an unknown hash and a nonsense string give a message; good queries navigate", { skip, timeout: 60_000 }, async () => {
  const search = async (q) => {
    await otherPage.fill('[data-testid="search-input"]', q);
    await otherPage.click('[data-testid="search-submit"]');
  };
  const unknown = "0x" + randomBytes(32).toString("hex");
  await search(unknown);
  await otherPage.waitForFunction(() => location.hash.startsWith("#/tx/"));
  const e1 = otherPage.locator('[data-testid="search-error"]');
  await e1.waitFor({ timeout: 15_000 });
  assert.equal(await e1.innerText(), `No transaction ${unknown} is known to this node.`, "an unknown hash says so");

  await search("hello explorer");
  const e2 = otherPage.locator('[data-testid="search-error"]');
  await otherPage.waitForFunction(() => location.hash.startsWith("#/search/"));
  // The transaction page's message stays until the search page renders: wait for the search
  // page's own (or time out), then check its words.
  const explained = "“hello explorer” is not a transaction hash, address, account id or block number.";
  await otherPage
    .waitForFunction((want) => document.querySelector('[data-testid="search-error"]')?.innerText === want, explained, { timeout: 15_000 })
    .catch(() => {});
  assert.equal(await e2.innerText(), explained, "nonsense is explained");
  await shot(otherPage, "search-error");

  await search(shared.alice);
  await otherPage.waitForSelector('[data-testid="account-address"]', { timeout: 15_000 });
  assert.equal((await text(otherPage, '[data-testid="account-address"] .mono')).toLowerCase(), shared.alice.toLowerCase(), "an address opens its account");
  // The newest block: a node recovered from L1 holds no blocks before its snapshot.
  const newest = (await rpc("rollup_blocks", [null, 1]))[0].number;
  await search(`block ${newest}`);
  await otherPage.waitForSelector('[data-testid="final-root"]', { timeout: 15_000 });
  assert.equal(await otherPage.evaluate(() => location.hash), `#/block/${newest}`, `“block ${newest}” opens block ${newest}`);
});

test("deposit: alice's chain-3 balance grows by exactly the deposit, without a reload", { skip, timeout: LIVE_TIMEOUT + 60_000 }, async () => {
  assert.ok(accountPage, "the account page was opened before the deposit");
  const done = await shared.depositDone;
  assert.equal(done, true, `the deposit went through on L1: ${done}`);
  const before = shared.balanceBefore.toString();
  const left = Math.max(10_000, LIVE_TIMEOUT - (Date.now() - shared.startedAt));
  await accountPage
    .waitForFunction((b) => document.querySelector('[data-testid="balance-3-0"]')?.getAttribute("data-base") !== b, before, { timeout: left, polling: 500 })
    .catch(() => assert.fail(`alice's chain-3 ETH balance stayed ${before} for ${Math.round(LIVE_TIMEOUT / 60000)} minutes after the deposit`));
  const after = BigInt(await accountPage.getAttribute('[data-testid="balance-3-0"]', "data-base"));
  assert.equal(after - shared.balanceBefore, DEPOSIT_WEI, `the balance grew by exactly the deposit (${shared.balanceBefore} → ${after})`);
  const shown = await text(accountPage, '[data-testid="balance-3-0"]');
  assert.equal(toBase(shown.replace(/ ETH$/, ""), 18), after, `the new balance "${shown}" in ETH units`);
  await assertNoReload(accountPage);
});

test("transfer: followed to executed on every chain, live, without a reload", { skip, timeout: LIVE_TIMEOUT + 60_000 }, async () => {
  assert.ok(txPage, "the tx page was opened after the transfer");
  const left = Math.max(10_000, LIVE_TIMEOUT - (Date.now() - shared.startedAt));
  await txPage
    .waitForFunction(() => document.querySelector('[data-testid="tx-status"]')?.getAttribute("data-status") === "executed", null, { timeout: left, polling: 500 })
    .catch(async () => {
      const last = await txPage.evaluate(() => window.__txHistory?.at(-1));
      assert.fail(`the transfer was not executed everywhere within ${Math.round(LIVE_TIMEOUT / 60000)} minutes; last shown: ${JSON.stringify(last)}`);
    });
  const history = await txPage.evaluate(() => window.__txHistory);
  assert.ok(history.length >= 2, `the page showed the transfer changing (history: ${JSON.stringify(history)})`);
  const final = history[history.length - 1];
  assert.deepEqual(Object.keys(final.stages).map(Number).sort((a, b) => a - b), shared.chains, "a stage for every connected chain");
  for (const c of shared.chains) {
    assert.equal(final.stages[c], "executed", `executed on chain ${c}`);
    const seen = history.map((h) => h.stages[c]).filter((s) => s !== undefined);
    const idx = seen.map((s) => STAGES.indexOf(s));
    assert.ok(idx.every((i) => i >= 0), `chain ${c}'s stages are stage names: ${seen}`);
    assert.ok(idx.every((v, i) => i === 0 || v >= idx[i - 1]), `chain ${c}'s stage only moved forward: ${seen.join(" → ")}`);
  }
  assert.ok(history[0].status !== "executed", "it was first seen before executed");
  if (env.EXPLORER_TEST_VERBOSE) console.log(history.map((h) => `${h.status} ${JSON.stringify(h.stages)}`).join("\n"));
  await assertNoReload(txPage);
  await txPage.waitForSelector('[data-testid="tx-block"] a');
  await shot(txPage, "tx");
  // The account page lists the transfer among alice's recent transactions, still without reload.
  await accountPage.waitForSelector(`[data-testid="account-tx-${shared.txHash}"]`, { timeout: 30_000 });
  await assertNoReload(accountPage);
  await shot(accountPage, "account");
});

test("block page of the transfer: its txs, per chain roots, stages and L1 transactions", { skip, timeout: 60_000 }, async () => {
  const tx = await rpc("rollup_tx", [shared.txHash]);
  assert.equal(tx.status, "block", "the transfer is in a block");
  await txPage.click('[data-testid="tx-block"] a');
  await txPage.waitForSelector(`[data-testid="block-tx-${tx.position}"]`, { timeout: 15_000 });
  const block = await rpc("rollup_block", [tx.block]);
  assert.equal(await txPage.getAttribute(`[data-testid="block-tx-${tx.position}"] a`, "href"), `#/tx/${shared.txHash}`, "the block lists the transfer, linked");
  assert.equal(await text(txPage, '[data-testid="final-root"]'), block.finalRoot, "the final root");
  assert.equal(await text(txPage, '[data-testid="sync-hash"]'), block.syncHash, "the sync hash");
  for (const c of block.chains) {
    const card = txPage.locator(`[data-testid="block-chain-${c.chain}"]`);
    assert.equal((await card.locator(`[data-testid="stage-${c.chain}"]`).textContent()).trim(), "executed", `executed on chain ${c.chain}`);
    assert.ok(c.l1.executed, `rollup_block has chain ${c.chain}'s execute transaction`);
    for (const s of ["committed", "proven", "synced", "executed"]) {
      const row = await card.locator(`[data-testid="l1-${c.chain}-${s}"]`).innerText();
      const r = c.l1[s];
      if (r) {
        assert.ok(row.includes(r.hash.slice(0, 8)), `chain ${c.chain}'s ${s} row shows its L1 hash (${row})`);
        if (r.gasUsed !== null) assert.ok(row.includes(BigInt(r.gasUsed).toLocaleString("en-US")), `chain ${c.chain}'s ${s} row shows its gas used (${row})`);
      } else {
        assert.match(row, /not yet/, `chain ${c.chain}'s ${s} row says there is no L1 transaction (${row})`);
      }
    }
  }
  await shot(txPage, "block");
  // Navigating inside the app is no reload either.
  await assertNoReload(txPage);
});

test("blocks page: newest first with stage badges; charts draw the recent blocks", { skip, timeout: 60_000 }, async () => {
  const newest = (await rpc("rollup_blocks", [null, 1]))[0];
  await open(otherPage, "#/blocks");
  await otherPage.waitForSelector(`[data-testid="block-row-${newest.number}"]`, { timeout: 15_000 });
  const rows = await otherPage.locator('tbody tr[data-testid^="block-row-"]').evaluateAll((trs) => trs.map((t) => Number(t.getAttribute("data-testid").slice(10))));
  assert.ok(rows.length > 0 && rows.every((n, i) => i === 0 || n < rows[i - 1]), `newest first: ${rows.join(", ")}`);
  const tracks = await otherPage.locator(`[data-testid="block-row-${newest.number}"] [data-testid^="stage-"]`).count();
  assert.equal(tracks, shared.chains.length, "one stage row per chain");
  await shot(otherPage, "blocks");

  await open(otherPage, "#/charts");
  await otherPage.waitForSelector('[data-testid="chart-throughput"] svg', { timeout: 15_000 });
  const bars = await otherPage.locator('[data-testid="chart-throughput"] rect.bar').count();
  const recent = await rpc("rollup_blocks", [null, 100]);
  assert.ok(bars >= recent.length - 1 && bars <= recent.length + 1, `a bar per recent block (${bars} bars, ${recent.length} blocks)`);
  const executed = recent.filter((b) => b.chains.some((c) => c.l1.executed)).length;
  assert.ok(executed > 0, "some recent block is executed (the transfer's is)");
  await otherPage.waitForSelector('[data-testid="chart-latency"] circle', { timeout: 15_000 });
  await shot(otherPage, "charts");
});

test("no page threw an uncaught error", { skip }, () => {
  assert.deepEqual(pageErrors, [], "uncaught errors in the explorer");
});
