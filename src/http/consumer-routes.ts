import { Elysia, t } from "elysia";
import type { Consumers } from "../consumers/consumer-model.ts";
import { assertTopicsObject } from "../consumers/registration.ts";
import { ConsumerNotFoundError, ConsumersUnavailableError } from "../errors.ts";
import { ErrorModel, MessageModel } from "./models.ts";

/** Stands in when the app is built without a consumer service (tests of other routes). */
export const NO_CONSUMERS: Consumers = {
  register: () => Promise.reject(new ConsumersUnavailableError()),
  list: () => [],
  get: (id) => {
    throw new ConsumerNotFoundError(id);
  },
  unregister: (id) => Promise.reject(new ConsumerNotFoundError(id)),
  resume: (id) => Promise.reject(new ConsumerNotFoundError(id)),
};

const CursorsModel = t.Record(t.String(), t.Union([t.String(), t.Null()]), {
  description: "Topic → id of the last event delivered (else the registered value), or null",
  examples: [{ "user-events": "user-events-10", "audit-events": null }],
});

const ConsumerSummaryModel = t.Object({
  id: t.String({ examples: ["550e8400-e29b-41d4-a716-446655440000"] }),
  callback: t.String({ examples: ["https://your-service.com/webhook"] }),
  topics: CursorsModel,
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
});

const ConsumerIdParams = t.Object({ id: t.String() });

export function consumerRoutes(consumers: Consumers) {
  return new Elysia({ name: "consumer-routes" })
    .post(
      "/consumers/register",
      async ({ body, set }) => {
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
        body: t.Object({
          callback: t.String({ description: "Absolute http(s) URL the events are POSTed to", examples: ["https://your-service.com/webhook"] }),
          topics: t.Record(t.String(), t.Union([t.String(), t.Null()]), {
            description: "Topic → id of the last event already processed, or null for all events",
            examples: [{ "user-events": null, "audit-events": "audit-events-5" }],
          }),
          secret: t.Optional(t.String({ description: "Signing secret, `whsec_` + base64 of 24-64 bytes; generated when absent" })),
        }),
        response: {
          201: t.Object({
            consumerId: t.String(),
            secret: t.String({ description: "Verify each delivery's `webhook-signature` with it (Standard Webhooks)" }),
          }),
          400: ErrorModel,
          503: ErrorModel,
        },
        detail: {
          tags: ["Consumers"],
          summary: "Register a consumer",
          description:
            "Events of the named topics after the given ids are POSTed to `callback` as `{\"consumerId\", \"events\"}` in order, at least once, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). A non-2xx answer or a timeout is retried with exponential backoff; after the configured attempts the consumer is removed (or paused). 410 removes it at once; redirects are not followed. 400 `INVALID_CALLBACK`, `INVALID_CONSUMER_TOPICS`, `INVALID_SECRET`, `TOPIC_NOT_FOUND`.",
        },
      },
    )
    .get("/consumers", () => ({ consumers: consumers.list() }), {
      response: { 200: t.Object({ consumers: t.Array(ConsumerSummaryModel) }) },
      detail: { tags: ["Consumers"], summary: "List consumers", description: "Every registered consumer with its cursors, in registration order." },
    })
    .get("/consumers/:id", ({ params }) => consumers.get(params.id), {
      params: ConsumerIdParams,
      response: { 200: ConsumerDetailsModel, 404: ErrorModel },
      detail: {
        tags: ["Consumers"],
        summary: "Get a consumer's delivery state",
        description: "Cursors, lag per topic, status and retry state. A consumer removed after failures answers 404 with `removedAt` and `reason`.",
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
        response: { 200: MessageModel, 404: ErrorModel, 503: ErrorModel },
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
        response: { 200: MessageModel, 404: ErrorModel, 503: ErrorModel },
        detail: {
          tags: ["Consumers"],
          summary: "Resume a consumer",
          description: "A paused (or retrying) consumer becomes active and its deliveries are retried from its cursors now.",
        },
      },
    );
}
