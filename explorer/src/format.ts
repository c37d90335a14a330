// Pure formatting and parsing (no DOM, no network): amounts, hashes, times.

/** Registered token (from `rollup_tokens`) as formatting needs it. */
export interface TokenMeta {
  symbol: string;
  decimals: number;
}

/** A token id at or above this in an account's balances is an LP share of pool `id - LP_BASE`. */
export const LP_BASE = 512;

/** Groups an integer's digits in threes: "1234567" → "1,234,567". */
function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * Base units → token units, exact (no rounding), trailing zeros dropped, integer part grouped:
 * ("1500000000000000000", 18) → "1.5"; ("1234567", 0) → "1,234,567".
 */
export function formatUnits(base: string | bigint, decimals: number): string {
  let v = typeof base === "bigint" ? base : BigInt(base);
  const negative = v < 0n;
  if (negative) v = -v;
  const digits = v.toString();
  let int: string;
  let frac: string;
  if (decimals <= 0) {
    int = digits;
    frac = "";
  } else {
    const padded = digits.padStart(decimals + 1, "0");
    int = padded.slice(0, padded.length - decimals);
    frac = padded.slice(padded.length - decimals).replace(/0+$/, "");
  }
  return (negative ? "-" : "") + group(int) + (frac ? "." + frac : "");
}

export type Parsed = { ok: true; value: bigint } | { ok: false; error: string };

/**
 * Token units typed by a user → base units. Refuses what is not a plain positive decimal
 * number, more fractional digits than the token has, and zero. Commas/underscores/spaces
 * grouping digits are allowed ("1,000.5").
 */
export function parseUnits(input: string, decimals: number, symbol = "this token"): Parsed {
  const text = input.trim();
  if (text === "") return { ok: false, error: "Enter an amount." };
  const plain = text.replace(/[,_\s]/g, "");
  const m = /^(\d*)(?:\.(\d*))?$/.exec(plain);
  if (!m || (m[1] === "" && (m[2] ?? "") === "")) {
    return { ok: false, error: `“${text}” is not a number: enter an amount like 1.25.` };
  }
  const int = m[1] ?? "";
  const frac = m[2] ?? "";
  if (frac.length > decimals) {
    return {
      ok: false,
      error:
        decimals === 0
          ? `${symbol} has no decimals: enter a whole number.`
          : `${symbol} has ${decimals} decimals: “${text}” has ${frac.length}.`,
    };
  }
  const value = BigInt((int || "0") + frac.padEnd(decimals, "0"));
  if (value === 0n) return { ok: false, error: "The amount must be more than zero." };
  return { ok: true, value };
}

/** 0x1234abcd…ef56 (first 6 and last 4 hex digits) for hashes; addresses keep 6+4 too. */
export function shortHash(hash: string, head = 6, tail = 4): string {
  if (!hash.startsWith("0x") || hash.length <= 2 + head + tail + 1) return hash;
  return `${hash.slice(0, 2 + head)}…${hash.slice(-tail)}`;
}

/** Whether a hex string is all zeros (an unset key hash). */
export function isZeroHex(hex: string): boolean {
  return /^0x0*$/i.test(hex);
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago" for a Unix-ms time (future → "in …"). */
export function age(ms: number, now = Date.now()): string {
  const d = Math.round((now - ms) / 1000);
  const s = Math.abs(d);
  let text: string;
  if (s < 5) return "just now";
  if (s < 90) text = `${s} s`;
  else if (s < 90 * 60) text = `${Math.round(s / 60)} min`;
  else if (s < 36 * 3600) text = `${Math.round(s / 3600)} h`;
  else text = `${Math.round(s / 86400)} d`;
  return d >= 0 ? `${text} ago` : `in ${text}`;
}

/** A local date and time "2024-05-01 13:45:07" for a Unix-ms time. */
export function timestamp(ms: number): string {
  const t = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return (
    `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ` +
    `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`
  );
}

/** A duration in seconds: "42 s", "3 min 5 s", "1 h 2 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ""}`;
}

/** A ratio of two base-unit amounts in token units, to about 6 significant digits. */
export function ratio(num: string | bigint, numDecimals: number, den: string | bigint, denDecimals: number): string {
  const n = typeof num === "bigint" ? num : BigInt(num);
  const d = typeof den === "bigint" ? den : BigInt(den);
  if (d === 0n) return "—";
  // n / 10^nd ÷ (d / 10^dd) = n·10^dd / (d·10^nd), computed with 30 extra digits.
  const scale = 30;
  const q = (n * 10n ** BigInt(denDecimals + scale)) / (d * 10n ** BigInt(numDecimals));
  return significant(q, scale, 6);
}

/** `value / 10^scale` cut to `digits` significant digits, grouped, without exponent. */
export function significant(value: bigint, scale: number, digits: number): string {
  if (value === 0n) return "0";
  const padded = value.toString().padStart(scale + 1, "0");
  const int = padded.slice(0, padded.length - scale);
  const fracAll = padded.slice(padded.length - scale);
  let fracLen: number;
  if (int !== "0") {
    fracLen = Math.max(0, digits - int.length);
  } else {
    const lead = fracAll.search(/[1-9]/);
    fracLen = lead < 0 ? 0 : lead + digits;
  }
  const frac = fracAll.slice(0, fracLen).replace(/0+$/, "");
  return group(int) + (frac ? "." + frac : "");
}

/** "0.30 %" for basis points. */
export function bps(feeBps: number): string {
  return `${(feeBps / 100).toFixed(2)} %`;
}

/** Capitalised kind name: "addLiquidity" → "Add liquidity". */
export function kindLabel(kind: string): string {
  const special: Record<string, string> = { changePubKey: "Change pubkey", fullExit: "Full exit" };
  if (special[kind]) return special[kind];
  const words = kind.replace(/([A-Z])/g, " $1").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What a search box entry means. */
export type Query =
  | { kind: "tx"; hash: string }
  | { kind: "account"; query: string }
  | { kind: "block"; number: number }
  | { kind: "invalid"; text: string };

export function parseQuery(input: string): Query {
  const q = input.trim();
  if (/^0x[0-9a-fA-F]{64}$/.test(q)) return { kind: "tx", hash: q.toLowerCase() };
  if (/^0x[0-9a-fA-F]{40}$/.test(q)) return { kind: "account", query: q };
  if (/^\d{1,10}$/.test(q)) return { kind: "account", query: String(Number(q)) };
  const b = /^(?:block\s*#?\s*|#)(\d{1,10})$/i.exec(q);
  if (b && b[1] !== undefined) return { kind: "block", number: Number(b[1]) };
  return { kind: "invalid", text: q };
}
