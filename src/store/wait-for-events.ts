import type { EventLog } from "./event-log.ts";

/**
 * Resolves once `topic` may have events after `after`: at once when it
 * has, else at its next commit, after `timeoutMs`, on abort, or when the
 * log closes. Subscribes before asking for the head, so a commit between
 * the two is not missed. Works on any backend.
 */
export async function waitForEvents(log: EventLog, topic: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  if (timeoutMs <= 0 || signal?.aborted) return;
  const subscription = new AbortController();
  const { promise, resolve } = Promise.withResolvers<void>();
  log.subscribe([topic], () => resolve(), subscription.signal);
  const timer = setTimeout(resolve, timeoutMs);
  signal?.addEventListener("abort", () => resolve(), { once: true, signal: subscription.signal });
  try {
    if ((await log.head(topic)) > after) return;
    await promise;
  } finally {
    clearTimeout(timer);
    subscription.abort();
  }
}
