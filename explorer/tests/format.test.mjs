// Unit tests of the explorer's pure formatting and parsing (src/format.ts), bundled on the fly
// with esbuild. No browser or node needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dir = await mkdtemp(join(tmpdir(), "explorer-format-"));
const out = join(dir, "format.mjs");
await esbuild.build({ entryPoints: [join(here, "..", "src", "format.ts")], outfile: out, bundle: true, format: "esm", platform: "neutral", logLevel: "error" });
const f = await import(pathToFileURL(out).href);
await rm(dir, { recursive: true, force: true });

test("formatUnits is exact and drops trailing zeros", () => {
  assert.equal(f.formatUnits("1500000000000000000", 18), "1.5");
  assert.equal(f.formatUnits("1000000000000000", 18), "0.001");
  assert.equal(f.formatUnits("1", 18), "0.000000000000000001");
  assert.equal(f.formatUnits("0", 18), "0");
  assert.equal(f.formatUnits("123456789012", 6), "123,456.789012");
  assert.equal(f.formatUnits("1234567", 0), "1,234,567");
  assert.equal(f.formatUnits(340282366920938463463374607431768211455n, 18), "340,282,366,920,938,463,463.374607431768211455");
});

test("parseUnits takes what formatUnits shows and refuses bad amounts with a reason", () => {
  assert.deepEqual(f.parseUnits("1.5", 18), { ok: true, value: 1500000000000000000n });
  assert.deepEqual(f.parseUnits(" 123,456.789012 ", 6), { ok: true, value: 123456789012n });
  assert.deepEqual(f.parseUnits(".5", 1), { ok: true, value: 5n });
  assert.deepEqual(f.parseUnits("7.", 0), { ok: true, value: 7n });
  for (const base of ["1", "999999999999999999", "1000000000000000000", "123456789000000000000000"]) {
    assert.equal(f.parseUnits(f.formatUnits(base, 18), 18).value, BigInt(base), `round trip of ${base}`);
  }
  const bad = (input, decimals, pattern) => {
    const r = f.parseUnits(input, decimals, "ETH");
    assert.equal(r.ok, false, `${JSON.stringify(input)} must be refused`);
    assert.match(r.error, pattern);
  };
  bad("", 18, /Enter an amount/);
  bad("abc", 18, /“abc” is not a number/);
  bad("-1", 18, /not a number/);
  bad("1e18", 18, /not a number/);
  bad(".", 18, /not a number/);
  bad("1.2.3", 18, /not a number/);
  bad("0", 18, /more than zero/);
  bad("0.000", 18, /more than zero/);
  bad("0.0000000000000000001", 18, /ETH has 18 decimals: “0.0000000000000000001” has 19/);
  bad("1.5", 0, /no decimals/);
});

test("search queries map to tx, account, block or a refusal", () => {
  const h64 = "0x" + "Ab".repeat(32);
  assert.deepEqual(f.parseQuery(h64), { kind: "tx", hash: h64.toLowerCase() });
  const a = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  assert.deepEqual(f.parseQuery(` ${a} `), { kind: "account", query: a });
  assert.deepEqual(f.parseQuery("42"), { kind: "account", query: "42" });
  assert.deepEqual(f.parseQuery("block 7"), { kind: "block", number: 7 });
  assert.deepEqual(f.parseQuery("Block #7"), { kind: "block", number: 7 });
  assert.deepEqual(f.parseQuery("#12"), { kind: "block", number: 12 });
  for (const x of ["hello", "0x1234", "0x" + "g".repeat(64), "block", "#", "1.5", "0x" + "a".repeat(63)]) {
    assert.equal(f.parseQuery(x).kind, "invalid", x);
  }
});

test("short hashes, ratios, times", () => {
  assert.equal(f.shortHash("0x" + "1234567890".repeat(6) + "abcd"), "0x123456…abcd");
  assert.equal(f.isZeroHex("0x" + "0".repeat(40)), true);
  assert.equal(f.isZeroHex("0x01"), false);
  // 30000 TUSD (6 decimals) per 10 ETH (18 decimals) → 3000
  assert.equal(f.ratio("30000000000", 6, "10000000000000000000", 18), "3,000");
  assert.equal(f.ratio("10000000000000000000", 18, "30000000000", 6), "0.000333333");
  assert.equal(f.ratio("1", 0, "0", 0), "—");
  assert.equal(f.age(1_000_000, 1_000_000 + 42_000), "42 s ago");
  assert.equal(f.age(1_000_000, 1_000_000 + 5 * 60_000), "5 min ago");
  assert.equal(f.duration(65), "1 min 5 s");
  assert.equal(f.bps(30), "0.30 %");
  assert.equal(f.kindLabel("addLiquidity"), "Add liquidity");
});
