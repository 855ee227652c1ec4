/**
 * The Event Store HTTP client.
 *
 * @module
 */
import { sleep } from "./abort.ts";
import { resolveConfig } from "./config.ts";
import { EventStoreError } from "./errors.ts";
import { streamTopicEvents } from "./event-stream.ts";
import type { StreamEventsOptions } from "./event-stream.ts";
import { randomUuid } from "./web-crypto.ts";
import { FetchTransport } from "./http-transport.ts";
import type {
  ConsumerDetails,
  ConsumerRegistration,
  ConsumerSummary,
  Event,
  EventStoreConfig,
  GetEventsOptions,
  Health,
  PublishEventInput,
  RegisteredConsumer,
  Schema,
  TopicDetails,
} from "./types.ts";

/** How long `waitForServer` waits by default, in ms. @default 30000 */
export const DEFAULT_MAX_WAIT_TIME_MS = 30_000;
/** Pause between two health probes of `waitForServer`, in ms. @default 100 */
export const DEFAULT_SERVER_POLL_INTERVAL_MS = 100;
/** Time limit of one health probe of `waitForServer`, in ms. @default 1000 */
export const HEALTH_PROBE_TIMEOUT_MS = 1_000;

/** Options of {@link EventStoreClient.waitForServer}. */
export interface WaitForServerOptions {
  /**
   * Give up after this many ms.
   * @default 30000
   */
  maxWaitTime?: number;
  /**
   * Pause between two probes, in ms.
   * @default 100
   */
  pollInterval?: number;
  /**
   * Throw an `EventStoreError` with code `"TIMEOUT"` on time-out; when
   * `false`, resolve `false` instead.
   * @default true
   */
  throwOnTimeout?: boolean;
}

/** Options of {@link EventStoreClient.publishEvent}. */
export interface PublishEventOptions {
  /**
   * Optimistic concurrency: the server stores the event only if the topic's
   * current sequence equals this number.
   */
  expectedSequence?: number;
  /**
   * Sent as the `Idempotency-Key` header; a random UUID when omitted. Reuse
   * it to make a repeated publish a no-op.
   */
  idempotencyKey?: string;
}

/** Options of {@link EventStoreClient.publishEvents}. */
export interface PublishEventsOptions {
  /** Sent as the `Idempotency-Key` header; a random UUID when omitted. */
  idempotencyKey?: string;
}

/** One event of {@link EventStoreClient.publishEvents}. */
export interface PublishEventsItem extends PublishEventInput {
  /** Store the batch only if this topic's current sequence equals this number. */
  expectedSequence?: number;
}

/**
 * Client of the Event Store HTTP API. Runs wherever `fetch` does (Bun,
 * Node 22 and 24 (18 and 20 work too), Deno, browsers) and has no dependencies.
 *
 * Failed requests throw {@link EventStoreError}. Network errors, timeouts and
 * 5xx answers are retried with exponential backoff, and `429` for requests
 * safe to repeat; a `Retry-After` is honoured (with jitter, up to
 * `maxRetryDelay`). Other 4xx answers are not retried.
 *
 * @example
 * ```ts
 * const client = new EventStoreClient({ baseUrl: "http://localhost:8000" });
 * await client.waitForServer({ maxWaitTime: 5000 });
 * const id = await client.publishEvent("user-events", "user.created", { id: "123" });
 * ```
 */
export class EventStoreClient {
  readonly #transport: FetchTransport;

  /**
   * @throws {Error} when no base URL is given nor set in `EVENT_STORE_BASE_URL`,
   * or an option is out of range.
   *
   * @example
   * ```ts
   * const client = new EventStoreClient({
   *   baseUrl: "http://localhost:8000",
   *   timeout: 10_000,
   *   retries: 3,
   *   retryDelay: 1_000,
   *   token: "secret-token",
   * });
   * ```
   */
  constructor(config: EventStoreConfig = {}) {
    this.#transport = new FetchTransport(resolveConfig(config));
  }

  /**
   * The server URL in use, without trailing slashes.
   *
   * @example
   * ```ts
   * new EventStoreClient({ baseUrl: "http://localhost:8000/" }).baseUrl; // "http://localhost:8000"
   * ```
   */
  get baseUrl(): string {
    return this.#transport.baseUrl;
  }

  /**
   * `GET /health`.
   *
   * @example
   * ```ts
   * const { status, consumers } = await client.getHealth();
   * ```
   */
  getHealth(): Promise<Health> {
    return this.#transport.request<Health>({ method: "GET", path: "/health" });
  }

  /**
   * Polls `GET /health` until it answers 2xx. Each probe is a single attempt
   * with a short time limit.
   *
   * @returns `true` once the server answers; `false` on time-out when
   * `throwOnTimeout` is `false`.
   * @throws {EventStoreError} code `"TIMEOUT"`, status 0, on time-out (the
   * last probe's error is the `cause`).
   *
   * @example
   * ```ts
   * await client.waitForServer({ maxWaitTime: 5000, pollInterval: 100 });
   * const up = await client.waitForServer({ maxWaitTime: 1000, throwOnTimeout: false });
   * ```
   */
  async waitForServer(options: WaitForServerOptions = {}): Promise<boolean> {
    const {
      maxWaitTime = DEFAULT_MAX_WAIT_TIME_MS,
      pollInterval = DEFAULT_SERVER_POLL_INTERVAL_MS,
      throwOnTimeout = true,
    } = options;
    const deadline = Date.now() + maxWaitTime;
    let lastError: unknown;
    for (;;) {
      try {
        await this.#transport.request({
          method: "GET",
          path: "/health",
          retries: 0,
          timeout: Math.max(1, Math.min(HEALTH_PROBE_TIMEOUT_MS, deadline - Date.now())),
        });
        return true;
      } catch (error) {
        // A probe cut short by the deadline says nothing new about the server: the failure before it is the cause.
        if (lastError === undefined || !(error instanceof EventStoreError && error.code === "TIMEOUT")) lastError = error;
      }
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(pollInterval, left));
    }
    if (!throwOnTimeout) return false;
    throw new EventStoreError(
      `Event Store at ${this.baseUrl} not ready after ${maxWaitTime} ms`,
      { status: 0, code: "TIMEOUT", cause: lastError },
    );
  }

  /**
   * Whether `GET /health` answers 2xx, in one attempt; never throws.
   *
   * @example
   * ```ts
   * if (!(await client.testConnection())) console.error("Event Store is down");
   * ```
   */
  async testConnection(): Promise<boolean> {
    try {
      await this.#transport.request({ method: "GET", path: "/health", retries: 0 });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * `POST /topics`: creates a topic with the JSON Schemas of its event types.
   *
   * @example
   * ```ts
   * await client.createTopic("user-events", [{
   *   eventType: "user.created",
   *   type: "object",
   *   $schema: "https://json-schema.org/draft/2020-12/schema",
   *   properties: { id: { type: "string" } },
   *   required: ["id"],
   * }]);
   * ```
   */
  async createTopic(name: string, schemas: Schema[]): Promise<void> {
    await this.#transport.request({ method: "POST", path: "/topics", body: { name, schemas } });
  }

  /**
   * `GET /topics`: the names of all topics.
   *
   * @example
   * ```ts
   * const names = await client.getTopics(); // ["user-events", ...]
   * ```
   */
  async getTopics(): Promise<string[]> {
    const { topics } = await this.#transport.request<{ topics: string[] }>({
      method: "GET",
      path: "/topics",
    });
    return topics;
  }

  /**
   * `GET /topics/{name}`: a topic's sequence and schemas.
   *
   * @example
   * ```ts
   * const { sequence, schemas } = await client.getTopic("user-events");
   * ```
   */
  getTopic(name: string): Promise<TopicDetails> {
    return this.#transport.request<TopicDetails>({ method: "GET", path: topicPath(name) });
  }

  /**
   * `PUT /topics/{name}`: replaces a topic's schemas.
   *
   * @example
   * ```ts
   * await client.updateTopicSchemas("user-events", [userCreatedSchema, userDeletedSchema]);
   * ```
   */
  async updateTopicSchemas(name: string, schemas: Schema[]): Promise<void> {
    await this.#transport.request({ method: "PUT", path: topicPath(name), body: { schemas } });
  }

  /**
   * `POST /events` with one event; returns its id. A retried attempt carries
   * the same `Idempotency-Key`, so the event is stored at most once.
   *
   * @example
   * ```ts
   * const id = await client.publishEvent("user-events", "user.created", { id: "123" });
   * await client.publishEvent("user-events", "user.renamed", { id: "123", name: "Bo" }, {
   *   expectedSequence: 1,
   *   idempotencyKey: "rename-123-1",
   * });
   * ```
   */
  async publishEvent(
    topic: string,
    type: string,
    payload: Record<string, unknown>,
    options: PublishEventOptions = {},
  ): Promise<string> {
    const { expectedSequence, idempotencyKey } = options;
    const [id] = await this.publishEvents([{ topic, type, payload, expectedSequence }], {
      idempotencyKey,
    });
    if (id === undefined) {
      throw new EventStoreError("POST /events: response has no event id", {
        status: 201,
        code: "INVALID_RESPONSE",
      });
    }
    return id;
  }

  /**
   * `POST /events` with a batch, stored atomically; returns the ids in order.
   * A retried attempt carries the same `Idempotency-Key`.
   *
   * @example
   * ```ts
   * const ids = await client.publishEvents([
   *   { topic: "user-events", type: "user.created", payload: { id: "123" } },
   *   { topic: "audit-events", type: "user.verified", payload: { id: "123" } },
   * ]);
   * ```
   */
  async publishEvents(
    events: readonly PublishEventsItem[],
    options: PublishEventsOptions = {},
  ): Promise<string[]> {
    const body = events.map(({ topic, type, payload, expectedSequence }) =>
      expectedSequence === undefined
        ? { topic, type, payload }
        : { topic, type, payload, expectedSequence },
    );
    const { eventIds } = await this.#transport.request<{ eventIds: string[] }>({
      method: "POST",
      path: "/events",
      body,
      // Generated once per call, so all retries of this publish share it,
      // which is what makes the publish safe to repeat.
      headers: { "idempotency-key": options.idempotencyKey ?? (await randomUuid()) },
      safeToRepeat: true,
    });
    return eventIds;
  }

  /**
   * `GET /topics/{topic}/events`: one page of a topic's events.
   *
   * @example
   * ```ts
   * const all = await client.getEvents("user-events");
   * const next = await client.getEvents("user-events", { sinceEventId: "user-events-5", limit: 10 });
   * const day = await client.getEvents("user-events", { date: "2025-01-15" });
   * ```
   */
  async getEvents(topic: string, options: GetEventsOptions = {}): Promise<Event[]> {
    const { sinceEventId, date, limit } = options;
    const { events } = await this.#transport.request<{ events: Event[] }>({
      method: "GET",
      path: `${topicPath(topic)}/events`,
      query: { sinceEventId, date, limit },
    });
    return events;
  }

  /**
   * All events of a topic after `sinceEventId`: first the stored history page
   * by page, then new events as they are published (by long-polling). Ends,
   * without an error, when `signal` aborts.
   *
   * @example
   * ```ts
   * const controller = new AbortController();
   * for await (const event of client.streamEvents("user-events", { signal: controller.signal })) {
   *   console.log(event.id);
   *   if (event.type === "user.deleted") controller.abort();
   * }
   * ```
   */
  streamEvents(topic: string, options: StreamEventsOptions = {}): AsyncGenerator<Event, void, undefined> {
    return streamTopicEvents(this.#transport, topic, options);
  }

  /**
   * `POST /consumers/register`; returns the new consumer's id.
   *
   * @example
   * ```ts
   * const consumerId = await client.registerConsumer({
   *   callback: "https://my-service.example/webhook",
   *   topics: { "user-events": null, "audit-events": "audit-events-5" },
   * });
   * ```
   */
  async registerConsumer(registration: ConsumerRegistration): Promise<string> {
    const { consumerId } = await this.registerConsumerWithSecret(registration);
    return consumerId;
  }

  /**
   * `POST /consumers/register`; returns the consumer's id and the secret its
   * deliveries are signed with (see `verifyWebhook`).
   *
   * @example
   * ```ts
   * const { consumerId, secret } = await client.registerConsumerWithSecret({
   *   callback: "https://my-service.example/webhook",
   *   topics: { "user-events": null },
   * });
   * ```
   */
  registerConsumerWithSecret(registration: ConsumerRegistration): Promise<RegisteredConsumer> {
    const { callback, topics, secret } = registration;
    return this.#transport.request<RegisteredConsumer>({
      method: "POST",
      path: "/consumers/register",
      body: secret === undefined ? { callback, topics } : { callback, topics, secret },
    });
  }

  /**
   * `GET /consumers`: all registered consumers.
   *
   * @example
   * ```ts
   * for (const { id, callback } of await client.getConsumers()) console.log(id, callback);
   * ```
   */
  async getConsumers(): Promise<ConsumerSummary[]> {
    const { consumers } = await this.#transport.request<{ consumers: ConsumerSummary[] }>({
      method: "GET",
      path: "/consumers",
    });
    return consumers;
  }

  /**
   * `GET /consumers/{id}`: a consumer with its delivery state and lag.
   *
   * @example
   * ```ts
   * const { status, lag, lastError } = await client.getConsumer(consumerId);
   * ```
   */
  getConsumer(id: string): Promise<ConsumerDetails> {
    return this.#transport.request<ConsumerDetails>({ method: "GET", path: consumerPath(id) });
  }

  /**
   * `DELETE /consumers/{id}`.
   *
   * @example
   * ```ts
   * await client.unregisterConsumer(consumerId);
   * ```
   */
  async unregisterConsumer(id: string): Promise<void> {
    await this.#transport.request({ method: "DELETE", path: consumerPath(id) });
  }

  /**
   * `POST /consumers/{id}/resume`: retries a paused consumer's deliveries now.
   *
   * @example
   * ```ts
   * if ((await client.getConsumer(consumerId)).status === "paused") {
   *   await client.resumeConsumer(consumerId);
   * }
   * ```
   */
  async resumeConsumer(id: string): Promise<void> {
    // Resuming a resumed consumer changes nothing.
    await this.#transport.request({ method: "POST", path: `${consumerPath(id)}/resume`, safeToRepeat: true });
  }
}

function topicPath(name: string): string {
  return `/topics/${encodeURIComponent(name)}`;
}

function consumerPath(id: string): string {
  return `/consumers/${encodeURIComponent(id)}`;
}
