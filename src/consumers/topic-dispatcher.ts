import type { EventLog } from "../store/event-log.ts";
import { VERSION } from "../version.ts";
import { type BackoffOptions, backoffDelay } from "./backoff.ts";
import { deliver, type DeliveryOutcome, type FetchFn } from "./delivery.ts";
import { deliveryBody, fittingCount } from "./delivery-body.ts";
import type { Subscription } from "./subscription.ts";
import { batchMessageId, signWebhook } from "./webhook-signer.ts";

/** What a dispatcher reports back to the service that owns the consumers. */
export interface DispatcherHooks {
  /** A batch was acknowledged; resolves once the new cursor is persisted. */
  delivered(sub: Subscription): Promise<void>;
  /** The subscription failed `maxAttempts` times in a row. */
  exhausted(sub: Subscription, error: string): void;
  /** The receiver answered 410 Gone. */
  gone(sub: Subscription): void;
  report(message: string): void;
  /** Every finished webhook call (not the cancelled ones), for metrics. */
  observed?(sub: Subscription, result: "success" | "failure" | "gone", seconds: number): void;
}

export interface TopicDispatcherOptions {
  topic: string;
  log: EventLog;
  hooks: DispatcherHooks;
  fetch: FetchFn;
  /** ms since the epoch. */
  now: () => number;
  /** In [0, 1), for backoff jitter. */
  random: () => number;
  batchSize: number;
  maxBytes: number;
  timeoutMs: number;
  backoff: BackoffOptions;
  maxAttempts: number;
}

const USER_AGENT = `event-store/${VERSION}`;
/** How soon a loop asks again for a head the backend could not give. */
const HEAD_RETRY_MS = 1_000;

/**
 * The delivery loop of one topic. It sleeps until woken — by a commit to
 * its topic, a finished delivery, a change of its subscriptions, or the
 * earliest retry timer — then starts one delivery for every subscription
 * that is behind, idle and not backing off. Deliveries run concurrently and
 * are never awaited by the loop, so one slow receiver delays nobody else.
 */
export class TopicDispatcher {
  readonly topic: string;
  /** Resolves once the loop has ended and every delivery it started has settled. */
  readonly closed: Promise<void>;
  private readonly subs = new Set<Subscription>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly controller = new AbortController();
  private woken = false;
  private wakeSleeper: (() => void) | null = null;

  constructor(private readonly options: TopicDispatcherOptions) {
    this.topic = options.topic;
    this.closed = this.run();
  }

  get size(): number {
    return this.subs.size;
  }

  add(sub: Subscription): void {
    this.subs.add(sub);
    this.wake();
  }

  /** Ends a subscription, cancelling its delivery in flight. */
  remove(sub: Subscription): void {
    sub.controller.abort();
    this.subs.delete(sub);
  }

  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  /** Ends the loop and cancels deliveries in flight; their cursors stay where they are. */
  stop(): Promise<void> {
    this.controller.abort();
    this.wake();
    return this.closed;
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      this.woken = false;
      let head: number;
      try {
        head = await this.options.log.head(this.topic);
      } catch (error) {
        // The backend is unreachable for now: try again at the next wake-up or in a second.
        this.options.hooks.report(`dispatcher ${this.topic}: could not read the topic's head: ${(error as Error)?.message ?? String(error)}`);
        if (!this.woken) await this.sleep(this.options.now() + HEAD_RETRY_MS);
        continue;
      }
      if (signal.aborted) break;
      const nextRetryAt = this.startDue(head);
      // A wake-up during the scan (a delivery that finished synchronously) must not be slept through.
      if (this.woken) continue;
      await this.sleep(nextRetryAt);
    }
    await Promise.allSettled(this.tasks);
  }

  /** Starts every due delivery; returns the earliest pending retry time, if any. */
  private startDue(head: number): number | null {
    const now = this.options.now();
    let nextRetryAt: number | null = null;
    for (const sub of this.subs) {
      if (sub.inFlight || sub.consumer.paused) continue;
      if (sub.batch === null && sub.cursor >= head) continue;
      if (sub.retryAt !== null && sub.retryAt > now) {
        nextRetryAt = Math.min(nextRetryAt ?? Infinity, sub.retryAt);
        continue;
      }
      this.start(sub);
    }
    return nextRetryAt;
  }

  private sleep(until: number | null): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.wakeSleeper = resolve;
    const timer = until === null ? undefined : setTimeout(resolve, Math.max(0, until - this.options.now()));
    return promise.finally(() => {
      clearTimeout(timer);
      this.wakeSleeper = null;
    });
  }

  private start(sub: Subscription): void {
    sub.inFlight = true;
    const task = this.deliverNext(sub)
      .catch((error: unknown) => {
        // Not the receiver's fault (e.g. a log read failed): back off without counting an attempt.
        this.options.hooks.report(`dispatcher ${this.topic}: delivery to consumer ${sub.consumer.id} failed: ${(error as Error)?.message ?? String(error)}`);
        sub.retryAt = this.options.now() + backoffDelay(sub.attempts, this.options.backoff, this.options.random);
      })
      .finally(() => {
        sub.inFlight = false;
        this.tasks.delete(task);
        this.wake();
      });
    this.tasks.add(task);
  }

  private async deliverNext(sub: Subscription): Promise<void> {
    const { consumer } = sub;
    const lines = await this.batchLines(sub);
    if (lines.length === 0) throw new Error(`the log returned no events after sequence ${sub.cursor}`);
    const body = deliveryBody(consumer.id, lines);
    const timestamp = Math.floor(this.options.now() / 1000);
    const headers = {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      ...signWebhook(consumer.key, sub.batch!.messageId, timestamp, body),
    };
    const started = performance.now();
    const outcome = await deliver(this.options.fetch, {
      url: consumer.callback,
      body,
      headers,
      timeoutMs: this.options.timeoutMs,
      signal: AbortSignal.any([sub.controller.signal, this.controller.signal]),
      now: this.options.now,
    });
    if (outcome.kind === "aborted" || sub.controller.signal.aborted) return;
    this.options.hooks.observed?.(sub, outcome.kind === "ok" ? "success" : outcome.kind === "gone" ? "gone" : "failure", (performance.now() - started) / 1000);
    await this.settle(sub, outcome);
  }

  /** The pending batch, or a new one of at most `batchSize` events and `maxBytes` bytes after the cursor. */
  private async batchLines(sub: Subscription): Promise<Uint8Array[]> {
    const { log } = this.options;
    if (sub.batch !== null) return (await log.read(this.topic, { after: sub.cursor, limit: sub.batch.count })).events;
    const { events: lines } = await log.read(this.topic, { after: sub.cursor, limit: this.options.batchSize });
    if (lines.length === 0) return lines;
    const count = fittingCount(sub.consumer.id, lines, this.options.maxBytes);
    sub.batch = { count, messageId: batchMessageId(sub.consumer.id, this.topic, sub.cursor + 1, sub.cursor + count) };
    return lines.slice(0, count);
  }

  private async settle(sub: Subscription, outcome: Exclude<DeliveryOutcome, { kind: "aborted" }>): Promise<void> {
    const { hooks, maxAttempts } = this.options;
    switch (outcome.kind) {
      case "ok":
        sub.cursor += sub.batch!.count;
        sub.batch = null;
        sub.attempts = 0;
        sub.retryAt = null;
        // The next batch waits for this cursor to be durable, so a crash re-sends at most one batch.
        await hooks.delivered(sub);
        return;
      case "gone":
        sub.consumer.lastError = outcome.error;
        hooks.gone(sub);
        return;
      case "retry": {
        sub.attempts++;
        sub.consumer.lastError = outcome.error;
        if (sub.attempts >= maxAttempts) {
          sub.retryAt = null;
          hooks.exhausted(sub, outcome.error);
          return;
        }
        const delay = backoffDelay(sub.attempts - 1, this.options.backoff, this.options.random);
        sub.retryAt = this.options.now() + Math.max(delay, outcome.retryAfterMs ?? 0);
        return;
      }
    }
  }
}
