/**
 * JSON over `fetch` with per-attempt timeouts and retries. Internal to the
 * client: only `fetch`, `AbortSignal` and `URLSearchParams` at runtime.
 *
 * @module
 */
import { anySignal, sleep } from "./abort.ts";
import { backoffDelay } from "./backoff.ts";
import type { ResolvedConfig } from "./config.ts";
import { EventStoreError } from "./errors.ts";
import { parseRetryAfter, retryAfterDelay } from "./retry-after.ts";

/** Query parameters; `undefined` values are left out. */
export type Query = Record<string, string | number | undefined>;

/** One logical request, possibly sent several times. */
export interface RequestOptions {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path below the base URL, with its segments already encoded. */
  path: string;
  query?: Query;
  /** Sent as JSON when defined. */
  body?: unknown;
  /** Extra headers; identical on every attempt. */
  headers?: Record<string, string>;
  /** Caller's signal: aborts the attempt in flight and stops retrying. */
  signal?: AbortSignal;
  /** Per-attempt time limit in ms, overriding the configured `timeout`. */
  timeout?: number;
  /** Overrides the configured `retries`. */
  retries?: number;
  /**
   * Whether sending the request twice does no more than sending it once.
   * Only then is a `429` retried: this server refuses before processing,
   * but a proxy in between may not. @default true for GET, PUT and DELETE, false for POST
   */
  safeToRepeat?: boolean;
}

/** Sends {@link RequestOptions} with `fetch`, applying the retry policy. */
export class FetchTransport {
  readonly #config: ResolvedConfig;

  constructor(config: ResolvedConfig) {
    this.#config = config;
  }

  /** The base URL, without trailing slashes. */
  get baseUrl(): string {
    return this.#config.baseUrl;
  }

  /** The configured per-attempt time limit, in ms. */
  get timeout(): number {
    return this.#config.timeout;
  }

  /**
   * Sends the request and returns its parsed JSON body (`undefined` when
   * empty). Network errors, timeouts and 5xx answers are retried with
   * exponential backoff, and a `429` when the request is safe to repeat;
   * a `Retry-After` on a 429/503 replaces the backoff (plus jitter) unless
   * it asks for more than `maxRetryDelay`. Other 4xx answers and a caller
   * abort are not retried.
   *
   * @throws {EventStoreError} on a non-2xx answer or when no answer arrived.
   * @throws the caller signal's `reason` when `signal` aborts.
   */
  async request<T>(options: RequestOptions): Promise<T> {
    const { retries = this.#config.retries, signal } = options;
    const url = this.#url(options.path, options.query);
    const init: RequestInit = {
      method: options.method,
      headers: this.#headers(options),
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    };
    const safeToRepeat = options.safeToRepeat ?? options.method !== "POST";
    for (let attempt = 0; ; attempt++) {
      let wait: number | undefined;
      try {
        return (await this.#attempt(url, init, options)) as T;
      } catch (error) {
        wait = attempt < retries ? this.#retryWait(error, attempt, safeToRepeat) : undefined;
        if (wait === undefined) throw error;
      }
      await sleep(wait, signal);
    }
  }

  /** How long to wait before retrying after `error`; `undefined`: do not retry. */
  #retryWait(error: unknown, attempt: number, safeToRepeat: boolean): number | undefined {
    if (!(error instanceof EventStoreError)) return undefined;
    const { status, retryAfterMs } = error;
    const retryable = status === 0 || status >= 500 || (status === 429 && safeToRepeat);
    if (!retryable) return undefined;
    const { retryDelay, maxRetryDelay, random } = this.#config;
    if (retryAfterMs !== undefined) return retryAfterDelay(retryAfterMs, maxRetryDelay, random);
    return backoffDelay(attempt, retryDelay, maxRetryDelay);
  }

  async #attempt(url: string, init: RequestInit, options: RequestOptions): Promise<unknown> {
    const { signal: callerSignal, timeout = this.#config.timeout } = options;
    const timeoutSignal = AbortSignal.timeout(timeout);
    const signal = callerSignal ? anySignal([timeoutSignal, callerSignal]) : timeoutSignal;
    const what = `${options.method} ${options.path}`;

    let response: Response;
    let text: string;
    try {
      response = await this.#config.fetch(url, { ...init, signal });
      // The body read is part of the attempt: a server that stalls mid-body
      // must hit the same timeout.
      text = await response.text();
    } catch (cause) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (timeoutSignal.aborted) {
        throw new EventStoreError(`${what} timed out after ${timeout} ms`, {
          status: 0,
          code: "TIMEOUT",
          cause,
        });
      }
      throw new EventStoreError(`${what} failed: ${describe(cause)}`, {
        status: 0,
        code: "NETWORK_ERROR",
        cause,
      });
    }

    const parsed = parseJson(text);
    if (!response.ok) throw httpError(what, response, parsed);
    if (!parsed.ok) {
      throw new EventStoreError(`${what}: response is not JSON`, {
        status: response.status,
        code: "INVALID_RESPONSE",
        cause: parsed.cause,
      });
    }
    return parsed.value;
  }

  #url(path: string, query: Query | undefined): string {
    const url = this.#config.baseUrl + path;
    if (query === undefined) return url;
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.append(key, String(value));
    }
    const search = params.toString();
    return search === "" ? url : `${url}?${search}`;
  }

  #headers(options: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (this.#config.token !== undefined) {
      headers.authorization = `Bearer ${this.#config.token}`;
    }
    return { ...headers, ...options.headers };
  }
}

type Parsed = { ok: true; value: unknown } | { ok: false; cause: unknown };

function parseJson(text: string): Parsed {
  if (text === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (cause) {
    return { ok: false, cause };
  }
}

/** Maps an error answer (`{"error", "code", ...}` from this server) to an EventStoreError. */
function httpError(what: string, response: Response, parsed: Parsed): EventStoreError {
  const { status } = response;
  const body = parsed.ok ? parsed.value : undefined;
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const message =
    typeof fields.error === "string" ? fields.error : `${what} failed with HTTP ${status}`;
  const code = typeof fields.code === "string" ? fields.code : `HTTP_${status}`;
  const retryAfterMs =
    status === 429 || status === 503 ? parseRetryAfter(response.headers.get("retry-after"), Date.now()) : undefined;
  return new EventStoreError(message, retryAfterMs === undefined ? { status, code, body } : { status, code, body, retryAfterMs });
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
