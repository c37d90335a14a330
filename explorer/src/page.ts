// A page's lifetime: everything it starts (timers, listeners, subscriptions) ends when the route
// changes, and answers that arrive after that are ignored.

import { onBlock } from "./data";
import { BAD_ANSWER, RpcError, socket, UNREACHABLE } from "./rpc";
import { alertBox, fill, h } from "./dom";
import type { BlockNotification } from "./types";

export class Page {
  readonly main: HTMLElement;
  readonly params: string[];
  readonly query: URLSearchParams;
  private cleanups: (() => void)[] = [];
  private dead = false;

  constructor(main: HTMLElement, params: string[], query: URLSearchParams) {
    this.main = main;
    this.params = params;
    this.query = query;
  }

  get alive(): boolean {
    return !this.dead;
  }

  onCleanup(fn: () => void): void {
    if (this.dead) fn();
    else this.cleanups.push(fn);
  }

  close(): void {
    if (this.dead) return;
    this.dead = true;
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch {
        // keep cleaning
      }
    }
  }

  every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      if (this.alive) fn();
    }, ms);
    this.onCleanup(() => clearInterval(t));
  }

  /**
   * `fn` run now-ish and then at most once per `gapMs` however often it is triggered, never two
   * at once (a trigger during a run runs it once more afterwards). Returns the trigger.
   */
  refresher(fn: () => Promise<void>, gapMs: number): () => void {
    let running = false;
    let dirty = false;
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const run = async () => {
      timer = null;
      if (!this.alive) return;
      if (running) {
        dirty = true;
        return;
      }
      running = true;
      last = Date.now();
      try {
        await fn();
      } catch {
        // fn shows its own errors
      } finally {
        running = false;
        if (dirty) {
          dirty = false;
          trigger();
        }
      }
    };
    const trigger = () => {
      if (timer || !this.alive) return;
      timer = setTimeout(run, Math.max(0, last + gapMs - Date.now()));
    };
    this.onCleanup(() => {
      if (timer) clearTimeout(timer);
    });
    return trigger;
  }

  /**
   * Runs `fn` again on block notifications (those `filter` accepts), after a reconnect, and every
   * `fallbackMs` while the socket is down — throttled to once per `gapMs`.
   */
  live(fn: () => Promise<void>, gapMs = 1000, filter: (n: BlockNotification) => boolean = () => true, fallbackMs = 10_000): () => void {
    const trigger = this.refresher(fn, gapMs);
    this.onCleanup(onBlock((n) => {
      if (n === null || filter(n)) trigger();
    }));
    this.every(fallbackMs, () => {
      if (socket.state !== "live") trigger();
    });
    return trigger;
  }

  /** A WebSocket subscription that ends with the page. */
  subscribe(method: string, params: unknown[], unsubscribeMethod: string, onResult: (r: unknown) => void, onError?: (e: RpcError) => void): () => void {
    const cancel = socket.subscribe(method, params, unsubscribeMethod, (r) => {
      if (this.alive) onResult(r);
    }, onError);
    this.onCleanup(cancel);
    return cancel;
  }

  /** Replaces the page's content with an error (API errors show their message). */
  fail(e: unknown, context?: string): void {
    if (!this.alive) return;
    fill(this.main, errorBox(e, context));
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof RpcError) return e.code === UNREACHABLE || e.code === BAD_ANSWER ? e.message : `${e.message} (code ${e.code})`;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function errorBox(e: unknown, context?: string): HTMLElement {
  return alertBox("error", h("span", null, context ? `${context}: ` : "", errorMessage(e)), "api-error");
}

/** A small note beside live content when a refresh failed (the last good data stays). */
export function staleNote(slot: HTMLElement, e: unknown | null): void {
  if (e === null) {
    slot.replaceChildren();
    return;
  }
  fill(slot, h("p", { class: "stale", role: "status", "data-testid": "refresh-error" }, `Refresh failed, showing older data: ${errorMessage(e)}`));
}
