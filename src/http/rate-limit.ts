import { Elysia } from "elysia";
import { RateLimitedError } from "../errors.ts";
import { isHealthCheck } from "./request-path.ts";

/** Most client addresses tracked at once; beyond it the least recently seen is forgotten. @default 100 000 */
export const DEFAULT_MAX_TRACKED_CLIENTS = 100_000;
const MINUTE_MS = 60_000;

export interface RateLimiterOptions {
  /** Requests per minute per client; also the largest burst. */
  perMinute: number;
  /** ms, monotonic enough for rates. @default performance.now */
  clock?: () => number;
  /** @default DEFAULT_MAX_TRACKED_CLIENTS */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client: `perMinute` tokens, refilled continuously at
 * `perMinute` per minute, one spent per request. Unlike a fixed window it
 * allows no double burst at a window edge, and the wait it reports is exact.
 * Memory is bounded: a bucket that has refilled completely is the same as no
 * bucket and is dropped by the sweep, and at most `maxClients` are kept.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly clock: () => number;
  private readonly maxClients: number;
  private lastSweep: number;

  constructor(private readonly options: RateLimiterOptions) {
    this.perMs = options.perMinute / MINUTE_MS;
    this.clock = options.clock ?? (() => performance.now());
    this.maxClients = options.maxClients ?? DEFAULT_MAX_TRACKED_CLIENTS;
    this.lastSweep = this.clock();
  }

  /** Spends one token of `client`; returns 0 when allowed, else the seconds until one is available. */
  take(client: string): number {
    const now = this.clock();
    if (now - this.lastSweep >= MINUTE_MS) this.sweep(now);
    const capacity = this.options.perMinute;
    const bucket = this.buckets.get(client);
    let tokens = capacity;
    if (bucket !== undefined) {
      tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * this.perMs);
      // Re-inserted so the map's order is least recently seen first.
      this.buckets.delete(client);
    }
    if (tokens < 1) {
      this.buckets.set(client, { tokens, at: now });
      return Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1000));
    }
    this.buckets.set(client, { tokens: tokens - 1, at: now });
    while (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
    return 0;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [client, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.options.perMinute) this.buckets.delete(client);
    }
  }
}

/**
 * The key a client is limited by: its IP address, with IPv6 cut to its /64
 * (one host usually owns a whole /64, so single addresses would be free to
 * rotate). Forwarded-for headers are not trusted: anyone can send them.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === "") return "local";
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  return `${expandIPv6(address).slice(0, 4).join(":")}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0");
  return [...left, ...zeros, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ""));
}

export interface RateLimitOptions extends Omit<RateLimiterOptions, "perMinute"> {
  /**
   * The peer address of a request. `Bun.serve` knows it (`server.requestIP`),
   * an app it serves through `fetch` does not, so the server passes it in.
   * @default the Elysia context's server, when the app itself listens
   */
  clientAddress?: (request: Request) => string | undefined;
}

/**
 * RATE_LIMIT_PER_MINUTE: 429 RATE_LIMITED with `Retry-After` once a client
 * address has spent its requests. It runs on request, before auth and body
 * parsing, so refused and unauthenticated requests cost little and count
 * too (a token cannot be guessed faster than the limit). `GET /health` is
 * exempt: probes must not be starved by, nor count against, API traffic.
 * Requests without a socket (`app.handle` in tests) share the key "local".
 * Zero: the plugin is a no-op.
 */
export function rateLimit(perMinute: number, options: RateLimitOptions = {}) {
  const plugin = new Elysia({ name: "rate-limit", seed: perMinute });
  if (perMinute <= 0) return plugin;
  const { clientAddress, ...limiterOptions } = options;
  const limiter = new RateLimiter({ perMinute, ...limiterOptions });
  return plugin.onRequest(({ request, server }) => {
    if (isHealthCheck(request)) return;
    const address = clientAddress ? clientAddress(request) : server?.requestIP(request)?.address;
    const wait = limiter.take(clientKey(address));
    if (wait > 0) throw new RateLimitedError(wait);
  });
}
