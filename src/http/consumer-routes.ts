import { Elysia, type Static, t } from "elysia";
import type { ConsumerDetails, Consumers, RegisteredConsumer, TopicProgress } from "../consumers/consumer-model.ts";
import { assertTopicsObject } from "../consumers/registration.ts";
import { ConsumerNotFoundError, ConsumersUnavailableError } from "../errors.ts";
import type { TopicRegistry } from "../topics/topic-registry.ts";
import { BODY_ERRORS, MessageModel, documented, errorResponse } from "./models.ts";

/** Stands in when the app is built without a consumer service (tests of other routes). */
export const NO_CONSUMERS: Consumers = {
  register: () => Promise.reject(new ConsumersUnavailableError()),
  list: () => Promise.resolve([]),
  get: (id) => Promise.reject(new ConsumerNotFoundError(id)),
  unregister: (id) => Promise.reject(new ConsumerNotFoundError(id)),
  resume: (id) => Promise.reject(new ConsumerNotFoundError(id)),
};

const CursorsModel = t.Record(t.String(), t.Union([t.String(), t.Null()]), {
  description: "Topic → id of the last event delivered (else the registered value), or null",
  examples: [{ "user-events": "user-events-10", "audit-events": null }],
});

const TopicProgressModel = t.Object({
  head: t.Number({ description: "Sequence of the topic's last event (0: none yet)" }),
  cursor: t.Number({ description: "Sequence of the last event delivered, else the registered one (0: none)" }),
  lag: t.Number({ description: "Events not yet delivered: head - cursor" }),
  oldestPendingAt: t.Union([t.String(), t.Null()], { description: "When the oldest undelivered event was stored; null when nothing is pending" }),
  lagSeconds: t.Number({ description: "Seconds since oldestPendingAt (0 when nothing is pending)" }),
});

const ConsumerDetailsModel = t.Object({
  id: t.String(),
  callback: t.String(),
  topics: CursorsModel,
  status: t.Union([t.Literal("active"), t.Literal("retrying"), t.Literal("paused")], {
    description: "`retrying` after a failed delivery, `paused` after the last allowed attempt when ON_CONSUMER_FAILURE=pause",
  }),
  lag: t.Record(t.String(), t.Number(), { description: "Topic → events not yet delivered" }),
  attempts: t.Number({ description: "Consecutive failed deliveries" }),
  lastError: t.Union([t.String(), t.Null()], { description: "The most recent delivery failure, e.g. `HTTP 500`", examples: ["HTTP 500"] }),
  nextAttemptAt: t.Union([t.String(), t.Null()], { description: "ISO 8601 time of the next retry while retrying" }),
  progress: t.Record(t.String(), TopicProgressModel, { description: "Topic → head, cursor, lag and the age of the oldest pending event" }),
});

const RegisteredConsumerModel = t.Object({
  consumerId: t.String(),
  secret: t.String({ description: "Verify each delivery's `webhook-signature` with it (Standard Webhooks)" }),
});

/**
 * The response models and the domain's types (consumer-model.ts, which the
 * client's types follow) are one shape: these fail the type check the
 * moment a field is added to one and not the other.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const SHAPES_AGREE: [
  Same<Static<typeof TopicProgressModel>, TopicProgress>,
  Same<Static<typeof ConsumerDetailsModel>, ConsumerDetails>,
  Same<Static<typeof RegisteredConsumerModel>, RegisteredConsumer>,
] = [true, true, true];
void SHAPES_AGREE;

const CONSUMER_EXAMPLE = {
  id: "550e8400-e29b-41d4-a716-446655440000",
  callback: "https://your-service.com/webhook",
  topics: { "user-events": "user-events-10", "audit-events": null },
  status: "retrying" as const,
  lag: { "user-events": 32, "audit-events": 0 },
  attempts: 2,
  lastError: "HTTP 500",
  nextAttemptAt: "2025-01-15T10:31:04.000Z",
  progress: {
    "user-events": { head: 42, cursor: 10, lag: 32, oldestPendingAt: "2025-01-15T10:30:00.000Z", lagSeconds: 64 },
    "audit-events": { head: 0, cursor: 0, lag: 0, oldestPendingAt: null, lagSeconds: 0 },
  },
};

const ConsumerIdParams = t.Object({
  id: t.String({ description: "The consumer's id, as registration answered it", examples: ["550e8400-e29b-41d4-a716-446655440000"] }),
});

const CONSUMER_ID = "550e8400-e29b-41d4-a716-446655440000";

const CONSUMER_NOT_FOUND = errorResponse(
  "No consumer has this id; one removed after failed deliveries also tells when and why",
  { error: `Consumer ${CONSUMER_ID} not found`, code: "CONSUMER_NOT_FOUND" },
  {
    error: `Consumer ${CONSUMER_ID} was removed at 2025-01-15T10:35:00.000Z: 5 consecutive failed deliveries, last: HTTP 500`,
    code: "CONSUMER_NOT_FOUND",
    removedAt: "2025-01-15T10:35:00.000Z",
    reason: "5 consecutive failed deliveries, last: HTTP 500",
  },
);

const CONSUMERS_WRITE_FAILED = errorResponse("The registrations could not be stored; nothing changes", {
  error: "Failed to store the consumer registrations",
  code: "CONSUMERS_WRITE_FAILED",
});

/**
 * `registry`: topics a registration names that are unknown here are read
 * again from a store other nodes share (cluster mode) before it is checked,
 * as a publish does; costs nothing when every topic is known.
 */
export function consumerRoutes(consumers: Consumers, registry?: Pick<TopicRegistry, "get" | "refresh">) {
  return new Elysia({ name: "consumer-routes" })
    .post(
      "/consumers/register",
      async ({ body, set }) => {
        const unknown = Object.keys(body.topics).filter((topic) => registry?.get(topic) === undefined);
        if (registry !== undefined && unknown.length > 0) await registry.refresh(unknown);
        const registered = await consumers.register(body);
        set.status = 201;
        return registered;
      },
      {
        // Runs before validation, which would coerce a string or an array into a record of its characters.
        transform({ body }) {
          const topics = (body as { topics?: unknown } | null)?.topics;
          if (topics !== undefined) assertTopicsObject(topics);
        },
        body: t.Object(
          {
            callback: t.String({ description: "Absolute http(s) URL the events are POSTed to", examples: ["https://your-service.com/webhook"] }),
            topics: t.Record(t.String(), t.Union([t.String(), t.Null()]), {
              description: "Topic → id of the last event already processed, or null for all events",
              examples: [{ "user-events": null, "audit-events": "audit-events-5" }],
            }),
            secret: t.Optional(t.String({ description: "Signing secret, `whsec_` + base64 of 24-64 bytes; generated when absent" })),
          },
          { examples: [{ callback: "https://your-service.com/webhook", topics: { "user-events": null, "audit-events": "audit-events-5" } }] },
        ),
        response: {
          201: documented(RegisteredConsumerModel, "The consumer is registered and stored; deliveries start now", {
            consumerId: CONSUMER_ID,
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
          }),
          400: errorResponse(
            "The callback, the topics, the secret or the body is invalid, or a topic does not exist; nothing is registered",
            { error: "callback must be an absolute http or https URL", code: "INVALID_CALLBACK" },
            {
              error: "topics must be a non-empty object: topic name → null (all events) or the id of the last event already processed",
              code: "INVALID_CONSUMER_TOPICS",
            },
            { error: "secret must be whsec_ followed by the base64 encoding of 24 to 64 bytes", code: "INVALID_SECRET" },
            { error: "Topic 'user-events' not found", code: "TOPIC_NOT_FOUND" },
            BODY_ERRORS.malformed,
          ),
          413: errorResponse("The body exceeds MAX_BODY_BYTES", BODY_ERRORS.tooLarge),
          503: errorResponse(
            "The registration could not be stored (or delivery is not enabled); nothing is registered",
            { error: "Failed to store the consumer registrations", code: "CONSUMERS_WRITE_FAILED" },
          ),
        },
        detail: {
          tags: ["Consumers"],
          summary: "Register a consumer",
          description:
            "Events of the named topics after the given ids are POSTed to `callback` as `{\"consumerId\", \"events\"}` in order, at least once, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). A non-2xx answer or a timeout is retried with exponential backoff; after the configured attempts the consumer is removed (or paused). 410 removes it at once; redirects are not followed. 400 `INVALID_CALLBACK`, `INVALID_CONSUMER_TOPICS`, `INVALID_SECRET`, `TOPIC_NOT_FOUND`.",
        },
      },
    )
    .get("/consumers", async () => ({ consumers: await consumers.list() }), {
      response: {
        200: documented(t.Object({ consumers: t.Array(ConsumerDetailsModel) }), "Every registered consumer", { consumers: [CONSUMER_EXAMPLE] }),
      },
      detail: {
        tags: ["Consumers"],
        summary: "List consumers",
        description: "Every registered consumer with its cursors, delivery state and lag per topic, in registration order.",
      },
    })
    .get("/consumers/:id", ({ params }) => consumers.get(params.id), {
      params: ConsumerIdParams,
      response: {
        200: documented(ConsumerDetailsModel, "The consumer's cursors and delivery state", CONSUMER_EXAMPLE),
        404: CONSUMER_NOT_FOUND,
      },
      detail: {
        tags: ["Consumers"],
        summary: "Get a consumer's delivery state",
        description: "Cursors, lag per topic (in events and as the age of the oldest pending event), status and retry state. A consumer removed after failures answers 404 with `removedAt` and `reason`.",
      },
    })
    .delete(
      "/consumers/:id",
      async ({ params }) => {
        await consumers.unregister(params.id);
        return { message: `Consumer ${params.id} unregistered` };
      },
      {
        params: ConsumerIdParams,
        response: {
          200: documented(MessageModel, "The consumer is removed", { message: `Consumer ${CONSUMER_ID} unregistered` }),
          404: CONSUMER_NOT_FOUND,
          503: CONSUMERS_WRITE_FAILED,
        },
        detail: { tags: ["Consumers"], summary: "Unregister a consumer", description: "Stops its deliveries (one in flight is cancelled) and forgets it." },
      },
    )
    .post(
      "/consumers/:id/resume",
      async ({ params }) => {
        await consumers.resume(params.id);
        return { message: `Consumer ${params.id} resumed` };
      },
      {
        params: ConsumerIdParams,
        response: {
          200: documented(MessageModel, "The consumer is active; its deliveries are retried now", { message: `Consumer ${CONSUMER_ID} resumed` }),
          404: CONSUMER_NOT_FOUND,
          503: CONSUMERS_WRITE_FAILED,
        },
        detail: {
          tags: ["Consumers"],
          summary: "Resume a consumer",
          description: "A paused (or retrying) consumer becomes active and its deliveries are retried from its cursors now.",
        },
      },
    );
}
