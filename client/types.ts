/**
 * Public data types of the Event Store HTTP API, as seen by the client.
 *
 * @module
 */

/** A stored event. Its `id` has the form `<topic>-<sequence>`. */
export interface Event {
  /** Globally unique id, `<topic>-<sequence>`, e.g. `"user-events-42"`. */
  id: string;
  /** ISO 8601 time at which the server stored the event. */
  timestamp: string;
  /** Event type, e.g. `"user.created"`; selects the schema that validated it. */
  type: string;
  /** The JSON object that was published. */
  payload: Record<string, unknown>;
}

/** A JSON Schema for one event type of a topic. */
export interface Schema {
  /** The event type this schema validates, e.g. `"user.created"`. */
  eventType: string;
  /** `"object"` when given: payloads are JSON objects. */
  type?: string;
  /** JSON Schema dialect: draft 2020-12 (the default) or `"http://json-schema.org/draft-07/schema#"`. */
  $schema?: string;
  /** JSON Schema `properties` of the payload. */
  properties?: Record<string, unknown>;
  /** Payload properties that must be present. */
  required?: string[];
  /** Any other JSON Schema keyword (`additionalProperties`, ...). */
  [keyword: string]: unknown;
}

/** A topic with its current sequence number and schemas. */
export interface TopicDetails {
  name: string;
  /** Sequence number of the last event stored in the topic (0 when empty). */
  sequence: number;
  schemas: Schema[];
}

/** Answer of `GET /health`. */
export interface Health {
  status: string;
  /** Number of registered consumers. */
  consumers: number;
  /** Topics whose dispatcher is running on this node. */
  runningDispatchers: string[];
  /** Cluster mode only: this node's id (NODE_ID). */
  node?: string;
  /** Cluster mode only: JetStream as this node sees it. */
  cluster?: ClusterHealth;
}

/** What a cluster-mode node sees of JetStream, in `GET /health`. */
export interface ClusterHealth {
  /** JetStream answered this node just now. */
  reachable: boolean;
  /** The event stream's replica group; `null` when JetStream did not answer. */
  stream: {
    name: string;
    /** The nats-server leading the stream; `null` while it has no quorum. */
    leader: string | null;
    /** The other replicas: caught up with the leader or not, and how far behind. */
    replicas: { name: string; current: boolean; lag: number }[];
  } | null;
}

/** What a consumer sends to `POST /consumers/register`. */
export interface ConsumerRegistration {
  /** URL the server POSTs event batches to. */
  callback: string;
  /** Topic name → id of the last event already processed, or `null` for all events. */
  topics: Record<string, string | null>;
  /**
   * Webhook signing secret (`whsec_<base64 key>`); the server generates one
   * when it is omitted.
   */
  secret?: string;
}

/** How far a consumer is behind on one topic. */
export interface TopicProgress {
  /** Sequence of the topic's last event (0: none yet). */
  head: number;
  /** Sequence of the last event delivered (0: none). */
  cursor: number;
  /** Events not yet delivered: `head - cursor`. */
  lag: number;
  /** When the oldest undelivered event was stored, ISO 8601; `null` when nothing is pending. */
  oldestPendingAt: string | null;
  /** Seconds since `oldestPendingAt`; 0 when nothing is pending. */
  lagSeconds: number;
}

/**
 * A consumer as listed by `GET /consumers`. This server lists each consumer
 * with its delivery state too (the optional fields); servers of the original
 * API send only `id`, `callback` and `topics`.
 */
export interface ConsumerSummary {
  id: string;
  callback: string;
  /** Topic name → id of the last event delivered, or `null` when none yet. */
  topics: Record<string, string | null>;
  status?: ConsumerStatus;
  lag?: Record<string, number>;
  attempts?: number;
  lastError?: string | null;
  nextAttemptAt?: string | null;
  /** Topic name → head, cursor, lag and the age of the oldest pending event. */
  progress?: Record<string, TopicProgress>;
  /** The node delivering it (its NODE_ID); `null` while no node holds it (cluster mode, during a takeover). */
  dispatcher?: string | null;
}

/** Delivery state of a consumer. */
export type ConsumerStatus = "active" | "retrying" | "paused";

/** A consumer with its delivery state, from `GET /consumers/{id}`. */
export interface ConsumerDetails extends ConsumerSummary {
  status: ConsumerStatus;
  /** Topic name → number of events not yet delivered. */
  lag: Record<string, number>;
  /** Failed delivery attempts since the last success. */
  attempts: number;
  /** Message of the last delivery failure, if any. */
  lastError: string | null;
  /** ISO 8601 time of the next delivery attempt while retrying. */
  nextAttemptAt: string | null;
}

/** Answer of `POST /consumers/register`. */
export interface RegisteredConsumer {
  consumerId: string;
  /** The secret the server signs deliveries with (`whsec_...`). */
  secret: string;
}

/** One event to publish. */
export interface PublishEventInput {
  topic: string;
  type: string;
  payload: Record<string, unknown>;
}

/** Filters of `GET /topics/{topic}/events`. */
export interface GetEventsOptions {
  /** Only events after this id. */
  sinceEventId?: string;
  /** Only events stored on this day, `YYYY-MM-DD`. */
  date?: string;
  /** Maximum number of events to return. */
  limit?: number;
}

/** Options of `EventStoreClient`. */
export interface EventStoreConfig {
  /**
   * Server URL, e.g. `"http://localhost:8000"`. Trailing slashes are ignored.
   * Falls back to the `EVENT_STORE_BASE_URL` environment variable.
   */
  baseUrl?: string;
  /**
   * Time limit of one HTTP attempt, in milliseconds.
   * @default 30000
   */
  timeout?: number;
  /**
   * How many times a request failing with a network error, a timeout or a
   * 5xx status is retried (so at most `retries + 1` attempts). A `429` is
   * retried too when the request is safe to repeat (reads, deletes, schema
   * updates, and publishes, which carry their `Idempotency-Key`). When a
   * `429` or `503` carries `Retry-After`, the retry waits that long plus
   * jitter instead of the backoff.
   * @default 3
   */
  retries?: number;
  /**
   * Backoff before the first retry, in milliseconds; doubles on each retry.
   * @default 1000
   */
  retryDelay?: number;
  /**
   * Longest wait between two attempts, in milliseconds: caps the backoff,
   * and a `Retry-After` asking for longer is not waited for (the error is
   * thrown at once, with `retryAfterMs`).
   * @default 30000
   */
  maxRetryDelay?: number;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * The transport: a `fetch` implementation to use, e.g. for tests, proxies
   * or instrumentation. Any function with the shape of the global `fetch`
   * fits; it is called with a full URL string and a `RequestInit`.
   * @default globalThis.fetch
   *
   * @example
   * ```ts
   * const client = new EventStoreClient({
   *   baseUrl: "http://localhost:8000",
   *   fetch: (url, init) => { console.log(init.method, url); return fetch(url, init); },
   * });
   * ```
   */
  fetch?: FetchFn;
}

/**
 * The part of `fetch` the client calls. Narrower than `typeof fetch` so a
 * plain wrapper fits (Bun's `typeof fetch` also demands `preconnect`).
 */
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;
