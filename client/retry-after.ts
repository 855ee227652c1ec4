/**
 * `Retry-After` handling of the client: when a `429` or `503` says when to
 * come back, the retry waits that long (plus jitter) instead of the backoff.
 *
 * @module
 */

/** Share of the announced wait added at random, so clients told the same time do not return in lockstep. @default 0.2 */
export const RETRY_AFTER_JITTER = 0.2;
/** Least jitter range in ms, also for `Retry-After: 0`. @default 100 */
export const MIN_RETRY_AFTER_JITTER_MS = 100;

const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * `Retry-After` as delay-seconds or an HTTP date, in ms from `nowMs`
 * (never negative); `undefined` when absent or malformed.
 *
 * @example
 * ```ts
 * parseRetryAfter("3", 0); // 3000
 * parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT")); // 2000
 * ```
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!HTTP_DATE.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * The wait before retrying after `Retry-After` announced `retryAfterMs`:
 * that, plus up to 20 % (at least up to 100 ms) at random. `undefined` when
 * the announced wait exceeds `maxDelayMs`: waiting less would only be
 * refused again, so the caller gives up at once instead.
 *
 * @example
 * ```ts
 * retryAfterDelay(1000, 30_000, () => 0.5); // 1100
 * retryAfterDelay(60_000, 30_000, Math.random); // undefined
 * ```
 */
export function retryAfterDelay(retryAfterMs: number, maxDelayMs: number, random: () => number): number | undefined {
  if (retryAfterMs > maxDelayMs) return undefined;
  const jitter = Math.max(MIN_RETRY_AFTER_JITTER_MS, retryAfterMs * RETRY_AFTER_JITTER);
  return Math.round(retryAfterMs + random() * jitter);
}
