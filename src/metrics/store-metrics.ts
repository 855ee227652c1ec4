import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * A registry of prom-client's process metrics (CPU, memory, file descriptors,
 * event-loop lag, GC). They describe the process, not a store, and their
 * collectors (an event-loop monitor, a GC observer) live as long as the
 * process, so make one per process (main.ts does) and pass it to each store.
 */
export function createProcessMetrics(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
import type { ConsumerDetails, ConsumerStatus } from "../consumers/consumer-model.ts";
import { LabelBudget, OTHER } from "./label-budget.ts";
import { RequestTable } from "./request-table.ts";

/** What the metrics read at scrape time (from any backend, so asynchronously); nothing of it is touched while publishing. */
export interface MetricsSources {
  topics(): readonly string[];
  head(topic: string): Promise<number>;
  consumers(): Promise<readonly ConsumerDetails[]>;
  idempotencyKeys(): Promise<number>;
}

/** The sources as of one scrape, read once before the gauges are collected. */
interface Snapshot {
  topics: readonly string[];
  heads: ReadonlyMap<string, number>;
  consumers: readonly ConsumerDetails[];
  idempotencyKeys: number;
}

/** One group commit of the log: its batches, events and the time from write to the last fsync. */
export interface GroupCommitStats {
  batches: number;
  events: number;
  seconds: number;
}

/** How a webhook call ended, as counted: 2xx, a failure to be retried, or 410 Gone. */
export type DeliveryResult = "success" | "failure" | "gone";

export interface StoreMetricsOptions {
  /** Most topics, and most consumer×topic pairs, with their own label value. @default 100 */
  maxLabelled?: number;
  /** Served after the store's metrics; see createProcessMetrics. @default none */
  processMetrics?: Registry;
}

const STATES: readonly ConsumerStatus[] = ["active", "retrying", "paused"];
const PAIR = "\u0000";

/**
 * The store's Prometheus metrics, on a registry of its own (no global state,
 * so several stores in one process — a test suite — do not mix). Counters
 * and histograms are updated once per request, group commit or delivery;
 * heads, cursors, lag and key counts are read from `MetricsSources` only
 * when scraped.
 */
export class StoreMetrics {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;
  private snapshot: Snapshot | null = null;
  private readonly topicBudget: LabelBudget;
  private readonly pairBudget: LabelBudget;
  private readonly requests: RequestTable;
  private readonly eventsAppended: Counter;
  private readonly batchesAppended: Counter;
  private readonly commitDuration: Histogram;
  private readonly commitBatches: Histogram;
  private readonly deliveries: Counter<"consumer" | "topic" | "outcome">;
  private readonly deliveryDuration: Histogram<"consumer" | "topic">;
  private readonly processMetrics: Registry | undefined;

  constructor(options: StoreMetricsOptions = {}) {
    this.processMetrics = options.processMetrics;
    const max = options.maxLabelled ?? 100;
    this.topicBudget = new LabelBudget(max);
    this.pairBudget = new LabelBudget(max);
    const registers = [this.registry];
    this.requests = new RequestTable(
      { name: "event_store_http_requests_total", help: "HTTP requests by route pattern and status", registers },
      {
        name: "event_store_http_request_duration_seconds",
        help: "Time from receiving a request until its response is ready (long-polls included)",
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      },
    );
    this.eventsAppended = new Counter({ name: "event_store_events_appended_total", help: "Events stored (acknowledged)", registers });
    this.batchesAppended = new Counter({ name: "event_store_batches_appended_total", help: "Batches (POST /events) stored", registers });
    this.commitDuration = new Histogram({
      name: "event_store_group_commit_duration_seconds",
      help: "Write plus fsync of one group commit",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.commitBatches = new Histogram({ name: "event_store_group_commit_batches", help: "Batches that shared one group commit (one fsync)", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers });
    this.deliveries = new Counter({ name: "event_store_consumer_deliveries_total", help: "Webhook calls by outcome: success (2xx), failure (retried), gone (410)", labelNames: ["consumer", "topic", "outcome"], registers });
    this.deliveryDuration = new Histogram({
      name: "event_store_consumer_delivery_duration_seconds",
      help: "Time of one webhook call",
      labelNames: ["consumer", "topic"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lazyGauges(registers);
  }

  /** Connects the stores the scrape-time gauges read; until then they are empty. */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** The exposition, in the Prometheus text format. */
  async scrape(): Promise<string> {
    this.snapshot = null;
    try {
      this.snapshot = await this.read();
      // Before the counters are written: it drops the series of consumers gone since the last scrape.
      this.consumersNow();
      const store = await this.registry.metrics();
      return this.processMetrics ? `${store}\n${await this.processMetrics.metrics()}` : store;
    } finally {
      this.snapshot = null;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** One finished HTTP request; `route` is the matched pattern (`/topics/:topic`), so it is bounded by the route table. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe(method, route, status, seconds);
  }

  observeGroupCommit(stats: GroupCommitStats): void {
    this.eventsAppended.inc(stats.events);
    this.batchesAppended.inc(stats.batches);
    this.commitBatches.observe(stats.batches);
    this.commitDuration.observe(stats.seconds);
  }

  observeDelivery(consumer: string, topic: string, result: DeliveryResult, seconds: number): void {
    const labels = this.pairLabels(consumer, topic);
    this.deliveries.inc({ ...labels, outcome: result });
    this.deliveryDuration.observe(labels, seconds);
  }

  private pairLabels(consumer: string, topic: string): { consumer: string; topic: string } {
    return this.pairBudget.admit(consumer + PAIR + topic) ? { consumer, topic } : { consumer: OTHER, topic: OTHER };
  }

  private topicLabel(topic: string): string {
    return this.topicBudget.admit(topic) ? topic : OTHER;
  }

  private async read(): Promise<Snapshot | null> {
    const sources = this.sources;
    if (sources === null) return null;
    const topics = sources.topics();
    const [heads, consumers, idempotencyKeys] = await Promise.all([
      Promise.all(topics.map(async (topic) => [topic, await sources.head(topic)] as const)),
      sources.consumers(),
      sources.idempotencyKeys(),
    ]);
    const snapshot: Snapshot = { topics, heads: new Map(heads), consumers, idempotencyKeys };
    // Frees the labels of consumers gone since the last scrape.
    const current = new Set<string>();
    for (const consumer of consumers) for (const topic of Object.keys(consumer.progress)) current.add(consumer.id + PAIR + topic);
    for (const key of this.pairBudget.retain(current)) {
      const [consumer, topic] = key.split(PAIR) as [string, string];
      for (const outcome of ["success", "failure", "gone"]) this.deliveries.remove({ consumer, topic, outcome });
      this.deliveryDuration.remove({ consumer, topic });
    }
    return snapshot;
  }

  /** The consumers as of this scrape (empty outside one). */
  private consumersNow(): readonly ConsumerDetails[] {
    return this.snapshot?.consumers ?? [];
  }

  private lazyGauges(registers: Registry[]): void {
    const metrics = this;
    new Gauge({
      name: "event_store_topics",
      help: "Topics defined",
      registers,
      collect() {
        this.set(metrics.snapshot?.topics.length ?? 0);
      },
    });
    new Gauge({
      name: "event_store_topic_head_sequence",
      help: "Sequence of each topic's last event (topics past the label limit: summed under _other)",
      labelNames: ["topic"],
      registers,
      collect() {
        this.reset();
        const snapshot = metrics.snapshot;
        if (snapshot === null) return;
        for (const topic of snapshot.topics) this.inc({ topic: metrics.topicLabel(topic) }, snapshot.heads.get(topic) ?? 0);
      },
    });
    new Gauge({
      name: "event_store_idempotency_keys",
      help: "Idempotency keys held (within IDEMPOTENCY_TTL_HOURS)",
      registers,
      collect() {
        this.set(metrics.snapshot?.idempotencyKeys ?? 0);
      },
    });
    new Gauge({
      name: "event_store_consumers",
      help: "Registered consumers by state",
      labelNames: ["state"],
      registers,
      collect() {
        const counts = new Map<string, number>(STATES.map((state) => [state, 0]));
        for (const consumer of metrics.consumersNow()) counts.set(consumer.status, (counts.get(consumer.status) ?? 0) + 1);
        for (const [state, count] of counts) this.set({ state }, count);
      },
    });
    const perPair = (name: string, help: string, value: (consumer: ConsumerDetails, topic: string) => number, combine: (a: number, b: number) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ["consumer", "topic"],
        registers,
        collect() {
          this.reset();
          const values = new Map<string, { labels: { consumer: string; topic: string }; value: number }>();
          for (const consumer of metrics.consumersNow()) {
            for (const topic of Object.keys(consumer.progress)) {
              const labels = metrics.pairLabels(consumer.id, topic);
              const key = labels.consumer + PAIR + labels.topic;
              const seen = values.get(key);
              const v = value(consumer, topic);
              values.set(key, { labels, value: seen === undefined ? v : combine(seen.value, v) });
            }
          }
          for (const { labels, value: v } of values.values()) this.set(labels, v);
        },
      });
    const sum = (a: number, b: number) => a + b;
    perPair("event_store_consumer_cursor_sequence", "Sequence of the last event delivered to the consumer", (c, t) => c.progress[t]!.cursor, Math.max);
    perPair("event_store_consumer_lag_events", "Events of the topic not yet delivered to the consumer", (c, t) => c.progress[t]!.lag, sum);
    perPair("event_store_consumer_lag_seconds", "Age of the oldest event not yet delivered to the consumer (0: caught up)", (c, t) => c.progress[t]!.lagSeconds, Math.max);
    new Gauge({
      name: "event_store_consumer_state",
      help: "1 for the consumer's current state (active, retrying, paused)",
      labelNames: ["consumer", "state"],
      registers,
      collect() {
        this.reset();
        for (const consumer of metrics.consumersNow()) {
          const topic = Object.keys(consumer.progress)[0] ?? "";
          // Labelled when one of its pairs is: the consumer then has series of its own elsewhere too.
          if (metrics.pairLabels(consumer.id, topic).consumer === OTHER) continue;
          for (const state of STATES) this.set({ consumer: consumer.id, state }, consumer.status === state ? 1 : 0);
        }
      },
    });
  }
}
