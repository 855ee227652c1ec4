export interface BackoffOptions {
  /** Upper bound of the first retry's delay. */
  baseMs: number;
  /** No delay exceeds this. */
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (0 for the first retry), "full jitter":
 * uniformly random in `[0, min(maxMs, baseMs * 2 ** attempt))`. Full jitter
 * spreads the retries of many consumers that failed together (a receiver
 * restart) instead of making them return in lockstep. Pure: `random` is
 * injected, so the curve is testable without clocks.
 *
 * @example
 * ```ts
 * backoffDelay(0, { baseMs: 1000, maxMs: 60_000 }, () => 0.5); // 500
 * backoffDelay(3, { baseMs: 1000, maxMs: 60_000 }, () => 0.5); // 4000
 * backoffDelay(9, { baseMs: 1000, maxMs: 60_000 }, () => 0.5); // 30000
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
