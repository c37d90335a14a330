// JSON-RPC over HTTP (plain calls) and one shared WebSocket (subscriptions) to the node that
// serves the page. The socket reconnects with exponential backoff (capped at 5 s) and renews every
// active subscription on each new connection.

/** An error the node answered with (its message is safe to show), or a transport failure. */
export class RpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = "RpcError";
    this.code = code;
  }
}

/** Transport failures get codes outside JSON-RPC's range. */
export const UNREACHABLE = -1;
export const BAD_ANSWER = -2;

/** The JSON-RPC endpoint: the directory the page was served from (same origin). */
export function endpoint(): URL {
  return new URL(".", location.href);
}

let nextHttpId = 1;
const TIMEOUT_MS = 20_000;

interface RpcAnswer {
  jsonrpc?: string;
  id?: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  method?: string;
  params?: { subscription?: string | number; result?: unknown; error?: unknown };
}

/** One JSON-RPC call over HTTP POST. Rejects with an `RpcError`. */
export async function call<T>(method: string, params: unknown[] = []): Promise<T> {
  const id = nextHttpId++;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(endpoint(), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
      signal: timeout.signal,
    });
  } catch (e) {
    const why = timeout.signal.aborted ? "no answer within 20 s" : String((e as Error).message ?? e);
    throw new RpcError(UNREACHABLE, `Cannot reach the node (${method}): ${why}`);
  } finally {
    clearTimeout(timer);
  }
  let body: RpcAnswer;
  try {
    body = (await response.json()) as RpcAnswer;
  } catch {
    throw new RpcError(BAD_ANSWER, `The node answered ${method} with HTTP ${response.status} and no JSON`);
  }
  if (body.error) throw new RpcError(body.error.code, body.error.message);
  if (!("result" in body)) throw new RpcError(BAD_ANSWER, `The node's answer to ${method} has no result`);
  return body.result as T;
}

export type ConnState = "connecting" | "live" | "reconnecting";

interface Subscription {
  method: string;
  params: unknown[];
  unsubscribeMethod: string;
  onResult: (result: unknown) => void;
  onError: (error: RpcError) => void;
  /** The server's id on the current connection, once it answered. */
  id: string | null;
  /** The id exactly as the server sent it (for the unsubscribe call). */
  rawId: unknown;
  cancelled: boolean;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: RpcError) => void;
}

/** Backoff before reconnect attempt `n` (0-based): 0.5 s, 1 s, 2 s, 4 s, then 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 500 * 2 ** attempt);
}

class Socket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private everConnected = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly subs = new Set<Subscription>();
  private readonly byId = new Map<string, Subscription>();
  /** Notifications that arrived before their subscription's id (kept briefly). */
  private readonly early = new Map<string, unknown[]>();
  /** Ids of subscriptions ended here (their late notifications are ignored). */
  private readonly dropped = new Set<string>();
  private readonly stateListeners = new Set<(s: ConnState) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  state: ConnState = "connecting";

  start(): void {
    if (this.ws || this.retryTimer) return;
    this.open();
  }

  private setState(s: ConnState): void {
    if (s === this.state) return;
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  private open(): void {
    this.retryTimer = null;
    const url = endpoint();
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let ws: WebSocket;
    try {
      ws = new WebSocket(url.href);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      const reconnected = this.everConnected;
      this.everConnected = true;
      this.setState("live");
      for (const sub of this.subs) this.sendSubscribe(sub);
      if (reconnected) for (const l of this.reconnectListeners) l();
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = () => this.closed(ws);
    ws.onerror = () => {
      // onclose follows.
    };
  }

  private closed(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = null;
    for (const p of this.pending.values()) p.reject(new RpcError(UNREACHABLE, "the connection closed"));
    this.pending.clear();
    this.byId.clear();
    this.early.clear();
    this.dropped.clear();
    for (const sub of this.subs) sub.id = null;
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const delay = backoffMs(this.attempt++);
    // A little jitter so many tabs do not reconnect in lockstep.
    this.retryTimer = setTimeout(() => this.open(), delay * (0.8 + 0.4 * Math.random()));
  }

  private receive(data: unknown): void {
    if (typeof data !== "string") return;
    let msg: RpcAnswer;
    try {
      msg = JSON.parse(data) as RpcAnswer;
    } catch {
      return;
    }
    if (typeof msg.id === "number" && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(new RpcError(msg.error.code, msg.error.message));
      else p?.resolve(msg.result);
      return;
    }
    if (msg.method && msg.params && msg.params.subscription !== undefined) {
      const params = msg.params;
      const id = String(params.subscription);
      if (this.dropped.has(id)) return;
      const sub = this.byId.get(id);
      if ("error" in params) {
        // The server closed the subscription with an error.
        const e = params.error as { code?: number; message?: string } | string;
        if (sub && !sub.cancelled) {
          sub.onError(new RpcError(typeof e === "object" && e.code !== undefined ? e.code : -32603, typeof e === "string" ? e : (e.message ?? "subscription closed")));
        }
        return;
      }
      if (!("result" in params)) return;
      if (sub) {
        if (!sub.cancelled) sub.onResult(params.result);
      } else {
        const list = this.early.get(id) ?? [];
        list.push(params.result);
        this.early.set(id, list.slice(-50));
        // Ids nobody claims (a subscription answered on a connection that closed) do not pile up.
        if (this.early.size > 20) {
          const oldest = this.early.keys().next().value;
          if (oldest !== undefined) this.early.delete(oldest);
        }
      }
    }
  }

  private request(method: string, params: unknown[]): Promise<unknown> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RpcError(UNREACHABLE, "not connected"));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  private sendSubscribe(sub: Subscription): void {
    const ws = this.ws;
    this.request(sub.method, sub.params).then(
      (result) => {
        if (this.ws !== ws) return; // an answer from a connection that has closed since
        const id = String(result);
        if (sub.cancelled) {
          this.dropped.add(id);
          this.early.delete(id);
          this.request(sub.unsubscribeMethod, [result]).catch(() => {});
          return;
        }
        sub.id = id;
        sub.rawId = result;
        this.byId.set(id, sub);
        const early = this.early.get(id);
        this.early.delete(id);
        for (const r of early ?? []) sub.onResult(r);
      },
      (e: RpcError) => {
        // A dropped connection resubscribes on the next one; the node's refusal is final.
        if (e.code !== UNREACHABLE && !sub.cancelled) sub.onError(e);
      },
    );
  }

  /**
   * Subscribes with `method(params)`; `onResult` gets each notification's result, on this and
   * every later connection. Returns the function that ends the subscription.
   */
  subscribe(
    method: string,
    params: unknown[],
    unsubscribeMethod: string,
    onResult: (result: unknown) => void,
    onError: (error: RpcError) => void = () => {},
  ): () => void {
    const sub: Subscription = { method, params, unsubscribeMethod, onResult, onError, id: null, rawId: null, cancelled: false };
    this.subs.add(sub);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.sendSubscribe(sub);
    this.start();
    return () => {
      if (sub.cancelled) return;
      sub.cancelled = true;
      this.subs.delete(sub);
      if (sub.id !== null) {
        this.byId.delete(sub.id);
        this.dropped.add(sub.id);
        this.request(sub.unsubscribeMethod, [sub.rawId]).catch(() => {});
      }
    };
  }

  onState(l: (s: ConnState) => void): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }

  /** Called after the socket came back: notifications may have been missed meanwhile. */
  onReconnect(l: () => void): () => void {
    this.reconnectListeners.add(l);
    return () => this.reconnectListeners.delete(l);
  }
}

export const socket = new Socket();
