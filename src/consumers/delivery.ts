import { CallbackRefusedError } from "./callback-policy.ts";

/** The part of `fetch` delivery calls; injectable so tests and benches can wrap it. */
export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

/** How one webhook call ended. */
export type DeliveryOutcome =
  | { kind: "ok" }
  /** Failed; `retryAfterMs` is the receiver's Retry-After, when it sent one with a 429 or 503. */
  | { kind: "retry"; error: string; retryAfterMs?: number }
  /** 410 Gone: the receiver asks to be unregistered. */
  | { kind: "gone"; error: string }
  /** Cancelled by the store itself (unregister, shutdown); not the receiver's failure. */
  | { kind: "aborted" };

export interface DeliveryRequest {
  url: string;
  body: Uint8Array<ArrayBuffer>;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Aborts the call without counting it as a failure. */
  signal: AbortSignal;
  /** For Retry-After given as an HTTP date. @default Date.now */
  now?: () => number;
}

/** Longest Retry-After honoured, so a timer never overflows (setTimeout caps at ~24.8 days). */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;
const MAX_ERROR_LENGTH = 200;
/** The HTTP date format senders must use (RFC 9110 §5.6.7), e.g. `Wed, 15 Jan 2025 10:30:30 GMT`. */
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Sends one delivery and classifies the answer. Redirects are not followed
 * (a 3xx is a failure): a callback is registered as an exact URL, and
 * following a redirect would re-send signed events to a place nobody
 * registered.
 */
export async function deliver(fetchFn: FetchFn, request: DeliveryRequest): Promise<DeliveryOutcome> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  let response: Response;
  try {
    response = await fetchFn(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.any([timeout, request.signal]),
    });
  } catch (error) {
    if (request.signal.aborted) return { kind: "aborted" };
    if (timeout.aborted) return { kind: "retry", error: `timeout after ${request.timeoutMs} ms` };
    if (error instanceof CallbackRefusedError) return { kind: "retry", error: error.message };
    return { kind: "retry", error: shorten(`connection failed: ${describe(error)}`) };
  }
  // The answer's body is not needed; cancelling frees the connection now.
  await response.body?.cancel().catch(() => undefined);
  const status = response.status;
  if (status >= 200 && status < 300) return { kind: "ok" };
  if (status === 410) return { kind: "gone", error: "HTTP 410" };
  const error = `HTTP ${status}`;
  if (status === 429 || status === 503) {
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), (request.now ?? Date.now)());
    if (retryAfterMs !== null) return { kind: "retry", error, retryAfterMs };
  }
  return { kind: "retry", error };
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms from `nowMs`; null when absent or malformed. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) {
    ms = Number(trimmed) * 1000;
  } else if (IMF_FIXDATE.test(trimmed)) {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return null;
    ms = date - nowMs;
  } else {
    return null;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && code !== "") return code;
  return error instanceof Error ? error.message : String(error);
}

function shorten(text: string): string {
  return text.length <= MAX_ERROR_LENGTH ? text : `${text.slice(0, MAX_ERROR_LENGTH - 1)}…`;
}
