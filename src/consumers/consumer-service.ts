import type { Config } from "../config.ts";
import { ConsumerNotFoundError, ConsumersCorruptError } from "../errors.ts";
import { formatEventId } from "../events/event-id.ts";
import type { ConsumerStore, StoredConsumer } from "../store/consumer-store.ts";
import type { DispatchLeases } from "../store/dispatch-leases.ts";
import type { EventLog } from "../store/event-log.ts";
import type { ConsumerDetails, ConsumerRegistration, Consumers, RegisteredConsumer, TopicProgress } from "./consumer-model.ts";
import { topicProgress } from "./consumer-progress.ts";
import { assertPublicCallback, publicOnlyFetch, type ResolveFn, systemResolve } from "./callback-policy.ts";
import type { FetchFn } from "./delivery.ts";
import { validateRegistration } from "./registration.ts";
import { type ConsumerRuntime, createSubscription, type Subscription } from "./subscription.ts";
import { type DispatcherHooks, TopicDispatcher } from "./topic-dispatcher.ts";
import { secretKey } from "./webhook-signer.ts";

/** The delivery settings, named as in `Config` so the server passes its config straight in. */
type DeliverySettings = Pick<
  Config,
  | "deliveryBatchSize"
  | "deliveryMaxBytes"
  | "deliveryTimeoutMs"
  | "consumerRetryBaseMs"
  | "consumerRetryMaxMs"
  | "consumerMaxAttempts"
  | "onConsumerFailure"
>;

export interface ConsumerServiceOptions extends DeliverySettings {
  log: EventLog;
  /** Registrations and cursors (the backend's consumer store, which the backend closes). */
  store: ConsumerStore;
  /** Which consumers this node delivers (all of them, except in cluster mode). */
  leases: DispatchLeases;
  /** Whether a topic exists (the topic registry decides). */
  topicExists: (topic: string) => boolean;
  /** Reads topics unknown here again from a store shared with other nodes, so a topic just created elsewhere can be registered for. */
  refreshTopics?: (names: string[]) => Promise<unknown>;
  /**
   * `false`: callbacks must resolve to public addresses only, checked at
   * registration and again before every delivery. @default true
   */
  callbackAllowPrivate?: boolean;
  /** Host name → addresses, for the callback policy. @default systemResolve (getaddrinfo) */
  resolve?: ResolveFn;
  /** @default globalThis.fetch */
  fetch?: FetchFn;
  /** ms since the epoch. @default Date.now */
  now?: () => number;
  /** Backoff jitter source. @default Math.random */
  random?: () => number;
  /** @default crypto.randomUUID */
  newId?: () => string;
  /** Removals, pauses and persistence problems. @default console.warn */
  report?: (message: string) => void;
  /** Every finished webhook call, for metrics. */
  onDelivery?: (consumerId: string, topic: string, result: "success" | "failure" | "gone", seconds: number) => void;
}

interface ConsumerEntry {
  runtime: ConsumerRuntime;
  /** One per topic; in dispatchers only while `dispatching`. */
  subs: Subscription[];
  /** This node holds the consumer's lease and delivers it. */
  dispatching: boolean;
}

/**
 * Registers consumers and delivers to them: owns the store of registrations
 * and cursors and one TopicDispatcher per topic that has consumers (started
 * with the topic's first subscription, stopped with its last). Knows every
 * consumer, but delivers only those whose lease this node holds (in cluster
 * mode the others are another node's; alone, a node holds them all). Also
 * answers /health's questions about delivery.
 */
export class ConsumerService implements Consumers {
  private readonly entries = new Map<string, ConsumerEntry>();
  private readonly dispatchers = new Map<string, TopicDispatcher>();
  private readonly stopping = new Set<Promise<void>>();
  private readonly hooks: DispatcherHooks;
  private readonly now: () => number;
  private readonly report: (message: string) => void;
  private subscription: AbortController | null = null;
  private readonly store: ConsumerStore;

  private constructor(private readonly options: ConsumerServiceOptions) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.report = options.report ?? ((message: string) => console.warn(message));
    this.hooks = {
      delivered: (sub) => this.persistCursor(sub),
      exhausted: (sub, error) => this.onExhausted(sub, error),
      gone: (sub) => this.removeFailed(sub.consumer.id, "its callback answered 410 Gone"),
      report: this.report,
      ...(options.onDelivery ? { observed: (sub, result, seconds) => options.onDelivery!(sub.consumer.id, sub.topic, result, seconds) } : {}),
    };
  }

  /** Loads the registrations; `start()` begins delivering. */
  static create(options: ConsumerServiceOptions): ConsumerService {
    for (const stored of options.store.list()) {
      if (secretKey(stored.secret) === null) throw new ConsumersCorruptError(`consumer ${stored.id} in consumers.json has an invalid secret`);
    }
    return new ConsumerService(options);
  }

  start(): void {
    for (const stored of this.store.list()) this.know(stored);
    if (this.subscription !== null) return;
    this.subscription = new AbortController();
    // Every writer's commits and consumer changes: in cluster mode another node may have made them.
    this.options.log.subscribe(null, (topic) => this.dispatchers.get(topic)?.wake(), this.subscription.signal);
    this.store.watch((id) => this.changedElsewhere(id), this.subscription.signal);
    this.options.leases.start(() => this.entries.keys(), { gained: (id) => this.gained(id), lost: (id) => this.lost(id) });
  }

  /**
   * Cancels deliveries in flight (their batches are re-sent after a restart),
   * then gives up this node's leases so other nodes take over at once; the
   * backend then writes the last cursors.
   */
  async stop(): Promise<void> {
    this.subscription?.abort();
    for (const dispatcher of this.dispatchers.values()) this.track(dispatcher.stop());
    this.dispatchers.clear();
    this.entries.clear();
    while (this.stopping.size > 0) await Promise.all(this.stopping);
    await this.options.leases.stop();
  }

  async register(registration: ConsumerRegistration): Promise<RegisteredConsumer> {
    const { log, topicExists } = this.options;
    // The heads first, as validation is synchronous; it reports problems in its own order.
    const heads = new Map<string, number>();
    const topics: unknown = registration.topics;
    if (typeof topics === "object" && topics !== null && !Array.isArray(topics)) {
      // One read per topic until one is missing there too: the registration is refused at that one anyway.
      for (const topic of Object.keys(topics)) {
        if (topicExists(topic) || this.options.refreshTopics === undefined) continue;
        await this.options.refreshTopics([topic]);
        if (!topicExists(topic)) break;
      }
      for (const topic of Object.keys(topics)) if (topicExists(topic)) heads.set(topic, await log.head(topic));
    }
    const valid = validateRegistration(registration, { exists: topicExists, head: (topic) => heads.get(topic) ?? 0 });
    if (this.options.callbackAllowPrivate === false) await assertPublicCallback(valid.callback, this.options.resolve ?? systemResolve);
    const id = (this.options.newId ?? (() => crypto.randomUUID()))();
    const stored: StoredConsumer = {
      id,
      callback: valid.callback,
      secret: valid.secret,
      cursors: valid.cursors,
      paused: false,
      createdAt: new Date(this.now()).toISOString(),
    };
    await this.store.add(stored);
    this.know(stored);
    await this.options.leases.claim(id);
    return { consumerId: id, secret: valid.secret };
  }

  list(): Promise<ConsumerDetails[]> {
    return Promise.all([...this.entries.values()].map((entry) => this.details(entry)));
  }

  get(id: string): Promise<ConsumerDetails> {
    try {
      return this.details(this.require(id));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private async details({ runtime, subs }: ConsumerEntry): Promise<ConsumerDetails> {
    const id = runtime.id;
    const lag: Record<string, number> = {};
    const progress: Record<string, TopicProgress> = {};
    const now = this.now();
    let attempts = 0;
    let nextAttemptAt: number | null = null;
    // One snapshot: cursors may move while the reads below wait on the backend, and `topics` must agree with `lag`.
    const topics = cursorIds(subs);
    const cursors = subs.map((sub) => sub.durableCursor);
    for (const [i, sub] of subs.entries()) {
      progress[sub.topic] = await topicProgress(this.options.log, sub.topic, cursors[i]!, now);
      lag[sub.topic] = progress[sub.topic]!.lag;
      attempts = Math.max(attempts, sub.attempts);
      if (sub.attempts > 0 && sub.retryAt !== null) nextAttemptAt = Math.min(nextAttemptAt ?? Infinity, sub.retryAt);
    }
    return {
      id,
      callback: runtime.callback,
      topics,
      status: runtime.paused ? "paused" : attempts > 0 ? "retrying" : "active",
      lag,
      attempts,
      lastError: runtime.lastError,
      nextAttemptAt: runtime.paused || nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
      progress,
      dispatcher: this.options.leases.holder(id),
    };
  }

  async unregister(id: string): Promise<void> {
    this.require(id);
    this.detach(id);
    await this.store.remove(id);
    await this.options.leases.release(id);
  }

  async resume(id: string): Promise<void> {
    const { runtime, subs } = this.require(id);
    runtime.paused = false;
    for (const sub of subs) {
      sub.attempts = 0;
      sub.retryAt = null;
    }
    await this.store.setPaused(id, false);
    for (const sub of subs) this.dispatchers.get(sub.topic)?.wake();
  }

  consumerCount(): number {
    return this.entries.size;
  }

  runningDispatchers(): string[] {
    return [...this.dispatchers.keys()].sort();
  }

  private require(id: string): ConsumerEntry {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new ConsumerNotFoundError(id, this.store.removal(id));
    return entry;
  }

  /** Adds a consumer this node did not know; it is delivered once its lease is gained. */
  private know(stored: StoredConsumer): void {
    if (this.entries.has(stored.id)) return;
    const key = secretKey(stored.secret);
    if (key === null) return this.report(`consumer ${stored.id} has an invalid secret and is not delivered`);
    const runtime: ConsumerRuntime = { id: stored.id, callback: stored.callback, key, paused: stored.paused, lastError: null };
    const subs = Object.entries(stored.cursors).map(([topic, cursor]) => createSubscription(runtime, topic, cursor));
    this.entries.set(stored.id, { runtime, subs, dispatching: false });
  }

  /** This node holds the lease now: deliver from the durable cursors (the backend re-read them first). */
  private gained(id: string): void {
    const entry = this.entries.get(id);
    const stored = this.store.get(id);
    if (entry === undefined || stored === undefined) {
      void this.options.leases.release(id);
      return;
    }
    if (entry.dispatching) return;
    entry.dispatching = true;
    entry.runtime.paused = stored.paused;
    entry.subs = Object.entries(stored.cursors).map(([topic, cursor]) => createSubscription(entry.runtime, topic, cursor));
    for (const sub of entry.subs) this.dispatcherFor(sub.topic).add(sub);
  }

  private lost(id: string): void {
    const entry = this.entries.get(id);
    if (entry?.dispatching) this.undispatch(entry);
  }

  /** Another node registered, removed, paused, resumed or delivered this consumer. */
  private changedElsewhere(id: string): void {
    const stored = this.store.get(id);
    const entry = this.entries.get(id);
    if (stored === undefined) {
      if (entry === undefined) return;
      this.detach(id);
      void this.options.leases.release(id);
      return;
    }
    if (entry === undefined) return this.know(stored);
    const resumed = entry.runtime.paused && !stored.paused;
    entry.runtime.paused = stored.paused;
    if (resumed) {
      for (const sub of entry.subs) {
        sub.attempts = 0;
        sub.retryAt = null;
        this.dispatchers.get(sub.topic)?.wake();
      }
    }
    if (entry.dispatching) return;
    // Shown by `GET /consumers/{id}` here while another node delivers it.
    for (const sub of entry.subs) {
      const cursor = stored.cursors[sub.topic] ?? 0;
      if (cursor > sub.durableCursor) sub.cursor = sub.durableCursor = cursor;
    }
  }

  /** Ends a consumer's deliveries and forgets it. */
  private detach(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    if (entry.dispatching) this.undispatch(entry);
  }

  /** Ends a consumer's deliveries on this node; a dispatcher left without subscriptions stops. */
  private undispatch(entry: ConsumerEntry): void {
    entry.dispatching = false;
    for (const sub of entry.subs) {
      const dispatcher = this.dispatchers.get(sub.topic);
      if (dispatcher === undefined) continue;
      dispatcher.remove(sub);
      if (dispatcher.size === 0) {
        this.dispatchers.delete(sub.topic);
        // Not awaited: this may run inside one of the dispatcher's own deliveries.
        this.track(dispatcher.stop());
      }
    }
  }

  private dispatcherFor(topic: string): TopicDispatcher {
    let dispatcher = this.dispatchers.get(topic);
    if (dispatcher === undefined) {
      const o = this.options;
      const baseFetch: FetchFn = o.fetch ?? ((url, init) => fetch(url, init));
      dispatcher = new TopicDispatcher({
        topic,
        log: o.log,
        hooks: this.hooks,
        fetch: o.callbackAllowPrivate === false ? publicOnlyFetch(baseFetch, o.resolve ?? systemResolve) : baseFetch,
        now: this.now,
        random: o.random ?? Math.random,
        batchSize: o.deliveryBatchSize,
        maxBytes: o.deliveryMaxBytes,
        timeoutMs: o.deliveryTimeoutMs,
        backoff: { baseMs: o.consumerRetryBaseMs, maxMs: o.consumerRetryMaxMs },
        maxAttempts: o.consumerMaxAttempts,
      });
      this.dispatchers.set(topic, dispatcher);
    }
    return dispatcher;
  }

  private async persistCursor(sub: Subscription): Promise<void> {
    const cursor = sub.cursor;
    try {
      await this.store.advance(sub.consumer.id, sub.topic, cursor);
      sub.durableCursor = Math.max(sub.durableCursor, cursor);
    } catch (error) {
      // Delivery goes on; the cursor reaches the file with the next successful write (until then a restart re-sends).
      this.report(`consumers: could not persist the cursor of consumer ${sub.consumer.id} on '${sub.topic}': ${describe(error)}`);
    }
  }

  private onExhausted(sub: Subscription, error: string): void {
    const { consumerMaxAttempts, onConsumerFailure } = this.options;
    const reason = `${consumerMaxAttempts} consecutive failed deliveries of topic '${sub.topic}' (last: ${error})`;
    if (onConsumerFailure === "remove") {
      this.removeFailed(sub.consumer.id, reason);
      return;
    }
    if (sub.consumer.paused) return;
    sub.consumer.paused = true;
    this.report(`consumer ${sub.consumer.id} (${sub.consumer.callback}) paused after ${reason}; POST /consumers/${sub.consumer.id}/resume to retry`);
    this.store.setPaused(sub.consumer.id, true).catch((failure: unknown) => {
      this.report(`consumers: could not persist the pause of consumer ${sub.consumer.id}: ${describe(failure)}`);
    });
  }

  private removeFailed(id: string, reason: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.report(`consumer ${id} (${entry.runtime.callback}) removed: ${reason}`);
    this.detach(id);
    this.store
      .remove(id, { removedAt: new Date(this.now()).toISOString(), reason })
      .then(() => this.options.leases.release(id))
      .catch((failure: unknown) => {
        this.report(`consumers: could not persist the removal of consumer ${id}: ${describe(failure)}`);
      });
  }

  private track(promise: Promise<void>): void {
    this.stopping.add(promise);
    void promise.finally(() => this.stopping.delete(promise));
  }
}

function cursorIds(subs: readonly Subscription[]): Record<string, string | null> {
  const topics: Record<string, string | null> = {};
  for (const sub of subs) topics[sub.topic] = sub.durableCursor === 0 ? null : formatEventId(sub.topic, sub.durableCursor);
  return topics;
}

function describe(error: unknown): string {
  const cause = (error as Error)?.cause;
  return `${(error as Error)?.message ?? String(error)}${cause instanceof Error ? ` (${cause.message})` : ""}`;
}
