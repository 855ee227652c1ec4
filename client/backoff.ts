/**
 * Retry timing of the client.
 *
 * @module
 */
import { MAX_RETRY_DELAY_MS } from "./config.ts";

/**
 * Delay before retry number `attempt` (0 for the first retry):
 * `retryDelay * 2 ** attempt`, capped at `maxDelay`. Pure, so it is testable
 * without clocks.
 *
 * @example
 * ```ts
 * backoffDelay(0, 1000); // 1000
 * backoffDelay(2, 1000); // 4000
 * backoffDelay(9, 1000); // 30000 (capped)
 * ```
 */
export function backoffDelay(
  attempt: number,
  retryDelay: number,
  maxDelay: number = MAX_RETRY_DELAY_MS,
): number {
  return Math.min(retryDelay * 2 ** attempt, maxDelay);
}
