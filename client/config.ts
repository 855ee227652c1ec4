/**
 * Client defaults and the one place that reads the environment.
 *
 * @module
 */
import type { EventStoreConfig, FetchFn } from "./types.ts";

/** Time limit of one HTTP attempt, in milliseconds. @default 30000 */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Retries after a network error, timeout, 5xx, or a 429 of a request safe to repeat. @default 3 */
export const DEFAULT_RETRIES = 3;
/** Backoff before the first retry, in milliseconds. @default 1000 */
export const DEFAULT_RETRY_DELAY_MS = 1_000;
/** Upper bound of one wait between attempts (backoff or `Retry-After`), in milliseconds. @default 30000 */
export const MAX_RETRY_DELAY_MS = 30_000;
/** Environment variable read when `baseUrl` is not given. */
export const BASE_URL_ENV_VAR = "EVENT_STORE_BASE_URL";

/** {@link EventStoreConfig} with every default applied and checked. */
export interface ResolvedConfig {
  baseUrl: string;
  timeout: number;
  retries: number;
  retryDelay: number;
  maxRetryDelay: number;
  token: string | undefined;
  fetch: FetchFn;
  /** Jitter source; internal, so tests can pin it. */
  random: () => number;
}

interface DenoLike {
  env: { get(name: string): string | undefined };
}

/**
 * Reads an environment variable in Bun, Node and Deno; `undefined` in a
 * browser or when Deno denies env access.
 */
export function readEnv(name: string): string | undefined {
  // Optional chaining throughout: none of these globals exists in a browser.
  const fromProcess = globalThis.process?.env?.[name];
  if (fromProcess !== undefined) return fromProcess;
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  try {
    return deno?.env.get(name);
  } catch {
    // Deno without --allow-env throws; treat as unset.
    return undefined;
  }
}

/**
 * Applies defaults to `config` and validates it once, so that requests never
 * have to.
 *
 * @throws {Error} when no base URL is configured or an option is out of range.
 */
export function resolveConfig(config: EventStoreConfig): ResolvedConfig {
  const rawBaseUrl = config.baseUrl ?? readEnv(BASE_URL_ENV_VAR);
  if (rawBaseUrl === undefined || rawBaseUrl.trim() === "") {
    throw new Error(
      `EventStoreClient: no server URL; pass { baseUrl } or set ${BASE_URL_ENV_VAR}`,
    );
  }
  const baseUrl = rawBaseUrl.trim().replace(/\/+$/, "");
  try {
    new URL(baseUrl);
  } catch (cause) {
    throw new Error(`EventStoreClient: baseUrl is not a valid URL: ${rawBaseUrl}`, { cause });
  }

  const timeout = config.timeout ?? DEFAULT_TIMEOUT_MS;
  const retries = config.retries ?? DEFAULT_RETRIES;
  const retryDelay = config.retryDelay ?? DEFAULT_RETRY_DELAY_MS;
  const maxRetryDelay = config.maxRetryDelay ?? MAX_RETRY_DELAY_MS;
  if (!Number.isFinite(timeout) || timeout <= 0) {
    throw new Error(`EventStoreClient: timeout must be a positive number of ms, got ${timeout}`);
  }
  if (!Number.isInteger(retries) || retries < 0) {
    throw new Error(`EventStoreClient: retries must be a non-negative integer, got ${retries}`);
  }
  if (!Number.isFinite(retryDelay) || retryDelay < 0) {
    throw new Error(`EventStoreClient: retryDelay must be a non-negative number of ms, got ${retryDelay}`);
  }
  if (!Number.isFinite(maxRetryDelay) || maxRetryDelay < 0) {
    throw new Error(`EventStoreClient: maxRetryDelay must be a non-negative number of ms, got ${maxRetryDelay}`);
  }

  const customFetch = config.fetch;
  if (customFetch === undefined && typeof globalThis.fetch !== "function") {
    throw new Error("EventStoreClient: no global fetch; pass { fetch }");
  }

  return {
    baseUrl,
    timeout,
    retries,
    retryDelay,
    maxRetryDelay,
    token: config.token,
    // Looked up per call and called on globalThis: a browser's fetch throws
    // "Illegal invocation" when called with another `this`.
    fetch: customFetch ?? ((input, init) => globalThis.fetch(input, init)),
    random: Math.random,
  };
}
